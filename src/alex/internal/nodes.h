// Copyright (c) the alex authors.
//
// The two node kinds of the ALEX tree. Implementation details of alex.h;
// nothing here is part of the public API.
//
// Model node: a linear model over an array of child pointers,
//
//     slot(k) = clamp((to_unsigned(k) - lo) >> shift, 0, fanout - 1)
//
// i.e. a linear model whose slope is a power of two (2^-shift) and whose
// intercept is an integer. It is evaluated in exact integer arithmetic, so it
// is monotone and deterministic: a key routes to the same child on every
// call, on every compiler and at every magnitude (the reference
// implementation's double-precision routing loses keys near 1e18, where one
// ulp is 256). A child owns one contiguous run of slots; runs of length > 1
// are the "duplicated pointers" of ALEX. Keys outside [lo, lo + fanout <<
// shift) are clamped to the edge slots; only the root's domain ever changes
// (it grows to cover every inserted key before the key is inserted), so the
// clamping is stable and every key always routes to the leaf that holds it.
//
// Data node: a gapped array of `capacity` slots:
//
//     keys_     [capacity]  sorted non-decreasing; a gap holds a copy of the
//                           next real key to its right, except that gaps
//                           before the first real key hold KeyTraits::min()
//                           ("leading") and gaps after the last (or all, if
//                           none) hold KeyTraits::max() ("trailing"), so an
//                           append or prepend writes O(1) slots
//     payloads_ [capacity]  meaningful only where the bitmap bit is set
//     bitmap_   [words]     bit i set <=> slot i holds a real key
//
// plus a linear model pos(k) = slope * offset(k, base) + intercept that
// predicts a key's slot. Because gaps repeat the next key, a search never
// consults the bitmap: an exponential search from the predicted slot over
// keys_ finds the answer, and the bitmap only tells gap from key at the end.
// The three arrays live in one allocation, so a resize is one malloc.
//
// Invariants (checked by DataNode::check):
//   1. popcount(bitmap_) == num_keys_ <= capacity_.
//   2. Real keys are strictly increasing left to right.
//   3. Leading gaps hold min(), trailing gaps max(), other gaps the next
//      real key to their right.
//   4. first_ (last_) is the slot of the first (last) real key, or
//      capacity_ (-1) when empty.

#ifndef ALEX_INTERNAL_NODES_H_
#define ALEX_INTERNAL_NODES_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "alex/internal/cost_model.h"
#include "alex/key_traits.h"

namespace alex::internal {

struct Node {
  explicit Node(bool leaf) : is_leaf(leaf) {}
  const bool is_leaf;
};

struct ModelNode : Node {
  ModelNode() : Node(false) {}

  // Route an (already mapped) key to a slot; see the file comment.
  size_t slot_of(uint64_t u) const {
    if (u < lo) return 0;
    const uint64_t s = (u - lo) >> shift;
    return s < fanout ? static_cast<size_t>(s) : fanout - 1;
  }

  // The first and one-past-the-last slot of the run holding children[slot].
  // Runs are contiguous, so an exponential search finds each end in
  // O(log run length).
  size_t run_begin(size_t slot) const {
    Node* c = children[slot];
    size_t step = 1, known = slot;  // children[known] == c
    while (step <= known && children[known - step] == c) {
      known -= step;
      step <<= 1;
    }
    // First differing slot is in [known - step, known) (or none below 0).
    size_t lo_idx = step <= known ? known - step + 1 : 0;
    size_t hi_idx = known;
    while (lo_idx < hi_idx) {
      size_t mid = lo_idx + (hi_idx - lo_idx) / 2;
      if (children[mid] == c) hi_idx = mid; else lo_idx = mid + 1;
    }
    return lo_idx;
  }
  size_t run_end(size_t slot) const {
    Node* c = children[slot];
    size_t step = 1, known = slot;
    while (known + step < fanout && children[known + step] == c) {
      known += step;
      step <<= 1;
    }
    size_t lo_idx = known + 1;
    size_t hi_idx = std::min(known + step, fanout);
    while (lo_idx < hi_idx) {
      size_t mid = lo_idx + (hi_idx - lo_idx) / 2;
      if (children[mid] == c) lo_idx = mid + 1; else hi_idx = mid;
    }
    return lo_idx;
  }

  uint64_t lo = 0;      // to_unsigned() of the first key of slot 0
  int shift = 0;        // slot width is 2^shift, 0 <= shift <= 63
  size_t fanout = 0;    // number of slots
  Node** children = nullptr;
};

// Counts the bytes a tree has allocated; every node allocation goes through
// it so memory_bytes() is exact.
struct MemoryCounter {
  size_t bytes = 0;
  size_t array_bytes = 0;  // the part in data nodes' arrays
};

template <class Key, class Payload, class Traits = KeyTraits<Key>>
struct DataNode : Node {
  static_assert(std::is_trivially_copyable_v<Key>, "keys are moved with memmove");
  static_assert(std::is_trivially_copyable_v<Payload>, "payloads are moved with memmove");

  using Entry = std::pair<Key, Payload>;  // what builds read and extract() writes

  DataNode() : Node(true) {}

  // ---- array management --------------------------------------------------

  static constexpr size_t words_for(int cap) { return (static_cast<size_t>(cap) + 63) / 64; }
  static constexpr size_t payload_offset(int cap) {
    size_t off = sizeof(Key) * static_cast<size_t>(cap);
    return (off + alignof(Payload) - 1) / alignof(Payload) * alignof(Payload);
  }
  static constexpr size_t bitmap_offset(int cap) {
    size_t off = payload_offset(cap) + sizeof(Payload) * static_cast<size_t>(cap);
    return (off + 7) / 8 * 8;
  }
  static constexpr size_t buffer_bytes(int cap) { return bitmap_offset(cap) + words_for(cap) * 8; }

  // Replace the arrays by empty ones of `cap` slots. The keys array is left
  // unwritten: place() fills every slot, and must come next.
  // The new arrays are allocated before the old ones go, so that a failed
  // allocation (std::bad_alloc, where exceptions are on) changes nothing.
  void allocate(int cap, MemoryCounter* mem) {
    const size_t bytes = buffer_bytes(cap);
    char* fresh = static_cast<char*>(::operator new(bytes, std::align_val_t{64}));
    release(mem);
    buffer_ = fresh;
    mem->bytes += bytes;
    mem->array_bytes += bytes;
    capacity_ = cap;
    keys_ = reinterpret_cast<Key*>(buffer_);
    payloads_ = reinterpret_cast<Payload*>(buffer_ + payload_offset(cap));
    bitmap_ = reinterpret_cast<uint64_t*>(buffer_ + bitmap_offset(cap));
    std::memset(bitmap_, 0, words_for(cap) * 8);
    num_keys_ = 0;
    first_ = cap;
    last_ = -1;
  }

  void release(MemoryCounter* mem) {
    if (buffer_ == nullptr) return;
    mem->bytes -= buffer_bytes(capacity_);
    mem->array_bytes -= buffer_bytes(capacity_);
    ::operator delete(buffer_, std::align_val_t{64});
    buffer_ = nullptr;
    keys_ = nullptr;
    payloads_ = nullptr;
    bitmap_ = nullptr;
    capacity_ = 0;
  }

  // ---- bitmap ------------------------------------------------------------

  bool occupied(int i) const { return (bitmap_[i >> 6] >> (i & 63)) & 1; }
  void set_bit(int i) { bitmap_[i >> 6] |= uint64_t{1} << (i & 63); }
  void clear_bit(int i) { bitmap_[i >> 6] &= ~(uint64_t{1} << (i & 63)); }

  // First occupied slot >= i, or capacity_ if none.
  int next_occupied(int i) const {
    if (i >= capacity_) return capacity_;
    size_t w = static_cast<size_t>(i) >> 6;
    uint64_t bits = bitmap_[w] & (~uint64_t{0} << (i & 63));
    const size_t words = words_for(capacity_);
    while (bits == 0) {
      if (++w == words) return capacity_;
      bits = bitmap_[w];
    }
    int r = static_cast<int>(w * 64 + std::countr_zero(bits));
    return r < capacity_ ? r : capacity_;
  }
  // Starts loading what a walk entering this leaf reads first: the first
  // key, its payload and its bitmap word, all at once, so that crossing
  // into a leaf waits on one miss after the header, not three in a row.
  void prefetch_walk() const {
    __builtin_prefetch(keys_ + first_);
    __builtin_prefetch(payloads_ + first_);
    __builtin_prefetch(bitmap_ + (first_ >> 6));
  }
  // Last occupied slot <= i, or -1 if none.
  int prev_occupied(int i) const {
    if (i < 0) return -1;
    ptrdiff_t w = i >> 6;
    uint64_t bits = bitmap_[w] & (~uint64_t{0} >> (63 - (i & 63)));
    while (bits == 0) {
      if (--w < 0) return -1;
      bits = bitmap_[w];
    }
    return static_cast<int>(w * 64 + 63 - std::countl_zero(bits));
  }
  // First gap >= i, or capacity_ if none.
  int next_gap(int i) const {
    if (i >= capacity_) return capacity_;
    size_t w = static_cast<size_t>(i) >> 6;
    uint64_t bits = ~bitmap_[w] & (~uint64_t{0} << (i & 63));
    const size_t words = words_for(capacity_);
    while (bits == 0) {
      if (++w == words) return capacity_;
      bits = ~bitmap_[w];
    }
    int r = static_cast<int>(w * 64 + std::countr_zero(bits));
    return r < capacity_ ? r : capacity_;
  }
  // Last gap <= i, or -1 if none.
  int prev_gap(int i) const {
    if (i < 0) return -1;
    ptrdiff_t w = i >> 6;
    uint64_t bits = ~bitmap_[w] & (~uint64_t{0} >> (63 - (i & 63)));
    while (bits == 0) {
      if (--w < 0) return -1;
      bits = ~bitmap_[w];
    }
    return static_cast<int>(w * 64 + 63 - std::countl_zero(bits));
  }

  // ---- model and search --------------------------------------------------

  double predict_raw(const Key& k) const { return slope_ * Traits::offset(k, base_) + intercept_; }

  int predict(const Key& k) const {
    double p = predict_raw(k);
    if (!(p > 0)) return 0;  // also catches NaN from an infinite double key
    if (p >= capacity_ - 1) return capacity_ - 1;
    return static_cast<int>(p);
  }

  // First slot in [0, capacity_] whose key is > k (kUpper) or >= k (!kUpper),
  // by exponential search around slot m. REQUIRES capacity_ > 0.
  template <bool kUpper>
  int search(const Key& k, int m) const {
    auto right_of = [&](const Key& x) { return kUpper ? k < x : !(x < k); };
    int lo, hi;  // answer in [lo, hi]; keys_[hi] is right of k or hi == cap
    if (right_of(keys_[m])) {
      int bound = 1;
      while (bound <= m && right_of(keys_[m - bound])) bound <<= 1;
      hi = m - bound / 2;
      lo = bound > m ? 0 : m - bound + 1;
    } else {
      int bound = 1;
      while (m + bound < capacity_ && !right_of(keys_[m + bound])) bound <<= 1;
      lo = m + bound / 2 + 1;
      hi = std::min(m + bound, capacity_);
    }
    while (lo < hi) {
      int mid = lo + (hi - lo) / 2;
      if (right_of(keys_[mid])) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  // Starts loading the payload and bitmap lines of slot m, where a search
  // from m usually ends: they sit apart from the keys, and are needed
  // only after the search, so their cache misses overlap its own.
  void prefetch_around(int m) const {
    __builtin_prefetch(payloads_ + m);
    __builtin_prefetch(bitmap_ + (m >> 6));
  }

  // Slot of k, or -1 if absent.
  int find(const Key& k) const {
    if (num_keys_ == 0) return -1;
    const int m = predict(k);
    prefetch_around(m);
    return match(k, search<true>(k, m) - 1);
  }

  // The slot of k given pos, the last slot whose value is <= k; or -1. A
  // gap equal to k is either a leading gap (k == min(), absent) or a
  // trailing one (k == max(), present iff it is the last key).
  int match(const Key& k, int pos) const {
    if (pos < 0 || keys_[pos] < k) return -1;
    if (occupied(pos)) return pos;
    return pos > last_ && !(keys_[last_] < k) ? last_ : -1;
  }

  // First occupied slot with key >= k, or capacity_ if none.
  int lower_bound(const Key& k) const {
    if (num_keys_ == 0) return capacity_;
    const int m = predict(k);
    prefetch_around(m);
    return next_occupied(search<false>(k, m));
  }

  // REQUIRES num_keys_ > 0.
  const Key& max_key() const { return keys_[last_]; }
  const Key& min_key() const { return keys_[first_]; }

  // ---- insertion ---------------------------------------------------------

  enum class InsertResult { kInserted, kExists, kFull };

  // Inserts (k, p) unless k is present (kExists, *slot = its slot) or the
  // node has no room for it (kFull). A node is full at max_keys, or, for a
  // key beyond the last (first), when no slot is left to its right (left):
  // an append (prepend) must never shift the whole array.
  InsertResult insert(const Key& k, const Payload& p, int max_keys, int* slot, uint64_t* shifts) {
    const int m = predict(k);
    // An append needs no search: the gaps after the last key hold max(),
    // so the slot past it is where the search would end.
    const bool append = num_keys_ == 0 || max_key() < k;
    const int ub = append ? (num_keys_ == 0 ? capacity_ : last_ + 1) : search<true>(k, m);
    if (!append) {
      const int pos = match(k, ub - 1);
      if (pos >= 0) {
        *slot = pos;
        return InsertResult::kExists;
      }
    }
    // The real neighbours of the new key: prev < ub <= next. Appends and
    // prepends find them without scanning the free end of the array.
    const int prev = ub > last_ ? last_ : ub <= first_ ? -1 : prev_occupied(ub - 1);
    const int next = ub > last_ ? capacity_ : next_occupied(ub);
    const bool prepend = num_keys_ > 0 && prev < 0;
    // Also "full": shifts since the last resize passed a budget of a few
    // moves per slot, a sign the model no longer fits (an outlier squashed
    // the other keys together); restructuring now keeps inserts amortized
    // O(1) instead of paying long shifts until the density limit.
    // An append (prepend) into free room at its end shifts nothing, so the
    // density limit does not apply to it. One whose end slot is taken
    // shifts into a gap within kEdgeShift slots of the end, as any insert
    // would (a stray key past the last in a leaf of random inserts), and
    // is full only without one: keys arriving in order fill the end
    // without gaps, and must not shift ever longer runs. Not so for the
    // first insert after a resize, which says nothing yet about where keys
    // arrive: it shifts like any other, and the leaf is judged by the
    // inserts that follow (a leaf of random inserts would otherwise be
    // regrown for appends, its keys packed at one end).
    const bool edge_room = (append && last_ < capacity_ - 1) || (prepend && !occupied(0));
    const bool edge_full =
        inserts_since_resize_ > 0 &&
        ((append && last_ == capacity_ - 1 && prev_gap(capacity_ - 1) < capacity_ - kEdgeShift) ||
         (prepend && occupied(0) && next_gap(0) >= kEdgeShift));
    if ((num_keys_ >= max_keys && !edge_room) || edge_full ||
        shifts_since_resize_ > kShiftBudget * static_cast<uint64_t>(capacity_)) {
      return InsertResult::kFull;
    }

    ++inserts_since_resize_;
    if (append) ++appends_since_resize_;
    if (prepend) ++prepends_since_resize_;
    distance_since_resize_ += static_cast<uint64_t>(std::abs(ub - m));

    int pos;
    if (next - prev > 1) {
      // A run of gaps between the neighbours: place at the predicted slot,
      // clamped into the run. An append (prepend) whose prediction
      // overshoots the array takes the free slot nearest its neighbour
      // instead, keeping room beyond it.
      pos = std::clamp(m, prev + 1, next - 1);
      if (append && pos == capacity_ - 1 && m >= capacity_ - 1) pos = prev + 1;
      if (prepend && pos == 0 && m <= 0) pos = next - 1;
      // Gaps before the new key now repeat it, or are leading gaps (which
      // already hold min() unless the node was empty).
      if (prev >= 0) {
        for (int i = prev + 1; i < pos; ++i) keys_[i] = k;
      } else if (num_keys_ == 0) {
        std::fill(keys_, keys_ + pos, Traits::min());
      } else {
        // Leading gaps between a prepended key and the old first key are
        // now interior: they repeat the old first key.
        std::fill(keys_ + pos + 1, keys_ + next, keys_[next]);
      }
    } else {
      // No gap: shift toward the nearest gap. ub is occupied here.
      const int right = next_gap(ub);
      const int left = prev_gap(ub - 1);
      if (right < capacity_ && (left < 0 || right - ub <= ub - left)) {
        std::memmove(keys_ + ub + 1, keys_ + ub, sizeof(Key) * (right - ub));
        std::memmove(payloads_ + ub + 1, payloads_ + ub, sizeof(Payload) * (right - ub));
        set_bit(right);
        if (right > last_) last_ = right;
        *shifts += static_cast<uint64_t>(right - ub);
        shifts_since_resize_ += static_cast<uint64_t>(right - ub);
        pos = ub;
      } else {
        std::memmove(keys_ + left, keys_ + left + 1, sizeof(Key) * (ub - 1 - left));
        std::memmove(payloads_ + left, payloads_ + left + 1, sizeof(Payload) * (ub - 1 - left));
        set_bit(left);
        if (left < first_) first_ = left;
        *shifts += static_cast<uint64_t>(ub - 1 - left);
        shifts_since_resize_ += static_cast<uint64_t>(ub - 1 - left);
        pos = ub - 1;
      }
    }
    keys_[pos] = k;
    payloads_[pos] = p;
    set_bit(pos);
    if (pos > last_) last_ = pos;
    if (pos < first_) first_ = pos;
    ++num_keys_;
    *slot = pos;
    return InsertResult::kInserted;
  }

  // Removes the key in `slot`. REQUIRES occupied(slot).
  void erase_at(int slot) {
    // Between resizes only this lowers num_keys_, so it sees every peak.
    peak_keys_ = std::max(peak_keys_, num_keys_);
    clear_bit(slot);
    --num_keys_;
    if (slot == first_) {
      first_ = next_occupied(slot);
      // It was the first key: the gaps up to the next real key become
      // leading gaps (or all trailing, when no key is left).
      const int next = first_;
      const Key fill = next < capacity_ ? Traits::min() : Traits::max();
      std::fill(keys_ + (next < capacity_ ? slot : 0), keys_ + std::min(next, capacity_), fill);
    } else {
      // The gap and the gaps before it now repeat the next real key (which
      // keys_[slot + 1] holds, gap or not), or max() at the end.
      const Key next = slot + 1 < capacity_ ? keys_[slot + 1] : Traits::max();
      for (int i = slot; i >= 0 && !occupied(i); --i) keys_[i] = next;
    }
    if (slot == last_) last_ = prev_occupied(slot);
  }

  // ---- bulk placement ----------------------------------------------------

  // Reads a node's real entries in key order, one per next(); at most
  // num_keys_ calls.
  class Reader {
   public:
    explicit Reader(const DataNode& node) : node_(node), bits_(node.bitmap_[0]) {}
    Entry next() {
      while (bits_ == 0) bits_ = node_.bitmap_[++word_];
      const size_t slot = word_ * 64 + static_cast<size_t>(std::countr_zero(bits_));
      bits_ &= bits_ - 1;
      return {node_.keys_[slot], node_.payloads_[slot]};
    }

   private:
    const DataNode& node_;
    size_t word_ = 0;
    uint64_t bits_;
  };

  // Fits pos = slope * offset(k, e[0].first) + intercept to (e[i].first,
  // i * scale) by least squares, kept inside the array (keep_inside).
  void train(const Entry* e, int n, double scale) {
    fit(n, scale, n > 0 ? e[0].first : Key{}, n > 0 ? e[n / 2].first : Key{}, [e](size_t i) { return e[i].first; });
    if (n > 1) keep_inside(e[0].first, e[n - 1].first);
  }
  // The same over the real keys of `from`, as a resize relays them.
  void train(const DataNode& from, double scale) {
    fit(from, scale);
    if (from.num_keys_ > 1) keep_inside(from.min_key(), from.max_key());
  }

 private:
  // train()'s fit over `from`. A large node is fitted to a sample: the
  // first key of each 16-slot group that has one, at its rank (a bitmap
  // count), so the fit reads ~1 key in 11 at density 0.7 instead of
  // walking them all.
  void fit(const DataNode& from, double scale) {
    const int n = from.num_keys_;
    if (n == 0) return fit(0, scale, Key{}, Key{}, [](size_t) { return Key{}; });
    int mid = from.next_occupied(from.capacity_ / 2);
    if (mid == from.capacity_) mid = from.last_;
    if (n < kSampledFitKeys) {
      Reader r(from);
      return fit(n, scale, from.min_key(), from.keys_[mid], [&r](size_t) { return r.next().first; });
    }
    // Ranks are centred on n / 2 and offsets taken from the middle key, so
    // that neither sum is large against the spread (no cancellation).
    const Key& mid_key = from.keys_[mid];
    const double centre = static_cast<double>(n) / 2;
    double c = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    int rank = 0;
    for (size_t w = 0; w < words_for(from.capacity_); ++w) {
      const uint64_t word = from.bitmap_[w];
      for (int group = 0; group < 64; group += 16) {
        const uint64_t bits = (word >> group) & 0xffff;
        if (bits == 0) continue;
        const int bit = group + std::countr_zero(bits);
        const double x = Traits::offset(from.keys_[w * 64 + static_cast<size_t>(bit)], mid_key);
        const double y = rank + std::popcount(word & ((uint64_t{1} << bit) - 1)) - centre;
        c += 1;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
      }
      rank += std::popcount(word);
    }
    set_model(scale, from.min_key(), mid_key, rank_fit_from_sums(c, sx, sy, sxx, sxy, centre));
  }

  // Maps the model's predictions for the end keys [lo, hi] into the array
  // when a least-squares fit puts them outside it (about half of all fits
  // over random keys, by tens of slots in a large node): placement clamps
  // such keys, so they would pile up into one run at the end, where every
  // insert near it shifts the run and an append finds no slot left, and
  // the node resizes early.
  void keep_inside(const Key& lo, const Key& hi) {
    const double a = predict_raw(lo), b = predict_raw(hi);
    const double top = capacity_ - 1;
    if (!(b > a) || (a >= 0 && b <= top)) return;
    const double from = std::max(a, 0.0), to = std::min(b, top);
    const double r = (to - from) / (b - a);
    slope_ *= r;
    intercept_ = from + (intercept_ - a) * r;
    if (!std::isfinite(intercept_)) intercept_ = 0;  // an infinite double key
  }

 public:
  // A model through the end keys: `lo` at slot `first`, `hi` `span` slots
  // later. Used where room must be left at one end: unlike a least-squares
  // fit, it cannot overshoot the edge.
  void fit_ends(const Key& lo, const Key& hi, double span, double first) {
    base_ = lo;
    intercept_ = first;
    slope_ = lo < hi ? span / Traits::offset(hi, lo) : 0;
    if (!std::isfinite(slope_)) slope_ = 0;
  }

  // Fills an empty node (fresh arrays) with sorted unique entries at their
  // predicted slots, pushed right past taken slots and left so that every
  // key fits, in one pass over the slots; sets expected_cost_ to the cost
  // model's figure for the layout: search steps from the predicted to the
  // actual slot of every key, and the shifts an insert would make in the
  // runs of occupied slots (see cost_model.h). REQUIRES n <= capacity_,
  // num_keys_ == 0.
  void place(const Entry* e, int n) {
    place_from([e]() mutable { return *e++; }, n);
  }
  // The same with the real entries of `from` (other arrays than this
  // node's), as a resize relays them.
  void place(const DataNode& from) {
    Reader r(from);
    place_from([&r] { return r.next(); }, from.num_keys_);
  }

  // Takes the arrays, model and layout of `laid` (a node place() filled) and
  // leaves it this node's old arrays, for the caller to release. The leaf
  // chain and the model-check record stay.
  void adopt(DataNode* laid) {
    std::swap(buffer_, laid->buffer_);
    std::swap(keys_, laid->keys_);
    std::swap(payloads_, laid->payloads_);
    std::swap(bitmap_, laid->bitmap_);
    std::swap(capacity_, laid->capacity_);
    num_keys_ = laid->num_keys_;
    first_ = laid->first_;
    last_ = laid->last_;
    base_ = laid->base_;
    slope_ = laid->slope_;
    intercept_ = laid->intercept_;
    inserts_since_resize_ = appends_since_resize_ = prepends_since_resize_ = shifts_since_resize_ = 0;
    distance_since_resize_ = 0;
    expected_cost_ = laid->expected_cost_;
    peak_keys_ = laid->peak_keys_;
  }

 private:
  template <class KeyAt>
  void fit(int n, double scale, const Key& first, const Key& mid, KeyAt key) {
    if (n <= 1) {
      base_ = first;
      slope_ = 0;
      intercept_ = 0;
      return;
    }
    set_model(scale, first, mid, fit_ranks<Key, Traits>(key, static_cast<size_t>(n), mid));
  }
  // The model of a rank fit over offsets from `mid`, scaled by `scale`,
  // re-expressed relative to base_ = first: offset(k, mid) = offset(k, base)
  // - offset(mid, base).
  void set_model(double scale, const Key& first, const Key& mid, const RankFit& f) {
    base_ = first;
    double icpt = f.mean_rank - f.slope * f.mean_offset - f.slope * Traits::offset(mid, base_);
    slope_ = f.slope * scale;
    intercept_ = icpt * scale;
    if (!std::isfinite(intercept_)) intercept_ = 0;
  }

  // place() over entries next() returns in order.
  template <class Next>
  void place_from(Next next, int n) {
    int prev = -1;
    double log_err = 0, run_sq = 0, run = 0;
    // The bitmap word being filled, kept in a register (the arrays are
    // fresh: words no key lands in stay 0).
    uint64_t word = 0;
    int word_at = 0;
    const double top = capacity_ - 1;
    for (int i = 0; i < n; ++i) {
      const auto [k, payload] = next();
      // predict(k), without its branches (NaN gives 0), pushed into
      // [prev + 1, capacity_ - (n - i)], the slots that leave room for the
      // keys after it. The slot depends on the previous one only through
      // the integer max, so placing a key need not wait on converting the
      // last one's slot.
      const double raw = predict_raw(k);
      int p = static_cast<int>(raw > 0 ? (raw < top ? raw : top) : 0);
      p = std::min(std::max(p, prev + 1), capacity_ - (n - i));
      // A gap holds the key after it (those before the first key get min()
      // once all are placed). Most keys have fewer than four gaps before
      // them: those are written without a loop whose trip count the CPU
      // cannot predict, by storing four slots from prev + 1 (slots past p
      // are overwritten later).
      if (p - prev <= 4 && prev + 4 < capacity_) {
        keys_[prev + 1] = k;
        keys_[prev + 2] = k;
        keys_[prev + 3] = k;
        keys_[prev + 4] = k;
      } else {
        for (int g = prev + 1; g < p; ++g) keys_[g] = k;
      }
      keys_[p] = k;
      payloads_[p] = payload;
      if ((p >> 6) != word_at) {
        bitmap_[word_at] = word;
        word_at = p >> 6;
        word = 0;
      }
      word |= uint64_t{1} << (p & 63);
      log_err += log2_1p(std::abs(raw - p));
      // Without a branch: whether a key extends the run is a coin toss.
      const bool extends = p == prev + 1;
      run_sq += extends ? 0 : run * run;
      run = extends ? run + 1 : 1;
      prev = p;
    }
    if (n > 0) bitmap_[word_at] = word;
    std::fill(keys_ + prev + 1, keys_ + capacity_, Traits::max());
    run_sq += run * run;
    num_keys_ = n;
    last_ = prev;
    first_ = n > 0 ? next_occupied(0) : capacity_;
    if (n > 0) std::fill(keys_, keys_ + first_, Traits::min());
    expected_cost_ =
        n > 0 ? CostWeights::kSearch * log_err / n + CostWeights::kShift * run_sq / (4.0 * n) : 0;
    inserts_since_resize_ = appends_since_resize_ = prepends_since_resize_ = shifts_since_resize_ = 0;
    distance_since_resize_ = 0;
    peak_keys_ = n;
  }

 public:
  // Copies the real keys and payloads out, in order. Returns the count.
  int extract(Entry* out) const {
    Reader r(*this);
    for (int i = 0; i < num_keys_; ++i) out[i] = r.next();
    return num_keys_;
  }

  // Describes the first broken invariant, or returns "".
  std::string check() const {
    if (capacity_ <= 0 || buffer_ == nullptr) return "data node without arrays";
    int count = 0, last = -1;
    bool have_prev = false;
    Key prev{};
    for (int i = 0; i < capacity_; ++i) {
      if (i > 0 && keys_[i] < keys_[i - 1]) return "keys not sorted at slot " + std::to_string(i);
      if (occupied(i)) {
        if (have_prev && !(prev < keys_[i])) return "duplicate real key at slot " + std::to_string(i);
        prev = keys_[i];
        have_prev = true;
        ++count;
        last = i;
      }
    }
    if (count != num_keys_) {
      return "bitmap holds " + std::to_string(count) + " keys, node says " + std::to_string(num_keys_);
    }
    if (last != last_) return "last_ is " + std::to_string(last_) + ", last key is at " + std::to_string(last);
    const int first = next_occupied(0);
    if (first != first_) return "first_ is " + std::to_string(first_) + ", first key is at " + std::to_string(first);
    for (int i = 0; i < capacity_; ++i) {
      if (occupied(i)) continue;
      const int nxt = next_occupied(i);
      const Key want = nxt == capacity_ ? Traits::max() : i < first ? Traits::min() : keys_[nxt];
      if (keys_[i] < want || want < keys_[i]) return "gap at slot " + std::to_string(i) + " holds a wrong key";
    }
    return "";
  }

  // ---- state ---------------------------------------------------------------

  char* buffer_ = nullptr;
  Key* keys_ = nullptr;
  Payload* payloads_ = nullptr;
  uint64_t* bitmap_ = nullptr;
  int capacity_ = 0;
  int num_keys_ = 0;
  int first_ = 0;
  int last_ = -1;

  Key base_{};
  double slope_ = 0;
  double intercept_ = 0;

  DataNode* prev_ = nullptr;  // leaves in key order
  DataNode* next_ = nullptr;

  // Since the last resize, for the cost model's expand-or-split decision.
  uint64_t inserts_since_resize_ = 0;
  uint64_t appends_since_resize_ = 0;
  uint64_t prepends_since_resize_ = 0;
  uint64_t shifts_since_resize_ = 0;
  uint64_t distance_since_resize_ = 0;
  double expected_cost_ = 0;  // set by place(): the layout's cost at the last resize

  static constexpr uint64_t kShiftBudget = 4;
  static constexpr int kEdgeShift = 16;  // see insert()
  static constexpr int kSampledFitKeys = 1024;  // train() samples from here on
  // The most keys held since the last resize (a node filled by appends
  // holds far more than right after it), kept up to date by erase_at().
  int peak_keys_ = 0;
  // When Tree::model_beats_leaf last answered no: num_keys_ and expected_cost_.
  int keys_at_check_ = 0;
  double cost_at_check_ = 0;
};

}  // namespace alex::internal

#endif  // ALEX_INTERNAL_NODES_H_
