// Copyright (c) the alex authors.
//
// The SQL-level differential test: random statements (tests/vtab/sql_gen.h)
// run on an alex virtual table and on the native STRICT table with the same
// columns, each in its own in-memory database with the same schema names, so
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
//     end, the same table, row by row with types.
// Rows are compared in order when the order is defined (a total ORDER BY, or
// one table scanned without ORDER BY, which both sides scan in key order),
// as sorted multisets otherwise.
//
// On the first mismatch the test fails with the seed, the statement number,
// the statement, both outcomes, and reproducers written under /tmp: the whole
// statement log, and a shrunk log (statements dropped while the mismatch
// stays) ready to paste into the sqlite3 shell.
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

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/alex/key_sets.h"
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

// Known differences from the native table, each reproduced by a DISABLED_
// test at the end of this file and listed in README.md ("Differences from
// a native STRICT table"). While a switch is true the random tests tolerate
// or avoid that one difference, so that they go on looking for others.
//
// DISABLED_TypeErrorsUnderOrFail: under OR FAIL, OR IGNORE and OR
// ROLLBACK a STRICT type error comes back as SQLITE_MISMATCH (20), SQLite
// says SQLITE_CONSTRAINT (19, extended SQLITE_CONSTRAINT_DATATYPE); and in
// a transaction OR FAIL keeps the rows before a type error (or a key that
// is no integer) in SQLite, the module drops them. Tolerated by reading 20
// as 19 for "cannot store ..." messages; the rows kept are avoided by
// kAvoidTypeErrorsInTransactions.
constexpr bool kTolerateTypeErrorCode = true;
// DISABLED_ChangesAfterCommit: COMMIT (or the RELEASE that ends a
// transaction) changes sqlite3_changes(), as the module writes its shadow
// tables. Tolerated by comparing changes() only right after a write.
constexpr bool kTolerateChangesAfterCommit = true;
// DISABLED_ReturningKeyGivenByAnotherName (and DurabilityTest.
// DISABLED_ReturningAutomaticKey): INSERT ... RETURNING gives NULL or -1 for
// a key the module chose or one given as rowid/oid/_rowid_ (SQLite
// evaluates RETURNING from what it passed to xUpdate: maybe a limit, not a
// bug). Avoided: RETURNING names no key.
constexpr bool kAvoidReturningKeys = true;
// DISABLED_ReturningUnderOrIgnore: INSERT OR IGNORE ... RETURNING also
// returns the rows that were ignored (maybe a limit of SQLite's RETURNING
// on virtual tables). Avoided: no RETURNING under OR IGNORE.
constexpr bool kAvoidReturningUnderIgnore = true;
// DISABLED_UpdateOrReplaceShiftingKeys: UPDATE OR REPLACE t SET k = k + 1
// over keys 1, 2, 3 leaves (4: row 1) in SQLite, which updates a moved row
// again when it reaches its new key, and (4: row 3) with the module. SQLite
// computes all new rows of a virtual table UPDATE before the first xUpdate,
// so this is likely a limit to document. Avoided: UPDATE OR REPLACE does not
// assign the key.
constexpr bool kAvoidUpdateOrReplaceOfKeys = true;
// DISABLED_TypeErrorInTransactionKeepsEarlierRows: in an open transaction,
// `UPDATE t SET i = i + 1` over i = 1 and i = INT64_MAX fails on the second
// row ("cannot store REAL value") and SQLite keeps the first row's update
// (it opens no statement journal when nothing in the statement may abort:
// STRICT type checks do not count); the module rolls the statement back.
// Avoided: values are well typed in writes inside a transaction.
constexpr bool kAvoidTypeErrorsInTransactions = true;

// DISABLED_RealOperandAtInt64MinWithSecondKeyConstraint: SQLite answers
// `rowid = -9223372036854775809` (a REAL equal to -2^63) by plan: no row
// when it seeks by rowid (integer affinity excludes INT64_MIN), the INT64_MIN
// row when it scans and compares. The module always answers as the seek
// does, so the two differ where SQLite scans. A limit (README). Avoided:
// no such operand.
constexpr bool kAvoidRealAtInt64Min = true;

sqlgen::Workarounds workarounds() {
  sqlgen::Workarounds w;
  w.no_key_in_returning = kAvoidReturningKeys;
  w.no_returning_under_ignore = kAvoidReturningUnderIgnore;
  w.no_key_update_or_replace = kAvoidUpdateOrReplaceOfKeys;
  w.well_typed_in_transactions = kAvoidTypeErrorsInTransactions;
  w.no_real_at_int64_min = kAvoidRealAtInt64Min;
  return w;
}

// One statement's outcome on one side, as text: the rows (sorted when their
// order is undefined) or the error, then the connection state that SQL can
// observe afterwards.
struct Outcome {
  Result result;
  std::string text;
};

Outcome run_on(const Db& db, const Statement& statement) {
  Outcome out{db.run(statement.sql), ""};
  Result shown = out.result;
  if (statement.order == Order::kAny) std::sort(shown.rows.begin(), shown.rows.end());
  if (kTolerateTypeErrorCode && shown.rc == SQLITE_MISMATCH && shown.error.rfind("cannot store ", 0) == 0) {
    shown.rc = SQLITE_CONSTRAINT;
  }
  sqlite3* h = db.handle();
  out.text = shown.str() + "\n[autocommit=" + std::to_string(sqlite3_get_autocommit(h));
  if (!kTolerateChangesAfterCommit || statement.kind == Kind::kWrite) {
    out.text += " changes=" + std::to_string(sqlite3_changes64(h));
  }
  out.text += " last_insert_rowid=" + std::to_string(sqlite3_last_insert_rowid(h)) + "]";
  return out;
}

bool same(const Outcome& a, const Outcome& b) { return a.text == b.text; }

// The side under test (`a`) and the native side (`b`), set up identically
// but for the CREATE of `t`.
class Pair {
 public:
  Pair(Schema schema, bool native_a) {
    ok_ = a_.run(native_a ? create_native(schema) : create_alex(schema)).ok() &&
          b_.run(create_native(schema)).ok();
    for (const std::string& sql : sqlgen::helper_table_sql()) {
      ok_ = ok_ && a_.run(sql).ok() && b_.run(sql).ok();
    }
  }

  bool ok() const { return ok_; }
  const Db& a() const { return a_; }
  const Db& b() const { return b_; }

 private:
  Db a_, b_;
  bool ok_ = false;
};

// What the generator may know: read from the native side only.
Probe probe(const Db& native) {
  Probe p;
  p.autocommit = sqlite3_get_autocommit(native.handle()) != 0;
  const Result r = native.run("SELECT max(rowid), count(*) FROM t");
  if (r.ok() && r.rows.size() == 1) {
    const std::string& max = r.rows[0][0];
    p.max_key = max.rfind("int:", 0) == 0 ? std::stoll(max.substr(4)) : 0;
    p.rows = std::stoll(r.rows[0][1].substr(4));
  }
  return p;
}

// For Order::kKeyScan: the native rows must ascend by their first column
// (the key). A failure here is a bug in the generator's classification, not
// in the module: it would make an in-order comparison unfair.
bool ascends_by_key(const Result& r) {
  int64_t last = 0;
  for (size_t i = 0; i < r.rows.size(); i++) {
    const std::string& cell = r.rows[i][0];
    if (cell.rfind("int:", 0) != 0) return false;
    const int64_t key = std::stoll(cell.substr(4));
    if (i > 0 && key <= last) return false;
    last = key;
  }
  return true;
}

// Replays `log` on a fresh pair; the index of the first statement whose
// outcomes differ (and, if asked, those outcomes), or -1.
long first_mismatch(Schema schema, bool native_a, const std::vector<Statement>& log,
                    std::pair<std::string, std::string>* outcomes = nullptr) {
  Pair pair(schema, native_a);
  if (!pair.ok()) return 0;
  for (size_t i = 0; i < log.size(); i++) {
    const Outcome a = run_on(pair.a(), log[i]), b = run_on(pair.b(), log[i]);
    if (!same(a, b)) {
      if (outcomes) *outcomes = {a.text, b.text};
      return static_cast<long>(i);
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Reproducers.

// Drops statements from `log` (whose last statement is the mismatch) while
// the replay still first differs at its last statement: all reads but the
// last at once, then chunks of halving size. Stops at the deadline.
std::vector<Statement> shrink(Schema schema, bool native_a, std::vector<Statement> log, double seconds) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto still_fails = [&](const std::vector<Statement>& candidate) {
    return first_mismatch(schema, native_a, candidate) == static_cast<long>(candidate.size()) - 1;
  };
  if (seconds <= 0 || !still_fails(log)) return log;

  std::vector<Statement> writes;
  for (size_t i = 0; i + 1 < log.size(); i++) {
    if (log[i].kind != Kind::kRead) writes.push_back(log[i]);
  }
  writes.push_back(log.back());
  if (writes.size() < log.size() && still_fails(writes)) log = std::move(writes);

  for (size_t chunk = (log.size() - 1) / 2; chunk >= 1 && Clock::now() < deadline; chunk /= 2) {
    for (size_t start = 0; start + 1 < log.size() && Clock::now() < deadline;) {
      const size_t end = std::min(start + chunk, log.size() - 1);
      std::vector<Statement> candidate(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(start));
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

// A script for the sqlite3 shell: the setup, `log`, and both outcomes of its
// last statement as comments.
std::string script(Schema schema, const std::vector<Statement>& log, const std::string& a, const std::string& b) {
  std::ostringstream s;
  s << "-- alex differential test reproducer (" << log.size() << " statements).\n"
    << "-- Run: sqlite3 :memory: < this-file. For the native side, swap the two CREATE TABLE lines.\n"
    << ".load " << kExtensionPath << "\n"
    << create_alex(schema) << ";\n"
    << "-- " << create_native(schema) << ";\n";
  for (const std::string& sql : sqlgen::helper_table_sql()) s << sql << ";\n";
  for (size_t i = 0; i < log.size(); i++) {
    if (i + 1 == log.size()) s << "-- The statement whose outcomes differ:\n";
    s << log[i].sql << ";\n";
  }
  s << "-- alex:\n" << commented(a) << "\n-- native:\n" << commented(b) << "\n";
  return s.str();
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
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

  std::string str() const {
    static const char* kNames[] = {"reads", "writes", "transaction statements"};
    std::ostringstream s;
    for (int k = 0; k < 3; k++) {
      s << "  " << kNames[k] << ": " << ok_[k] << " ok (" << with_rows_[k] << " returned rows), " << failed_[k]
        << " failed\n";
    }
    s << "  table size: max " << max_rows_ << ", mean " << (statements_ ? total_rows_ / statements_ : 0)
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
};

// ---------------------------------------------------------------------------
// The test.

void run_differential(Schema schema, uint64_t fixed_seed, size_t statements) {
  const uint64_t seed = alex_test::test_seed(fixed_seed);
  const size_t count = alex_test::scaled(statements, 100);
  const bool native_a = native_only();
  const std::string name = std::string(sqlgen::schema_name(schema)) + "_" + std::to_string(seed);
  std::cout << "[ seed     ] " << alex_test::seed_trace(seed) << ", schema " << sqlgen::schema_name(schema) << ", "
            << count << " statements" << (native_a ? ", ALEX_DIFF_NATIVE=1 (native vs native)" : "") << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));

  Pair pair(schema, native_a);
  ASSERT_TRUE(pair.ok()) << "setup failed: " << pair.a().str(create_alex(schema));
  SqlGen gen(schema, seed, workarounds());
  const Statement dump{sqlgen::dump_sql(schema), Order::kExact, Kind::kRead};

  std::vector<Statement> log;
  Coverage coverage;
  Probe state;
  bool closing = false;
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
      state = probe(pair.b());
      statement = gen.next(state);
    }
    log.push_back(statement);
    const Outcome a = run_on(pair.a(), statement);
    const Outcome b = run_on(pair.b(), statement);

    if (statement.order == Order::kKeyScan && b.result.ok() && !ascends_by_key(b.result)) {
      FAIL() << "generator bug: statement " << i << " was taken to return rows in key order, but the native "
             << "table did not:\n  " << statement.sql << "\n" << b.text << "\n" << alex_test::seed_trace(seed);
    }
    if (!same(a, b)) {
      const std::string full = write_file("alex_diff_" + name + "_full.sql", script(schema, log, a.text, b.text));
      const std::vector<Statement> small = shrink(schema, native_a, log, shrink_seconds());
      std::pair<std::string, std::string> small_outcomes{a.text, b.text};
      first_mismatch(schema, native_a, small, &small_outcomes);
      const std::string small_text = script(schema, small, small_outcomes.first, small_outcomes.second);
      const std::string small_path = write_file("alex_diff_" + name + ".sql", small_text);
      std::ostringstream msg;
      msg << "mismatch at statement " << i << " of " << count << " (" << alex_test::seed_trace(seed)
          << ", schema " << sqlgen::schema_name(schema) << ")\n"
          << "  statement: " << statement.sql << "\n"
          << "  alex:\n" << a.text << "\n  native:\n" << b.text << "\n";
      if (a.text.size() + b.text.size() > 2000) msg << "  differing lines:\n" << line_diff(a.text, b.text);
      msg << "  whole log (" << log.size() << " statements): " << full << "\n"
          << "  shrunk reproducer (" << small.size() << " statements): " << small_path << "\n";
      if (small.size() <= 60) msg << small_text;
      FAIL() << msg.str();
    }
    coverage.add(statement, b.result, state.rows);
    gen.observe(statement, b.result.ok(), sqlite3_get_autocommit(pair.b().handle()) != 0);
    if (closing) {
      ASSERT_TRUE(sqlite3_get_autocommit(pair.b().handle())) << "the last transaction did not close";
      closing = false;
    }
  }
  std::cout << "[ coverage ] " << sqlgen::schema_name(schema) << " seed " << seed << ":\n" << coverage.str();
}

// Several fixed seeds per schema; ~125k statements in all by default.
constexpr size_t kStatements = 25000;

TEST(DifferentialSqlTest, IntegerPrimaryKeySeed1) { run_differential(Schema::kIntegerPrimaryKey, 1, kStatements); }
TEST(DifferentialSqlTest, IntegerPrimaryKeySeed2) { run_differential(Schema::kIntegerPrimaryKey, 2, kStatements); }
TEST(DifferentialSqlTest, IntegerPrimaryKeySeed3) { run_differential(Schema::kIntegerPrimaryKey, 3, kStatements); }
TEST(DifferentialSqlTest, HiddenRowidSeed4) { run_differential(Schema::kHiddenRowid, 4, kStatements); }
TEST(DifferentialSqlTest, HiddenRowidSeed5) { run_differential(Schema::kHiddenRowid, 5, kStatements); }


// ---------------------------------------------------------------------------
// The known mismatches, one reproducer each (shrunk from the random runs).
// Each runs its statements on both sides and expects every outcome to match;
// they are DISABLED_ until the module is fixed (or the difference is
// documented as a limit), as the switches above describe. No tolerance
// applies here: rows, errors and changes() compare verbatim.

void expect_same(Schema schema, const std::vector<std::string>& statements) {
  Pair pair(schema, native_only());
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

}  // namespace
}  // namespace alex::testing
