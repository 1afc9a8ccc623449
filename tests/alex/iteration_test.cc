// Iteration both ways from every kind of start: begin(), --end(), find() of
// present keys, lower_bound() / upper_bound() of absent keys, below-all and
// above-all keys; long walks that cross many data nodes and turn around;
// walks across ranges emptied by erase (whole data nodes with no keys).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

using Tree = alex::Tree<int64_t, uint64_t>;

// Walks from `it`, which should be at index i of `pairs` (i == size: end()),
// `forward` steps forwards, then back to the start and `backward` steps
// backwards, comparing keys and payloads with the pairs at every step, and
// requiring end() / begin() exactly where the pairs end.
template <class It>
::testing::AssertionResult walks_like(It it, It begin, It end,
                                      const Pairs<int64_t>& pairs, size_t i,
                                      size_t forward, size_t backward) {
  auto at = [&](It where, size_t index) {
    if (index == pairs.size()) return where == end;
    return where != end && where.key() == pairs[index].first &&
           where.payload() == pairs[index].second;
  };
  if (!at(it, i)) {
    return ::testing::AssertionFailure() << "start is not at index " << i;
  }
  It cursor = it;
  for (size_t step = 1; step <= forward && i + step <= pairs.size(); ++step) {
    ++cursor;
    if (!at(cursor, i + step)) {
      return ::testing::AssertionFailure()
             << "forward step " << step << " from index " << i
             << " is not at index " << i + step;
    }
  }
  cursor = it;
  for (size_t step = 1; step <= backward && step <= i; ++step) {
    --cursor;
    if (!at(cursor, i - step)) {
      return ::testing::AssertionFailure()
             << "backward step " << step << " from index " << i
             << " is not at index " << i - step;
    }
  }
  if (backward >= i && cursor != begin) {
    return ::testing::AssertionFailure()
           << "walking back from index " << i << " did not reach begin()";
  }
  return ::testing::AssertionSuccess();
}

// Index of the first pair with key >= key.
size_t lower_index(const Pairs<int64_t>& pairs, int64_t key) {
  return std::lower_bound(
             pairs.begin(), pairs.end(), key,
             [](const auto& pair, int64_t k) { return pair.first < k; }) -
         pairs.begin();
}

// Every kind of start on `tree`, which holds exactly `pairs`.
void check_walks_from_every_start(Tree& tree, const Pairs<int64_t>& pairs,
                                  uint64_t seed) {
  ASSERT_TRUE(is_valid(tree));
  ASSERT_GT(tree.stats().data_nodes, 1u) << describe_stats(tree);
  ASSERT_TRUE(holds_exactly(tree, pairs));  // begin() on, --end() back
  const size_t n = pairs.size();
  const Tree& const_tree = tree;
  Random random(seed);

  // From begin() forwards and from --end() backwards, both iterator kinds.
  EXPECT_TRUE(
      walks_like(tree.begin(), tree.begin(), tree.end(), pairs, 0, 1000, 0));
  EXPECT_TRUE(walks_like(--tree.end(), tree.begin(), tree.end(), pairs, n - 1,
                         1, 1000));
  EXPECT_TRUE(walks_like(--const_tree.end(), const_tree.begin(),
                         const_tree.end(), pairs, n - 1, 1, 1000));
  EXPECT_TRUE(
      walks_like(tree.end(), tree.begin(), tree.end(), pairs, n, 0, 1000));

  // From find() of present keys and lower_bound/upper_bound of absent ones,
  // at 500 random places; every 50th walk is long enough to cross nodes.
  for (int round = 0; round < 500; ++round) {
    const size_t i = random.below(n);
    const int64_t key = pairs[i].first;
    const size_t length = round % 50 == 0 ? 5000 : 40;
    SCOPED_TRACE("key " + std::to_string(key) + " at index " +
                 std::to_string(i));
    ASSERT_TRUE(walks_like(tree.find(key), tree.begin(), tree.end(), pairs, i,
                           length, length));
    ASSERT_TRUE(walks_like(const_tree.find(key), const_tree.begin(),
                           const_tree.end(), pairs, i, length, length));
    ASSERT_TRUE(walks_like(tree.upper_bound(key), tree.begin(), tree.end(),
                           pairs, i + 1, length, length));
    for (int64_t absent : {prev_key(key), next_key(key)}) {
      size_t at = lower_index(pairs, absent);
      if (at < n && pairs[at].first == absent) continue;  // not absent
      ASSERT_TRUE(walks_like(tree.lower_bound(absent), tree.begin(), tree.end(),
                             pairs, at, length, length));
      ASSERT_TRUE(walks_like(const_tree.upper_bound(absent), const_tree.begin(),
                             const_tree.end(), pairs, at, length, length));
    }
  }

  // Below all and above all keys.
  const int64_t below = prev_key(pairs.front().first);
  const int64_t above = next_key(pairs.back().first);
  for (int64_t key : {lowest_key<int64_t>(), below}) {
    if (key == pairs.front().first) continue;
    EXPECT_TRUE(walks_like(tree.lower_bound(key), tree.begin(), tree.end(),
                           pairs, 0, 100, 100));
    EXPECT_TRUE(tree.find(key) == tree.end());
  }
  for (int64_t key : {highest_key<int64_t>(), above}) {
    if (key == pairs.back().first) continue;
    EXPECT_TRUE(walks_like(tree.lower_bound(key), tree.begin(), tree.end(),
                           pairs, n, 100, 100));
    EXPECT_TRUE(tree.upper_bound(key) == tree.end());
  }

  // A zigzag across the whole tree: forward to the end, back to begin(),
  // forward again, with pre and post operators; positions must agree.
  auto it = tree.begin();
  for (size_t i = 0; i + 1 < n; ++i) it++;
  ASSERT_TRUE(it == --tree.end());
  for (size_t i = 0; i + 1 < n; ++i) it--;
  ASSERT_TRUE(it == tree.begin());
  auto after = it++;
  EXPECT_TRUE(after == tree.begin());
  if (n > 1) {
    EXPECT_EQ(it.key(), pairs[1].first);
    auto before = it--;
    EXPECT_EQ(before.key(), pairs[1].first);
    EXPECT_TRUE(it == tree.begin());
  }
}

TEST(Iteration, BulkLoadedClusteredKeys) {
  const uint64_t seed = test_seed(5001);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = sorted_pairs(
      make_keys(KeySet::kClustered, scaled(300'000, 20'000), seed), 1);
  Tree tree = bulk_loaded(pairs);
  check_walks_from_every_start(tree, pairs, seed);
}

TEST(Iteration, UniformKeysInsertedInRandomOrder) {
  const uint64_t seed = test_seed(5002);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      make_keys(KeySet::kUniform, scaled(200'000, 20'000), seed);
  Tree tree;
  for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
  check_walks_from_every_start(tree, sorted_pairs(keys, 1), seed);
}

TEST(Iteration, AppendedTimestamps) {
  const uint64_t seed = test_seed(5003);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      make_keys(KeySet::kTimestamps, scaled(200'000, 20'000), seed);
  Tree tree;
  for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
  check_walks_from_every_start(tree, sorted_pairs(keys, 1), seed);
}

TEST(Iteration, ExtremeKeysInsertedInRandomOrder) {
  const uint64_t seed = test_seed(5004);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      make_keys(KeySet::kExtreme, scaled(200'000, 20'000), seed);
  Tree tree;
  for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
  check_walks_from_every_start(tree, sorted_pairs(keys, 1), seed);
}

// Erasing whole ranges leaves data nodes with few or no keys; iteration and
// bounds must step over them in both directions.
TEST(Iteration, AcrossErasedRanges) {
  const uint64_t seed = test_seed(5005);
  SCOPED_TRACE(seed_trace(seed));
  Pairs<int64_t> pairs = sorted_pairs(
      make_keys(KeySet::kAppend, scaled(300'000, 20'000), seed), 1);
  Tree tree = bulk_loaded(pairs);
  ASSERT_GT(tree.stats().data_nodes, 4u) << describe_stats(tree);
  // Erase five blocks: the first 10%, three in the middle, the last 10%.
  const size_t n = pairs.size();
  const std::pair<size_t, size_t> blocks[] = {{0, n / 10},
                                              {n / 5, n / 5 + n / 20},
                                              {n / 2 - n / 8, n / 2 + n / 8},
                                              {n * 7 / 10, n * 7 / 10 + 3},
                                              {n - n / 10, n}};
  std::vector<bool> erased(n, false);
  for (auto [from, to] : blocks) {
    for (size_t i = from; i < to; ++i) {
      ASSERT_EQ(tree.erase(pairs[i].first), 1u) << "index " << i;
      erased[i] = true;
    }
  }
  ASSERT_TRUE(is_valid(tree));
  Pairs<int64_t> left;
  for (size_t i = 0; i < n; ++i) {
    if (!erased[i]) left.push_back(pairs[i]);
  }
  ASSERT_TRUE(holds_exactly(tree, left));
  // Bounds at every erased block's edges and inside it land after it, and
  // walks from there go both ways across the hole.
  for (auto [from, to] : blocks) {
    for (size_t i : {from, (from + to) / 2, to - 1}) {
      const int64_t key = pairs[i].first;
      SCOPED_TRACE("erased key " + std::to_string(key));
      EXPECT_TRUE(tree.find(key) == tree.end());
      const size_t at = lower_index(left, key);
      EXPECT_TRUE(walks_like(tree.lower_bound(key), tree.begin(), tree.end(),
                             left, at, 50, 50));
      EXPECT_TRUE(walks_like(tree.upper_bound(key), tree.begin(), tree.end(),
                             left, at, 50, 50));
    }
  }
}

TEST(Iteration, TinyTrees) {
  Tree tree;
  EXPECT_TRUE(tree.begin() == tree.end());
  const Tree& const_tree = tree;
  EXPECT_TRUE(const_tree.begin() == const_tree.end());
  EXPECT_TRUE(tree.lower_bound(0) == tree.end());
  EXPECT_TRUE(tree.upper_bound(lowest_key<int64_t>()) == tree.end());

  tree.insert(7, 70);
  ASSERT_TRUE(tree.begin() != tree.end());
  EXPECT_TRUE(--tree.end() == tree.begin());
  EXPECT_TRUE(++tree.begin() == tree.end());
  EXPECT_EQ((--tree.end()).key(), 7);
  EXPECT_EQ(tree.begin().payload(), 70u);

  tree.insert(lowest_key<int64_t>(), 1);
  tree.insert(highest_key<int64_t>(), 2);
  Pairs<int64_t> pairs = {
      {lowest_key<int64_t>(), 1}, {7, 70}, {highest_key<int64_t>(), 2}};
  ASSERT_TRUE(holds_exactly(tree, pairs));
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_TRUE(walks_like(tree.find(pairs[i].first), tree.begin(), tree.end(),
                           pairs, i, 5, 5));
  }
  EXPECT_TRUE(walks_like(tree.lower_bound(8), tree.begin(), tree.end(), pairs,
                         2, 5, 5));
  EXPECT_TRUE(walks_like(tree.upper_bound(highest_key<int64_t>()), tree.begin(),
                         tree.end(), pairs, 3, 5, 5));
}

// An iterator converts to a const_iterator at the same place.
TEST(Iteration, IteratorConvertsToConstIterator) {
  const uint64_t seed = test_seed(5006);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs =
      sorted_pairs(make_keys(KeySet::kUniform, 5000, seed), 1);
  Tree tree = bulk_loaded(pairs);
  const Tree& const_tree = tree;
  for (size_t i = 0; i < pairs.size(); i += 37) {
    Tree::const_iterator it = tree.find(pairs[i].first);
    EXPECT_TRUE(it == const_tree.find(pairs[i].first));
    EXPECT_TRUE(
        walks_like(it, const_tree.begin(), const_tree.end(), pairs, i, 3, 3));
  }
  Tree::const_iterator end = tree.end();
  EXPECT_TRUE(end == const_tree.end());
}

}  // namespace
}  // namespace alex_test
