// Copyright (c) the alex authors.
//
// libFuzzer target: the CREATE VIRTUAL TABLE argument parser
// (src/vtab/schema.h), twice per input.
//
//  1. Directly: the input split on '\n' into module arguments, one column
//     definition each, passed to parse_schema(). It must never crash, and
//     when it accepts, the schema must hold: one column per argument, names
//     distinct (ASCII case-insensitively; "" is a name, as natively), not a
//     rowid alias, at most one key and that one INTEGER, type names that
//     match the types,
//     and a declaration() that SQLite accepts as CREATE TABLE with exactly
//     those names and declared types.
//  2. Through SQLite: `CREATE VIRTUAL TABLE t USING alex(<input, '\n' read
//     as ','>)` on one connection and `CREATE TABLE t(<same>) STRICT` on
//     another. When both accept, a few INSERTs (DEFAULT VALUES, every column
//     1, '7', NULL, x'07') and a dump must give the same rows, errors and
//     messages, alex_check('t') must say 'ok', and DROP TABLE must work.
//     That alex rejects what SQLite accepts (DEFAULT, CHECK, ...) is by
//     design; that it accepts what SQLite rejects is not checked here: an
//     empty argument (a doubled '\n'), which SQLite drops, is one such
//     input (README); keywords as bare names are CreateTest's.
//
// Seeds: tests/fuzz/corpus/fuzz_schema/.

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tests/vtab/sql_test_util.h"
#include "vtab/schema.h"
#include "vtab/sqlite3_alex.h"

namespace {

using alex::store::ColumnType;
using alex::testing::Db;
using alex::vtab::Schema;

[[noreturn]] void fail(const std::string& input, const std::string& what) {
  std::fprintf(stderr, "fuzz_schema: %s\ninput (%zu bytes): [%s]\n", what.c_str(), input.size(), input.c_str());
  std::abort();
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

const char* declared_type(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger: return "INTEGER";
    case ColumnType::kReal: return "REAL";
    case ColumnType::kText: return "TEXT";
    case ColumnType::kBlob: return "BLOB";
    case ColumnType::kAny: return "";
  }
  return "?";
}

bool type_name_matches(const alex::vtab::Column& c) {
  switch (c.type) {
    case ColumnType::kInteger: return c.type_name == "INTEGER" || c.type_name == "INT";
    case ColumnType::kReal: return c.type_name == "REAL";
    case ColumnType::kText: return c.type_name == "TEXT";
    case ColumnType::kBlob: return c.type_name == "BLOB";
    case ColumnType::kAny: return c.type_name == "ANY";
  }
  return false;
}

// Part 1: parse_schema() on the input's lines.
void check_parser(const std::string& input) {
  std::vector<std::string_view> args;
  std::string_view rest = input;
  for (;;) {
    const size_t nl = rest.find('\n');
    args.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  Schema schema;
  const alex::store::Status s = alex::vtab::parse_schema("t", args, &schema);
  if (!s.ok()) {
    if (s.message().rfind("alex: ", 0) != 0) fail(input, "error without the 'alex: ' prefix: " + s.message());
    return;
  }
  if (schema.columns.size() != args.size()) fail(input, "accepted, but not one column per argument");
  if (schema.key_column < -1 || schema.key_column >= static_cast<int>(schema.columns.size())) {
    fail(input, "key_column out of range");
  }
  for (size_t i = 0; i < schema.columns.size(); i++) {
    const alex::vtab::Column& c = schema.columns[i];
    for (const char* reserved : {"rowid", "_rowid_", "oid"}) {
      if (same_name(c.name, reserved)) fail(input, "reserved name accepted: " + c.name);
    }
    for (size_t j = 0; j < i; j++) {
      if (same_name(c.name, schema.columns[j].name)) fail(input, "duplicate column name accepted: " + c.name);
    }
    if (!type_name_matches(c)) fail(input, "type_name '" + c.type_name + "' does not match the type");
    if (static_cast<int>(i) == schema.key_column && (c.type != ColumnType::kInteger || c.type_name != "INTEGER")) {
      fail(input, "a key column that is not INTEGER: " + c.name);
    }
  }

  // The declaration must be a CREATE TABLE that SQLite takes, with the same
  // names and types. Arguments from SQLite never hold a NUL byte; names
  // with one cannot round-trip through SQL text.
  if (input.find('\0') != std::string::npos) return;
  const std::string decl = schema.declaration();
  if (decl.rfind("CREATE TABLE x(", 0) != 0 || decl.back() != ')') fail(input, "odd declaration: " + decl);
  Db db;
  const alex::testing::Result created = db.run(decl);
  if (!created.ok()) fail(input, "SQLite rejects the declaration " + decl + ": " + created.str());
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.handle(), "SELECT name, type FROM pragma_table_info('x') ORDER BY cid", -1, &stmt,
                         nullptr) != SQLITE_OK) {
    fail(input, "pragma_table_info failed");
  }
  size_t n = 0;
  for (; sqlite3_step(stmt) == SQLITE_ROW; n++) {
    const std::string name(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                           static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    const std::string type(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)),
                           static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
    if (n >= schema.columns.size() || name != schema.columns[n].name ||
        type != declared_type(schema.columns[n].type)) {
      sqlite3_finalize(stmt);
      fail(input, "the declaration " + decl + " gives column " + std::to_string(n) + " as '" + name + "' " + type);
    }
  }
  sqlite3_finalize(stmt);
  if (n != schema.columns.size()) fail(input, "the declaration " + decl + " has another column count");
}

// Part 2: CREATE through SQLite, against the native STRICT table.
void check_create(const std::string& input) {
  std::string args = input.substr(0, input.find('\0'));
  // One statement only: no ';' (the rest of the input could be any SQL).
  if (args.find(';') != std::string::npos) return;
  for (char& c : args) {
    if (c == '\n') c = ',';
  }
  Db alex_db, native_db;
  // The closing parenthesis on a line of its own, so that a "--" comment in
  // the input cannot swallow it (nor the STRICT after it).
  const alex::testing::Result a = alex_db.run("CREATE VIRTUAL TABLE t USING alex(" + args + "\n)");
  if (!a.ok()) return;
  const alex::testing::Result n = native_db.run("CREATE TABLE t(" + args + "\n) STRICT");
  const std::string shape = "SELECT ncol, strict FROM pragma_table_list WHERE schema = 'main' AND name = 't'";
  const std::string alex_shape = alex_db.str(shape), native_shape = native_db.str(shape);
  // Compared only when the native table is the STRICT table with the same
  // number of columns (a parenthesis in the input can still end the column
  // list early on both sides).
  if (n.ok() && native_shape.size() > 6 && native_shape.compare(native_shape.size() - 6, 6, "|int:1") == 0 &&
      alex_shape.substr(0, alex_shape.find('|')) == native_shape.substr(0, native_shape.find('|'))) {
    // The same table: every statement gives the same outcome.
    const alex::testing::Result count = native_db.run("SELECT count(*) FROM pragma_table_info('t')");
    const int columns = count.ok() && count.rows.size() == 1 ? std::atoi(count.rows[0][0].c_str() + 4) : 0;
    auto values = [columns](const char* v) {
      std::string s = "INSERT INTO t VALUES (";
      for (int c = 0; c < columns; c++) s += std::string(c ? ", " : "") + v;
      return s + ")";
    };
    const std::vector<std::string> statements = {
        "INSERT INTO t DEFAULT VALUES", values("1"), values("'7'"), values("NULL"), values("x'07'"),
        values("2.5"), "SELECT rowid, * FROM t ORDER BY rowid", "SELECT count(*) FROM t WHERE rowid > 0",
        "UPDATE t SET rowid = rowid + 10", "DELETE FROM t WHERE rowid = 11", "SELECT rowid, * FROM t ORDER BY rowid"};
    for (const std::string& sql : statements) {
      const std::string ra = alex_db.str(sql), rn = native_db.str(sql);
      if (ra != rn) fail(input, "statement `" + sql + "`:\n  alex:   " + ra + "\n  native: " + rn);
    }
  }
  const std::string check = alex_db.str("SELECT alex_check('t')");
  if (check != "text:'ok'") fail(input, "alex_check: " + check);
  const alex::testing::Result dropped = alex_db.run("DROP TABLE t");
  if (!dropped.ok()) fail(input, "DROP TABLE failed: " + dropped.str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2048) return 0;  // long inputs only slow the search down
  const std::string input(reinterpret_cast<const char*>(data), size);
  check_parser(input);
  check_create(input);
  return 0;
}
