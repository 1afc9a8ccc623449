// Copyright (c) the alex authors.
//
// Helpers for the durability tests (durability_test.cc): file databases in
// the test's temporary folder, a random workload that runs every statement
// on an alex table `t` and on the native STRICT table `nat` with the same
// columns inside one transaction and compares the outcomes, and a random
// transaction driver (savepoints, deliberate rollbacks, statement errors).
//
// Knobs (as in tests/alex): ALEX_TEST_SEED replaces each test's fixed seed,
// ALEX_TEST_SCALE multiplies the amount of work (kills, transactions, rows
// are never scaled below a floor that keeps each test meaningful).

#ifndef ALEX_TESTS_VTAB_DURABILITY_UTIL_H_
#define ALEX_TESTS_VTAB_DURABILITY_UTIL_H_

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/alex/key_sets.h"
#include "tests/vtab/sql_test_util.h"

namespace alex::testing::durability {

using alex_test::Random;
using alex_test::scaled;
using alex_test::seed_trace;
using alex_test::test_seed;

// The columns of both tables of the workload.
constexpr const char* kColumns = "k INTEGER PRIMARY KEY, v TEXT, r REAL, n INTEGER NOT NULL";

// A quirk of SQLite 3.40, not of the module (README, "Differences from a
// native table"): in an open transaction, a multi-row INSERT OR IGNORE or
// OR FAIL that stops at a value of the wrong type keeps the rows it wrote
// before it, since SQLite opened no statement journal (no constraint of
// the statement could abort it); the module undoes the whole statement.
// So values of the wrong type appear only under ABORT and REPLACE.
constexpr bool kAvoidTypeErrorsUnderIgnoreAndFail = true;

// A database file private to this process (ctest may run tests in parallel).
inline std::string temp_db(const std::string& name) {
  return ::testing::TempDir() + "alex_durability_" + name + "_" + std::to_string(::getpid()) + ".db";
}

inline void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm", ".child_error"}) std::remove((path + suffix).c_str());
}

// Every row of `table`, in key order, each value with its type.
inline std::string dump(const Db& db, const std::string& table) {
  return db.str("SELECT k, v, r, n FROM " + table + " ORDER BY k");
}

// Creates the alex table t, the native STRICT table nat (same columns) and
// the native table progress (the number of each committed transaction of
// the crash test), and fills t and nat with the same `rows` rows.
inline Result create_tables(const Db& db, int rows) {
  const std::string cols = kColumns;
  Result r = db.run("CREATE VIRTUAL TABLE t USING alex(" + cols + ");" + "CREATE TABLE nat(" + cols + ") STRICT;" +
                    "CREATE TABLE progress(txn INTEGER PRIMARY KEY) STRICT;");
  if (!r.ok()) return r;
  const std::string fill =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " + std::to_string(rows) +
      ") INSERT INTO %T(k, v, r, n) SELECT x * 2, CASE WHEN x % 5 = 0 THEN NULL ELSE 'row ' || x END, "
      "CASE WHEN x % 7 = 0 THEN NULL ELSE x / 8.0 END, x % 101 FROM c";
  for (const char* table : {"t", "nat"}) {
    std::string sql = fill;
    sql.replace(sql.find("%T"), 2, table);
    r = db.run("BEGIN; " + sql + "; COMMIT");
    if (!r.ok()) return r;
  }
  return r;
}

// One statement's outcome: primary code, message, rendered rows, changes.
struct Outcome {
  int rc = SQLITE_OK;
  int extended_rc = SQLITE_OK;
  std::string error;
  std::string rows;
  int changes = 0;
  bool busy() const { return rc == SQLITE_BUSY || rc == SQLITE_LOCKED; }
  std::string str() const {
    return "rc=" + std::to_string(rc) + " error='" + error + "' changes=" + std::to_string(changes) + " rows=[" +
           rows + "]";
  }
};

inline Outcome run_one(const Db& db, const std::string& sql) {
  Outcome o;
  Result r = db.run(sql);
  o.rc = r.rc;
  o.extended_rc = r.ok() ? SQLITE_OK : sqlite3_extended_errcode(db.handle());
  o.error = r.error;
  o.rows = r.ok() ? r.str() : "";
  // sqlite3_changes(), not a difference of sqlite3_total_changes(): the
  // latter also counts the module's own shadow-table writes at commit.
  o.changes = r.ok() ? sqlite3_changes(db.handle()) : 0;
  return o;
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// The statement for one table: {T} names it.
inline std::string for_table(const std::string& tmpl, const std::string& table) { return replace_all(tmpl, "{T}", table); }

// Runs `tmpl` on t, then on nat, in the connection's current transaction.
// Returns "" when both outcomes agree (native messages name t instead of
// nat), else what differs. *busy is set (and nothing compared) when either
// statement met a lock.
inline std::string apply_both(const Db& db, const std::string& tmpl, bool* busy) {
  *busy = false;
  const bool autocommit = sqlite3_get_autocommit(db.handle()) != 0;
  Outcome a = run_one(db, for_table(tmpl, "t"));
  if (a.busy()) {
    *busy = true;
    return "";
  }
  if ((sqlite3_get_autocommit(db.handle()) != 0) != autocommit) {
    return "the alex statement ended the transaction: " + for_table(tmpl, "t") + "\n  alex:   " + a.str();
  }
  Outcome n = run_one(db, for_table(tmpl, "nat"));
  if (n.busy()) {
    *busy = true;
    return "";
  }
  n.error = replace_all(n.error, "nat.", "t.");
  // Documented in src/vtab/module.cc: a value its column cannot hold under
  // ON CONFLICT IGNORE, FAIL or ROLLBACK is SQLITE_MISMATCH for the module
  // (SQLite would resolve a constraint code by the mode), with SQLite's
  // message and the same effect (the statement is aborted).
  if (a.rc == SQLITE_MISMATCH && n.rc == SQLITE_CONSTRAINT && a.error.rfind("cannot store ", 0) == 0) a.rc = n.rc;
  if (a.rc != n.rc || a.error != n.error || a.rows != n.rows || a.changes != n.changes) {
    return "outcomes differ for " + tmpl + "\n  alex:   " + a.str() + "\n  native: " + n.str();
  }
  return "";
}

// Random statements for both tables. Keys mostly fall in a dense range so
// that inserts collide, updates and deletes hit rows, and the table spans
// several chunks.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}
  Random& rng() { return rng_; }

  // Called once per transaction: how big the table is, to keep it bounded.
  void observe(const Db& db) {
    Result r = db.run("SELECT count(*) FROM nat");
    if (r.ok() && !r.rows.empty()) rows_ = std::stoll(r.rows[0][0].substr(4));
  }

  std::string key_literal() {
    const uint64_t p = rng_.below(100);
    const int64_t k = p < 95 ? rng_.between(-20, kKeyHi) : rng_.between(int64_t{1} << 40, (int64_t{1} << 40) + 50);
    if (p == 95 || p == 96) return "'" + std::to_string(k) + "'";  // coerced to an integer key
    if (p == 97) return std::to_string(k) + ".0";
    return std::to_string(k);
  }

  // An existing key (or a random one if the lookup fails).
  std::string existing_key(const Db& db) {
    Result r = db.run("SELECT k FROM nat WHERE k >= " + std::to_string(rng_.between(-20, kKeyHi)) + " ORDER BY k LIMIT 1");
    if (r.ok() && !r.rows.empty()) return r.rows[0][0].substr(4);
    return std::to_string(rng_.between(-20, kKeyHi));
  }

  std::string text_literal() {
    const uint64_t p = rng_.below(100);
    if (p < 15) return "NULL";
    if (p < 20) return std::to_string(rng_.between(-99, 99999));  // stored as text
    std::string s;
    const size_t len = p < 24 ? 100 + rng_.below(3000) : rng_.below(13);
    for (size_t i = 0; i < len; i++) {
      const uint64_t c = rng_.below(40);
      if (c == 0) s += "''";
      else if (c == 1) s += "\xc3\xa9";  // é
      else s += static_cast<char>('a' + rng_.below(26));
    }
    return "'" + s + "'";
  }

  std::string real_literal() {
    const uint64_t p = rng_.below(100);
    if (p < 15) return "NULL";
    if (p < 30) return std::to_string(rng_.between(-1000, 1000));  // stored as a REAL
    if (p < 34) return "'2.5'";
    if (p < 36) return type_errors_ ? "'abc'" : "'3'";  // cannot store TEXT value in REAL column
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", rng_.normal() * 1000);
    return buf;
  }

  std::string int_literal() {
    const uint64_t p = rng_.below(100);
    if (p < 2) return "NULL";  // NOT NULL constraint failed
    if (p < 5) return "'12'";
    if (p < 7) return type_errors_ ? "1.5" : "'7'";  // cannot store REAL value in INTEGER column
    if (p < 9) return "3.0";
    return std::to_string(rng_.between(-1000, 1000));
  }

  std::string row_literal(bool with_key) {
    std::string s = "(";
    if (with_key) s += (rng_.chance(0.1) ? std::string("NULL") : key_literal()) + ", ";
    return s + text_literal() + ", " + real_literal() + ", " + int_literal() + ")";
  }

  // One statement template ({T} for the table).
  std::string statement(const Db& db) {
    const int64_t a = rng_.between(-20, kKeyHi);
    const int64_t w = static_cast<int64_t>(rng_.below(rows_ > kRowsHigh ? 400 : 40));
    const std::string range = std::to_string(a) + " AND " + std::to_string(a + w);
    uint64_t p = rng_.below(100);
    if (rows_ > kRowsHigh && p < 50) p = 80;                      // shrink: delete a range
    if (rows_ < kRowsLow && p >= 62 && p < 85 && rng_.chance(0.6)) p = 25;  // grow: insert rows
    if (p < 12) return "INSERT INTO {T}(k, v, r, n) VALUES" + row_literal(true);
    if (p < 18) return "INSERT INTO {T}(v, r, n) VALUES" + row_literal(false);
    // RETURNING with an explicit key: an automatic key comes back NULL from
    // a virtual table (DISABLED_ReturningAutomaticKey in durability_test.cc).
    if (p < 21) {
      return "INSERT INTO {T}(k, v, r, n) VALUES(" + key_literal() + ", " + text_literal() + ", " + real_literal() +
             ", " + int_literal() + ") RETURNING k, v, r, n";
    }
    if (p < 30) {
      static const char* kVerbs[] = {"INSERT", "INSERT OR IGNORE", "INSERT OR REPLACE", "INSERT OR FAIL", "REPLACE"};
      const int verb = static_cast<int>(rng_.below(5));
      std::string s = std::string(kVerbs[verb]) + " INTO {T}(k, v, r, n) VALUES";
      type_errors_ = !kAvoidTypeErrorsUnderIgnoreAndFail || verb == 0 || verb == 2 || verb == 4;
      const int n = 2 + static_cast<int>(rng_.below(5));
      for (int i = 0; i < n; i++) s += (i ? ", " : "") + row_literal(true);
      type_errors_ = true;
      return s;
    }
    if (p < 33) {
      return "INSERT OR IGNORE INTO {T}(k, v, r, n) SELECT k + " + std::to_string(rng_.between(-3000, 3000)) +
             ", v, r, n FROM {T} WHERE k BETWEEN " + range;
    }
    if (p < 45) return "UPDATE {T} SET v = " + text_literal() + ", r = " + real_literal() + " WHERE k BETWEEN " + range;
    if (p < 48) return "UPDATE {T} SET n = n + 1, v = coalesce(v, '') || 'u' WHERE n % 97 = " + std::to_string(rng_.below(97));
    if (p < 56) {
      const std::string from = existing_key(db);
      return std::string(rng_.chance(0.2) ? "UPDATE OR REPLACE" : "UPDATE") + " {T} SET k = " + key_literal() +
             (rng_.chance(0.3) ? ", n = " + int_literal() : std::string()) + " WHERE k = " + from;
    }
    if (p < 60) {
      const int64_t d = rng_.chance(0.5) ? rng_.between(-5, 5) : rng_.between(-4000, 4000);
      return std::string(rng_.chance(0.15) ? "UPDATE OR REPLACE" : "UPDATE") + " {T} SET k = k + " +
             std::to_string(d) + " WHERE k BETWEEN " + range;
    }
    if (p < 62) return "UPDATE {T} SET n = NULL WHERE k BETWEEN " + range;  // fails if any row matches
    if (p < 68) return "DELETE FROM {T} WHERE k = " + existing_key(db);
    if (p < 74) return "DELETE FROM {T} WHERE k BETWEEN " + range;
    if (p < 76) return "DELETE FROM {T} WHERE n % 53 = " + std::to_string(rng_.below(53));
    if (p < 78) return "DELETE FROM {T} WHERE k IN (" + key_literal() + ", " + key_literal() + ", " + existing_key(db) + ")";
    if (p < 85) return "DELETE FROM {T} WHERE k BETWEEN " + range;
    if (p < 92) return "SELECT count(*), sum(k), total(r), sum(n), sum(length(v)) FROM {T}";
    if (p < 96) return "SELECT k, v, r, n FROM {T} WHERE k BETWEEN " + range + " ORDER BY k DESC";
    return "SELECT k, n FROM {T} WHERE k IN (" + key_literal() + ", " + existing_key(db) + ") OR k > " +
           std::to_string(kKeyHi - 5);
  }

  static constexpr int64_t kKeyHi = 7000;
  static constexpr int64_t kRowsHigh = 6000;
  static constexpr int64_t kRowsLow = 2500;

 private:
  Random rng_;
  int64_t rows_ = 0;
  bool type_errors_ = true;  // literals may be of a type their column rejects
};

enum class TxnEnd { kCommitted, kRolledBack, kBusy, kFailed };

struct TxnResult {
  TxnEnd end = TxnEnd::kFailed;
  std::string detail;  // kFailed: what went wrong
  int statements = 0;
};

// One random transaction on t and nat: BEGIN [IMMEDIATE] or SAVEPOINT as
// the outer transaction, 1..10 statements applied to both, nested
// savepoints released or rolled back to, and the end: COMMIT (recording
// `progress_txn` in table progress when >= 0) or, sometimes, ROLLBACK.
// A lock anywhere rolls back and returns kBusy.
inline TxnResult random_transaction(const Db& db, Workload& w, int64_t progress_txn, bool immediate_only = false) {
  Random& rng = w.rng();
  TxnResult res;
  auto exec = [&](const std::string& sql, Outcome* out) {
    *out = run_one(db, sql);
    return out->rc == SQLITE_OK;
  };
  auto give_up = [&](TxnEnd end, const std::string& detail) {
    if (!sqlite3_get_autocommit(db.handle())) db.run("ROLLBACK");
    res.end = end;
    res.detail = detail;
    return res;
  };
  Outcome o;
  const uint64_t how = rng.below(10);
  const bool as_savepoint = !immediate_only && how == 0;
  const char* begin = as_savepoint ? "SAVEPOINT tx" : (immediate_only || how < 5) ? "BEGIN IMMEDIATE" : "BEGIN";
  if (!exec(begin, &o)) return give_up(o.busy() ? TxnEnd::kBusy : TxnEnd::kFailed, std::string(begin) + ": " + o.str());
  w.observe(db);
  int depth = 0;
  const int n = 1 + static_cast<int>(rng.below(10));
  for (int i = 0; i < n; i++) {
    const uint64_t p = rng.below(100);
    std::string sql;
    if (p < 8 && depth < 3) {
      sql = "SAVEPOINT s" + std::to_string(depth++);
    } else if (p < 14 && depth > 0) {
      sql = (rng.chance(0.5) ? "ROLLBACK TO s" : "RELEASE s") + std::to_string(depth - 1);
      if (sql[0] == 'R' && sql[1] == 'E') depth--;
    }
    if (!sql.empty()) {
      if (!exec(sql, &o)) return give_up(o.busy() ? TxnEnd::kBusy : TxnEnd::kFailed, sql + ": " + o.str());
      continue;
    }
    bool busy = false;
    const std::string tmpl = w.statement(db);
    std::string diff = apply_both(db, tmpl, &busy);
    if (busy) return give_up(TxnEnd::kBusy, tmpl);
    if (!diff.empty()) return give_up(TxnEnd::kFailed, diff);
    res.statements++;
  }
  if (rng.chance(0.12)) {
    const char* sql = as_savepoint ? "ROLLBACK TO tx" : "ROLLBACK";
    if (!exec(sql, &o)) return give_up(TxnEnd::kFailed, std::string(sql) + ": " + o.str());
    if (as_savepoint && !exec("RELEASE tx", &o)) return give_up(TxnEnd::kFailed, "RELEASE tx: " + o.str());
    res.end = TxnEnd::kRolledBack;
    return res;
  }
  if (progress_txn >= 0 && !exec("INSERT INTO progress(txn) VALUES(" + std::to_string(progress_txn) + ")", &o)) {
    return give_up(o.busy() ? TxnEnd::kBusy : TxnEnd::kFailed, "INSERT INTO progress: " + o.str());
  }
  const char* commit = as_savepoint ? "RELEASE tx" : "COMMIT";
  if (!exec(commit, &o)) return give_up(o.busy() ? TxnEnd::kBusy : TxnEnd::kFailed, std::string(commit) + ": " + o.str());
  res.end = TxnEnd::kCommitted;
  return res;
}

}  // namespace alex::testing::durability

#endif  // ALEX_TESTS_VTAB_DURABILITY_UTIL_H_
