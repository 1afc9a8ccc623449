// Copyright (c) the alex authors.
//
// libFuzzer target: statement sequences run on an alex table and on the
// native STRICT table with the same columns, aborting on any difference.
// The statements come from tests/vtab/sql_gen.h, the generator of the
// differential test, with the same workarounds for the known differences
// (README.md, "Differences from a native STRICT table"); what libFuzzer
// mutates is the sequence of choices.
//
// Input layout:
//
//   byte 0      bit 0: the schema (k INTEGER PRIMARY KEY, or the hidden rowid
//               only; sql_gen.h's two shapes); bit 1: chunk_rows 64 rather
//               than 1024 (t_meta rewritten before the first row, then the
//               table connected again), so that a few rows span chunks
//   then        4-byte records, at most kMaxSteps, each one step:
//               low byte 0xff: both connections closed and opened again on
//               the same bytes (sqlite3_serialize / sqlite3_deserialize):
//               the alex table then loads its rows from its shadow tables;
//               otherwise the next statement, from a generator seeded with
//               the record (a mutated record changes one statement)
//
// Each side is its own in-memory database holding `t` (alex or native) and
// sql_gen.h's helper table `o`, so that rows, error codes and messages
// compare verbatim. Per statement, as in tests/vtab/differential_test.cc:
// the rows (sorted when their order is undefined), or the error code and
// message (SQLITE_MISMATCH read as SQLITE_CONSTRAINT for "cannot store"
// messages: a known difference), the autocommit state, changes() after
// writes, and last_insert_rowid(). At the end: an open transaction is
// committed or rolled back, the whole table compared, alex_check('t') must
// say 'ok', and after a reopen the table compared and checked again.
//
// On a difference: the statements so far, both outcomes, then abort().
// ALEX_FUZZ_VERBOSE=1 prints every statement with its native outcome;
// ALEX_FUZZ_SQL_KNOWN=1 lets the generator produce the known differences.
// Seeds: tests/fuzz/corpus/fuzz_sql/.

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/vtab/differential_util.h"
#include "tests/vtab/sql_gen.h"
#include "tests/vtab/sql_test_util.h"

namespace {

using alex::testing::Db;
using alex::testing::Result;
using alex::testing::sqlgen::Kind;
using alex::testing::sqlgen::Order;
using alex::testing::sqlgen::Probe;
using alex::testing::sqlgen::Schema;
using alex::testing::sqlgen::SqlGen;
using alex::testing::sqlgen::Statement;
using alex::testing::sqlgen::Workarounds;
using alex::testing::sqlgen::ascends_by_key;
using alex::testing::sqlgen::probe;

constexpr size_t kMaxSteps = 100;
constexpr uint8_t kReopen = 0xff;

// The known differences are avoided as in the differential test;
// ALEX_FUZZ_SQL_KNOWN=1 lets the generator produce them, so that the fuzzer
// finds them again (a check that it can find any).
Workarounds workarounds() {
  static const bool known = std::getenv("ALEX_FUZZ_SQL_KNOWN") != nullptr;
  return known ? Workarounds{} : alex::testing::sqlgen::known_difference_workarounds();
}

// The statements run so far, for the report.
std::vector<std::string> g_log;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_sql: %s\nstatements so far (%zu):\n", what.c_str(), g_log.size());
  for (const std::string& sql : g_log) std::fprintf(stderr, "  %s;\n", sql.c_str());
  std::abort();
}

void must(const Db& db, const std::string& sql) {
  const Result r = db.run(sql);
  if (!r.ok()) fail("setup statement failed: " + sql + ": " + r.str());
}

// Closes `db` and opens a new connection on a copy of its bytes.
std::unique_ptr<Db> reopen(std::unique_ptr<Db> db) {
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(db->handle(), "main", &size, 0);
  if (image == nullptr) fail("sqlite3_serialize failed");
  db.reset();
  auto fresh = std::make_unique<Db>();
  const int rc = sqlite3_deserialize(fresh->handle(), "main", image, size, size,
                                     SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
  if (rc != SQLITE_OK) fail("sqlite3_deserialize failed");
  return fresh;
}

// A statement's outcome on one side, as text.
std::string outcome(const Db& db, const Statement& statement, Result* raw = nullptr) {
  Result r = db.run(statement.sql);
  if (raw) *raw = r;
  return alex::testing::sqlgen::outcome_text(db, statement, std::move(r));
}


// What a generator needs to know of the statements before it: the
// transaction statements since the last time the native side was in
// autocommit (SqlGen::observe tracks the open savepoints from them).
struct Observed {
  Statement statement;
  bool ok;
  bool autocommit_after;
};

class Run {
 public:
  explicit Run(Schema schema, bool small_chunks) : schema_(schema) {
    alex_ = std::make_unique<Db>();
    native_ = std::make_unique<Db>();
    must(*alex_, "CREATE VIRTUAL TABLE t USING alex(" + alex::testing::sqlgen::table_columns(schema) + ")");
    must(*native_, "CREATE TABLE t(" + alex::testing::sqlgen::table_columns(schema) + ") STRICT");
    for (const std::string& sql : alex::testing::sqlgen::helper_table_sql()) {
      must(*alex_, sql);
      must(*native_, sql);
    }
    if (small_chunks) {
      must(*alex_, "UPDATE t_meta SET chunk_rows = 64");
      alex_ = reopen(std::move(alex_));
      native_ = reopen(std::move(native_));  // the same connection state (last_insert_rowid)
    }
  }

  void statement(uint32_t seed) {
    SqlGen gen(schema_, seed, workarounds());
    for (const Observed& o : observed_) gen.observe(o.statement, o.ok, o.autocommit_after);
    const Statement st = gen.next(probe(*native_));
    compare(st);
  }

  void reopen_both() {
    if (!sqlite3_get_autocommit(native_->handle())) return;
    g_log.push_back("-- reopen");
    alex_ = reopen(std::move(alex_));
    native_ = reopen(std::move(native_));
    compare_tables("after a reopen");
  }

  void finish() {
    if (!sqlite3_get_autocommit(native_->handle())) {
      SqlGen gen(schema_, g_log.size(), workarounds());
      compare(gen.end_transaction());
    }
    if (!sqlite3_get_autocommit(native_->handle())) fail("the transaction did not end");
    compare_tables("at the end");
    g_log.push_back("-- reopen");
    alex_ = reopen(std::move(alex_));
    native_ = reopen(std::move(native_));
    compare_tables("after the final reopen");
  }

 private:
  void compare(const Statement& st) {
    g_log.push_back(st.sql);
    Result raw;
    const std::string a = outcome(*alex_, st);
    const std::string n = outcome(*native_, st, &raw);
    static const bool verbose = std::getenv("ALEX_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "%s;\n  -> %s\n", st.sql.c_str(), n.c_str());
    if (a != n) fail("different outcomes of the last statement\n  alex:\n" + a + "\n  native:\n" + n);
    if (st.order == Order::kKeyScan && raw.ok() && !ascends_by_key(raw)) {
      fail("generator: rows not in key order on the native side (not a module bug)");
    }
    const bool autocommit = sqlite3_get_autocommit(native_->handle()) != 0;
    if (autocommit) {
      observed_.clear();
    } else if (st.kind == Kind::kTransaction) {
      observed_.push_back({st, raw.ok(), autocommit});
    }
  }

  void compare_tables(const char* when) {
    const Statement dump{alex::testing::sqlgen::dump_sql(schema_), Order::kExact, Kind::kRead};
    const std::string a = alex_->str(dump.sql), n = native_->str(dump.sql);
    if (a != n) fail(std::string("different tables ") + when + "\n  alex:\n" + a + "\n  native:\n" + n);
    const std::string check = alex_->str("SELECT alex_check('t')");
    if (check != "text:'ok'") fail(std::string("alex_check ") + when + ": " + check);
  }

  Schema schema_;
  std::unique_ptr<Db> alex_, native_;
  std::vector<Observed> observed_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  g_log.clear();
  const Schema schema = (data[0] & 1) ? Schema::kHiddenRowid : Schema::kIntegerPrimaryKey;
  Run run(schema, (data[0] & 2) != 0);
  size_t steps = 0;
  for (size_t pos = 1; pos + 4 <= size && steps < kMaxSteps; pos += 4, steps++) {
    const uint32_t record = static_cast<uint32_t>(data[pos]) | static_cast<uint32_t>(data[pos + 1]) << 8 |
                            static_cast<uint32_t>(data[pos + 2]) << 16 | static_cast<uint32_t>(data[pos + 3]) << 24;
    if ((record & 0xff) == kReopen) run.reopen_both();
    else run.statement(record);
  }
  run.finish();
  return 0;
}
