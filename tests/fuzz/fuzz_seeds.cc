// Copyright (c) the alex authors.
//
// Writes the seed inputs of fuzz_chunk (tests/fuzz/corpus/fuzz_chunk/):
// chunk blobs exactly as a commit stores them, read back from the t_chunks
// shadow table of real alex tables, in fuzz_chunk's input layout (see the top
// of fuzz_chunk.cc).
//
//   build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus/fuzz_chunk
//
// Tables with 64-row chunks (t_meta.chunk_rows set to 64 before the first
// row, then the table connected again) keep the seeds small; one table keeps
// the default 1024. The seeds named *_format1 were written the same way by
// a build of storage format 1 (docs/format.md), which is still read.

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/vtab/sql_test_util.h"

namespace {

using alex::testing::Db;

constexpr const char* kSeparator = "ALEXBLOB";

struct SeedSpec {
  const char* file;
  const char* columns;              // inside alex(...)
  std::vector<unsigned char> types; // ColumnType of each stored column
  int chunk_rows;                   // 64 or 1024
  // Statements, then the blobs of every chunk; more than one: the blobs of
  // each in turn (the same chunks written again, as a refresh reads them).
  std::vector<std::vector<std::string>> snapshots;
  unsigned char chunk_map;          // fuzz_chunk's byte C+1
};

void must(const Db& db, const std::string& sql) {
  const alex::testing::Result r = db.run(sql);
  if (!r.ok()) {
    std::fprintf(stderr, "fuzz_seeds: %s: %s\n", sql.c_str(), r.str().c_str());
    std::exit(1);
  }
}

void write_seed(const std::string& dir, const SeedSpec& spec) {
  const std::string path = "/tmp/alex_fuzz_seeds_" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  {
    Db db(path);
    must(db, std::string("CREATE VIRTUAL TABLE t USING alex(") + spec.columns + ")");
    if (spec.chunk_rows != 1024) must(db, "UPDATE t_meta SET chunk_rows = " + std::to_string(spec.chunk_rows));
  }
  std::string out;
  {
    Db db(path);
    const size_t c = spec.types.size();
    out += static_cast<char>(c | (spec.chunk_rows == 1024 ? 8 : 0));
    for (unsigned char t : spec.types) out += static_cast<char>(t);
    out += static_cast<char>(spec.chunk_map);
    bool first = true;
    for (const std::vector<std::string>& snapshot : spec.snapshots) {
      for (const std::string& sql : snapshot) must(db, sql);
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db.handle(), "SELECT data FROM t_chunks ORDER BY id", -1, &stmt, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "fuzz_seeds: %s\n", sqlite3_errmsg(db.handle()));
        std::exit(1);
      }
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (!first) out += kSeparator;
        first = false;
        out.append(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
      }
      sqlite3_finalize(stmt);
    }
  }
  std::remove(path.c_str());
  std::ofstream(dir + "/" + spec.file, std::ios::binary) << out;
  std::printf("%s/%s: %zu bytes\n", dir.c_str(), spec.file, out.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output folder>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const char* all = "k INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, x ANY";
  const std::vector<unsigned char> all_types = {0, 1, 2, 3, 4};
  const std::string rows =
      "INSERT INTO t VALUES (1, 10, 1.5, 'one', x'01', 1), (2, NULL, NULL, NULL, NULL, NULL), "
      "(-9223372036854775808, -1, -0.0, '', x'', 2.5), (9223372036854775807, 9223372036854775807, 1e300, "
      "'long text with \u00e9', zeroblob(40), 'text'), (5, 0, 0.1, 'a', x'ff00', x'0102')";
  const std::vector<SeedSpec> specs = {
      {"one_chunk_all_types", all, all_types, 64, {{rows}}, 0x00},
      {"two_chunks", all, all_types, 64,
       {{"WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 70) "
        "INSERT INTO t SELECT v * 3, v, v / 2.0, 's' || v, CAST(v AS BLOB), "
        "CASE v % 4 WHEN 0 THEN v WHEN 1 THEN v + 0.5 WHEN 2 THEN 'x' || v ELSE NULL END FROM n"}},
       0x04},
      {"dead_slots", all, all_types, 64,
       {{rows, "DELETE FROM t WHERE k IN (2, 5)", "UPDATE t SET s = 'changed', x = x'07' WHERE k = 1"}}, 0x00},
      {"refresh_same_chunk", all, all_types, 64,
       {{rows}, {"DELETE FROM t WHERE k = 1", "INSERT INTO t(k, s) VALUES (77, 'new')"}}, 0x00},
      {"key_only", "k INTEGER PRIMARY KEY", {}, 64, {{"INSERT INTO t VALUES (3), (1), (-7), (1000000)"}}, 0x00},
      {"hidden_rowid_any_1024", "v ANY, n INTEGER NOT NULL", {4, 0}, 1024,
       {{"INSERT INTO t(rowid, v, n) VALUES (10, 'a', 1), (20, 2.5, 2), (30, x'0a0b', 3), (40, NULL, 4)"}}, 0x00},
  };
  for (const SeedSpec& spec : specs) write_seed(dir, spec);
  return 0;
}
