// Copyright (c) the alex authors.
//
// Out-of-memory loops, as SQLite's faultsim runs them: for N = 1, 2, ...
// the Nth allocation of a step fails (once, then in a second pass every
// allocation from the Nth on), until a step runs with no fault left to
// inject. A step changes an alex table and a native STRICT table the same
// way in one transaction; any error rolls the transaction back. Afterwards,
// with the fault lifted, the two tables must hold the same rows, before and
// after reopening the database, and alex_check must report "ok". Scale the
// stride between fault points with ALEX_TEST_SCALE (1 = every point).

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/fault/fault_injection.h"
#include "tests/fault/workloads.h"
#include "tests/vtab/sql_test_util.h"

namespace alex::testing {
namespace {

using workloads::kColumns;
using workloads::series;

class OomTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fault::install_sqlite_allocator(); }

  void SetUp() override {
    const std::string dir = std::filesystem::temp_directory_path().string();
    base_ = dir + "/alex_oom_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    template_ = base_ + ".template.db";
    path_ = base_ + ".db";
    replay_ = base_ + ".replay.db";
    remove_all();
    Db db(template_);
    ASSERT_TRUE(workloads::create_tables(db));
  }
  void TearDown() override {
    if (!HasFailure()) remove_all();
  }

  void remove_all() {
    for (const std::string& p : {template_, path_, replay_}) {
      for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((p + suffix).c_str());
    }
  }

  void fresh_copy() {
    for (const std::string& p : {path_, replay_}) {
      for (const char* suffix : {"-journal", "-wal", "-shm"}) std::remove((p + suffix).c_str());
    }
    std::filesystem::copy_file(template_, path_, std::filesystem::copy_options::overwrite_existing);
  }

  static std::string rows(const Db& db, const char* table) {
    return db.str(std::string("SELECT k, v, r, n FROM ") + table + " ORDER BY k");
  }

  // "" when t in `a` holds the rows of nat in `b` and alex_check is clean.
  static std::string disagreement(const Db& a, const Db& b) {
    const std::string t = rows(a, "t"), nat = rows(b, "nat");
    if (t != nat) return "t and nat differ:\n" + t.substr(0, 300) + "\n vs \n" + nat.substr(0, 300);
    const std::string check = a.str("SELECT alex_check('t')");
    if (check != "text:'ok'") return "alex_check: " + check;
    if (a.str("SELECT count(*) FROM sqlite_schema WHERE name = 't2'") == "int:1") {
      const std::string check2 = a.str("SELECT alex_check('t2')");
      if (check2 != "text:'ok'") return "alex_check('t2'): " + check2;
    }
    return "";
  }

  // Runs the step's statements on t with the nth allocation failing (and
  // every later one when persistent), going on after errors as an
  // application would; then, with the fault lifted, rolls back what is
  // still open. Replays on nat, in a second copy, exactly the statements
  // that succeeded, rolling back where SQLite rolled t's transaction back:
  // a failed statement must leave nothing behind, and a transaction whose
  // COMMIT succeeded must hold all of its statements. Compares t with nat,
  // then again after reopening. Returns whether a fault fired.
  bool run_step(const std::vector<std::string>& body, long n, bool persistent) {
    fresh_copy();
    std::vector<std::string> on_t = statements_for(body, "t"), on_nat = statements_for(body, "nat");
    std::vector<int> ok(on_t.size()), open_after(on_t.size());
    bool fired = false;
    {
      Db a(path_);
      fault::arm(n, persistent);
      for (size_t i = 0; i < on_t.size(); i++) {
        ok[i] = sqlite3_exec(a.handle(), on_t[i].c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
        open_after[i] = !sqlite3_get_autocommit(a.handle());
      }
      fired = fault::disarm();
      if (!sqlite3_get_autocommit(a.handle())) {
        EXPECT_EQ(sqlite3_exec(a.handle(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK)
            << sqlite3_errmsg(a.handle());
      }
      // A COMMIT that fails may have committed (SQLite says as much of an
      // out-of-memory error there): either outcome is right, as long as the
      // cache and the file agree on it.
      auto replay = [&](bool failed_commit_committed) {
        std::filesystem::copy_file(template_, replay_, std::filesystem::copy_options::overwrite_existing);
        auto b = std::make_unique<Db>(replay_);
        for (size_t i = 0; i < on_nat.size(); i++) {
          const bool commit = on_nat[i] == "COMMIT" && failed_commit_committed;
          if (ok[i] || commit) {
            EXPECT_TRUE(b->run(on_nat[i]).ok()) << on_nat[i];
          } else if (!open_after[i] && !sqlite3_get_autocommit(b->handle())) {
            EXPECT_TRUE(b->run("ROLLBACK").ok());  // SQLite rolled t's transaction back
          }
        }
        if (!sqlite3_get_autocommit(b->handle())) {
          EXPECT_TRUE(b->run("ROLLBACK").ok());
        }
        return b;
      };
      std::unique_ptr<Db> b = replay(false);
      if (!disagreement(a, *b).empty()) b = replay(true);
      for (size_t i = 0; i < on_t.size(); i++) {
        if (!fired) {
          EXPECT_TRUE(ok[i]) << "an error with no fault injected: " << on_t[i];
        }
      }
      std::string log;  // what happened on t, for the messages
      for (size_t i = 0; i < on_t.size(); i++) {
        log += "\n  " + on_t[i] + (ok[i] ? ": ok" : open_after[i] ? ": failed" : ": failed, rolled back");
      }
      EXPECT_EQ(disagreement(a, *b), "") << "same connection" << log;
      Db again(path_);
      EXPECT_EQ(disagreement(again, *b), "") << "reopened" << log;
    }
    return fired;
  }

  static std::vector<std::string> statements_for(const std::vector<std::string>& body, const char* table) {
    std::vector<std::string> out;
    for (const std::string& sql : body) out.push_back(workloads::on_table(sql, table));
    return out;
  }

  // The fault loop over one step (statements using {T} for the table), in
  // both modes, until a run injects no fault.
  void loop(const std::vector<std::string>& body) {
    const char* s = std::getenv("ALEX_TEST_SCALE");
    const double scale = s ? std::atof(s) : 1.0;
    const long stride = scale >= 1 ? 1 : static_cast<long>(1 / scale);
    for (bool persistent : {false, true}) {
      long points = 0;
      for (long n = 1;; n += stride) {
        SCOPED_TRACE((persistent ? "persistent fault from allocation " : "fault at allocation ") + std::to_string(n));
        const bool fired = run_step(body, n, persistent);
        if (HasFailure()) return;
        if (!fired) break;
        points++;
      }
      std::printf("[  FAULTS  ] %s: %ld fault points (%s)\n",
                  ::testing::UnitTest::GetInstance()->current_test_info()->name(), points,
                  persistent ? "persistent" : "once");
    }
  }

  std::string base_, template_, path_, replay_;
};

TEST_F(OomTest, MultiRowInsert) { loop(workloads::multi_row_insert(40)); }
TEST_F(OomTest, UpdateWithKeyChanges) { loop(workloads::kUpdateWithKeyChanges); }
TEST_F(OomTest, Delete) { loop(workloads::kDelete); }
TEST_F(OomTest, Savepoints) { loop(workloads::kSavepoints); }

// Autocommit statements, and a table created, filled and dropped: t2 is
// either gone afterwards or whole (alex_check), and t matches nat.
TEST_F(OomTest, AutocommitAndCreateTable) {
  loop({"INSERT INTO {T}(k, v, r, n) VALUES (7001, 'a', 1, 1), (7002, 'b', 2, 2)",
        std::string("CREATE VIRTUAL TABLE {T}2 USING alex(") + kColumns + ")",
        "INSERT INTO {T}2 SELECT * FROM {T} WHERE k < 100", "UPDATE {T} SET k = -k WHERE k > 7000",
        "DROP TABLE {T}2"});
}

// Opening the database and loading the table from its shadow tables.
TEST_F(OomTest, Connect) {
  fresh_copy();
  for (bool persistent : {false, true}) {
    long points = 0;
    for (long n = 1;; n++) {
      SCOPED_TRACE("fault at allocation " + std::to_string(n));
      fault::arm(n, persistent);
      bool fired;
      {
        Db db(path_);  // may fail to open or to register the module: then every query fails
        sqlite3_exec(db.handle(), "SELECT count(*) FROM t WHERE k > 10", nullptr, nullptr, nullptr);
        fired = fault::disarm();
        // The same connection, with the fault lifted: a table that failed
        // to load loads now.
        if (db.handle() != nullptr && db.run("SELECT 1").ok()) {
          const std::string d = disagreement(db, db);
          // (A failed sqlite3_alex_init may leave the module or alex_check
          // unregistered on this connection; it returned the error.)
          if (d.find("no such module") == std::string::npos && d.find("no such function") == std::string::npos) {
            EXPECT_EQ(d, "");
          }
        }
      }
      Db db(path_);
      EXPECT_EQ(disagreement(db, db), "") << "reopened";
      if (HasFailure()) return;
      if (!fired) break;
      points++;
    }
    std::printf("[  FAULTS  ] Connect: %ld fault points (%s)\n", points, persistent ? "persistent" : "once");
  }
}

}  // namespace
}  // namespace alex::testing
