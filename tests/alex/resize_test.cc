// Resize thrash guards, counted rather than timed. At the exact point where
// a data node has just expanded (or just contracted), repeating "erase two
// keys, insert them again" (or the reverse) must not make the node resize
// back and forth: structural changes stay bounded by a small constant and
// shifts stay O(1) per operation, so costs remain amortized O(1).
//
// The same guard covers the right edge of the key space, where an insert of a
// new largest key followed by its erase is what a rolled-back append does.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

using Tree = alex::Tree<int64_t, uint64_t>;

constexpr size_t kRounds = 10'000;
// At most this many expansions, contractions, splits, root expansions and
// rebuilds over all kRounds rounds together.
constexpr uint64_t kMaxResizes = 4;
// At most this many shifts per insert or erase, on average.
constexpr uint64_t kMaxShiftsPerOp = 16;

uint64_t resizes(const alex::Stats& s) {
  return s.expansions + s.contractions + s.splits_sideways + s.splits_down +
         s.root_expansions + s.rebuilds;
}

// Runs kRounds rounds of `round` (which must do `ops_per_round` inserts and
// erases and return false on a wrong answer) and checks the counters.
template <class AnyTree, class Round>
void expect_no_thrash(AnyTree& tree, size_t ops_per_round, Round round) {
  const alex::Stats before = tree.stats();
  const size_t size = tree.size();
  for (size_t i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(round()) << "round " << i;
  }
  const alex::Stats after = tree.stats();
  ASSERT_EQ(tree.size(), size);
  ASSERT_TRUE(is_valid(tree));
  const uint64_t ops = kRounds * ops_per_round;
  EXPECT_LE(resizes(after) - resizes(before), kMaxResizes)
      << "expansions " << before.expansions << " -> " << after.expansions
      << ", contractions " << before.contractions << " -> "
      << after.contractions << ", splits " << before.splits_sideways << "+"
      << before.splits_down << " -> " << after.splits_sideways << "+"
      << after.splits_down << ", rebuilds " << before.rebuilds << " -> "
      << after.rebuilds << " over " << ops << " operations";
  EXPECT_LE(after.shifts - before.shifts, kMaxShiftsPerOp * ops)
      << "shifts " << before.shifts << " -> " << after.shifts << " over " << ops
      << " operations";
}

// Builds a tree with build() and applies apply(tree, 0), apply(tree, 1), ...
// until event(tree.stats()) changes, so that the last operation applied
// caused the event; returns how many were applied, 0 if none of the first
// max_ops caused it. stats() costs O(n), so the event is first located to a
// batch on a scratch tree, then the same (deterministic) operations are
// replayed on the returned tree, one stats() call per operation only within
// that batch.
template <class Build, class Apply, class Event>
size_t apply_until(Tree& tree, Build build, size_t max_ops, Apply apply,
                   Event event) {
  constexpr size_t kBatch = 256;
  Tree scratch = build();
  const uint64_t start = event(scratch.stats());
  size_t batch_begin = 0, done = 0;
  while (done < max_ops && event(scratch.stats()) == start) {
    batch_begin = done;
    const size_t batch_end = std::min(done + kBatch, max_ops);
    for (; done < batch_end; ++done) apply(scratch, done);
  }
  tree = build();
  for (done = 0; done < batch_begin; ++done) apply(tree, done);
  while (done < max_ops) {
    apply(tree, done++);
    if (event(tree.stats()) != start) return done;
  }
  return 0;
}

uint64_t expansions(const alex::Stats& s) { return s.expansions; }
uint64_t contractions(const alex::Stats& s) { return s.contractions; }

// Bulk-loads `loaded` uniform keys; `more` are further keys of the set.
struct UniformKeys {
  explicit UniformKeys(uint64_t seed) {
    const size_t n = scaled(100'000, 10'000);
    std::vector<int64_t> keys = make_keys(KeySet::kUniform, 2 * n, seed);
    more.assign(keys.begin() + n, keys.end());
    keys.resize(n);
    loaded = sorted_pairs(keys, 1);
  }
  Tree build() const { return bulk_loaded(loaded); }

  Pairs<int64_t> loaded;
  std::vector<int64_t> more;
};

// Loads the uniform keys and inserts more of them until a node expands;
// returns how many were inserted (the last one expanded its node).
size_t insert_until_expansion(Tree& tree, const UniformKeys& keys) {
  return apply_until(
      tree, [&] { return keys.build(); }, keys.more.size(),
      [&](Tree& t, size_t i) { t.insert(keys.more[i], 1); }, expansions);
}

// The key after `key` in the tree (the one before, if `key` is the last).
// REQUIRES: key is in the tree, and it holds another key.
template <class AnyTree>
int64_t neighbour_of(AnyTree& tree, int64_t key) {
  auto it = tree.find(key);
  ++it;
  if (it == tree.end()) it = --tree.find(key);
  return it.key();
}

// A round: erase `a` and `b`, insert them again.
template <class AnyTree>
auto erase_then_insert(AnyTree& tree, int64_t a, int64_t b) {
  return [&tree, a, b] {
    return tree.erase(a) == 1 && tree.erase(b) == 1 &&
           tree.insert(a, 5).second && tree.insert(b, 6).second;
  };
}

// A round: insert `a` and `b`, erase them again.
auto insert_then_erase(Tree& tree, int64_t a, int64_t b) {
  return [&tree, a, b] {
    return tree.insert(a, 5).second && tree.insert(b, 6).second &&
           tree.erase(a) == 1 && tree.erase(b) == 1;
  };
}

TEST(ResizeThrash, JustExpandedLastTwoInserted) {
  const uint64_t seed = test_seed(8001);
  SCOPED_TRACE(seed_trace(seed));
  const UniformKeys keys(seed);
  Tree tree;
  const size_t inserted = insert_until_expansion(tree, keys);
  ASSERT_GE(inserted, 1u) << "no expansion; " << describe_stats(tree);
  // The key whose insert expanded its node, and the one inserted before (or,
  // if the very first insert expanded, the next key in the tree).
  const int64_t trigger = keys.more[inserted - 1];
  ASSERT_TRUE(tree.find(trigger) != tree.end());
  const int64_t other =
      inserted >= 2 ? keys.more[inserted - 2] : neighbour_of(tree, trigger);
  expect_no_thrash(tree, 4, erase_then_insert(tree, trigger, other));
}

TEST(ResizeThrash, JustExpandedNeighbours) {
  const uint64_t seed = test_seed(8002);
  SCOPED_TRACE(seed_trace(seed));
  const UniformKeys keys(seed);
  Tree tree;
  const size_t inserted = insert_until_expansion(tree, keys);
  ASSERT_GE(inserted, 1u) << "no expansion; " << describe_stats(tree);
  // The key that triggered the expansion and its successor: both in the
  // node that just expanded (unless it was the node's last key).
  const int64_t trigger = keys.more[inserted - 1];
  ASSERT_TRUE(tree.find(trigger) != tree.end());
  expect_no_thrash(
      tree, 4, erase_then_insert(tree, trigger, neighbour_of(tree, trigger)));
}

TEST(ResizeThrash, JustExpandedInsertNewThenErase) {
  const uint64_t seed = test_seed(8003);
  SCOPED_TRACE(seed_trace(seed));
  const UniformKeys keys(seed);
  Tree tree;
  const size_t inserted = insert_until_expansion(tree, keys);
  ASSERT_GE(inserted, 1u) << "no expansion; " << describe_stats(tree);
  // Two absent keys right next to the trigger key.
  const int64_t trigger = keys.more[inserted - 1];
  ASSERT_TRUE(tree.find(trigger) != tree.end());
  const int64_t a = trigger + 1, b = trigger - 1;
  ASSERT_TRUE(tree.find(a) == tree.end());
  ASSERT_TRUE(tree.find(b) == tree.end());
  expect_no_thrash(tree, 4, insert_then_erase(tree, a, b));
}

// Erases the keys of `loaded` in random order until some node contracts
// (the first one does so once the tree is over its memory budget, long
// before min density); returns the erased keys in order, the last one's
// erase contracted its node.
std::vector<int64_t> erase_until_contraction(Tree& tree,
                                             const Pairs<int64_t>& loaded,
                                             uint64_t seed) {
  std::vector<int64_t> order;
  for (const auto& pair : loaded) order.push_back(pair.first);
  Random random(seed);
  random.shuffle(order);
  const size_t erased = apply_until(
      tree, [&] { return bulk_loaded(loaded); }, order.size() * 95 / 100,
      [&](Tree& t, size_t i) { t.erase(order[i]); }, contractions);
  order.resize(erased);
  return order;
}

// The first key >= `key` in the tree (the last key if there is none).
// REQUIRES: the tree holds a key.
template <class AnyTree>
int64_t key_at_or_after(AnyTree& tree, int64_t key) {
  auto it = tree.lower_bound(key);
  if (it == tree.end()) --it;
  return it.key();
}

TEST(ResizeThrash, JustContracted) {
  const uint64_t seed = test_seed(8004);
  SCOPED_TRACE(seed_trace(seed));
  const UniformKeys keys(seed);
  Tree tree;
  const std::vector<int64_t> erased =
      erase_until_contraction(tree, keys.loaded, seed);
  ASSERT_GE(erased.size(), 2u)
      << "no contraction after erasing 95% of the keys; "
      << describe_stats(tree);
  // The key whose erase contracted its node, and the one erased before.
  expect_no_thrash(tree, 4,
                   insert_then_erase(tree, erased.end()[-1], erased.end()[-2]));
  // The other way round: erase two keys of that node (the tree is at its
  // budget, so the erases find it over), insert them again. Its keys sit at
  // the middle of init and max density, so the inserts must not expand it
  // either.
  const int64_t a = key_at_or_after(tree, erased.back());
  expect_no_thrash(tree, 4, erase_then_insert(tree, a, neighbour_of(tree, a)));
}

// The same in a node of a few dozen keys, where two erases are more than a
// sixteenth of them. Nodes this small are never under the budget (their
// fixed costs are too large), so the budget contracts them on every such
// share of erases; two erases must still not do it.
struct TinyLeaves : alex::DefaultOptions {
  static constexpr int kMaxCapacity = 64;
  static constexpr int kMaxAppendCapacity = 64;
};

TEST(ResizeThrash, JustContractedSmallNodeEraseFirst) {
  const uint64_t seed = test_seed(8011);
  SCOPED_TRACE(seed_trace(seed));
  std::vector<int64_t> keys = make_keys(KeySet::kUniform, 20'000, seed);
  const Pairs<int64_t> pairs = sorted_pairs(keys, 1);
  alex::Tree<int64_t, uint64_t, TinyLeaves> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  Random random(seed);
  random.shuffle(keys);
  size_t erased = 0;
  while (tree.stats().contractions == 0 && erased < keys.size() / 2) {
    tree.erase(keys[erased++]);
  }
  ASSERT_EQ(tree.stats().contractions, 1u) << describe_stats(tree);
  const int64_t a = key_at_or_after(tree, keys[erased - 1]);
  expect_no_thrash(tree, 4, erase_then_insert(tree, a, neighbour_of(tree, a)));
}

// The smallest case: a key below all others inserted into a freshly loaded
// tree and erased again.
TEST(ResizeThrash, PrependAndRollBackOnAFreshLoad) {
  Pairs<int64_t> pairs;
  for (int64_t i = 0; i < 1000; ++i) pairs.emplace_back(i * 10, 0);
  Tree tree = bulk_loaded(pairs);
  expect_no_thrash(tree, 2, [&tree] {
    return tree.insert(-5, 1).second && tree.erase(-5) == 1;
  });
}

TEST(ResizeThrash, AppendAndRollBackOnAFreshLoad) {
  Pairs<int64_t> pairs;
  for (int64_t i = 0; i < 1000; ++i) pairs.emplace_back(i * 10, 0);
  Tree tree = bulk_loaded(pairs);
  expect_no_thrash(tree, 2, [&tree] {
    return tree.insert(100'000, 1).second && tree.erase(100'000) == 1;
  });
}

// A rolled-back append, again and again: insert a new largest key (and a new
// smallest one), erase both.
TEST(ResizeThrash, AppendAndRollBackAtTheEdges) {
  const uint64_t seed = test_seed(8005);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      make_keys(KeySet::kTimestamps, scaled(100'000, 10'000), seed);
  Tree tree;
  for (int64_t key : keys) tree.insert(key, 1);  // built by appends
  expect_no_thrash(tree, 4,
                   insert_then_erase(tree, keys.back() + 1, keys.front() - 1));
}

// The same right after an append expanded (or split) the last node.
TEST(ResizeThrash, AppendRightAfterExpansion) {
  const uint64_t seed = test_seed(8006);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys =
      make_keys(KeySet::kTimestamps, scaled(200'000, 20'000), seed);
  const size_t loaded = keys.size() / 2;
  const Pairs<int64_t> pairs = sorted_pairs(
      std::vector<int64_t>(keys.begin(), keys.begin() + loaded), 1);
  Tree tree;
  const size_t appended = apply_until(
      tree, [&] { return bulk_loaded(pairs); }, keys.size() - loaded,
      [&](Tree& t, size_t i) { t.insert(keys[loaded + i], 1); },
      [](const alex::Stats& s) {
        return s.expansions + s.splits_sideways + s.splits_down;
      });
  ASSERT_GE(appended, 1u) << describe_stats(tree);
  // The append that expanded its node, and the key before it (appended or
  // loaded).
  const size_t last = loaded + appended - 1;
  expect_no_thrash(tree, 4,
                   erase_then_insert(tree, keys[last], keys[last - 1]));
  expect_no_thrash(tree, 4,
                   insert_then_erase(tree, keys[last] + 100, keys[last] + 200));
}

// Random inserts doubling a bulk-loaded tree: leaves must resize because
// they are full, not because a stray key landed past a leaf's last (first)
// key while its end slot was taken, nor because a least-squares model put
// the end keys past the array so that they piled up into one run there.
// Either starts a cascade of early resizes and long shifts, which shows in
// the shifts per insert. Over seeds 1-60 of these sets, before the fix:
// uniform 8.98-15.5, lognormal 10.6-16.6, clustered 5.81-9.86; after it:
// uniform 2.80-6.11, lognormal 4.21-9.78, clustered 0.77-1.49; and since
// a leaf of random inserts is no longer regrown for appends (the test
// below): uniform 2.67-2.89, lognormal 3.45-9.01, clustered 0.72-1.22.
// One seed's count spreads widely (a lognormal leaf whose model misfits a
// dense run shifts ~1000 slots an insert until it resizes), so the test
// bounds the median of three seeds (on lognormal keys at most 5.75 for
// seeds s..s+2, s = 1..60; the default seeds 8101-8103 gave medians of
// 3.95 / 6.05 / 1.07 before that change, 2.79 / 5.29 / 0.75 after).
class RandomInsertsTest : public ::testing::TestWithParam<KeySet> {};

TEST_P(RandomInsertsTest, ShiftLittleAndResizeOnlyWhenFull) {
  const uint64_t first_seed = test_seed(8101);
  const size_t n = scaled(200'000, 20'000);
  const double limit = GetParam() == KeySet::kUniform     ? 3.4
                       : GetParam() == KeySet::kLognormal ? 7.0
                                                          : 2.0;
  std::vector<double> shifts;
  std::string runs;
  for (uint64_t seed = first_seed; seed < first_seed + 3; ++seed) {
    SCOPED_TRACE(seed_trace(seed));
    // make_keys returns these sets in random order: load the first half,
    // insert the rest.
    const std::vector<int64_t> keys = make_keys(GetParam(), n, seed);
    const size_t loaded = n / 2;
    Tree tree = bulk_loaded(sorted_pairs(
        std::vector<int64_t>(keys.begin(), keys.begin() + loaded), 1));
    for (size_t i = loaded; i < n; ++i) ASSERT_TRUE(tree.insert(keys[i], 2).second);
    ASSERT_TRUE(is_valid(tree));
    shifts.push_back(tree.stats().shifts_per_insert);
    runs += "\n  seed " + std::to_string(seed) + ": " + describe_stats(tree);
  }
  std::sort(shifts.begin(), shifts.end());
  EXPECT_LT(shifts[1], limit) << "median shifts per insert" << runs;
}

INSTANTIATE_TEST_SUITE_P(Random, RandomInsertsTest,
                         ::testing::Values(KeySet::kUniform, KeySet::kLognormal, KeySet::kClustered),
                         [](const auto& info) { return std::string(key_set_name(info.param)); });

// A leaf of random inserts that an append happens to fill must expand with
// its gaps spread, not laid out for appends (its keys packed at density
// 0.95, the room past the last), or the random inserts that follow shift
// many slots each (17.5-19.2 a random insert here before the fix, 1.0-1.2
// after, seeds 1-5).
TEST(RandomInserts, AnAppendDoesNotPackALeafOfRandomInserts) {
  const uint64_t seed = test_seed(77);
  SCOPED_TRACE(seed_trace(seed));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> loaded;  // one leaf: 1000 keys 1000 apart
  for (int64_t i = 0; i < 1000; ++i) loaded.push_back(i * 1000);
  const int64_t max_key = loaded.back();
  // `tree` and `ahead` see the same random inserts, but each one reaches
  // `tree` only if it did not expand `ahead`: `tree` stops one insert
  // short of its first expansion.
  Tree tree = bulk_loaded(sorted_pairs(loaded, 1));
  Tree ahead = bulk_loaded(sorted_pairs(loaded, 1));
  ASSERT_EQ(tree.stats().data_nodes, 1u);
  // A key below max_key that `in` does not hold.
  auto absent_key = [&](const Tree& in) {
    int64_t key;
    do {
      key = static_cast<int64_t>(rng() % static_cast<uint64_t>(max_key));
    } while (in.find(key) != in.end());
    return key;
  };
  for (;;) {
    const int64_t key = absent_key(ahead);
    ASSERT_TRUE(ahead.insert(key, 2).second);
    if (ahead.stats().expansions > 0) break;
    ASSERT_TRUE(tree.insert(key, 2).second);
  }
  // Now appends, until one expands the full leaf.
  for (int64_t key = max_key + 1000; tree.stats().expansions == 0; key += 1000) {
    ASSERT_TRUE(tree.insert(key, 3).second);
  }
  ASSERT_EQ(tree.stats().data_nodes, 1u) << describe_stats(tree);
  // Random inserts again.
  const uint64_t shifts = tree.stats().shifts;
  constexpr int kInserts = 500;
  for (int i = 0; i < kInserts; ++i) {
    ASSERT_TRUE(tree.insert(absent_key(tree), 2).second);
  }
  ASSERT_TRUE(is_valid(tree));
  EXPECT_LT(static_cast<double>(tree.stats().shifts - shifts) / kInserts, 3.0)
      << describe_stats(tree);
}

}  // namespace
}  // namespace alex_test
