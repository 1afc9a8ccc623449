// Deterministic key streams and test-size knobs for the alex::Tree tests.
//
// Every generator takes an explicit seed and draws from std::mt19937_64 through
// the small Random class below, whose distributions are written out here
// rather than taken from <random>: the standard library's distributions are
// implementation-defined, so a seed printed by a failing test would not
// reproduce the same keys under another standard library.
//
// Knobs read from the environment:
//   ALEX_TEST_SCALE  multiplies every large operation or key count (default 1;
//                    e.g. 0.2 for a sanitizer build). Counts that a test's
//                    meaning depends on (a size of 3, one erase) never scale.
//   ALEX_TEST_SEED   when set, replaces every test's fixed seed, to explore
//                    other random streams. Failures always print the seed.

#ifndef ALEX_TESTS_ALEX_KEY_SETS_H_
#define ALEX_TESTS_ALEX_KEY_SETS_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace alex_test {

// ---------------------------------------------------------------------------
// Knobs.

inline double test_scale() {
  static const double scale = [] {
    const char* text = std::getenv("ALEX_TEST_SCALE");
    if (text == nullptr || *text == '\0') return 1.0;
    double value = std::strtod(text, nullptr);
    if (!(value > 0)) return 1.0;
    return std::min(value, 100.0);
  }();
  return scale;
}

// n scaled by ALEX_TEST_SCALE, never below at_least.
inline size_t scaled(size_t n, size_t at_least = 1) {
  double value = static_cast<double>(n) * test_scale();
  return std::max(at_least, static_cast<size_t>(value));
}

// The test's fixed seed, unless ALEX_TEST_SEED overrides it.
inline uint64_t test_seed(uint64_t fixed) {
  const char* text = std::getenv("ALEX_TEST_SEED");
  if (text == nullptr || *text == '\0') return fixed;
  return std::strtoull(text, nullptr, 0);
}

inline std::string seed_trace(uint64_t seed) {
  return "seed=" + std::to_string(seed) +
         " (rerun this test with ALEX_TEST_SEED=" + std::to_string(seed) +
         " to reproduce; ALEX_TEST_SCALE=" + std::to_string(test_scale()) + ")";
}

// ---------------------------------------------------------------------------
// Random numbers with fixed algorithms.

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }

  // Uniform in [0, n); n > 0. Multiply-shift: the bias is below n / 2^64.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >>
                                 64);
  }

  // Uniform in [lo, hi], any int64 bounds (the full range included).
  int64_t between(int64_t lo, int64_t hi) {
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    uint64_t offset = span == 0 ? next() : below(span);
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + offset);
  }

  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool chance(double p) { return unit() < p; }

  // Standard normal (Box-Muller; the second value is thrown away).
  double normal() {
    double u1 = 1.0 - unit();  // (0, 1]
    double u2 = unit();
    return std::sqrt(-2.0 * std::log(u1)) *
           std::cos(2.0 * std::numbers::pi * u2);
  }

  template <class T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      std::swap(items[i - 1], items[below(i)]);
    }
  }

  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

// The bits of a key, for hashing.
template <class Key>
uint64_t key_bits(Key key) {
  if constexpr (std::is_floating_point_v<Key>) {
    return std::bit_cast<uint64_t>(key);
  } else {
    return static_cast<uint64_t>(key);
  }
}

// A payload that depends on the key and a salt, so a payload that landed next
// to the wrong key shows.
inline uint64_t payload_for(uint64_t key_bits, uint64_t salt) {
  uint64_t z = key_bits + salt * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ---------------------------------------------------------------------------
// Neighbouring keys, saturating at the ends of the key domain.

template <class Key>
Key next_key(Key key) {
  if constexpr (std::is_floating_point_v<Key>) {
    Key up = std::nextafter(key, std::numeric_limits<Key>::infinity());
    return std::isfinite(up) ? up : key;
  } else {
    return key == std::numeric_limits<Key>::max() ? key : key + 1;
  }
}

template <class Key>
Key prev_key(Key key) {
  if constexpr (std::is_floating_point_v<Key>) {
    Key down = std::nextafter(key, -std::numeric_limits<Key>::infinity());
    return std::isfinite(down) ? down : key;
  } else {
    return key == std::numeric_limits<Key>::lowest() ? key : key - 1;
  }
}

// Smallest and largest finite keys.
template <class Key>
Key lowest_key() {
  return std::numeric_limits<Key>::lowest();
}
template <class Key>
Key highest_key() {
  return std::numeric_limits<Key>::max();
}

// A key drawn uniformly from the whole domain (for double: a random sign and
// a log-uniform magnitude between 1e-300 and 1e300, plus an occasional 0).
template <class Key>
Key random_domain_key(Random& random) {
  if constexpr (std::is_floating_point_v<Key>) {
    if (random.below(64) == 0) return 0.0;
    double magnitude = std::pow(10.0, random.unit() * 600.0 - 300.0);
    return random.chance(0.5) ? magnitude : -magnitude;
  } else {
    return static_cast<Key>(random.next());
  }
}

// ---------------------------------------------------------------------------
// int64 key sets.

enum class KeySet {
  kAppend,      // increasing, gaps 1..100
  kReverse,     // decreasing, gaps 1..100
  kUniform,     // uniform over all of int64, random order
  kLognormal,   // lognormal(0, 2) x 1e9, random order
  kClustered,   // dense runs (gaps 1..3) at random places and across +-2^62
  kTimestamps,  // nanoseconds from 1.7e18, gaps 1..64, increasing
  kExtreme,     // INT64_MIN/MAX, 0, +-1, +-2^62, dense ends, huge gaps
  kOutlier,     // a dense run near 1e6 and one key at 2^62 + 7
};

inline constexpr KeySet kAllKeySets[] = {
    KeySet::kAppend,    KeySet::kReverse,   KeySet::kUniform,
    KeySet::kLognormal, KeySet::kClustered, KeySet::kTimestamps,
    KeySet::kExtreme,   KeySet::kOutlier,
};

inline const char* key_set_name(KeySet set) {
  switch (set) {
    case KeySet::kAppend:
      return "Append";
    case KeySet::kReverse:
      return "Reverse";
    case KeySet::kUniform:
      return "Uniform";
    case KeySet::kLognormal:
      return "Lognormal";
    case KeySet::kClustered:
      return "Clustered";
    case KeySet::kTimestamps:
      return "Timestamps";
    case KeySet::kExtreme:
      return "Extreme";
    case KeySet::kOutlier:
      return "Outlier";
  }
  return "Unknown";
}

// For gtest's messages about parameterized tests.
inline void PrintTo(KeySet set, std::ostream* os) { *os << key_set_name(set); }

inline constexpr int64_t kTwo62 = int64_t{1} << 62;
inline constexpr int64_t kTimestampBase = 1'700'000'000'000'000'000;
inline constexpr int64_t kOutlierKey = kTwo62 + 7;

namespace internal {

// Appends keys produced by next() that were not seen before until out holds n.
template <class Key, class Next>
void fill_distinct(std::vector<Key>& out, std::unordered_set<Key>& seen,
                   size_t n, Next next) {
  while (out.size() < n) {
    Key key = next();
    if (seen.insert(key).second) out.push_back(key);
  }
}

// A run of increasing keys from start with gaps in [1, max_gap]; stops early
// rather than overflow.
inline void add_run(std::vector<int64_t>& out,
                    std::unordered_set<int64_t>& seen, size_t n, int64_t start,
                    size_t length, int64_t max_gap, Random& random) {
  int64_t key = start;
  for (size_t i = 0; i < length && out.size() < n; ++i) {
    if (seen.insert(key).second) out.push_back(key);
    int64_t gap = random.between(1, max_gap);
    if (key > std::numeric_limits<int64_t>::max() - gap) break;
    key += gap;
  }
}

}  // namespace internal

// n distinct keys of the set, in the set's natural insertion order
// (increasing, decreasing or random, see KeySet).
inline std::vector<int64_t> make_keys(KeySet set, size_t n, uint64_t seed) {
  Random random(seed);
  std::vector<int64_t> keys;
  keys.reserve(n);
  std::unordered_set<int64_t> seen;
  seen.reserve(n * 2);
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  switch (set) {
    case KeySet::kAppend: {
      int64_t key = -1'000'000'000'000;
      for (size_t i = 0; i < n; ++i) {
        keys.push_back(key);
        key += random.between(1, 100);
      }
      break;
    }
    case KeySet::kReverse: {
      int64_t key = 1'000'000'000'000;
      for (size_t i = 0; i < n; ++i) {
        keys.push_back(key);
        key -= random.between(1, 100);
      }
      break;
    }
    case KeySet::kUniform:
      internal::fill_distinct(
          keys, seen, n, [&] { return static_cast<int64_t>(random.next()); });
      break;
    case KeySet::kLognormal:
      internal::fill_distinct(keys, seen, n, [&] {
        double value = std::exp(2.0 * random.normal()) * 1e9;
        return value >= 9.2e18 ? kMax : static_cast<int64_t>(value);
      });
      break;
    case KeySet::kClustered: {
      // Runs of about 1000 keys; the first two straddle +2^62 and -2^62, the
      // rest start anywhere in int64 (not so close to the ends that they
      // would overflow).
      bool first = true, second = true;
      while (keys.size() < n) {
        size_t length = static_cast<size_t>(random.between(1, 2000));
        int64_t start;
        if (first) {
          start = kTwo62 - static_cast<int64_t>(length);
          first = false;
        } else if (second) {
          start = -kTwo62 - static_cast<int64_t>(length);
          second = false;
        } else {
          start = random.between(kMin + 10'000, kMax - 10'000);
        }
        internal::add_run(keys, seen, n, start, length, 3, random);
      }
      random.shuffle(keys);
      break;
    }
    case KeySet::kTimestamps: {
      int64_t key = kTimestampBase;
      for (size_t i = 0; i < n; ++i) {
        keys.push_back(key);
        key += random.between(1, 64);
      }
      break;
    }
    case KeySet::kExtreme: {
      // The named keys come first so that even n = 2 or 3 holds the ends.
      const int64_t specials[] = {
          kMin,
          kMax,
          0,
          -1,
          1,
          kMin + 1,
          kMax - 1,
          kTwo62,
          -kTwo62,
          kTwo62 - 1,
          kTwo62 + 1,
          -kTwo62 - 1,
          -kTwo62 + 1,
          int64_t{1} << 53,
          (int64_t{1} << 53) + 1,
          -(int64_t{1} << 53) - 1,
          int64_t{1} << 31,
          -(int64_t{1} << 31),
          kMin + 2,
          kMax - 2,
      };
      auto add = [&](int64_t key) {
        if (keys.size() < n && seen.insert(key).second) keys.push_back(key);
      };
      for (int64_t key : specials) add(key);
      // The rest, in turn: dense runs (gaps 1..2) up from INT64_MIN, down
      // from INT64_MAX, and both ways from +2^62, -2^62 and 0; then lone keys
      // anywhere, with huge gaps between them.
      int64_t up[] = {kMin + 3, kTwo62 + 2, -kTwo62 + 2, 2};
      int64_t down[] = {kMax - 3, kTwo62 - 2, -kTwo62 - 2, -2};
      size_t per_run = std::max<size_t>(1, n / 12);
      while (keys.size() < n) {
        for (int i = 0; i < 4; ++i) {
          for (size_t j = 0; j < per_run; ++j) {
            add(up[i]);
            up[i] += random.between(1, 2);
            add(down[i]);
            down[i] -= random.between(1, 2);
          }
        }
        for (size_t j = 0; j < per_run / 4 + 1; ++j) {
          add(static_cast<int64_t>(random.next()));
        }
      }
      random.shuffle(keys);
      break;
    }
    case KeySet::kOutlier: {
      if (n > 0) {
        keys.push_back(kOutlierKey);
        seen.insert(kOutlierKey);
      }
      int64_t key = 1'000'000;
      while (keys.size() < n) {
        keys.push_back(key);
        key += random.between(1, 8);
      }
      random.shuffle(keys);
      break;
    }
  }
  return keys;
}

template <class Key>
std::vector<Key> sorted(std::vector<Key> keys) {
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Sorted (key, payload) pairs for bulk_load, payloads from payload_for(key,
// salt).
template <class Key>
std::vector<std::pair<Key, uint64_t>> sorted_pairs(std::vector<Key> keys,
                                                   uint64_t salt) {
  std::sort(keys.begin(), keys.end());
  std::vector<std::pair<Key, uint64_t>> pairs;
  pairs.reserve(keys.size());
  for (Key key : keys)
    pairs.emplace_back(key, payload_for(key_bits(key), salt));
  return pairs;
}

// ---------------------------------------------------------------------------
// double key sets.

enum class DoubleKeySet {
  kUniform,    // uniform in [-1e9, 1e9)
  kLognormal,  // lognormal(0, 2)
  kClose,      // runs of keys 1..3 ulps apart around 1, -1e6, 1e12, 2^-30
  kWide,       // +-1e300, +-1e-300, 0, +-1 and log-uniform magnitudes
};

inline constexpr DoubleKeySet kAllDoubleKeySets[] = {
    DoubleKeySet::kUniform, DoubleKeySet::kLognormal, DoubleKeySet::kClose,
    DoubleKeySet::kWide};

inline const char* double_key_set_name(DoubleKeySet set) {
  switch (set) {
    case DoubleKeySet::kUniform:
      return "DoubleUniform";
    case DoubleKeySet::kLognormal:
      return "DoubleLognormal";
    case DoubleKeySet::kClose:
      return "DoubleClose";
    case DoubleKeySet::kWide:
      return "DoubleWide";
  }
  return "Unknown";
}

// n distinct finite doubles (never -0.0), in random order.
inline std::vector<double> make_double_keys(DoubleKeySet set, size_t n,
                                            uint64_t seed) {
  Random random(seed);
  std::vector<double> keys;
  keys.reserve(n);
  std::unordered_set<double> seen;
  seen.reserve(n * 2);
  switch (set) {
    case DoubleKeySet::kUniform:
      internal::fill_distinct(keys, seen, n,
                              [&] { return random.unit() * 2e9 - 1e9; });
      break;
    case DoubleKeySet::kLognormal:
      internal::fill_distinct(keys, seen, n,
                              [&] { return std::exp(2.0 * random.normal()); });
      break;
    case DoubleKeySet::kClose: {
      const double centers[] = {1.0, -1e6, 1e12, 0x1.0p-30};
      size_t run = 0;
      while (keys.size() < n) {
        double key = centers[run % 4];
        if (run >= 4) key *= 1.0 + random.unit();  // later runs elsewhere
        ++run;
        for (int i = 0; i < 1000 && keys.size() < n; ++i) {
          if (seen.insert(key).second) keys.push_back(key);
          for (int64_t step = random.between(1, 3); step > 0; --step) {
            key = std::nextafter(key, std::numeric_limits<double>::infinity());
          }
        }
      }
      random.shuffle(keys);
      break;
    }
    case DoubleKeySet::kWide: {
      const double specials[] = {1e300,     -1e300,
                                 0.0,       1.0,
                                 -1.0,      1e-300,
                                 -1e-300,   0x1.0p53,
                                 -0x1.0p53, std::numeric_limits<double>::min()};
      for (double key : specials) {
        if (keys.size() < n && seen.insert(key).second) keys.push_back(key);
      }
      internal::fill_distinct(keys, seen, n, [&] {
        double magnitude = std::pow(10.0, random.unit() * 600.0 - 300.0);
        return random.chance(0.5) ? magnitude : -magnitude;
      });
      random.shuffle(keys);
      break;
    }
  }
  return keys;
}

}  // namespace alex_test

#endif  // ALEX_TESTS_ALEX_KEY_SETS_H_
