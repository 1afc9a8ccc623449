// Amortized costs, counted rather than timed: building a tree by inserting
// every key set in random, increasing and decreasing order (and tearing it
// down again in the same order) may rebuild the whole tree only O(log n)
// times, and may shift only a bounded number of keys per insert on average.
// A tree that rebuilds every few dozen inserts is O(n^2) to build, even when
// every answer it gives is right.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// Keys moved per insert, on average over the whole build.
constexpr double kMaxShiftsPerInsert = 64;

// Whole-tree rebuilds allowed while n keys come or go: geometric growth gives
// about log(n); allow three times log2(n), plus a few.
uint64_t max_rebuilds(size_t n) {
  return 3 * static_cast<uint64_t>(std::log2(static_cast<double>(n))) + 8;
}

enum class Order { kRandom, kIncreasing, kDecreasing };

const char* order_name(Order order) {
  switch (order) {
    case Order::kRandom:
      return "Random";
    case Order::kIncreasing:
      return "Increasing";
    case Order::kDecreasing:
      return "Decreasing";
  }
  return "Unknown";
}

struct Case {
  KeySet set;
  Order order;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << key_set_name(c.set) << " keys in " << order_name(c.order) << " order";
}

std::vector<Case> cases() {
  std::vector<Case> all;
  for (KeySet set : kAllKeySets) {
    for (Order order :
         {Order::kRandom, Order::kIncreasing, Order::kDecreasing}) {
      all.push_back({set, order});
    }
  }
  return all;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(key_set_name(info.param.set)) + "_" +
         order_name(info.param.order);
}

class AmortizedTest : public ::testing::TestWithParam<Case> {};

TEST_P(AmortizedTest, FewRebuildsAndShiftsBuildingAndTearingDown) {
  const Case& c = GetParam();
  const uint64_t seed = test_seed(11'000 + 10 * static_cast<uint64_t>(c.set) +
                                  static_cast<uint64_t>(c.order));
  SCOPED_TRACE(seed_trace(seed));
  const Pairs<int64_t> pairs =
      sorted_pairs(make_keys(c.set, scaled(100'000, 10'000), seed), 1);
  const size_t n = pairs.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) {
    order[i] = c.order == Order::kDecreasing ? n - 1 - i : i;
  }
  if (c.order == Order::kRandom) {
    Random random(seed);
    random.shuffle(order);
  }
  const uint64_t rebuild_limit = max_rebuilds(n);
  // stats() is O(n): look at the counters 64 times per pass, and stop as
  // soon as a limit is passed (an O(n^2) build would take minutes).
  const size_t look_every = std::max<size_t>(1, n / 64);

  Tree tree;
  for (size_t done = 0; done < n; ++done) {
    tree.insert(pairs[order[done]].first, pairs[order[done]].second);
    if ((done + 1) % look_every == 0 || done + 1 == n) {
      ASSERT_LE(tree.stats().rebuilds, rebuild_limit)
          << "after " << done + 1 << " of " << n
          << " inserts: " << describe_stats(tree);
    }
  }
  const alex::Stats built = tree.stats();
  ASSERT_TRUE(is_valid(tree));
  ASSERT_TRUE(holds_exactly(tree, pairs));
  EXPECT_LE(static_cast<double>(built.shifts) / static_cast<double>(n),
            kMaxShiftsPerInsert)
      << describe_stats(tree);

  for (size_t done = 0; done < n; ++done) {
    ASSERT_EQ(tree.erase(pairs[order[done]].first), 1u);
    if ((done + 1) % look_every == 0 || done + 1 == n) {
      ASSERT_LE(tree.stats().rebuilds - built.rebuilds, rebuild_limit)
          << "after " << done + 1 << " of " << n
          << " erases: " << describe_stats(tree);
    }
  }
  ASSERT_TRUE(is_valid(tree));
  EXPECT_TRUE(tree.empty());
}

INSTANTIATE_TEST_SUITE_P(AllKeySetsAndOrders, AmortizedTest,
                         ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace alex_test
