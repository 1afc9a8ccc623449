// Deterministic key sets and workload helpers for the benchmarks.
//
// Every generator returns exactly n sorted, distinct int64 keys and is a pure
// function of (n, seed): the random numbers come from std::mt19937_64, whose
// output the C++ standard fixes, turned into integers, doubles and normals by
// the helpers below rather than by the std distributions (whose algorithms
// differ between standard libraries). The same n gives the same keys with
// any standard library; lognormal also relies on libm's exp/log/cos, which
// may round differently elsewhere.
//
//   timestamps  start at 1.7e18 (nanoseconds since 1970, late 2023), gaps of
//               1e9 +- uniform(2e8): one reading a second with jitter
//   uniform     uniform over the whole int64 range
//   lognormal   lognormal(mu 0, sigma 2) * 1e9, rounded; collisions are bumped
//               up to the next free integer
//   clustered   about 1000 dense runs (gaps 1..4) at random places in the
//               int64 range
//
// Workload helpers: permutation(), shuffle(), random_half() and absent_keys().

#ifndef ALEX_BENCH_DATASETS_H_
#define ALEX_BENCH_DATASETS_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

namespace datasets {

enum class Dataset { kTimestamps, kUniform, kLognormal, kClustered };

inline constexpr Dataset kAllDatasets[] = {
    Dataset::kTimestamps, Dataset::kUniform, Dataset::kLognormal,
    Dataset::kClustered};

// The dataset's name as used in benchmark names: "timestamps", "uniform",
// "lognormal", "clustered".
inline const char* name(Dataset dataset) {
  switch (dataset) {
    case Dataset::kTimestamps:
      return "timestamps";
    case Dataset::kUniform:
      return "uniform";
    case Dataset::kLognormal:
      return "lognormal";
    case Dataset::kClustered:
      return "clustered";
  }
  return "?";
}

// Fixed seeds, one per generator and helper use.
inline constexpr uint64_t kTimestampsSeed = 0x7473'0001;
inline constexpr uint64_t kUniformSeed = 0x756e'0002;
inline constexpr uint64_t kLognormalSeed = 0x6c6e'0003;
inline constexpr uint64_t kClusteredSeed = 0x636c'0004;

inline constexpr int64_t kTimestampStart = 1'700'000'000'000'000'000;

// ---- Random helpers (portable: only mt19937_64's raw output is used) ----

// Uniform in [0, bound). REQUIRES: bound > 0. (Multiply-shift; the bias is
// below bound / 2^64, irrelevant here.)
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  return static_cast<uint64_t>(
      (static_cast<unsigned __int128>(rng()) * bound) >> 64);
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Standard normal (Box-Muller, one value per call).
inline double standard_normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - uniform_unit(rng);  // (0, 1]: log is finite
  const double u2 = uniform_unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Fisher-Yates shuffle of *values.
template <class T>
void shuffle(std::vector<T>* values, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = values->size(); i > 1; --i) {
    std::swap((*values)[i - 1], (*values)[uniform_below(rng, i)]);
  }
}

// Sorts *keys and makes them distinct by raising each key that is not above
// its predecessor to predecessor + 1. REQUIRES: no key reaches INT64_MAX
// through this (the callers leave room).
inline void sort_and_bump(std::vector<int64_t>* keys) {
  std::sort(keys->begin(), keys->end());
  for (size_t i = 1; i < keys->size(); ++i) {
    if ((*keys)[i] <= (*keys)[i - 1]) (*keys)[i] = (*keys)[i - 1] + 1;
  }
}

// ---- Generators: n sorted, distinct keys ----

inline std::vector<int64_t> timestamps(size_t n,
                                       uint64_t seed = kTimestampsSeed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> keys(n);
  int64_t key = kTimestampStart;
  for (size_t i = 0; i < n; ++i) {
    keys[i] = key;
    key += 800'000'000 + static_cast<int64_t>(uniform_below(rng, 400'000'001));
  }
  return keys;
}

inline std::vector<int64_t> uniform(size_t n, uint64_t seed = kUniformSeed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> keys;
  keys.reserve(n);
  // Draw, drop duplicates, and top up until n distinct keys remain.
  while (keys.size() < n) {
    while (keys.size() < n) keys.push_back(static_cast<int64_t>(rng()));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  return keys;
}

inline std::vector<int64_t> lognormal(size_t n,
                                      uint64_t seed = kLognormalSeed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    // exp(2 * N(0,1)) * 1e9 stays far below 2^63 (it would take a 14-sigma
    // draw to reach 1e18).
    keys[i] = std::llround(std::exp(2.0 * standard_normal(rng)) * 1e9);
  }
  sort_and_bump(&keys);
  return keys;
}

inline std::vector<int64_t> clustered(size_t n,
                                      uint64_t seed = kClusteredSeed) {
  std::mt19937_64 rng(seed);
  const size_t runs = std::min<size_t>(1000, n);
  // Starts leave room above for a run (gaps <= 4) plus bumps (<= n).
  const uint64_t room = 8 * static_cast<uint64_t>(n) + 8;
  std::vector<int64_t> keys;
  keys.reserve(n);
  for (size_t r = 0; r < runs; ++r) {
    const size_t length = n / runs + (r < n % runs ? 1 : 0);
    uint64_t key =
        uniform_below(rng, std::numeric_limits<uint64_t>::max() - room) +
        static_cast<uint64_t>(std::numeric_limits<int64_t>::min());
    for (size_t i = 0; i < length; ++i) {
      keys.push_back(static_cast<int64_t>(key));
      key += 1 + uniform_below(rng, 4);
    }
  }
  sort_and_bump(&keys);
  return keys;
}

// generate(d, n): the generator for `d` with its fixed seed.
inline std::vector<int64_t> generate(Dataset dataset, size_t n) {
  switch (dataset) {
    case Dataset::kTimestamps:
      return timestamps(n);
    case Dataset::kUniform:
      return uniform(n);
    case Dataset::kLognormal:
      return lognormal(n);
    case Dataset::kClustered:
      return clustered(n);
  }
  return {};
}

// ---- Workload helpers ----

// A random permutation of 0..n-1.
inline std::vector<size_t> permutation(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  shuffle(&order, seed);
  return order;
}

// Splits the indices 0..n-1 into two random halves: `first` in increasing
// order (to bulk-load: the keys at those indices are sorted) and `second` in
// random order (to insert). first.size() == n - n / 2.
struct Halves {
  std::vector<size_t> first;
  std::vector<size_t> second;
};
inline Halves random_half(size_t n, uint64_t seed) {
  std::vector<size_t> order = permutation(n, seed);
  Halves halves;
  halves.second.assign(order.begin(), order.begin() + n / 2);
  std::vector<bool> in_second(n, false);
  for (size_t i : halves.second) in_second[i] = true;
  halves.first.reserve(n - n / 2);
  for (size_t i = 0; i < n; ++i) {
    if (!in_second[i]) halves.first.push_back(i);
  }
  return halves;
}

// `count` keys (in random order, possibly repeated) guaranteed absent from
// `sorted_keys`. Each is drawn strictly inside a random gap between
// consecutive keys, or below the first / above the last, so misses are spread
// like the keys themselves. REQUIRES: sorted_keys sorted, distinct, and not
// every int64 (there is at least one absent key).
inline std::vector<int64_t> absent_keys(const std::vector<int64_t>& sorted_keys,
                                        size_t count, uint64_t seed) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const size_t n = sorted_keys.size();
  std::mt19937_64 rng(seed);
  std::vector<int64_t> result;
  result.reserve(count);
  // Draws a key inside gap g, the integers strictly between sorted_keys[g-1]
  // and sorted_keys[g]; returns false when the gap holds none.
  auto draw_in_gap = [&](size_t gap, int64_t* key) {
    // [lo, hi]: the integers strictly between the gap's neighbouring keys
    // (the ends of the int64 range bound the outer gaps), held as uint64 so
    // no arithmetic overflows.
    uint64_t lo = static_cast<uint64_t>(kMin);
    uint64_t hi = static_cast<uint64_t>(kMax);
    if (gap > 0) {
      if (sorted_keys[gap - 1] == kMax) return false;
      lo = static_cast<uint64_t>(sorted_keys[gap - 1]) + 1;
    }
    if (gap < n) {
      if (sorted_keys[gap] == kMin) return false;
      hi = static_cast<uint64_t>(sorted_keys[gap]) - 1;
    }
    if (static_cast<int64_t>(lo) > static_cast<int64_t>(hi)) return false;
    const uint64_t width = hi - lo;  // the gap holds width + 1 integers
    const uint64_t offset = width == std::numeric_limits<uint64_t>::max()
                                ? rng()
                                : uniform_below(rng, width + 1);
    *key = static_cast<int64_t>(lo + offset);
    return true;
  };
  // Random gaps first; dense key sets where most gaps are empty fall back to
  // walking the gaps in order, so the call always terminates.
  size_t attempts = 64 * count + 1024;
  while (result.size() < count && attempts-- > 0) {
    int64_t key;
    if (draw_in_gap(uniform_below(rng, n + 1), &key)) result.push_back(key);
  }
  for (size_t gap = 0; result.size() < count; gap = gap == n ? 0 : gap + 1) {
    int64_t key;
    if (draw_in_gap(gap, &key)) result.push_back(key);
  }
  return result;
}

}  // namespace datasets

#endif  // ALEX_BENCH_DATASETS_H_
