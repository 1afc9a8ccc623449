// Copyright (c) the alex authors.

#include "vtab/shadow.h"

#include <new>
#include <string_view>
#include <vector>

namespace alex::vtab {
namespace {

// A string from sqlite3_mprintf, freed however the scope is left (copying
// it into a std::string may throw).
class SqliteString {
 public:
  explicit SqliteString(char* p) : p_(p) {}
  ~SqliteString() { sqlite3_free(p_); }
  SqliteString(const SqliteString&) = delete;
  SqliteString& operator=(const SqliteString&) = delete;
  const char* get() const { return p_; }

 private:
  char* p_;
};

// Restores sqlite3_last_insert_rowid() however the scope is left: the
// module's own INSERTs into its shadow tables must not show as the user's.
class KeepLastInsertRowid {
 public:
  explicit KeepLastInsertRowid(sqlite3* db) : db_(db), rowid_(sqlite3_last_insert_rowid(db)) {}
  ~KeepLastInsertRowid() { sqlite3_set_last_insert_rowid(db_, rowid_); }
  KeepLastInsertRowid(const KeepLastInsertRowid&) = delete;
  KeepLastInsertRowid& operator=(const KeepLastInsertRowid&) = delete;

 private:
  sqlite3* db_;
  sqlite3_int64 rowid_;
};

// "schema"."table_suffix", quoted for SQL. Callers run under the module's
// guard, which turns bad_alloc into SQLITE_NOMEM.
std::string shadow_name(const std::string& schema, const std::string& table, const char* suffix) {
  SqliteString q(sqlite3_mprintf("\"%w\".\"%w_%s\"", schema.c_str(), table.c_str(), suffix));
  if (q.get() == nullptr) throw std::bad_alloc();
  return q.get();
}

int fail(sqlite3* db, int rc, std::string* err) {
  *err = sqlite3_errmsg(db);
  return rc;
}

// The one rule for a failed read of a shadow table (see shadow.h).
int read_failure(sqlite3* db, int rc, const std::string& table, const char* suffix, std::string* err) {
  switch (rc & 0xff) {
    case SQLITE_NOMEM: case SQLITE_IOERR: case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_FULL:
    case SQLITE_CANTOPEN: case SQLITE_INTERRUPT: case SQLITE_PROTOCOL: case SQLITE_AUTH: case SQLITE_PERM:
    case SQLITE_READONLY:  // a read-only connection to a WAL file that needs recovery
    case SQLITE_TOOBIG:    // a blob past this connection's SQLITE_LIMIT_LENGTH
      return fail(db, rc, err);
  }
  *err = "alex: shadow table " + table + "_" + suffix + ": " + sqlite3_errmsg(db);
  return SQLITE_CORRUPT_VTAB;
}

int exec(sqlite3* db, const std::string& sql, std::string* err) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  SqliteString owned(msg);
  if (rc != SQLITE_OK) *err = msg ? msg : sqlite3_errstr(rc);
  return rc;
}

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : rc_(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr)) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  int rc() const { return rc_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Looks up the table `name` (of any case) in the schema, a virtual table
// only if `virtual_only`: SQLITE_ROW when there is one, SQLITE_DONE when
// not, else the error.
int find_table(sqlite3* db, const std::string& schema, const std::string& name, bool virtual_only) {
  SqliteString q(sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE%s",
                                 schema.c_str(), virtual_only ? " AND sql LIKE 'CREATE VIRTUAL TABLE%'" : ""));
  if (q.get() == nullptr) throw std::bad_alloc();
  Stmt st(db, q.get());
  if (st.rc() != SQLITE_OK) return st.rc();
  sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_STATIC);
  return sqlite3_step(st.get());
}

// Blob b of a chunk: 0 holds the keys, b > 0 column b - 1.
std::string blob_name(int64_t b) { return b == 0 ? std::string("the key blob") : "the blob of column " + std::to_string(b - 1); }

}  // namespace

int shadow_create(sqlite3* db, const std::string& schema, const std::string& table, const Meta& meta, std::string* err) {
  const std::string m = shadow_name(schema, table, "meta"), c = shadow_name(schema, table, "chunks");
  int rc = exec(db,
                "CREATE TABLE " + m +
                    "(id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL, chunk_rows INTEGER NOT NULL, "
                    "columns TEXT NOT NULL, rows INTEGER NOT NULL, generation INTEGER NOT NULL, nonce INTEGER NOT NULL);"
                    "CREATE TABLE " +
                    c + "(id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, data BLOB NOT NULL);",
                err);
  if (rc != SQLITE_OK) return rc;
  KeepLastInsertRowid keep(db);
  Stmt st(db, "INSERT INTO " + m + " VALUES(1, ?, ?, ?, ?, ?, ?)");
  if (st.rc() != SQLITE_OK) return fail(db, st.rc(), err);
  sqlite3_bind_int64(st.get(), 1, meta.format);
  sqlite3_bind_int64(st.get(), 2, meta.chunk_rows);
  sqlite3_bind_text(st.get(), 3, meta.columns.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.get(), 4, meta.rows);
  sqlite3_bind_int64(st.get(), 5, meta.generation);
  sqlite3_bind_int64(st.get(), 6, meta.nonce);
  rc = sqlite3_step(st.get());
  return rc == SQLITE_DONE ? SQLITE_OK : fail(db, rc, err);
}

int shadow_drop(sqlite3* db, const std::string& schema, const std::string& table, std::string* err) {
  // Tables only: a view that took a shadow table's name is not the
  // module's, and DROP TABLE of it would fail.
  std::string sql;
  for (const char* suffix : {"meta", "chunks"}) {
    const int rc = find_table(db, schema, table + "_" + suffix, false);
    if (rc == SQLITE_ROW) sql += "DROP TABLE " + shadow_name(schema, table, suffix) + ";";
    else if (rc != SQLITE_DONE) return fail(db, rc, err);
  }
  return exec(db, sql, err);
}

int shadow_rename(sqlite3* db, const std::string& schema, const std::string& from, const std::string& to,
                  std::string* err) {
  std::string sql;
  for (const char* suffix : {"meta", "chunks"}) {
    SqliteString q(sqlite3_mprintf("ALTER TABLE %s RENAME TO \"%w_%s\";", shadow_name(schema, from, suffix).c_str(),
                                   to.c_str(), suffix));
    if (q.get() == nullptr) return SQLITE_NOMEM;
    sql += q.get();
  }
  return exec(db, sql, err);
}

ReadSnapshot::ReadSnapshot(sqlite3* db, const std::string& schema, const std::string& table, std::string* err) {
  const std::string sql = "SELECT 1 FROM " + shadow_name(schema, table, "meta");
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt_);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) rc_ = read_failure(db, rc, table, "meta", err);
}

ReadSnapshot::~ReadSnapshot() { sqlite3_finalize(stmt_); }

int find_shadow(sqlite3* db, const std::string& schema, const std::string& table) {
  return find_table(db, schema, table + "_meta", false);
}

int find_virtual_table(sqlite3* db, const std::string& schema, const std::string& table) {
  return find_table(db, schema, table, true);
}

int shadow_read_meta(sqlite3* db, const std::string& schema, const std::string& table, Meta* meta, std::string* err) {
  const std::string m = shadow_name(schema, table, "meta");
  // By name: the nonce column is optional (older tables lack it). All
  // rows: there must be exactly one, the one with id 1.
  Stmt st(db, "SELECT * FROM " + m);
  if (st.rc() != SQLITE_OK) return read_failure(db, st.rc(), table, "meta", err);
  int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) return read_failure(db, rc, table, "meta", err);
    *err = "alex: shadow table " + table + "_meta: the meta row is missing";
    return SQLITE_CORRUPT_VTAB;
  }
  enum Field { kId, kFormat, kChunkRows, kColumns, kRows, kGeneration, kNonce, kFields };
  static constexpr const char* kNames[kFields] = {"id", "format", "chunk_rows", "columns", "rows", "generation", "nonce"};
  int at[kFields] = {-1, -1, -1, -1, -1, -1, -1};  // result column of each field
  for (int i = 0; i < sqlite3_column_count(st.get()); i++) {
    const char* name = sqlite3_column_name(st.get(), i);
    if (name == nullptr) return fail(db, SQLITE_NOMEM, err);
    for (int f = 0; f < kFields; f++) {
      if (sqlite3_stricmp(name, kNames[f]) == 0) at[f] = i;
    }
  }
  for (int f = 0; f < kFields; f++) {
    if (at[f] < 0 && f != kNonce) {
      *err = "alex: shadow table " + table + "_meta: no column " + kNames[f];
      return SQLITE_CORRUPT_VTAB;
    }
    if (at[f] >= 0 && f != kColumns && sqlite3_column_type(st.get(), at[f]) != SQLITE_INTEGER) {
      *err = "alex: shadow table " + table + "_meta: column " + kNames[f] + " is not an integer";
      return SQLITE_CORRUPT_VTAB;
    }
  }
  if (const int64_t id = sqlite3_column_int64(st.get(), at[kId]); id != 1) {
    *err = "alex: shadow table " + table + "_meta: the meta row has id " + std::to_string(id) + ", not 1";
    return SQLITE_CORRUPT_VTAB;
  }
  meta->format = sqlite3_column_int64(st.get(), at[kFormat]);
  meta->chunk_rows = sqlite3_column_int64(st.get(), at[kChunkRows]);
  const unsigned char* cols = sqlite3_column_text(st.get(), at[kColumns]);
  if (cols == nullptr && sqlite3_errcode(db) == SQLITE_NOMEM) return fail(db, SQLITE_NOMEM, err);
  meta->columns = cols ? reinterpret_cast<const char*>(cols) : "";
  meta->rows = sqlite3_column_int64(st.get(), at[kRows]);
  meta->generation = sqlite3_column_int64(st.get(), at[kGeneration]);
  meta->has_nonce = at[kNonce] >= 0;
  meta->nonce = meta->has_nonce ? sqlite3_column_int64(st.get(), at[kNonce]) : 0;
  if ((rc = sqlite3_step(st.get())) != SQLITE_DONE) {
    if (rc != SQLITE_ROW) return read_failure(db, rc, table, "meta", err);
    *err = "alex: shadow table " + table + "_meta: more than one row";
    return SQLITE_CORRUPT_VTAB;
  }
  return SQLITE_OK;
}

int shadow_load(sqlite3* db, const std::string& schema, const std::string& table, int64_t after, int64_t generation,
                store::Store* store, std::string* err) {
  const std::string c = shadow_name(schema, table, "chunks");
  const int64_t per_chunk = store->column_count() + 1;
  auto corrupt = [&](int64_t chunk, const std::string& what) {
    *err = "alex: shadow table " + table + "_chunks: chunk " + std::to_string(chunk) + ": " + what;
    return SQLITE_CORRUPT_VTAB;
  };
  // A refresh first empties every chunk written since `after` (a key may
  // have moved from one to another), then reads them back.
  int rc;
  std::string where;
  if (after >= 0) {
    Stmt changed(db, "SELECT DISTINCT (id - 1) / ?1 FROM " + c + " WHERE generation > ?2");
    if (changed.rc() != SQLITE_OK) return read_failure(db, changed.rc(), table, "chunks", err);
    sqlite3_bind_int64(changed.get(), 1, per_chunk);
    sqlite3_bind_int64(changed.get(), 2, after);
    while ((rc = sqlite3_step(changed.get())) == SQLITE_ROW) {
      const int64_t chunk = sqlite3_column_int64(changed.get(), 0);
      if (chunk < 0 || chunk >= (int64_t{1} << 22)) return corrupt(chunk, "chunk number out of range");
      store->unload_chunk(static_cast<uint32_t>(chunk));
    }
    if (rc != SQLITE_DONE) return read_failure(db, rc, table, "chunks", err);
    where = " WHERE (id - 1) / ?1 IN (SELECT (id - 1) / ?1 FROM " + c + " WHERE generation > ?2)";
  }
  Stmt st(db, "SELECT id, generation, data FROM " + c + where + " ORDER BY id");
  if (st.rc() != SQLITE_OK) return read_failure(db, st.rc(), table, "chunks", err);
  if (after >= 0) {
    sqlite3_bind_int64(st.get(), 1, per_chunk);
    sqlite3_bind_int64(st.get(), 2, after);
  }
  std::vector<std::string> blobs(per_chunk);
  std::vector<std::string_view> views(per_chunk);
  int64_t chunk = -1, have = 0;
  auto load = [&]() -> int {
    if (chunk < 0) return SQLITE_OK;
    if (have != per_chunk) return corrupt(chunk, "has " + std::to_string(have) + " of its " + std::to_string(per_chunk) + " blobs");
    for (int64_t i = 0; i < per_chunk; i++) views[i] = blobs[i];
    store::Status s = store->load_chunk(static_cast<uint32_t>(chunk), views.data());
    return s.ok() ? SQLITE_OK : corrupt(chunk, s.message());
  };
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const int64_t id = sqlite3_column_int64(st.get(), 0);
    if (id < 1 || (id - 1) / per_chunk >= (int64_t{1} << 22)) return corrupt((id - 1) / per_chunk, "blob id " + std::to_string(id) + " is out of range");
    const int64_t this_chunk = (id - 1) / per_chunk, blob = (id - 1) % per_chunk;
    if (this_chunk != chunk) {
      if ((rc = load()) != SQLITE_OK) return rc;
      chunk = this_chunk;
      have = 0;
    }
    if (blob != have) return corrupt(chunk, blob_name(have) + " is missing");
    // Every commit writes its blobs and the meta row with one generation.
    const int64_t g = sqlite3_column_int64(st.get(), 1);
    if (sqlite3_column_type(st.get(), 1) != SQLITE_INTEGER || g < 0 || g > generation) {
      return corrupt(chunk, blob_name(blob) + " has a generation outside 0.." + std::to_string(generation));
    }
    if (sqlite3_column_type(st.get(), 2) != SQLITE_BLOB) return corrupt(chunk, blob_name(blob) + " is not a blob");
    const void* p = sqlite3_column_blob(st.get(), 2);
    blobs[blob].assign(static_cast<const char*>(p), sqlite3_column_bytes(st.get(), 2));
    have++;
  }
  if (rc != SQLITE_DONE) return read_failure(db, rc, table, "chunks", err);
  if ((rc = load()) != SQLITE_OK) return rc;
  store->loaded();
  return SQLITE_OK;
}

int shadow_flush(sqlite3* db, const std::string& schema, const std::string& table, const store::Store& store,
                 int64_t generation, const int64_t* nonce, ShadowWriter* writer, std::string* err) {
  int rc = SQLITE_OK;
  if (writer->table != table) {
    writer->finalize();
    writer->table = table;
  }
  if (writer->put == nullptr) {
    const std::string sql =
        "INSERT OR REPLACE INTO " + shadow_name(schema, table, "chunks") + "(id, generation, data) VALUES(?, ?, ?)";
    rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &writer->put, nullptr);
  }
  if (rc == SQLITE_OK && writer->meta == nullptr) {
    const std::string sql = "UPDATE " + shadow_name(schema, table, "meta") + " SET rows = ?, generation = ?, format = ?" +
                            (nonce ? ", nonce = ?" : "") + " WHERE id = 1";
    rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &writer->meta, nullptr);
  }
  if (rc != SQLITE_OK) return fail(db, rc, err);

  KeepLastInsertRowid keep(db);
  const int64_t per_chunk = store.column_count() + 1;
  std::string blob;
  for (uint32_t chunk : store.dirty_chunks()) {
    for (int b = 0; b < per_chunk && rc == SQLITE_OK; b++) {
      if (!store.blob_dirty(chunk, b)) continue;
      store.encode(chunk, b - 1, &blob);
      sqlite3_bind_int64(writer->put, 1, int64_t{chunk} * per_chunk + b + 1);
      sqlite3_bind_int64(writer->put, 2, generation);
      rc = sqlite3_bind_blob64(writer->put, 3, blob.data(), blob.size(), SQLITE_STATIC);
      if (rc == SQLITE_TOOBIG) {  // all of a chunk's values of a column share one blob
        *err = "alex: table " + table + ": chunk " + std::to_string(chunk) + ": " + blob_name(b) + " takes " +
               std::to_string(blob.size()) + " bytes, more than this connection's length limit (" +
               std::to_string(sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1)) + ")";
        break;
      }
      if (rc != SQLITE_OK) {
        fail(db, rc, err);
        break;
      }
      rc = sqlite3_step(writer->put);
      rc = rc == SQLITE_DONE ? SQLITE_OK : fail(db, rc, err);
      sqlite3_reset(writer->put);
    }
    if (rc != SQLITE_OK) break;
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(writer->meta, 1, static_cast<int64_t>(store.size()));
    sqlite3_bind_int64(writer->meta, 2, generation);
    sqlite3_bind_int64(writer->meta, 3, kFormatVersion);  // the blobs just written are in it
    if (nonce) sqlite3_bind_int64(writer->meta, 4, *nonce);
    rc = sqlite3_step(writer->meta);
    rc = rc == SQLITE_DONE ? SQLITE_OK : fail(db, rc, err);
    sqlite3_reset(writer->meta);
  }
  return rc;
}

}  // namespace alex::vtab
