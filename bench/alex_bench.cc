// alex_bench: the ALEX index (src/alex) against the baselines it replaces or
// competes with, on four key distributions, with Google Benchmark.
//
// Every benchmark is named <op>/<structure>/<dataset>/<n>:
//   op         bulk_load, lookup_hit, lookup_miss, lookup_hit_after_append,
//              insert_random, append, scan100, erase
//   structure  alex           alex::Tree<int64_t, uint64_t>
//              rmi            baselines::Rmi, the index this system had before
//              std_map        std::map
//              absl_btree     absl::btree_map
//              sorted_vector  baselines::SortedVector (read-only ops only)
//   dataset    timestamps, uniform, lognormal, clustered (bench/datasets.h)
//   n          1000000, 10000000
// Keys are int64_t, payloads uint64_t (a row slot: the key's rank in the
// dataset). append and lookup_hit_after_append run on timestamps only.
//
// What each op does, and how its time per operation is computed. Every
// benchmark reports the counter ns_per_op: the wall-clock time of its timed
// work (std::chrono::steady_clock, untimed setup excluded) divided by the
// operations performed in it. For the per-op benchmarks (one operation per
// iteration) it equals the Time column, in ns; for the batch benchmarks the
// Time and CPU columns are per batch, in ms, and ns_per_op is the number to
// compare. items_per_second is reported too (from CPU time).
//   bulk_load      one iteration = building the structure from the n sorted
//                  pairs (std::map / absl: insert in order with an end()
//                  hint; sorted_vector: copy). ns_per_op = per key loaded.
//                  Also bytes_per_key, and minor_faults per build. Four
//                  untimed builds come first, each kept until the next is
//                  built, so that every structure is timed once the
//                  allocator reuses what an earlier build freed: glibc maps
//                  chunks over 128 KiB (alex's largest leaves) afresh until
//                  freeing one raises its threshold, while the baselines'
//                  small nodes come from heap the workload's setup left, so
//                  without warm-ups alex's first build alone paid a page
//                  fault per 4 KiB. ALEX_BENCH_WARMUPS=0 in the environment
//                  times first builds (run one benchmark per process).
//   lookup_hit     one iteration = one find of a present key, taken in turn
//                  from a shuffled array of all n keys (wrapping around); the
//                  payload is read. Consecutive lookups are independent, so
//                  the CPU may overlap them: this is lookup throughput.
//   lookup_miss    the same with keys guaranteed absent, drawn inside the gaps
//                  between keys (datasets::absent_keys).
//   scan100        one iteration = lower_bound of a random present key, then
//                  100 steps forward (fewer at the end), summing payloads.
//   insert_random  one iteration = bulk-load a random half of the keys
//                  (untimed), then insert the other half in random order
//                  (timed). ns_per_op = per insert. Also bytes_per_key after,
//                  and minor_faults per phase (the page faults of its growth:
//                  ~11 us each on the project's VM).
//   erase          one iteration = bulk-load all n keys (untimed), then erase
//                  a random half of them (timed). ns_per_op = per erase.
//   append         one iteration = bulk-load the first 10% (untimed), then
//                  insert the rest in increasing order (timed). ns_per_op =
//                  per append. Also bytes_per_key after, and minor_faults
//                  per phase.
//   lookup_hit_after_append
//                  lookup_hit on the structure the append phase built.
// Untimed setup runs between state.PauseTiming() and state.ResumeTiming(),
// twice per (large) iteration, so their own cost is negligible.
//
// rmi updates shift its arrays (O(n) per insert or erase) and retrain the
// whole model every 1000 updates, so a full insert_random or erase phase
// would take hours at n = 10M. Its update benchmarks time only a window of
// kRmi*Ops consecutive operations from the middle of the phase: the
// operations before the window are folded into the untimed bulk load, the
// ones after it are skipped. An Rmi's state depends only on its array and on
// the updates since the last retrain, so the window starts from the state
// the earlier operations would have left, except that its retrain counter
// starts at zero; windows are multiples of 1000 long, so each contains
// exactly window/1000 retrains, as any window of that length in the full
// phase would. Mid-phase, the array has its average size over the phase.
// lookup_hit_after_append's rmi structure is built the same way with the
// window at the very end of the append phase: the phase length is a multiple
// of 1000, so the last append retrains, and the result is exactly what
// appending every key would give.
//
// Memory (bytes_per_key = bytes / keys held):
//   alex, rmi, sorted_vector  the structure's memory_bytes()
//   absl_btree                bytes requested through a counting allocator
//                             plus sizeof(map)
//   std_map                   estimated: 64 bytes per node, i.e. the 48-byte
//                             libstdc++ node (32-byte red-black header +
//                             16-byte pair) plus 16 bytes of glibc malloc
//                             header and rounding
// The others' few large allocations make allocator overhead negligible.
//
// Each (structure, dataset, n) is built once for its read-only benchmarks
// and kept while they run (the benchmarks are registered grouped by dataset
// and n, and each cache holds one entry, so memory stays bounded).
//
// Running (Release build):
//   build/bench/alex_bench                                   # everything
//   build/bench/alex_bench --benchmark_filter='/1000000$'    # the 1M subset
//   build/bench/alex_bench --benchmark_filter='^lookup_hit/.*/timestamps/'

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "alex/alex.h"
#include "bench/baselines/rmi.h"
#include "bench/baselines/sorted_vector.h"
#include "bench/datasets.h"

namespace {

using Key = int64_t;
using Payload = uint64_t;
using Pair = std::pair<Key, Payload>;
using datasets::Dataset;

constexpr size_t kSizes[] = {1'000'000, 10'000'000};
constexpr size_t kMissProbes = size_t{1} << 20;
constexpr size_t kScanLength = 100;
// Untimed builds before bulk_load's timed ones (see the file comment): glibc
// serves alex's largest leaves from reused heap memory from the fifth build
// of 10M keys on. ALEX_BENCH_WARMUPS overrides it.
int bulk_load_warmups() {
  const char* env = std::getenv("ALEX_BENCH_WARMUPS");
  return env != nullptr ? std::atoi(env) : 4;
}

// Seeds of the workload helpers (the datasets have their own).
constexpr uint64_t kOrderSeed = 0xbe'0001;
constexpr uint64_t kHalvesSeed = 0xbe'0002;
constexpr uint64_t kMissSeed = 0xbe'0003;

// rmi's timed window for update benchmarks (see the file comment), sized so
// each benchmark takes a few seconds (a random insert or erase moves half the
// array: ~0.1 ms at 1M keys, ~1 ms at 10M). Multiples of the retrain
// interval, so each window retrains a whole number of times.
constexpr size_t kRmiRandomOps1M = 20'000;  // insert_random, erase at n = 1M
constexpr size_t kRmiRandomOps10M = 2'000;  // insert_random, erase at n = 10M
constexpr size_t kRmiAppendOps = 100'000;   // append at any n

enum class Op {
  kBulkLoad,
  kLookupHit,
  kLookupMiss,
  kLookupHitAfterAppend,
  kInsertRandom,
  kAppend,
  kScan100,
  kErase,
};

const char* op_name(Op op) {
  switch (op) {
    case Op::kBulkLoad:
      return "bulk_load";
    case Op::kLookupHit:
      return "lookup_hit";
    case Op::kLookupMiss:
      return "lookup_miss";
    case Op::kLookupHitAfterAppend:
      return "lookup_hit_after_append";
    case Op::kInsertRandom:
      return "insert_random";
    case Op::kAppend:
      return "append";
    case Op::kScan100:
      return "scan100";
    case Op::kErase:
      return "erase";
  }
  return "?";
}

// ---- Structures, behind one small surface ----
//
// Each adapter has kName; bulk_load; find (nullptr when absent); scan_sum
// (payload sum of up to `count` keys from the first key >= `from`); size;
// memory_bytes; and kUpdatable, which when true adds insert / erase (true
// when they changed something) and timed_ops(op, n, phase), how many
// operations of an update phase the benchmark times. Adapters live behind
// pointers and are never copied or moved.

class AlexIndex {
 public:
  static constexpr const char* kName = "alex";
  static constexpr bool kUpdatable = true;
  static size_t timed_ops(Op, size_t, size_t phase) { return phase; }

  void bulk_load(const Pair* pairs, size_t n) { tree_.bulk_load(pairs, n); }
  const Payload* find(Key key) const {
    const auto it = tree_.find(key);
    return it == tree_.end() ? nullptr : &it.payload();
  }
  bool insert(Key key, Payload payload) {
    return tree_.insert(key, payload).second;
  }
  bool erase(Key key) { return tree_.erase(key) == 1; }
  Payload scan_sum(Key from, size_t count) const {
    Payload sum = 0;
    auto it = tree_.lower_bound(from);
    for (size_t i = 0; i < count && it != tree_.end(); ++i, ++it) {
      sum += it.payload();
    }
    return sum;
  }
  size_t size() const { return tree_.size(); }
  size_t memory_bytes() const { return tree_.memory_bytes(); }

 private:
  alex::Tree<Key, Payload> tree_;
};

class RmiIndex {
 public:
  static constexpr const char* kName = "rmi";
  static constexpr bool kUpdatable = true;
  static size_t timed_ops(Op op, size_t n, size_t phase) {
    const size_t cap = op == Op::kAppend ? kRmiAppendOps
                       : n <= 1'000'000  ? kRmiRandomOps1M
                                         : kRmiRandomOps10M;
    return std::min(cap, phase);
  }

  void bulk_load(const Pair* pairs, size_t n) { rmi_.bulk_load(pairs, n); }
  const Payload* find(Key key) const { return rmi_.find(key); }
  bool insert(Key key, Payload payload) { return rmi_.insert(key, payload); }
  bool erase(Key key) { return rmi_.erase(key); }
  Payload scan_sum(Key from, size_t count) const {
    Payload sum = 0;
    const size_t end = rmi_.size();
    for (size_t i = rmi_.lower_bound_index(from); i < end && count > 0;
         ++i, --count) {
      sum += rmi_.payload_at(i);
    }
    return sum;
  }
  size_t size() const { return rmi_.size(); }
  size_t memory_bytes() const { return rmi_.memory_bytes(); }

 private:
  baselines::Rmi<Key, Payload> rmi_;
};

class SortedVectorIndex {
 public:
  static constexpr const char* kName = "sorted_vector";
  static constexpr bool kUpdatable = false;

  void bulk_load(const Pair* pairs, size_t n) { sv_.bulk_load(pairs, n); }
  const Payload* find(Key key) const { return sv_.find(key); }
  Payload scan_sum(Key from, size_t count) const {
    Payload sum = 0;
    const size_t end = sv_.size();
    for (size_t i = sv_.lower_bound_index(from); i < end && count > 0;
         ++i, --count) {
      sum += sv_.payload_at(i);
    }
    return sum;
  }
  size_t size() const { return sv_.size(); }
  size_t memory_bytes() const { return sv_.memory_bytes(); }

 private:
  baselines::SortedVector<Key, Payload> sv_;
};

// Shared by the two ordered-map adapters.
template <class Map>
class MapIndexBase {
 public:
  static constexpr bool kUpdatable = true;
  static size_t timed_ops(Op, size_t, size_t phase) { return phase; }

  void bulk_load(const Pair* pairs, size_t n) {
    map_.clear();
    for (size_t i = 0; i < n; ++i) {
      map_.emplace_hint(map_.end(), pairs[i].first, pairs[i].second);
    }
  }
  const Payload* find(Key key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  bool insert(Key key, Payload payload) {
    return map_.emplace(key, payload).second;
  }
  bool erase(Key key) { return map_.erase(key) == 1; }
  Payload scan_sum(Key from, size_t count) const {
    Payload sum = 0;
    auto it = map_.lower_bound(from);
    for (size_t i = 0; i < count && it != map_.end(); ++i, ++it) {
      sum += it->second;
    }
    return sum;
  }
  size_t size() const { return map_.size(); }

 protected:
  explicit MapIndexBase(Map map) : map_(std::move(map)) {}
  MapIndexBase(const MapIndexBase&) = delete;
  MapIndexBase& operator=(const MapIndexBase&) = delete;
  Map map_;
};

class StdMapIndex : public MapIndexBase<std::map<Key, Payload>> {
 public:
  static constexpr const char* kName = "std_map";
  // Estimated per-node heap footprint; see the file comment.
  static constexpr size_t kBytesPerNode = 48 + 16;

  StdMapIndex() : MapIndexBase({}) {}
  size_t memory_bytes() const {
    return sizeof(map_) + map_.size() * kBytesPerNode;
  }
};

// An allocator that adds the bytes it hands out to *bytes (and subtracts
// them when returned). Copies and rebinds share the counter.
template <class T>
class CountingAllocator {
 public:
  using value_type = T;
  explicit CountingAllocator(size_t* bytes) : bytes_(bytes) {}
  template <class U>
  CountingAllocator(const CountingAllocator<U>& other)
      : bytes_(other.bytes()) {}

  T* allocate(size_t n) {
    *bytes_ += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    *bytes_ -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  size_t* bytes() const { return bytes_; }
  template <class U>
  bool operator==(const CountingAllocator<U>& other) const {
    return bytes_ == other.bytes();
  }

 private:
  size_t* bytes_;
};

using CountedBtree =
    absl::btree_map<Key, Payload, std::less<Key>,
                    CountingAllocator<std::pair<const Key, Payload>>>;

// Holds the byte count of AbslBtreeIndex's allocator. A base class listed
// before the map's, so it is built before the map and destroyed after it.
struct AllocatedBytes {
  size_t allocated_bytes = 0;
};

class AbslBtreeIndex : private AllocatedBytes,
                       public MapIndexBase<CountedBtree> {
 public:
  static constexpr const char* kName = "absl_btree";

  AbslBtreeIndex()
      : MapIndexBase(
            CountedBtree(CountedBtree::allocator_type(&allocated_bytes))) {}
  size_t memory_bytes() const { return sizeof(map_) + allocated_bytes; }
};

// ---- Workloads: one (dataset, n) at a time ----

struct Workload {
  Dataset dataset;
  size_t n = 0;
  std::vector<Key> keys;         // sorted, distinct
  std::vector<Pair> pairs;       // (keys[i], i)
  std::vector<size_t> order;     // random permutation of 0..n-1
  std::vector<Key> hit_probes;   // keys[order[i]]
  std::vector<Key> miss_probes;  // kMissProbes absent keys
  datasets::Halves halves;       // insert_random: load first, insert second
};

// Structures kept for the read-only benchmarks: one at a time, keyed by
// "<structure>/<shape>".
struct IndexCache {
  std::string id;
  std::shared_ptr<void> index;
};

IndexCache& index_cache() {
  static IndexCache cache;
  return cache;
}

// The workload for (dataset, n), generated on first use; switching to
// another one frees the previous workload and the cached structure.
const Workload& workload(Dataset dataset, size_t n) {
  static std::unique_ptr<Workload> current;
  if (current != nullptr && current->dataset == dataset && current->n == n) {
    return *current;
  }
  index_cache() = IndexCache();
  current.reset();
  auto w = std::make_unique<Workload>();
  w->dataset = dataset;
  w->n = n;
  w->keys = datasets::generate(dataset, n);
  w->pairs.reserve(n);
  for (size_t i = 0; i < n; ++i) w->pairs.emplace_back(w->keys[i], i);
  w->order = datasets::permutation(n, kOrderSeed);
  w->hit_probes.reserve(n);
  for (size_t i : w->order) w->hit_probes.push_back(w->keys[i]);
  w->miss_probes = datasets::absent_keys(w->keys, kMissProbes, kMissSeed);
  w->halves = datasets::random_half(n, kHalvesSeed);
  current = std::move(w);
  return *current;
}

// The pairs (keys[i], i) for every i with keep[i], in key order.
std::vector<Pair> pairs_where(const Workload& w,
                              const std::vector<bool>& keep) {
  std::vector<Pair> pairs;
  for (size_t i = 0; i < w.n; ++i) {
    if (keep[i]) pairs.push_back(w.pairs[i]);
  }
  return pairs;
}

// An update phase of `phase` operations of which `timed` run in the timed
// window [skip, skip + timed); the first `skip` are folded into the initial
// bulk load.
struct Window {
  size_t skip;
  size_t timed;
};

template <class Index>
Window window_for(Op op, size_t n, size_t phase) {
  const size_t timed = Index::timed_ops(op, n, phase);
  return {(phase - timed) / 2, timed};
}

// Builds the structure lookup_hit_after_append reads: the first 10% of the
// keys bulk-loaded, the rest appended in order (for rmi, all but the last
// window bulk-loaded; see the file comment).
template <class Index>
std::unique_ptr<Index> build_appended(const Workload& w) {
  const size_t phase = w.n - w.n / 10;
  const size_t loaded = w.n - Index::timed_ops(Op::kAppend, w.n, phase);
  auto index = std::make_unique<Index>();
  index->bulk_load(w.pairs.data(), loaded);
  for (size_t i = loaded; i < w.n; ++i) index->insert(w.keys[i], i);
  return index;
}

enum class Shape { kBulkLoaded, kAppended };

// The cached structure of `shape` for w, built now if it is not the cached
// one.
template <class Index>
const Index& cached_index(const Workload& w, Shape shape) {
  const std::string id = std::string(Index::kName) +
                         (shape == Shape::kAppended ? "/appended" : "/bulk");
  IndexCache& cache = index_cache();
  if (cache.id != id) {
    cache = IndexCache();  // free the old structure first
    std::shared_ptr<Index> index;
    if constexpr (Index::kUpdatable) {
      if (shape == Shape::kAppended) index = build_appended<Index>(w);
    }
    if (index == nullptr) {
      index = std::make_shared<Index>();
      index->bulk_load(w.pairs.data(), w.n);
    }
    cache = IndexCache{id, std::move(index)};
  }
  return *static_cast<const Index*>(cache.index.get());
}

template <class Index>
void keep_in_cache(Shape shape, std::unique_ptr<Index> index) {
  index_cache() =
      IndexCache{std::string(Index::kName) +
                     (shape == Shape::kAppended ? "/appended" : "/bulk"),
                 std::shared_ptr<Index>(std::move(index))};
}

// ---- Reporting ----

using Clock = std::chrono::steady_clock;

// Page faults the process has taken that needed no I/O (fresh memory).
long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

double ns_since(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

// Reports ns_per_op = timed_ns / ops, where timed_ns is the wall-clock time
// of the timed work over all iterations of this run, and items processed.
void report_ops(benchmark::State& state, double timed_ns, double ops) {
  if (ops <= 0) return;
  state.counters["ns_per_op"] = timed_ns / ops;
  state.SetItemsProcessed(static_cast<int64_t>(ops));
}

// Reports minor_faults: the page faults of the timed work, per iteration.
void report_faults(benchmark::State& state, long faults) {
  state.counters["minor_faults"] =
      static_cast<double>(faults) / static_cast<double>(state.iterations());
}

template <class Index>
void report_memory(benchmark::State& state, const Index& index) {
  if (index.size() == 0) return;
  state.counters["bytes_per_key"] = static_cast<double>(index.memory_bytes()) /
                                    static_cast<double>(index.size());
}

// ---- Benchmarks ----

template <class Index>
void bm_bulk_load(benchmark::State& state, Dataset dataset, size_t n) {
  const Workload& w = workload(dataset, n);
  index_cache() = IndexCache();  // room for the builds
  std::unique_ptr<Index> built;
  const auto build = [&] {
    auto index = std::make_unique<Index>();
    index->bulk_load(w.pairs.data(), n);
    return index;
  };
  for (int i = bulk_load_warmups(); i > 0; --i) built = build();
  double timed_ns = 0;
  const long faults_before = minor_faults();
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    std::unique_ptr<Index> index = build();
    timed_ns += ns_since(start);
    state.PauseTiming();
    built = std::move(index);  // frees the previous build, untimed
    state.ResumeTiming();
  }
  if (built == nullptr) return;
  if (built->size() != n) state.SkipWithError("wrong size after bulk_load");
  report_ops(state, timed_ns, static_cast<double>(state.iterations()) * n);
  report_faults(state, minor_faults() - faults_before);
  report_memory(state, *built);
  keep_in_cache(Shape::kBulkLoaded, std::move(built));
}

template <class Index>
void bm_lookup_hit(benchmark::State& state, Dataset dataset, size_t n,
                   Shape shape) {
  const Workload& w = workload(dataset, n);
  const Index& index = cached_index<Index>(w, shape);
  const std::vector<Key>& probes = w.hit_probes;
  size_t next = 0;
  Payload sum = 0;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    const Payload* payload = index.find(probes[next]);
    if (payload == nullptr) {
      state.SkipWithError("a present key was not found");
      break;
    }
    sum += *payload;  // the payload is read, not just located
    benchmark::DoNotOptimize(sum);
    if (++next == probes.size()) next = 0;
  }
  report_ops(state, ns_since(start), static_cast<double>(state.iterations()));
}

template <class Index>
void bm_lookup_miss(benchmark::State& state, Dataset dataset, size_t n) {
  const Workload& w = workload(dataset, n);
  const Index& index = cached_index<Index>(w, Shape::kBulkLoaded);
  const std::vector<Key>& probes = w.miss_probes;
  size_t next = 0;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    const Payload* payload = index.find(probes[next]);
    if (payload != nullptr) {
      state.SkipWithError("an absent key was found");
      break;
    }
    benchmark::DoNotOptimize(payload);
    if (++next == probes.size()) next = 0;
  }
  report_ops(state, ns_since(start), static_cast<double>(state.iterations()));
}

template <class Index>
void bm_scan100(benchmark::State& state, Dataset dataset, size_t n) {
  const Workload& w = workload(dataset, n);
  const Index& index = cached_index<Index>(w, Shape::kBulkLoaded);
  const std::vector<Key>& probes = w.hit_probes;
  size_t next = 0;
  Payload sum = 0;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    sum += index.scan_sum(probes[next], kScanLength);
    benchmark::DoNotOptimize(sum);
    if (++next == probes.size()) next = 0;
  }
  report_ops(state, ns_since(start), static_cast<double>(state.iterations()));
}

template <class Index>
void bm_insert_random(benchmark::State& state, Dataset dataset, size_t n) {
  const Workload& w = workload(dataset, n);
  const std::vector<size_t>& inserts = w.halves.second;
  const Window window = window_for<Index>(Op::kInsertRandom, n, inserts.size());
  std::vector<bool> loaded(n, false);
  for (size_t i : w.halves.first) loaded[i] = true;
  for (size_t j = 0; j < window.skip; ++j) loaded[inserts[j]] = true;
  const std::vector<Pair> initial = pairs_where(w, loaded);
  std::unique_ptr<Index> index;
  double timed_ns = 0;
  long faults = 0;
  for (auto _ : state) {
    state.PauseTiming();
    index.reset();
    index = std::make_unique<Index>();
    index->bulk_load(initial.data(), initial.size());
    const long faults_before = minor_faults();
    state.ResumeTiming();
    const Clock::time_point start = Clock::now();
    for (size_t j = window.skip; j < window.skip + window.timed; ++j) {
      const size_t i = inserts[j];
      if (!index->insert(w.keys[i], i)) {
        state.SkipWithError("insert of a new key failed");
        break;
      }
    }
    timed_ns += ns_since(start);
    faults += minor_faults() - faults_before;
  }
  if (index == nullptr) return;
  report_ops(state, timed_ns,
             static_cast<double>(state.iterations()) * window.timed);
  report_faults(state, faults);
  report_memory(state, *index);
}

template <class Index>
void bm_erase(benchmark::State& state, Dataset dataset, size_t n) {
  const Workload& w = workload(dataset, n);
  const Window window = window_for<Index>(Op::kErase, n, n / 2);
  std::vector<bool> loaded(n, true);
  for (size_t j = 0; j < window.skip; ++j) loaded[w.order[j]] = false;
  const std::vector<Pair> initial = pairs_where(w, loaded);
  std::unique_ptr<Index> index;
  double timed_ns = 0;
  for (auto _ : state) {
    state.PauseTiming();
    index.reset();
    index = std::make_unique<Index>();
    index->bulk_load(initial.data(), initial.size());
    state.ResumeTiming();
    const Clock::time_point start = Clock::now();
    for (size_t j = window.skip; j < window.skip + window.timed; ++j) {
      if (!index->erase(w.keys[w.order[j]])) {
        state.SkipWithError("erase of a present key failed");
        break;
      }
    }
    timed_ns += ns_since(start);
  }
  if (index == nullptr) return;
  report_ops(state, timed_ns,
             static_cast<double>(state.iterations()) * window.timed);
}

template <class Index>
void bm_append(benchmark::State& state, Dataset dataset, size_t n) {
  const Workload& w = workload(dataset, n);
  const size_t phase = n - n / 10;
  const Window window = window_for<Index>(Op::kAppend, n, phase);
  const size_t loaded = n / 10 + window.skip;
  std::unique_ptr<Index> index;
  double timed_ns = 0;
  long faults = 0;
  for (auto _ : state) {
    state.PauseTiming();
    index.reset();
    index = std::make_unique<Index>();
    index->bulk_load(w.pairs.data(), loaded);
    const long faults_before = minor_faults();
    state.ResumeTiming();
    const Clock::time_point start = Clock::now();
    for (size_t i = loaded; i < loaded + window.timed; ++i) {
      if (!index->insert(w.keys[i], i)) {
        state.SkipWithError("append of a new key failed");
        break;
      }
    }
    timed_ns += ns_since(start);
    faults += minor_faults() - faults_before;
  }
  if (index == nullptr) return;
  report_ops(state, timed_ns,
             static_cast<double>(state.iterations()) * window.timed);
  report_faults(state, faults);
  report_memory(state, *index);
  // A full append phase built what lookup_hit_after_append reads.
  if (window.timed == phase && index->size() == n) {
    keep_in_cache(Shape::kAppended, std::move(index));
  }
}

// ---- Registration ----

// Registers every benchmark of one structure on one (dataset, n), in an order
// that lets the read-only ones share a cached build.
template <class Index>
void register_structure(Dataset dataset, size_t n) {
  auto add = [&](Op op, auto function, benchmark::TimeUnit unit,
                 auto... extra) {
    const std::string name = std::string(op_name(op)) + "/" + Index::kName +
                             "/" + datasets::name(dataset) + "/" +
                             std::to_string(n);
    benchmark::RegisterBenchmark(name.c_str(), function, dataset, n, extra...)
        ->Unit(unit);
  };
  using benchmark::kMillisecond;
  using benchmark::kNanosecond;
  add(Op::kBulkLoad, bm_bulk_load<Index>, kMillisecond);
  add(Op::kLookupHit, bm_lookup_hit<Index>, kNanosecond, Shape::kBulkLoaded);
  add(Op::kLookupMiss, bm_lookup_miss<Index>, kNanosecond);
  add(Op::kScan100, bm_scan100<Index>, kNanosecond);
  if constexpr (Index::kUpdatable) {
    add(Op::kInsertRandom, bm_insert_random<Index>, kMillisecond);
    add(Op::kErase, bm_erase<Index>, kMillisecond);
    if (dataset == Dataset::kTimestamps) {
      add(Op::kAppend, bm_append<Index>, kMillisecond);
      add(Op::kLookupHitAfterAppend, bm_lookup_hit<Index>, kNanosecond,
          Shape::kAppended);
    }
  }
}

void register_all() {
  for (size_t n : kSizes) {
    for (Dataset dataset : datasets::kAllDatasets) {
      register_structure<AlexIndex>(dataset, n);
      register_structure<RmiIndex>(dataset, n);
      register_structure<StdMapIndex>(dataset, n);
      register_structure<AbslBtreeIndex>(dataset, n);
      register_structure<SortedVectorIndex>(dataset, n);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
