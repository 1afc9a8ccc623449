// Tests for bench/datasets.h: every generator returns exactly n sorted,
// distinct keys with its distribution's shape, the same keys on every call,
// and the workload helpers keep their promises.

#include "bench/datasets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace datasets {
namespace {

void expect_sorted_distinct(const std::vector<int64_t>& keys, size_t n) {
  ASSERT_EQ(keys.size(), n);
  for (size_t i = 1; i < keys.size(); ++i) {
    ASSERT_LT(keys[i - 1], keys[i]) << "at " << i;
  }
}

TEST(DatasetsTest, SortedDistinctExactSizeAndDeterministic) {
  for (Dataset dataset : kAllDatasets) {
    SCOPED_TRACE(name(dataset));
    for (size_t n : {0, 1, 2, 999, 1000, 1001, 100'000}) {
      SCOPED_TRACE(n);
      const std::vector<int64_t> keys = generate(dataset, n);
      ASSERT_NO_FATAL_FAILURE(expect_sorted_distinct(keys, n));
      EXPECT_EQ(generate(dataset, n), keys);
    }
  }
}

TEST(DatasetsTest, Timestamps) {
  const std::vector<int64_t> keys = timestamps(100'000);
  EXPECT_EQ(keys.front(), kTimestampStart);
  for (size_t i = 1; i < keys.size(); ++i) {
    const int64_t gap = keys[i] - keys[i - 1];
    ASSERT_GE(gap, 800'000'000);
    ASSERT_LE(gap, 1'200'000'000);
  }
}

TEST(DatasetsTest, UniformSpansTheRange) {
  const std::vector<int64_t> keys = uniform(100'000);
  EXPECT_LT(keys.front(), -9'000'000'000'000'000'000);
  EXPECT_GT(keys.back(), 9'000'000'000'000'000'000);
}

TEST(DatasetsTest, LognormalIsSkewed) {
  const std::vector<int64_t> keys = lognormal(100'000);
  EXPECT_GT(keys.front(), 0);
  // Median exp(0) * 1e9; a sigma of 2 puts the 84th percentile near 7.4e9.
  const int64_t median = keys[keys.size() / 2];
  EXPECT_GT(median, 900'000'000);
  EXPECT_LT(median, 1'100'000'000);
  EXPECT_GT(keys[keys.size() * 84 / 100], 6'000'000'000);
}

TEST(DatasetsTest, ClusteredHasAboutAThousandRuns) {
  const std::vector<int64_t> keys = clustered(1'000'000);
  size_t breaks = 0;  // gaps wider than a run's
  for (size_t i = 1; i < keys.size(); ++i) {
    if (static_cast<uint64_t>(keys[i]) - static_cast<uint64_t>(keys[i - 1]) >
        4) {
      ++breaks;
    }
  }
  EXPECT_GE(breaks, 990u);  // runs may touch, rarely
  EXPECT_LE(breaks, 999u);
}

TEST(DatasetsTest, AbsentKeysAreAbsent) {
  for (Dataset dataset : kAllDatasets) {
    SCOPED_TRACE(name(dataset));
    const std::vector<int64_t> keys = generate(dataset, 100'000);
    const std::vector<int64_t> misses = absent_keys(keys, 50'000, 9);
    ASSERT_EQ(misses.size(), 50'000u);
    for (int64_t key : misses) {
      ASSERT_FALSE(std::binary_search(keys.begin(), keys.end(), key)) << key;
    }
    EXPECT_EQ(absent_keys(keys, 50'000, 9), misses);
  }
  // Dense and extreme sets: only a few integers are absent.
  std::vector<int64_t> dense;
  for (int64_t k = -100; k <= 100; ++k) dense.push_back(k);
  dense.erase(dense.begin() + 50);  // -50 is absent
  for (int64_t key : absent_keys(dense, 1000, 1)) {
    ASSERT_FALSE(std::binary_search(dense.begin(), dense.end(), key)) << key;
  }
  const std::vector<int64_t> ends = {INT64_MIN, INT64_MIN + 1, INT64_MAX - 1,
                                     INT64_MAX};
  for (int64_t key : absent_keys(ends, 1000, 2)) {
    ASSERT_FALSE(std::binary_search(ends.begin(), ends.end(), key)) << key;
  }
  EXPECT_EQ(absent_keys({}, 10, 3).size(), 10u);
}

TEST(DatasetsTest, RandomHalfPartitions) {
  const size_t n = 100'001;
  const Halves halves = random_half(n, 4);
  EXPECT_EQ(halves.first.size(), n - n / 2);
  EXPECT_EQ(halves.second.size(), n / 2);
  EXPECT_TRUE(std::is_sorted(halves.first.begin(), halves.first.end()));
  EXPECT_FALSE(std::is_sorted(halves.second.begin(), halves.second.end()));
  std::vector<size_t> all = halves.first;
  all.insert(all.end(), halves.second.begin(), halves.second.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i);
}

}  // namespace
}  // namespace datasets
