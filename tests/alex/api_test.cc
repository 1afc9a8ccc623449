// The contracts of single API calls: const lookups are read-only (statistics
// and memory unchanged); payloads written through iterators persist, also
// across the node rebuilds later inserts and erases cause; insert never
// overwrites; move construction and assignment; an empty tree.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

using Tree = alex::Tree<int64_t, uint64_t>;

static_assert(!std::is_copy_constructible_v<Tree>);
static_assert(!std::is_copy_assignable_v<Tree>);
static_assert(std::is_move_constructible_v<Tree>);
static_assert(std::is_move_assignable_v<Tree>);
static_assert(std::is_convertible_v<Tree::iterator, Tree::const_iterator>);
static_assert(
    std::is_same_v<decltype(std::declval<const Tree&>().find(0).payload()),
                   const uint64_t&>);
static_assert(std::is_same_v<decltype(std::declval<Tree&>().find(0).payload()),
                             uint64_t&>);

// Every field of two Stats, compared exactly.
::testing::AssertionResult same_stats(const alex::Stats& a,
                                      const alex::Stats& b) {
  if (a.depth == b.depth && a.model_nodes == b.model_nodes &&
      a.data_nodes == b.data_nodes && a.empty_data_nodes == b.empty_data_nodes &&
      a.avg_search_distance == b.avg_search_distance &&
      a.shifts_per_insert == b.shifts_per_insert && a.inserts == b.inserts &&
      a.shifts == b.shifts && a.expansions == b.expansions &&
      a.contractions == b.contractions &&
      a.splits_sideways == b.splits_sideways &&
      a.splits_down == b.splits_down &&
      a.root_expansions == b.root_expansions && a.rebuilds == b.rebuilds) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "stats changed";
}

// Lookups on a const Tree& change nothing: not the statistics, not memory,
// not the contents.
TEST(ConstLookups, AreReadOnly) {
  const uint64_t seed = test_seed(10001);
  SCOPED_TRACE(seed_trace(seed));
  // Built by inserts so that every counter has moved.
  const std::vector<int64_t> keys =
      make_keys(KeySet::kLognormal, scaled(200'000, 10'000), seed);
  Tree tree;
  for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
  for (size_t i = 0; i < keys.size(); i += 3) tree.erase(keys[i]);
  const Tree& view = tree;
  const alex::Stats before = view.stats();
  const size_t bytes = view.memory_bytes();
  const Pairs<int64_t> pairs = contents(view);
  ASSERT_GT(before.inserts, 0u);

  Random random(seed);
  uint64_t sink = 0;  // keeps the lookups from being optimized away
  for (size_t i = 0; i < scaled(300'000, 10'000); ++i) {
    int64_t key =
        i % 2 == 0 ? random.pick(keys) : random_domain_key<int64_t>(random);
    auto found = view.find(key);
    if (found != view.end()) sink += found.payload();
    auto lower = view.lower_bound(key);
    auto upper = view.upper_bound(key);
    for (int step = 0; step < 3 && lower != view.end(); ++step, ++lower) {
      sink += lower.key();
    }
    if (upper != view.begin()) sink += (--upper).key();
  }
  for (auto it = view.begin(); it != view.end(); ++it) sink += it.payload();
  EXPECT_TRUE(is_valid(view));
  (void)view.size();
  (void)view.empty();
  RecordProperty("sink", static_cast<int>(sink & 0xFFFF));

  EXPECT_TRUE(same_stats(view.stats(), before))
      << "before: " << before.avg_search_distance << " / " << before.shifts
      << "\nafter:  " << describe_stats(tree);
  EXPECT_EQ(view.memory_bytes(), bytes);
  EXPECT_TRUE(holds_exactly(view, pairs));
}

// Payloads written through iterators from find, lower_bound, upper_bound,
// insert and iteration persist, also after inserts and erases have rebuilt
// the nodes the pairs live in.
TEST(Payloads, UpdatesThroughIteratorsPersist) {
  const uint64_t seed = test_seed(10002);
  SCOPED_TRACE(seed_trace(seed));
  const size_t n = scaled(100'000, 10'000);
  std::vector<int64_t> keys = make_keys(KeySet::kUniform, 3 * n, seed);
  const std::vector<int64_t> later(keys.begin() + n, keys.end());
  keys.resize(n);
  Pairs<int64_t> expected = sorted_pairs(keys, 1);
  Tree tree = bulk_loaded(expected);

  // Through find() for every key.
  for (auto& [key, payload] : expected) {
    payload = payload_for(key, 2);
    auto it = tree.find(key);
    ASSERT_TRUE(it != tree.end());
    it.payload() = payload;
    ASSERT_EQ(tree.find(key).payload(), payload);
  }
  // Through lower_bound() at every 3rd key, upper_bound() of the key before
  // at every 5th.
  for (size_t i = 0; i < expected.size(); ++i) {
    auto& [key, payload] = expected[i];
    if (i % 3 == 0) {
      payload = payload_for(key, 3);
      tree.lower_bound(key).payload() = payload;
    }
    if (i % 5 == 0 && i > 0) {
      payload = payload_for(key, 5);
      tree.upper_bound(expected[i - 1].first).payload() = payload;
    }
  }
  // Through forward iteration at every 7th key, backward at every 11th.
  size_t i = 0;
  for (auto it = tree.begin(); it != tree.end(); ++it, ++i) {
    if (i % 7 == 0) it.payload() = expected[i].second = payload_for(i, 7);
  }
  i = expected.size();
  for (auto it = tree.end(); it != tree.begin();) {
    --it;
    --i;
    if (i % 11 == 0) it.payload() = expected[i].second = payload_for(i, 11);
  }
  ASSERT_TRUE(holds_exactly(tree, expected));

  // Through the iterator insert returns.
  Pairs<int64_t> inserted;
  for (size_t j = 0; j < later.size() / 2; ++j) {
    auto [it, fresh] = tree.insert(later[j], 0);
    ASSERT_TRUE(fresh);
    it.payload() = payload_for(later[j], 13);
    inserted.emplace_back(later[j], payload_for(later[j], 13));
  }
  // More inserts and erases reshape the tree; nothing written may be lost.
  for (size_t j = later.size() / 2; j < later.size(); ++j) {
    tree.insert(later[j], payload_for(later[j], 17));
    inserted.emplace_back(later[j], payload_for(later[j], 17));
  }
  for (size_t j = 0; j < inserted.size(); j += 2) {
    ASSERT_EQ(tree.erase(inserted[j].first), 1u);
  }
  Pairs<int64_t> all = expected;
  for (size_t j = 1; j < inserted.size(); j += 2) all.push_back(inserted[j]);
  std::sort(all.begin(), all.end());
  ASSERT_TRUE(is_valid(tree));
  EXPECT_GT(tree.stats().expansions + tree.stats().splits_sideways +
                tree.stats().splits_down,
            0u)
      << "the inserts were meant to reshape the tree";
  EXPECT_TRUE(holds_exactly(tree, all));
  EXPECT_TRUE(finds_all(tree, all));
}

// insert() of a present key returns false and an iterator to the present
// pair, whose payload is kept.
TEST(Insert, NeverOverwrites) {
  Tree tree;
  auto [first, inserted] = tree.insert(42, 1);
  ASSERT_TRUE(inserted);
  ASSERT_EQ(first.key(), 42);
  ASSERT_EQ(first.payload(), 1u);
  for (uint64_t attempt = 2; attempt < 50; ++attempt) {
    auto [it, again] = tree.insert(42, attempt);
    EXPECT_FALSE(again);
    ASSERT_TRUE(it != tree.end());
    EXPECT_EQ(it.key(), 42);
    EXPECT_EQ(it.payload(), 1u);
  }
  EXPECT_EQ(tree.size(), 1u);
  EXPECT_EQ(tree.find(42).payload(), 1u);

  // The same in a large tree, for loaded and inserted keys.
  const uint64_t seed = test_seed(10003);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs = sorted_pairs(
      make_keys(KeySet::kClustered, scaled(100'000, 10'000), seed), 1);
  tree = bulk_loaded(pairs);
  for (const auto& [key, payload] : pairs) {
    auto [it, again] = tree.insert(key, ~payload);
    ASSERT_FALSE(again) << key;
    ASSERT_EQ(it.key(), key);
    ASSERT_EQ(it.payload(), payload);
  }
  ASSERT_TRUE(holds_exactly(tree, pairs));
}

TEST(Move, ConstructionAndAssignmentMoveTheContents) {
  const uint64_t seed = test_seed(10004);
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> a =
      sorted_pairs(make_keys(KeySet::kUniform, scaled(50'000, 5000), seed), 1);
  const Pairs<int64_t> b =
      sorted_pairs(make_keys(KeySet::kTimestamps, 3000, seed), 2);

  Tree source = bulk_loaded(a);
  const size_t bytes = source.memory_bytes();
  Tree moved(std::move(source));
  ASSERT_TRUE(is_valid(moved));
  ASSERT_TRUE(holds_exactly(moved, a));
  EXPECT_EQ(moved.memory_bytes(), bytes);
  // A moved-from tree can be cleared and reused.
  source.clear();
  ASSERT_TRUE(is_valid(source));
  ASSERT_TRUE(holds_exactly(source, {}));
  source.insert(1, 1);
  ASSERT_TRUE(holds_exactly(source, {{1, 1}}));

  Tree other = bulk_loaded(b);
  other = std::move(moved);  // replaces b by a
  ASSERT_TRUE(is_valid(other));
  ASSERT_TRUE(holds_exactly(other, a));
  // And the result still takes updates.
  for (const auto& [key, payload] : b) other.insert(key, payload);
  Pairs<int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  std::sort(both.begin(), both.end());
  ASSERT_TRUE(is_valid(other));
  ASSERT_TRUE(holds_exactly(other, both));
}

TEST(EmptyTree, BehavesAsEmpty) {
  Tree tree;
  const Tree& view = tree;
  EXPECT_TRUE(is_valid(view));
  EXPECT_EQ(view.size(), 0u);
  EXPECT_TRUE(view.empty());
  EXPECT_TRUE(view.begin() == view.end());
  EXPECT_TRUE(tree.begin() == tree.end());
  EXPECT_TRUE(view.find(0) == view.end());
  EXPECT_TRUE(view.lower_bound(lowest_key<int64_t>()) == view.end());
  EXPECT_TRUE(view.upper_bound(lowest_key<int64_t>()) == view.end());
  EXPECT_EQ(tree.erase(0), 0u);
  const alex::Stats stats = view.stats();
  EXPECT_EQ(stats.inserts, 0u);
  EXPECT_EQ(stats.shifts, 0u);
  EXPECT_GT(view.memory_bytes(), 0u);
  // bulk_load of nothing leaves it empty.
  tree.bulk_load(nullptr, 0);
  EXPECT_TRUE(is_valid(view));
  EXPECT_TRUE(view.empty());
  EXPECT_TRUE(view.begin() == view.end());
}

// Payload types other than uint64_t: a small one and a struct.
struct Row {
  uint32_t chunk;
  uint16_t slot;
  bool operator==(const Row&) const = default;
};

TEST(PayloadTypes, SmallAndStructPayloads) {
  alex::Tree<int64_t, uint32_t> small;
  alex::Tree<int64_t, Row> rows;
  const uint64_t seed = test_seed(10005);
  SCOPED_TRACE(seed_trace(seed));
  const std::vector<int64_t> keys = make_keys(KeySet::kExtreme, 20'000, seed);
  for (int64_t key : keys) {
    small.insert(key, static_cast<uint32_t>(key));
    rows.insert(
        key, Row{static_cast<uint32_t>(key >> 32), static_cast<uint16_t>(key)});
  }
  EXPECT_TRUE(is_valid(small));
  EXPECT_TRUE(is_valid(rows));
  for (int64_t key : keys) {
    auto it = small.find(key);
    ASSERT_TRUE(it != small.end());
    EXPECT_EQ(it.payload(), static_cast<uint32_t>(key));
    auto row = rows.find(key);
    ASSERT_TRUE(row != rows.end());
    EXPECT_TRUE((row.payload() == Row{static_cast<uint32_t>(key >> 32),
                                      static_cast<uint16_t>(key)}));
    row.payload().slot = 7;
    EXPECT_EQ(rows.find(key).payload().slot, 7);
  }
}

}  // namespace
}  // namespace alex_test
