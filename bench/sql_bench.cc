// sql_bench: an `alex` virtual table against the native STRICT table with
// the same columns, through SQL, in one process, with Google Benchmark.
//
// Every benchmark is named <op>/<table>/<n>, registered so that the alex and
// native variants of an op sit side by side:
//   op     point_hit, point_miss, range100, full_scan, append (in memory);
//          open_query, update_txn (on database files)
//   table  alex    CREATE VIRTUAL TABLE a USING alex(ts INTEGER PRIMARY KEY,
//                    value REAL, series_id INTEGER)
//          native  CREATE TABLE n(ts INTEGER PRIMARY KEY, value REAL,
//                    series_id INTEGER) STRICT
//   n      1000000, 10000000: the rows the table starts with
// Google Benchmark appends its own suffixes (/real_time, /min_time:1.000,
// /iterations:10), so filter on '/<n>/', e.g. '/1000000/'.
//
// Rows. Row i (i = 0, 1, ...) has ts = 1.7e18 + 1000 i + jitter(i), with a
// deterministic jitter(i) in [0, 500), so keys increase; value a REAL with
// two decimals, series_id = i % 64. Absent keys are ts(i) + 500, strictly
// between ts(i) and ts(i + 1). Both tables get the same rows, inserted in
// key order through a prepared INSERT in one transaction.
//
// Each table lives in its own connection: the in-memory benchmarks on a
// private ":memory:" database each, the file benchmarks on a database file
// each (in a fresh directory under $SQL_BENCH_DIR, default /tmp, removed at
// exit), so that the file size is the table's. The alex module is
// registered with sqlite3_auto_extension, as an application linking
// libalex.a would. The tables for one n are built once per process and
// shared by that n's benchmarks; the in-memory pair is dropped when the file
// benchmarks start (and when n changes), so memory stays bounded.
//
// What each op does (one iteration), and what to read:
//   point_hit    reset + bind + step of the prepared
//                `SELECT value FROM t WHERE ts = ?` for a present key drawn
//                at random (fixed seed) from all n rows. Time = per query.
//   point_miss   the same with absent keys. Time = per query.
//   range100     `SELECT sum(value) FROM t WHERE ts >= ? AND ts < ?`
//                covering exactly 100 rows from a random start. Time = per
//                query.
//   full_scan    `SELECT sum(value) FROM t` over the n rows. Time = per
//                scan (ms); ns_per_row = wall time / n.
//   append       BEGIN; 10,000 rows with keys after the current maximum
//                through the prepared INSERT; COMMIT (which, for alex, writes
//                the dirty chunks to the shadow tables). Time = per batch
//                (ms); ns_per_row = wall time / 10,000. The table GROWS: a
//                fixed kAppendIterations batches per repetition, so with 3
//                repetitions the table goes from n to n + 300,000 rows (alex
//                and native alike; the read ops run before it).
//   open_query   sqlite3_open_v2 of the database file, prepare and step
//                `SELECT value FROM t WHERE ts = ?` (a random present key),
//                finalize; then close, untimed (reported as close_ms).
//                alex loads every chunk of its shadow tables here. The file
//                was just written, so it is in the OS page cache (warm).
//                heap_bytes_per_row / heap_vs_raw: how much the C heap grew
//                from before the open to after the query (the loaded table
//                and SQLite's page cache), per row and against the raw 24
//                bytes of a row's values.
//   update_txn   BEGIN; `UPDATE t SET value = ? WHERE ts = ?` (a random
//                present key); COMMIT, on one connection to the file kept
//                open across iterations (its open is untimed), with the
//                default journal_mode (DELETE) and synchronous (FULL): so the
//                time includes the journal and the fsyncs. Time = per
//                transaction (ms).
// The file benchmarks report file_bytes (the database file's size at the
// end of the run) and bytes_per_row.
//
// Every benchmark uses real (wall-clock) time: Time is what to compare.
// Before timing anything, the in-memory setup checks that both tables
// answer the probe queries alike and prints alex's query plans to stderr.
//
// Running (Release build):
//   build/bench/sql_bench                                       # everything
//   build/bench/sql_bench --benchmark_filter='/1000000/'        # the 1M subset
//   build/bench/sql_bench --benchmark_filter='^point_hit/'      # one op
//   build/bench/sql_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vtab/sqlite3_alex.h"

namespace {

constexpr size_t kSizes[] = {1'000'000, 10'000'000};
constexpr int64_t kBaseKey = 1'700'000'000'000'000'000;
constexpr int64_t kKeyStep = 1000;
constexpr int64_t kMissOffset = 500;  // jitter < kMissOffset, so ts(i) + 500 is absent
constexpr size_t kRangeRows = 100;
constexpr size_t kAppendBatch = 10'000;
constexpr int kAppendIterations = 10;
constexpr size_t kProbes = size_t{1} << 16;  // random keys per benchmark, reused cyclically

// Seeds of the workloads.
constexpr uint64_t kValueSeed = 0x5b'0001;
constexpr uint64_t kJitterSeed = 0x5b'0002;
constexpr uint64_t kProbeSeed = 0x5b'0003;
constexpr uint64_t kUpdateSeed = 0x5b'0004;

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int64_t key_of(uint64_t i) {
  return kBaseKey + static_cast<int64_t>(i) * kKeyStep + static_cast<int64_t>(mix(i ^ kJitterSeed) % kMissOffset);
}
double value_of(uint64_t i) { return static_cast<double>(mix(i ^ kValueSeed) % 100'000) / 100.0; }
int64_t series_of(uint64_t i) { return static_cast<int64_t>(i % 64); }

// `count` row numbers drawn uniformly from [0, limit), from `seed`.
std::vector<uint64_t> random_rows(uint64_t limit, uint64_t seed, size_t count = kProbes) {
  std::vector<uint64_t> rows(count);
  for (size_t k = 0; k < count; k++) rows[k] = mix(seed * 0x100000001b3ULL + k) % limit;
  return rows;
}

enum class Kind { kAlex, kNative };
const char* kind_name(Kind kind) { return kind == Kind::kAlex ? "alex" : "native"; }
const char* table_name(Kind kind) { return kind == Kind::kAlex ? "a" : "n"; }

[[noreturn]] void die(const std::string& what, sqlite3* db) {
  std::fprintf(stderr, "sql_bench: %s: %s\n", what.c_str(), db ? sqlite3_errmsg(db) : "");
  std::abort();
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "sql_bench: %s: %s\n", sql.c_str(), err ? err : "?");
    std::abort();
  }
}

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) die(sql, db);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(Stmt&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(stmt_, o.stmt_);
    return *this;
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs a statement to its single row (or none), returning whether there
// was one; the row stays readable until the next reset.
bool step_row(sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) die(sqlite3_sql(s), sqlite3_db_handle(s));
  return false;
}

void step_done(sqlite3_stmt* s) {
  sqlite3_reset(s);
  if (sqlite3_step(s) != SQLITE_DONE) die(sqlite3_sql(s), sqlite3_db_handle(s));
}

// One table in its own connection, with its statements prepared.
class Table {
 public:
  Table(Kind kind, const std::string& path) : kind_(kind), name_(table_name(kind)) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      die("open " + path, db_);
    }
  }
  ~Table() {
    stmts_.clear();
    sqlite3_close(db_);
  }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  Kind kind() const { return kind_; }
  sqlite3* db() const { return db_; }
  const std::string& name() const { return name_; }
  uint64_t rows = 0;  // rows 0 .. rows - 1 are in the table

  void create() {
    const std::string cols = "(ts INTEGER PRIMARY KEY, value REAL, series_id INTEGER)";
    exec(db_, kind_ == Kind::kAlex ? "CREATE VIRTUAL TABLE a USING alex" + cols : "CREATE TABLE n" + cols + " STRICT");
  }
  // Appends rows [rows, rows + count) in one transaction (BEGIN .. COMMIT).
  void append(uint64_t count) {
    sqlite3_stmt* ins = stmt(kInsert);
    step_done(stmt(kBegin));
    for (uint64_t i = rows; i < rows + count; i++) {
      sqlite3_reset(ins);
      sqlite3_bind_int64(ins, 1, key_of(i));
      sqlite3_bind_double(ins, 2, value_of(i));
      sqlite3_bind_int64(ins, 3, series_of(i));
      if (sqlite3_step(ins) != SQLITE_DONE) die("insert", db_);
    }
    step_done(stmt(kCommit));
    rows += count;
  }

  enum Which { kPoint, kRange, kScan, kInsert, kUpdate, kBegin, kCommit, kCount };
  sqlite3_stmt* stmt(Which w) {
    if (stmts_.empty()) stmts_.resize(kCount);
    if (stmts_[w].get() == nullptr) stmts_[w] = Stmt(db_, sql(w));
    return stmts_[w].get();
  }
  std::string sql(Which w) const {
    switch (w) {
      case kPoint: return "SELECT value FROM " + name_ + " WHERE ts = ?";
      case kRange: return "SELECT sum(value) FROM " + name_ + " WHERE ts >= ? AND ts < ?";
      case kScan: return "SELECT sum(value) FROM " + name_;
      case kInsert: return "INSERT INTO " + name_ + "(ts, value, series_id) VALUES(?, ?, ?)";
      case kUpdate: return "UPDATE " + name_ + " SET value = ? WHERE ts = ?";
      case kBegin: return "BEGIN";
      case kCommit: return "COMMIT";
      case kCount: break;
    }
    return "";
  }

  // The queries' answers, for the cross-check; NAN when no row.
  double point(int64_t key) {
    sqlite3_stmt* s = stmt(kPoint);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, key);
    return step_row(s) ? sqlite3_column_double(s, 0) : NAN;
  }
  double range(int64_t lo, int64_t hi) {
    sqlite3_stmt* s = stmt(kRange);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, hi);
    return step_row(s) ? sqlite3_column_double(s, 0) : NAN;
  }
  double scan() {
    sqlite3_stmt* s = stmt(kScan);
    sqlite3_reset(s);
    return step_row(s) ? sqlite3_column_double(s, 0) : NAN;
  }
  std::string plan(Which w) {
    Stmt s(db_, "EXPLAIN QUERY PLAN " + sql(w));
    std::string out;
    while (step_row(s.get())) {
      if (!out.empty()) out += "; ";
      out += reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 3));
    }
    return out;
  }

 private:
  Kind kind_;
  std::string name_;
  sqlite3* db_ = nullptr;
  std::vector<Stmt> stmts_;
};

// Builds a table of n rows at `path` (":memory:" or a file).
std::unique_ptr<Table> build(Kind kind, const std::string& path, uint64_t n) {
  auto t = std::make_unique<Table>(kind, path);
  t->create();
  t->append(n);
  return t;
}

// Both tables must give the same answers; prints alex's plans once.
void cross_check(Table& alex, Table& native, uint64_t n) {
  static bool printed = false;
  if (!printed) {
    printed = true;
    for (auto w : {Table::kPoint, Table::kRange, Table::kScan, Table::kUpdate}) {
      std::fprintf(stderr, "# plan alex: %s -> %s\n", alex.sql(w).c_str(), alex.plan(w).c_str());
      std::fprintf(stderr, "# plan native: %s -> %s\n", native.sql(w).c_str(), native.plan(w).c_str());
    }
  }
  auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
  for (uint64_t i : random_rows(n - kRangeRows, kProbeSeed ^ 0xc0ffee, 64)) {
    if (!same(alex.point(key_of(i)), native.point(key_of(i))) || std::isnan(native.point(key_of(i))) ||
        !std::isnan(alex.point(key_of(i) + kMissOffset)) ||
        !same(alex.range(key_of(i), key_of(i + kRangeRows)), native.range(key_of(i), key_of(i + kRangeRows)))) {
      std::fprintf(stderr, "sql_bench: alex and native differ around row %llu\n", static_cast<unsigned long long>(i));
      std::abort();
    }
  }
  if (!same(alex.scan(), native.scan())) {
    std::fprintf(stderr, "sql_bench: full scans differ\n");
    std::abort();
  }
}

// ---- The datasets, built once per n ----

struct MemoryPair {
  uint64_t n = 0;
  std::unique_ptr<Table> tables[2];
};
std::unique_ptr<MemoryPair> g_memory;

void drop_memory_pair() { g_memory.reset(); }

Table& memory_table(Kind kind, uint64_t n) {
  if (!g_memory || g_memory->n != n) {
    g_memory.reset();
    auto p = std::make_unique<MemoryPair>();
    p->n = n;
    const auto t0 = std::chrono::steady_clock::now();
    p->tables[0] = build(Kind::kAlex, ":memory:", n);
    const auto t1 = std::chrono::steady_clock::now();
    p->tables[1] = build(Kind::kNative, ":memory:", n);
    const auto t2 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "# built %llu rows in memory: alex %.1f s, native %.1f s\n", static_cast<unsigned long long>(n),
                 std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count());
    cross_check(*p->tables[0], *p->tables[1], n);
    g_memory = std::move(p);
  }
  return *g_memory->tables[kind == Kind::kAlex ? 0 : 1];
}

std::string make_dir() {
  const char* base = std::getenv("SQL_BENCH_DIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sql_bench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("sql_bench: mkdtemp");
    std::abort();
  }
  return tmpl;
}

int64_t file_size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// Two database files holding n rows each, one per table, and (for
// update_txn) a connection to each, opened on first use.
struct FilePair {
  uint64_t n = 0;
  std::string dir;
  std::string paths[2];
  std::unique_ptr<Table> open[2];
  ~FilePair() {
    for (auto& t : open) t.reset();
    for (const std::string& p : paths) {
      std::remove(p.c_str());
      std::remove((p + "-journal").c_str());
    }
    if (!dir.empty()) rmdir(dir.c_str());
  }
};
std::unique_ptr<FilePair> g_files;

FilePair& file_pair(uint64_t n) {
  if (!g_files || g_files->n != n) {
    drop_memory_pair();
    g_files.reset();
    auto p = std::make_unique<FilePair>();
    p->n = n;
    p->dir = make_dir();
    for (Kind kind : {Kind::kAlex, Kind::kNative}) {
      const int k = kind == Kind::kAlex ? 0 : 1;
      p->paths[k] = p->dir + "/" + kind_name(kind) + ".db";
      const auto t0 = std::chrono::steady_clock::now();
      auto t = std::make_unique<Table>(kind, p->paths[k]);
      exec(t->db(), "PRAGMA synchronous = OFF");  // this build connection only
      t->create();
      t->append(n);
      t.reset();
      std::fprintf(stderr, "# built %s: %llu rows, %lld bytes, %.1f s\n", p->paths[k].c_str(),
                   static_cast<unsigned long long>(n), static_cast<long long>(file_size(p->paths[k])),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    g_files = std::move(p);
  }
  return *g_files;
}

Table& file_table(Kind kind, uint64_t n) {
  FilePair& p = file_pair(n);
  const int k = kind == Kind::kAlex ? 0 : 1;
  if (!p.open[k]) {
    p.open[k] = std::make_unique<Table>(kind, p.paths[k]);
    p.open[k]->rows = n;
    if (std::isnan(p.open[k]->point(key_of(n / 2)))) die("file table lost its rows", p.open[k]->db());
  }
  return *p.open[k];
}

void report_file(benchmark::State& state, Kind kind, uint64_t n) {
  const int64_t bytes = file_size(file_pair(n).paths[kind == Kind::kAlex ? 0 : 1]);
  state.counters["file_bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_row"] = static_cast<double>(bytes) / static_cast<double>(n);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- The benchmarks ----

void bm_point(benchmark::State& state, Kind kind, uint64_t n, bool hit) {
  Table& t = memory_table(kind, n);
  std::vector<int64_t> keys;
  for (uint64_t i : random_rows(n, kProbeSeed)) keys.push_back(key_of(i) + (hit ? 0 : kMissOffset));
  sqlite3_stmt* s = t.stmt(Table::kPoint);
  size_t k = 0, found = 0;
  for (auto _ : state) {
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, keys[k++ & (kProbes - 1)]);
    if (sqlite3_step(s) == SQLITE_ROW) {
      benchmark::DoNotOptimize(sqlite3_column_double(s, 0));
      found++;
    }
  }
  sqlite3_reset(s);
  if (found != (hit ? static_cast<size_t>(state.iterations()) : 0)) state.SkipWithError("wrong number of rows found");
}

void bm_range(benchmark::State& state, Kind kind, uint64_t n) {
  Table& t = memory_table(kind, n);
  std::vector<std::pair<int64_t, int64_t>> bounds;
  for (uint64_t i : random_rows(n - kRangeRows, kProbeSeed)) bounds.emplace_back(key_of(i), key_of(i + kRangeRows));
  sqlite3_stmt* s = t.stmt(Table::kRange);
  size_t k = 0;
  for (auto _ : state) {
    const auto& b = bounds[k++ & (kProbes - 1)];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, b.first);
    sqlite3_bind_int64(s, 2, b.second);
    sqlite3_step(s);
    benchmark::DoNotOptimize(sqlite3_column_double(s, 0));
  }
  sqlite3_reset(s);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRangeRows));
}

void bm_full_scan(benchmark::State& state, Kind kind, uint64_t n) {
  Table& t = memory_table(kind, n);
  sqlite3_stmt* s = t.stmt(Table::kScan);
  double wall = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    sqlite3_reset(s);
    sqlite3_step(s);
    benchmark::DoNotOptimize(sqlite3_column_double(s, 0));
    wall += seconds_since(t0);
  }
  sqlite3_reset(s);
  const double rows = static_cast<double>(state.iterations()) * static_cast<double>(t.rows);
  state.counters["ns_per_row"] = wall * 1e9 / rows;
  state.SetItemsProcessed(static_cast<int64_t>(rows));
}

void bm_append(benchmark::State& state, Kind kind, uint64_t n) {
  Table& t = memory_table(kind, n);
  const uint64_t start = t.rows;
  double wall = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    t.append(kAppendBatch);
    wall += seconds_since(t0);
  }
  const double rows = static_cast<double>(t.rows - start);
  state.counters["ns_per_row"] = wall * 1e9 / rows;
  state.counters["rows_before"] = static_cast<double>(start);
  state.SetItemsProcessed(static_cast<int64_t>(rows));
}

// Bytes the C heap has handed out and not taken back (glibc).
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

void bm_open_query(benchmark::State& state, Kind kind, uint64_t n) {
  FilePair& files = file_pair(n);
  const std::string path = files.paths[kind == Kind::kAlex ? 0 : 1];
  const std::string sql = std::string("SELECT value FROM ") + table_name(kind) + " WHERE ts = ?";
  const std::vector<uint64_t> rows = random_rows(n, kProbeSeed ^ 0x0be);
  size_t k = 0;
  double close_wall = 0;
  size_t heap_growth = 0;
  for (auto _ : state) {
    const size_t heap_before = heap_in_use();
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) die("open " + path, db);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) die(sql, db);
    sqlite3_bind_int64(s, 1, key_of(rows[k++ & (kProbes - 1)]));
    if (sqlite3_step(s) != SQLITE_ROW) die("open_query found no row", db);
    benchmark::DoNotOptimize(sqlite3_column_double(s, 0));
    sqlite3_finalize(s);
    state.PauseTiming();
    heap_growth = heap_in_use() - heap_before;
    const auto t0 = std::chrono::steady_clock::now();
    sqlite3_close(db);
    close_wall += seconds_since(t0);
    state.ResumeTiming();
  }
  state.counters["close_ms"] = close_wall * 1e3 / static_cast<double>(state.iterations());
  // What the open connection holds after its first query: for alex the
  // loaded table (chunks and index), for both SQLite's page cache. Raw
  // bytes: ts, value and series_id, 8 bytes each per row.
  state.counters["heap_bytes_per_row"] = static_cast<double>(heap_growth) / static_cast<double>(n);
  state.counters["heap_vs_raw"] = static_cast<double>(heap_growth) / (24.0 * static_cast<double>(n));
  report_file(state, kind, n);
}

void bm_update_txn(benchmark::State& state, Kind kind, uint64_t n) {
  Table& t = file_table(kind, n);
  sqlite3_stmt* begin = t.stmt(Table::kBegin);
  sqlite3_stmt* update = t.stmt(Table::kUpdate);
  sqlite3_stmt* commit = t.stmt(Table::kCommit);
  const std::vector<uint64_t> rows = random_rows(n, kUpdateSeed);
  static uint64_t serial = 0;  // a new value every time
  size_t k = 0;
  for (auto _ : state) {
    step_done(begin);
    sqlite3_reset(update);
    sqlite3_bind_double(update, 1, value_of(++serial ^ 0xabc));
    sqlite3_bind_int64(update, 2, key_of(rows[k++ & (kProbes - 1)]));
    if (sqlite3_step(update) != SQLITE_DONE || sqlite3_changes(t.db()) != 1) die("update", t.db());
    step_done(commit);
  }
  report_file(state, kind, n);
}

// ---- Registration ----

void register_all() {
  using benchmark::kMillisecond;
  using benchmark::kNanosecond;
  for (uint64_t n : kSizes) {
    auto add = [&](const char* op, auto fn, benchmark::TimeUnit unit, auto... extra) {
      std::vector<benchmark::internal::Benchmark*> out;
      for (Kind kind : {Kind::kAlex, Kind::kNative}) {
        const std::string name = std::string(op) + "/" + kind_name(kind) + "/" + std::to_string(n);
        out.push_back(benchmark::RegisterBenchmark(name.c_str(), fn, kind, n, extra...)->Unit(unit)->UseRealTime());
      }
      return out;
    };
    add("point_hit", bm_point, kNanosecond, true);
    add("point_miss", bm_point, kNanosecond, false);
    add("range100", bm_range, kNanosecond);
    for (auto* b : add("full_scan", bm_full_scan, kMillisecond)) b->MinTime(1.0);
    for (auto* b : add("append", bm_append, kMillisecond)) b->Iterations(kAppendIterations);
    for (auto* b : add("open_query", bm_open_query, kMillisecond)) b->MinTime(1.0);
    for (auto* b : add("update_txn", bm_update_txn, kMillisecond)) b->MinTime(1.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(sqlite3_alex_init));
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("sqlite", sqlite3_libversion());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_files.reset();
  g_memory.reset();
  return 0;
}
