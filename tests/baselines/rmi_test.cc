// Tests for the benchmark baselines: every operation of baselines::Rmi and
// baselines::SortedVector is checked against std::map over random workloads
// with fixed seeds (shown by SCOPED_TRACE when a check fails), then check()
// verifies the structure's invariants.

#include "bench/baselines/rmi.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/baselines/sorted_vector.h"
#include "bench/datasets.h"

namespace baselines {
namespace {

using Key = int64_t;
using Payload = uint64_t;
using RmiIndex = Rmi<Key, Payload>;
using Map = std::map<Key, Payload>;

constexpr Key kMin = std::numeric_limits<Key>::min();
constexpr Key kMax = std::numeric_limits<Key>::max();

std::string seed_trace(uint64_t seed) { return "seed " + std::to_string(seed); }

std::vector<std::pair<Key, Payload>> pairs_of(const Map& map) {
  return {map.begin(), map.end()};
}

// Payloads derived from keys, so a wrong association shows.
Payload payload_for(Key key) {
  return static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull + 1;
}

// Every key, in order, with its payload; size; invariants.
template <class Index>
void expect_same_contents(const Index& index, const Map& map) {
  ASSERT_EQ(index.check(), "");
  ASSERT_EQ(index.size(), map.size());
  size_t i = 0;
  for (const auto& [key, payload] : map) {
    ASSERT_EQ(index.key_at(i), key) << "at index " << i;
    ASSERT_EQ(index.payload_at(i), payload) << "at index " << i;
    ++i;
  }
}

// find and lower_bound_index of `key` agree with the map. (The index is
// compared by the key it lands on: std::distance on a map is O(n), and keys
// are distinct, so the key fixes the position.)
template <class Index>
void expect_same_lookup(const Index& index, const Map& map, Key key) {
  const auto it = map.lower_bound(key);
  const size_t pos = index.lower_bound_index(key);
  if (it == map.end()) {
    ASSERT_EQ(pos, index.size()) << "key " << key;
  } else {
    ASSERT_LT(pos, index.size()) << "key " << key;
    ASSERT_EQ(index.key_at(pos), it->first) << "key " << key;
    if (pos > 0) {
      ASSERT_LT(index.key_at(pos - 1), key) << "key " << key;
    }
  }
  const Payload* found = index.find(key);
  if (it != map.end() && it->first == key) {
    ASSERT_NE(found, nullptr) << "key " << key;
    ASSERT_EQ(*found, it->second) << "key " << key;
  } else {
    ASSERT_EQ(found, nullptr) << "key " << key;
  }
}

// A scan of up to `count` keys from lower_bound_index(from) matches the map.
template <class Index>
void expect_same_scan(const Index& index, const Map& map, Key from,
                      size_t count) {
  auto it = map.lower_bound(from);
  size_t i = index.lower_bound_index(from);
  for (size_t step = 0; step < count && it != map.end(); ++step, ++it, ++i) {
    ASSERT_LT(i, index.size());
    ASSERT_EQ(index.key_at(i), it->first);
    ASSERT_EQ(index.payload_at(i), it->second);
  }
  if (it == map.end()) {
    ASSERT_EQ(i, index.size());
  }
}

// Key pools: the keys a random workload draws from. Lookups also probe
// neighbours of pool keys, so absent keys next to present ones are covered.
std::vector<Key> small_pool() {  // dense, negative and positive
  std::vector<Key> pool;
  for (Key k = -6000; k <= 6000; ++k) pool.push_back(k);
  return pool;
}

std::vector<Key> timestamp_pool(std::mt19937_64& rng, size_t n) {
  std::vector<Key> pool;
  Key key = 1'700'000'000'000'000'000;
  for (size_t i = 0; i < n; ++i) {
    pool.push_back(key);
    key += 1 + static_cast<Key>(datasets::uniform_below(rng, 64));
  }
  return pool;
}

std::vector<Key> extreme_pool(std::mt19937_64& rng, size_t n) {
  std::vector<Key> pool = {kMin, kMin + 1, kMin + 2, -1,  0,
                           1,    kMax - 2, kMax - 1, kMax};
  while (pool.size() < n) {
    switch (datasets::uniform_below(rng, 3)) {
      case 0:  // anywhere
        pool.push_back(static_cast<Key>(rng()));
        break;
      case 1:  // near the bottom
        pool.push_back(kMin +
                       static_cast<Key>(datasets::uniform_below(rng, 1 << 20)));
        break;
      default:  // near the top
        pool.push_back(kMax -
                       static_cast<Key>(datasets::uniform_below(rng, 1 << 20)));
        break;
    }
  }
  return pool;
}

std::vector<Key> uniform_pool(std::mt19937_64& rng, size_t n) {
  std::vector<Key> pool;
  for (size_t i = 0; i < n; ++i) pool.push_back(static_cast<Key>(rng()));
  return pool;
}

// Bulk-loads a random part of `pool`, then runs `ops` random inserts,
// erases, finds and scans on the Rmi and on a std::map, comparing every
// result, with check() and full contents compared along the way.
void run_differential(const std::vector<Key>& pool, size_t ops, uint64_t seed) {
  SCOPED_TRACE(seed_trace(seed));
  std::mt19937_64 rng(seed);
  Map map;
  for (Key key : pool) {
    if (datasets::uniform_below(rng, 2) == 0)
      map.emplace(key, payload_for(key));
  }
  RmiIndex rmi;
  const auto pairs = pairs_of(map);
  rmi.bulk_load(pairs.data(), pairs.size());
  ASSERT_NO_FATAL_FAILURE(expect_same_contents(rmi, map));

  auto pick = [&]() -> Key {
    const Key key = pool[datasets::uniform_below(rng, pool.size())];
    switch (datasets::uniform_below(rng, 8)) {  // sometimes a neighbour
      case 0:
        return key == kMin ? key : key - 1;
      case 1:
        return key == kMax ? key : key + 1;
      default:
        return key;
    }
  };
  for (size_t op = 0; op < ops; ++op) {
    const Key key = pick();
    switch (datasets::uniform_below(rng, 4)) {
      case 0: {
        const Payload payload = payload_for(key) + op;
        const bool inserted = map.emplace(key, payload).second;
        ASSERT_EQ(rmi.insert(key, payload), inserted) << "insert " << key;
        break;
      }
      case 1:
        ASSERT_EQ(rmi.erase(key), map.erase(key) == 1) << "erase " << key;
        break;
      case 2:
        ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, key));
        break;
      default:
        ASSERT_NO_FATAL_FAILURE(expect_same_scan(rmi, map, key, 100));
        break;
    }
    if (op % 2503 == 0) {
      ASSERT_NO_FATAL_FAILURE(expect_same_contents(rmi, map));
    }
  }
  ASSERT_NO_FATAL_FAILURE(expect_same_contents(rmi, map));
  for (Key key : pool)
    ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, key));
}

TEST(RmiTest, EmptyIndex) {
  RmiIndex rmi;
  EXPECT_EQ(rmi.check(), "");
  EXPECT_EQ(rmi.size(), 0u);
  EXPECT_TRUE(rmi.empty());
  EXPECT_EQ(rmi.find(0), nullptr);
  EXPECT_EQ(rmi.lower_bound_index(kMin), 0u);
  EXPECT_EQ(rmi.lower_bound_index(kMax), 0u);
  EXPECT_FALSE(rmi.erase(0));
  rmi.bulk_load(nullptr, 0);
  EXPECT_EQ(rmi.check(), "");
  EXPECT_EQ(rmi.model_count(), 0u);
}

TEST(RmiTest, InsertIntoEmptyThenEraseToEmpty) {
  RmiIndex rmi;
  Map map;
  const uint64_t seed = 11;
  SCOPED_TRACE(seed_trace(seed));
  std::mt19937_64 rng(seed);
  // 2500 inserts cross two retrains, then everything is erased again.
  std::vector<Key> keys;
  for (int i = 0; i < 2500; ++i) keys.push_back(static_cast<Key>(rng()));
  keys.push_back(kMin);
  keys.push_back(kMax);
  for (Key key : keys) {
    ASSERT_EQ(rmi.insert(key, payload_for(key)),
              map.emplace(key, payload_for(key)).second);
  }
  ASSERT_NO_FATAL_FAILURE(expect_same_contents(rmi, map));
  for (Key key : keys)
    ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, key));
  datasets::shuffle(&keys, seed);
  for (Key key : keys) ASSERT_EQ(rmi.erase(key), map.erase(key) == 1);
  EXPECT_TRUE(rmi.empty());
  EXPECT_EQ(rmi.check(), "");
  EXPECT_EQ(rmi.find(kMin), nullptr);
  EXPECT_TRUE(rmi.insert(kMax, 1));
  EXPECT_NE(rmi.find(kMax), nullptr);
}

TEST(RmiTest, SingleKey) {
  for (Key key : {kMin, Key{-1}, Key{0}, kMax}) {
    SCOPED_TRACE(key);
    RmiIndex rmi;
    const std::pair<Key, Payload> pair(key, 42);
    rmi.bulk_load(&pair, 1);
    EXPECT_EQ(rmi.check(), "");
    ASSERT_NE(rmi.find(key), nullptr);
    EXPECT_EQ(*rmi.find(key), 42u);
    EXPECT_EQ(rmi.lower_bound_index(kMin), 0u);
    EXPECT_EQ(rmi.lower_bound_index(kMax), key == kMax ? 0u : 1u);
    EXPECT_FALSE(rmi.insert(key, 7));
    EXPECT_EQ(*rmi.find(key), 42u);  // not overwritten
  }
}

TEST(RmiTest, RetrainsEveryIntervalUpdates) {
  RmiIndex rmi;
  std::vector<std::pair<Key, Payload>> pairs;
  for (Key k = 0; k < 100'000; ++k) pairs.emplace_back(2 * k, k);
  rmi.bulk_load(pairs.data(), pairs.size());
  EXPECT_EQ(rmi.model_count(), 100'000 / RmiIndex::kKeysPerModel);
  for (size_t i = 1; i < RmiIndex::kRetrainInterval; ++i) {
    ASSERT_TRUE(rmi.insert(2 * static_cast<Key>(i) + 1, 0));
    ASSERT_EQ(rmi.updates_since_train(), i);
  }
  ASSERT_TRUE(rmi.erase(0));  // the 1000th update retrains
  EXPECT_EQ(rmi.updates_since_train(), 0u);
  EXPECT_EQ(rmi.check(), "");  // a fresh model: every key within bounds
}

TEST(RmiTest, DifferentialSmallDenseKeys) {
  run_differential(small_pool(), 200'000, 1);
}

TEST(RmiTest, DifferentialTimestampKeys) {
  const uint64_t seed = 2;
  std::mt19937_64 rng(seed);
  run_differential(timestamp_pool(rng, 20'000), 200'000, seed);
}

TEST(RmiTest, DifferentialExtremeKeys) {
  const uint64_t seed = 3;
  std::mt19937_64 rng(seed);
  run_differential(extreme_pool(rng, 20'000), 200'000, seed);
}

TEST(RmiTest, DifferentialUniformKeys) {
  const uint64_t seed = 4;
  std::mt19937_64 rng(seed);
  run_differential(uniform_pool(rng, 20'000), 200'000, seed);
}

// Larger structures (many models), each benchmark dataset, with lookups of
// present and absent keys, then inserts that drift positions across
// retrains: inserts below the first and above the last key included.
TEST(RmiTest, BenchmarkDatasets) {
  for (datasets::Dataset dataset : datasets::kAllDatasets) {
    SCOPED_TRACE(datasets::name(dataset));
    const std::vector<Key> keys = datasets::generate(dataset, 200'000);
    Map map;
    std::vector<std::pair<Key, Payload>> pairs;
    for (size_t i = 0; i < keys.size(); i += 2) {  // every other key
      pairs.emplace_back(keys[i], i);
      map.emplace(keys[i], i);
    }
    RmiIndex rmi;
    rmi.bulk_load(pairs.data(), pairs.size());
    ASSERT_EQ(rmi.check(), "");
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, keys[i]));
    }
    const uint64_t seed = 5;
    SCOPED_TRACE(seed_trace(seed));
    for (Key key : datasets::absent_keys(keys, 20'000, seed)) {
      ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, key));
    }
    std::vector<size_t> order = datasets::permutation(keys.size() / 2, seed);
    order.resize(2'500);
    for (size_t j : order) {
      const size_t i = 2 * j + 1;
      if (i >= keys.size()) continue;
      ASSERT_TRUE(rmi.insert(keys[i], i));
      map.emplace(keys[i], i);
      ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, keys[i - 1]));
    }
    std::vector<Key> outside = {kMin, kMax};
    if (keys.front() > kMin + 1) outside.push_back(keys.front() - 1);
    if (keys.back() < kMax - 1) outside.push_back(keys.back() + 1);
    for (Key key : outside) {
      if (map.emplace(key, 3).second) {
        ASSERT_TRUE(rmi.insert(key, 3));
      }
      ASSERT_NO_FATAL_FAILURE(expect_same_lookup(rmi, map, key));
    }
    ASSERT_NO_FATAL_FAILURE(expect_same_contents(rmi, map));
  }
}

TEST(SortedVectorTest, Empty) {
  SortedVector<Key, Payload> sv;
  EXPECT_EQ(sv.check(), "");
  EXPECT_EQ(sv.find(0), nullptr);
  EXPECT_EQ(sv.lower_bound_index(kMax), 0u);
  sv.bulk_load(nullptr, 0);
  EXPECT_TRUE(sv.empty());
}

TEST(SortedVectorTest, MatchesMap) {
  const uint64_t seed = 6;
  SCOPED_TRACE(seed_trace(seed));
  std::mt19937_64 rng(seed);
  const std::vector<std::vector<Key>> pools = {
      small_pool(), timestamp_pool(rng, 20'000), extreme_pool(rng, 20'000),
      uniform_pool(rng, 20'000)};
  for (const std::vector<Key>& pool : pools) {
    Map map;
    for (Key key : pool) {
      if (datasets::uniform_below(rng, 2) == 0)
        map.emplace(key, payload_for(key));
    }
    SortedVector<Key, Payload> sv;
    const auto pairs = pairs_of(map);
    sv.bulk_load(pairs.data(), pairs.size());
    ASSERT_NO_FATAL_FAILURE(expect_same_contents(sv, map));
    for (Key key : pool) {
      ASSERT_NO_FATAL_FAILURE(expect_same_lookup(sv, map, key));
      if (key != kMax) {
        ASSERT_NO_FATAL_FAILURE(expect_same_lookup(sv, map, key + 1));
      }
    }
    for (int i = 0; i < 1000; ++i) {
      const Key from = pool[datasets::uniform_below(rng, pool.size())];
      ASSERT_NO_FATAL_FAILURE(expect_same_scan(sv, map, from, 100));
    }
  }
}

}  // namespace
}  // namespace baselines
