// Copyright (c) the alex authors.
//
// What the fault tests (oom_test.cc, ioerr_test.cc) run: one database with
// an alex table t and a native STRICT table nat holding the same 1100 rows
// (two chunks of t), and the transactions each fault loop walks through.
// A statement naming {T} runs once on t and once on nat.

#ifndef ALEX_TESTS_FAULT_WORKLOADS_H_
#define ALEX_TESTS_FAULT_WORKLOADS_H_

#include <string>
#include <vector>

#include "tests/vtab/sql_test_util.h"

namespace alex::testing::workloads {

inline constexpr const char* kColumns = "k INTEGER PRIMARY KEY, v TEXT, r REAL, n INTEGER NOT NULL";

// Integers 1..n as a row source (the library has no generate_series).
inline std::string series(int n) {
  return "(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < " +
         std::to_string(n) + ") SELECT value FROM s)";
}

// Creates t and nat in `db`, each with 1100 rows; false on any error.
inline bool create_tables(const Db& db) {
  if (!db.run(std::string("CREATE VIRTUAL TABLE t USING alex(") + kColumns + ")").ok()) return false;
  if (!db.run(std::string("CREATE TABLE nat(") + kColumns + ") STRICT").ok()) return false;
  for (const char* table : {"t", "nat"}) {
    if (!db.run(std::string("INSERT INTO ") + table +
                " SELECT value * 3, 'row ' || value, value / 4.0, value % 13 FROM " + series(1100))
             .ok()) {
      return false;
    }
  }
  return true;
}

// `sql` with every {T} replaced by `table`.
inline std::string on_table(std::string sql, const std::string& table) {
  for (size_t at; (at = sql.find("{T}")) != std::string::npos;) sql = sql.substr(0, at) + table + sql.substr(at + 3);
  return sql;
}

// `rows` new rows after the existing ones, and two with keys chosen by the
// table, in one transaction.
inline std::vector<std::string> multi_row_insert(int rows) {
  return {"BEGIN",
          "INSERT INTO {T}(k, v, r, n) SELECT 4000 + value, 'new ' || value, value * 1.5, value FROM " + series(rows),
          "INSERT INTO {T}(v, r, n) VALUES ('auto', 1.0, 1), (NULL, NULL, 2)", "COMMIT"};
}

inline const std::vector<std::string> kUpdateWithKeyChanges = {
    "BEGIN", "UPDATE {T} SET k = k + 10000, v = v || '!' WHERE k BETWEEN 30 AND 150",
    "UPDATE {T} SET r = r * 2, n = n + 1 WHERE k % 5 = 0 AND k < 600", "COMMIT"};

inline const std::vector<std::string> kDelete = {"BEGIN", "DELETE FROM {T} WHERE k % 7 = 0 AND k < 900",
                                                 "DELETE FROM {T} WHERE k > 3000", "COMMIT"};

inline const std::vector<std::string> kSavepoints = {
    "BEGIN", "SAVEPOINT a", "INSERT INTO {T}(k, v, r, n) VALUES (5001, 'x', 1, 1), (5002, 'y', 2, 2)",
    "SAVEPOINT b", "UPDATE {T} SET k = k + 20000 WHERE k < 60", "ROLLBACK TO b",
    "DELETE FROM {T} WHERE k BETWEEN 60 AND 90", "RELEASE a", "COMMIT"};

}  // namespace alex::testing::workloads

#endif  // ALEX_TESTS_FAULT_WORKLOADS_H_
