// Exhaustive precision: every key of a large tree is found, and every lookup
// one below and one above every key lands on the right neighbour.
//
// The trees are 1M dense nanosecond timestamps (gaps 1..64, so keys one apart
// sit next to keys 64 apart) and a tree of extreme keys: INT64_MIN,
// INT64_MAX, dense runs up from INT64_MIN, down from INT64_MAX and across
// +-2^62 and 0, and lone keys with huge gaps. Models trained on such keys
// lose precision in double arithmetic; these tests prove the final search
// corrects for it everywhere, not just on average. Each tree is both
// bulk-loaded and built by inserts.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

using Tree = alex::Tree<int64_t, uint64_t>;

// Counts wrong answers of one kind and remembers the first.
class Misses {
 public:
  explicit Misses(const char* what) : what_(what) {}
  void add(bool ok, int64_t key) {
    if (ok) return;
    if (count_++ == 0) first_ = key;
  }
  size_t count() const { return count_; }
  std::string describe() const {
    return std::to_string(count_) + " wrong " + what_ +
           (count_ ? " (first at key " + std::to_string(first_) + ")" : "");
  }

 private:
  const char* what_;
  size_t count_ = 0;
  int64_t first_ = 0;
};

// Whether `it` is at pairs[i] (or at end() when i == pairs.size()).
template <class It>
bool at(const Tree& tree, It it, const Pairs<int64_t>& pairs, size_t i) {
  if (i == pairs.size()) return it == tree.end();
  return it != tree.end() && it.key() == pairs[i].first &&
         it.payload() == pairs[i].second;
}

// For every key k (at index i of the sorted pairs): find(k), lower_bound(k)
// and upper_bound(k); lower_bound(k + 1) is the next key whether or not k + 1
// is a key; find(k + 1) misses when k + 1 is absent; upper_bound(k - 1) is k;
// lower_bound(k - 1) is k and find(k - 1) misses when k - 1 is absent.
::testing::AssertionResult precise(const Tree& tree,
                                   const Pairs<int64_t>& pairs) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Misses find("find(k)"), lower("lower_bound(k)"), upper("upper_bound(k)"),
      lower_next("lower_bound(k+1)"), find_next("find(k+1) of absent k+1"),
      upper_prev("upper_bound(k-1)"), lower_prev("lower_bound(k-1)"),
      find_prev("find(k-1) of absent k-1");
  const size_t n = pairs.size();
  for (size_t i = 0; i < n; ++i) {
    const int64_t k = pairs[i].first;
    find.add(at(tree, tree.find(k), pairs, i), k);
    lower.add(at(tree, tree.lower_bound(k), pairs, i), k);
    upper.add(at(tree, tree.upper_bound(k), pairs, i + 1), k);
    if (k != kMax) {
      lower_next.add(at(tree, tree.lower_bound(k + 1), pairs, i + 1), k);
      bool next_absent = i + 1 == n || pairs[i + 1].first != k + 1;
      if (next_absent) find_next.add(tree.find(k + 1) == tree.end(), k);
    }
    if (k != kMin) {
      upper_prev.add(at(tree, tree.upper_bound(k - 1), pairs, i), k);
      bool prev_absent = i == 0 || pairs[i - 1].first != k - 1;
      if (prev_absent) {
        lower_prev.add(at(tree, tree.lower_bound(k - 1), pairs, i), k);
        find_prev.add(tree.find(k - 1) == tree.end(), k);
      }
    }
  }
  const Misses* all[] = {&find,      &lower,      &upper,      &lower_next,
                         &find_next, &upper_prev, &lower_prev, &find_prev};
  size_t total = 0;
  std::string report;
  for (const Misses* misses : all) {
    total += misses->count();
    report += "\n  " + misses->describe();
  }
  if (total == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << total << " wrong answers over " << n << " keys:" << report;
}

// Bulk-loads the pairs at the first `loaded` indexes of `order`, then inserts
// the rest one by one in that order.
Tree built_by_inserts(const Pairs<int64_t>& pairs,
                      const std::vector<size_t>& order, size_t loaded) {
  Tree tree;
  Pairs<int64_t> head;
  for (size_t i = 0; i < loaded; ++i) head.push_back(pairs[order[i]]);
  std::sort(head.begin(), head.end());
  tree.bulk_load(head.data(), head.size());
  for (size_t i = loaded; i < order.size(); ++i) {
    tree.insert(pairs[order[i]].first, pairs[order[i]].second);
  }
  return tree;
}

std::vector<size_t> in_order(size_t n) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

std::vector<size_t> shuffled(size_t n, uint64_t seed) {
  std::vector<size_t> order = in_order(n);
  Random random(seed);
  random.shuffle(order);
  return order;
}

// The timestamps each test uses: 1M keys from 1.7e18, gaps 1..64.
Pairs<int64_t> timestamps(uint64_t seed) {
  return sorted_pairs(
      make_keys(KeySet::kTimestamps, scaled(1'000'000, 10'000), seed), 5);
}

// The extreme keys (INT64_MIN and INT64_MAX among them).
Pairs<int64_t> extremes(uint64_t seed) {
  return sorted_pairs(
      make_keys(KeySet::kExtreme, scaled(400'000, 10'000), seed), 5);
}

TEST(Precision, DenseTimestampsBulkLoaded) {
  const uint64_t seed = test_seed(4001);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = timestamps(seed);
  Tree tree = bulk_loaded(pairs);
  ASSERT_TRUE(is_valid(tree));
  EXPECT_GT(tree.stats().data_nodes, 1u) << describe_stats(tree);
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

TEST(Precision, DenseTimestampsAppended) {
  const uint64_t seed = test_seed(4002);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = timestamps(seed);
  Tree tree =
      built_by_inserts(pairs, in_order(pairs.size()), pairs.size() / 10);
  ASSERT_TRUE(is_valid(tree));
  ASSERT_EQ(tree.size(), pairs.size());
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

TEST(Precision, DenseTimestampsAppendedFromEmpty) {
  const uint64_t seed = test_seed(4003);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = timestamps(seed);
  Tree tree = built_by_inserts(pairs, in_order(pairs.size()), 0);
  ASSERT_TRUE(is_valid(tree));
  ASSERT_EQ(tree.size(), pairs.size());
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

// Resizes of large leaves fit their models to a sample of the keys (see
// DataNode::train): at these magnitudes the sampled fit must stay as exact,
// and its models as close, as a fit over every key.
TEST(Precision, DenseTimestampsInsertedInRandomOrder) {
  const uint64_t seed = test_seed(4007);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = timestamps(seed);
  Tree tree =
      built_by_inserts(pairs, shuffled(pairs.size(), seed), pairs.size() / 2);
  ASSERT_TRUE(is_valid(tree));
  ASSERT_EQ(tree.size(), pairs.size());
  EXPECT_GT(tree.stats().expansions, 0u) << describe_stats(tree);
  EXPECT_LT(tree.stats().avg_search_distance, 1.0) << describe_stats(tree);
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

TEST(Precision, ExtremeKeysBulkLoaded) {
  const uint64_t seed = test_seed(4004);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = extremes(seed);
  ASSERT_EQ(pairs.front().first, std::numeric_limits<int64_t>::min());
  ASSERT_EQ(pairs.back().first, std::numeric_limits<int64_t>::max());
  Tree tree = bulk_loaded(pairs);
  ASSERT_TRUE(is_valid(tree));
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

TEST(Precision, ExtremeKeysInsertedInRandomOrder) {
  const uint64_t seed = test_seed(4005);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = extremes(seed);
  Tree tree = built_by_inserts(pairs, shuffled(pairs.size(), seed), 0);
  ASSERT_TRUE(is_valid(tree));
  ASSERT_EQ(tree.size(), pairs.size());
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

TEST(Precision, ExtremeKeysInsertedInOrderAfterSmallLoad) {
  const uint64_t seed = test_seed(4006);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = extremes(seed);
  Tree tree = built_by_inserts(pairs, in_order(pairs.size()), 1000);
  ASSERT_TRUE(is_valid(tree));
  ASSERT_EQ(tree.size(), pairs.size());
  EXPECT_TRUE(precise(tree, pairs)) << describe_stats(tree);
}

// Only the two ends of the domain, then the ends and one key in the middle.
TEST(Precision, OnlyTheEnds) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const Pairs<int64_t>& pairs :
       {Pairs<int64_t>{{kMin, 1}, {kMax, 2}},
        Pairs<int64_t>{{kMin, 1}, {0, 3}, {kMax, 2}},
        Pairs<int64_t>{{kMin, 1}, {kMin + 1, 4}, {kMax - 1, 5}, {kMax, 2}}}) {
    SCOPED_TRACE(std::to_string(pairs.size()) + " keys");
    Tree loaded = bulk_loaded(pairs);
    ASSERT_TRUE(is_valid(loaded));
    EXPECT_TRUE(precise(loaded, pairs));
    EXPECT_TRUE(holds_exactly(loaded, pairs));
    Tree inserted;
    for (size_t i = pairs.size(); i-- > 0;) {
      inserted.insert(pairs[i].first, pairs[i].second);
    }
    ASSERT_TRUE(is_valid(inserted));
    EXPECT_TRUE(precise(inserted, pairs));
    EXPECT_TRUE(holds_exactly(inserted, pairs));
  }
}

}  // namespace
}  // namespace alex_test
