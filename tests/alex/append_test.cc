// Appends: a tree built by inserting 1M increasing timestamps (from empty, or
// after bulk-loading the first 10%) must look like a bulk-loaded tree of the
// same keys: depth at most one more, a small mean search distance, memory
// within the usual bound, every key found. Appending is how a time-series
// table grows, so an index that degrades under it fails its main use.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

using Tree = alex::Tree<int64_t, uint64_t>;

constexpr double kMaxSearchDistance = 8;
constexpr double kMaxMemoryGrowth = 2.0;  // as in memory_test.cc

enum class Stream {
  kSecondsWithNoise,  // 1.7e18 + i * 1e9 +- up to 0.4e9
  kDenseNanoseconds,  // 1.7e18 + gaps 1..64
};

std::vector<int64_t> stream_keys(Stream stream, size_t n, uint64_t seed) {
  if (stream == Stream::kDenseNanoseconds) {
    return make_keys(KeySet::kTimestamps, n, seed);
  }
  Random random(seed);
  std::vector<int64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i] = kTimestampBase + static_cast<int64_t>(i) * 1'000'000'000 +
              random.between(-400'000'000, 400'000'000);
  }
  return keys;
}

struct Case {
  Stream stream;
  bool from_bulk_load;  // of the first 10%
};

std::string stream_name(Stream stream) {
  return stream == Stream::kSecondsWithNoise ? "SecondsWithNoise"
                                             : "DenseNanoseconds";
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << stream_name(c.stream)
      << (c.from_bulk_load ? " after a 10% bulk load" : " from empty");
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return stream_name(info.param.stream) +
         (info.param.from_bulk_load ? "_After10PercentBulkLoad" : "_FromEmpty");
}

class AppendTest : public ::testing::TestWithParam<Case> {};

TEST_P(AppendTest, LooksLikeABulkLoad) {
  const Case& c = GetParam();
  const uint64_t seed =
      test_seed(9000 + 2 * static_cast<uint64_t>(c.stream) + c.from_bulk_load);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      stream_keys(c.stream, scaled(1'000'000, 50'000), seed);
  const Pairs<int64_t> pairs = sorted_pairs(keys, 1);
  ASSERT_EQ(pairs.front().first, keys.front());  // increasing
  ASSERT_EQ(pairs.back().first, keys.back());

  const size_t loaded = c.from_bulk_load ? keys.size() / 10 : 0;
  Tree tree =
      bulk_loaded(Pairs<int64_t>(pairs.begin(), pairs.begin() + loaded));
  for (size_t i = loaded; i < keys.size(); ++i) {
    ASSERT_TRUE(tree.insert(pairs[i].first, pairs[i].second).second)
        << "key " << i;
  }
  ASSERT_TRUE(is_valid(tree));
  ASSERT_TRUE(finds_all(tree, pairs));

  const Tree reference = bulk_loaded(pairs);
  const auto built = tree.stats();
  const auto ideal = reference.stats();
  EXPECT_LE(built.depth, ideal.depth + 1)
      << "appended:    " << describe_stats(tree)
      << "\nbulk-loaded: " << describe_stats(reference);
  EXPECT_LT(built.avg_search_distance, kMaxSearchDistance)
      << describe_stats(tree);
  const double used = static_cast<double>(tree.memory_bytes()) / tree.size();
  const double fresh =
      static_cast<double>(reference.memory_bytes()) / reference.size();
  EXPECT_LE(used, kMaxMemoryGrowth * fresh)
      << "appended:    " << describe_stats(tree)
      << "\nbulk-loaded: " << describe_stats(reference);
}

INSTANTIATE_TEST_SUITE_P(
    Timestamps, AppendTest,
    ::testing::Values(Case{Stream::kSecondsWithNoise, false},
                      Case{Stream::kSecondsWithNoise, true},
                      Case{Stream::kDenseNanoseconds, false},
                      Case{Stream::kDenseNanoseconds, true}),
    case_name);

// Prepends (decreasing keys) are the mirror image and must not degrade
// either: every key found, shallow, short searches.
TEST(Prepend, DecreasingKeysFromEmpty) {
  const uint64_t seed = test_seed(9100);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      make_keys(KeySet::kReverse, scaled(500'000, 50'000), seed);
  Tree tree;
  for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
  const Pairs<int64_t> pairs = sorted_pairs(keys, 1);
  ASSERT_TRUE(is_valid(tree));
  ASSERT_TRUE(finds_all(tree, pairs));
  const Tree reference = bulk_loaded(pairs);
  EXPECT_LE(tree.stats().depth, reference.stats().depth + 1)
      << describe_stats(tree);
  EXPECT_LT(tree.stats().avg_search_distance, kMaxSearchDistance)
      << describe_stats(tree);
}

}  // namespace
}  // namespace alex_test
