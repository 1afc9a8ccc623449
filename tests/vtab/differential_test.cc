// Copyright (c) the alex authors.
//
// The SQL-level differential test: random statements (tests/vtab/sql_gen.h)
// run on an alex virtual table and on the native STRICT table with the same
// columns, each in its own database file with the same schema names, so
// that rows, error codes and error messages compare verbatim. What it proves,
// statement by statement:
//   - the same rows, values and types for every query shape on the key
//     (=, IN, ranges, several bounds, NOT/OR, right-hand values of every
//     type), ORDER BY/LIMIT/OFFSET, aggregates, joins with a native table
//     both ways, self-joins and subqueries;
//   - the same STRICT coercions and type errors, NOT NULL and UNIQUE errors,
//     under every ON CONFLICT mode, with the same rows left behind when a
//     multi-row statement fails midway (statement rollback);
//   - the same RETURNING rows and automatic keys;
//   - the same transaction and savepoint behaviour, including the
//     transaction that OR ROLLBACK ends;
//   - after every statement, the same autocommit state, sqlite3_changes()
//     and sqlite3_last_insert_rowid(); every kDumpEvery statements and at the
//     end, the same table, row by row with types;
//   - after every write or transaction statement that leaves the main
//     connection in autocommit (every commit, and every statement that
//     could have committed), the same table as seen by a second, long-lived
//     connection to each database, which has to notice the commits of the
//     other connection (the module's cache refresh), and the native main
//     connection seeing the same;
//   - now and then, between statements in autocommit, both main connections
//     closed and opened again (the module then loads the table from its
//     shadow tables), and the same table right after.
// Rows are compared in order when the order is defined (a total ORDER BY, or
// one table scanned without ORDER BY, which both sides scan in key order),
// as sorted multisets otherwise.
//
// The log of a run holds these checks and reopens as steps among the
// statements, so that a replay goes through the same connections in the same
// order (a second connection refreshes its cache only when it reads).
//
// On the first mismatch the test fails with the seed, the statement number,
// the step, both outcomes, and reproducers written under /tmp: the whole
// log, and a shrunk log (steps dropped while the mismatch stays) ready to
// run in the sqlite3 shell, whose .connection command plays the second
// connection. The databases of the failed run stay in the temporary folder.
//
// Knobs:
//   ALEX_TEST_SEED     replaces every test's fixed seed (printed at the start).
//   ALEX_TEST_SCALE    multiplies the number of statements.
//   ALEX_DIFF_NATIVE=1 makes the side under test a native STRICT table too:
//                      every statement must then match, which proves that the
//                      harness is deterministic and its comparisons fair.
//   ALEX_DIFF_SHRINK_SECONDS  time allowed to shrink a failing log (default
//                      60; 0 skips shrinking).

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tests/alex/key_sets.h"
#include "tests/vtab/differential_util.h"
#include "tests/vtab/sql_gen.h"
#include "tests/vtab/sql_test_util.h"

namespace alex::testing {
namespace {

using sqlgen::Kind;
using sqlgen::Order;
using sqlgen::Probe;
using sqlgen::Schema;
using sqlgen::SqlGen;
using sqlgen::Statement;

#ifdef ALEX_EXTENSION_PATH
constexpr const char* kExtensionPath = ALEX_EXTENSION_PATH;
#else
constexpr const char* kExtensionPath = "build/alex";
#endif

// The whole table is compared every kDumpEvery statements.
constexpr size_t kDumpEvery = 50;

// The chance, after each statement that leaves the main connections in
// autocommit, that they are closed and opened again.
constexpr double kReopenChance = 1.0 / 250;

// ---------------------------------------------------------------------------
// Knobs.

bool native_only() {
  const char* text = std::getenv("ALEX_DIFF_NATIVE");
  return text != nullptr && std::string(text) == "1";
}

double shrink_seconds() {
  const char* text = std::getenv("ALEX_DIFF_SHRINK_SECONDS");
  if (text == nullptr || *text == '\0') return 60;
  return std::max(0.0, std::strtod(text, nullptr));
}

// ---------------------------------------------------------------------------
// The two databases.

// The statements that create `t` on the side under test (alex, or native
// with ALEX_DIFF_NATIVE=1) and on the native side.
std::string create_alex(Schema schema) {
  return "CREATE VIRTUAL TABLE t USING alex(" + sqlgen::table_columns(schema) + ")";
}
std::string create_native(Schema schema) { return "CREATE TABLE t(" + sqlgen::table_columns(schema) + ") STRICT"; }


// One statement's outcome on one side, as text: the rows (sorted when their
// order is undefined) or the error, then the connection state that SQL can
// observe afterwards.
struct Outcome {
  Result result;
  std::string text;
};

Outcome run_on(const Db& db, const Statement& statement) {
  Outcome out{db.run(statement.sql), ""};
  out.text = sqlgen::outcome_text(db, statement, out.result);
  return out;
}

bool same(const Outcome& a, const Outcome& b) { return a.text == b.text; }

// ---------------------------------------------------------------------------
// Steps: the statements and what happens between them.

// What the second connections read after a commit, and the main connections
// right after a reopen: every row with its key (render() keeps the types).
constexpr const char* kRowsSql = "SELECT rowid, * FROM t ORDER BY rowid";

// What the second connections read once at the start: from then on the
// alex table is connected there, and its cache has to follow the commits of
// the main connection (rather than being loaded when first used).
constexpr const char* kFirstReadSql = "SELECT count(*) FROM t";

// One step of a run. Besides the generated statements, the log records the
// checks and reopens between them: they change state too (a second
// connection refreshes its cache when it reads, a reopen reloads it), so a
// replay must go through them in the same order.
struct Step {
  enum class Action {
    kStatement,      // `statement` on both main connections
    kCompareSecond,  // each side's second connection reads the table
    kReopen,         // both main connections are closed and opened again
  };
  Action action = Action::kStatement;
  Statement statement;  // for kStatement

  static Step of(Statement statement) { return {Action::kStatement, std::move(statement)}; }
  static Step compare_second() { return {Action::kCompareSecond, {}}; }
  static Step reopen() { return {Action::kReopen, {}}; }

  bool is_read() const { return action == Action::kStatement && statement.kind == Kind::kRead; }
};

// ---------------------------------------------------------------------------
// Files and connections.

// The journal mode of both databases. It changes how a connection learns
// of another's commits: the file change counter (rollback journal) or the
// wal-index (WAL), both behind SQLITE_FCNTL_DATA_VERSION.
enum class Journal { kRollback, kWal };

// What a pair of databases is made of; a replay makes the same.
struct Setup {
  Schema schema;
  bool native_a;  // ALEX_DIFF_NATIVE=1: the side under test is native too
  Journal journal;
};

// A new folder for one pair's database files, unique in this process (the
// shrinker replays many pairs) and among processes (ctest runs tests in
// parallel).
std::filesystem::path new_pair_folder(const std::string& label) {
  static int pairs = 0;
  std::filesystem::path folder = std::filesystem::temp_directory_path() /
                                 ("alex_diff_" + label + "_" + std::to_string(::getpid()) + "_" +
                                  std::to_string(pairs++));
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
  std::filesystem::create_directories(folder, ignored);
  return folder;
}

// A connection to `path`. A crash is no concern here, so commits skip the
// fsyncs that would otherwise dominate the run time.
std::unique_ptr<Db> open_file(const std::filesystem::path& path) {
  auto db = std::make_unique<Db>(path.string());
  db->run("PRAGMA synchronous = OFF");
  return db;
}

// The side under test (`a`) and the native side (`b`), set up identically
// but for the CREATE of `t`, each in its own database file with two
// connections: the main one, which runs the statements, and a second one
// kept open throughout, which only reads. The folder is removed with the
// pair, unless keep_files() was called.
class Pair {
 public:
  explicit Pair(const Setup& setup, const std::string& label = "replay")
      : folder_(new_pair_folder(label)),
        a_path_(folder_ / "a.db"),
        b_path_(folder_ / "b.db"),
        a_(open_file(a_path_)),
        b_(open_file(b_path_)) {
    // WAL is a property of the file: every later connection uses it.
    const std::string journal = setup.journal == Journal::kWal ? "PRAGMA journal_mode = WAL" : "";
    ok_ = a_->run(journal).ok() && b_->run(journal).ok() &&
          a_->run(setup.native_a ? create_native(setup.schema) : create_alex(setup.schema)).ok() &&
          b_->run(create_native(setup.schema)).ok();
    for (const std::string& sql : sqlgen::helper_table_sql()) {
      ok_ = ok_ && a_->run(sql).ok() && b_->run(sql).ok();
    }
    a2_ = open_file(a_path_);
    b2_ = open_file(b_path_);
    ok_ = ok_ && a2_->run(kFirstReadSql).ok() && b2_->run(kFirstReadSql).ok();
  }
  ~Pair() {
    a_.reset();
    b_.reset();
    a2_.reset();
    b2_.reset();
    std::error_code ignored;
    if (!keep_files_) std::filesystem::remove_all(folder_, ignored);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  bool ok() const { return ok_; }
  const Db& a() const { return *a_; }
  const Db& b() const { return *b_; }
  const Db& a2() const { return *a2_; }
  const Db& b2() const { return *b2_; }
  const std::filesystem::path& folder() const { return folder_; }

  // Closes both main connections and opens them again: the alex table then
  // starts from what its shadow tables hold.
  void reopen() {
    a_.reset();
    b_.reset();
    a_ = open_file(a_path_);
    b_ = open_file(b_path_);
  }

  void keep_files() { keep_files_ = true; }

 private:
  std::filesystem::path folder_, a_path_, b_path_;
  std::unique_ptr<Db> a_, b_, a2_, b2_;
  bool ok_ = false;
  bool keep_files_ = false;
};

// The rows of kRowsSql on `db`, condensed to their number and a hash of
// every value with its type, or the error. Rendering every row as text at
// every commit would double the run time of the test.
std::string digest(const Db& db) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a
  auto mix = [&hash](const void* data, size_t n) {
    for (size_t i = 0; i < n; i++) hash = (hash ^ static_cast<const unsigned char*>(data)[i]) * 1099511628211ULL;
  };
  int64_t rows = 0;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.handle(), kRowsSql, -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      rows++;
      for (int c = 0; c < sqlite3_column_count(stmt); c++) {
        const int type = sqlite3_column_type(stmt, c);
        mix(&type, sizeof type);
        if (type == SQLITE_INTEGER) {
          const int64_t v = sqlite3_column_int64(stmt, c);
          mix(&v, sizeof v);
        } else if (type == SQLITE_FLOAT) {
          const double v = sqlite3_column_double(stmt, c);  // bit for bit: -0.0 is not 0.0
          mix(&v, sizeof v);
        } else if (type != SQLITE_NULL) {
          const void* p = sqlite3_column_blob(stmt, c);
          const int n = sqlite3_column_bytes(stmt, c);
          mix(&n, sizeof n);
          mix(p, static_cast<size_t>(n));
        }
      }
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return "error(" + std::to_string(rc & 0xff) + "): " + sqlite3_errmsg(db.handle());
  char text[64];
  std::snprintf(text, sizeof text, "[%lld rows, hash %016llx]", static_cast<long long>(rows),
                static_cast<unsigned long long>(hash));
  return text;
}

// Every row of kRowsSql on `db`, for a failure message.
std::string rows_text(const Db& db) {
  const std::string rows = db.str(kRowsSql);
  return rows.empty() ? "(no rows)" : rows;
}

// Runs `step` on `pair`: the outcomes on the side under test and on the
// native side.
std::pair<Outcome, Outcome> run_step(Pair& pair, const Step& step) {
  switch (step.action) {
    case Step::Action::kStatement:
      return {run_on(pair.a(), step.statement), run_on(pair.b(), step.statement)};
    case Step::Action::kCompareSecond: {
      Outcome a{{}, digest(pair.a2())}, b{{}, digest(pair.b2())};
      // The native second connection must see what the native main one
      // sees; a difference there is the harness's (a lock, a transaction
      // left open), and fails just the same.
      const std::string main = digest(pair.b());
      if (main != b.text) b.text += " but the native main connection reads " + main;
      if (!same(a, b)) {
        // The rows, for the message. They are read again: a refresh that
        // catches up only now shows as equal rows under different hashes.
        a.text += "\n" + rows_text(pair.a2());
        b.text += "\n" + rows_text(pair.b2());
        if (main != digest(pair.b2())) b.text += "\n[the native main connection:]\n" + rows_text(pair.b());
      }
      return {a, b};
    }
    case Step::Action::kReopen: {
      pair.reopen();
      Outcome a{{}, digest(pair.a())}, b{{}, digest(pair.b())};
      if (!same(a, b)) {
        a.text += "\n" + rows_text(pair.a());
        b.text += "\n" + rows_text(pair.b());
      }
      return {a, b};
    }
  }
  return {};
}


// Replays `log` on a fresh pair; the index of the first step whose outcomes
// differ (and, if asked, those outcomes), or -1.
long first_mismatch(const Setup& setup, const std::vector<Step>& log,
                    std::pair<std::string, std::string>* outcomes = nullptr) {
  Pair pair(setup);
  if (!pair.ok()) return 0;
  for (size_t i = 0; i < log.size(); i++) {
    const auto [a, b] = run_step(pair, log[i]);
    if (!same(a, b)) {
      if (outcomes) *outcomes = {a.text, b.text};
      return static_cast<long>(i);
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Reproducers.

// Drops steps from `log` (whose last step is the mismatch) while the replay
// still first differs at its last step: all reads but the last at once, then
// all second-connection checks, then all reopens (most mismatches need none
// of them), then chunks of halving size. Stops at the deadline.
std::vector<Step> shrink(const Setup& setup, std::vector<Step> log, double seconds) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto still_fails = [&](const std::vector<Step>& candidate) {
    return first_mismatch(setup, candidate) == static_cast<long>(candidate.size()) - 1;
  };
  if (seconds <= 0 || !still_fails(log)) return log;

  auto drop_all = [&](auto&& droppable) {
    std::vector<Step> kept;
    for (size_t i = 0; i + 1 < log.size(); i++) {
      if (!droppable(log[i])) kept.push_back(log[i]);
    }
    kept.push_back(log.back());
    if (kept.size() < log.size() && Clock::now() < deadline && still_fails(kept)) log = std::move(kept);
  };
  drop_all([](const Step& step) { return step.is_read(); });
  drop_all([](const Step& step) { return step.action == Step::Action::kCompareSecond; });
  drop_all([](const Step& step) { return step.action == Step::Action::kReopen; });

  for (size_t chunk = (log.size() - 1) / 2; chunk >= 1 && Clock::now() < deadline; chunk /= 2) {
    for (size_t start = 0; start + 1 < log.size() && Clock::now() < deadline;) {
      const size_t end = std::min(start + chunk, log.size() - 1);
      std::vector<Step> candidate(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(start));
      candidate.insert(candidate.end(), log.begin() + static_cast<std::ptrdiff_t>(end), log.end());
      if (still_fails(candidate)) {
        log = std::move(candidate);
      } else {
        start = end;
      }
    }
  }
  return log;
}

// `text` with "-- " before every line.
std::string commented(const std::string& text) {
  std::string out = "-- ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "-- ";
  }
  return out;
}

// A script for the sqlite3 shell: the setup in the database file `db_path`,
// `log`, and both outcomes of its last step as comments. The shell's
// connection 0 is the main connection, connection 1 the second one.
std::string script(const Setup& setup, const std::vector<Step>& log, const std::string& a, const std::string& b,
                   const std::string& db_path) {
  const std::string open = ".open " + db_path + "\n.load " + kExtensionPath + "\n";
  std::ostringstream s;
  s << "-- alex differential test reproducer (" << log.size() << " steps).\n"
    << "-- Run: sqlite3 < this-file (SQLite 3.37 or later, for .connection). It overwrites " << db_path << ".\n"
    << "-- For the native side, swap the two CREATE TABLE lines.\n"
    << ".open --new " << db_path << "\n.load " << kExtensionPath << "\n"
    << (setup.journal == Journal::kWal ? "PRAGMA journal_mode = WAL;\n" : "") << create_alex(setup.schema) << ";\n"
    << "-- " << create_native(setup.schema) << ";\n";
  for (const std::string& sql : sqlgen::helper_table_sql()) s << sql << ";\n";
  s << "-- The second connection, open throughout:\n.connection 1\n" << open << kFirstReadSql << ";\n.connection 0\n";
  for (size_t i = 0; i < log.size(); i++) {
    if (i + 1 == log.size()) s << "-- The step whose outcomes differ:\n";
    switch (log[i].action) {
      case Step::Action::kStatement:
        s << log[i].statement.sql << ";\n";
        break;
      case Step::Action::kCompareSecond:
        s << "-- compare: the second connection reads the table\n.connection 1\n" << kRowsSql << ";\n.connection 0\n";
        break;
      case Step::Action::kReopen:
        s << "-- reopen: the main connection closes and opens again\n" << open << kRowsSql << ";\n";
        break;
    }
  }
  s << "-- alex:\n" << commented(a) << "\n-- native:\n" << commented(b) << "\n";
  return s.str();
}

std::string temp_path(const std::string& name) { return (std::filesystem::temp_directory_path() / name).string(); }

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// For long outcomes (table dumps): the lines only one side has.
std::string line_diff(const std::string& a, const std::string& b) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const std::vector<std::string> la = lines(a), lb = lines(b);
  const std::multiset<std::string> sa(la.begin(), la.end()), sb(lb.begin(), lb.end());
  std::string out;
  int shown = 0;
  for (const std::string& line : la) {
    if (!sb.count(line) && shown++ < 20) out += "  only alex:   " + line + "\n";
  }
  for (const std::string& line : lb) {
    if (!sa.count(line) && shown++ < 40) out += "  only native: " + line + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------
// Coverage: what a run exercised, printed at its end, so that a generator
// that drifts into producing only errors (or only empty tables) shows.

class Coverage {
 public:
  void add(const Statement& statement, const Result& native, int64_t rows_in_table) {
    const int kind = static_cast<int>(statement.kind);
    (native.ok() ? ok_ : failed_)[kind]++;
    if (native.ok() && !native.rows.empty()) with_rows_[kind]++;
    if (!native.ok()) errors_[native.error]++;
    max_rows_ = std::max(max_rows_, rows_in_table);
    total_rows_ += rows_in_table;
    statements_++;
  }
  void add_event(Step::Action action) { (action == Step::Action::kReopen ? reopens_ : second_reads_)++; }

  std::string str() const {
    static const char* kNames[] = {"reads", "writes", "transaction statements"};
    std::ostringstream s;
    for (int k = 0; k < 3; k++) {
      s << "  " << kNames[k] << ": " << ok_[k] << " ok (" << with_rows_[k] << " returned rows), " << failed_[k]
        << " failed\n";
    }
    s << "  second-connection checks: " << second_reads_ << ", reopens: " << reopens_ << "\n"
      << "  table size: max " << max_rows_ << ", mean " << (statements_ ? total_rows_ / statements_ : 0)
      << " rows\n  errors (native side, most frequent first):\n";
    std::vector<std::pair<int64_t, std::string>> by_count;
    for (const auto& [message, n] : errors_) by_count.emplace_back(-n, message);
    std::sort(by_count.begin(), by_count.end());
    for (size_t i = 0; i < by_count.size() && i < 25; i++) {
      s << "    " << -by_count[i].first << "  " << by_count[i].second << "\n";
    }
    return s.str();
  }

 private:
  int64_t ok_[3] = {}, failed_[3] = {}, with_rows_[3] = {};
  std::map<std::string, int64_t> errors_;
  int64_t max_rows_ = 0, total_rows_ = 0, statements_ = 0;
  int64_t second_reads_ = 0, reopens_ = 0;
};

// ---------------------------------------------------------------------------
// The test.

// A step for a failure message: which check it was, and its SQL.
std::string describe(const Step& step, size_t statement_index, size_t count) {
  const std::string of = std::to_string(statement_index) + " of " + std::to_string(count);
  switch (step.action) {
    case Step::Action::kStatement:
      return "mismatch at statement " + of + "\n  statement: " + step.statement.sql;
    case Step::Action::kCompareSecond:
      return "mismatch between the second connections after statement " + of +
             "\n  check: the second connection of each side reads " + kRowsSql;
    case Step::Action::kReopen:
      return "mismatch after reopening the main connections after statement " + of +
             "\n  check: the reopened main connection of each side reads " + kRowsSql;
  }
  return "";
}

void run_differential(Schema schema, uint64_t fixed_seed, size_t statements, Journal journal = Journal::kRollback) {
  const uint64_t seed = alex_test::test_seed(fixed_seed);
  const size_t count = alex_test::scaled(statements, 100);
  const Setup setup{schema, native_only(), journal};
  const char* journal_name = journal == Journal::kWal ? "WAL" : "rollback journal";
  const std::string name = std::string(sqlgen::schema_name(schema)) + (journal == Journal::kWal ? "_wal_" : "_") +
                           std::to_string(seed);
  std::cout << "[ seed     ] " << alex_test::seed_trace(seed) << ", schema " << sqlgen::schema_name(schema) << ", "
            << journal_name << ", " << count << " statements"
            << (setup.native_a ? ", ALEX_DIFF_NATIVE=1 (native vs native)" : "") << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));

  Pair pair(setup, name);
  ASSERT_TRUE(pair.ok()) << "setup failed: " << pair.a().str(create_alex(schema));
  SqlGen gen(schema, seed, sqlgen::known_difference_workarounds());
  // Its own stream for the reopens, so that the generator's statements do
  // not depend on them.
  alex_test::Random reopens(seed ^ 0x5eed0f7e0be75ULL);
  const Statement dump{sqlgen::dump_sql(schema), Order::kExact, Kind::kRead};

  std::vector<Step> log;
  Coverage coverage;
  Probe state;
  bool closing = false;
  bool native_ok = true;  // the last step's outcome on the native side
  // Runs `step`, logs it; on a mismatch, the failure message with the
  // reproducers, else "".
  auto run = [&](const Step& step, size_t i) -> std::string {
    log.push_back(step);
    const auto [a, b] = run_step(pair, step);
    native_ok = b.result.ok();
    if (step.action == Step::Action::kStatement && step.statement.order == Order::kKeyScan && b.result.ok() &&
        !sqlgen::ascends_by_key(b.result)) {
      return "generator bug: statement " + std::to_string(i) + " was taken to return rows in key order, but the " +
             "native table did not:\n  " + step.statement.sql + "\n" + b.text + "\n" + alex_test::seed_trace(seed);
    }
    if (same(a, b)) {
      if (step.action == Step::Action::kStatement) coverage.add(step.statement, b.result, state.rows);
      else coverage.add_event(step.action);
      return "";
    }
    pair.keep_files();
    const std::string full_text = script(setup, log, a.text, b.text, temp_path("alex_diff_" + name + "_full.db"));
    const std::string full = write_file("alex_diff_" + name + "_full.sql", full_text);
    const std::vector<Step> small = shrink(setup, log, shrink_seconds());
    std::pair<std::string, std::string> small_outcomes{a.text, b.text};
    first_mismatch(setup, small, &small_outcomes);
    const std::string small_text =
        script(setup, small, small_outcomes.first, small_outcomes.second, temp_path("alex_diff_" + name + ".db"));
    const std::string small_path = write_file("alex_diff_" + name + ".sql", small_text);
    std::ostringstream msg;
    msg << describe(step, i, count) << "\n  (" << alex_test::seed_trace(seed) << ", schema "
        << sqlgen::schema_name(schema) << ", " << journal_name << ")\n"
        << "  alex:\n" << a.text << "\n  native:\n" << b.text << "\n";
    if (a.text.size() + b.text.size() > 2000) msg << "  differing lines:\n" << line_diff(a.text, b.text);
    msg << "  databases of this run: " << pair.folder().string() << "\n"
        << "  whole log (" << log.size() << " steps): " << full << "\n"
        << "  shrunk reproducer (" << small.size() << " steps): " << small_path << "\n";
    if (small.size() <= 60) msg << small_text;
    return msg.str();
  };

  for (size_t i = 0; i < count + 2; i++) {
    Statement statement;
    if (i == count) {
      // The end: close an open transaction, then compare the table once more.
      if (sqlite3_get_autocommit(pair.b().handle())) continue;
      statement = gen.end_transaction();
      closing = true;
    } else if (i == count + 1 || (i + 1) % kDumpEvery == 0) {
      statement = dump;
    } else {
      state = sqlgen::probe(pair.b());
      statement = gen.next(state);
    }
    if (const std::string failure = run(Step::of(statement), i); !failure.empty()) FAIL() << failure;
    const bool autocommit = sqlite3_get_autocommit(pair.b().handle()) != 0;
    gen.observe(statement, native_ok, autocommit);
    if (closing) {
      ASSERT_TRUE(autocommit) << "the last transaction did not close";
      closing = false;
    }
    // After anything that may have committed: do the other connections see it?
    if (autocommit && statement.kind != Kind::kRead) {
      if (const std::string failure = run(Step::compare_second(), i); !failure.empty()) FAIL() << failure;
    }
    if (autocommit && reopens.chance(kReopenChance)) {
      if (const std::string failure = run(Step::reopen(), i); !failure.empty()) FAIL() << failure;
    }
  }
  std::cout << "[ coverage ] " << sqlgen::schema_name(schema) << " seed " << seed << ":\n" << coverage.str();
}

// Several fixed seeds per schema, some in WAL mode; ~125k statements in all
// by default.
constexpr size_t kStatements = 25000;

TEST(DifferentialSqlTest, IntegerPrimaryKeySeed1) { run_differential(Schema::kIntegerPrimaryKey, 1, kStatements); }
TEST(DifferentialSqlTest, IntegerPrimaryKeySeed2) { run_differential(Schema::kIntegerPrimaryKey, 2, kStatements); }
TEST(DifferentialSqlTest, IntegerPrimaryKeyWalSeed3) {
  run_differential(Schema::kIntegerPrimaryKey, 3, kStatements, Journal::kWal);
}
TEST(DifferentialSqlTest, HiddenRowidSeed4) { run_differential(Schema::kHiddenRowid, 4, kStatements); }
TEST(DifferentialSqlTest, HiddenRowidWalSeed5) {
  run_differential(Schema::kHiddenRowid, 5, kStatements, Journal::kWal);
}


// ---------------------------------------------------------------------------
// The known mismatches, one reproducer each (shrunk from the random runs).
// Each runs its statements on both sides and expects every outcome to match;
// they are DISABLED_ until the module is fixed (or the difference is
// documented as a limit), as the switches in differential_util.h describe. No tolerance
// applies here: rows, errors and changes() compare verbatim.

void expect_same(Schema schema, const std::vector<std::string>& statements) {
  Pair pair({schema, native_only(), Journal::kRollback});
  ASSERT_TRUE(pair.ok());
  auto outcome = [](const Db& db, const std::string& sql) {
    const std::string rows = db.str(sql);
    return rows + "\n[changes=" + std::to_string(sqlite3_changes64(db.handle())) + "]";
  };
  for (const std::string& sql : statements) EXPECT_EQ(outcome(pair.a(), sql), outcome(pair.b(), sql)) << sql;
}

TEST(DifferentialSqlTest, DISABLED_TypeErrorsUnderOrFail) {
  expect_same(Schema::kIntegerPrimaryKey,
              {"INSERT OR FAIL INTO t(k, i, n) VALUES (1, 'abc', 1)", "BEGIN",
               "INSERT OR FAIL INTO t(k, n) VALUES (3, 1), ('abc', 1)",
               "INSERT OR IGNORE INTO t(k, n) VALUES (4, 1), (7.5, 1)",
               "INSERT OR FAIL INTO t(k, i, n) VALUES (5, 1, 1), (6, 'abc', 1)", "SELECT k FROM t", "COMMIT"});
}

TEST(DifferentialSqlTest, DISABLED_ChangesAfterCommit) {
  expect_same(Schema::kIntegerPrimaryKey,
              {"BEGIN", "INSERT INTO t(k, n) VALUES (49, 4), (55, 3)", "COMMIT", "SELECT changes()"});
}

TEST(DifferentialSqlTest, NegativeZeroInRealColumn) {
  expect_same(Schema::kHiddenRowid, {"INSERT INTO t(r, x, n) VALUES (-0.0, -0.0, 1)", "SELECT r, x FROM t"});
}

TEST(DifferentialSqlTest, DISABLED_ReturningKeyGivenByAnotherName) {
  expect_same(Schema::kIntegerPrimaryKey, {"INSERT INTO t(rowid, n) VALUES (38, 1) RETURNING k",
                                           "INSERT INTO t(n) VALUES (1) RETURNING rowid, *"});
}

TEST(DifferentialSqlTest, DISABLED_ReturningUnderOrIgnore) {
  expect_same(Schema::kIntegerPrimaryKey, {"INSERT INTO t(k, n) VALUES (1, 1)",
                                           "INSERT OR IGNORE INTO t(k, n) VALUES (1, 2), (2, 2) RETURNING n",
                                           "INSERT OR IGNORE INTO t DEFAULT VALUES RETURNING n"});
}

TEST(DifferentialSqlTest, DISABLED_UpdateOrReplaceShiftingKeys) {
  expect_same(Schema::kHiddenRowid,
              {"INSERT INTO t(rowid, s, n) VALUES (40, 'a', 1), (41, 'b', 2), (42, 'c', 3)",
               "UPDATE OR REPLACE t SET s = s || '!', _rowid_ = _rowid_ + 1, n = 2 WHERE rowid >= '7'",
               "SELECT rowid, s, n FROM t"});
}

TEST(DifferentialSqlTest, DISABLED_TypeErrorInTransactionKeepsEarlierRows) {
  expect_same(Schema::kIntegerPrimaryKey,
              {"INSERT INTO t(k, i, n) VALUES (1, 1, 1), (2, 9223372036854775807, 1)", "BEGIN",
               "UPDATE t SET i = i + 1", "SELECT k, i FROM t", "ROLLBACK"});
}

// Both names of the key in one statement: a native table takes the value
// named last, the module always the key column's.
TEST(DifferentialSqlTest, DISABLED_KeyGivenAsRowidAndByName) {
  expect_same(Schema::kIntegerPrimaryKey, {"INSERT INTO t(k, rowid, n) VALUES (6, 5, 1)", "SELECT rowid, k FROM t",
                                           "UPDATE t SET k = 2, rowid = 3", "SELECT rowid, k FROM t"});
}

// An OR of key equalities: SQLite runs it on a virtual table as one lookup
// per term, in the order written (MULTI-INDEX OR), and on a native table in
// key order, so an UPDATE that moves keys onto each other under OR IGNORE
// or OR FAIL keeps a different row.
TEST(DifferentialSqlTest, DISABLED_UpdateOrIgnoreVisitsOrTermsInOrder) {
  expect_same(Schema::kIntegerPrimaryKey, {"INSERT INTO t(k, n) VALUES (4, 1), (12, 2)",
                                           "UPDATE OR IGNORE t SET k = 5 WHERE k = 12 OR k = 4", "SELECT k, n FROM t"});
}

// Found with everything above avoided: a REAL key operand equal to
// INT64_MIN (-9223372036854775809 rounds to -2^63) together with another
// constraint on the key (a join's equality, or an OR) gives other rows.
TEST(DifferentialSqlTest, DISABLED_RealOperandAtInt64MinWithSecondKeyConstraint) {
  expect_same(Schema::kIntegerPrimaryKey,
              {"INSERT OR IGNORE INTO t(rowid, n, x) VALUES (-9223372036854775808, 0, 1), (56, 1, ' 7 ')",
               "SELECT o.id, t.k FROM o LEFT JOIN t ON t.rowid = o.v WHERE t.k = -9223372036854775809",
               "INSERT INTO t(k, n) VALUES (1099511627776, 4), (NULL, 1)",
               "SELECT _rowid_, n FROM t WHERE (rowid = -9223372036854775809 OR k >= -5) ORDER BY k DESC LIMIT -1 "
               "OFFSET 2"});
}

// `IS` on the key is not offered to the module (xBestIndex sees no
// constraint), so SQLite compares every row itself, as a native scan
// would, and a REAL operand equal to -2^63 matches INT64_MIN; `=` seeks.
TEST(DifferentialSqlTest, DISABLED_IsWithRealOperandAtInt64Min) {
  expect_same(Schema::kIntegerPrimaryKey, {"INSERT INTO t(k, n) VALUES (-9223372036854775808, 1)",
                                           "SELECT k FROM t WHERE k IS -9223372036854775809"});
}

// SQLite computes every new row of a virtual-table UPDATE before it writes
// the first: a correlated subquery in SET reads no row the statement
// updated; a native table's later rows see the earlier ones. UPDATE FROM
// calls xUpdate once per joined row, so changes() counts a row once per
// match.
TEST(DifferentialSqlTest, DISABLED_UpdateReadsItsOwnTableBeforeWriting) {
  expect_same(Schema::kIntegerPrimaryKey,
              {"INSERT INTO t(k, n) VALUES (1, 1), (2, 1), (3, 1), (4, 1)",
               "UPDATE t SET n = (SELECT sum(n) FROM t p WHERE p.k <= t.k)", "SELECT k, n FROM t",
               "INSERT INTO o(id, v) VALUES (1001, 1), (1002, 2)", "UPDATE t SET n = 0 FROM o"});
}

// SQLite 3.40 has no RETURNING for UPDATE and DELETE of virtual tables.
TEST(DifferentialSqlTest, DISABLED_UpdateAndDeleteReturning) {
  expect_same(Schema::kIntegerPrimaryKey, {"INSERT INTO t(k, n) VALUES (1, 1)", "UPDATE t SET n = 2 RETURNING k, n",
                                           "DELETE FROM t RETURNING k"});
}

}  // namespace
}  // namespace alex::testing
