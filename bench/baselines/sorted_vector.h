// baselines::SortedVector: a read-only sorted array searched with
// std::lower_bound. The lower bound for lookups and scans that any index over
// the same keys should approach; it cannot absorb inserts.
//
// Keys and payloads are separate arrays so a search touches only keys.
//
// Thread safety: const methods may run concurrently; bulk_load may not.

#ifndef ALEX_BENCH_BASELINES_SORTED_VECTOR_H_
#define ALEX_BENCH_BASELINES_SORTED_VECTOR_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace baselines {

template <class Key, class Payload>
class SortedVector {
 public:
  // Replaces the contents with pairs[0..n).
  // REQUIRES: keys strictly increasing.
  void bulk_load(const std::pair<Key, Payload>* pairs, size_t n) {
    keys_.clear();
    payloads_.clear();
    keys_.reserve(n);
    payloads_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      keys_.push_back(pairs[i].first);
      payloads_.push_back(pairs[i].second);
    }
  }

  // Returns the payload of `key`, or nullptr when absent.
  const Payload* find(Key key) const {
    const size_t pos = lower_bound_index(key);
    if (pos < keys_.size() && keys_[pos] == key) return &payloads_[pos];
    return nullptr;
  }

  // Index of the first key >= `key` (size() when there is none).
  size_t lower_bound_index(Key key) const {
    return std::lower_bound(keys_.begin(), keys_.end(), key) - keys_.begin();
  }

  // REQUIRES: i < size().
  Key key_at(size_t i) const { return keys_[i]; }
  const Payload& payload_at(size_t i) const { return payloads_[i]; }

  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // Bytes held by the structure: the object plus the capacity of its arrays.
  size_t memory_bytes() const {
    return sizeof(*this) + keys_.capacity() * sizeof(Key) +
           payloads_.capacity() * sizeof(Payload);
  }

  // Returns "" when keys are strictly increasing and the arrays match in
  // length, else a description of the violation.
  std::string check() const {
    if (payloads_.size() != keys_.size()) {
      return "key and payload arrays differ in size";
    }
    for (size_t i = 1; i < keys_.size(); ++i) {
      if (!(keys_[i - 1] < keys_[i])) {
        return "keys not strictly increasing at " + std::to_string(i);
      }
    }
    return "";
  }

 private:
  std::vector<Key> keys_;
  std::vector<Payload> payloads_;
};

}  // namespace baselines

#endif  // ALEX_BENCH_BASELINES_SORTED_VECTOR_H_
