// Erasing everything and building again: in random order, in increasing and
// in decreasing order, with check() along the way; an emptied tree behaves
// like a new one (size 0, empty, begin() == end(), every lookup misses); and
// clear() leaves a tree that is empty, small, and reusable.

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

constexpr size_t kChecks = 10;  // check() calls per full erase or insert pass

// The tree holds nothing and every operation on it says so.
::testing::AssertionResult is_empty(Tree& tree) {
  const Tree& const_tree = tree;
  if (tree.size() != 0 || !tree.empty()) {
    return ::testing::AssertionFailure()
           << "size() " << tree.size() << ", empty() " << tree.empty();
  }
  if (tree.begin() != tree.end() || const_tree.begin() != const_tree.end()) {
    return ::testing::AssertionFailure() << "begin() != end()";
  }
  for (int64_t key : {lowest_key<int64_t>(), int64_t{-1}, int64_t{0},
                      int64_t{1}, kTimestampBase, highest_key<int64_t>()}) {
    if (tree.find(key) != tree.end() || tree.lower_bound(key) != tree.end() ||
        tree.upper_bound(key) != tree.end() ||
        const_tree.find(key) != const_tree.end() ||
        const_tree.lower_bound(key) != const_tree.end()) {
      return ::testing::AssertionFailure()
             << "a lookup of " << key << " did not return end()";
    }
    if (tree.erase(key) != 0) {
      return ::testing::AssertionFailure() << "erase(" << key << ") != 0";
    }
  }
  return is_valid(tree);
}

// Erases the keys of `pairs` (which the tree holds) at the given order of
// indexes; checks that each erase removes one key (and a second erase none)
// and size(), and kChecks times check() and that a sample of the keys not yet
// erased is still found.
::testing::AssertionResult erase_all(Tree& tree, const Pairs<int64_t>& pairs,
                                     const std::vector<size_t>& order) {
  const size_t n = order.size();
  const size_t check_every = std::max<size_t>(1, n / kChecks);
  for (size_t done = 0; done < n; ++done) {
    const int64_t key = pairs[order[done]].first;
    if (tree.erase(key) != 1) {
      return ::testing::AssertionFailure()
             << "erase #" << done << " of present key " << key << " != 1";
    }
    if (tree.erase(key) != 0) {
      return ::testing::AssertionFailure()
             << "second erase of " << key << " != 0";
    }
    if (tree.size() != n - done - 1) {
      return ::testing::AssertionFailure()
             << "size() " << tree.size() << " after " << done + 1
             << " erases of " << n;
    }
    if ((done + 1) % check_every == 0) {
      ::testing::AssertionResult valid = is_valid(tree);
      if (!valid) {
        return ::testing::AssertionFailure()
               << "after " << done + 1 << " erases: " << valid.message();
      }
      // 64 of the keys still to erase must still be there.
      const size_t left = n - done - 1;
      for (size_t j = 0; j < 64 && left > 0; ++j) {
        const auto& still = pairs[order[done + 1 + (j * 7919) % left]];
        auto it = tree.find(still.first);
        if (it == tree.end() || it.payload() != still.second) {
          return ::testing::AssertionFailure()
                 << "after " << done + 1 << " erases, remaining key "
                 << still.first << " not found";
        }
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Inserts the pairs at the given order of indexes, checking as it goes.
::testing::AssertionResult insert_all(Tree& tree, const Pairs<int64_t>& pairs,
                                      const std::vector<size_t>& order) {
  const size_t check_every = std::max<size_t>(1, order.size() / kChecks);
  for (size_t done = 0; done < order.size(); ++done) {
    const auto& [key, payload] = pairs[order[done]];
    auto [it, inserted] = tree.insert(key, payload);
    if (!inserted || it == tree.end() || it.key() != key) {
      return ::testing::AssertionFailure()
             << "insert #" << done << " of " << key << " failed";
    }
    if ((done + 1) % check_every == 0) {
      ::testing::AssertionResult valid = is_valid(tree);
      if (!valid) {
        return ::testing::AssertionFailure()
               << "after " << done + 1 << " inserts: " << valid.message();
      }
    }
  }
  return holds_exactly(tree, pairs);
}

std::vector<size_t> increasing(size_t n) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

std::vector<size_t> decreasing(size_t n) {
  std::vector<size_t> order = increasing(n);
  std::reverse(order.begin(), order.end());
  return order;
}

std::vector<size_t> shuffled(size_t n, Random& random) {
  std::vector<size_t> order = increasing(n);
  random.shuffle(order);
  return order;
}

class EraseAllTest : public ::testing::TestWithParam<KeySet> {};

TEST_P(EraseAllTest, ThenReinsertInEveryOrder) {
  const uint64_t seed = test_seed(6000 + static_cast<uint64_t>(GetParam()));
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs =
      sorted_pairs(make_keys(GetParam(), scaled(100'000, 2000), seed), 1);
  const size_t n = pairs.size();
  Random random(seed);
  Tree tree = bulk_loaded(pairs);
  ASSERT_TRUE(is_valid(tree));

  SCOPED_TRACE("erase in random order after a bulk load");
  ASSERT_TRUE(erase_all(tree, pairs, shuffled(n, random)));
  ASSERT_TRUE(is_empty(tree));

  SCOPED_TRACE("reinsert in random order");
  ASSERT_TRUE(insert_all(tree, pairs, shuffled(n, random)));
  SCOPED_TRACE("erase in increasing order");
  ASSERT_TRUE(erase_all(tree, pairs, increasing(n)));
  ASSERT_TRUE(is_empty(tree));

  SCOPED_TRACE("reinsert in increasing order");
  ASSERT_TRUE(insert_all(tree, pairs, increasing(n)));
  SCOPED_TRACE("erase in decreasing order");
  ASSERT_TRUE(erase_all(tree, pairs, decreasing(n)));
  ASSERT_TRUE(is_empty(tree));

  SCOPED_TRACE("reinsert in decreasing order");
  ASSERT_TRUE(insert_all(tree, pairs, decreasing(n)));
  ASSERT_TRUE(finds_all(tree, pairs));
  SCOPED_TRACE("erase in random order after inserts");
  ASSERT_TRUE(erase_all(tree, pairs, shuffled(n, random)));
  ASSERT_TRUE(is_empty(tree));

  SCOPED_TRACE("bulk load into the emptied tree");
  tree.bulk_load(pairs.data(), pairs.size());
  ASSERT_TRUE(is_valid(tree));
  ASSERT_TRUE(holds_exactly(tree, pairs));
}

INSTANTIATE_TEST_SUITE_P(AllKeySets, EraseAllTest,
                         ::testing::ValuesIn(kAllKeySets),
                         [](const ::testing::TestParamInfo<KeySet>& info) {
                           return std::string(key_set_name(info.param));
                         });

// Down to one key and back, repeatedly, at both ends of the domain.
TEST(Erase, DownToOneKeyAndBack) {
  const int64_t keys[] = {lowest_key<int64_t>(), -1, 0, 1,
                          highest_key<int64_t>()};
  for (int64_t last : keys) {
    SCOPED_TRACE("last key " + std::to_string(last));
    Tree tree;
    for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
    for (int64_t key : keys) {
      if (key != last) {
        ASSERT_EQ(tree.erase(key), 1u);
      }
    }
    ASSERT_TRUE(is_valid(tree));
    ASSERT_TRUE(holds_exactly(tree, {{last, payload_for(last, 1)}}));
    ASSERT_EQ(tree.erase(last), 1u);
    ASSERT_TRUE(is_empty(tree));
    for (int64_t key : keys) tree.insert(key, payload_for(key, 1));
    ASSERT_TRUE(is_valid(tree));
    ASSERT_EQ(tree.size(), 5u);
  }
}

TEST(Clear, LeavesAnEmptySmallReusableTree) {
  const uint64_t seed = test_seed(6100);
  SCOPED_TRACE(seed_trace(seed));
  const size_t fresh_bytes = Tree().memory_bytes();
  Tree tree;
  tree.clear();  // clearing a new tree is fine
  ASSERT_TRUE(is_empty(tree));

  const Pairs<int64_t> pairs = sorted_pairs(
      make_keys(KeySet::kLognormal, scaled(200'000, 2000), seed), 1);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round == 1) {
      // Built by inserts this time.
      for (const auto& [key, payload] : pairs) tree.insert(key, payload);
    } else {
      tree.bulk_load(pairs.data(), pairs.size());
    }
    ASSERT_TRUE(holds_exactly(tree, pairs));
    ASSERT_GT(tree.memory_bytes(), pairs.size() * 16);
    tree.clear();
    ASSERT_TRUE(is_empty(tree));
    // clear() gives the memory back (allowing a small root).
    EXPECT_LE(tree.memory_bytes(), fresh_bytes + 64 * 1024)
        << describe_stats(tree);
    tree.clear();
    ASSERT_TRUE(is_empty(tree));
    // And the tree works afterwards.
    for (int64_t key : {int64_t{5}, int64_t{-5}, highest_key<int64_t>()}) {
      ASSERT_TRUE(tree.insert(key, 9).second);
    }
    ASSERT_TRUE(
        holds_exactly(tree, {{-5, 9}, {5, 9}, {highest_key<int64_t>(), 9}}));
    tree.clear();
  }
}

}  // namespace
}  // namespace alex_test
