// Copyright (c) the alex authors.
//
// Durability of the alex module, always against a native STRICT table with
// the same columns written in the same transactions:
//   * crash safety: a child process writes both tables in random
//     transactions and is killed with SIGKILL at a random moment; the
//     database it leaves must pass integrity_check and alex_check, and both
//     tables must hold the same rows, at the last reported commit or the
//     one after it (journal_mode DELETE and WAL);
//   * threads: connections of one process read and write one WAL database
//     concurrently; every reader sees both tables agree;
//   * damaged shadow tables: every statement reports SQLITE_CORRUPT naming
//     the shadow table (and chunk), nothing crashes, DROP TABLE works;
//   * transactions on disk: ROLLBACK, savepoints and failed statements
//     leave nothing behind in the file.
// Random tests print their seed; ALEX_TEST_SEED replaces it and
// ALEX_TEST_SCALE scales them (tests/vtab/durability_util.h).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/vtab/durability_util.h"

namespace alex::testing::durability {
namespace {

uint64_t announce_seed(uint64_t fixed) {
  const uint64_t seed = test_seed(fixed);
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::printf("[   SEED   ] %s.%s: %s\n", info->test_suite_name(), info->name(), seed_trace(seed).c_str());
  std::fflush(stdout);
  return seed;
}

std::string one(const Db& db, const std::string& sql) { return db.str(sql); }

// Two dumps (one row a line) compared, with the first rows that differ.
::testing::AssertionResult same_rows(const std::string& a, const std::string& b) {
  if (a == b) return ::testing::AssertionSuccess();
  auto lines = [](const std::string& s) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at <= s.size() && !s.empty()) {
      const size_t end = std::min(s.find('\n', at), s.size());
      out.push_back(s.substr(at, end - at));
      at = end + 1;
    }
    return out;
  };
  const std::vector<std::string> x = lines(a), y = lines(b);
  size_t i = 0;
  while (i < x.size() && i < y.size() && x[i] == y[i]) i++;
  auto at = [](const std::vector<std::string>& v, size_t i) { return i < v.size() ? v[i] : std::string("(end)"); };
  return ::testing::AssertionFailure() << "the rows differ (" << x.size() << " vs " << y.size()
                                       << " rows); first difference at row " << i << ":\n    " << at(x, i)
                                       << "\n vs " << at(y, i) << "\n    next: " << at(x, i + 1) << "\n vs " << at(y, i + 1);
}

// The checks every recovered database must pass: SQLite's and the
// module's integrity checks, and the same rows in t and nat.
void expect_consistent(const Db& db, const std::string& where) {
  EXPECT_EQ(one(db, "PRAGMA integrity_check"), "text:'ok'") << where;
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'") << where;
  EXPECT_TRUE(same_rows(dump(db, "t"), dump(db, "nat"))) << where << ": t (left) and nat (right)";
}

int64_t last_txn(const Db& db) {
  Result r = db.run("SELECT coalesce(max(txn), 0) FROM progress");
  if (!r.ok() || r.rows.empty()) return -1;
  return std::stoll(r.rows[0][0].substr(4));
}

void sleep_us(uint64_t us) {
  timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// ---------------------------------------------------------------------------
// 1. Crash safety

// The child: a fresh connection (never the parent's handle), random
// transactions on t and nat, each commit recorded in `progress` inside the
// transaction and reported on `fd` (8 bytes, the transaction's number)
// after COMMIT returned. Runs until killed; a disagreement between the
// tables is written to `path`.child_error and ends the child with 3.
[[noreturn]] void crash_child(const std::string& path, const std::string& mode, uint64_t seed, int fd) {
  int status = 0;
  {
    Db db(path);
    sqlite3_busy_timeout(db.handle(), 5000);
    std::string error;
    Result r = db.run("PRAGMA journal_mode=" + mode + "; PRAGMA synchronous=FULL");
    if (!r.ok()) error = "pragmas: " + r.str();
    int64_t txn = error.empty() ? last_txn(db) : -1;
    if (txn < 0 && error.empty()) error = "cannot read progress";
    Workload w(seed);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (error.empty() && std::chrono::steady_clock::now() < deadline) {
      TxnResult t = random_transaction(db, w, txn + 1);
      if (t.end == TxnEnd::kCommitted) {
        txn++;
        if (write(fd, &txn, sizeof txn) != sizeof txn) break;
      } else if (t.end == TxnEnd::kFailed) {
        error = t.detail;
      }
    }
    if (!error.empty()) {
      FILE* f = std::fopen((path + ".child_error").c_str(), "w");
      if (f) {
        std::fprintf(f, "%s\n", error.c_str());
        std::fclose(f);
      }
      status = 3;
    }
    // The connection is abandoned, not closed, as a crash would leave it.
    _exit(status);
  }
}

struct CrashStats {
  int kills = 0;
  int by_sleep = 0;
  int by_commits = 0;
  int hot_journal = 0;          // DELETE: a journal was left behind
  int unreported_commit = 0;    // the commit landed, the report did not
  int64_t commits = 0;
};

// Reads 8-byte reports from `fd` until `want` arrived (want < 0: until
// EOF) or `timeout_ms` passed. Returns false on timeout.
bool read_reports(int fd, std::string& buf, int64_t* last, int* count, int want, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (want < 0 || *count < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[256];
    const ssize_t got = read(fd, chunk, sizeof chunk);
    if (got <= 0) return want < 0;  // EOF: the child is gone
    buf.append(chunk, static_cast<size_t>(got));
    while (buf.size() >= 8) {
      std::memcpy(last, buf.data(), 8);
      buf.erase(0, 8);
      (*count)++;
    }
  }
  return true;
}

// A connection the parent opens while the child runs: it follows the
// child's commits (its cache refreshes across processes) and, after the
// kill, meets the recovered file with a cache built before the crash.
void observe(const Db& db, int64_t reported, const std::string& where) {
  ASSERT_TRUE(db.run("BEGIN").ok());
  const int64_t seen = last_txn(db);
  EXPECT_GE(seen, reported) << where << ": a reported commit is not visible to another process";
  const std::string q = "SELECT count(*), sum(k), total(r), sum(n), sum(length(v)) FROM ";
  EXPECT_EQ(one(db, q + "t"), one(db, q + "nat")) << where;
  db.run("COMMIT");
}

void crash_rounds(const std::string& mode, uint64_t seed, int rounds) {
  const std::string path = temp_db("crash_" + mode);
  remove_db(path);
  {
    Db db(path);
    ASSERT_TRUE(db.run("PRAGMA journal_mode=" + mode).ok());
    ASSERT_TRUE(create_tables(db, 3000).ok());
  }
  Random rng(seed);
  CrashStats stats;
  int64_t committed = 0;  // the last transaction number the file holds
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < rounds && !::testing::Test::HasFailure(); round++) {
    const std::string where = mode + " round " + std::to_string(round);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      crash_child(path, mode, seed * 1000003 + static_cast<uint64_t>(round), fds[1]);
    }
    close(fds[1]);
    int64_t reported = committed;
    int count = 0;
    std::string buf;
    std::unique_ptr<Db> observer;
    if (rng.chance(0.5)) {
      stats.by_sleep++;
      sleep_us(rng.below(30001));
    } else {
      stats.by_commits++;
      const int target = 1 + static_cast<int>(rng.below(6));
      if (rng.chance(0.5)) {
        observer = std::make_unique<Db>(path);
        sqlite3_busy_timeout(observer->handle(), 5000);
      }
      while (count < target) {
        if (!read_reports(fds[0], buf, &reported, &count, count + 1, 10000)) {
          ADD_FAILURE() << where << ": no commit reported within 10 s";
          break;
        }
        if (observer) observe(*observer, reported, where + " (observer)");
      }
      sleep_us(rng.below(3000));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    read_reports(fds[0], buf, &reported, &count, -1, 10000);
    close(fds[0]);
    stats.kills++;
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      std::string msg;
      if (FILE* f = std::fopen((path + ".child_error").c_str(), "r")) {
        char line[4096];
        while (std::fgets(line, sizeof line, f)) msg += line;
        std::fclose(f);
      }
      ADD_FAILURE() << where << ": the child ended by itself (status " << status << "): " << msg;
      break;
    }
    struct stat jst;
    if (mode == "delete" && stat((path + "-journal").c_str(), &jst) == 0 && jst.st_size > 0) stats.hot_journal++;

    if (observer) {
      // The stale cache meets the recovered file.
      expect_consistent(*observer, where + " (observer after the kill)");
      observer.reset();
    }
    Db db(path);
    expect_consistent(db, where);
    const int64_t now = last_txn(db);
    EXPECT_GE(now, reported) << where << ": a reported commit was lost";
    EXPECT_LE(now, reported + 1) << where << ": more commits than reported";
    if (now == reported + 1) stats.unreported_commit++;
    stats.commits += now - committed;
    committed = now;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  {
    Db db(path);
    const std::string journals = mode == "delete" ? std::to_string(stats.hot_journal) + " hot journals rolled back, " : "";
    std::printf("[  CRASH   ] journal_mode=%s: %d kills (%d after a random sleep, %d after some commits), "
                "%lld commits survived, %s%d commits landed unreported, %s rows at the end, %.1f s\n",
                mode.c_str(), stats.kills, stats.by_sleep, stats.by_commits, static_cast<long long>(stats.commits),
                journals.c_str(), stats.unreported_commit, one(db, "SELECT count(*) FROM t").substr(4).c_str(), secs);
  }
  EXPECT_EQ(stats.kills, rounds);
  remove_db(path);
}

TEST(DurabilityTest, CrashSafetyJournalDelete) {
  const uint64_t seed = announce_seed(20240601);
  SCOPED_TRACE(seed_trace(seed));
  crash_rounds("delete", seed, static_cast<int>(scaled(25, 5)));
}

TEST(DurabilityTest, CrashSafetyJournalWal) {
  const uint64_t seed = announce_seed(20240602);
  SCOPED_TRACE(seed_trace(seed));
  crash_rounds("wal", seed, static_cast<int>(scaled(25, 5)));
}

// The crash test's workload in one connection, reopened now and then: a
// disagreement here is no matter of crashes or concurrency.
TEST(DurabilityTest, RandomTransactionsOneConnection) {
  const uint64_t seed = announce_seed(20240605);
  SCOPED_TRACE(seed_trace(seed));
  const std::string path = temp_db("single");
  remove_db(path);
  {
    Db db(path);
    ASSERT_TRUE(create_tables(db, 3000).ok());
  }
  Workload w(seed);
  const int txns = static_cast<int>(scaled(400, 50));
  int committed = 0;
  for (int i = 0; i < txns && !::testing::Test::HasFailure();) {
    Db db(path);
    for (int j = 0; j < 50 && i < txns; j++, i++) {
      TxnResult r = random_transaction(db, w, -1);
      ASSERT_NE(r.end, TxnEnd::kFailed) << "transaction " << i << ": " << r.detail;
      if (r.end == TxnEnd::kCommitted) committed++;
    }
    expect_consistent(db, "after transaction " + std::to_string(i));
  }
  Db db(path);
  expect_consistent(db, "reopened at the end");
  std::printf("[  SINGLE  ] %d transactions, %d committed\n", txns, committed);
  remove_db(path);
}

// ---------------------------------------------------------------------------
// 2. Threads

TEST(DurabilityTest, ThreadsAgreeInEveryTransaction) {
  const uint64_t seed = announce_seed(20240603);
  SCOPED_TRACE(seed_trace(seed));
  const std::string path = temp_db("threads");
  remove_db(path);
  {
    Db db(path);
    ASSERT_EQ(one(db, "PRAGMA journal_mode=WAL"), "text:'wal'");
    ASSERT_TRUE(create_tables(db, 2000).ok());
  }
  constexpr int kThreads = 4;
  const int txns_per_thread = static_cast<int>(scaled(120, 20));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::atomic<int> commits{0}, rollbacks{0}, busy{0}, reads{0}, full_compares{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  const auto start = std::chrono::steady_clock::now();
  for (int id = 0; id < kThreads; id++) {
    threads.emplace_back([&, id] {
      Db db(path);
      sqlite3_busy_timeout(db.handle(), 5000);
      Workload w(seed * 31 + static_cast<uint64_t>(id));
      Random& rng = w.rng();
      for (int i = 0; i < txns_per_thread && !stop && std::chrono::steady_clock::now() < deadline; i++) {
        if (rng.chance(0.5)) {
          // A read transaction: both tables agree in one snapshot.
          Result b = db.run("BEGIN");
          const std::string q = "SELECT count(*), sum(k), total(r), sum(n), sum(length(v)) FROM ";
          Result x = db.run(q + "t"), y = db.run(q + "nat");
          std::string a, n;
          const bool full = rng.chance(0.15);
          if (full && x.ok() && y.ok()) {
            a = dump(db, "t");
            n = dump(db, "nat");
          }
          Result c = db.run("COMMIT");
          if (!b.ok() || !x.ok() || !y.ok() || !c.ok()) {
            if (!sqlite3_get_autocommit(db.handle())) db.run("ROLLBACK");
            if ((x.rc == SQLITE_BUSY || y.rc == SQLITE_BUSY || c.rc == SQLITE_BUSY) && x.rc != SQLITE_CORRUPT) {
              busy++;
              continue;
            }
            failures[id] = "read transaction failed: " + x.str() + " / " + y.str() + " / " + c.str();
            stop = true;
            break;
          }
          reads++;
          if (x.str() != y.str() || a != n) {
            failures[id] = "a reader saw t and nat differ: " + x.str() + " vs " + y.str() +
                           (a != n ? std::string("\n  ") + same_rows(a, n).message() : "");
            stop = true;
            break;
          }
          if (full) full_compares++;
          continue;
        }
        // A write transaction, retried while it meets locks.
        for (int attempt = 0;; attempt++) {
          TxnResult r = random_transaction(db, w, -1);
          if (r.end == TxnEnd::kCommitted) commits++;
          if (r.end == TxnEnd::kRolledBack) rollbacks++;
          if (r.end == TxnEnd::kFailed) {
            failures[id] = r.detail;
            stop = true;
          }
          if (r.end != TxnEnd::kBusy) break;
          busy++;
          if (attempt > 200) {
            failures[id] = "gave up after 200 busy retries";
            stop = true;
            break;
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int id = 0; id < kThreads; id++) EXPECT_EQ(failures[id], "") << "thread " << id;
  std::printf("[ THREADS  ] %d threads: %d commits, %d rollbacks, %d read transactions (%d full compares), "
              "%d busy retries, %.1f s\n",
              kThreads, commits.load(), rollbacks.load(), reads.load(), full_compares.load(), busy.load(), secs);
  Db db(path);
  expect_consistent(db, "after the threads");
  Db fresh(path);  // and a cache loaded from scratch
  EXPECT_TRUE(same_rows(dump(fresh, "t"), dump(db, "nat")));
  remove_db(path);
}

// A connection that opens the table while another one commits: its first
// statement reads the meta row and the chunks; a commit landing between
// the two reads must not look like damage. The writer changes the row
// count with every commit, so a stale meta row would disagree with the
// chunks. Journal modes: WAL (readers never wait) and DELETE.
TEST(DurabilityTest, OpeningWhileAnotherConnectionCommits) {
  for (const char* mode : {"wal", "delete"}) {
    SCOPED_TRACE(mode);
    const std::string path = temp_db(std::string("open_race_") + mode);
    remove_db(path);
    {
      Db db(path);
      ASSERT_EQ(one(db, std::string("PRAGMA journal_mode=") + mode), std::string("text:'") + mode + "'");
      ASSERT_TRUE(create_tables(db, 3000).ok());
    }
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::thread writer([&] {
      Db db(path);
      sqlite3_busy_timeout(db.handle(), 5000);
      for (int i = 0; !stop; i++) {
        // Alternately add and remove a row in chunk 0 and one at the end.
        const std::string k = std::to_string(1'000'000 + i / 2);
        const Result r = i % 2 == 0 ? db.run("INSERT INTO t(k, v, r, n) VALUES(" + k + ", 'w', 1, 1)")
                                    : db.run("DELETE FROM t WHERE k = " + k);
        if (r.ok()) commits++;
      }
    });
    int opens = 0, busy = 0;
    std::string failure;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (failure.empty() && std::chrono::steady_clock::now() < deadline) {
      Db db(path);
      sqlite3_busy_timeout(db.handle(), 5000);
      const Result r = db.run("SELECT count(*) FROM t WHERE k < 1000000");
      opens++;
      if (r.rc == SQLITE_BUSY) {
        busy++;
      } else if (r.str() != "int:3000") {
        failure = "open " + std::to_string(opens) + " after " + std::to_string(commits) + " commits: " + r.str();
      }
    }
    stop = true;
    writer.join();
    EXPECT_EQ(failure, "");
    std::printf("[ OPENRACE ] journal_mode=%s: %d opens (%d busy) during %d commits\n", mode, opens, busy,
                commits.load());
    EXPECT_GT(commits.load(), 0);
    remove_db(path);
  }
}

// ---------------------------------------------------------------------------
// 3. Damaged shadow data

// Column blobs: k is the key, so t stores v, r, n: 3 columns, 4 blobs per
// chunk; blob b of chunk c has id c * 4 + b + 1.
constexpr int kBlobsPerChunk = 4;
int blob_id(int chunk, int b) { return chunk * kBlobsPerChunk + b + 1; }

// Writes the table the damage tests start from: 3000 rows (chunks 0 and 1
// full, chunk 2 partly), with a few rows deleted so that dead slots exist.
void make_damage_db(const std::string& path) {
  remove_db(path);
  Db db(path);
  ASSERT_TRUE(db.run(std::string("CREATE VIRTUAL TABLE t USING alex(") + kColumns + ")").ok());
  ASSERT_TRUE(db.run("CREATE TABLE other(k INTEGER PRIMARY KEY, v TEXT, r REAL, n INTEGER NOT NULL) STRICT").ok());
  ASSERT_TRUE(db.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) "
                     "INSERT INTO t SELECT x * 3, CASE WHEN x % 4 = 0 THEN NULL ELSE 'v' || x END, "
                     "CASE WHEN x % 6 = 0 THEN NULL ELSE x / 7.0 END, x % 100 FROM c")
                  .ok());
  // Dead slots in chunk 2 (keys 3 * 2049 ..), so its bitmap has holes too.
  ASSERT_TRUE(db.run("DELETE FROM t WHERE k BETWEEN 6300 AND 6400").ok());
  ASSERT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  ASSERT_EQ(one(db, "SELECT count(*), max(id) FROM t_chunks"), "int:12|int:12");
}

// A blob of t_chunks, to compute where to damage it.
std::string read_blob(const Db& db, int id) {
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db.handle(), ("SELECT data FROM t_chunks WHERE id = " + std::to_string(id)).c_str(), -1, &st,
                         nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    out.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)), sqlite3_column_bytes(st, 0));
  }
  sqlite3_finalize(st);
  return out;
}

// SQL that sets byte `at` (0-based) of blob `id` to `hex`.
std::string set_byte(int id, size_t at, const char* hex) {
  return "UPDATE t_chunks SET data = substr(data, 1, " + std::to_string(at) + ") || x'" + hex + "' || substr(data, " +
         std::to_string(at + 2) + ") WHERE id = " + std::to_string(id);
}

// The statements that must all report the damage.
const std::vector<std::string>& statements_on_t() {
  static const std::vector<std::string> kStatements = {
      "SELECT * FROM t",
      "SELECT count(*) FROM t",
      "SELECT v FROM t WHERE k = 3",
      "SELECT k FROM t WHERE k BETWEEN 10 AND 40 ORDER BY k DESC",
      "SELECT k FROM t WHERE k IN (3, 6, 9000)",
      "SELECT * FROM other JOIN t USING (k)",
      "INSERT INTO t(k, v, r, n) VALUES(-1, 'x', 1.5, 1)",
      "INSERT INTO t(v, r, n) VALUES('x', 1.5, 1)",
      "INSERT INTO other SELECT * FROM t WHERE k < 100",
      "UPDATE t SET v = 'y' WHERE k = 3",
      "UPDATE t SET k = -5 WHERE k = 3",
      "DELETE FROM t WHERE k = 3",
      "DELETE FROM t",
      "BEGIN; INSERT INTO t(k, v, r, n) VALUES(-2, 'x', 1.5, 1); COMMIT",
  };
  return kStatements;
}

struct Damage {
  std::string name;
  std::vector<std::string> sql;      // run on the undamaged file
  int rc;                            // the primary code every statement must return
  std::vector<std::string> mention;  // the message must contain each
  std::vector<std::string> either;   // ... and one of these, if any
};

// Checks every statement on a damaged table, alex_check, then DROP TABLE.
void expect_damage_reported(const std::string& path, const Damage& d) {
  SCOPED_TRACE("damage: " + d.name);
  Db db(path);
  for (const std::string& sql : statements_on_t()) {
    Result r = db.run(sql);
    if (!sqlite3_get_autocommit(db.handle())) db.run("ROLLBACK");
    EXPECT_EQ(r.rc, d.rc) << sql << " -> " << r.str();
    for (const std::string& m : d.mention) EXPECT_NE(r.error.find(m), std::string::npos) << sql << " -> " << r.str();
    if (!d.either.empty()) {
      bool any = false;
      for (const std::string& m : d.either) any = any || r.error.find(m) != std::string::npos;
      EXPECT_TRUE(any) << sql << " -> " << r.str();
    }
  }
  // Nothing reached the file.
  EXPECT_EQ(one(db, "SELECT count(*) FROM other"), "int:0");
  if (d.rc == SQLITE_CORRUPT) {
    const std::string check = one(db, "SELECT alex_check('t')");
    EXPECT_NE(check, "text:'ok'");
    for (const std::string& m : d.mention) EXPECT_NE(check.find(m), std::string::npos) << check;
  }
  // DROP TABLE takes the shadow tables along, and leaves a view that took
  // one's name.
  const std::string views = one(db, "SELECT group_concat(name) FROM sqlite_schema WHERE type = 'view'");
  Result drop = db.run("DROP TABLE t");
  EXPECT_TRUE(drop.ok()) << "DROP TABLE t -> " << drop.str();
  EXPECT_EQ(one(db, "SELECT group_concat(name) FROM sqlite_schema WHERE name LIKE 't%' AND type <> 'view'"), "null");
  EXPECT_EQ(one(db, "SELECT group_concat(name) FROM sqlite_schema WHERE type = 'view'"), views);
  EXPECT_EQ(one(db, "PRAGMA integrity_check"), "text:'ok'");
}

std::vector<Damage> damages(const std::string& path) {
  std::string key2, col_r1;
  {
    Db db(path);
    key2 = read_blob(db, blob_id(2, 0));
    col_r1 = read_blob(db, blob_id(1, 2));
  }
  // A bitmap byte of chunk 2 with a dead slot (byte 5 + i covers slots
  // 8i .. 8i + 7): setting it to ff makes dead slots live without keys.
  size_t hole = 0;
  for (size_t i = 5; i < 5 + 1024 / 8 && i < key2.size(); i++) {
    if (static_cast<unsigned char>(key2[i]) != 0xff) {
      hole = i;
      break;
    }
  }
  // Bytes of the REAL column's value bitmap in chunk 1 (every sixth row
  // is NULL there): one with a NULL, one with a value. Setting the first to
  // ff asks for more values than the blob holds; clearing the second leaves
  // values over.
  size_t with_null = 0, with_value = 0;
  for (size_t i = 5; i < 5 + 1024 / 8 && i < col_r1.size(); i++) {
    const auto b = static_cast<unsigned char>(col_r1[i]);
    if (b != 0xff && with_null == 0) with_null = i;
    if (b != 0 && with_value == 0) with_value = i;
  }
  EXPECT_NE(with_null, 0u);
  EXPECT_NE(with_value, 0u);
  const std::string t_chunks = "t_chunks", t_meta = "t_meta";
  const int C = SQLITE_CORRUPT;
  return {
      {"truncated key blob", {"UPDATE t_chunks SET data = substr(data, 1, length(data) - 3) WHERE id = 5"}, C, {t_chunks, "chunk 1"}, {}},
      {"truncated text column blob", {"UPDATE t_chunks SET data = substr(data, 1, length(data) - 1) WHERE id = 6"}, C, {t_chunks, "chunk 1"}, {}},
      {"blob cut to 3 bytes", {"UPDATE t_chunks SET data = substr(data, 1, 3) WHERE id = 7"}, C, {t_chunks, "chunk 1"}, {}},
      {"empty blob", {"UPDATE t_chunks SET data = x'' WHERE id = 8"}, C, {t_chunks, "chunk 1"}, {}},
      {"longer blob", {"UPDATE t_chunks SET data = data || x'00' WHERE id = 12"}, C, {t_chunks, "chunk 2"}, {}},
      {"garbled blob format byte", {set_byte(5, 0, "ff")}, C, {t_chunks, "chunk 1"}, {}},
      {"garbled chunk_rows field", {set_byte(6, 2, "ff")}, C, {t_chunks, "chunk 1"}, {}},
      {"value bitmap asks for more values", {set_byte(7, with_null, "ff")}, C, {t_chunks, "chunk 1"}, {}},
      {"value bitmap leaves values over", {set_byte(7, with_value, "00")}, C, {t_chunks, "chunk 1"}, {}},
      {"garbled live bitmap", {set_byte(9, hole, "ff")}, C, {t_chunks, "chunk 2"}, {}},
      {"missing key blob", {"DELETE FROM t_chunks WHERE id = 5"}, C, {t_chunks, "chunk 1"}, {}},
      {"missing column blob", {"DELETE FROM t_chunks WHERE id = 6"}, C, {t_chunks, "chunk 1"}, {}},
      {"missing last blob", {"DELETE FROM t_chunks WHERE id = 12"}, C, {t_chunks, "chunk 2"}, {}},
      {"extra blob", {"INSERT INTO t_chunks VALUES(41, 0, (SELECT data FROM t_chunks WHERE id = 1))"}, C, {t_chunks, "chunk 10"}, {}},
      {"blob id out of range", {"UPDATE t_chunks SET id = 1 << 40 WHERE id = 12"}, C, {t_chunks, "chunk"}, {}},
      {"duplicated key blob", {"UPDATE t_chunks SET data = (SELECT data FROM t_chunks WHERE id = 1) WHERE id = 5"}, C, {t_chunks, "appears twice"}, {"chunk 0", "chunk 1"}},
      {"blob retyped to TEXT", {"UPDATE t_chunks SET data = 'hello' WHERE id = 6"}, C, {t_chunks, "chunk 1", "not a blob"}, {}},
      {"blob retyped to INTEGER", {"UPDATE t_chunks SET data = 42 WHERE id = 5"}, C, {t_chunks, "chunk 1", "not a blob"}, {}},
      {"meta row deleted", {"DELETE FROM t_meta"}, C, {t_meta}, {}},
      {"meta format 3", {"UPDATE t_meta SET format = 3"}, SQLITE_ERROR, {"storage format 3"}, {}},
      {"meta format 0", {"UPDATE t_meta SET format = 0"}, SQLITE_ERROR, {"storage format 0"}, {}},
      {"meta rows + 1", {"UPDATE t_meta SET rows = rows + 1"}, C, {t_meta}, {}},
      {"meta rows 0", {"UPDATE t_meta SET rows = 0"}, C, {t_meta}, {}},
      {"meta rows retyped", {"UPDATE t_meta SET rows = 'many'"}, C, {t_meta}, {}},
      {"meta generation retyped", {"UPDATE t_meta SET generation = 'x'"}, C, {t_meta}, {}},
      {"meta nonce retyped", {"UPDATE t_meta SET nonce = 'x'"}, C, {t_meta}, {}},
      {"meta columns changed", {"UPDATE t_meta SET columns = replace(columns, 'REAL', 'TEXT')"}, C, {t_meta}, {}},
      {"meta columns garbage", {"UPDATE t_meta SET columns = 'nonsense'"}, C, {t_meta}, {}},
      {"meta chunk_rows 100", {"UPDATE t_meta SET chunk_rows = 100"}, C, {t_meta, "chunk_rows"}, {}},
      {"meta chunk_rows 2048", {"UPDATE t_meta SET chunk_rows = 2048"}, C, {t_chunks, "chunk 0"}, {}},
      {"meta chunk_rows 0", {"UPDATE t_meta SET chunk_rows = 0"}, C, {t_meta, "chunk_rows"}, {}},
      {"meta row twice", {"PRAGMA ignore_check_constraints = 1", "INSERT INTO t_meta SELECT 2, format, chunk_rows, columns, rows, generation, nonce FROM t_meta"}, C, {t_meta, "more than one row"}, {}},
      {"meta row id 2", {"PRAGMA ignore_check_constraints = 1", "UPDATE t_meta SET id = 2"}, C, {t_meta, "id 2"}, {}},
      {"chunk generation retyped", {"UPDATE t_chunks SET generation = 'x' WHERE id = 6"}, C, {t_chunks, "chunk 1", "generation"}, {}},
      {"chunk generation past the meta row's", {"UPDATE t_chunks SET generation = (SELECT generation + 1 FROM t_meta) WHERE id = 6"}, C, {t_chunks, "chunk 1", "generation"}, {}},
      {"chunk generation column dropped", {"ALTER TABLE t_chunks DROP COLUMN generation"}, C, {t_chunks, "generation"}, {}},
      {"chunks table replaced by a view", {"DROP TABLE t_chunks", "CREATE VIEW t_chunks AS SELECT 1 AS id, 0 AS generation, x'00' AS data"}, C, {t_chunks, "chunk 0"}, {}},
      {"meta table dropped", {"DROP TABLE t_meta"}, C, {t_meta}, {}},
      {"chunks table dropped", {"DROP TABLE t_chunks"}, C, {t_chunks}, {}},
  };
}

TEST(DurabilityTest, DamagedShadowTablesReportCorruption) {
  const std::string path = temp_db("damage");
  make_damage_db(path);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (const Damage& d : damages(path)) {
    make_damage_db(path);
    {
      Db db(path);
      for (const std::string& sql : d.sql) ASSERT_TRUE(db.run(sql).ok()) << d.name << ": " << sql << " -> " << db.str(sql);
    }
    expect_damage_reported(path, d);
  }
  remove_db(path);
}

// The same damage met by a connection whose cache is already loaded: a
// writer (here: plain SQL) damages a chunk and moves the generations as a
// commit would; the cache must not serve the old rows.
TEST(DurabilityTest, DamageSeenOnRefresh) {
  const std::string path = temp_db("damage_refresh");
  struct Case {
    const char* name;
    std::string sql;
    const char* mention;
  };
  const std::vector<Case> cases = {
      {"truncated blob", "UPDATE t_chunks SET data = substr(data, 1, 9), generation = generation + 100 WHERE id = 6", "chunk 1"},
      {"retyped blob", "UPDATE t_chunks SET data = 'x', generation = generation + 100 WHERE id = 10", "chunk 2"},
      {"missing blob", "DELETE FROM t_chunks WHERE id = 7; UPDATE t_chunks SET generation = generation + 100 WHERE id = 8",
       "chunk 1"},
      {"rows count", "UPDATE t_meta SET rows = rows - 1", "t_meta"},
      // Unreadable shadow tables are damage on a refresh as on a connect.
      {"chunks table dropped", "DROP TABLE t_chunks", "t_chunks"},
      {"chunks column renamed", "ALTER TABLE t_chunks RENAME COLUMN data TO d", "t_chunks"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    make_damage_db(path);
    Db reader(path);
    ASSERT_EQ(one(reader, "SELECT count(*) FROM t"), "int:2966");
    {
      Db writer(path);
      ASSERT_TRUE(writer.run("BEGIN; " + c.sql + "; UPDATE t_meta SET generation = generation + 100; COMMIT").ok());
    }
    for (const std::string& sql : statements_on_t()) {
      Result r = reader.run(sql);
      if (!sqlite3_get_autocommit(reader.handle())) reader.run("ROLLBACK");
      EXPECT_EQ(r.rc, SQLITE_CORRUPT) << sql << " -> " << r.str();
      EXPECT_NE(r.error.find(c.mention), std::string::npos) << sql << " -> " << r.str();
    }
    EXPECT_TRUE(reader.run("DROP TABLE t").ok());
  }
  remove_db(path);
}

// Random bytes of random blobs replaced: the module either reports
// SQLITE_CORRUPT naming t_chunks, or (for damage the format cannot see,
// such as a changed value) serves a consistent table; it never crashes or
// reads out of bounds (run under the sanitizers).
TEST(DurabilityTest, RandomlyGarbledBlobs) {
  const uint64_t seed = announce_seed(20240604);
  SCOPED_TRACE(seed_trace(seed));
  Random rng(seed);
  const std::string path = temp_db("garble");
  const int rounds = static_cast<int>(scaled(40, 10));
  int detected = 0;
  for (int round = 0; round < rounds; round++) {
    make_damage_db(path);
    const int id = 1 + static_cast<int>(rng.below(12));
    std::string sql;
    {
      Db db(path);
      const size_t size = read_blob(db, id).size();
      const int bytes = 1 + static_cast<int>(rng.below(3));
      for (int i = 0; i < bytes; i++) {
        // Mostly the header and the type bytes or bitmap, where damage shows.
        const size_t at = rng.chance(0.7) ? rng.below(std::min<size_t>(size, 5 + 1024)) : rng.below(size);
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned>(rng.below(256)));
        sql += set_byte(id, at, hex) + ";";
      }
      if (rng.chance(0.2)) sql += "UPDATE t_chunks SET data = substr(data, 1, " + std::to_string(rng.below(size)) + ") WHERE id = " + std::to_string(id) + ";";
      ASSERT_TRUE(db.run(sql).ok()) << sql;
    }
    SCOPED_TRACE("round " + std::to_string(round) + ": " + sql);
    Db db(path);
    Result first = db.run("SELECT count(*) FROM t");
    if (first.rc == SQLITE_CORRUPT) {
      detected++;
      // Usually the garbled chunk; a key made equal to another chunk's
      // shows in whichever loads second, a moved live bit in the count.
      EXPECT_TRUE(first.error.find("t_chunks: chunk " + std::to_string((id - 1) / kBlobsPerChunk)) != std::string::npos ||
                  first.error.find("appears twice") != std::string::npos ||
                  first.error.find("t_meta counts") != std::string::npos)
          << first.str();
      for (const std::string& s : statements_on_t()) {
        Result r = db.run(s);
        if (!sqlite3_get_autocommit(db.handle())) db.run("ROLLBACK");
        EXPECT_EQ(r.rc, SQLITE_CORRUPT) << s << " -> " << r.str();
      }
    } else {
      EXPECT_TRUE(first.ok()) << first.str();
      EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
      EXPECT_TRUE(db.run("UPDATE t SET v = 'w' WHERE k % 10 = 0; DELETE FROM t WHERE k % 7 = 0").ok());
      EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
    }
    EXPECT_TRUE(db.run("DROP TABLE t").ok());
  }
  std::printf("[  GARBLE  ] %d of %d garbled tables reported as corrupt\n", detected, rounds);
  remove_db(path);
}

// ---------------------------------------------------------------------------
// 4. Transactions on disk

class DiskPair {
 public:
  explicit DiskPair(const std::string& name) : path_(temp_db(name)) {
    remove_db(path_);
    Db db(path_);
    EXPECT_TRUE(create_tables(db, 2500).ok());
  }
  ~DiskPair() { remove_db(path_); }
  const std::string& path() const { return path_; }
  // Runs `tmpl` on t and on nat.
  static void both(const Db& db, const std::string& tmpl) {
    bool busy = false;
    EXPECT_EQ(apply_both(db, tmpl, &busy), "");
  }

 private:
  std::string path_;
};

TEST(DurabilityTest, RollbackLeavesTheFileAsBefore) {
  DiskPair pair("rollback");
  std::string before;
  {
    Db db(pair.path());
    before = dump(db, "t");
    ASSERT_TRUE(db.run("BEGIN").ok());
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-7, 'new', 1.5, 1), (100001, 'far', NULL, 2)");
    DiskPair::both(db, "INSERT INTO {T}(v, r, n) SELECT v, r, n FROM {T} WHERE k < 3000");  // new chunks
    DiskPair::both(db, "UPDATE {T} SET v = 'changed', r = 0.5 WHERE k BETWEEN 100 AND 900");
    DiskPair::both(db, "UPDATE {T} SET k = k + 50000 WHERE k BETWEEN 1000 AND 1500");
    DiskPair::both(db, "DELETE FROM {T} WHERE k BETWEEN 2000 AND 2600");
    ASSERT_NE(dump(db, "t"), before);
    ASSERT_TRUE(db.run("ROLLBACK").ok());
    EXPECT_TRUE(same_rows(dump(db, "t"), before));
  }
  {
    Db db(pair.path());
    EXPECT_TRUE(same_rows(dump(db, "t"), before));
    expect_consistent(db, "after ROLLBACK and reopen");
    // The chunks the rolled-back transaction touched stay right when a
    // later transaction commits next to them.
    DiskPair::both(db, "UPDATE {T} SET n = n + 1 WHERE k = 2");
  }
  Db db(pair.path());
  expect_consistent(db, "after a later commit");
  EXPECT_EQ(one(db, "SELECT n FROM t WHERE k = 2"), "int:2");
}

TEST(DurabilityTest, RollbackSeenByAnotherConnection) {
  DiskPair pair("rollback2");
  Db a(pair.path()), b(pair.path());
  const std::string before = dump(b, "t");
  ASSERT_TRUE(a.run("BEGIN").ok());
  DiskPair::both(a, "DELETE FROM {T} WHERE k < 1000");
  DiskPair::both(a, "INSERT INTO {T}(v, r, n) VALUES('x', 1, 1)");
  ASSERT_TRUE(a.run("ROLLBACK").ok());
  EXPECT_TRUE(same_rows(dump(b, "t"), before));
  DiskPair::both(a, "UPDATE {T} SET v = 'a' WHERE k = 10");
  EXPECT_EQ(one(b, "SELECT v FROM t WHERE k = 10"), "text:'a'");
  expect_consistent(b, "b");
  expect_consistent(a, "a");
}

TEST(DurabilityTest, SavepointsThenCommitMatchNativeOnDisk) {
  DiskPair pair("savepoints");
  {
    Db db(pair.path());
    ASSERT_TRUE(db.run("BEGIN").ok());
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-1, 'kept', 1, 1)");
    ASSERT_TRUE(db.run("SAVEPOINT a").ok());
    DiskPair::both(db, "DELETE FROM {T} WHERE k BETWEEN 10 AND 2000");
    DiskPair::both(db, "INSERT INTO {T}(v, r, n) VALUES('gone', 2, 2)");
    ASSERT_TRUE(db.run("SAVEPOINT b").ok());
    DiskPair::both(db, "UPDATE {T} SET k = -k WHERE k BETWEEN 3000 AND 3100");
    ASSERT_TRUE(db.run("ROLLBACK TO a").ok());  // undoes a and b
    DiskPair::both(db, "UPDATE {T} SET v = 'after rollback to' WHERE k BETWEEN 10 AND 30");
    ASSERT_TRUE(db.run("SAVEPOINT c").ok());
    DiskPair::both(db, "UPDATE {T} SET k = k + 100000 WHERE k BETWEEN 40 AND 60");
    DiskPair::both(db, "INSERT INTO {T}(v, r, n) VALUES('auto after rekey', 3, 3)");
    ASSERT_TRUE(db.run("RELEASE c").ok());
    ASSERT_TRUE(db.run("SAVEPOINT d").ok());
    DiskPair::both(db, "DELETE FROM {T} WHERE k % 3 = 0");
    ASSERT_TRUE(db.run("ROLLBACK TO d").ok());
    DiskPair::both(db, "DELETE FROM {T} WHERE k % 5 = 0");
    ASSERT_TRUE(db.run("RELEASE a").ok());
    ASSERT_TRUE(db.run("COMMIT").ok());
    expect_consistent(db, "before reopen");
  }
  Db db(pair.path());
  expect_consistent(db, "after reopen");
  EXPECT_EQ(one(db, "SELECT v FROM t WHERE k = -1"), "text:'kept'");
  EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE v = 'gone'"), "int:0");
  EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE k > 100000"), one(db, "SELECT count(*) FROM nat WHERE k > 100000"));
  EXPECT_NE(one(db, "SELECT count(*) FROM t WHERE k > 100000"), "int:0");
}

TEST(DurabilityTest, FailedStatementsLeaveNothingOnDisk) {
  DiskPair pair("failed");
  std::string before;
  {
    Db db(pair.path());
    before = dump(db, "t");
    // Autocommit: a multi-row INSERT that meets a duplicate key midway.
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-1, 'a', 1, 1), (-2, 'b', 2, 2), (4, 'dup', 3, 3), (-3, 'c', 4, 4)");
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) SELECT k + 2, v, r, n FROM {T} WHERE k > 4000");  // 4002 -> 4004 exists
    DiskPair::both(db, "UPDATE {T} SET k = k + 2 WHERE k BETWEEN 100 AND 200");  // 100 -> 102 exists
    DiskPair::both(db, "UPDATE {T} SET n = NULL WHERE k BETWEEN 300 AND 400");
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-9, 'a', 1, 1), (-10, 'b', 'text', 2)");
    EXPECT_TRUE(same_rows(dump(db, "t"), before));
  }
  {
    Db db(pair.path());
    EXPECT_TRUE(same_rows(dump(db, "t"), before));
    expect_consistent(db, "after failed autocommit statements");
    // Inside a transaction: the failed statements vanish, the others stay.
    ASSERT_TRUE(db.run("BEGIN").ok());
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-1, 'kept', 1, 1)");
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-2, 'a', 1, 1), (-3, 'b', 2, 2), (-1, 'dup', 3, 3)");
    DiskPair::both(db, "UPDATE {T} SET k = k - 2 WHERE k BETWEEN 500 AND 600");  // 502 -> 500 exists
    DiskPair::both(db, "DELETE FROM {T} WHERE k = 6");
    // OR FAIL keeps the rows before the failing one.
    DiskPair::both(db, "INSERT OR FAIL INTO {T}(k, v, r, n) VALUES(-20, 'fail1', 1, 1), (-21, 'fail2', 1, 1), (8, 'x', 1, 1), (-22, 'no', 1, 1)");
    ASSERT_TRUE(db.run("COMMIT").ok());
  }
  {
    Db db(pair.path());
    expect_consistent(db, "after a transaction with failed statements");
    EXPECT_EQ(one(db, "SELECT k, v FROM t WHERE k < 0"), "int:-21|text:'fail2'\nint:-20|text:'fail1'\nint:-1|text:'kept'");
    EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE k = 6"), "int:0");
    // OR ROLLBACK ends the whole transaction, on disk too.
    ASSERT_TRUE(db.run("BEGIN").ok());
    DiskPair::both(db, "INSERT INTO {T}(k, v, r, n) VALUES(-100, 'rolled back', 1, 1)");
    Result r = db.run("INSERT OR ROLLBACK INTO t(k, v, r, n) VALUES(-101, 'x', 1, 1), (2, 'dup', 1, 1)");
    EXPECT_EQ(r.rc, SQLITE_CONSTRAINT) << r.str();
    EXPECT_NE(sqlite3_get_autocommit(db.handle()), 0) << "the transaction should be gone";
    if (!sqlite3_get_autocommit(db.handle())) db.run("ROLLBACK");
    // nat keeps -100 only if that transaction had committed: it did not.
    EXPECT_EQ(one(db, "SELECT count(*) FROM nat WHERE k = -100"), "int:0");
    EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE k IN (-100, -101)"), "int:0");
  }
  Db db(pair.path());
  expect_consistent(db, "after OR ROLLBACK");
  EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE k IN (-100, -101)"), "int:0");
}

TEST(DurabilityTest, VacuumAndVacuumIntoKeepTheRows) {
  DiskPair pair("vacuum");
  const std::string copy = temp_db("vacuum_copy");
  remove_db(copy);
  {
    Db db(pair.path());
    DiskPair::both(db, "DELETE FROM {T} WHERE k % 3 = 0");
    DiskPair::both(db, "UPDATE {T} SET v = 'vac' WHERE k % 5 = 0");
    Result v = db.run("VACUUM");
    EXPECT_TRUE(v.ok()) << v.str();
    DiskPair::both(db, "INSERT INTO {T}(v, r, n) VALUES('after vacuum', 1, 1)");
    Result vi = db.run("VACUUM INTO '" + copy + "'");
    EXPECT_TRUE(vi.ok()) << vi.str();
    expect_consistent(db, "after VACUUM");
  }
  {
    Db db(pair.path());
    expect_consistent(db, "reopened after VACUUM");
  }
  Db db(copy);
  expect_consistent(db, "the VACUUM INTO copy");
  EXPECT_EQ(one(db, "SELECT count(*) FROM t WHERE v = 'after vacuum'"), "int:1");
  remove_db(copy);
}

// ---------------------------------------------------------------------------
// 5. Another file or another table under the same name
//
// A connection keeps a table's cache across SQLite disconnecting and
// reconnecting it. It must not keep it when what the name refers to was
// replaced: another file attached under the schema name, a backup restored
// into the database, the table dropped and created again elsewhere. Each
// of these once served the old rows, wrote them over the new ones at the
// next commit, and (with other columns) read past the end of a row.

constexpr const char* kTwoColumns = "CREATE VIRTUAL TABLE t USING alex(k INTEGER PRIMARY KEY, s TEXT)";

std::string fresh_db(const std::string& name, const std::string& setup) {
  const std::string path = temp_db(name);
  remove_db(path);
  Db db(path);
  Result r = db.run(setup);
  EXPECT_TRUE(r.ok()) << r.str();
  return path;
}

TEST(DurabilityTest, AttachingAnotherFileUnderTheSameNameReadsThatFile) {
  const std::string x = fresh_db("attach_x", std::string(kTwoColumns) + "; INSERT INTO t VALUES(1, 'x1'), (2, 'x2')");
  const std::string y = fresh_db("attach_y", std::string(kTwoColumns) + "; INSERT INTO t VALUES(10, 'y10')");
  const std::string z = fresh_db(
      "attach_z", "CREATE VIRTUAL TABLE t USING alex(k INTEGER PRIMARY KEY, s TEXT, a TEXT, b TEXT, c TEXT);"
                  "INSERT INTO t VALUES(5, 'z', 'a', 'b', 'c')");
  {
    Db db;
    ASSERT_TRUE(db.run("ATTACH '" + x + "' AS aux").ok());
    EXPECT_EQ(one(db, "SELECT * FROM aux.t"), "int:1|text:'x1'\nint:2|text:'x2'");
    ASSERT_TRUE(db.run("DETACH aux; ATTACH '" + y + "' AS aux").ok());
    EXPECT_EQ(one(db, "SELECT * FROM aux.t"), "int:10|text:'y10'");
    ASSERT_TRUE(db.run("INSERT INTO aux.t VALUES(20, 'new')").ok());
    ASSERT_TRUE(db.run("DETACH aux; ATTACH '" + z + "' AS aux").ok());
    EXPECT_EQ(one(db, "SELECT * FROM aux.t"), "int:5|text:'z'|text:'a'|text:'b'|text:'c'");
    // The same file again, after another connection wrote it.
    ASSERT_TRUE(db.run("DETACH aux; ATTACH '" + y + "' AS aux").ok());
    EXPECT_EQ(one(db, "SELECT * FROM aux.t"), "int:10|text:'y10'\nint:20|text:'new'");
    ASSERT_TRUE(db.run("DETACH aux").ok());
    ASSERT_TRUE(Db(y).run("INSERT INTO t VALUES(30, 'other')").ok());
    ASSERT_TRUE(db.run("ATTACH '" + y + "' AS aux").ok());
    EXPECT_EQ(one(db, "SELECT k FROM aux.t"), "int:10\nint:20\nint:30");
  }
  Db db(y);
  EXPECT_EQ(one(db, "SELECT * FROM t"), "int:10|text:'y10'\nint:20|text:'new'\nint:30|text:'other'");
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  EXPECT_EQ(one(Db(x), "SELECT k FROM t"), "int:1\nint:2");
  for (const std::string& path : {x, y, z}) remove_db(path);
}

// A connection prepares statements on a table while another holds the
// EXCLUSIVE lock: the prepare reads nothing, natively and here, so it
// succeeds (or fails for what it names); the statement then meets the lock.
TEST(DurabilityTest, PrepareWhileAnotherConnectionWritesReadsNothing) {
  const std::string path = fresh_db("prepare_locked", "PRAGMA journal_mode=DELETE");
  {
    Db setup(path);
    ASSERT_TRUE(create_tables(setup, 10).ok());
  }
  Db a(path), b(path);
  one(b, "SELECT count(*) FROM progress");  // b has read the schema, connected nothing
  ASSERT_TRUE(a.run("BEGIN EXCLUSIVE").ok());
  for (const std::string table : {"nat", "t"}) {
    SCOPED_TRACE(table);
    const Result missing = b.run("INSERT INTO " + table + " SELECT * FROM missing");
    EXPECT_EQ(missing.str(), "error(1): no such table: missing");
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(b.handle(), ("SELECT count(*) FROM " + table).c_str(), -1, &stmt, nullptr),
              SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_BUSY);
    sqlite3_finalize(stmt);
  }
  ASSERT_TRUE(a.run("COMMIT").ok());
  EXPECT_EQ(one(b, "SELECT count(*) FROM t"), one(b, "SELECT count(*) FROM nat"));
  remove_db(path);
}

TEST(DurabilityTest, TableRecreatedByAnotherConnectionIsReadAfresh) {
  // Same columns and the same number of commits (so the same generation),
  // then more columns; first seen in autocommit, then inside BEGIN.
  for (const bool in_begin : {false, true})
  for (const char* columns : {"k INTEGER PRIMARY KEY, s TEXT", "k INTEGER PRIMARY KEY, s TEXT, a TEXT, b TEXT"}) {
    SCOPED_TRACE(std::string(columns) + (in_begin ? " in BEGIN" : ""));
    const std::string path = fresh_db("recreate", kTwoColumns);
    {
      Db a(path), b(path);
      ASSERT_TRUE(a.run("INSERT INTO t VALUES(1, 'old')").ok());
      EXPECT_EQ(one(a, "SELECT k, s FROM t"), "int:1|text:'old'");
      ASSERT_TRUE(b.run(std::string("DROP TABLE t; CREATE VIRTUAL TABLE t USING alex(") + columns + ")").ok());
      ASSERT_TRUE(b.run("INSERT INTO t(k, s) VALUES(2, 'new')").ok());
      if (in_begin) {
        ASSERT_TRUE(a.run("BEGIN").ok());
      }
      EXPECT_EQ(one(a, "SELECT k, s FROM t"), "int:2|text:'new'");
      ASSERT_TRUE(a.run("INSERT INTO t(k, s) VALUES(3, 'from a')").ok());
      if (in_begin) {
        ASSERT_TRUE(a.run("COMMIT").ok());
      }
      EXPECT_EQ(one(b, "SELECT k, s FROM t"), "int:2|text:'new'\nint:3|text:'from a'");
    }
    Db c(path);
    EXPECT_EQ(one(c, "SELECT k, s FROM t"), "int:2|text:'new'\nint:3|text:'from a'");
    EXPECT_EQ(one(c, "SELECT alex_check('t')"), "text:'ok'");
    remove_db(path);
  }
}

TEST(DurabilityTest, BackupRestoredIntoTheDatabaseIsRead) {
  const std::string live = fresh_db("restore_live", std::string(kTwoColumns) + "; INSERT INTO t VALUES(1, 'live')");
  const std::string saved = fresh_db("restore_saved", std::string(kTwoColumns) + "; INSERT INTO t VALUES(2, 'saved')");
  {
    Db a(live), s(saved);
    EXPECT_EQ(one(a, "SELECT * FROM t"), "int:1|text:'live'");
    sqlite3_backup* backup = sqlite3_backup_init(a.handle(), "main", s.handle(), "main");
    ASSERT_NE(backup, nullptr);
    EXPECT_EQ(sqlite3_backup_step(backup, -1), SQLITE_DONE);
    EXPECT_EQ(sqlite3_backup_finish(backup), SQLITE_OK);
    EXPECT_EQ(one(a, "SELECT * FROM t"), "int:2|text:'saved'");
    ASSERT_TRUE(a.run("INSERT INTO t VALUES(3, 'after')").ok());
  }
  Db db(live);
  EXPECT_EQ(one(db, "SELECT * FROM t"), "int:2|text:'saved'\nint:3|text:'after'");
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  remove_db(live);
  remove_db(saved);
}

// A table of a build before the nonce column reads and commits without
// one; its cache is built again at every reconnect.
TEST(DurabilityTest, TableWithoutNonceColumn) {
  const std::string path = fresh_db(
      "nononce", std::string(kTwoColumns) +
                     "; INSERT INTO t VALUES(1, 'a');"
                     "CREATE TABLE old_meta(id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL, "
                     "chunk_rows INTEGER NOT NULL, columns TEXT NOT NULL, rows INTEGER NOT NULL, "
                     "generation INTEGER NOT NULL);"
                     "INSERT INTO old_meta SELECT id, format, chunk_rows, columns, rows, generation FROM t_meta;"
                     "DROP TABLE t_meta; ALTER TABLE old_meta RENAME TO t_meta");
  {
    Db a(path), b(path);
    EXPECT_EQ(one(a, "SELECT * FROM t"), "int:1|text:'a'");
    ASSERT_TRUE(a.run("INSERT INTO t VALUES(2, 'b')").ok());
    EXPECT_EQ(one(b, "SELECT k FROM t"), "int:1\nint:2");
    ASSERT_TRUE(b.run("CREATE TABLE other(x); INSERT INTO t VALUES(3, 'c')").ok());
    EXPECT_EQ(one(b, "SELECT alex_check('t')"), "text:'ok'");
    EXPECT_EQ(one(a, "SELECT k FROM t"), "int:1\nint:2\nint:3");
    EXPECT_EQ(one(a, "SELECT alex_check('t')"), "text:'ok'");
  }
  EXPECT_EQ(one(Db(path), "SELECT group_concat(name) FROM pragma_table_info('t_meta') WHERE name = 'nonce'"), "null");
  remove_db(path);
}

// A ROLLBACK TO in a transaction that changed the schema makes SQLite
// reset every schema, so the table is reconnected, and a new sqlite3_vtab
// joins the transaction beside the old one. Both share the cache, whose
// undo log must survive the second joining (it was cleared: the final
// ROLLBACK kept the DELETE, and the next commit wrote it).
TEST(DurabilityTest, RollbackToAfterSchemaChangeKeepsTheUndoLog) {
  const std::string path = fresh_db("ddl_undo",
                                    "CREATE VIRTUAL TABLE t USING alex(k INTEGER PRIMARY KEY, s TEXT);"
                                    "CREATE TABLE nat(k INTEGER PRIMARY KEY, s TEXT) STRICT;"
                                    "INSERT INTO t VALUES(1, 'one'), (5, 'five'); INSERT INTO nat SELECT * FROM t");
  Db db(path);
  for (const char* end : {"ROLLBACK", "COMMIT"}) {
    SCOPED_TRACE(end);
    std::string sql = "BEGIN;";
    for (const char* table : {"t", "nat"}) {
      sql += std::string("DELETE FROM ") + table + " WHERE k = 1; UPDATE " + table + " SET s = 'x' WHERE k = 5;";
    }
    sql += "CREATE TABLE o(x); SAVEPOINT s;";
    for (const char* table : {"t", "nat"}) sql += std::string("INSERT INTO ") + table + " VALUES(3, 'three');";
    sql += "ROLLBACK TO s;";
    for (const char* table : {"t", "nat"}) sql += std::string("INSERT INTO ") + table + " VALUES(2, 'two');";
    sql += std::string(end) + "; DROP TABLE IF EXISTS o";
    Result r = db.run(sql);
    ASSERT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(one(db, "SELECT * FROM t"), one(db, "SELECT * FROM nat"));
    EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
    EXPECT_EQ(one(Db(path), "SELECT * FROM t"), one(db, "SELECT * FROM nat"));
  }
  remove_db(path);
}

// RENAME inside a transaction, compared with a native table: a rename
// before the transaction's first change, undone by ROLLBACK TO with the
// changes made since, or kept and committed; a rename whose new name
// another table then takes; a rename after changes a ROLLBACK TO undid.
// (A rename after a change fails: below.) The undone rename's changes were written into the other table's shadow
// tables, or the COMMIT failed.
TEST(DurabilityTest, RenameInATransactionMatchesNative) {
  const std::string create_u0 = "CREATE VIRTUAL TABLE u0 USING alex(k INTEGER PRIMARY KEY, s TEXT)";
  for (const char* script : {
           "BEGIN; SAVEPOINT a; ALTER TABLE t RENAME TO u; INSERT INTO u VALUES(2, 'w2'); DELETE FROM u WHERE k = 10;"
           "ROLLBACK TO a; COMMIT",
           "BEGIN; SAVEPOINT a; ALTER TABLE t RENAME TO u; INSERT INTO u VALUES(2, 'w2'); ROLLBACK TO a;"
           "ALTER TABLE u0 RENAME TO u; INSERT INTO u VALUES(501, 'u'); INSERT INTO t VALUES(3, 'w3'); COMMIT",
           "BEGIN; ALTER TABLE t RENAME TO u; INSERT INTO u VALUES(2, 'w2'); SAVEPOINT a; DELETE FROM u WHERE k = 10;"
           "ROLLBACK TO a; COMMIT",
           // The ROLLBACK TO of a schema change connects t again: the
           // sqlite3_vtab in the transaction is not the one renamed.
           "BEGIN; SAVEPOINT a; INSERT INTO t VALUES(2, 'w2'); CREATE TABLE z(a); ROLLBACK TO a;"
           "ALTER TABLE t RENAME TO u; INSERT INTO u VALUES(3, 'w3'); COMMIT",
           "BEGIN; SAVEPOINT a; INSERT INTO t VALUES(2, 'w2'); CREATE TABLE z(a); ROLLBACK TO a;"
           "ALTER TABLE t RENAME TO u; COMMIT",
           // A table created (and written) under the name of one renamed
           // away, both undone: the rows went with the CREATE.
           "BEGIN; INSERT INTO u0 VALUES(501, 'u'); SAVEPOINT a; ALTER TABLE t RENAME TO u; {CREATE t};"
           "INSERT INTO t VALUES(12, 'x'); ROLLBACK TO a; COMMIT",
           "BEGIN; INSERT INTO u0 VALUES(501, 'u'); SAVEPOINT a; DROP TABLE t; {CREATE t};"
           "INSERT INTO t VALUES(12, 'x'); ROLLBACK TO a; INSERT INTO t VALUES(13, 'y'); COMMIT",
           // ... and then another table takes the name t was renamed to.
           "BEGIN; DELETE FROM t WHERE k = 99; SAVEPOINT a; ALTER TABLE t RENAME TO u; {CREATE t}; ROLLBACK TO a;"
           "DELETE FROM t WHERE k = 10; INSERT INTO t VALUES(4, 'new'); ALTER TABLE u0 RENAME TO u; COMMIT",
       }) {
    SCOPED_TRACE(script);
    std::string out[2];
    for (int native = 0; native < 2; native++) {
      const std::string path = fresh_db(
          "rename_in_txn", native ? "CREATE TABLE t(k INTEGER PRIMARY KEY, s TEXT) STRICT;"
                                    "CREATE TABLE u0(k INTEGER PRIMARY KEY, s TEXT) STRICT;"
                                  : std::string(kTwoColumns) + ";" + create_u0 + ";");
      {
        Db db(path);
        std::string sql = script;
        if (const size_t at = sql.find("{CREATE t}"); at != std::string::npos) {
          sql.replace(at, 10, native ? "CREATE TABLE t(k INTEGER PRIMARY KEY, s TEXT) STRICT"
                                     : "CREATE VIRTUAL TABLE t USING alex(k INTEGER PRIMARY KEY, s TEXT)");
        }
        Result r = db.run("INSERT INTO t VALUES(10, 'orig'); INSERT INTO u0 VALUES(500, 'u0');" + sql);
        EXPECT_TRUE(r.ok()) << r.str();
      }
      Db db(path);
      for (const char* table : {"t", "u", "u0"}) {
        if (one(db, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'") != "int:1") continue;
        out[native] += std::string(table) + ": " + one(db, std::string("SELECT * FROM ") + table) + "\n";
        if (!native) {
          EXPECT_EQ(one(db, std::string("SELECT alex_check('") + table + "')"), "text:'ok'") << table;
        }
      }
      remove_db(path);
    }
    EXPECT_EQ(out[0], out[1]);
  }
}

// A table created, renamed to v and written in a transaction, then one
// created under its old name, dropped, and the DROP undone: the reconnect
// of w found v's cache by its old name and, not w's, replaced it, so v's
// row was lost from this connection's reads. (w was cached before another
// connection dropped it.)
TEST(DurabilityTest, ReconnectByOldNameKeepsTheRenamedCache) {
  const std::string create_w = "CREATE VIRTUAL TABLE w USING alex(k INTEGER PRIMARY KEY, s TEXT)";
  const std::string path = fresh_db("old_name", create_w);
  {
    Db a(path), b(path);
    one(a, "SELECT * FROM w");
    ASSERT_TRUE(b.run("DROP TABLE w").ok());
    const Result r = a.run("BEGIN; SAVEPOINT a; " + create_w + "; ALTER TABLE w RENAME TO v;"
                           "INSERT INTO v VALUES(1, 'a6'); " + create_w + "; SAVEPOINT b; DROP TABLE w; ROLLBACK TO b");
    ASSERT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(one(a, "SELECT count(*) FROM w"), "int:0");  // connects w, then v
    EXPECT_EQ(one(a, "SELECT * FROM v"), "int:1|text:'a6'");
    ASSERT_TRUE(a.run("COMMIT").ok());
  }
  Db db(path);
  EXPECT_EQ(one(db, "SELECT * FROM v"), "int:1|text:'a6'");
  EXPECT_EQ(one(db, "SELECT count(*) FROM w"), "int:0");
  remove_db(path);
}

// A table created as v and renamed to x, both undone by ROLLBACK TO, left
// its cache registered under x; a rename of another table to x then gave
// that cache back its old name v, beside v's own cache holding the row just
// inserted. The next connect of v found the stale cache first and read the
// shadow tables afresh, and the commit skipped v's own cache as no longer
// registered: the row was lost, and COMMIT succeeded.
TEST(DurabilityTest, RenameOntoTheNameOfAnUndoneCreateKeepsRows) {
  const std::string create = "CREATE VIRTUAL TABLE {T} USING alex(k INTEGER PRIMARY KEY, s TEXT)";
  const std::string path =
      fresh_db("undone_create", for_table(create, "t") + "; " + for_table(create, "u") + "; ALTER TABLE u RENAME TO v");
  {
    Db db(path);
    const Result r = db.run("SAVEPOINT a; DROP TABLE v; " + for_table(create, "v") +
                            "; ALTER TABLE v RENAME TO x; ROLLBACK TO a; INSERT INTO v VALUES(2, 'two');"
                            "ALTER TABLE t RENAME TO x; INSERT INTO x SELECT k + 1, s FROM v");
    ASSERT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(one(db, "SELECT * FROM v"), "int:2|text:'two'");
    EXPECT_EQ(one(db, "SELECT * FROM x"), "int:3|text:'two'");
    ASSERT_TRUE(db.run("RELEASE a").ok());
  }
  Db db(path);
  EXPECT_EQ(one(db, "SELECT * FROM v"), "int:2|text:'two'");
  EXPECT_EQ(one(db, "SELECT * FROM x"), "int:3|text:'two'");
  EXPECT_EQ(one(db, "SELECT alex_check('v') || alex_check('x')"), "text:'okok'");
  remove_db(path);
}

// After a ROLLBACK TO in a transaction that changed the schema (here it
// undoes the change), SQLite reloads every schema before its next
// statement, main's first; with another connection holding PENDING on main
// (its COMMIT met this connection's read), that fails with SQLITE_BUSY. A
// COMMIT of changes to an attached file needs no statement natively and
// commits; the module's commit reads the schema.
class SchemaBusyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.run("ATTACH '" + aux_ + "' AS aux").ok());
    // b_ keeps PENDING on main.
    ASSERT_TRUE(b_.run("BEGIN; INSERT INTO base VALUES(1)").ok());
    ASSERT_TRUE(a_.run("BEGIN; SELECT count(*) FROM main.base").ok());
    ASSERT_EQ(b_.run("COMMIT").rc, SQLITE_BUSY);
    ASSERT_TRUE(a_.run("COMMIT").ok());
  }
  void TearDown() override {
    b_.run("ROLLBACK");
    remove_db(path_);
    remove_db(aux_);
  }
  static constexpr const char* kUndoSchemaChange = "SAVEPOINT s; CREATE TABLE aux.q(x); ROLLBACK TO s; RELEASE s";

  const std::string path_ = fresh_db("schema_busy", "PRAGMA journal_mode=DELETE; CREATE TABLE base(a)");
  const std::string aux_ = fresh_db("schema_busy_aux", std::string(kTwoColumns) + "; INSERT INTO t VALUES(1, 'one')");
  Db a_{path_}, b_{path_};
};

// Every change undone: nothing to write, and the commit succeeds, as
// natively (it failed with SQLITE_BUSY).
TEST_F(SchemaBusyTest, CommitOfUndoneChangesWritesNothing) {
  ASSERT_TRUE(a_.run(std::string("BEGIN; SAVEPOINT u; INSERT INTO aux.t VALUES(2, 'undone'); ROLLBACK TO u;") +
                     kUndoSchemaChange)
                  .ok());
  const Result commit = a_.run("COMMIT");
  EXPECT_TRUE(commit.ok()) << commit.str();
  EXPECT_EQ(one(Db(aux_), "SELECT * FROM t"), "int:1|text:'one'");
}

// The failed lookup of a table created in the transaction was taken for
// "the CREATE was undone", and the COMMIT succeeded without its rows. Now
// it fails (README), keeps the transaction, and commits once the lock is
// gone.
TEST_F(SchemaBusyTest, CommitOfChangesFailsAndKeepsThem) {
  ASSERT_TRUE(a_.run(std::string("BEGIN; CREATE VIRTUAL TABLE aux.w USING alex(k INTEGER PRIMARY KEY, s TEXT);"
                                 "INSERT INTO aux.w VALUES(1, 'w1'), (2, 'w2'); INSERT INTO aux.t VALUES(3, 'three');") +
                     kUndoSchemaChange)
                  .ok());
  const Result busy = a_.run("COMMIT");
  EXPECT_EQ(busy.rc, SQLITE_BUSY) << busy.str();
  EXPECT_FALSE(sqlite3_get_autocommit(a_.handle()));
  ASSERT_TRUE(b_.run("ROLLBACK").ok());
  const Result commit = a_.run("COMMIT");
  EXPECT_TRUE(commit.ok()) << commit.str();
  Db db(aux_);
  EXPECT_EQ(one(db, "SELECT * FROM w"), "int:1|text:'w1'\nint:2|text:'w2'");
  EXPECT_EQ(one(db, "SELECT * FROM t"), "int:1|text:'one'\nint:3|text:'three'");
  EXPECT_EQ(one(db, "SELECT alex_check('w') || alex_check('t')"), "text:'okok'");
}

// RENAME of a table with uncommitted changes fails (the README's
// difference), and loses nothing: a ROLLBACK TO that undid the rename
// would leave the changes in a cache under names the shadow tables no
// longer have.
TEST(DurabilityTest, RenameOfAChangedTableFails) {
  const std::string path = fresh_db("rename_changed", std::string(kTwoColumns) + "; INSERT INTO t VALUES(10, 'orig')");
  {
    Db db(path);
    ASSERT_TRUE(db.run("BEGIN; INSERT INTO t VALUES(1, 'w1'); SAVEPOINT a").ok());
    const Result r = db.run("ALTER TABLE t RENAME TO u");
    EXPECT_EQ(r.rc, SQLITE_ERROR);
    EXPECT_NE(r.error.find("uncommitted changes"), std::string::npos) << r.str();
    ASSERT_TRUE(db.run("ROLLBACK TO a; COMMIT").ok());
    // Written and undone: nothing left to lose, the rename works.
    ASSERT_TRUE(db.run("BEGIN; SAVEPOINT b; INSERT INTO t VALUES(2, 'w2'); ROLLBACK TO b; ALTER TABLE t RENAME TO u;"
                       "INSERT INTO u VALUES(3, 'w3'); COMMIT")
                    .ok());
  }
  Db db(path);
  EXPECT_EQ(one(db, "SELECT * FROM u"), "int:1|text:'w1'\nint:3|text:'w3'\nint:10|text:'orig'");
  EXPECT_EQ(one(db, "SELECT alex_check('u')"), "text:'ok'");
  remove_db(path);
}

// The difference the test above shows (README): a native table renames.
TEST(DurabilityTest, DISABLED_RenameOfAChangedTable) {
  Db db;
  ASSERT_TRUE(db.run(std::string(kTwoColumns) + "; CREATE TABLE nat(k INTEGER PRIMARY KEY, s TEXT) STRICT").ok());
  for (const std::string table : {"nat", "t"}) {
    const Result r = db.run("BEGIN; INSERT INTO " + table + " VALUES(1, 'a'); ALTER TABLE " + table + " RENAME TO " +
                            table + "2; COMMIT");
    EXPECT_TRUE(r.ok()) << table << ": " << r.str();
    db.run("ROLLBACK");
  }
}

// DROP TABLE of a table with uncommitted changes fails (the README's
// difference): its changes are in the cache until the commit, and a
// ROLLBACK TO that undid the DROP would leave them where SQLite no longer
// commits them (they were lost). Nothing is lost: the transaction goes on.
TEST(DurabilityTest, DropOfATableWrittenInTheTransactionFails) {
  const std::string path = fresh_db("drop_written", std::string(kTwoColumns) + "; INSERT INTO t VALUES(10, 'orig')");
  {
    Db db(path);
    ASSERT_TRUE(db.run("BEGIN; INSERT INTO t VALUES(1, 'w1'); SAVEPOINT a").ok());
    EXPECT_FALSE(db.run("DROP TABLE t").ok());
    ASSERT_TRUE(db.run("ROLLBACK TO a; COMMIT").ok());
    ASSERT_TRUE(db.run("BEGIN; SELECT count(*) FROM t; DROP TABLE t; ROLLBACK").ok());  // only read: allowed
    // Written, the change undone, then dropped and the DROP undone: the
    // table is back as committed, and takes later changes.
    const Result r = db.run(
        "BEGIN; SAVEPOINT b; INSERT INTO t VALUES(2, 'w2'); ROLLBACK TO b; SAVEPOINT c; DROP TABLE t; ROLLBACK TO c;"
        "INSERT INTO t VALUES(3, 'w3'); COMMIT");
    ASSERT_TRUE(r.ok()) << r.str();
  }
  Db db(path);
  EXPECT_EQ(one(db, "SELECT * FROM t"), "int:1|text:'w1'\nint:3|text:'w3'\nint:10|text:'orig'");
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  remove_db(path);
}

// A COMMIT that fails with SQLITE_BUSY (another connection holds a read
// lock) leaves the transaction open. Its first attempt had written the
// shadow tables; the retry took that for done and lost what the
// transaction changed in between. A reconnect in between (a ROLLBACK TO
// after a schema change) took the meta row that attempt wrote for another
// state and replaced the cache, losing the changes too. A second failed
// COMMIT inside a savepoint that a ROLLBACK TO then undid (with what that
// COMMIT wrote) was taken for written too.
TEST(DurabilityTest, CommitRetriedAfterBusyWritesLaterChanges) {
  const std::string write = "INSERT INTO t VALUES(2, 'two'); UPDATE t SET s = 'uno' WHERE k = 1;"
                            "INSERT INTO nat VALUES(2, 'two'); UPDATE nat SET s = 'uno' WHERE k = 1;";
  const std::string changed = "int:1|text:'uno'\nint:2|text:'two'";
  const struct {
    std::string between;  // after the failed COMMIT
    std::string rows;     // in t afterwards
    std::string undone = "";  // after a second failed COMMIT
  } cases[] = {
      {"", "int:1|text:'one'"},
      {write, changed},
      {write + "SAVEPOINT x; CREATE TABLE z(q); ROLLBACK TO x; SELECT count(*) FROM t;", changed},
      {"SAVEPOINT x; CREATE TABLE z(q); ROLLBACK TO x; SELECT count(*) FROM t;" + write, changed},
      {write + "SAVEPOINT x;", changed, "ROLLBACK TO x"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.between);
    const std::string path =
        fresh_db("busy_commit", std::string(kTwoColumns) + "; CREATE TABLE nat(k INTEGER PRIMARY KEY, s TEXT) STRICT");
    {
      Db a(path), b(path);
      ASSERT_TRUE(a.run("BEGIN; INSERT INTO t VALUES(1, 'one'); INSERT INTO nat VALUES(1, 'one')").ok());
      ASSERT_TRUE(b.run("BEGIN; SELECT count(*) FROM t").ok());  // a shared lock
      const Result busy = a.run("COMMIT");
      ASSERT_EQ(busy.rc, SQLITE_BUSY) << busy.str();
      ASSERT_FALSE(sqlite3_get_autocommit(a.handle()));
      const Result between = a.run(c.between);
      ASSERT_TRUE(between.ok()) << between.str();
      if (!c.undone.empty()) {
        ASSERT_EQ(a.run("COMMIT").rc, SQLITE_BUSY);
        ASSERT_TRUE(a.run(c.undone).ok());
      }
      ASSERT_TRUE(b.run("COMMIT").ok());
      const Result commit = a.run("COMMIT");
      ASSERT_TRUE(commit.ok()) << commit.str();
      EXPECT_EQ(one(a, "SELECT * FROM t"), c.rows);
      EXPECT_EQ(one(a, "SELECT alex_check('t')"), "text:'ok'");
    }
    Db db(path);
    EXPECT_EQ(one(db, "SELECT * FROM t"), c.rows);
    EXPECT_EQ(one(db, "SELECT * FROM t"), one(db, "SELECT * FROM nat"));
    EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
    remove_db(path);
  }
}

// PRAGMA query_only turned on inside a transaction that wrote: a native
// table commits (its changes are in its pages already). The COMMIT failed
// with SQLITE_READONLY and lost the transaction; the pragma stays on.
TEST(DurabilityTest, QueryOnlyTurnedOnBeforeTheCommit) {
  const std::string path =
      fresh_db("query_only", std::string(kTwoColumns) + "; CREATE TABLE nat(k INTEGER PRIMARY KEY, s TEXT) STRICT");
  {
    Db db(path);
    ASSERT_TRUE(db.run("BEGIN; INSERT INTO t VALUES(1, 'one'); INSERT INTO nat VALUES(1, 'one')").ok());
    ASSERT_TRUE(db.run("PRAGMA query_only = 1").ok());
    const Result commit = db.run("COMMIT");
    ASSERT_TRUE(commit.ok()) << commit.str();
    EXPECT_EQ(one(db, "PRAGMA query_only"), "int:1");
    for (const std::string table : {"t", "nat"}) {
      EXPECT_EQ(db.run("INSERT INTO " + table + " VALUES(2, 'two')").rc, SQLITE_READONLY) << table;
    }
  }
  Db db(path);
  EXPECT_EQ(one(db, "SELECT * FROM t"), "int:1|text:'one'");
  EXPECT_EQ(one(db, "SELECT * FROM t"), one(db, "SELECT * FROM nat"));
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  remove_db(path);
}

// A function that runs ROLLBACK while a statement writes the table (its
// rows computed, the writes not yet done). The alex table went on writing
// outside any transaction, and a later commit saved those rows; now the
// statement fails with SQLITE_ABORT_ROLLBACK, as a native table's does
// when the rollback trips its open write cursor. (Whether a native
// statement has one then depends on its plan: one that reads its own
// table first writes on, in autocommit.)
TEST(DurabilityTest, RollbackFromAFunctionAbortsTheWrite) {
  const std::string path = temp_db("udf_rollback");
  remove_db(path);
  std::string before;
  {
    Db db(path);
    ASSERT_TRUE(create_tables(db, 10).ok());
    int calls = 0;
    auto rollback_on_second_call = [](sqlite3_context* ctx, int, sqlite3_value** argv) {
      int* n = static_cast<int*>(sqlite3_user_data(ctx));
      if (++*n == 2) sqlite3_exec(sqlite3_context_db_handle(ctx), "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_result_value(ctx, argv[0]);
    };
    ASSERT_EQ(sqlite3_create_function(db.handle(), "f", 1, SQLITE_UTF8, &calls, rollback_on_second_call, nullptr,
                                      nullptr),
              SQLITE_OK);
    for (const char* write : {"INSERT INTO t(k, v, r, n) SELECT 100 + k, v, r, f(n) FROM nat",
                              "UPDATE t SET n = f(n) + 1", "DELETE FROM t WHERE f(k) > 0"}) {
      calls = 0;
      ASSERT_TRUE(db.run("BEGIN").ok());
      const Result r = db.run(write);
      EXPECT_EQ(sqlite3_extended_errcode(db.handle()), SQLITE_ABORT_ROLLBACK) << write << " -> " << r.str();
      EXPECT_TRUE(sqlite3_get_autocommit(db.handle())) << write;
      EXPECT_EQ(one(db, "SELECT count(*), sum(n) FROM t"), "int:10|int:55") << write;
      EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'") << write;
    }
    ASSERT_TRUE(db.run("INSERT INTO t(k, v, r, n) VALUES(1, 'x', 1, 1)").ok());
    before = one(db, "SELECT * FROM t");
  }
  Db db(path);
  EXPECT_EQ(one(db, "SELECT * FROM t"), before);
  EXPECT_EQ(one(db, "SELECT count(*) FROM t"), "int:11");
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  remove_db(path);
}

// A ROLLBACK TO run by a function while a statement writes the table: a
// native statement fails with SQLITE_ABORT_ROLLBACK (its write cursor is
// tripped); an alex table has no cursor to trip, and the statement's
// writes after the rollback stay. Likewise a read cursor left open across
// a ROLLBACK that undid a schema change: native ones fail, alex ones read
// on.
TEST(DurabilityTest, DISABLED_RollbackToFromAFunctionAbortsTheWrite) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  int calls = 0;
  auto rollback_to_on_second_call = [](sqlite3_context* ctx, int, sqlite3_value** argv) {
    int* n = static_cast<int*>(sqlite3_user_data(ctx));
    if (++*n == 2) sqlite3_exec(sqlite3_context_db_handle(ctx), "ROLLBACK TO sp", nullptr, nullptr, nullptr);
    sqlite3_result_value(ctx, argv[0]);
  };
  ASSERT_EQ(sqlite3_create_function(db.handle(), "f", 1, SQLITE_UTF8, &calls, rollback_to_on_second_call, nullptr,
                                    nullptr),
            SQLITE_OK);
  for (const std::string table : {"nat", "t"}) {
    calls = 0;
    ASSERT_TRUE(db.run("BEGIN; SAVEPOINT sp").ok());
    const Result r = db.run("UPDATE " + table + " SET n = f(n) + 100");
    EXPECT_EQ(sqlite3_extended_errcode(db.handle()), SQLITE_ABORT_ROLLBACK) << table << " -> " << r.str();
    ASSERT_TRUE(db.run("COMMIT").ok());
  }
  EXPECT_EQ(one(db, "SELECT * FROM t"), one(db, "SELECT * FROM nat"));
  // ROLLBACK, then BEGIN and a write of the table, from the function: the
  // alex statement's writes join the new transaction.
  auto restart = [](sqlite3_context* ctx, int, sqlite3_value** argv) {
    const std::string table = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
    sqlite3_exec(sqlite3_context_db_handle(ctx),
                 ("ROLLBACK; BEGIN; INSERT INTO " + table + "(k, v, r, n) VALUES(101, 'fn', 1, 1)").c_str(), nullptr,
                 nullptr, nullptr);
    sqlite3_result_value(ctx, argv[0]);
  };
  ASSERT_EQ(sqlite3_create_function(db.handle(), "g", 2, SQLITE_UTF8, nullptr, restart, nullptr, nullptr), SQLITE_OK);
  for (const std::string table : {"nat", "t"}) {
    ASSERT_TRUE(db.run("BEGIN").ok());
    const Result r = db.run("INSERT INTO " + table + "(k, v, r, n) VALUES(g(1, '" + table + "'), 'outer', 1, 1)");
    EXPECT_EQ(sqlite3_extended_errcode(db.handle()), SQLITE_ABORT_ROLLBACK) << table << " -> " << r.str();
    ASSERT_TRUE(db.run("COMMIT").ok());
  }
  EXPECT_EQ(one(db, "SELECT * FROM t"), one(db, "SELECT * FROM nat"));
  for (const std::string table : {"nat", "t"}) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db.handle(), ("SELECT k FROM " + table).c_str(), -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_TRUE(db.run("BEGIN; CREATE TABLE x(a); ROLLBACK").ok());
    EXPECT_EQ(sqlite3_step(st), SQLITE_ABORT) << table;  // extended: SQLITE_ABORT_ROLLBACK
    sqlite3_finalize(st);
  }
}

// A table created inside a transaction: SQLite makes it part of the
// transaction without calling xBegin. Statement rollback and ROLLBACK TO
// used to undo nothing in it, and a ROLLBACK TO that undid the CREATE
// made the COMMIT fail (and lose the whole transaction). Each script runs
// statement by statement on alex and native tables; the outcomes, and the
// file afterwards, must match.
TEST(DurabilityTest, TableCreatedInTheTransaction) {
  const std::vector<std::vector<std::string>> scripts = {
      {"BEGIN", "CREATE u", "INSERT INTO u VALUES(1, 'a')", "INSERT INTO u VALUES(3, 'c'), (1, 'dup')", "SAVEPOINT a",
       "INSERT INTO u VALUES(2, 'b')", "ROLLBACK TO a", "INSERT INTO u VALUES(4, 'd')", "COMMIT"},
      {"BEGIN", "INSERT INTO n VALUES('kept')", "SAVEPOINT a", "CREATE u", "INSERT INTO u VALUES(1, 'a')",
       "ROLLBACK TO a", "COMMIT"},
      {"BEGIN", "SAVEPOINT a", "CREATE u", "INSERT INTO u VALUES(1, 'a')", "ROLLBACK TO a", "CREATE u",
       "INSERT INTO u VALUES(5, 'e')", "COMMIT"},
      {"BEGIN", "CREATE u", "INSERT INTO u VALUES(1, 'a')", "SAVEPOINT b", "UPDATE u SET k = 7", "ROLLBACK TO b",
       "INSERT INTO u VALUES(2, 'b')", "RELEASE b", "COMMIT"},
      {"BEGIN", "CREATE u", "INSERT INTO u VALUES(1, 'a')", "ROLLBACK"},
      {"BEGIN", "CREATE u", "DROP TABLE u", "COMMIT"},
      {"BEGIN", "SAVEPOINT a", "CREATE u", "INSERT INTO u VALUES(1, 'a')", "ROLLBACK TO a", "CREATE TABLE u_meta(q)",
       "INSERT INTO u_meta VALUES('kept')", "COMMIT", "SELECT * FROM u_meta"},
      {"BEGIN", "CREATE u", "SELECT count(*) FROM u", "DROP TABLE u", "CREATE u", "INSERT INTO u VALUES(6, 'f')",
       "COMMIT"},
  };
  for (const std::vector<std::string>& script : scripts) {
    std::string out[2];
    for (int native = 0; native < 2; native++) {
      const std::string path = fresh_db("create_in_txn", "CREATE TABLE n(x)");
      {
        Db db(path);
        for (const std::string& sql : script) {
          const Result r = db.run(sql != "CREATE u" ? sql
                                  : native          ? "CREATE TABLE u(k INTEGER PRIMARY KEY, s TEXT) STRICT"
                                                    : "CREATE VIRTUAL TABLE u USING alex(k INTEGER PRIMARY KEY, s TEXT)");
          out[native] += sql + " -> " + r.str() + "\n";
        }
        if (!native && one(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'u'") == "int:1") {
          EXPECT_EQ(one(db, "SELECT alex_check('u')"), "text:'ok'") << script[1];
        }
      }
      Db db(path);
      out[native] += "n: " + one(db, "SELECT * FROM n") + "; u: " +
                     (one(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'u'") == "int:1" ? one(db, "SELECT * FROM u")
                                                                                             : "none");
      remove_db(path);
    }
    EXPECT_EQ(out[0], out[1]);
  }
}

// The difference the test above shows (README): a native table drops.
TEST(DurabilityTest, DISABLED_DropOfATableWrittenInTheTransaction) {
  auto run = [](const std::string& create) {
    Db db;
    const std::string drop = db.str(create + "; BEGIN; INSERT INTO t VALUES(1, 'w1'); DROP TABLE t");
    return drop + "|" + db.str("COMMIT; SELECT count(*) FROM sqlite_schema WHERE name = 't'");
  };
  EXPECT_EQ(run(kTwoColumns), run("CREATE TABLE t(k INTEGER PRIMARY KEY, s TEXT) STRICT"));
}

// What the cache is kept for: a schema change reconnects the table, and
// when the table's shadow tables are the same, nothing is read again. The
// chunks are deleted behind the module's back (no commit of it moves the
// generation), so a reload would report the table damaged.
TEST(DurabilityTest, SchemaChangeKeepsTheCache) {
  const std::string path = fresh_db("keep", std::string(kTwoColumns) + "; INSERT INTO t VALUES(1, 'a'), (2, 'b')");
  Db db(path);
  EXPECT_EQ(one(db, "SELECT count(*) FROM t"), "int:2");
  ASSERT_TRUE(db.run("DELETE FROM t_chunks").ok());
  ASSERT_TRUE(db.run("CREATE TABLE other(x); DROP TABLE other").ok());
  EXPECT_EQ(one(db, "SELECT * FROM t"), "int:1|text:'a'\nint:2|text:'b'");
  EXPECT_NE(one(Db(path), "SELECT * FROM t").find("alex: shadow table t_meta counts 2 rows"), std::string::npos);
  remove_db(path);
}

// ---------------------------------------------------------------------------
// Bugs found by these tests, each disabled until fixed.

// ROLLBACK TO a savepoint opened before the transaction's first write to
// the alex table. SQLite announces to a table that joins a transaction
// inside savepoints only the newest savepoint number (SAVEPOINT a is 0, the
// joining statement's own savepoint is 1: xSavepoint(1)), and xRelease(1)
// when the statement ends; the later xRollbackTo(0) must still undo the
// statement (it once undid nothing). Also with SAVEPOINT as the outer
// transaction.
TEST(DurabilityTest, RollbackToSavepointOpenedBeforeFirstWrite) {
  DiskPair pair("savepoint_join");
  const std::string q = "SELECT count(*), sum(k), sum(v = 'changed') FROM ";
  std::string before;
  {
    Db db(pair.path());
    before = one(db, q + "t");
    ASSERT_TRUE(db.run("BEGIN; SAVEPOINT a").ok());
    DiskPair::both(db, "DELETE FROM {T} WHERE k < 500");
    ASSERT_TRUE(db.run("ROLLBACK TO a").ok());
    EXPECT_EQ(one(db, q + "t"), before) << "after ROLLBACK TO a";
    EXPECT_EQ(one(db, q + "nat"), before) << "after ROLLBACK TO a";
    ASSERT_TRUE(db.run("COMMIT").ok());
    ASSERT_TRUE(db.run("SAVEPOINT outer_tx").ok());
    DiskPair::both(db, "UPDATE {T} SET v = 'changed' WHERE k < 800");
    ASSERT_TRUE(db.run("ROLLBACK TO outer_tx; RELEASE outer_tx").ok());
    EXPECT_EQ(one(db, q + "t"), before) << "after ROLLBACK TO outer_tx";
  }
  Db db(pair.path());
  EXPECT_EQ(one(db, q + "t"), before) << "on disk";
  EXPECT_EQ(one(db, q + "nat"), before) << "on disk";
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
}

// A row with a duplicate key and a value of the wrong type: SQLite checks
// NOT NULL, then the key, then the types. The message depends on it, and
// under ON CONFLICT IGNORE or FAIL so does the data: SQLite skips the row
// (IGNORE) or stops there keeping the earlier rows (FAIL).
TEST(DurabilityTest, UniqueIsCheckedBeforeTypes) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  EXPECT_EQ(db.str("INSERT INTO nat VALUES(2, 'a', 'abc', 1)"), "error(19): UNIQUE constraint failed: nat.k");
  EXPECT_EQ(db.str("INSERT INTO t VALUES(2, 'a', 'abc', 1)"), "error(19): UNIQUE constraint failed: t.k");
  EXPECT_EQ(db.str("UPDATE t SET k = 2, n = 1.5 WHERE k = 4"), "error(19): UNIQUE constraint failed: t.k");
  for (const char* verb : {"INSERT OR IGNORE", "INSERT OR FAIL"}) {
    bool busy = false;
    EXPECT_EQ(apply_both(db, std::string(verb) + " INTO {T} VALUES(-1, 'a', 1, 1), (2, 'a', 'abc', 1), (-3, 'b', 2, 2)", &busy), "");
    EXPECT_EQ(one(db, "SELECT count(*), sum(k) FROM t"), one(db, "SELECT count(*), sum(k) FROM nat")) << verb;
  }
}

// A commit rewrites the column blobs an UPDATE changed, and no others: the
// columns it does not assign reach xUpdate as "no change", and a column
// assigned the value it holds changes nothing in the store. The count:
// total_changes() also counts the module's shadow writes (see
// TotalChangesCountsOnlyRows below): the row, each rewritten blob, and the
// meta row when anything was written.
TEST(DurabilityTest, UpdateRewritesOnlyTheColumnsItChanges) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  const struct {
    const char* sql;
    int blobs;
  } cases[] = {
      {"UPDATE {T} SET v = 'y' WHERE k = 4", 1},        // TEXT; r, n come back unchanged
      {"UPDATE {T} SET r = 2.5 WHERE k = 4", 1},        // REAL
      {"UPDATE {T} SET n = n + 1 WHERE k = 4", 1},      // INTEGER
      {"UPDATE {T} SET n = n, r = r WHERE k = 4", 0},   // assigned, but to what they hold
      {"UPDATE {T} SET r = NULL WHERE k = 6", 1},       // 0.375 -> NULL
      {"UPDATE {T} SET r = NULL WHERE k = 6", 0},       // NULL -> NULL
      {"UPDATE {T} SET v = v || '!' WHERE k < 8", 1},   // three rows of one chunk
  };
  for (const auto& c : cases) {
    std::string nat = c.sql;
    nat.replace(nat.find("{T}"), 3, "nat");
    ASSERT_TRUE(db.run(nat).ok()) << nat;
    std::string sql = c.sql;
    sql.replace(sql.find("{T}"), 3, "t");
    const int before = sqlite3_total_changes(db.handle());
    ASSERT_TRUE(db.run(sql).ok()) << sql;
    const int rows = sqlite3_changes(db.handle());
    EXPECT_EQ(sqlite3_total_changes(db.handle()) - before - rows, c.blobs == 0 ? 0 : c.blobs + 1) << sql;
    EXPECT_EQ(one(db, "SELECT group_concat(quote(v) || r || n) FROM t"),
              one(db, "SELECT group_concat(quote(v) || r || n) FROM nat"))
        << sql;
  }
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
}

// The damage tests' table, its meta row saying storage format `format`.
std::string db_of_format(int format) {
  const std::string path = temp_db("format" + std::to_string(format));
  make_damage_db(path);
  Db db(path);
  EXPECT_TRUE(db.run("UPDATE t_meta SET format = " + std::to_string(format)).ok());
  return path;
}

// A table whose meta row names another storage format connects, so that
// DROP TABLE can remove it; every other use fails with a message naming the
// format.
TEST(DurabilityTest, DropTableOfAnotherStorageFormat) {
  const std::string path = db_of_format(3);
  Db db(path);
  EXPECT_NE(db.str("SELECT count(*) FROM t").find("storage format 3; this build reads formats 1 to 2 only"),
            std::string::npos);
  Result drop = db.run("DROP TABLE t");
  EXPECT_TRUE(drop.ok()) << drop.str();
  EXPECT_EQ(one(db, "SELECT group_concat(name) FROM sqlite_schema WHERE name LIKE 't%'"), "null");
  remove_db(path);
}

// A table whose meta row says format 1 (written by an older build) reads;
// its first commit rewrites the chunks it changes in format 2 and says so.
// (Reading format 1 blobs byte by byte: StorePersistenceTest.)
TEST(DurabilityTest, FormatOneTableReadsAndMovesToFormatTwo) {
  const std::string path = db_of_format(1);
  Db db(path);
  EXPECT_EQ(one(db, "SELECT count(*), sum(k) FROM t"), "int:2966|int:13288617");
  EXPECT_EQ(one(db, "SELECT format FROM t_meta"), "int:1");
  ASSERT_TRUE(db.run("INSERT INTO t(k, v, r, n) VALUES(-1, 'x', 1.5, 1)").ok());
  EXPECT_EQ(one(db, "SELECT format FROM t_meta"), "int:2");
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  remove_db(path);
}

// A chunk blob longer than the connection's SQLITE_LIMIT_LENGTH cannot be
// read, but that is the connection's setting, not damage: the statement
// fails with SQLITE_TOOBIG, and once the limit is raised the table reads
// normally (it is not marked damaged).
TEST(DurabilityTest, LengthLimitIsNotDamage) {
  const std::string path = temp_db("toobig");
  make_damage_db(path);
  std::string rows;
  {
    Db db(path);
    rows = one(db, "SELECT count(*) FROM t");
  }
  Db db(path);
  sqlite3_limit(db.handle(), SQLITE_LIMIT_LENGTH, 1000);
  Result r = db.run("SELECT count(*) FROM t");
  EXPECT_EQ(r.rc, SQLITE_TOOBIG) << r.str();
  sqlite3_limit(db.handle(), SQLITE_LIMIT_LENGTH, 1000000000);
  EXPECT_EQ(one(db, "SELECT count(*) FROM t"), rows);
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  // A commit whose chunk blob is past the limit fails with it and says so
  // (it used to insert a NULL blob: "NOT NULL constraint failed").
  sqlite3_limit(db.handle(), SQLITE_LIMIT_LENGTH, 1000);
  r = db.run("INSERT INTO t(k, v, r, n) VALUES(-1, 'x', 1.5, 1)");
  EXPECT_EQ(r.rc, SQLITE_TOOBIG) << r.str();
  EXPECT_NE(r.error.find("length limit (1000)"), std::string::npos) << r.str();
  sqlite3_limit(db.handle(), SQLITE_LIMIT_LENGTH, 1000000000);
  EXPECT_EQ(one(db, "SELECT count(*) FROM t"), rows);
  EXPECT_EQ(one(db, "SELECT alex_check('t')"), "text:'ok'");
  remove_db(path);
}

// LIMIT (docs/DESIGN say "INSERT ... RETURNING works"): RETURNING the key
// of a row inserted without one gives NULL. SQLite evaluates RETURNING from
// the registers it passed to xUpdate; the key xUpdate chose reaches only
// sqlite3_last_insert_rowid(). Likely not fixable in the module; to be
// documented. Reproducer:
//   CREATE VIRTUAL TABLE t USING alex(k INTEGER PRIMARY KEY, v TEXT);
//   INSERT INTO t(v) VALUES('a') RETURNING k;   -- NULL (native: 1)
TEST(DurabilityTest, DISABLED_ReturningAutomaticKey) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  EXPECT_EQ(db.str("INSERT INTO nat(v, r, n) VALUES('a', 1, 1) RETURNING k"), "int:21");
  EXPECT_EQ(db.str("INSERT INTO t(v, r, n) VALUES('a', 1, 1) RETURNING k"), "int:21");
}

// LIMIT: total_changes() (sqlite3_total_changes) also counts the module's
// writes to its shadow tables at each commit: a one-row INSERT in
// autocommit adds 1 + (blobs rewritten) + 1 (the meta row). changes() is
// right. R*Tree and FTS5 behave alike; likely to be documented rather than
// fixed. Reproducer:
//   SELECT total_changes(); INSERT INTO t VALUES(100, 'x'); SELECT total_changes();  -- +6 for 4 blobs
TEST(DurabilityTest, DISABLED_TotalChangesCountsOnlyRows) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  for (const char* table : {"nat", "t"}) {
    const int before = sqlite3_total_changes(db.handle());
    ASSERT_TRUE(db.run(std::string("INSERT INTO ") + table + " VALUES(100, 'x', 1, 1)").ok());
    EXPECT_EQ(sqlite3_total_changes(db.handle()) - before, 1) << table;
    EXPECT_EQ(sqlite3_changes(db.handle()), 1) << table;
  }
}

// The README's differences of storage and connection: each test expects
// the native behaviour and fails on an alex table.

// SQLITE_LIMIT_LENGTH bounds each shadow blob, which holds a chunk's
// values of one column: 1000 small rows commit natively under a limit of
// 2000 bytes; an alex table fails with SQLITE_TOOBIG.
TEST(DurabilityTest, DISABLED_LengthLimitBoundsRowsNotChunks) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  sqlite3_limit(db.handle(), SQLITE_LIMIT_LENGTH, 2000);
  for (const std::string table : {"nat", "t"}) {
    const Result r = db.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
                            "INSERT INTO " + table + "(k, v, r, n) SELECT 100 + x, 'v', 1.5, x FROM c");
    EXPECT_TRUE(r.ok()) << table << ": " << r.str();
  }
}

// An authorizer sees the module's reads and writes of its shadow tables
// (as it sees FTS5's): one that allows writes to the user's tables only
// fails every write of an alex table, at its commit.
TEST(DurabilityTest, DISABLED_AuthorizerSeesOnlyTheUsersTables) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  auto only_t_and_nat = [](void*, int action, const char* table, const char*, const char*, const char*) {
    const bool write = action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE;
    return write && table != nullptr && std::strcmp(table, "t") != 0 && std::strcmp(table, "nat") != 0 &&
                   std::strncmp(table, "sqlite_", 7) != 0
               ? SQLITE_DENY
               : SQLITE_OK;
  };
  sqlite3_set_authorizer(db.handle(), only_t_and_nat, nullptr);
  for (const std::string table : {"nat", "t"}) {
    const Result r = db.run("INSERT INTO " + table + "(k, v, r, n) VALUES(1, 'a', 1.5, 1)");
    EXPECT_TRUE(r.ok()) << table << ": " << r.str();
  }
}

// Shared-cache mode: a native table's read transaction holds a table lock,
// and another connection's write fails with SQLITE_LOCKED_SHAREDCACHE. An
// alex table answers from its cache without touching the shadow tables:
// the write succeeds, and the reader's next statement sees it.
TEST(DurabilityTest, DISABLED_SharedCacheTableLocks) {
  const std::string path = fresh_db("shared_cache", "");
  {
    Db setup(path);
    ASSERT_TRUE(create_tables(setup, 10).ok());
  }
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_SHAREDCACHE;
  Db a(path, flags), b(path, flags);
  for (const std::string table : {"nat", "t"}) {
    SCOPED_TRACE(table);
    one(b, "SELECT count(*) FROM " + table);  // loads the cache
    ASSERT_TRUE(b.run("BEGIN").ok());
    const std::string before = one(b, "SELECT count(*) FROM " + table);
    const Result w = a.run("INSERT INTO " + table + "(k, v, r, n) VALUES(1, 'a', 1.5, 1)");
    EXPECT_EQ(sqlite3_extended_errcode(a.handle()), SQLITE_LOCKED_SHAREDCACHE) << w.str();
    EXPECT_EQ(one(b, "SELECT count(*) FROM " + table), before);
    ASSERT_TRUE(b.run("COMMIT").ok());
  }
  remove_db(path);
}

// A transaction whose changes ROLLBACK TO undid still commits a write, as
// natively (SQLite writes the pages they touched): in WAL mode a reader
// that began before it then cannot write; in rollback mode the reader's
// SHARED lock keeps it from committing at all.
TEST(DurabilityTest, UndoneChangesStillCommitAWrite) {
  for (const std::string mode : {"WAL", "DELETE"}) {
    const std::string path = fresh_db("undone_" + mode, "PRAGMA journal_mode=" + mode);
    {
      Db setup(path);
      ASSERT_TRUE(create_tables(setup, 10).ok());
    }
    Db a(path), b(path);
    for (const std::string table : {"nat", "t"}) {
      SCOPED_TRACE(mode + " " + table);
      ASSERT_TRUE(b.run("BEGIN").ok());
      one(b, "SELECT count(*) FROM " + table);
      ASSERT_TRUE(a.run("BEGIN; SAVEPOINT s; UPDATE " + table + " SET v = 'x' WHERE k = 2; ROLLBACK TO s").ok());
      const Result commit = a.run("COMMIT");
      if (mode == "WAL") {
        ASSERT_TRUE(commit.ok()) << commit.str();
        const Result w = b.run("INSERT INTO " + table + "(k, v, r, n) VALUES(1, 'a', 1.5, 1)");
        EXPECT_EQ(sqlite3_errcode(b.handle()), SQLITE_BUSY) << w.str();
        ASSERT_TRUE(b.run("ROLLBACK").ok());
      } else {
        EXPECT_EQ(sqlite3_errcode(a.handle()), SQLITE_BUSY) << commit.str();
        ASSERT_TRUE(b.run("ROLLBACK").ok());
        ASSERT_TRUE(a.run("COMMIT").ok());
      }
      // Nothing changed: both connections read the same rows as before.
      EXPECT_EQ(dump(a, table), dump(b, table));
      EXPECT_EQ(one(b, "SELECT v FROM " + table + " WHERE k = 2"), "text:'row 1'");
    }
    // A write that changes nothing: the same outcome on both (in WAL mode
    // no write; in rollback mode SQLite's write lock waits for the reader).
    std::vector<std::string> outcomes;
    for (const std::string table : {"nat", "t"}) {
      ASSERT_TRUE(b.run("BEGIN").ok());
      one(b, "SELECT count(*) FROM " + table);
      const Result u = a.run("UPDATE " + table + " SET v = 'x' WHERE k = 99");
      const Result w = b.run("INSERT INTO " + table + "(k, v, r, n) VALUES(1, 'a', 1.5, 1)");
      outcomes.push_back(u.str() + " / " + w.str());
      ASSERT_TRUE(b.run("ROLLBACK").ok());
    }
    EXPECT_EQ(outcomes[0], outcomes[1]) << mode;
    remove_db(path);
  }
}

// A DELETE without WHERE of an empty table, and an UPDATE that sets a key
// to the value it has: a native table clears its root page, or deletes and
// inserts the row, writes that commit, so a reader's snapshot is then too
// old for it to write (SQLITE_BUSY). An alex table has nothing to change
// and writes nothing; the reader goes on to write. A DELETE whose WHERE
// matches nothing writes nothing on both.
TEST(DurabilityTest, DISABLED_WritesThatChangeNothing) {
  const std::string path = fresh_db("change_nothing", "PRAGMA journal_mode=WAL");
  {
    Db setup(path);
    ASSERT_TRUE(create_tables(setup, 1).ok());
  }
  Db a(path), b(path);
  const std::pair<std::string, std::string> cases[] = {  // the rows before, the write
      {"", "DELETE FROM {T}"},
      {"INSERT INTO {T}(k, v, r, n) VALUES(1, 'a', 1.5, 1)", "UPDATE {T} SET k = 1 WHERE k = 1"}};
  for (const auto& [rows, write] : cases) {
    for (const std::string table : {"nat", "t"}) {
      SCOPED_TRACE(table + ": " + write);
      ASSERT_TRUE(a.run(for_table("DELETE FROM {T} WHERE 1; " + rows, table)).ok());
      ASSERT_TRUE(b.run("BEGIN").ok());
      one(b, "SELECT count(*) FROM " + table);
      ASSERT_TRUE(a.run(for_table(write, table)).ok());
      const Result w = b.run("INSERT INTO " + table + "(k, v, r, n) VALUES(2, 'b', 2.5, 2)");
      EXPECT_EQ(sqlite3_errcode(b.handle()), SQLITE_BUSY) << w.str();
      ASSERT_TRUE(b.run("ROLLBACK").ok());
    }
  }
  remove_db(path);
}

// sqlite3_serialize() inside a write transaction: a native table's image
// holds the uncommitted rows (they are in its pages); an alex table's rows
// reach its shadow tables only at the commit.
TEST(DurabilityTest, DISABLED_SerializeInsideAWriteTransaction) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  ASSERT_TRUE(db.run("BEGIN; INSERT INTO t(k, v, r, n) VALUES(1, 'a', 1.5, 1);"
                     "INSERT INTO nat(k, v, r, n) VALUES(1, 'a', 1.5, 1)")
                  .ok());
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(db.handle(), "main", &size, 0);
  ASSERT_NE(image, nullptr);
  ASSERT_TRUE(db.run("ROLLBACK").ok());
  Db copy;
  ASSERT_EQ(sqlite3_deserialize(copy.handle(), "main", image, size, size,
                                SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE),
            SQLITE_OK);
  EXPECT_EQ(one(copy, "SELECT count(*) FROM t"), one(copy, "SELECT count(*) FROM nat"));
}

// sqlite3_deserialize() of an image with the same schema does not expire
// the connection's prepared statements (SQLite 3.40): a kept statement on
// a native table reads the new image; one on an alex table keeps the
// sqlite3_vtab, whose cache cannot tell the new pager from the old (both
// start at the same data version). Prepare statements again after a
// deserialize (Python's statement cache keeps them).
TEST(DurabilityTest, DISABLED_DeserializeUnderAKeptStatement) {
  Db db;
  ASSERT_TRUE(create_tables(db, 10).ok());
  auto image = [&] {
    sqlite3_int64 size = 0;
    unsigned char* p = sqlite3_serialize(db.handle(), "main", &size, 0);
    return std::make_pair(p, size);
  };
  const auto small = image();
  ASSERT_TRUE(db.run("INSERT INTO t(k, v, r, n) VALUES(1, 'a', 1.5, 1);"
                     "INSERT INTO nat(k, v, r, n) VALUES(1, 'a', 1.5, 1)")
                  .ok());
  const auto large = image();
  ASSERT_NE(small.first, nullptr);
  ASSERT_NE(large.first, nullptr);
  auto restore = [&](std::pair<unsigned char*, sqlite3_int64> img) {
    return sqlite3_deserialize(db.handle(), "main", img.first, img.second, img.second,
                               SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
  };
  sqlite3_stmt* kept[2] = {nullptr, nullptr};
  const char* tables[2] = {"nat", "t"};
  ASSERT_EQ(restore(small), SQLITE_OK);
  for (int i = 0; i < 2; i++) {
    const std::string sql = std::string("SELECT count(*) FROM ") + tables[i];
    ASSERT_EQ(sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &kept[i], nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(kept[i]), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(kept[i], 0), 10);
    sqlite3_reset(kept[i]);
  }
  ASSERT_EQ(restore(large), SQLITE_OK);
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(sqlite3_step(kept[i]), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(kept[i], 0), 11) << tables[i];
    sqlite3_finalize(kept[i]);
  }
}

}  // namespace
}  // namespace alex::testing::durability
