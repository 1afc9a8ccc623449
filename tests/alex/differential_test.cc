// Differential test: alex::Tree against std::map.
//
// Each test runs a long random mix of every operation on a Tree and on a
// std::map holding the same pairs, and compares every answer: insert of new
// and existing keys (the returned iterator and flag), erase of present and
// absent keys, find, lower_bound and upper_bound at present, absent,
// neighbouring, below-all and above-all keys, short and long walks forwards
// and backwards from each answer, and payload updates through iterators.
// size() is compared after every operation and check() runs every
// kCheckEvery operations (after every operation in SmallTreeTest) and at
// the end.
//
// The operation mix moves through three phases (grow, churn, shrink) so the
// tree expands, splits, contracts and merges. The tests are parameterized by
// key set, by whether the tree starts empty or bulk-loaded, and by node size
// (the default options, or small nodes that make deep trees); a smaller
// suite runs the same on double keys.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alex/alex.h"
#include "tests/alex/key_sets.h"
#include "tests/alex/tree_checks.h"

namespace alex_test {
namespace {

constexpr size_t kCheckEvery = 5000;
constexpr size_t kSpareKeys = 2000;  // stream keys never inserted: absent

enum Op {
  kInsertNew,       // a key never inserted before
  kInsertExisting,  // a present key, with a different payload
  kReinsertErased,  // a key erased earlier (maybe present again)
  kErasePresent,
  kEraseOther,  // a probe key: absent, neighbour, below or above all...
  kFind,
  kLowerBound,
  kUpperBound,
  kWalkFromEnds,  // from begin() forwards or from end() backwards
  kUpdatePayload,
  kOpCount,
};

const char* op_name(int op) {
  static const char* const kNames[kOpCount] = {
      "insert(new)",    "insert(existing)", "insert(erased)",
      "erase(present)", "erase(probe)",     "find",
      "lower_bound",    "upper_bound",      "walk_from_ends",
      "update_payload"};
  return kNames[op];
}

// Percent of each operation in each phase; each row sums to 100.
constexpr int kMix[3][kOpCount] = {
    {40, 4, 3, 8, 3, 12, 10, 8, 4, 8},    // grow
    {20, 4, 6, 20, 3, 12, 10, 9, 4, 12},  // churn
    {6, 3, 3, 44, 4, 12, 10, 8, 3, 7},    // shrink
};

// How many times each kind of outcome happened, to prove the mix covered it.
struct Tally {
  size_t insert_new = 0, insert_existing = 0, erase_hit = 0, erase_miss = 0,
         find_hit = 0, find_miss = 0, bound_at_end = 0, bound_inside = 0,
         below_all_probes = 0, above_all_probes = 0, updates = 0,
         walk_steps = 0;
};

template <class Key, class Options = alex::DefaultOptions>
class Differential {
 public:
  using Tree = alex::Tree<Key, uint64_t, Options>;
  using Map = std::map<Key, uint64_t>;

  Differential(std::vector<Key> stream, uint64_t seed)
      : stream_(std::move(stream)), random_(seed ^ 0x5EED) {}

  // Bulk-loads the first n keys of the stream.
  void bulk_load(size_t n) {
    Pairs<Key> pairs(
        sorted_pairs(std::vector<Key>(stream_.begin(), stream_.begin() + n),
                     /*salt=*/0));
    tree_.bulk_load(pairs.data(), pairs.size());
    for (const auto& [key, payload] : pairs) {
      map_.emplace(key, payload);
      add_present(key);
    }
    next_ = n;
  }

  ::testing::AssertionResult run(size_t ops, size_t check_every = kCheckEvery) {
    for (size_t i = 0; i < ops; ++i) {
      int phase = static_cast<int>(i * 3 / ops);
      int op = pick_op(phase);
      ::testing::AssertionResult result = step(op);
      if (result && tree_.size() != map_.size()) {
        result = ::testing::AssertionFailure()
                 << "size() " << tree_.size() << " != " << map_.size();
      }
      if (result && (i + 1) % check_every == 0) {
        result = is_valid(tree_);
        if (!result) {
          result << " (check() runs every " << check_every
                 << " operations: the damage was done by one of the last "
                 << check_every << ")";
        }
      }
      if (!result) {
        return ::testing::AssertionFailure()
               << "op #" << i << " " << op_name(op) << "(" << show(last_key_)
               << "): " << result.message();
      }
    }
    ::testing::AssertionResult result = is_valid(tree_);
    if (!result) return result;
    return holds_exactly(tree_, Pairs<Key>(map_.begin(), map_.end()));
  }

  const Tally& tally() const { return tally_; }
  const Tree& tree() const { return tree_; }

 private:
  int pick_op(int phase) {
    int roll = static_cast<int>(random_.below(100));
    for (int op = 0; op < kOpCount; ++op) {
      roll -= kMix[phase][op];
      if (roll < 0) return op;
    }
    return kFind;
  }

  ::testing::AssertionResult step(int op) {
    switch (op) {
      case kInsertNew:
        if (next_ < stream_.size() - kSpareKeys) {
          return insert(stream_[next_++]);
        }
        [[fallthrough]];
      case kInsertExisting:
        return present_.empty() ? insert(probe()) : insert(pick_present());
      case kReinsertErased:
        return erased_.empty() ? insert(probe())
                               : insert(random_.pick(erased_));
      case kErasePresent:
        return present_.empty() ? erase(probe()) : erase(pick_present());
      case kEraseOther:
        return erase(probe());
      case kFind:
        return find(probe());
      case kLowerBound:
        return bound(probe(), /*upper=*/false);
      case kUpperBound:
        return bound(probe(), /*upper=*/true);
      case kWalkFromEnds:
        return walk_from_ends();
      case kUpdatePayload:
        return present_.empty() ? find(probe())
                                : update_payload(pick_present());
    }
    return ::testing::AssertionFailure() << "unknown op " << op;
  }

  ::testing::AssertionResult insert(Key key) {
    last_key_ = key;
    uint64_t payload = payload_for(key_bits(key), ++salt_);
    auto [it, inserted] = tree_.insert(key, payload);
    auto [map_it, map_inserted] = map_.emplace(key, payload);
    if (inserted != map_inserted) {
      return ::testing::AssertionFailure()
             << "returned inserted=" << inserted << ", want " << map_inserted;
    }
    if (it == tree_.end()) {
      return ::testing::AssertionFailure() << "returned end()";
    }
    if (it.key() != key || it.payload() != map_it->second) {
      return ::testing::AssertionFailure()
             << "returned iterator at (" << show(it.key()) << ", "
             << it.payload() << "), want (" << show(key) << ", "
             << map_it->second << ")"
             << (inserted ? "" : " (existing payload must be kept)");
    }
    if (inserted) {
      ++tally_.insert_new;
      add_present(key);
    } else {
      ++tally_.insert_existing;
    }
    // The returned iterator must be usable for iteration, too.
    if (random_.below(4) == 0) {
      return walk(it, tree_.begin(), tree_.end(), map_it, 3, 3);
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult erase(Key key) {
    last_key_ = key;
    size_t erased = tree_.erase(key);
    size_t map_erased = map_.erase(key);
    if (erased != map_erased) {
      return ::testing::AssertionFailure()
             << "returned " << erased << ", want " << map_erased;
    }
    if (erased) {
      ++tally_.erase_hit;
      remove_present(key);
      if (erased_.size() < 100'000) {
        erased_.push_back(key);
      } else {
        erased_[random_.below(erased_.size())] = key;
      }
      // The key must be gone, and its neighbours still reachable.
      if (tree_.find(key) != tree_.end()) {
        return ::testing::AssertionFailure() << "still found after erase";
      }
      if (random_.below(4) == 0) {
        return walk(tree_.lower_bound(key), tree_.begin(), tree_.end(),
                    map_.lower_bound(key), 3, 3);
      }
    } else {
      ++tally_.erase_miss;
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult find(Key key) {
    last_key_ = key;
    auto map_it = map_.find(key);
    if (map_it == map_.end()) {
      ++tally_.find_miss;
    } else {
      ++tally_.find_hit;
    }
    if (random_.below(2) == 0) {
      const Tree& tree = tree_;
      return found(tree.find(key), tree.end(), map_it);
    }
    return found(tree_.find(key), tree_.end(), map_it);
  }

  template <class It>
  ::testing::AssertionResult found(It it, It end,
                                   typename Map::iterator map_it) {
    if (map_it == map_.end()) {
      if (it == end) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure()
             << "absent key found at " << show(it.key());
    }
    if (it == end) {
      return ::testing::AssertionFailure() << "present key not found";
    }
    if (it.key() != map_it->first || it.payload() != map_it->second) {
      return ::testing::AssertionFailure()
             << "found (" << show(it.key()) << ", " << it.payload()
             << "), want (" << show(map_it->first) << ", " << map_it->second
             << ")";
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult bound(Key key, bool upper) {
    last_key_ = key;
    auto map_it = upper ? map_.upper_bound(key) : map_.lower_bound(key);
    if (map_it == map_.end()) {
      ++tally_.bound_at_end;
    } else {
      ++tally_.bound_inside;
    }
    int forward = walk_length(), backward = walk_length();
    if (random_.below(2) == 0) {
      const Tree& tree = tree_;
      auto it = upper ? tree.upper_bound(key) : tree.lower_bound(key);
      return walk(it, tree.begin(), tree.end(), map_it, forward, backward);
    }
    auto it = upper ? tree_.upper_bound(key) : tree_.lower_bound(key);
    ::testing::AssertionResult result =
        walk(it, tree_.begin(), tree_.end(), map_it, forward, backward);
    if (!result) return result;
    // An iterator converts to a const_iterator at the same place.
    typename Tree::const_iterator const_it = it;
    const Tree& tree = tree_;
    return walk(const_it, tree.begin(), tree.end(), map_it, 1, 1);
  }

  ::testing::AssertionResult walk_from_ends() {
    int steps = walk_length();
    if (random_.below(2) == 0) {
      last_key_ = map_.empty() ? Key{} : map_.begin()->first;
      return walk(tree_.begin(), tree_.begin(), tree_.end(), map_.begin(),
                  steps, 0);
    }
    last_key_ = map_.empty() ? Key{} : map_.rbegin()->first;
    return walk(tree_.end(), tree_.begin(), tree_.end(), map_.end(), 0, steps);
  }

  ::testing::AssertionResult update_payload(Key key) {
    last_key_ = key;
    ++tally_.updates;
    uint64_t payload = payload_for(key_bits(key), ++salt_);
    auto it = random_.below(2) == 0 ? tree_.find(key) : tree_.lower_bound(key);
    if (it == tree_.end() || it.key() != key) {
      return ::testing::AssertionFailure() << "present key not found";
    }
    it.payload() = payload;
    map_[key] = payload;
    const Tree& tree = tree_;
    auto again = tree.find(key);
    if (again == tree.end() || again.payload() != payload) {
      return ::testing::AssertionFailure()
             << "payload written through the iterator did not persist";
    }
    return ::testing::AssertionSuccess();
  }

  // Walks `forward` steps forwards and then, from the same start, `backward`
  // steps backwards, comparing with the map at every step. Alternates pre-
  // and post-increment.
  template <class It>
  ::testing::AssertionResult walk(It start, It begin, It end,
                                  typename Map::iterator map_start, int forward,
                                  int backward) {
    It it = start;
    auto map_it = map_start;
    for (int i = 0; i <= forward; ++i) {
      if (map_it == map_.end()) {
        if (it != end) {
          return ::testing::AssertionFailure()
                 << "walk forwards step " << i << ": got key " << show(it.key())
                 << ", want end()";
        }
        break;
      }
      if (it == end) {
        return ::testing::AssertionFailure()
               << "walk forwards step " << i << ": got end(), want key "
               << show(map_it->first);
      }
      if (it.key() != map_it->first || it.payload() != map_it->second) {
        return ::testing::AssertionFailure()
               << "walk forwards step " << i << ": got (" << show(it.key())
               << ", " << it.payload() << "), want (" << show(map_it->first)
               << ", " << map_it->second << ")";
      }
      ++tally_.walk_steps;
      if (i == forward) break;
      if (i % 2 == 0) {
        ++it;
      } else {
        It before = it;
        if (it++ != before) {
          return ::testing::AssertionFailure()
                 << "post-increment did not return the old position";
        }
      }
      ++map_it;
    }
    it = start;
    map_it = map_start;
    for (int i = 1; i <= backward; ++i) {
      if (map_it == map_.begin()) {
        if (it != begin) {
          return ::testing::AssertionFailure()
                 << "walk backwards step " << i << ": not at begin()";
        }
        break;
      }
      --map_it;
      if (i % 2 == 0) {
        --it;
      } else {
        It before = it;
        if (it-- != before) {
          return ::testing::AssertionFailure()
                 << "post-decrement did not return the old position";
        }
      }
      if (it.key() != map_it->first || it.payload() != map_it->second) {
        return ::testing::AssertionFailure()
               << "walk backwards step " << i << ": got (" << show(it.key())
               << ", " << it.payload() << "), want (" << show(map_it->first)
               << ", " << map_it->second << ")";
      }
      ++tally_.walk_steps;
    }
    return ::testing::AssertionSuccess();
  }

  // Mostly short walks; now and then a long one that crosses data nodes.
  int walk_length() {
    return random_.below(16) == 0 ? static_cast<int>(random_.below(300))
                                  : static_cast<int>(random_.below(8));
  }

  // A key to look up: present, a neighbour of a present key, never inserted,
  // erased earlier, below all keys, above all keys, or anywhere in the domain.
  Key probe() {
    switch (random_.below(8)) {
      case 0:
        if (!present_.empty()) return pick_present();
        break;
      case 1:
        if (!present_.empty()) return next_key(pick_present());
        break;
      case 2:
        if (!present_.empty()) return prev_key(pick_present());
        break;
      case 3:
        return stream_[stream_.size() - 1 - random_.below(kSpareKeys)];
      case 4:
        if (!erased_.empty()) return random_.pick(erased_);
        break;
      case 5:
        ++tally_.below_all_probes;
        if (map_.empty() || random_.below(2) == 0) return lowest_key<Key>();
        return prev_key(map_.begin()->first);
      case 6:
        ++tally_.above_all_probes;
        if (map_.empty() || random_.below(2) == 0) return highest_key<Key>();
        return next_key(map_.rbegin()->first);
    }
    return random_domain_key<Key>(random_);
  }

  Key pick_present() { return random_.pick(present_); }

  void add_present(Key key) {
    slot_[key] = present_.size();
    present_.push_back(key);
  }

  void remove_present(Key key) {
    auto found = slot_.find(key);
    size_t slot = found->second;
    slot_.erase(found);
    if (slot + 1 != present_.size()) {
      present_[slot] = present_.back();
      slot_[present_[slot]] = slot;
    }
    present_.pop_back();
  }

  Tree tree_;
  Map map_;
  std::vector<Key> stream_;
  size_t next_ = 0;  // stream_[next_] is the next new key to insert
  std::vector<Key> present_;
  std::unordered_map<Key, size_t> slot_;  // index of each key in present_
  std::vector<Key> erased_;
  Random random_;
  uint64_t salt_ = 0;
  Key last_key_{};
  Tally tally_;
};

// Every kind of outcome happened (so a quiet pass is not an empty one).
::testing::AssertionResult covered_everything(const Tally& t) {
  std::pair<const char*, size_t> counts[] = {
      {"insert of a new key", t.insert_new},
      {"insert of an existing key", t.insert_existing},
      {"erase of a present key", t.erase_hit},
      {"erase of an absent key", t.erase_miss},
      {"find of a present key", t.find_hit},
      {"find of an absent key", t.find_miss},
      {"bound at end()", t.bound_at_end},
      {"bound inside", t.bound_inside},
      {"probe below all keys", t.below_all_probes},
      {"probe above all keys", t.above_all_probes},
      {"payload update", t.updates},
      {"walk step", t.walk_steps},
  };
  for (const auto& [what, count] : counts) {
    if (count == 0) {
      return ::testing::AssertionFailure() << "no " << what << " happened";
    }
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// int64 keys.

struct Int64Case {
  KeySet set;
  bool from_bulk_load;
  bool small_nodes;
};

std::vector<Int64Case> int64_cases() {
  std::vector<Int64Case> cases;
  for (KeySet set : kAllKeySets) {
    for (bool small_nodes : {false, true}) {
      cases.push_back({set, false, small_nodes});
      cases.push_back({set, true, small_nodes});
    }
  }
  return cases;
}

void PrintTo(const Int64Case& c, std::ostream* os) {
  *os << key_set_name(c.set)
      << (c.from_bulk_load ? " from a bulk load" : " from empty")
      << (c.small_nodes ? " with small nodes" : "");
}

std::string int64_case_name(const ::testing::TestParamInfo<Int64Case>& info) {
  return std::string(key_set_name(info.param.set)) +
         (info.param.from_bulk_load ? "_FromBulkLoad" : "_FromEmpty") +
         (info.param.small_nodes ? "_SmallNodes" : "");
}

template <class Options>
void run_int64_case(const Int64Case& c) {
  const size_t ops = scaled(150'000, 1000);
  const size_t bulk = c.from_bulk_load ? scaled(100'000, 1000) : 0;
  const uint64_t seed = test_seed(1000 + 10 * static_cast<uint64_t>(c.set) +
                                  2 * c.small_nodes + c.from_bulk_load);
  SCOPED_TRACE(seed_trace(seed));
  Differential<int64_t, Options> run(
      make_keys(c.set, bulk + ops + kSpareKeys, seed), seed);
  run.bulk_load(bulk);
  ASSERT_TRUE(run.run(ops)) << describe_stats(run.tree());
  EXPECT_TRUE(covered_everything(run.tally()));
}

class DifferentialTest : public ::testing::TestWithParam<Int64Case> {};

TEST_P(DifferentialTest, MatchesStdMap) {
  if (GetParam().small_nodes) {
    run_int64_case<SmallNodes>(GetParam());
  } else {
    run_int64_case<alex::DefaultOptions>(GetParam());
  }
}

INSTANTIATE_TEST_SUITE_P(AllKeySets, DifferentialTest,
                         ::testing::ValuesIn(int64_cases()), int64_case_name);

// Small trees of small nodes with check() after every operation, so an
// invariant broken for a moment (say, right after a split) is caught at once.
class SmallTreeTest : public ::testing::TestWithParam<KeySet> {};

TEST_P(SmallTreeTest, MatchesStdMapCheckingEveryOperation) {
  const size_t ops = scaled(20'000, 1000);
  const uint64_t seed = test_seed(1500 + static_cast<uint64_t>(GetParam()));
  SCOPED_TRACE(seed_trace(seed));
  Differential<int64_t, SmallNodes> run(
      make_keys(GetParam(), ops + kSpareKeys, seed), seed);
  ASSERT_TRUE(run.run(ops, /*check_every=*/1)) << describe_stats(run.tree());
  EXPECT_TRUE(covered_everything(run.tally()));
}

INSTANTIATE_TEST_SUITE_P(AllKeySets, SmallTreeTest,
                         ::testing::ValuesIn(kAllKeySets),
                         [](const ::testing::TestParamInfo<KeySet>& info) {
                           return std::string(key_set_name(info.param));
                         });

// ---------------------------------------------------------------------------
// double keys.

struct DoubleCase {
  DoubleKeySet set;
  bool from_bulk_load;
};

std::vector<DoubleCase> double_cases() {
  std::vector<DoubleCase> cases;
  for (DoubleKeySet set : kAllDoubleKeySets) {
    cases.push_back({set, false});
    cases.push_back({set, true});
  }
  return cases;
}

void PrintTo(const DoubleCase& c, std::ostream* os) {
  *os << double_key_set_name(c.set)
      << (c.from_bulk_load ? " from a bulk load" : " from empty");
}

std::string double_case_name(const ::testing::TestParamInfo<DoubleCase>& info) {
  return std::string(double_key_set_name(info.param.set)) +
         (info.param.from_bulk_load ? "_FromBulkLoad" : "_FromEmpty");
}

class DoubleDifferentialTest : public ::testing::TestWithParam<DoubleCase> {};

TEST_P(DoubleDifferentialTest, MatchesStdMap) {
  const DoubleCase& c = GetParam();
  const size_t ops = scaled(25'000, 1000);
  const size_t bulk = c.from_bulk_load ? scaled(20'000, 1000) : 0;
  const uint64_t seed =
      test_seed(2000 + 10 * static_cast<uint64_t>(c.set) + c.from_bulk_load);
  SCOPED_TRACE(seed_trace(seed));
  Differential<double> run(
      make_double_keys(c.set, bulk + ops + kSpareKeys, seed), seed);
  run.bulk_load(bulk);
  ASSERT_TRUE(run.run(ops)) << describe_stats(run.tree());
  EXPECT_TRUE(covered_everything(run.tally()));
}

INSTANTIATE_TEST_SUITE_P(AllDoubleKeySets, DoubleDifferentialTest,
                         ::testing::ValuesIn(double_cases()), double_case_name);

}  // namespace
}  // namespace alex_test
