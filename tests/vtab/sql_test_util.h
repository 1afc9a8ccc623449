// Copyright (c) the alex authors.
//
// Helpers for SQL-level tests: a connection with the alex module registered,
// statements run to completion with their rows rendered as text that keeps
// the type (so 5 and 5.0 and '5' differ), and errors captured as values.

#ifndef ALEX_TESTS_VTAB_SQL_TEST_UTIL_H_
#define ALEX_TESTS_VTAB_SQL_TEST_UTIL_H_

#include <sqlite3.h>

#include <cstdio>
#include <string>
#include <vector>

#include "vtab/sqlite3_alex.h"

namespace alex::testing {

// One value as "typeof:value": "null", "int:5", "real:5.0", "text:'a'",
// "blob:x'07'". Reals print with 17 significant digits (%!.17g-like) so
// that any difference shows.
inline std::string render(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL: return "null";
    case SQLITE_INTEGER: return "int:" + std::to_string(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "real:%.17g", sqlite3_column_double(stmt, col));
      return buf;
    }
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      return "text:'" + std::string(p, sqlite3_column_bytes(stmt, col)) + "'";
    }
    default: {
      const unsigned char* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, col));
      int n = sqlite3_column_bytes(stmt, col);
      std::string s = "blob:x'";
      static const char* kHex = "0123456789abcdef";
      for (int i = 0; i < n; i++) {
        s += kHex[p[i] >> 4];
        s += kHex[p[i] & 15];
      }
      return s + "'";
    }
  }
}

// The outcome of one statement: its rows, or its error.
struct Result {
  int rc = SQLITE_OK;                         // SQLITE_OK, or the primary error code
  std::string error;                          // sqlite3_errmsg when rc != OK
  std::vector<std::vector<std::string>> rows;

  bool ok() const { return rc == SQLITE_OK; }
  // Rows joined: "int:1|text:'a'\nint:2|null"; an error as "error(19): msg".
  std::string str() const {
    if (!ok()) return "error(" + std::to_string(rc) + "): " + error;
    std::string s;
    for (size_t r = 0; r < rows.size(); r++) {
      if (r) s += "\n";
      for (size_t c = 0; c < rows[r].size(); c++) s += (c ? "|" : "") + rows[r][c];
    }
    return s;
  }
};

class Db {
 public:
  // Opens `path` (default: a private in-memory database) and registers the
  // alex module on it, as an application linking libalex.a would.
  explicit Db(const std::string& path = ":memory:",
              int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) return;
    char* err = nullptr;
    if (sqlite3_alex_init(db_, &err, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "sqlite3_alex_init: %s\n", err ? err : "?");
      sqlite3_free(err);
    }
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }

  // Runs every statement in `sql`; returns the rows of all of them, or the
  // first error (statements before it have run).
  Result run(const std::string& sql) const {
    Result res;
    const char* tail = sql.c_str();
    while (tail && *tail) {
      sqlite3_stmt* stmt = nullptr;
      int rc = sqlite3_prepare_v2(db_, tail, -1, &stmt, &tail);
      if (rc != SQLITE_OK) return fail(res, rc);
      if (!stmt) continue;  // whitespace or a comment
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int c = 0; c < sqlite3_column_count(stmt); c++) row.push_back(render(stmt, c));
        res.rows.push_back(std::move(row));
      }
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) return fail(res, rc);
    }
    return res;
  }

  // The rows as one string (see Result::str), for EXPECT_EQ.
  std::string str(const std::string& sql) const { return run(sql).str(); }

 private:
  Result fail(Result& res, int rc) const {
    res.rc = rc & 0xff;
    res.error = sqlite3_errmsg(db_);
    res.rows.clear();
    return res;
  }

  sqlite3* db_ = nullptr;
};

}  // namespace alex::testing

#endif  // ALEX_TESTS_VTAB_SQL_TEST_UTIL_H_
