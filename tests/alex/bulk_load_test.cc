// bulk_load() of 0, 1, 2, 3, 10, 100, 1000 and 1M keys of every key set.
//
// After each load: full iteration forwards and backwards equals the input,
// find() returns every key with its payload, absent keys (neighbours of the
// loaded ones, below all, above all) are not found and bound correctly, and
// check() passes. Then the loaded tree must stay correct under inserts and
// erases (tiny loaded trees are where edge cases of node sizing hide).

#include <gtest/gtest.h>

#include <algorithm>
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

constexpr size_t kLarge = 1'000'000;
constexpr size_t kSizes[] = {0, 1, 2, 3, 10, 100, 1000, kLarge};

// lower_bound / upper_bound / find at keys around each loaded key (sampled
// with `stride`), and below and above all keys, agree with the sorted pairs.
template <class Key>
::testing::AssertionResult bounds_agree(const alex::Tree<Key, uint64_t>& tree,
                                        const Pairs<Key>& pairs,
                                        size_t stride) {
  auto by_key = [](const std::pair<Key, uint64_t>& pair, Key key) {
    return pair.first < key;
  };
  std::vector<Key> probes = {lowest_key<Key>(), highest_key<Key>()};
  for (size_t i = 0; i < pairs.size(); i += stride) {
    probes.push_back(prev_key(pairs[i].first));
    probes.push_back(pairs[i].first);
    probes.push_back(next_key(pairs[i].first));
  }
  for (Key probe : probes) {
    auto want_lower =
        std::lower_bound(pairs.begin(), pairs.end(), probe, by_key);
    auto want_upper = want_lower;
    bool present = want_lower != pairs.end() && want_lower->first == probe;
    if (present) ++want_upper;
    auto lower = tree.lower_bound(probe);
    auto upper = tree.upper_bound(probe);
    bool lower_ok = want_lower == pairs.end()
                        ? lower == tree.end()
                        : lower != tree.end() &&
                              lower.key() == want_lower->first &&
                              lower.payload() == want_lower->second;
    bool upper_ok =
        want_upper == pairs.end()
            ? upper == tree.end()
            : upper != tree.end() && upper.key() == want_upper->first;
    bool find_ok =
        present ? tree.find(probe) == lower : tree.find(probe) == tree.end();
    if (!lower_ok || !upper_ok || !find_ok) {
      return ::testing::AssertionFailure()
             << "at key " << show(probe) << ": lower_bound "
             << (lower_ok ? "ok" : "wrong") << ", upper_bound "
             << (upper_ok ? "ok" : "wrong") << ", find "
             << (find_ok ? "ok" : "wrong");
    }
  }
  return ::testing::AssertionSuccess();
}

// Inserts the keys `more` (none of them loaded), erases every other loaded
// key, and compares the result with the expected pairs.
template <class Key>
::testing::AssertionResult still_updatable(alex::Tree<Key, uint64_t>& tree,
                                           const Pairs<Key>& loaded,
                                           const std::vector<Key>& more) {
  for (Key key : more) {
    if (!tree.insert(key, payload_for(key_bits(key), 7)).second) {
      return ::testing::AssertionFailure()
             << "insert(" << show(key) << ") of a new key returned false";
    }
  }
  Pairs<Key> expected = sorted_pairs(more, 7);
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (i % 2 == 1) {
      expected.push_back(loaded[i]);
    } else if (tree.erase(loaded[i].first) != 1) {
      return ::testing::AssertionFailure()
             << "erase(" << show(loaded[i].first) << ") of a loaded key";
    }
  }
  std::inplace_merge(expected.begin(), expected.begin() + more.size(),
                     expected.end());
  ::testing::AssertionResult valid = is_valid(tree);
  if (!valid) return valid;
  return holds_exactly(tree, expected);
}

// ---------------------------------------------------------------------------
// int64 keys.

struct Case {
  KeySet set;
  size_t size;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (KeySet set : kAllKeySets) {
    for (size_t size : kSizes) all.push_back({set, size});
  }
  return all;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.size << " " << key_set_name(c.set) << " keys";
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(key_set_name(info.param.set)) + "_" +
         (info.param.size == kLarge ? std::string("1M")
                                    : std::to_string(info.param.size));
}

class BulkLoadTest : public ::testing::TestWithParam<Case> {};

TEST_P(BulkLoadTest, IteratesFindsAndChecks) {
  const Case& c = GetParam();
  const size_t n = c.size == kLarge ? scaled(kLarge, 10'000) : c.size;
  const size_t more = std::min<size_t>(2 * n + 10, 20'000);
  const uint64_t seed =
      test_seed(3000 + 100 * static_cast<uint64_t>(c.set) + n % 97);
  SCOPED_TRACE(seed_trace(seed) + " n=" + std::to_string(n));

  std::vector<int64_t> keys = make_keys(c.set, n + more, seed);
  std::vector<int64_t> extra(keys.begin() + n, keys.end());
  keys.resize(n);
  const Pairs<int64_t> pairs = sorted_pairs(keys, /*salt=*/1);

  alex::Tree<int64_t, uint64_t> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  ASSERT_TRUE(is_valid(tree));
  ASSERT_TRUE(holds_exactly(tree, pairs));
  ASSERT_TRUE(finds_all(tree, pairs));
  ASSERT_TRUE(bounds_agree(tree, pairs, n > 10'000 ? 97 : 1));
  if (n >= 100'000) {
    EXPECT_GT(tree.stats().data_nodes, 1u) << describe_stats(tree);
  }
  // Slots without keys belong to a neighbour, not to an empty leaf (only an
  // empty load has one).
  EXPECT_EQ(tree.stats().empty_data_nodes, n == 0 ? 1u : 0u)
      << describe_stats(tree);
  ASSERT_TRUE(still_updatable(tree, pairs, extra));
}

INSTANTIATE_TEST_SUITE_P(AllKeySets, BulkLoadTest, ::testing::ValuesIn(cases()),
                         case_name);

// A second bulk_load replaces everything: the keys loaded before, the keys
// inserted since, and the keys erased since.
TEST(BulkLoad, ReplacesContents) {
  const uint64_t seed = test_seed(3900);
  SCOPED_TRACE(seed_trace(seed));
  alex::Tree<int64_t, uint64_t> tree;
  Pairs<int64_t> first =
      sorted_pairs(make_keys(KeySet::kUniform, 5000, seed), 1);
  tree.bulk_load(first.data(), first.size());
  for (int64_t key : make_keys(KeySet::kLognormal, 3000, seed + 1)) {
    tree.insert(key, 2);
  }
  for (size_t i = 0; i < first.size(); i += 3) tree.erase(first[i].first);

  for (size_t n : {size_t{1000}, size_t{0}, size_t{3}, size_t{20'000}}) {
    SCOPED_TRACE("second load of " + std::to_string(n) + " keys");
    Pairs<int64_t> second =
        sorted_pairs(make_keys(KeySet::kTimestamps, n, seed + n), 3);
    tree.bulk_load(second.data(), second.size());
    ASSERT_TRUE(is_valid(tree));
    ASSERT_TRUE(holds_exactly(tree, second));
    ASSERT_TRUE(finds_all(tree, second));
    EXPECT_TRUE(tree.find(first[1].first) == tree.end());
  }
}

// The fanout of a large load is chosen from a sample of the keys; a slot
// that only one sample key falls in looks free to the cost model (nothing
// to search or shift), so before the sample was required to put several
// keys in each slot, 10M uniform keys got a 2^14-slot root over 16,061
// leaves of ~620 keys, whose headers alone overflow the caches: lookups
// and range scans paid an extra miss. A slot now averages >= 8 sample keys
// (<= 2^12 slots here), and merged slots make leaves of thousands of keys.
TEST(BulkLoad, SampledFanoutKeepsLeavesLarge) {
  const uint64_t seed = test_seed(4100);
  SCOPED_TRACE(seed_trace(seed));
  // make_keys(kUniform) without its hash set (seconds at this size):
  // sorted random words, duplicates dropped.
  Random random(seed);
  std::vector<int64_t> keys(10'000'000);
  for (int64_t& key : keys) key = static_cast<int64_t>(random.next());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  Pairs<int64_t> pairs(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) pairs[i] = {keys[i], i};
  alex::Tree<int64_t, uint64_t> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  EXPECT_LE(tree.stats().data_nodes, size_t{4096});
  EXPECT_EQ(tree.size(), pairs.size());
  EXPECT_EQ(tree.check(), "");
}

// The same rule counts sample keys per slot they fall in, not per slot:
// dense runs at random places in int64 want fine slots, nearly all empty.
// Counting empty slots too capped 1M clustered keys at 2^11 root slots:
// hundreds of model nodes under it, four levels, and a load 5x slower.
TEST(BulkLoad, SampledFanoutSeparatesDenseRuns) {
  const uint64_t seed = test_seed(4101);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = sorted_pairs(make_keys(KeySet::kClustered, 1'000'000, seed), /*salt=*/1);
  alex::Tree<int64_t, uint64_t> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  // A few model nodes for runs that share a root slot (8 here), not one
  // for most runs (275).
  EXPECT_LE(tree.stats().model_nodes, size_t{32}) << tree.stats().depth << " levels";
  EXPECT_EQ(tree.size(), pairs.size());
  EXPECT_EQ(tree.check(), "");
}

// ---------------------------------------------------------------------------
// double keys.

struct DoubleCase {
  DoubleKeySet set;
  size_t size;
};

std::vector<DoubleCase> double_cases() {
  std::vector<DoubleCase> all;
  for (DoubleKeySet set : kAllDoubleKeySets) {
    for (size_t size : {0, 1, 2, 3, 1000, 100'000}) all.push_back({set, size});
  }
  return all;
}

void PrintTo(const DoubleCase& c, std::ostream* os) {
  *os << c.size << " " << double_key_set_name(c.set) << " keys";
}

std::string double_case_name(const ::testing::TestParamInfo<DoubleCase>& info) {
  return std::string(double_key_set_name(info.param.set)) + "_" +
         std::to_string(info.param.size);
}

class DoubleBulkLoadTest : public ::testing::TestWithParam<DoubleCase> {};

TEST_P(DoubleBulkLoadTest, IteratesFindsAndChecks) {
  const DoubleCase& c = GetParam();
  const size_t n = c.size >= 100'000 ? scaled(c.size, 1000) : c.size;
  const size_t more = std::min<size_t>(2 * n + 10, 20'000);
  const uint64_t seed =
      test_seed(3500 + 100 * static_cast<uint64_t>(c.set) + n % 97);
  SCOPED_TRACE(seed_trace(seed) + " n=" + std::to_string(n));

  std::vector<double> keys = make_double_keys(c.set, n + more, seed);
  std::vector<double> extra(keys.begin() + n, keys.end());
  keys.resize(n);
  const Pairs<double> pairs = sorted_pairs(keys, /*salt=*/1);

  alex::Tree<double, uint64_t> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  ASSERT_TRUE(is_valid(tree));
  ASSERT_TRUE(holds_exactly(tree, pairs));
  ASSERT_TRUE(finds_all(tree, pairs));
  ASSERT_TRUE(bounds_agree(tree, pairs, n > 10'000 ? 31 : 1));
  ASSERT_TRUE(still_updatable(tree, pairs, extra));
}

INSTANTIATE_TEST_SUITE_P(AllDoubleKeySets, DoubleBulkLoadTest,
                         ::testing::ValuesIn(double_cases()), double_case_name);

}  // namespace
}  // namespace alex_test
