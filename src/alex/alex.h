// Copyright (c) the alex authors.
//
// alex::Tree<Key, Payload>: an ALEX learned index (Ding et al., "ALEX: An
// Updatable Adaptive Learned Index", SIGMOD 2020) mapping unique keys to
// payloads, with an STL-like ordered-map surface.
//
//   alex::Tree<int64_t, uint32_t> t;
//   t.bulk_load(pairs, n);            // sorted, unique keys
//   t.insert(42, 7);                  // {iterator, inserted?}; never overwrites
//   if (auto it = t.find(42); it != t.end()) it.payload() = 8;
//   for (auto it = t.lower_bound(10); it != t.end() && it.key() < 50; ++it) ...
//   t.erase(42);
//
// Keys: any int64_t (INT64_MIN and INT64_MAX included; nothing is reserved)
// or double (no NaN). Payloads: trivially copyable (a row slot).
//
// Thread safety: const member functions never write (no statistics are
// updated by lookups), so any number of threads may call them concurrently
// while no thread modifies the tree. Modifications need exclusive access.
//
// Iterator invalidation: insert and erase may rebuild any node, so they
// invalidate every iterator except the one insert returns. Updating a
// payload through an iterator invalidates nothing.
//
// How it works (details in internal/nodes.h and docs/alex.md):
//   * Model nodes route a key to a child with an exact integer linear model
//     (a power-of-two slope), so routing never loses precision.
//   * Data nodes are gapped arrays with a linear model; a key goes to its
//     predicted slot, and a lookup is an exponential search from there.
//   * A full data node expands or splits (sideways into its parent's slots,
//     or down into a new model node), as the cost model decides; a data node
//     that receives appends grows toward the right and, once large, hands
//     the key range past its last key to a new node, so a tree built by
//     appending looks like a bulk-loaded one.
//   * Keys outside the root's domain grow the root's slot array toward them.
//   * Erase contracts sparse nodes, and while the tree holds more than 1.6x
//     the bytes of its keys and payloads, nodes below init density; if
//     memory per key drifts past ~1.75x what a fresh build used (or, over
//     that budget, a sixteenth past it), the tree is rebuilt (amortized O(1)
//     per operation).
//
// Errors: none are returned; allocation failure is std::bad_alloc (or
// termination with -fno-exceptions), raised before the tree is modified
// where that is cheap to arrange.

#ifndef ALEX_ALEX_H_
#define ALEX_ALEX_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "alex/internal/cost_model.h"
#include "alex/internal/nodes.h"
#include "alex/key_traits.h"

namespace alex {

// Tunables. Pass a struct derived from this as Tree's third parameter to
// change them (tests use smaller nodes to exercise splits).
struct DefaultOptions {
  static constexpr double kInitDensity = 0.7;  // after a build or an expansion
  static constexpr double kMaxDensity = 0.8;   // a data node is full here
  static constexpr double kMinDensity = 0.5;   // an erase below this contracts
  // Keys that arrive in order are laid out at this density: they never
  // shift, so fewer gaps cost nothing and save memory.
  static constexpr double kAppendDensity = 0.95;
  static constexpr int kMinCapacity = 16;      // smallest data node array
  static constexpr int kMaxCapacity = 1 << 16;        // largest data node array
  static constexpr int kMaxAppendCapacity = 1 << 14;  // appends split off past this
  static constexpr int kMaxFanoutLog = 20;            // built model nodes
  static constexpr size_t kMaxRootFanout = size_t{1} << 22;  // root growth
  static constexpr size_t kMaxDoubledFanout = 1 << 12;       // inner doubling
  static constexpr double kCompactFactor = 1.5;  // rebuild past ~this x bytes/key
  // Memory budget: the tree stays under this x the bytes of the keys and
  // payloads it holds where contracting leaves on erase, or a rebuild, can.
  static constexpr double kMaxBytesFactor = 1.6;
};

struct Stats {
  int depth = 0;             // model levels + 1 on the deepest path
  size_t model_nodes = 0;
  size_t data_nodes = 0;
  size_t empty_data_nodes = 0;     // data nodes holding no key
  double avg_search_distance = 0;  // mean |predicted slot - actual slot|
  double shifts_per_insert = 0;    // shifts / inserts
  uint64_t inserts = 0;            // successful inserts since the last build
  uint64_t shifts = 0;
  uint64_t expansions = 0;
  uint64_t contractions = 0;
  uint64_t splits_sideways = 0;
  uint64_t splits_down = 0;
  uint64_t root_expansions = 0;
  uint64_t rebuilds = 0;
};

template <class Key, class Payload, class Options = DefaultOptions>
class Tree {
  using Traits = KeyTraits<Key>;
  using Node = internal::Node;
  using ModelNode = internal::ModelNode;
  using Leaf = internal::DataNode<Key, Payload, Traits>;
  using Entry = typename Leaf::Entry;

  static_assert(Options::kMinDensity < Options::kInitDensity && Options::kInitDensity < Options::kMaxDensity &&
                    Options::kMaxDensity < 1.0,
                "densities must satisfy min < init < max < 1");
  static_assert(Options::kInitDensity <= Options::kAppendDensity && Options::kAppendDensity < 1.0,
                "append density must lie in [init, 1)");
  static_assert(Options::kMinCapacity >= 8 && Options::kMinCapacity <= Options::kMaxAppendCapacity &&
                    Options::kMaxAppendCapacity <= Options::kMaxCapacity,
                "capacities must satisfy 8 <= min <= append <= max");
  static_assert(Options::kMaxFanoutLog >= 1 && Options::kMaxFanoutLog <= 24, "fanout log out of range");

 public:
  using key_type = Key;
  using payload_type = Payload;

  template <bool kConst>
  class Iter {
   public:
    using PayloadRef = std::conditional_t<kConst, const Payload&, Payload&>;
    using LeafPtr = std::conditional_t<kConst, const Leaf*, Leaf*>;
    using TreePtr = const Tree*;

    Iter() = default;
    // iterator converts to const_iterator.
    template <bool kOther, class = std::enable_if_t<kConst && !kOther>>
    Iter(const Iter<kOther>& o) : leaf_(o.leaf_), slot_(o.slot_), tree_(o.tree_), rest_(o.rest_) {}

    const Key& key() const { return leaf_->keys_[slot_]; }
    PayloadRef payload() const { return leaf_->payloads_[slot_]; }

    // Moves to the next key if its bit is among those kept from the
    // current bitmap word, so that the step waits on no load: true then,
    // else false and the iterator is unchanged. operator++'s fast path.
    bool step_in_word() {
      if (rest_ == 0) return false;
      slot_ = (slot_ & ~63) + std::countr_zero(rest_);
      rest_ &= rest_ - 1;
      return true;
    }
    Iter& operator++() {
      if (step_in_word()) return *this;
      // Else the next key is in the same word (not kept yet: the iterator
      // is fresh), or further (bits past the capacity are never set).
      const int i = slot_ + 1;
      if (i < leaf_->capacity_) {
        const uint64_t bits = leaf_->bitmap_[i >> 6] & (~uint64_t{0} << (i & 63));
        if (bits != 0) {
          slot_ = (i & ~63) + std::countr_zero(bits);
          rest_ = bits & (bits - 1);
          return *this;
        }
      }
      const Pos next = advance_from(leaf_, i);
      leaf_ = next.leaf;
      slot_ = next.slot;
      return *this;
    }
    Iter& operator--() {  // REQUIRES: *this != begin()
      rest_ = 0;
      if (leaf_ == nullptr) {
        leaf_ = tree_->last_leaf_;
        slot_ = leaf_->capacity_;
      }
      slot_ = leaf_->prev_occupied(slot_ - 1);
      while (slot_ < 0) {
        leaf_ = leaf_->prev_;
        slot_ = leaf_->prev_occupied(leaf_->capacity_ - 1);
      }
      return *this;
    }
    Iter operator++(int) {
      Iter r = *this;
      ++*this;
      return r;
    }
    Iter operator--(int) {
      Iter r = *this;
      --*this;
      return r;
    }
    friend bool operator==(const Iter& a, const Iter& b) { return a.leaf_ == b.leaf_ && a.slot_ == b.slot_; }
    friend bool operator!=(const Iter& a, const Iter& b) { return !(a == b); }

   private:
    friend class Tree;
    template <bool>
    friend class Iter;
    Iter(LeafPtr leaf, int slot, TreePtr tree) : leaf_(leaf), slot_(slot), tree_(tree) {}
    struct Pos {
      LeafPtr leaf;
      int slot;
    };
    // The rest of operator++ (the first key from slot i of `leaf` on), out
    // of line so that the fast path inlines. It takes and returns values,
    // not the iterator: an iterator whose address reached a call would
    // live in memory, and a scan's every step would wait on a store and a
    // load of its fields.
    [[gnu::noinline]] static Pos advance_from(LeafPtr leaf, int i) {
      int slot = leaf->next_occupied(i);
      while (slot == leaf->capacity_) {
        leaf = leaf->next_;
        if (leaf == nullptr) return {nullptr, 0};
        leaf->prefetch_walk();
        slot = leaf->first_;  // capacity_ when empty
      }
      return {leaf, slot};
    }

    LeafPtr leaf_ = nullptr;  // nullptr: end()
    int slot_ = 0;
    TreePtr tree_ = nullptr;
    // The occupied slots after slot_ in slot_'s bitmap word, as bits of
    // that word; 0 when there are none or they are not known yet.
    uint64_t rest_ = 0;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  Tree() = default;
  ~Tree() { clear(); }
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  Tree(Tree&& o) noexcept { swap(o); }
  Tree& operator=(Tree&& o) noexcept {
    if (this != &o) {
      clear();
      swap(o);
    }
    return *this;
  }

  // Replaces the contents. REQUIRES: keys strictly increasing.
  void bulk_load(const std::pair<Key, Payload>* pairs, size_t n) {
    clear();
    stats_ = Stats();
    build_root(pairs, n);
  }

  // Inserts (key, payload) unless key is present. Returns an iterator to
  // the key and whether it was inserted; an existing payload is kept.
  std::pair<iterator, bool> insert(const Key& key, const Payload& payload) {
    if (root_ == nullptr) {
      root_ = first_leaf_ = last_leaf_ = empty_leaf();
    }
    const uint64_t u = Traits::to_unsigned(key);
    // make_room always makes progress; the bound only guards against a
    // bug turning into a hang: a full rebuild always succeeds.
    for (int attempt = 0;; ++attempt) {
      if (attempt == kMaxRestructures) return rebuild_with(key, payload);
      if (!root_->is_leaf && !in_domain(static_cast<ModelNode*>(root_), u)) {
        if (!grow_root(u)) return rebuild_with(key, payload);
        continue;
      }
      path_.clear();
      Node* n = root_;
      while (!n->is_leaf) {
        auto* m = static_cast<ModelNode*>(n);
        size_t slot = m->slot_of(u);
        path_.push_back({m, slot});
        n = m->children[slot];
      }
      Leaf* leaf = static_cast<Leaf*>(n);
      int slot;
      switch (leaf->insert(key, payload, max_keys(leaf->capacity_), &slot, &stats_.shifts)) {
        case Leaf::InsertResult::kExists:
          return {iterator(leaf, slot, this), false};
        case Leaf::InsertResult::kFull:
          make_room(leaf, key);
          continue;
        case Leaf::InsertResult::kInserted:
          ++size_;
          ++stats_.inserts;
          if (memory_drifted()) {
            rebuild();
            return {find(key), true};
          }
          return {iterator(leaf, slot, this), true};
      }
    }
  }

  // Removes key if present; returns how many keys were removed (0 or 1).
  size_t erase(const Key& key) {
    if (root_ == nullptr) return 0;
    Leaf* leaf = const_cast<Leaf*>(leaf_for(key));
    const int slot = leaf->find(key);
    if (slot < 0) return 0;
    leaf->erase_at(slot);
    --size_;
    if (const int capacity = contracted_capacity(leaf); capacity > 0) {
      resize(leaf, capacity, Room::kSpread);
      ++stats_.contractions;
    }
    if (memory_drifted()) rebuild();
    return 1;
  }

  iterator find(const Key& key) { return unconst(std::as_const(*this).find(key)); }
  const_iterator find(const Key& key) const {
    if (root_ == nullptr) return end();
    const Leaf* leaf = leaf_for(key);
    const int slot = leaf->find(key);
    return slot < 0 ? end() : const_iterator(leaf, slot, this);
  }

  // First key >= key / first key > key.
  iterator lower_bound(const Key& key) { return unconst(std::as_const(*this).lower_bound(key)); }
  const_iterator lower_bound(const Key& key) const {
    if (root_ == nullptr) return end();
    const Leaf* leaf = leaf_for(key);
    const_iterator it(leaf, leaf->lower_bound(key), this);
    // Nothing >= key here: later leaves hold only larger keys.
    if (it.slot_ == leaf->capacity_) ++it;
    return it;
  }
  iterator upper_bound(const Key& key) { return unconst(std::as_const(*this).upper_bound(key)); }
  const_iterator upper_bound(const Key& key) const {
    const_iterator it = lower_bound(key);
    if (it != end() && !(key < it.key())) ++it;
    return it;
  }

  iterator begin() { return unconst(std::as_const(*this).begin()); }
  const_iterator begin() const {
    if (first_leaf_ == nullptr) return end();
    const_iterator it(first_leaf_, -1, this);
    return ++it;
  }
  iterator end() { return iterator(nullptr, 0, this); }
  const_iterator end() const { return const_iterator(nullptr, 0, this); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void clear() {
    if (root_ != nullptr) free_subtree(root_);
    root_ = nullptr;
    first_leaf_ = last_leaf_ = nullptr;
    size_ = 0;
    build_bytes_per_key_ = kDefaultBytesPerKey;
  }

  // Bytes allocated by the tree: nodes, child arrays and data arrays.
  size_t memory_bytes() const { return sizeof(*this) + mem_.bytes; }

  // Shape and counters. O(n): the search distance is measured over all keys.
  Stats stats() const {
    Stats s = stats_;
    s.shifts_per_insert = s.inserts ? static_cast<double>(s.shifts) / static_cast<double>(s.inserts) : 0;
    if (root_ == nullptr) return s;
    double distance = 0;
    shape(root_, 1, &s, &distance);
    s.avg_search_distance = size_ ? distance / static_cast<double>(size_) : 0;
    return s;
  }

  // Verifies every invariant; returns "" or a description of what is wrong.
  std::string check() const;

 private:
  struct PathEntry {
    ModelNode* node;
    size_t slot;
  };
  struct Chain {  // leaves built in key order
    Leaf* first = nullptr;
    Leaf* last = nullptr;
    void append(Leaf* l) {
      l->prev_ = last;
      l->next_ = nullptr;
      if (last) last->next_ = l; else first = l;
      last = l;
    }
  };

  // Bytes per key assumed for a tree that was never bulk-loaded.
  static constexpr double kDefaultBytesPerKey = (sizeof(Key) + sizeof(Payload)) / Options::kInitDensity;
  // Memory drift tolerated before a rebuild, on top of kCompactFactor: a
  // quarter of the built size, or 64 KiB for small trees (room for a leaf
  // growing toward its appends).
  static constexpr double kCompactSlack = 0.25;
  static constexpr size_t kCompactSlackBytes = 64 << 10;
  // Over the memory budget, erases contract leaves to this density (see
  // contracted_capacity()), and rebuild past this factor (memory_drifted()).
  static constexpr double kBudgetDensity = (Options::kInitDensity + Options::kMaxDensity) / 2;
  static constexpr double kBudgetRebuildFactor = 1.0625;
  // A leaf whose expected cost exceeds this (search ~8 slots off) asks the
  // cost model whether a model node would serve its keys better.
  static constexpr double kSplitCheckCost = 3 * internal::CostWeights::kSearch;
  static constexpr size_t kMaxSamples = 1 << 14;  // keys the fanout choice looks at
  static constexpr size_t kMinSlotSamples = 8;     // per slot holding sample keys, on average
  static constexpr size_t kCheckSamples = 256;     // keys model_beats_leaf looks at
  static constexpr int kMaxRestructures = 64;      // per insert; see insert()
  static constexpr size_t kMaxSlotKeys = static_cast<size_t>(Options::kMaxAppendCapacity * Options::kInitDensity / 4);

  static int max_keys(int capacity) { return static_cast<int>(capacity * Options::kMaxDensity); }
  static int capacity_for(size_t n, double density = Options::kInitDensity) {
    double c = std::ceil(static_cast<double>(n) / density);
    c = std::max(c, static_cast<double>(n) + 1);
    return static_cast<int>(std::clamp(c, static_cast<double>(Options::kMinCapacity),
                                       static_cast<double>(Options::kMaxCapacity)));
  }
  static size_t max_leaf_keys() { return static_cast<size_t>(Options::kMaxCapacity * Options::kInitDensity); }

  iterator unconst(const_iterator it) { return iterator(const_cast<Leaf*>(it.leaf_), it.slot_, this); }

  const Leaf* leaf_for(const Key& key) const {
    const uint64_t u = Traits::to_unsigned(key);
    const Node* n = root_;
    while (!n->is_leaf) {
      auto* m = static_cast<const ModelNode*>(n);
      n = m->children[m->slot_of(u)];
    }
    return static_cast<const Leaf*>(n);
  }

  static bool in_domain(const ModelNode* m, uint64_t u) { return u >= m->lo && ((u - m->lo) >> m->shift) < m->fanout; }

  void swap(Tree& o) noexcept {
    std::swap(root_, o.root_);
    std::swap(first_leaf_, o.first_leaf_);
    std::swap(last_leaf_, o.last_leaf_);
    std::swap(size_, o.size_);
    std::swap(mem_, o.mem_);
    std::swap(stats_, o.stats_);
    std::swap(build_bytes_per_key_, o.build_bytes_per_key_);
    std::swap(path_, o.path_);
  }

  // ---- allocation ----------------------------------------------------------

  // Where allocations may throw (the SQLite module catches std::bad_alloc),
  // a failed one leaks nothing and leaves the byte counter exact; the
  // structure it was for may be left half changed (the module then
  // discards the tree).

  // A leaf with arrays of `capacity` slots, to be filled by place().
  Leaf* new_leaf(int capacity) {
    std::unique_ptr<Leaf> leaf(new Leaf());
    leaf->allocate(capacity, &mem_);
    mem_.bytes += sizeof(Leaf);
    return leaf.release();
  }
  // A leaf of the smallest size holding no key.
  Leaf* empty_leaf() {
    Leaf* leaf = new_leaf(Options::kMinCapacity);
    leaf->place(nullptr, 0);
    return leaf;
  }
  void free_leaf(Leaf* leaf) {
    leaf->release(&mem_);
    mem_.bytes -= sizeof(Leaf);
    delete leaf;
  }
  ModelNode* new_model(uint64_t lo, int shift, size_t fanout) {
    std::unique_ptr<Node*[]> children(new Node*[fanout]());  // null until built
    ModelNode* m = new ModelNode();
    m->lo = lo;
    m->shift = shift;
    m->fanout = fanout;
    m->children = children.release();
    mem_.bytes += sizeof(ModelNode) + fanout * sizeof(Node*);
    return m;
  }
  void free_model(ModelNode* m) {
    mem_.bytes -= sizeof(ModelNode) + m->fanout * sizeof(Node*);
    delete[] m->children;
    delete m;
  }
  void free_subtree(Node* n) {
    if (n->is_leaf) return free_leaf(static_cast<Leaf*>(n));
    auto* m = static_cast<ModelNode*>(n);
    for (size_t s = 0; s < m->fanout; s = m->run_end(s)) {
      if (m->children[s] != nullptr) free_subtree(m->children[s]);
    }
    free_model(m);
  }

  // Frees a subtree under construction unless released: what was built
  // before an allocation failed does not leak.
  class Unfinished {
   public:
    Unfinished(Tree* tree, Node* node) : tree_(tree), node_(node) {}
    ~Unfinished() {
      if (node_ != nullptr) tree_->free_subtree(node_);
    }
    Unfinished(const Unfinished&) = delete;
    Unfinished& operator=(const Unfinished&) = delete;
    void release() { node_ = nullptr; }

   private:
    Tree* tree_;
    Node* node_;
  };

  // ---- building --------------------------------------------------------------

  // A leaf holding e[0..n) at init density.
  Leaf* build_leaf(const Entry* e, size_t n) {
    const int capacity = capacity_for(n);
    Leaf* leaf = new_leaf(capacity);
    leaf->train(e, static_cast<int>(n), n > 0 ? static_cast<double>(capacity) / static_cast<double>(n) : 0);
    leaf->place(e, static_cast<int>(n));
    return leaf;
  }

  struct Fanout {
    int log = 0;  // 0: no model node is better than one data node
    int shift = 0;
  };
  // A model node's key domain, [lo, hi] in to_unsigned() space.
  struct Domain {
    uint64_t lo, hi;
  };
  static Domain tight(const Key& first, const Key& last) {
    return {Traits::to_unsigned(first), Traits::to_unsigned(last)};
  }
  // What ModelNode::slot_of computes, for a node not yet allocated.
  static size_t slot_in(uint64_t u, const Domain& d, const Fanout& f) {
    if (u < d.lo) return 0;
    const uint64_t slot = (u - d.lo) >> f.shift;
    const uint64_t last = (uint64_t{1} << f.log) - 1;
    return static_cast<size_t>(slot < last ? slot : last);
  }

  // Model parameters for a node over domain d holding the sorted keys
  // s[0..m) (samples of t keys each): the fanout 2^k minimizing the cost
  // model, or log 0 if a single data node is cheaper (never when forced or
  // when the keys are too many for one data node).
  Fanout choose_fanout(const Key* s, size_t m, double t, bool force, const Domain& d) const {
    const int bits = static_cast<int>(std::bit_width(d.hi - d.lo));
    const double n = static_cast<double>(m) * t;
    const double leaf_keys = static_cast<double>(max_leaf_keys());
    Fanout best;
    double best_cost = force || n > leaf_keys
                           ? std::numeric_limits<double>::infinity()
                           : internal::data_node_cost<Key, Traits>(s, m, t, Options::kInitDensity) +
                                 internal::CostWeights::kByte * sizeof(Leaf) / n;
    int worse = 0;
    // A child array costs at most a sixteenth of the bytes of the keys and
    // payloads below it: memory stays near the bytes held even where the
    // cost model would trade any amount of it for a shorter search
    // (skewed keys, whose dense head wants the finest slots). An eighth
    // left too little room for the leaves' own peak: after a random-insert
    // phase's first wave of expansions they are at density ~0.65 (24.6
    // bytes per 16-byte pair), and under a root of 1 byte per key 1M
    // clustered keys reached the 1.6x budget (25.6 bytes). The bound is
    // for large arrays: one of 16 slots costs less than a leaf's header,
    // and a node over a few dozen keys (split down) needs its fanout to
    // separate keys that sit close together in a wide domain, or it grows
    // a chain of nodes a slot each (with the fuzzer's tiny nodes, fanouts
    // of 2 and 4 grew one to depth 45).
    const int memory_log = std::max(
        4, static_cast<int>(std::bit_width(static_cast<uint64_t>(n * sizeof(Entry) / (16 * sizeof(Node*))))) - 1);
    // Slots hold at most kMaxSlotKeys keys on average, whatever the cost
    // model says (merged blocks still make big leaves): a leaf filled by
    // appends can then hand the slots past its keys to a new leaf.
    const int slot_keys_log = static_cast<int>(std::bit_width(static_cast<uint64_t>(n / kMaxSlotKeys)));
    const int max_log = std::min({Options::kMaxFanoutLog, bits,
                                  static_cast<int>(std::bit_width(static_cast<uint64_t>(n))) + 1,
                                  memory_log});
    const int min_log = std::min(max_log, slot_keys_log);
    for (int k = std::max(1, min_log); k <= max_log; ++k) {
      const Fanout f{k, bits - k};
      double cost = internal::CostWeights::kLevel +
                    internal::CostWeights::kByte * static_cast<double>(sizeof(Node*) << k) / n;
      bool oversized = false;
      size_t used = 0;  // slots holding sample keys
      for (size_t begin = 0; begin < m; ++used) {
        const size_t slot = slot_in(Traits::to_unsigned(s[begin]), d, f);
        size_t end = begin + 1;
        while (end < m && slot_in(Traits::to_unsigned(s[end]), d, f) == slot) ++end;
        const double keys = static_cast<double>(end - begin) * t;
        cost += keys / n * internal::data_node_cost<Key, Traits>(s + begin, end - begin, t, Options::kInitDensity) +
                internal::CostWeights::kByte * sizeof(Leaf) / n;
        // A child too big for one data node will need a model level more.
        if (keys > leaf_keys) {
          cost += keys / n * internal::CostWeights::kLevel;
          oversized = true;
        }
        begin = end;
      }
      // From a sample (t > 1), a slot needs a few sample keys for its cost
      // to mean anything: a slot with one looks free (no search, no shift),
      // so finer fanouts would win on noise (10M uniform keys got 16K
      // leaves of ~600 keys, whose headers alone miss the cache, instead of
      // ~260). Counted over the slots keys fall in, not all of them: dense
      // clusters far apart want fine slots, most of them empty. Finer
      // fanouts only use more slots, so the search ends here.
      if (t > 1 && k > min_log && m < kMinSlotSamples * used) break;
      if (cost < best_cost * 0.999) {
        best_cost = cost;
        best = f;
        worse = 0;
      } else if (!oversized && best.log != 0 && ++worse >= 3) {
        break;
      }
    }
    if (best.log == 0 && (force || n > leaf_keys)) best = {1, bits - 1};
    return best;
  }

  Leaf* build_leaf_into(const Entry* e, size_t n, Chain* chain) {
    Leaf* leaf = build_leaf(e, n);
    chain->append(leaf);
    return leaf;
  }

  // Builds a subtree over e[0..n) (n >= 1) in domain d, appending its
  // leaves to `chain`. Keys inserted later outside d clamp to the edge
  // children. `force`: must be a model node (a full data node splitting
  // down); if no fanout over d separates the keys, the domain shrinks to
  // the keys' own range.
  Node* build(const Entry* e, size_t n, bool force, Chain* chain, Domain d, bool root = false) {
    if (n < 2 || (!force && n <= 64)) return build_leaf_into(e, n, chain);
    // Keys one data node serves well are not worth a search for a fanout:
    // build that node, and keep it if the cost model rates its layout well
    // (building it costs about what predicting its layout would).
    Leaf* leaf = nullptr;
    if (!force && n <= max_leaf_keys()) {
      leaf = build_leaf(e, n);
      if (leaf->expected_cost_ <= kSplitCheckCost) {
        chain->append(leaf);
        return leaf;
      }
    }
    Unfinished candidate(this, leaf);  // freed unless no fanout does better
    // Keys clamped into an edge slot can lie outside d: cover them too.
    d = {std::min(d.lo, Traits::to_unsigned(e[0].first)), std::max(d.hi, Traits::to_unsigned(e[n - 1].first))};
    // The cost model looks at a sample of at most kMaxSamples keys.
    const size_t stride = (n + kMaxSamples - 1) / kMaxSamples;
    std::vector<Key> sample;
    sample.reserve(n / stride + 2);
    for (size_t i = 0; i < n; i += stride) sample.push_back(e[i].first);
    if (sample.back() != e[n - 1].first) sample.push_back(e[n - 1].first);
    const Key* s = sample.data();
    const size_t m = sample.size();
    Fanout f = choose_fanout(s, m, static_cast<double>(stride), force, d);
    if (f.log != 0 && slot_in(Traits::to_unsigned(e[0].first), d, f) == slot_in(Traits::to_unsigned(e[n - 1].first), d, f)) {
      d = tight(e[0].first, e[n - 1].first);  // the keys fill a sliver of d
      f = choose_fanout(s, m, static_cast<double>(stride), force, d);
    }
    if (f.log == 0) {
      if (leaf == nullptr) return build_leaf_into(e, n, chain);
      candidate.release();
      chain->append(leaf);
      return leaf;
    }
    if (root) {
      // Align the root's origin to its slot width, so that its domain can
      // always grow left by whole slots down to the smallest key.
      d.lo &= ~((uint64_t{1} << f.shift) - 1);
      if (((d.hi - d.lo) >> f.shift) >> f.log) ++f.log;
    }
    const size_t fanout = size_t{1} << f.log;
    // Sample index where each slot starts, for the merge decisions.
    std::vector<size_t> starts(fanout + 1);
    for (size_t slot = 0, j = 0; slot <= fanout; ++slot) {
      while (j < m && slot_in(Traits::to_unsigned(s[j]), d, f) < slot) ++j;
      starts[slot] = j;
    }
    // Merge sibling slot blocks bottom-up (ALEX's fanout tree) while one
    // data node over both is no costlier than two.
    std::vector<std::pair<size_t, size_t>> blocks;
    merge_blocks(s, starts, static_cast<double>(stride), 0, fanout, /*top=*/true, &blocks);
    std::sort(blocks.begin(), blocks.end());

    ModelNode* node = new_model(d.lo, f.shift, fanout);
    Unfinished unfinished(this, node);
    size_t k = 0;
    size_t owned = 0;  // slots [0, owned) have their child
    Node* prev = nullptr;
    for (const auto& [a, b] : blocks) {
      // The block's keys, found by exponential search from its first: a
      // linear scan would read every key once more per model level.
      const size_t block_end = b;  // (clang 14 cannot capture a binding)
      const size_t end = static_cast<size_t>(
          gallop(e + k, e + n, [&](const Entry& x) { return slot_in(Traits::to_unsigned(x.first), d, f) < block_end; }) -
          e);
      if (end == k) continue;  // no keys: the neighbours take its slots
      Node* child = build(e + k, end - k, false, chain, slot_range(d.lo, f.shift, a, b, d.hi));
      // Slots without keys since the previous child go half to each
      // neighbour, not to an empty leaf (clustered keys left a third of
      // their leaves empty, ~420 bytes each): a key arriving there later
      // extends the run of keys nearest to it, as an append or a prepend,
      // and split_at_end hands the slots past that run to a new leaf once
      // the neighbour is large.
      const size_t mid = prev == nullptr ? owned : owned + (a - owned) / 2;
      std::fill(node->children + owned, node->children + mid, prev);
      std::fill(node->children + mid, node->children + b, child);
      owned = b;
      prev = child;
      k = end;
    }
    std::fill(node->children + owned, node->children + fanout, prev);
    unfinished.release();
    return node;
  }

  // std::partition_point by exponential search from `first`: O(log d) for
  // an answer d elements in.
  template <class It, class Pred>
  static It gallop(It first, It last, Pred pred) {
    size_t bound = 1;
    while (bound <= static_cast<size_t>(last - first) && pred(first[bound - 1])) bound *= 2;
    return std::partition_point(first + bound / 2, first + std::min(bound, static_cast<size_t>(last - first)), pred);
  }

  // The keys of slots [a, b) of a node with origin lo and slot width
  // 2^shift, clipped to hi.
  static Domain slot_range(uint64_t lo, int shift, size_t a, size_t b, uint64_t hi) {
    using Wide = unsigned __int128;
    const Wide first = Wide{lo} + (Wide{a} << shift);
    const Wide last = Wide{lo} + (Wide{b} << shift) - 1;
    return {static_cast<uint64_t>(std::min<Wide>(first, hi)), static_cast<uint64_t>(std::min<Wide>(last, hi))};
  }

  // Returns {is one child, cost} for the aligned slot block [a, b); emits the
  // blocks that stay separate into `out`.
  std::pair<bool, double> merge_blocks(const Key* s, const std::vector<size_t>& starts, double t, size_t a,
                                       size_t b, bool top, std::vector<std::pair<size_t, size_t>>* out) const {
    auto block_cost = [&](size_t x, size_t y) {
      const size_t cnt = starts[y] - starts[x];
      return static_cast<double>(cnt) * t *
                 internal::data_node_cost<Key, Traits>(s + starts[x], cnt, t, Options::kInitDensity) +
             internal::CostWeights::kByte * sizeof(Leaf);
    };
    // No keys in the block: nothing below it to separate (what the
    // recursion would find, in O(1) instead of O(b - a)); build() gives its
    // slots to the neighbouring children.
    if (b - a == 1 || (!top && starts[a] == starts[b])) return {true, block_cost(a, b)};
    const size_t mid = a + (b - a) / 2;
    auto [left_one, left_cost] = merge_blocks(s, starts, t, a, mid, false, out);
    auto [right_one, right_cost] = merge_blocks(s, starts, t, mid, b, false, out);
    if (left_one && right_one && !top &&
        static_cast<double>(starts[b] - starts[a]) * t <= static_cast<double>(max_leaf_keys())) {
      const double merged = block_cost(a, b);
      if (merged <= left_cost + right_cost) return {true, merged};
    }
    if (left_one) out->push_back({a, mid});
    if (right_one) out->push_back({mid, b});
    if (top && out->empty()) out->push_back({a, b});
    return {false, left_cost + right_cost};
  }

  void build_root(const Entry* e, size_t n) {
    Chain chain;
    if (n == 0) {
      Leaf* leaf = empty_leaf();
      chain.append(leaf);
      root_ = leaf;
    } else {
      root_ = build(e, n, false, &chain, tight(e[0].first, e[n - 1].first), /*root=*/true);
    }
    first_leaf_ = chain.first;
    last_leaf_ = chain.last;
    size_ = n;
    build_bytes_per_key_ = n > 0 ? static_cast<double>(mem_.bytes) / static_cast<double>(n) : kDefaultBytesPerKey;
  }

  // A leaf's keys and payloads, in order.
  static std::vector<Entry> contents(const Leaf* leaf) {
    std::vector<Entry> out(leaf->num_keys_);
    leaf->extract(out.data());
    return out;
  }

  // Every key and payload in order.
  std::vector<Entry> collect() const {
    std::vector<Entry> out(size_);
    size_t n = 0;
    for (const Leaf* l = first_leaf_; l != nullptr; l = l->next_) n += l->extract(out.data() + n);
    return out;
  }

  // Replaces the tree by a fresh build of the given sorted contents,
  // keeping the counters.
  void rebuild_from(const std::vector<Entry>& entries) {
    Stats saved = stats_;
    clear();
    stats_ = saved;
    ++stats_.rebuilds;
    build_root(entries.data(), entries.size());
  }

  void rebuild() { rebuild_from(collect()); }

  // A rebuild that also inserts a key the root's domain cannot grow to.
  std::pair<iterator, bool> rebuild_with(const Key& key, const Payload& payload) {
    std::vector<Entry> entries = collect();
    auto at = std::lower_bound(entries.begin(), entries.end(), key,
                               [](const Entry& x, const Key& k) { return x.first < k; });
    entries.insert(at, {key, payload});
    rebuild_from(entries);
    ++stats_.inserts;
    return {find(key), true};
  }

  // Bytes the memory target allows for the keys held.
  double budget_bytes() const {
    return Options::kMaxBytesFactor * static_cast<double>(sizeof(Key) + sizeof(Payload)) * static_cast<double>(size_);
  }

  // The capacity an erase contracts `leaf` to, or 0 to leave it. A leaf
  // contracts below min density; and while the tree holds more than its
  // budget, below init density, to the middle of init and max density (so
  // the contraction is worth its relay, and a few inserts do not expand it
  // again). Either only once the leaf has lost a share of the most keys it
  // held since its last resize (2/7, or a sixteenth and at least half the
  // smallest capacity): a leaf that just grew toward its appends is sparse
  // by design, and erasing a few fresh keys must not shrink it back (resize
  // thrash); each resize is paid for by that share of erases.
  int contracted_capacity(const Leaf* leaf) const {
    const int n = leaf->num_keys_;
    if (leaf->capacity_ <= Options::kMinCapacity) return 0;
    if (n < leaf->capacity_ * Options::kMinDensity &&
        n * Options::kInitDensity < leaf->peak_keys_ * Options::kMinDensity) {
      return capacity_for(n);
    }
    if (n < leaf->capacity_ * Options::kInitDensity &&
        leaf->peak_keys_ - n >= std::max(leaf->peak_keys_ / 16, Options::kMinCapacity / 2) &&
        static_cast<double>(mem_.bytes) > budget_bytes()) {
      const int capacity = capacity_for(n, kBudgetDensity);
      return capacity < leaf->capacity_ ? capacity : 0;
    }
    return 0;
  }

  // A rebuild pays for itself once the memory drifted a share past the last
  // build's bytes per key, since that took a share of n operations: past
  // kCompactFactor (plus slack); or a sixteenth, when the tree is over its
  // budget and contracting every leaf to kBudgetDensity would not bring it
  // under (model nodes sized for more keys than are left; or a key set whose
  // fresh build is over the budget too, which then gains nothing from it,
  // but each such rebuild is still paid for by the drift before it).
  bool memory_drifted() const {
    const double built = build_bytes_per_key_ * static_cast<double>(size_);
    const double bytes = static_cast<double>(mem_.bytes);
    const double slack = static_cast<double>(kCompactSlackBytes);
    if (bytes > Options::kCompactFactor * built + std::max(kCompactSlack * built, slack)) return true;
    const double budget = budget_bytes();
    if (bytes <= budget || bytes <= kBudgetRebuildFactor * built + slack) return false;
    const double contracted_arrays = static_cast<double>(Leaf::buffer_bytes(capacity_for(1024, kBudgetDensity))) /
                                     1024 * static_cast<double>(size_);
    return bytes - static_cast<double>(mem_.array_bytes) + contracted_arrays > budget;
  }

  // ---- restructuring -------------------------------------------------------

  // Where a resize leaves the free room: spread evenly (kSpread), or kept at
  // the right (kAppend) or left (kPrepend) for the keys that filled the node,
  // the keys themselves at init-density spacing.
  enum class Room { kSpread, kAppend, kPrepend };

  // Replaces the arrays of `leaf` by `capacity` slots, retrained.
  // The keys go straight from the old arrays to the new ones, which
  // `fresh` holds until they are filled.
  void resize(Leaf* leaf, int capacity, Room room) {
    const int n = leaf->num_keys_;
    Leaf fresh;
    fresh.allocate(capacity, &mem_);
    if (room == Room::kSpread || n == 0) {
      fresh.train(*leaf, n > 0 ? static_cast<double>(capacity) / n : 0);
    } else {
      // Keys at append-density spacing from one end; every caller leaves
      // at least two free slots at the other.
      const double span = (n - 1) / Options::kAppendDensity;
      fresh.fit_ends(leaf->min_key(), leaf->max_key(), span, room == Room::kAppend ? 0 : capacity - 1 - std::ceil(span));
    }
    fresh.place(*leaf);
    leaf->adopt(&fresh);
    fresh.release(&mem_);
  }

  // `leaf` had no room for `key`: expand it or split it, as the cost model
  // says. The caller retries the insert from the root.
  void make_room(Leaf* leaf, const Key& key) {
    const bool append = leaf->num_keys_ > 0 && leaf->max_key() < key;
    const bool prepend = leaf->num_keys_ > 0 && key < leaf->min_key();
    const uint64_t inserts = leaf->inserts_since_resize_;
    ModelNode* parent = path_.empty() ? nullptr : path_.back().node;
    // Keys arrive at one end when at least half of the inserts since the
    // last resize did. Only then does the room go there: a leaf of random
    // inserts that one append happened to fill keeps its gaps spread, or
    // its keys would be packed at append density and every later insert
    // among them would shift hundreds of slots.
    const bool at_end = (append && 2 * leaf->appends_since_resize_ >= inserts) ||
                        (prepend && 2 * leaf->prepends_since_resize_ >= inserts);
    const Room room = !at_end ? Room::kSpread : append ? Room::kAppend : Room::kPrepend;
    if (at_end) {
      // Keys arrive at one end: grow toward it by doubling (nothing
      // shifts), and once large, hand the range past the last key to a new
      // leaf, so nodes stay small enough for accurate models.
      if (leaf->capacity_ < Options::kMaxAppendCapacity) {
        // Half again instead where doubling would take the tree over its
        // memory budget: a run of appends that stops (a cluster of keys
        // filled in, in order) leaves its last doubling up to half empty.
        const int cap = leaf->capacity_;
        const size_t doubled = mem_.bytes + Leaf::buffer_bytes(2 * cap) - Leaf::buffer_bytes(cap);
        const int grown = static_cast<double>(doubled) > budget_bytes() ? cap + cap / 2 : 2 * cap;
        resize(leaf, std::min(std::max(grown, Options::kMinCapacity), Options::kMaxAppendCapacity), room);
        ++stats_.expansions;
        // Keys arriving far from those held (a new cluster filled in, in
        // order, in a gap between clusters) share one line with them that
        // fits neither (a search ~500 slots off): split them apart while
        // the new run is short. Only sideways: a split down would put a
        // model level below the last one for every new cluster.
        if (parent != nullptr && leaf->num_keys_ >= 64 && leaf->expected_cost_ > kSplitCheckCost &&
            model_beats_leaf(leaf)) {
          split(leaf, /*down=*/false);
        }
        return;
      }
      if (parent == nullptr) return split_down(leaf);
      if (split_at_end(leaf, key, append)) return;
      // The leaf's keys fill one slot: make the parent's slots finer.
      if (can_double(parent) && parent->run_end(path_.back().slot) - parent->run_begin(path_.back().slot) == 1) {
        double_fanout(parent);
        return;
      }
    }
    // Expand, keeping a quarter more room at the end keys arrive at, or
    // 1/12 more everywhere for keys arriving anywhere (the node goes from
    // max density to ~0.65, not to init density: it grows 1.24x before it
    // is full again instead of 1.14x, so each key moves ~3.3 times, not
    // ~5.2, while a tree doubles), unless the node is too big, its inserts
    // cost far more than the model predicted, or the cost model prefers a
    // model node over its keys.
    const size_t n = static_cast<size_t>(leaf->num_keys_) + 1;
    const size_t want = room != Room::kSpread ? n + n / 4 : n + n / 12;
    bool split_better = want > max_leaf_keys();
    if (!split_better && n >= 256) {
      split_better = (inserts >= 64 && internal::empirical_cost(inserts, leaf->distance_since_resize_,
                                                                leaf->shifts_since_resize_) >
                                           2 * leaf->expected_cost_ + 8) ||
                     (leaf->expected_cost_ > kSplitCheckCost && model_beats_leaf(leaf));
    }
    if (!split_better) {
      resize(leaf, capacity_for(want), room);
      ++stats_.expansions;
      // A retrained model can still fit badly (a far key joined a dense
      // run): then split now rather than pay for it on every insert.
      if (n < 256 || leaf->expected_cost_ <= kSplitCheckCost || !model_beats_leaf(leaf)) return;
    }
    if (parent == nullptr) return split_down(leaf);
    split(leaf);
  }

  // Whether the cost model would build a model node over the leaf's keys.
  // A leaf that was told no is asked again only once it has doubled or its
  // layout's cost has: in between, the answer over (nearly) the same keys
  // would be the same, and each question costs a sampled fanout search
  // (uniform keys, whose models miss by ~sqrt(n) slots, asked at every
  // expansion of every large leaf).
  bool model_beats_leaf(Leaf* leaf) const {
    if (leaf->num_keys_ < 2 * leaf->keys_at_check_ && leaf->expected_cost_ < 2 * leaf->cost_at_check_) return false;
    std::vector<Key> keys;
    const int n = leaf->num_keys_;
    const int stride = std::max(1, n / static_cast<int>(kCheckSamples));
    typename Leaf::Reader r(*leaf);
    for (int i = 0; i < n; ++i) {
      const Key k = r.next().first;
      if (i % stride == 0 || i == n - 1) keys.push_back(k);
    }
    const bool model = keys.size() >= 2 && choose_fanout(keys.data(), keys.size(), static_cast<double>(stride), false,
                                                         tight(keys.front(), keys.back()))
                                                   .log != 0;
    if (!model) {
      leaf->keys_at_check_ = leaf->num_keys_;
      leaf->cost_at_check_ = leaf->expected_cost_;
    }
    return model;
  }

  // Splits a leaf sideways when it owns several of its parent's slots and
  // its keys lie in more than one (doubling the parent's fanout to make that
  // so when cheap), else down if `down`, else not at all.
  void split(Leaf* leaf, bool down = true) {
    ModelNode* parent = path_.back().node;
    size_t a = parent->run_begin(path_.back().slot);
    size_t b = parent->run_end(path_.back().slot);
    if (b - a == 1 && can_double(parent)) {
      double_fanout(parent);
      a *= 2;
      b *= 2;
      path_.back().slot = a;  // split_down finds the run from it
    }
    if (b - a >= 2 && keys_in_several_slots(parent, leaf)) return split_sideways(leaf, parent, a, b);
    if (down) split_down(leaf);
  }

  // Whether the leaf's keys route to more than one slot of its parent: a
  // sideways split can only separate keys in different slots.
  static bool keys_in_several_slots(const ModelNode* parent, const Leaf* leaf) {
    return parent->slot_of(Traits::to_unsigned(leaf->min_key())) !=
           parent->slot_of(Traits::to_unsigned(leaf->max_key()));
  }

  // Doubling a model node's fanout costs O(fanout) time and memory, so it
  // is bounded: the root's to a slot per 16 keys (half a byte per key; a
  // leaf that owns one slot past that splits down, at the cost of a small
  // model node, where doubling a root of 64K slots for that one leaf took
  // 512 KiB), inner nodes' absolutely.
  bool can_double(const ModelNode* m) const {
    const size_t limit = m == root_ ? std::min(Options::kMaxRootFanout, std::max<size_t>(4096, size_ / 16))
                                    : Options::kMaxDoubledFanout;
    return m->shift >= 1 && m->fanout * 2 <= limit;
  }

  void double_fanout(ModelNode* m) {
    Node** children = new Node*[2 * m->fanout];
    for (size_t i = 0; i < m->fanout; ++i) children[2 * i] = children[2 * i + 1] = m->children[i];
    delete[] m->children;
    mem_.bytes += m->fanout * sizeof(Node*);
    m->children = children;
    m->fanout *= 2;
    m->shift -= 1;
  }

  // Replaces `old` in the leaf chain by chain [first, last].
  void splice(Leaf* old, Leaf* first, Leaf* last) {
    first->prev_ = old->prev_;
    last->next_ = old->next_;
    if (old->prev_) old->prev_->next_ = first; else first_leaf_ = first;
    if (old->next_) old->next_->prev_ = last; else last_leaf_ = last;
  }

  void split_sideways(Leaf* leaf, ModelNode* parent, size_t a, size_t b) {
    const int n = leaf->num_keys_;
    const std::vector<Entry> entries = contents(leaf);
    // Split at the slot boundary nearest the median key that leaves keys
    // on both sides (the caller saw them in different slots).
    size_t c = parent->slot_of(Traits::to_unsigned(entries[n / 2].first));
    c = std::clamp(c, parent->slot_of(Traits::to_unsigned(entries.front().first)) + 1,
                   parent->slot_of(Traits::to_unsigned(entries.back().first)));
    const size_t left = static_cast<size_t>(
        std::partition_point(entries.begin(), entries.end(),
                             [&](const Entry& x) { return parent->slot_of(Traits::to_unsigned(x.first)) < c; }) -
        entries.begin());
    Leaf* l = build_leaf(entries.data(), left);
    Unfinished unfinished(this, l);
    Leaf* r = build_leaf(entries.data() + left, n - left);
    unfinished.release();
    l->next_ = r;
    r->prev_ = l;
    splice(leaf, l, r);
    std::fill(parent->children + a, parent->children + c, l);
    std::fill(parent->children + c, parent->children + b, r);
    free_leaf(leaf);
    ++stats_.splits_sideways;
  }

  // Appends (prepends) filled a large leaf: it keeps its keys and its
  // slots up to (from) the one holding its last (first) key; a new leaf with
  // the same key density takes the slots beyond, plus the keys of that edge
  // slot if the new key falls into it too. Only those few keys move.
  bool split_at_end(Leaf* leaf, const Key& key, bool append) {
    ModelNode* parent = path_.back().node;
    const size_t a = parent->run_begin(path_.back().slot);
    const size_t b = parent->run_end(path_.back().slot);
    const size_t edge = parent->slot_of(Traits::to_unsigned(append ? leaf->max_key() : leaf->min_key()));
    const size_t key_slot = parent->slot_of(Traits::to_unsigned(key));
    // c: the boundary between the lower and the upper of the two leaves.
    const size_t c = append ? (key_slot > edge ? edge + 1 : edge) : (key_slot < edge ? edge : edge + 1);
    if (c <= a || c >= b) return false;
    auto moves = [&](int slot) { return (parent->slot_of(Traits::to_unsigned(leaf->keys_[slot])) < c) != append; };
    // The slots of the keys that move, [from, to], found from the edge.
    int from = append ? leaf->last_ + 1 : leaf->capacity_, to = -1;
    if (append) {
      for (int i = leaf->last_; i >= 0 && moves(i); i = leaf->prev_occupied(i - 1)) from = i;
      to = leaf->last_;
    } else {
      for (int i = leaf->next_occupied(0); i < leaf->capacity_ && moves(i); i = leaf->next_occupied(i + 1)) to = i;
      from = leaf->next_occupied(0);
    }
    std::vector<Entry> moved;
    for (int i = leaf->next_occupied(from); i <= to; i = leaf->next_occupied(i + 1)) {
      moved.push_back({leaf->keys_[i], leaf->payloads_[i]});
    }
    if (moved.size() >= static_cast<size_t>(leaf->num_keys_)) return false;
    // Full append size, unless the tree is small: then a leaf that size
    // would be most of its memory.
    const int capacity = std::max(std::min(Options::kMaxAppendCapacity, capacity_for(size_ / 8)),
                                  capacity_for(2 * moved.size() + 1));
    Leaf* fresh = new_leaf(capacity);
    fresh->slope_ = leaf->slope_;
    if (append) {
      fresh->base_ = moved.empty() ? key : moved.front().first;
      fresh->intercept_ = 0;
    } else {
      fresh->base_ = moved.empty() ? key : moved.back().first;
      fresh->intercept_ = capacity - 1;
    }
    fresh->place(moved.data(), static_cast<int>(moved.size()));
    fresh->expected_cost_ = leaf->expected_cost_;
    for (int i = to; i >= from; i = leaf->prev_occupied(i - 1)) leaf->erase_at(i);
    leaf->inserts_since_resize_ = leaf->appends_since_resize_ = leaf->prepends_since_resize_ = 0;
    leaf->peak_keys_ = leaf->num_keys_;
    if (append) {
      fresh->prev_ = leaf;
      fresh->next_ = leaf->next_;
      if (leaf->next_) leaf->next_->prev_ = fresh; else last_leaf_ = fresh;
      leaf->next_ = fresh;
      std::fill(parent->children + c, parent->children + b, fresh);
    } else {
      fresh->next_ = leaf;
      fresh->prev_ = leaf->prev_;
      if (leaf->prev_) leaf->prev_->next_ = fresh; else first_leaf_ = fresh;
      leaf->prev_ = fresh;
      std::fill(parent->children + a, parent->children + c, fresh);
    }
    ++stats_.splits_sideways;
    return true;
  }

  // Replaces a leaf by a model node built over its keys.
  void split_down(Leaf* leaf) {
    const std::vector<Entry> entries = contents(leaf);
    // The new node's domain is the leaf's share of its parent's domain,
    // so later keys anywhere in it route well; the root's is its keys'.
    ModelNode* parent = path_.empty() ? nullptr : path_.back().node;
    size_t a = 0, b = 0;
    Domain d = tight(entries.front().first, entries.back().first);
    if (parent != nullptr) {
      a = parent->run_begin(path_.back().slot);
      b = parent->run_end(path_.back().slot);
      d = slot_range(parent->lo, parent->shift, a, b, ~uint64_t{0});
    }
    Chain chain;
    Node* sub = build(entries.data(), entries.size(), /*force=*/true, &chain, d, /*root=*/parent == nullptr);
    splice(leaf, chain.first, chain.last);
    if (parent == nullptr) root_ = sub; else std::fill(parent->children + a, parent->children + b, sub);
    free_leaf(leaf);
    ++stats_.splits_down;
  }

  // Grows the root's domain to include u: new slots (at least doubling the
  // fanout) on the side of u, owned by one new empty leaf. Slot positions of
  // existing keys do not change. Returns false if the root would exceed
  // kMaxRootFanout or cannot align to u (the caller rebuilds instead).
  bool grow_root(uint64_t u) {
    auto* root = static_cast<ModelNode*>(root_);
    const int s = root->shift;
    size_t extra;
    bool left = u < root->lo;
    if (left) {
      const uint64_t need = ((root->lo - u - 1) >> s) + 1;
      const uint64_t room = root->lo >> s;
      if (need > room) return false;
      extra = static_cast<size_t>(std::min<uint64_t>(std::max<uint64_t>(need, root->fanout), room));
    } else {
      const uint64_t need = ((u - root->lo) >> s) + 1 - root->fanout;
      extra = static_cast<size_t>(std::max<uint64_t>(need, root->fanout));
    }
    if (extra > Options::kMaxRootFanout - root->fanout) return false;
    const size_t fanout = root->fanout + extra;
    std::unique_ptr<Node*[]> owned(new Node*[fanout]);
    Leaf* leaf = empty_leaf();
    Node** children = owned.release();
    if (left) {
      std::fill(children, children + extra, leaf);
      std::copy(root->children, root->children + root->fanout, children + extra);
      root->lo -= static_cast<uint64_t>(extra) << s;
      leaf->next_ = first_leaf_;
      first_leaf_->prev_ = leaf;
      first_leaf_ = leaf;
    } else {
      std::copy(root->children, root->children + root->fanout, children);
      std::fill(children + root->fanout, children + fanout, leaf);
      leaf->prev_ = last_leaf_;
      last_leaf_->next_ = leaf;
      last_leaf_ = leaf;
    }
    delete[] root->children;
    mem_.bytes += extra * sizeof(Node*);
    root->children = children;
    root->fanout = fanout;
    ++stats_.root_expansions;
    return true;
  }

  // ---- statistics and checking ---------------------------------------------

  void shape(const Node* n, int depth, Stats* s, double* distance) const {
    s->depth = std::max(s->depth, depth);
    if (n->is_leaf) {
      auto* l = static_cast<const Leaf*>(n);
      ++s->data_nodes;
      if (l->num_keys_ == 0) ++s->empty_data_nodes;
      for (int i = l->next_occupied(0); i < l->capacity_; i = l->next_occupied(i + 1))
        *distance += std::abs(l->predict(l->keys_[i]) - i);
      return;
    }
    auto* m = static_cast<const ModelNode*>(n);
    ++s->model_nodes;
    for (size_t i = 0; i < m->fanout; i = m->run_end(i)) shape(m->children[i], depth + 1, s, distance);
  }

  std::string check_node(const Node* n, std::vector<const Leaf*>* leaves, size_t* bytes) const;

  Node* root_ = nullptr;
  Leaf* first_leaf_ = nullptr;
  Leaf* last_leaf_ = nullptr;
  size_t size_ = 0;
  internal::MemoryCounter mem_;
  Stats stats_;
  double build_bytes_per_key_ = kDefaultBytesPerKey;
  std::vector<PathEntry> path_;  // scratch for insert: the model nodes above the leaf
};

// ---- check -------------------------------------------------------------------

template <class Key, class Payload, class Options>
std::string Tree<Key, Payload, Options>::check_node(const Node* n, std::vector<const Leaf*>* leaves,
                                                   size_t* bytes) const {
  if (n->is_leaf) {
    auto* l = static_cast<const Leaf*>(n);
    *bytes += sizeof(Leaf) + Leaf::buffer_bytes(l->capacity_);
    leaves->push_back(l);
    std::string err = l->check();
    return err.empty() ? "" : "data node " + std::to_string(leaves->size() - 1) + ": " + err;
  }
  auto* m = static_cast<const ModelNode*>(n);
  if (m->fanout == 0 || m->children == nullptr) return "model node without children";
  if (m->shift < 0 || m->shift > 63) return "model node shift " + std::to_string(m->shift) + " out of range";
  *bytes += sizeof(ModelNode) + m->fanout * sizeof(Node*);
  std::unordered_set<const Node*> seen;
  for (size_t i = 0; i < m->fanout; i = m->run_end(i)) {
    const Node* c = m->children[i];
    if (c == nullptr) return "null child at slot " + std::to_string(i);
    if (!seen.insert(c).second) return "child at slot " + std::to_string(i) + " owns two separate runs of slots";
    if (m->run_begin(i) != i) return "slot run bookkeeping broken at slot " + std::to_string(i);
    std::string err = check_node(c, leaves, bytes);
    if (!err.empty()) return err;
  }
  return "";
}

template <class Key, class Payload, class Options>
std::string Tree<Key, Payload, Options>::check() const {
  if (root_ == nullptr) {
    if (size_ != 0 || first_leaf_ || last_leaf_) return "empty tree with leaves or a size";
    const bool counted = mem_.bytes != 0 || mem_.array_bytes != 0;
    return counted ? "empty tree still counts " + std::to_string(mem_.bytes) + " bytes (" +
                         std::to_string(mem_.array_bytes) + " in data arrays)"
                   : "";
  }
  std::vector<const Leaf*> leaves;
  size_t bytes = 0;
  std::string err = check_node(root_, &leaves, &bytes);
  if (!err.empty()) return err;
  if (bytes != mem_.bytes) {
    return "memory counter says " + std::to_string(mem_.bytes) + " bytes, nodes hold " + std::to_string(bytes);
  }
  size_t array_bytes = 0;
  for (const Leaf* l : leaves) array_bytes += Leaf::buffer_bytes(l->capacity_);
  if (array_bytes != mem_.array_bytes) {
    return "memory counter says " + std::to_string(mem_.array_bytes) + " bytes in data arrays, leaves hold " +
           std::to_string(array_bytes);
  }
  // The leaf chain visits the leaves in tree order, both ways.
  size_t i = 0;
  const Leaf* prev = nullptr;
  for (const Leaf* l = first_leaf_; l != nullptr; prev = l, l = l->next_, ++i) {
    if (i >= leaves.size() || leaves[i] != l) return "leaf chain differs from tree order at leaf " + std::to_string(i);
    if (l->prev_ != prev) return "leaf " + std::to_string(i) + " has a wrong prev link";
  }
  if (i != leaves.size() || prev != last_leaf_) return "leaf chain is shorter than the tree or last leaf wrong";
  // Every key increases across leaves and routes to its own leaf; the root's
  // domain covers every key, so root growth never re-routes one.
  size_t count = 0;
  bool have_prev = false;
  Key last{};
  for (const Leaf* l : leaves) {
    for (int s = l->next_occupied(0); s < l->capacity_; s = l->next_occupied(s + 1)) {
      const Key& k = l->keys_[s];
      if (have_prev && !(last < k)) return "keys not increasing across leaves at leaf slot " + std::to_string(s);
      if (leaf_for(k) != l) return "a key does not route to the leaf holding it";
      if (!root_->is_leaf && !in_domain(static_cast<const ModelNode*>(root_), Traits::to_unsigned(k)))
        return "a key lies outside the root's domain";
      last = k;
      have_prev = true;
      ++count;
    }
  }
  if (count != size_) return "tree holds " + std::to_string(count) + " keys, size() says " + std::to_string(size_);
  return "";
}

}  // namespace alex

#endif  // ALEX_ALEX_H_
