// Copyright (c) the alex authors.
//
// Shadow tables: where an `alex` table's rows live in the database file.
// For a table `t` in database `db` (byte layout: docs/format.md):
//
//   "db"."t_meta"    one row: storage format, chunk size, the column
//                    declaration, the row count and the generation, a
//                    counter every committing write transaction increases
//   "db"."t_chunks"  one row per column per chunk (and one for the chunk's
//                    keys): id = chunk * (columns + 1) + column + 1,
//                    the generation that last wrote it, and the blob
//
// The in-memory store is a cache of the last committed state: a commit
// writes the chunks its transaction dirtied (xSync) and bumps the
// generation; a connection that finds the generation moved reloads the
// chunks written since the generation it holds.

#ifndef ALEX_VTAB_SHADOW_H_
#define ALEX_VTAB_SHADOW_H_

#include <cstdint>
#include <string>

#include "store/store.h"
#include "vtab/sqlite.h"

namespace alex::vtab {

// The storage format this build writes; it also reads format 1 (whose
// chunk blobs it rewrites as format 2 when their chunk changes, raising the
// meta row's format at that commit).
constexpr int kFormatVersion = 2;
constexpr int kOldestReadableFormat = 1;

struct Meta {
  int64_t format = kFormatVersion;
  int64_t chunk_rows = 0;
  std::string columns;  // Schema::declaration() of the table
  int64_t rows = 0;
  int64_t generation = 0;
  // A random number drawn anew by every commit (and at creation), so that
  // (generation, nonce) names one committed state of one table. Tables
  // created by builds before it have no such column (has_nonce false).
  bool has_nonce = true;
  int64_t nonce = 0;
};

// Each returns a SQLite result code; on failure *err says why. A failure
// to read the shadow tables is either transient (out of memory, I/O, a
// lock, an interrupt, an authorizer, a read-only WAL, a length limit:
// returned as is, and the next statement retries) or SQLITE_CORRUPT_VTAB
// naming the shadow table (a missing table, column or row, a malformed
// blob or page): the table cannot be read until it is repaired or dropped.
// Creates the shadow tables and the meta row (with a nonce column);
// keeps sqlite3_last_insert_rowid().
int shadow_create(sqlite3* db, const std::string& schema, const std::string& table, const Meta& meta, std::string* err);
int shadow_drop(sqlite3* db, const std::string& schema, const std::string& table, std::string* err);
int shadow_rename(sqlite3* db, const std::string& schema, const std::string& from, const std::string& to,
                  std::string* err);
// Whether the meta shadow table of `table` exists: SQLITE_ROW if so,
// SQLITE_DONE if not, else the error that kept the schema from being read
// (SQLITE_BUSY when loading it needs a lock another connection holds).
int find_shadow(sqlite3* db, const std::string& schema, const std::string& table);
// Whether `table` is a virtual table of the schema, as find_shadow answers.
int find_virtual_table(sqlite3* db, const std::string& schema, const std::string& table);
// SQLITE_CORRUPT_VTAB when the meta row is missing or malformed, or is not
// the table's only row.
int shadow_read_meta(sqlite3* db, const std::string& schema, const std::string& table, Meta* meta, std::string* err);
// Loads the chunks written after generation `after` (-1: all of them) into
// `store`, replacing those chunks' contents. SQLITE_CORRUPT_VTAB, naming
// the shadow table and chunk, when a blob is damaged or missing, or its
// generation is not in 0..`generation` (the meta row's).
int shadow_load(sqlite3* db, const std::string& schema, const std::string& table, int64_t after, int64_t generation,
                store::Store* store, std::string* err);
// Keeps one read transaction open while it lives, so that the meta row and
// the chunks read meanwhile come from the same committed state even while
// other connections commit: SQLite ends an autocommit read transaction only
// when no statement is active, and this one is stepped to its first row and
// left there. Inside an open transaction it changes nothing. rc() is the
// error reading the meta table failed with (as above), which the caller
// must report: SQLite may have rolled the transaction back.
class ReadSnapshot {
 public:
  ReadSnapshot(sqlite3* db, const std::string& schema, const std::string& table, std::string* err);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  int rc() const { return rc_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

// The statements a commit runs, prepared once per connected table and kept
// (finalize() before the shadow tables are dropped or renamed, and when
// the table disconnects). shadow_flush prepares them again when the table
// it writes has another name than `table`: the sqlite3_vtab that joined a
// transaction may outlive a rename made through another one.
struct ShadowWriter {
  sqlite3_stmt* put = nullptr;   // INSERT OR REPLACE INTO t_chunks
  sqlite3_stmt* meta = nullptr;  // UPDATE t_meta
  std::string table;             // the one they write
  void finalize() {
    sqlite3_finalize(put);
    sqlite3_finalize(meta);
    put = meta = nullptr;
  }
};

// Writes the blobs `store` marks dirty, and the meta row with `generation`,
// `nonce` (unless the table has no nonce column: nullptr) and the row
// count. Keeps sqlite3_last_insert_rowid().
int shadow_flush(sqlite3* db, const std::string& schema, const std::string& table, const store::Store& store,
                 int64_t generation, const int64_t* nonce, ShadowWriter* writer, std::string* err);

}  // namespace alex::vtab

#endif  // ALEX_VTAB_SHADOW_H_
