// Copyright (c) the alex authors.
//
// libFuzzer target: alex::Tree<int64_t, uint64_t> driven by arbitrary
// operation sequences and compared with std::map after every operation.
// Wrong answers, broken invariants (check()), memory past twice a fresh
// bulk load of the same keys, crashes and sanitizer reports all abort.
//
// Input layout:
//
//   byte 0       bit 0: tiny nodes (leaves of 16..64 slots, fanouts of at
//                most 2^3, so a few hundred keys split, grow the root and
//                double fanouts) instead of the default options
//   then ops     one byte each, op = byte % kOps, most followed by a key
//                (read_key) and some by a count byte; the input ends where
//                a read runs out
//
// A key is one mode byte then its operand: 8 raw bytes; the previous key
// plus or minus 1..256 (runs, appends, prepends); a key already present
// (chosen by a byte); or one of the extremes of kExtremes plus a signed
// byte (INT64_MIN and INT64_MAX themselves, dense runs near +-2^62 and
// timestamps near 1.7e18). Arithmetic on keys wraps, so every int64 is
// reachable.
//
// ALEX_FUZZ_VERBOSE=1 prints each operation.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "alex/alex.h"

namespace {

struct TinyNodes : alex::DefaultOptions {
  static constexpr int kMinCapacity = 16;
  static constexpr int kMaxCapacity = 64;
  static constexpr int kMaxAppendCapacity = 32;
  static constexpr int kMaxFanoutLog = 3;
  static constexpr size_t kMaxRootFanout = 64;
  static constexpr size_t kMaxDoubledFanout = 16;
};

// Runs (appends, prepends, bulk loads) stop here, so that check() every
// 128 operations stays cheap; single inserts are bounded by the input.
constexpr size_t kMaxRunKeys = 2048;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kExtremes[] = {kMin, kMax, 0, -1, int64_t{1} << 62, -(int64_t{1} << 62),
                                 1'700'000'000'000'000'000, kMin / 3, kMax / 3};

enum Op : uint8_t {
  kInsert,
  kErase,
  kFind,
  kLowerBound,
  kUpperBound,
  kWalkForward,   // count byte: steps from lower_bound(key)
  kWalkBackward,  // count byte: steps back from lower_bound(key)
  kUpdate,        // set the payload of key, if present, through find()
  kAppendRun,     // count byte: keys past the largest, gaps of 1..4
  kPrependRun,    // count byte: keys below the smallest, gaps of 1..4
  kBulkLoad,      // count byte: reload with the present keys plus a run
  kEraseRun,      // count byte: erase from lower_bound(key) on
  kCheck,
  kClear,
  kMove,  // move the tree out and back (move constructor and assignment)
  kOps
};

bool verbose() {
  static const bool on = std::getenv("ALEX_FUZZ_VERBOSE") != nullptr;
  return on;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_tree: %s\n", what.c_str());
  std::abort();
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool byte(uint8_t* out) {
    if (p_ == end_) return false;
    *out = *p_++;
    return true;
  }
  bool u64(uint64_t* out) {
    if (end_ - p_ < 8) return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{*p_++} << (8 * i);
    *out = v;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

template <class Options>
class Driver {
 public:
  using Tree = alex::Tree<int64_t, uint64_t, Options>;
  using Map = std::map<int64_t, uint64_t>;

  void run(Input* in) {
    uint8_t b;
    while (in->byte(&b)) {
      if (!step(static_cast<Op>(b % kOps), in)) break;
      if (++ops_ % 128 == 0) check_tree();
    }
    check_tree();
    check_contents();
    check_memory();
  }

 private:
  // Returns false when the input ran out.
  bool step(Op op, Input* in) {
    int64_t key = 0;
    uint8_t count = 0;
    const bool needs_key =
        op != kAppendRun && op != kPrependRun && op != kBulkLoad && op != kCheck && op != kClear && op != kMove;
    const bool needs_count = op == kWalkForward || op == kWalkBackward || op == kAppendRun || op == kPrependRun ||
                             op == kBulkLoad || op == kEraseRun;
    if (needs_key && !read_key(in, &key)) return false;
    if (needs_count && !in->byte(&count)) return false;
    if (verbose()) std::fprintf(stderr, "op %d key %lld count %d size %zu\n", op, static_cast<long long>(key), count,
                                map_.size());
    switch (op) {
      case kInsert:
        insert(key);
        break;
      case kErase:
        erase(key);
        break;
      case kFind: {
        const auto it = tree_.find(key);
        const auto m = map_.find(key);
        if ((it == tree_.end()) != (m == map_.end())) fail("find(" + show(key) + "): presence differs");
        if (m != map_.end() && (it.key() != key || it.payload() != m->second)) fail("find(" + show(key) + ")");
        break;
      }
      case kLowerBound:
        same_position(tree_.lower_bound(key), map_.lower_bound(key), "lower_bound(" + show(key) + ")");
        break;
      case kUpperBound:
        same_position(tree_.upper_bound(key), map_.upper_bound(key), "upper_bound(" + show(key) + ")");
        break;
      case kWalkForward: {
        auto it = tree_.lower_bound(key);
        auto m = map_.lower_bound(key);
        for (int i = 0; i < count && m != map_.end(); ++i) {
          ++it;
          ++m;
          same_position(it, m, "walk forward from " + show(key));
        }
        break;
      }
      case kWalkBackward: {
        auto it = tree_.lower_bound(key);
        auto m = map_.lower_bound(key);
        for (int i = 0; i < count && m != map_.begin(); ++i) {
          --it;
          --m;
          same_position(it, m, "walk backward from " + show(key));
        }
        break;
      }
      case kUpdate: {
        auto it = tree_.find(key);
        auto m = map_.find(key);
        if (m != map_.end() && it != tree_.end()) {
          it.payload() = ++payload_;
          m->second = payload_;
        }
        break;
      }
      case kAppendRun:
      case kPrependRun: {
        const bool up = op == kAppendRun;
        int64_t k = map_.empty() ? 0 : up ? map_.rbegin()->first : map_.begin()->first;
        for (int i = 0; i < count && map_.size() < kMaxRunKeys; ++i) {
          const int64_t step = 1 + (i * 7 + count) % 4;
          if (up ? k > kMax - step : k < kMin + step) break;
          k = up ? k + step : k - step;
          insert(k);
        }
        break;
      }
      case kBulkLoad:
        bulk_load(count);
        break;
      case kEraseRun: {
        auto m = map_.lower_bound(key);
        std::vector<int64_t> doomed;
        for (int i = 0; i < count && m != map_.end(); ++i, ++m) doomed.push_back(m->first);
        for (int64_t k : doomed) erase(k);
        break;
      }
      case kCheck:
        check_tree();
        check_contents();
        break;
      case kClear:
        tree_.clear();
        map_.clear();
        break;
      case kMove: {
        Tree moved(std::move(tree_));
        tree_ = std::move(moved);
        break;
      }
      case kOps:
        break;
    }
    if (needs_key) last_ = key;
    return true;
  }

  bool read_key(Input* in, int64_t* key) {
    uint8_t mode, b;
    if (!in->byte(&mode)) return false;
    switch (mode % 5) {
      case 0: {
        uint64_t raw;
        if (!in->u64(&raw)) return false;
        *key = static_cast<int64_t>(raw);
        return true;
      }
      case 1:
      case 2:
        if (!in->byte(&b)) return false;
        *key = wrap_add(last_, mode % 5 == 1 ? int64_t{b} + 1 : -(int64_t{b} + 1));
        return true;
      case 3:
        if (!in->byte(&b)) return false;
        if (map_.empty()) {
          *key = last_;
        } else {
          auto m = map_.begin();
          std::advance(m, b % map_.size());
          *key = m->first;
        }
        return true;
      default:
        if (!in->byte(&b)) return false;
        *key = wrap_add(kExtremes[(mode / 5) % std::size(kExtremes)], static_cast<int8_t>(b));
        return true;
    }
  }

  void insert(int64_t key) {
    const uint64_t payload = ++payload_;
    const auto [it, inserted] = tree_.insert(key, payload);
    const auto [m, map_inserted] = map_.emplace(key, payload);
    if (inserted != map_inserted) fail("insert(" + show(key) + ") returned " + std::to_string(inserted));
    if (it == tree_.end() || it.key() != key || it.payload() != m->second) {
      fail("insert(" + show(key) + "): the returned iterator is wrong");
    }
  }

  void erase(int64_t key) {
    const size_t erased = tree_.erase(key);
    if (erased != map_.erase(key)) fail("erase(" + show(key) + ") returned " + std::to_string(erased));
  }

  // Reloads the tree from the present pairs and a run of `count` keys past
  // the largest (gaps of 1..16), or around 0 when empty.
  void bulk_load(uint8_t count) {
    int64_t k = map_.empty() ? 0 : map_.rbegin()->first;
    for (int i = 0; i < count && map_.size() < kMaxRunKeys; ++i) {
      const int64_t step = 1 + (i * 5 + count) % 16;
      if (k > kMax - step) break;
      k += step;
      map_.emplace(k, ++payload_);
    }
    const std::vector<std::pair<int64_t, uint64_t>> pairs(map_.begin(), map_.end());
    tree_.bulk_load(pairs.data(), pairs.size());
  }

  void same_position(typename Tree::iterator it, Map::const_iterator m, const std::string& what) {
    if ((it == tree_.end()) != (m == map_.end())) fail(what + ": end() differs");
    if (m != map_.end() && (it.key() != m->first || it.payload() != m->second)) {
      fail(what + ": tree at " + show(it.key()) + ", map at " + show(m->first));
    }
  }

  void check_tree() {
    const std::string problem = tree_.check();
    if (!problem.empty()) fail("check(): " + problem);
    if (tree_.size() != map_.size() || tree_.empty() != map_.empty()) fail("size() differs");
  }

  void check_contents() {
    auto it = tree_.begin();
    for (auto m = map_.cbegin(); m != map_.cend(); ++m, ++it) same_position(it, m, "iteration");
    if (it != tree_.end()) fail("iteration: the tree has more keys");
    it = tree_.end();
    for (auto m = map_.crbegin(); m != map_.crend(); ++m) {
      --it;
      same_position(it, std::prev(m.base()), "reverse iteration");
    }
    if (it != tree_.begin()) fail("reverse iteration: begin() not reached");
  }

  // At most twice the bytes of a fresh bulk load of the same keys, plus the
  // 64 KiB any tree may hold for a leaf growing toward its appends.
  void check_memory() {
    const std::vector<std::pair<int64_t, uint64_t>> pairs(map_.begin(), map_.end());
    Tree fresh;
    fresh.bulk_load(pairs.data(), pairs.size());
    if (tree_.memory_bytes() > 2 * fresh.memory_bytes() + (64 << 10)) {
      fail("memory_bytes() " + std::to_string(tree_.memory_bytes()) + " for " + std::to_string(map_.size()) +
           " keys; a fresh bulk load takes " + std::to_string(fresh.memory_bytes()));
    }
  }

  static std::string show(int64_t key) { return std::to_string(key); }

  Tree tree_;
  Map map_;
  int64_t last_ = 0;
  uint64_t payload_ = 0;
  size_t ops_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  uint8_t config;
  if (!in.byte(&config)) return 0;
  if (config & 1) {
    Driver<TinyNodes>().run(&in);
  } else {
    Driver<alex::DefaultOptions>().run(&in);
  }
  return 0;
}
