// Copyright (c) the alex authors.
//
// I/O error loops, as SQLite's ioerr tests run them: through a VFS shim
// (vfs_shim.h) the Nth xWrite, xSync, xRead or xTruncate of a writing
// transaction fails (once, then in a second pass every call of that kind
// from the Nth on), for N = 1, 2, ... until a run injects no fault. The
// fault is armed right after the connection opens, so loading the alex
// table at connect is among the fault points. The transaction changes an
// alex table t and a native STRICT table nat the same way; at the first
// error it stops and rolls back (in persistent mode with the fault still
// on, so that SQLite's own rollback fails too and leaves a hot journal;
// were the ROLLBACK to fail, the connection would just be closed). Then,
// with the fault lifted, in the same connection (when still usable), in
// another connection through the default VFS (which rolls a hot journal
// back), and after reopening the database:
//   * t holds exactly the rows of nat (they change in the same
//     transactions, so they agree whether it committed or not),
//   * alex_check('t') is 'ok' (the cache agrees with the shadow tables),
//     and PRAGMA integrity_check too,
//   * the rows are the state before the transaction, or after it: before
//     when a statement before COMMIT failed, after when nothing failed,
//     either when COMMIT itself failed.
// The error must surface, as SQLITE_IOERR, from the statement that met it
// (a statement that succeeds must not find its transaction gone). A failed
// transaction is then run again, with no fault, in the same connection,
// which must commit it. Scale the stride between fault points with
// ALEX_TEST_SCALE (1 = every point).

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/fault/vfs_shim.h"
#include "tests/fault/workloads.h"
#include "tests/vtab/sql_test_util.h"

namespace alex::testing {
namespace {

using workloads::kColumns;
using workloads::series;

// The rows of a query rendered as in sql_test_util.h, or "error(rc): msg".
std::string query(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  std::string out;
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!out.empty()) out += "\n";
      for (int c = 0; c < sqlite3_column_count(stmt); c++) {
        if (c) out += "|";
        out += render(stmt, c);
      }
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE) return out;
  }
  return "error(" + std::to_string(rc) + "): " + sqlite3_errmsg(db);
}

std::string head(const std::string& s) { return s.size() <= 200 ? s : s.substr(0, 200) + "..."; }

// A connection through the shim, with the alex module registered.
sqlite3* open_through_shim(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, vfs::kName) != SQLITE_OK) {
    ADD_FAILURE() << "open through the shim: " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return nullptr;
  }
  char* err = nullptr;
  if (sqlite3_alex_init(db, &err, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "sqlite3_alex_init: " << (err ? err : "?");
    sqlite3_free(err);
  }
  return db;
}

// What one run did, for the checks and the messages.
struct Outcome {
  bool fired = false;
  int failed = -1;  // index of the statement that failed, -1 when none did
  int rc = SQLITE_OK;  // its extended code
  std::string error;
  int lost = -1;  // a statement that succeeded but left no transaction open
  bool rollback_failed = false;
  std::string rollback_error;
};

class IoErrTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(vfs::install(), SQLITE_OK); }

  void SetUp() override {
    ASSERT_EQ(vfs::install(), SQLITE_OK);  // again, in case another suite shut SQLite down
    const std::string dir = std::filesystem::temp_directory_path().string();
    base_ = dir + "/alex_ioerr_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    template_ = base_ + ".template.db";
    path_ = base_ + ".db";
    remove_all();
    Db db(template_);
    ASSERT_TRUE(workloads::create_tables(db));
    before_ = rows(db.handle(), "nat");
  }
  void TearDown() override {
    if (!HasFailure()) remove_all();
  }

  void remove_all() {
    for (const std::string& p : {template_, path_}) {
      for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((p + suffix).c_str());
    }
  }

  void fresh_copy() {
    for (const char* suffix : {"-journal", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
    std::filesystem::copy_file(template_, path_, std::filesystem::copy_options::overwrite_existing);
  }

  static std::string rows(sqlite3* db, const char* table) {
    return query(db, std::string("SELECT k, v, r, n FROM ") + table + " ORDER BY k");
  }

  // "" when t holds the rows of nat, alex_check is clean, and the rows are
  // one of `allowed` (1: after, 2: before, 3: either).
  std::string verdict(sqlite3* db, int allowed) const {
    const std::string t = rows(db, "t"), nat = rows(db, "nat");
    if (t != nat) return "t and nat differ:\n" + head(t) + "\n vs \n" + head(nat);
    const std::string check = query(db, "SELECT alex_check('t')");
    if (check != "text:'ok'") return "alex_check: " + check;
    const bool is_after = nat == after_, is_before = nat == before_;
    if ((allowed & 1) && is_after) return "";
    if ((allowed & 2) && is_before) return "";
    return std::string("the rows are ") + (is_after ? "the state after" : is_before ? "the state before" : "neither state") +
           ", expected " + (allowed == 1 ? "after" : allowed == 2 ? "before" : "before or after") + ": " + head(nat);
  }

  // The statements of a step: each one naming {T} runs on t, then on nat.
  static std::vector<std::string> expand(const std::vector<std::string>& body) {
    std::vector<std::string> out;
    for (const std::string& sql : body) {
      if (sql.find("{T}") == std::string::npos) {
        out.push_back(sql);
        continue;
      }
      for (const char* table : {"t", "nat"}) out.push_back(workloads::on_table(sql, table));
    }
    return out;
  }

  // One run of the statements with `op` failing at call n (and later when
  // persistent), then the checks. n = 0: no fault (the reference run).
  Outcome run_step(const std::vector<std::string>& stmts, const std::string& pragma, vfs::Op op, long n, bool persistent) {
    Outcome run;
    fresh_copy();
    sqlite3* db = open_through_shim(path_);
    if (db == nullptr) return run;
    if (!pragma.empty()) {
      const std::string mode = query(db, pragma);
      EXPECT_EQ(mode.find("error"), std::string::npos) << pragma << ": " << mode;
    }
    int commit = static_cast<int>(stmts.size());
    for (size_t i = 0; i < stmts.size(); i++) {
      if (stmts[i] == "COMMIT") commit = static_cast<int>(i);
    }
    if (n > 0) vfs::arm(op, n, persistent);
    for (size_t i = 0; i < stmts.size(); i++) {
      if (sqlite3_exec(db, stmts[i].c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        run.failed = static_cast<int>(i);
        run.rc = sqlite3_extended_errcode(db);
        run.error = sqlite3_errmsg(db);
        break;
      }
      // A statement that succeeds must leave the transaction open (SQLite
      // rolls it all back when a nested statement fails with an I/O error:
      // that error must not be swallowed).
      if (static_cast<int>(i) < commit && sqlite3_get_autocommit(db) && run.lost < 0) run.lost = static_cast<int>(i);
    }
    // A persistent fault is still on here: the rollback may fail too.
    if (run.failed >= 0 && !sqlite3_get_autocommit(db)) {
      if (sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
        run.rollback_failed = true;
        run.rollback_error = sqlite3_errmsg(db);
      }
    }
    run.fired = vfs::disarm();
    {  // a rollback journal left behind, to be rolled back by the next reader
      std::error_code ec;
      const auto size = std::filesystem::file_size(path_ + "-journal", ec);
      if (!ec && size > 0) hot_journals_++;
    }

    // 1: after, 2: before, 3: either.
    const int allowed = run.failed < 0 ? 1 : run.failed < commit ? 2 : 3;
    std::string what = std::string(vfs::op_name(op)) + (persistent ? " failing from call " : " failing at call ") +
                       std::to_string(n) + ": ";
    what += run.failed < 0 ? std::string("no error")
                           : "\"" + stmts[run.failed] + "\" failed: " + run.error + " (" + std::to_string(run.rc) + ")";
    if (run.rollback_failed) what += "; ROLLBACK failed: " + run.rollback_error;

    if (!run.fired) {
      EXPECT_EQ(run.failed, -1) << "an error with no fault injected: " << what;
    }
    if (run.failed >= 0) {
      EXPECT_EQ(run.rc & 0xff, SQLITE_IOERR) << "the I/O error surfaces as another error: " << what;
    }
    EXPECT_EQ(run.lost, -1) << "the transaction ended, yet \"" << (run.lost >= 0 ? stmts[run.lost] : "")
                            << "\" succeeded: " << what;
    // The same connection, when ROLLBACK worked (else it is closed: its
    // pager may be in the error state, with a hot journal on disk).
    bool retry = false;
    if (run.rollback_failed) {
      rollback_failed_++;
      EXPECT_EQ(sqlite3_close(db), SQLITE_OK) << what;
      db = nullptr;
    } else {
      EXPECT_TRUE(sqlite3_get_autocommit(db)) << what;
      EXPECT_EQ(verdict(db, allowed), "") << "same connection, " << what;
      retry = run.failed >= 0 && rows(db, "nat") == before_;
    }
    {  // Another connection, through the default VFS: rolls a hot journal back.
      Db other(path_);
      EXPECT_EQ(verdict(other.handle(), allowed), "") << "another connection, " << what;
      EXPECT_EQ(other.str("PRAGMA integrity_check"), "text:'ok'") << "another connection, " << what;
      if (run.failed == commit) (rows(other.handle(), "nat") == after_ ? failed_commit_after_ : failed_commit_before_)++;
    }
    // The failed transaction again, with no fault, in the same connection:
    // its cache and prepared statements survived the failure.
    if (retry) {
      bool ok = true;
      for (size_t i = 0; i < stmts.size() && ok; i++) {
        ok = sqlite3_exec(db, stmts[i].c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
        EXPECT_TRUE(ok) << "the retry in the same connection, " << stmts[i] << ": " << sqlite3_errmsg(db) << "; after "
                        << what;
      }
      if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      EXPECT_EQ(verdict(db, 1), "") << "same connection, after the retry; " << what;
      retry = ok;
    }
    if (db != nullptr) {
      EXPECT_EQ(sqlite3_close(db), SQLITE_OK) << what;
    }
    {
      Db again(path_);
      EXPECT_EQ(verdict(again.handle(), retry ? 1 : allowed), "") << "reopened" << (retry ? " after the retry, " : ", ")
                                                                  << what;
    }
    if (run.fired && run.failed < 0) silent_++;
    return run;
  }

  // The fault loop over one step (statements using {T} for the table), for
  // each kind of call and both modes, until a run injects no fault.
  // `pragma` runs on each connection before the fault is armed.
  void loop(const std::vector<std::string>& body, const std::string& pragma = "") {
    const std::vector<std::string> stmts = expand(body);
    {  // the reference: the state after the step, with no fault
      SCOPED_TRACE("reference run");
      after_ = "";
      fresh_copy();
      {
        sqlite3* db = open_through_shim(path_);
        ASSERT_NE(db, nullptr);
        if (!pragma.empty()) query(db, pragma);
        for (const std::string& sql : stmts) {
          ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
        }
        ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
      }
      {
        Db db(path_);
        after_ = rows(db.handle(), "nat");
        ASSERT_EQ(rows(db.handle(), "t"), after_);
        ASSERT_EQ(db.str("SELECT alex_check('t')"), "text:'ok'");
        ASSERT_NE(after_, before_);
      }
      run_step(stmts, pragma, vfs::Op::kWrite, 0, false);
      ASSERT_FALSE(HasFailure());
    }
    const char* s = std::getenv("ALEX_TEST_SCALE");
    const double scale = s ? std::atof(s) : 1.0;
    const long stride = scale >= 1 ? 1 : static_cast<long>(1 / scale);
    std::string summary;
    long total = 0;
    silent_ = failed_commit_after_ = failed_commit_before_ = rollback_failed_ = hot_journals_ = 0;
    for (vfs::Op op : {vfs::Op::kWrite, vfs::Op::kSync, vfs::Op::kRead, vfs::Op::kTruncate}) {
      summary += std::string(summary.empty() ? "" : ", ") + vfs::op_name(op) + " ";
      for (bool persistent : {false, true}) {
        long points = 0;
        // The first calls of each kind always (a transaction makes only a
        // few xSync and xTruncate calls), then every stride-th.
        for (long n = 1;; n += n < 4 ? 1 : stride) {
          SCOPED_TRACE(std::string(vfs::op_name(op)) + (persistent ? " persistent from call " : " at call ") +
                       std::to_string(n));
          const Outcome run = run_step(stmts, pragma, op, n, persistent);
          if (HasFailure()) return;
          if (!run.fired) break;
          points++;
        }
        total += points;
        summary += std::to_string(points) + (persistent ? "" : "/");
      }
    }
    std::printf("[  FAULTS  ] %s: %ld fault points (once/persistent: %s); COMMIT failed %ld times, leaving the state "
                "before %ld times, after %ld times; ROLLBACK failed %ld times; a journal left behind %ld times; %ld faults raised no error\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), total, summary.c_str(),
                failed_commit_before_ + failed_commit_after_, failed_commit_before_, failed_commit_after_, rollback_failed_,
                hot_journals_, silent_);
  }

  std::string base_, template_, path_;
  std::string before_, after_;  // nat's rows before and after the step
  long silent_ = 0, failed_commit_before_ = 0, failed_commit_after_ = 0, rollback_failed_ = 0, hot_journals_ = 0;
};

// 1000 new rows: the second chunk fills and a third one starts.
TEST_F(IoErrTest, MultiRowInsert) { loop(workloads::multi_row_insert(1000)); }
TEST_F(IoErrTest, UpdateWithKeyChanges) { loop(workloads::kUpdateWithKeyChanges); }
TEST_F(IoErrTest, Delete) { loop(workloads::kDelete); }
TEST_F(IoErrTest, Savepoints) { loop(workloads::kSavepoints); }

// Inserts, key changes and deletes in one transaction, per journal mode:
// DELETE (the default, spelled out), WAL, and TRUNCATE (whose commit is an
// xTruncate of the journal).
const std::vector<std::string> kMixed = {
    "BEGIN", "INSERT INTO {T}(k, v, r, n) SELECT 6000 + value, 'm ' || value, value, value FROM " + series(60),
    "UPDATE {T} SET k = k + 30000 WHERE k BETWEEN 300 AND 360", "DELETE FROM {T} WHERE k % 11 = 0 AND k < 2000",
    "COMMIT"};

TEST_F(IoErrTest, JournalModeDelete) { loop(kMixed, "PRAGMA journal_mode=DELETE"); }
TEST_F(IoErrTest, JournalModeWal) { loop(kMixed, "PRAGMA journal_mode=WAL"); }
TEST_F(IoErrTest, JournalModeTruncate) { loop(kMixed, "PRAGMA journal_mode=TRUNCATE"); }

}  // namespace
}  // namespace alex::testing
