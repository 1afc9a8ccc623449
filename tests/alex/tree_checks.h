// Assertion helpers shared by the alex::Tree tests, and the small-node
// options some of them use. Each helper returns a ::testing::AssertionResult
// that names the first thing that differs, so one bug gives one readable
// failure instead of a million.

#ifndef ALEX_TESTS_ALEX_TREE_CHECKS_H_
#define ALEX_TESTS_ALEX_TREE_CHECKS_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"

namespace alex_test {

// Small nodes, so that the same operations build deep trees and reach every
// structural change (splits sideways and down, root growth, contraction of
// model levels) with thousands of keys instead of millions.
struct SmallNodes : alex::DefaultOptions {
  static constexpr int kMinCapacity = 16;
  static constexpr int kMaxCapacity = 256;
  static constexpr int kMaxAppendCapacity = 64;
  static constexpr int kMaxFanoutLog = 4;
  static constexpr size_t kMaxDoubledFanout = 64;
};

// A key as text; doubles with all 17 significant digits, so keys one ulp
// apart print differently.
template <class Key>
std::string show(Key key) {
  if constexpr (std::is_floating_point_v<Key>) {
    std::ostringstream out;
    out << std::setprecision(17) << key;
    return out.str();
  } else {
    return std::to_string(key);
  }
}

template <class Key>
using Pairs = std::vector<std::pair<Key, uint64_t>>;

// check() came back empty.
template <class Key, class Payload, class... Options>
::testing::AssertionResult is_valid(
    const alex::Tree<Key, Payload, Options...>& tree) {
  std::string problem = tree.check();
  if (problem.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "check() failed: " << problem;
}

// The tree holds exactly `expected` (sorted by key): size, empty, begin/end,
// and a full iteration forwards from begin() and backwards from end(), keys
// and payloads step by step.
template <class Key, class... Options>
::testing::AssertionResult holds_exactly(
    const alex::Tree<Key, uint64_t, Options...>& tree,
    const Pairs<Key>& expected) {
  if (tree.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size() " << tree.size() << " != " << expected.size();
  }
  if (tree.empty() != expected.empty()) {
    return ::testing::AssertionFailure() << "empty() is " << tree.empty();
  }
  if ((tree.begin() == tree.end()) != expected.empty()) {
    return ::testing::AssertionFailure()
           << "begin() == end() is " << (tree.begin() == tree.end()) << " with "
           << expected.size() << " keys";
  }
  auto it = tree.begin();
  for (size_t i = 0; i < expected.size(); ++i, ++it) {
    if (it == tree.end()) {
      return ::testing::AssertionFailure()
             << "forward iteration ended after " << i << " of "
             << expected.size() << " keys";
    }
    if (it.key() != expected[i].first || it.payload() != expected[i].second) {
      return ::testing::AssertionFailure()
             << "forward iteration step " << i << ": got (" << show(it.key())
             << ", " << it.payload() << "), want (" << show(expected[i].first)
             << ", " << expected[i].second << ")";
    }
  }
  if (it != tree.end()) {
    return ::testing::AssertionFailure()
           << "forward iteration did not end after " << expected.size()
           << " keys; next key " << show(it.key());
  }
  it = tree.end();
  for (size_t i = expected.size(); i-- > 0;) {
    --it;
    if (it.key() != expected[i].first || it.payload() != expected[i].second) {
      return ::testing::AssertionFailure()
             << "backward iteration at index " << i << ": got ("
             << show(it.key()) << ", " << it.payload() << "), want ("
             << show(expected[i].first) << ", " << expected[i].second << ")";
    }
  }
  if (it != tree.begin()) {
    return ::testing::AssertionFailure()
           << "backward iteration reached index 0 but not begin()";
  }
  return ::testing::AssertionSuccess();
}

// find() of every expected key returns it with its payload; reports the
// number of misses and the first one.
template <class Key, class... Options>
::testing::AssertionResult finds_all(
    const alex::Tree<Key, uint64_t, Options...>& tree,
    const Pairs<Key>& expected) {
  size_t misses = 0;
  std::string first;
  for (size_t i = 0; i < expected.size(); ++i) {
    auto it = tree.find(expected[i].first);
    bool ok = it != tree.end() && it.key() == expected[i].first &&
              it.payload() == expected[i].second;
    if (!ok) {
      if (misses++ == 0) {
        first = "find(" + show(expected[i].first) + ") at index " +
                std::to_string(i) +
                (it == tree.end() ? " returned end()"
                                  : " returned key " + show(it.key()));
      }
    }
  }
  if (misses == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << misses << " of " << expected.size()
                                       << " keys missed; first: " << first;
}

// The (key, payload) pairs of the tree, in iteration order.
template <class Key, class... Options>
Pairs<Key> contents(const alex::Tree<Key, uint64_t, Options...>& tree) {
  Pairs<Key> pairs;
  pairs.reserve(tree.size());
  for (auto it = tree.begin(); it != tree.end(); ++it) {
    pairs.emplace_back(it.key(), it.payload());
  }
  return pairs;
}

// A tree bulk-loaded from pairs (sorted, distinct keys).
template <class Key>
alex::Tree<Key, uint64_t> bulk_loaded(const Pairs<Key>& pairs) {
  alex::Tree<Key, uint64_t> tree;
  tree.bulk_load(pairs.data(), pairs.size());
  return tree;
}

// Every statistic, for failure messages.
template <class Key, class... Options>
std::string describe_stats(const alex::Tree<Key, uint64_t, Options...>& tree) {
  auto s = tree.stats();
  return "depth=" + std::to_string(s.depth) +
         " model_nodes=" + std::to_string(s.model_nodes) +
         " data_nodes=" + std::to_string(s.data_nodes) +
         " empty_data_nodes=" + std::to_string(s.empty_data_nodes) +
         " avg_search_distance=" + std::to_string(s.avg_search_distance) +
         " shifts_per_insert=" + std::to_string(s.shifts_per_insert) +
         " inserts=" + std::to_string(s.inserts) +
         " shifts=" + std::to_string(s.shifts) +
         " expansions=" + std::to_string(s.expansions) +
         " contractions=" + std::to_string(s.contractions) +
         " splits_sideways=" + std::to_string(s.splits_sideways) +
         " splits_down=" + std::to_string(s.splits_down) +
         " root_expansions=" + std::to_string(s.root_expansions) +
         " rebuilds=" + std::to_string(s.rebuilds) +
         " size=" + std::to_string(tree.size()) +
         " memory_bytes=" + std::to_string(tree.memory_bytes());
}

// Bytes the tree allocated per key it holds.
template <class Key, class... Options>
double bytes_per_key(const alex::Tree<Key, uint64_t, Options...>& tree) {
  return static_cast<double>(tree.memory_bytes()) /
         static_cast<double>(std::max<size_t>(tree.size(), 1));
}

// The most bytes per key `tree` held after any of op(0), ..., op(count - 1)
// (each returns whether it did what it should; the first that did not is a
// failure and ends the run), and after which (1-based; 0: before them all).
struct Peak {
  double bytes_per_key;
  size_t after;
};
template <class Tree, class Op>
Peak peak_over(const Tree& tree, size_t count, Op op) {
  Peak peak{bytes_per_key(tree), 0};
  for (size_t i = 0; i < count; ++i) {
    if (!op(i)) {
      ADD_FAILURE() << "operation " << i << " failed";
      break;
    }
    const double used = bytes_per_key(tree);
    if (used > peak.bytes_per_key) peak = {used, i + 1};
  }
  return peak;
}

}  // namespace alex_test

#endif  // ALEX_TESTS_ALEX_TREE_CHECKS_H_
