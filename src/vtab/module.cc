// Copyright (c) the alex authors.
//
// The `alex` virtual table module: SQLite's entry points, each delegating
// to the store (src/store), the planner (plan.h) and the value rules
// (values.h). This file is the manual of the module:
//
//   .load ./build/alex
//   CREATE VIRTUAL TABLE readings USING alex(
//     ts INTEGER PRIMARY KEY, value REAL, series_id INTEGER NOT NULL);
//   INSERT INTO readings VALUES (1700000000000000000, 21.5, 7);
//   SELECT * FROM readings WHERE ts BETWEEN ?1 AND ?2 ORDER BY ts DESC;
//
// An alex table behaves like the STRICT table with the same columns:
//   * the key is the rowid; an INTEGER PRIMARY KEY column aliases it, and
//     rowid, _rowid_ and oid name it too. A key given as NULL (or left out)
//     becomes max(key) + 1, or a random unused key once INT64_MAX is taken.
//   * values are coerced as in a STRICT table ('12' into INTEGER stores 12,
//     5 into REAL stores 5.0) and rejected with SQLite's messages
//     ("cannot store TEXT value in INTEGER column t.c", "NOT NULL
//     constraint failed: t.c", "UNIQUE constraint failed: t.k",
//     "datatype mismatch" for a key that is no integer).
//   * ON CONFLICT ABORT, FAIL, IGNORE, REPLACE and ROLLBACK apply to the
//     key and to NOT NULL (the module declares constraint support and reads
//     sqlite3_vtab_on_conflict); datatype errors abort whatever the mode, as
//     in SQLite.
//   * transactions, savepoints and statement rollback restore the rows
//     exactly (the store's undo log, driven by xBegin .. xRollbackTo).
//
// Query plans: see plan.h. Rows come out in key order on every plan.
//
// Storage: the rows live in shadow tables of the same database (shadow.h,
// docs/format.md) and, as a cache of the last committed state, in a
// columnar store per connection. A commit writes the chunks it dirtied
// (xSync); before a statement reads or writes, a connection checks cheaply
// (SQLITE_FCNTL_DATA_VERSION, then the generation in the meta table)
// whether someone else committed, and reloads just the chunks they wrote.
// The cache survives SQLite disconnecting and reconnecting the table
// (schema changes do that): it belongs to the connection, not to the
// sqlite3_vtab. A reconnect keeps it only while the meta row still names
// the state it holds (generation and nonce): another file attached under
// the same schema name, a backup restored into the database, or the table
// dropped and created again by another connection replace the shadow
// tables, history and all, and the cache is built again.

#include <algorithm>
#include <bit>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/store.h"
#include "vtab/plan.h"
#include "vtab/schema.h"
#include "vtab/shadow.h"
#include "vtab/sqlite.h"
#include "vtab/sqlite3_alex.h"
#include "vtab/values.h"

SQLITE_EXTENSION_INIT1

namespace alex::vtab {
namespace {

using store::Store;
using store::Value;
using store::ValueType;

// The rows of one table and what is needed to describe them in messages.
struct TableState {
  TableState(Schema s, std::vector<store::ColumnType> types, int chunk_log2)
      : schema(std::move(s)), store(std::move(types), chunk_log2) {}
  Schema schema;
  Store store;
  std::string name;             // the table's current name, for messages
  std::string txn_name;         // its name when this transaction first wrote it
  std::vector<int> store_col;   // schema column -> store column (-1: the key)
  int64_t generation = 0;       // of the committed state `store` holds
  int64_t pending_generation = -1;  // written by xSync, current once committed
  bool has_nonce = true;        // false for tables of builds without it
  int64_t nonce = 0;            // of the committed state `store` holds
  int64_t pending_nonce = 0;    // written by xSync with pending_generation
  uint64_t synced_version = 0;  // store.version() when xSync wrote it
  uint64_t begin_version = 0;   // store.version() when this transaction began
  bool created_in_txn = false;  // by a CREATE in the open transaction
  bool have_data_version = false;
  unsigned data_version = 0;    // SQLITE_FCNTL_DATA_VERSION when last known fresh
  int broken_rc = SQLITE_OK;    // damaged shadow data: every use fails with
  std::string broken;           // this code and message (DROP TABLE works)
  // An allocation failed halfway through a change, an undo or a load, so
  // the cache cannot be trusted. Inside the transaction every use fails,
  // xSync included, so the transaction cannot commit; once it is rolled
  // back, the next use rebuilds the cache from the shadow tables.
  bool stale = false;
  // Connected without reading the shadow tables (connect_without_reading):
  // the first use checks that the cache is still theirs, or reads them.
  bool unverified = false;
};

// Per connection: every alex table's state, by (schema, table name).
// Owned by the module registration, so SQLite frees it at sqlite3_close.
struct Registry {
  std::vector<std::pair<std::pair<std::string, std::string>, std::shared_ptr<TableState>>> tables;

  // Schema and table names are case-insensitive (ASCII), as in SQL.
  static bool same(const std::string& a, const std::string& b) { return sqlite3_stricmp(a.c_str(), b.c_str()) == 0; }

  std::shared_ptr<TableState>* find(const std::string& db, const std::string& name) {
    for (auto& [key, st] : tables) {
      if (same(key.first, db) && same(key.second, name)) return &st;
    }
    return nullptr;
  }
  // The state a rename inside the current transaction took from `name`
  // (a ROLLBACK TO that undoes the rename reconnects the table by its old
  // name, and its uncommitted changes are in that state).
  std::shared_ptr<TableState>* renamed_in_transaction(const std::string& db, const std::string& name) {
    for (auto& [key, st] : tables) {
      if (same(key.first, db) && st->store.in_transaction() && same(st->txn_name, name)) {
        return &st;
      }
    }
    return nullptr;
  }
  // Gives `st` (registered or not) the name `name`, in the registry too.
  void rename(const std::shared_ptr<TableState>& st, const std::string& name) {
    for (auto& [key, s] : tables) {
      if (s == st) key.second = name;
    }
    st->name = name;
  }
  void erase(const std::string& db, const std::string& name) {
    for (size_t i = 0; i < tables.size(); i++) {
      if (same(tables[i].first.first, db) && same(tables[i].first.second, name)) {
        tables.erase(tables.begin() + static_cast<ptrdiff_t>(i));
        return;
      }
    }
  }
};

struct Table;

struct Cursor {
  sqlite3_vtab_cursor base;  // first: SQLite sees a Cursor* as a sqlite3_vtab_cursor*
  Table* table = nullptr;
  TableState* st = nullptr;
  KeyRange range;            // keys outside are never returned
  bool desc = false;
  bool eof = true;
  // Range walks: the tree position. It and `slot` are valid while the
  // store is at `version`; after any change a walk re-seeks from `key`.
  Store::Index::const_iterator it;
  uint64_t version = 0;
  // IN lists (and a single key): the keys, sorted and unique, and the
  // next one to try.
  bool list = false;
  std::vector<int64_t> keys;
  size_t next = 0;
  uint64_t prefetch = 0;  // the store columns the statement reads (plan_reads)
  bool nochange = false;  // xColumn may be asked about "no change" (plan_nochange)
  // The current row.
  int64_t key = 0;
  uint32_t slot = 0;
};

struct Table {
  sqlite3_vtab base;  // first: SQLite sees a Table* as a sqlite3_vtab*
  sqlite3* db = nullptr;
  Registry* registry = nullptr;
  std::string db_name;
  std::shared_ptr<TableState> state;
  // Scratch for xUpdate, kept to avoid an allocation per row.
  std::vector<Value> row;
  std::vector<signed char> changed;
  std::vector<sqlite3_value*> temps;
  // The keys whose rows an UPDATE OR REPLACE deleted (update_row). Cleared
  // by xFilter: an UPDATE reads the table before it writes.
  std::unordered_set<int64_t> replaced;
  ShadowWriter writer;  // the commit's statements, prepared once
  // A closed cursor kept for the next xOpen: most statements open one, and
  // a point query should not pay an allocation for it.
  std::unique_ptr<Cursor> spare;

  // SQLite takes a message out of zErrMsg only where it reports one; a
  // message set where it does not (xCommit, xRollback) stays until here.
  ~Table() { sqlite3_free(base.zErrMsg); }
};

Table* table_of(sqlite3_vtab* v) { return reinterpret_cast<Table*>(v); }
Cursor* cursor_of(sqlite3_vtab_cursor* c) { return reinterpret_cast<Cursor*>(c); }

void set_error(sqlite3_vtab* v, const std::string& msg) {
  sqlite3_free(v->zErrMsg);
  v->zErrMsg = sqlite3_mprintf("%s", msg.c_str());
}

// The one place a store::Status becomes a SQLite result code and message.
int status_error(sqlite3_vtab* v, const store::Status& s) {
  set_error(v, s.message());
  switch (s.code()) {
    case store::Status::Code::kOk: return SQLITE_OK;
    case store::Status::Code::kConstraint: return SQLITE_CONSTRAINT;
    case store::Status::Code::kNoMemory: return SQLITE_NOMEM;
    case store::Status::Code::kCorrupt: return SQLITE_CORRUPT_VTAB;
    case store::Status::Code::kTooBig: return SQLITE_TOOBIG;
    case store::Status::Code::kError: break;
  }
  return SQLITE_ERROR;
}

// Runs `body`, turning an allocation failure into SQLITE_NOMEM: nothing
// throws across the C boundary.
template <class F>
int guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  }
}

int broken_error(sqlite3_vtab* v, const TableState& st) {
  set_error(v, st.broken);
  return st.broken_rc;
}

int stale_error(sqlite3_vtab* v, const TableState& st) {
  set_error(v, "alex: table " + st.name + " ran out of memory in this transaction, which must roll back");
  return SQLITE_NOMEM;
}

// Runs a change to the cache: an allocation failure leaves it stale.
template <class F>
int changing(TableState& st, F&& body) {
  int rc = guarded(body);
  if (rc == SQLITE_NOMEM) st.stale = true;
  return rc;
}

// Loads into `store` the chunks written after generation `after` (-1: all)
// and checks the row count against `meta`, read under the same
// ReadSnapshot.
int load_chunks(sqlite3* db, const std::string& schema, const std::string& name, int64_t after, const Meta& meta,
                Store* store, std::string* err) {
  const int rc = shadow_load(db, schema, name, after, meta.generation, store, err);
  if (rc != SQLITE_OK) return rc;
  if (static_cast<int64_t>(store->size()) != meta.rows) {
    *err = "alex: shadow table " + name + "_meta counts " + std::to_string(meta.rows) + " rows, the chunks hold " +
           std::to_string(store->size());
    return SQLITE_CORRUPT_VTAB;
  }
  return SQLITE_OK;
}

int connect_late(Table* t);

// Brings the cache up to the committed state, reloading the chunks other
// connections wrote since. Inside this connection's write transaction
// nobody else can commit, so there is nothing to check.
int refresh(Table* t) {
  if (t->state->unverified) {
    if (int rc = connect_late(t); rc != SQLITE_OK) return rc;
  }
  TableState& st = *t->state;
  if (st.broken_rc != SQLITE_OK) return broken_error(&t->base, st);
  if (st.stale) {
    if (st.store.in_transaction()) return stale_error(&t->base, st);
    st.store.clear();
    st.generation = -1;  // reload everything
    st.have_data_version = false;
    st.stale = false;
  }
  if (st.store.in_transaction()) return SQLITE_OK;
  unsigned version = 0;
  const bool have = sqlite3_file_control(t->db, t->db_name.c_str(), SQLITE_FCNTL_DATA_VERSION, &version) == SQLITE_OK;
  if (have && st.have_data_version && version == st.data_version) return SQLITE_OK;
  std::string err;
  ReadSnapshot snapshot(t->db, t->db_name, st.name, &err);
  Meta meta;
  int rc = snapshot.rc();
  if (rc == SQLITE_OK) rc = shadow_read_meta(t->db, t->db_name, st.name, &meta, &err);
  if (rc == SQLITE_OK && (meta.generation != st.generation || (meta.has_nonce && meta.nonce != st.nonce))) {
    // Commits of other connections only move the generation up; anything
    // else is not a continuation of what the cache holds.
    const bool continues = meta.generation > st.generation && meta.has_nonce == st.has_nonce;
    if (!continues) st.store.clear();
    rc = load_chunks(t->db, t->db_name, st.name, continues ? st.generation : -1, meta, &st.store, &err);
    if (rc == SQLITE_OK) {
      st.generation = meta.generation;
      st.nonce = meta.nonce;
    }
  }
  if (rc != SQLITE_OK) {
    set_error(&t->base, err);
    if (rc == SQLITE_CORRUPT_VTAB) {  // the cache is unusable now
      st.store.clear();
      st.broken_rc = rc;
      st.broken = err;
    } else {
      st.stale = true;  // a load may have stopped halfway: try again next time
    }
    return rc;
  }
  st.have_data_version = have;
  st.data_version = version;
  return SQLITE_OK;
}

// ---------------------------------------------------------------------------
// Creating and connecting

// Whether the meta row `m` names the committed state the cache `st` is
// based on: its generation and nonce, and its columns.
bool based_on(const Meta& m, const TableState& st) {
  return m.has_nonce == st.has_nonce && m.nonce == st.nonce && m.generation == st.generation &&
         m.columns == st.schema.declaration();
}

// Whether the meta row `m` is the one this transaction's xSync wrote for
// the cache `st` (its COMMIT then failed, with SQLITE_BUSY, and the
// transaction goes on).
bool synced_by(const Meta& m, const TableState& st) {
  return st.pending_generation >= 0 && m.generation == st.pending_generation && m.has_nonce == st.has_nonce &&
         (!st.has_nonce || m.nonce == st.pending_nonce) && m.columns == st.schema.declaration();
}

// Sets *current to whether a reconnected table's cache `st` is still
// based on what its shadow tables hold (inside a transaction it also holds
// the transaction's changes, which only it can write or undo). Outside
// one, a damaged or stale cache is built again, as is one of a table
// without a nonce: its generation alone cannot tell a table created again
// from the one it replaced. Damaged shadow tables make it false; any other
// failure to read them is returned, with *err, and must be reported:
// SQLite may have rolled the transaction back.
int still_current(sqlite3* db, const std::string& db_name, const std::string& name, const std::string& declaration,
                  const TableState& st, bool* current, std::string* err) {
  *current = false;
  const bool txn = st.store.in_transaction();
  if (!txn && (st.broken_rc != SQLITE_OK || st.stale || !st.has_nonce)) return SQLITE_OK;
  Meta meta;
  const int rc = shadow_read_meta(db, db_name, name, &meta, err);
  if (rc != SQLITE_OK) return rc == SQLITE_CORRUPT_VTAB ? SQLITE_OK : rc;
  *current = (based_on(meta, st) || (txn && synced_by(meta, st))) && meta.columns == declaration &&
             meta.chunk_rows == static_cast<int64_t>(st.store.chunk_rows());
  return SQLITE_OK;
}

// A state for `schema` with an empty store of 2^chunk_log2 rows a chunk.
std::shared_ptr<TableState> new_state(Schema schema, const std::string& name, int chunk_log2) {
  std::vector<store::ColumnType> types;
  std::vector<int> store_col;
  for (size_t c = 0; c < schema.columns.size(); c++) {
    if (static_cast<int>(c) == schema.key_column) {
      store_col.push_back(-1);
    } else {
      store_col.push_back(static_cast<int>(types.size()));
      types.push_back(schema.columns[c].type);
    }
  }
  auto st = std::make_shared<TableState>(std::move(schema), std::move(types), chunk_log2);
  st->store_col = std::move(store_col);
  st->name = name;
  return st;
}

// The state of table `name` as its shadow tables hold it: the meta row
// checked and every chunk loaded, under one read transaction. Damage does
// not fail it: DROP TABLE must still work, so the state comes back broken
// and every other use reports it. Out of memory, an I/O error or a lock is
// not damage (see shadow.h): it is returned, with *msg, and the next use
// retries.
int read_state(sqlite3* db, const std::string& db_name, const std::string& name, Schema schema,
               std::shared_ptr<TableState>* out, std::string* msg) {
  const std::string declaration = schema.declaration();
  Meta meta;
  int unreadable_rc = SQLITE_CORRUPT_VTAB;  // the code every use will fail with
  ReadSnapshot snapshot(db, db_name, name, msg);  // the meta row and the chunks agree
  int rc = snapshot.rc();
  if (rc == SQLITE_OK) rc = shadow_read_meta(db, db_name, name, &meta, msg);
  // A format this build cannot read is not damage, but the table is just
  // as unusable: it connects so that DROP TABLE works, and every other use
  // fails with this message.
  if (rc == SQLITE_OK && (meta.format < kOldestReadableFormat || meta.format > kFormatVersion)) {
    *msg = "alex: table " + name + " uses storage format " + std::to_string(meta.format) + "; this build reads formats " +
           std::to_string(kOldestReadableFormat) + " to " + std::to_string(kFormatVersion) + " only";
    rc = SQLITE_CORRUPT_VTAB;
    unreadable_rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK &&
      (meta.chunk_rows < 64 || meta.chunk_rows > (1 << 20) || (meta.chunk_rows & (meta.chunk_rows - 1)) != 0)) {
    *msg = "alex: shadow table " + name + "_meta: bad chunk_rows " + std::to_string(meta.chunk_rows);
    rc = SQLITE_CORRUPT_VTAB;
  }
  if (rc == SQLITE_OK && meta.columns != declaration) {
    *msg = "alex: shadow table " + name + "_meta: its columns (" + meta.columns + ") differ from the table's (" +
           declaration + ")";
    rc = SQLITE_CORRUPT_VTAB;
  }
  if (rc != SQLITE_OK && rc != SQLITE_CORRUPT_VTAB) return rc;
  const int chunk_log2 =
      rc == SQLITE_OK ? std::countr_zero(uint64_t(meta.chunk_rows)) : Store::kDefaultChunkRowsLog2;
  std::shared_ptr<TableState> st = new_state(std::move(schema), name, chunk_log2);
  st->has_nonce = meta.has_nonce;
  st->nonce = meta.nonce;
  if (rc == SQLITE_OK) {
    rc = load_chunks(db, db_name, name, -1, meta, &st->store, msg);
    st->generation = meta.generation;
  }
  if (rc != SQLITE_OK && rc != SQLITE_CORRUPT_VTAB) return rc;
  if (rc != SQLITE_OK) {
    st->store.clear();
    st->broken_rc = unreadable_rc;
    st->broken = *msg;
  }
  *out = std::move(st);
  return SQLITE_OK;
}

// The first use of a table connected without reading: the cache stays if
// the shadow tables still hold its state, else it is read from them.
int connect_late(Table* t) {
  std::shared_ptr<TableState>& st = t->state;
  std::string err;
  bool current = false;
  int rc = still_current(t->db, t->db_name, st->name, st->schema.declaration(), *st, &current, &err);
  if (rc == SQLITE_OK && current) {
    st->unverified = false;
    return SQLITE_OK;
  }
  std::shared_ptr<TableState> fresh;
  if (rc == SQLITE_OK) rc = read_state(t->db, t->db_name, st->name, st->schema, &fresh, &err);
  if (rc != SQLITE_OK) {
    set_error(&t->base, err);
    return rc;
  }
  if (std::shared_ptr<TableState>* registered = t->registry->find(t->db_name, st->name); registered && *registered == st) {
    *registered = fresh;
  }
  st = std::move(fresh);
  return SQLITE_OK;
}

// Whether a connect must not read the shadow tables: when this connection
// is not reading the database (the statement being prepared has not begun).
// SQLite connects while it prepares a statement; a read then would take
// locks a native table takes only when the statement runs: inside BEGIN it
// would begin the transaction's read (its SHARED lock, or its WAL snapshot)
// and keep it even when the statement then fails, say with SQLITE_BUSY at
// its write lock, so that another connection's COMMIT would fail, and
// SQLite would not run the busy handler for this connection's next write,
// whose snapshot is then too old; in autocommit, the prepare would fail
// with SQLITE_BUSY while another connection writes, where natively it
// succeeds (or fails for what it names). The first use reads instead
// (refresh).
bool connect_without_reading(sqlite3* db, const std::string& db_name) {
  return sqlite3_txn_state(db, db_name.c_str()) == SQLITE_TXN_NONE;
}

// xCreate (create = true) and xConnect: argv[0] module, argv[1] database,
// argv[2] table, argv[3..] column definitions.
int open_table(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err, bool create) {
  return guarded([&]() -> int {
    Registry* registry = static_cast<Registry*>(aux);
    const std::string db_name = argv[1], name = argv[2];
    std::vector<std::string_view> args(argv + 3, argv + argc);
    Schema schema;
    if (store::Status s = parse_schema(name, args, &schema); !s.ok()) {
      *err = sqlite3_mprintf("%s", s.message().c_str());
      return SQLITE_ERROR;
    }
    int rc = sqlite3_declare_vtab(db, schema.declaration().c_str());
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);

    std::shared_ptr<TableState>* known = registry->find(db_name, name);
    const bool by_old_name = known == nullptr && !create;
    if (by_old_name) known = registry->renamed_in_transaction(db_name, name);
    const bool unread = !create && connect_without_reading(db, db_name) && !(known && (*known)->store.in_transaction());
    std::shared_ptr<TableState> st;
    // Unread, the cache is checked at the first use against its own
    // columns: one with other columns is of a table created again since.
    bool current = unread && !(known && (*known)->schema.declaration() != schema.declaration());
    if (known && !create && !unread) {
      std::string msg;
      if ((rc = still_current(db, db_name, name, schema.declaration(), **known, &current, &msg)) != SQLITE_OK) {
        *err = sqlite3_mprintf("%s", msg.c_str());
        return rc;
      }
      // Found by its old name but not this table's: the cache of a table
      // renamed away in this transaction, which keeps its entry.
      if (by_old_name && !current) known = nullptr;
      // A ROLLBACK TO undid both a rename of this table and a CREATE under
      // its old name: the created table's cache holds the name, and the
      // table's own, still in the transaction, is registered under the name
      // it was renamed to. Take that one back.
      std::shared_ptr<TableState>* renamed = registry->renamed_in_transaction(db_name, name);
      if (!current && !by_old_name && renamed && renamed != known) {
        if ((rc = still_current(db, db_name, name, schema.declaration(), **renamed, &current, &msg)) != SQLITE_OK) {
          *err = sqlite3_mprintf("%s", msg.c_str());
          return rc;
        }
        if (current) {
          registry->erase(db_name, name);  // the created table's (found first, as `known`)
          known = registry->renamed_in_transaction(db_name, name);
        }
      }
    }
    if (known && !create && current) {
      st = *known;  // reconnected: the cache is still this connection's (checked now or at the first use)
      st->have_data_version = false;  // the database may be another pager now
      st->unverified = unread;
      if (sqlite3_stricmp(st->name.c_str(), name.c_str()) != 0) registry->rename(st, name);  // a ROLLBACK TO undid a rename
    } else {
      std::string msg;
      if (create) {
        const std::string declaration = schema.declaration();
        st = new_state(std::move(schema), name, Store::kDefaultChunkRowsLog2);
        Meta meta;
        sqlite3_randomness(sizeof meta.nonce, &meta.nonce);
        st->nonce = meta.nonce;
        meta.chunk_rows = st->store.chunk_rows();
        meta.columns = declaration;
        rc = shadow_create(db, db_name, name, meta, &msg);
      } else if (unread) {
        st = new_state(std::move(schema), name, Store::kDefaultChunkRowsLog2);
        st->unverified = true;
        st->generation = -1;  // no committed state: never still_current
      } else {
        rc = read_state(db, db_name, name, std::move(schema), &st, &msg);
      }
      if (rc != SQLITE_OK) {
        *err = sqlite3_mprintf("%s", msg.c_str());
        return rc;
      }
      if (known) {
        *known = st;
        registry->rename(st, name);  // found under the name a rename gave it
      } else {
        registry->tables.push_back({{db_name, name}, st});
      }
    }
    auto* t = new Table();
    t->db = db;
    t->registry = registry;
    t->db_name = db_name;
    t->state = std::move(st);
    *out = &t->base;
    return SQLITE_OK;
  });
}

// SQLite makes a created table part of the open transaction without
// calling xBegin (and never calls it for that table in this transaction):
// the store's transaction starts here, so that statement rollback,
// savepoints and ROLLBACK undo what the transaction writes to it.
int x_create(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  const int rc = open_table(db, aux, argc, argv, out, err, true);
  if (rc == SQLITE_OK) {
    TableState& st = *table_of(*out)->state;
    st.store.begin();
    st.txn_name = st.name;
    st.created_in_txn = true;
  }
  return rc;
}

int x_connect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  return open_table(db, aux, argc, argv, out, err, false);
}

int x_disconnect(sqlite3_vtab* v) {
  Table* t = table_of(v);
  t->writer.finalize();
  delete t;
  return SQLITE_OK;
}

int x_destroy(sqlite3_vtab* v) {
  Table* t = table_of(v);
  // DROP TABLE of a table with uncommitted changes: they live in the
  // cache until the commit, and a ROLLBACK TO that undid the DROP would
  // leave them in a cache SQLite no longer commits. Refused (SQLite shows
  // no message of xDestroy's: the DROP fails with SQLITE_ERROR).
  if (t->state->store.changed_in_transaction()) return SQLITE_ERROR;
  t->writer.finalize();
  std::string err;
  int rc = guarded([&] { return shadow_drop(t->db, t->db_name, t->state->name, &err); });
  if (rc != SQLITE_OK) {
    set_error(v, err);
    return rc;
  }
  t->registry->erase(t->db_name, t->state->name);
  delete t;
  return SQLITE_OK;
}

int x_rename(sqlite3_vtab* v, const char* new_name) {
  return guarded([&]() -> int {
    Table* t = table_of(v);
    // A rename of a table with uncommitted changes, undone by ROLLBACK TO,
    // would leave them in a cache under names the shadow tables no longer
    // have (or have again). Refused, as DROP is; a rename undone before any
    // change is undone with every later change, so nothing is left to write.
    if (t->state->store.changed_in_transaction()) {
      set_error(v, "alex: table " + t->state->name + " has uncommitted changes; commit them before renaming it");
      return SQLITE_ERROR;
    }
    t->writer.finalize();
    std::string err;
    if (int rc = shadow_rename(t->db, t->db_name, t->state->name, new_name, &err); rc != SQLITE_OK) {
      set_error(v, err);
      return rc;
    }
    // An entry under the new name is stale: that table is gone. Unless it
    // holds a transaction's changes: then a ROLLBACK TO undid its rename,
    // and it goes back to its name from before, if no other cache took
    // that name (then the ROLLBACK TO undid its CREATE too, and the name
    // is another table's again).
    if (std::shared_ptr<TableState>* held = t->registry->find(t->db_name, new_name)) {
      if ((*held)->store.in_transaction() && sqlite3_stricmp((*held)->txn_name.c_str(), new_name) != 0 &&
          t->registry->find(t->db_name, (*held)->txn_name) == nullptr) {
        t->registry->rename(*held, (*held)->txn_name);
      } else {
        t->registry->erase(t->db_name, new_name);
      }
    }
    t->registry->rename(t->state, new_name);
    return SQLITE_OK;
  });
}

// ---------------------------------------------------------------------------
// Planning and scanning

int x_best_index(sqlite3_vtab* v, sqlite3_index_info* info) {
  return guarded([&]() -> int {
    const TableState& st = *table_of(v)->state;
    const int kc = st.schema.key_column;
    // Not read yet (connect_without_reading): assume a large table, so that
    // SQLite prefers plans that use the key.
    const int64_t rows = st.unverified && st.generation < 0 ? int64_t{1} << 20 : static_cast<int64_t>(st.store.size());
    return best_index(info, kc, kc >= 0 ? st.schema.columns[kc].name : "rowid", rows);
  });
}

int x_open(sqlite3_vtab* v, sqlite3_vtab_cursor** out) {
  return guarded([&]() -> int {
    Table* t = table_of(v);
    if (int rc = refresh(t); rc != SQLITE_OK) return rc;
    Cursor* c = t->spare ? t->spare.release() : new Cursor();
    c->table = t;
    c->st = t->state.get();
    *out = &c->base;
    return SQLITE_OK;
  });
}

int x_close(sqlite3_vtab_cursor* cur) {
  std::unique_ptr<Cursor> c(cursor_of(cur));
  Table* t = c->table;
  if (!t->spare) {
    c->keys.clear();  // x_filter sets every other field before use
    t->spare = std::move(c);
  }
  return SQLITE_OK;
}

// Loads the current row from the tree position, or sets eof when the walk
// has left the range. Inline: x_next calls it for every row of a walk.
[[gnu::always_inline]] inline void settle_walk(Cursor* c) {
  const Store::Index& index = c->st->store.index();
  c->version = c->st->store.version();
  if (c->it == index.end() || (c->desc ? c->it.key() < c->range.lo : c->it.key() > c->range.hi)) {
    c->eof = true;
    return;
  }
  c->key = c->it.key();
  c->slot = c->it.payload();
}

// Positions a descending walk on the last key below `bound` (or at it when
// `inclusive`).
void seek_down(Cursor* c, int64_t bound, bool inclusive) {
  const Store::Index& index = c->st->store.index();
  auto it = inclusive ? index.upper_bound(bound) : index.lower_bound(bound);
  if (it == index.begin()) {
    c->eof = true;
    return;
  }
  c->it = --it;
  settle_walk(c);
}

// Moves an IN-list cursor to the next listed key that exists.
void settle_list(Cursor* c) {
  const Store& s = c->st->store;
  while (c->next < c->keys.size()) {
    const int64_t k = c->desc ? c->keys[c->keys.size() - 1 - c->next] : c->keys[c->next];
    c->next++;
    s.prefetch(k, c->prefetch);
    const uint32_t slot = s.find(k);
    if (slot != Store::kNoSlot) {
      c->key = k;
      c->slot = slot;
      c->version = s.version();
      return;
    }
  }
  c->eof = true;
}

int sqlite_op(ArgOp op) {
  switch (op) {
    case ArgOp::kGt: return SQLITE_INDEX_CONSTRAINT_GT;
    case ArgOp::kGe: return SQLITE_INDEX_CONSTRAINT_GE;
    case ArgOp::kLt: return SQLITE_INDEX_CONSTRAINT_LT;
    case ArgOp::kLe: return SQLITE_INDEX_CONSTRAINT_LE;
    default: return SQLITE_INDEX_CONSTRAINT_EQ;
  }
}

// The keys an IN list names (values that can equal no key are dropped),
// sorted and unique.
int read_in_list(sqlite3_value* list, std::vector<int64_t>* keys) {
  keys->clear();
  sqlite3_value* v = nullptr;
  int rc;
  for (rc = sqlite3_vtab_in_first(list, &v); rc == SQLITE_OK && v; rc = sqlite3_vtab_in_next(list, &v)) {
    KeyRange r;
    if (key_range(SQLITE_INDEX_CONSTRAINT_EQ, v, &r)) keys->push_back(r.lo);
  }
  if (rc != SQLITE_OK && rc != SQLITE_DONE) return rc;
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  return SQLITE_OK;
}

int x_filter(sqlite3_vtab_cursor* cur, int idx_num, const char*, int argc, sqlite3_value** argv) {
  return guarded([&]() -> int {
    Cursor* c = cursor_of(cur);
    if (!c->table->replaced.empty()) c->table->replaced.clear();
    c->range = KeyRange();
    c->desc = plan_desc(idx_num);
    c->eof = false;
    c->list = false;
    c->next = 0;
    c->prefetch = 0;
    c->nochange = plan_nochange(idx_num);
    for (int col = 0; col < kUsedColumns && col < static_cast<int>(c->st->store_col.size()); col++) {
      if (plan_reads(idx_num, col) && c->st->store_col[col] >= 0) c->prefetch |= uint64_t{1} << c->st->store_col[col];
    }
    bool none = false;
    std::vector<int64_t> other;
    for (int i = 0; i < argc && i < kMaxArgs; i++) {
      const ArgOp op = plan_arg(idx_num, i);
      if (op == ArgOp::kIn) {
        std::vector<int64_t>& dst = c->list ? other : c->keys;
        if (int rc = read_in_list(argv[i], &dst); rc != SQLITE_OK) return rc;
        if (c->list) {  // two IN lists on the key: keep what both name
          std::vector<int64_t> both;
          std::set_intersection(c->keys.begin(), c->keys.end(), other.begin(), other.end(), std::back_inserter(both));
          c->keys.swap(both);
        }
        c->list = true;
        continue;
      }
      KeyRange r;
      if (!key_range(sqlite_op(op), argv[i], &r)) none = true;
      c->range.intersect(r);
    }
    if (none || c->range.empty()) {
      c->eof = true;
      return SQLITE_OK;
    }
    if (c->list) {
      // Clip the list to the range, then walk it.
      auto lo = std::lower_bound(c->keys.begin(), c->keys.end(), c->range.lo);
      auto hi = std::upper_bound(lo, c->keys.end(), c->range.hi);
      c->keys.erase(hi, c->keys.end());
      c->keys.erase(c->keys.begin(), lo);
      settle_list(c);
    } else if (c->range.lo == c->range.hi) {
      // One key: a lookup, and the next x_next ends it without moving
      // through the tree.
      c->keys.assign(1, c->range.lo);
      c->list = true;
      settle_list(c);
    } else if (c->desc) {
      c->st->store.prefetch(c->range.hi, c->prefetch);
      seek_down(c, c->range.hi, true);
    } else {
      c->st->store.prefetch(c->range.lo, c->prefetch);
      c->it = c->st->store.index().lower_bound(c->range.lo);
      settle_walk(c);
    }
    return SQLITE_OK;
  });
}

// Every case but the common one below: IN lists, descending walks, and
// walks whose table changed under them.
[[gnu::noinline]] int next_slow(sqlite3_vtab_cursor* cur) {
  return guarded([&]() -> int {
    Cursor* c = cursor_of(cur);
    if (c->list) {
      settle_list(c);
      return SQLITE_OK;
    }
    const Store::Index& index = c->st->store.index();
    if (c->version != c->st->store.version()) {
      // The table changed under the cursor (a write in the same statement
      // or a join over it): the iterator may be stale. Resume after the
      // current key.
      if (c->desc) {
        seek_down(c, c->key, false);
      } else {
        c->it = index.upper_bound(c->key);
        settle_walk(c);
      }
      return SQLITE_OK;
    }
    if (c->desc) {
      if (c->it == index.begin()) {
        c->eof = true;
        return SQLITE_OK;
      }
      --c->it;
    } else {
      ++c->it;
    }
    settle_walk(c);
    return SQLITE_OK;
  });
}

int x_next(sqlite3_vtab_cursor* cur) {
  // The common step, without a call: an ascending walk over an unchanged
  // table to a key in the bitmap word at hand. It cannot throw, so it runs
  // here without the guard. Still in the leaf, so never past end().
  Cursor* c = cursor_of(cur);
  if (c->list || c->desc || c->version != c->st->store.version() || !c->it.step_in_word()) return next_slow(cur);
  const int64_t k = c->it.key();
  if (k > c->range.hi) {
    c->eof = true;
  } else {
    c->key = k;
    c->slot = c->it.payload();
  }
  return SQLITE_OK;
}

int x_eof(sqlite3_vtab_cursor* cur) { return cursor_of(cur)->eof; }

int x_rowid(sqlite3_vtab_cursor* cur, sqlite3_int64* out) {
  *out = cursor_of(cur)->key;
  return SQLITE_OK;
}

// Every column read but the common one below: the key, TEXT, BLOB and ANY
// columns, an UPDATE's scan, and a row whose table changed since the
// cursor reached it.
[[gnu::noinline]] int column_slow(Cursor* c, sqlite3_context* ctx, int col) {
  const TableState& st = *c->st;
  const int sc = st.store_col[col];
  if (sc < 0) {
    sqlite3_result_int64(ctx, c->key);
    return SQLITE_OK;
  }
  // An UPDATE that does not assign this column needs no value for it
  // (xUpdate then sees sqlite3_value_nochange()).
  if (sqlite3_vtab_nochange(ctx)) return SQLITE_OK;
  uint32_t slot = c->slot;
  if (c->version != st.store.version()) {
    slot = st.store.find(c->key);  // the row may have moved or gone
    if (slot == Store::kNoSlot) return SQLITE_OK;  // NULL
  }
  const Value v = st.store.get(slot, sc);
  switch (v.type) {
    case ValueType::kNull: break;
    case ValueType::kInteger: sqlite3_result_int64(ctx, v.i); break;
    case ValueType::kReal: sqlite3_result_double(ctx, v.r); break;
    // Copies: the bytes live in a chunk arena that a later write in the
    // same statement may move.
    case ValueType::kText:
      sqlite3_result_text64(ctx, v.bytes.empty() ? "" : v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case ValueType::kBlob:
      if (v.bytes.empty()) sqlite3_result_zeroblob(ctx, 0);
      else sqlite3_result_blob64(ctx, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

int x_column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
  // An INTEGER or REAL cell of an unchanged table, read by a scan that is
  // never asked about "no change" (plan.h, bit 30), so no call to
  // sqlite3_vtab_nochange(), which costs more than the read.
  Cursor* c = cursor_of(cur);
  const TableState& st = *c->st;
  const int sc = st.store_col[col];
  if (sc >= 0 && !c->nochange && c->version == st.store.version()) {
    uint64_t bits;
    switch (st.store.column_type(sc)) {
      case store::ColumnType::kInteger:
        if (st.store.get_number(c->slot, sc, &bits)) sqlite3_result_int64(ctx, static_cast<int64_t>(bits));
        return SQLITE_OK;
      case store::ColumnType::kReal:
        if (st.store.get_number(c->slot, sc, &bits)) sqlite3_result_double(ctx, std::bit_cast<double>(bits));
        return SQLITE_OK;
      default: break;
    }
  }
  return column_slow(c, ctx, col);
}

// ---------------------------------------------------------------------------
// Writing

// The error for a violated NOT NULL or UNIQUE constraint under the
// statement's ON CONFLICT mode. With constraint support declared, SQLite
// resolves any SQLITE_CONSTRAINT_* code itself: IGNORE skips the row, FAIL
// and ROLLBACK end the statement or the transaction, ABORT and REPLACE (for
// a constraint the module could not resolve) roll back the statement.
int constraint_error(Table* t, int mode, int code, const std::string& msg) {
  if (mode != SQLITE_IGNORE) set_error(&t->base, msg);  // an ignored row leaves no message behind
  return code;
}

// A value its column cannot hold. SQLite aborts the statement whatever the
// ON CONFLICT mode. Since it would resolve a constraint code by the mode,
// the module can return SQLITE_CONSTRAINT_DATATYPE only where the mode
// aborts anyway (ABORT, REPLACE); under IGNORE, FAIL and ROLLBACK it
// returns SQLITE_MISMATCH with the same message.
int datatype_error(Table* t, int mode, const std::string& msg) {
  set_error(&t->base, msg);
  return (mode == SQLITE_ABORT || mode == SQLITE_REPLACE) ? SQLITE_CONSTRAINT_DATATYPE : SQLITE_MISMATCH;
}

std::string key_label(const TableState& st) {
  const int kc = st.schema.key_column;
  return st.name + "." + (kc >= 0 ? st.schema.columns[kc].name : std::string("rowid"));
}

// The key is taken: SQLite's message, and its code (a rowid table without
// an INTEGER PRIMARY KEY column says ROWID).
int key_taken_error(Table* t, int mode, const TableState& st) {
  return constraint_error(t, mode, st.schema.key_column >= 0 ? SQLITE_CONSTRAINT_PRIMARYKEY : SQLITE_CONSTRAINT_ROWID,
                          "UNIQUE constraint failed: " + key_label(st));
}

// A key for a row inserted without one: max + 1, or, once INT64_MAX is
// taken, a random unused key (SQLite's own fallback), else SQLITE_FULL.
int auto_key(const Store& s, int64_t* key) {
  const Store::Index& index = s.index();
  if (index.empty()) {
    *key = 1;
    return SQLITE_OK;
  }
  auto last = index.end();
  --last;
  if (last.key() < INT64_MAX) {
    *key = last.key() + 1;
    return SQLITE_OK;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    int64_t r;
    sqlite3_randomness(sizeof r, &r);
    r &= INT64_MAX >> 1;  // a positive key, as SQLite picks
    r += 1;
    if (s.find(r) == Store::kNoSlot) {
      *key = r;
      return SQLITE_OK;
    }
  }
  return SQLITE_FULL;
}

void free_temps(Table* t) {
  for (sqlite3_value* v : t->temps) sqlite3_value_free(v);
  t->temps.clear();
}

// Coerces the values of the columns an INSERT or UPDATE assigns into
// t->row (store columns; an UPDATE marks them in t->changed, an INSERT
// assigns them all). A NULL in a NOT NULL column fails at once. A value
// its column cannot hold is not an error yet, since SQLite reports a NOT
// NULL failure in any column, or a taken key, first: the first such
// column goes to *bad_column (-1 when none), SQLite's name for the value's
// type to *bad_type.
int prepare_row(Table* t, int mode, sqlite3_value** values, bool is_update, int* bad_column,
                const char** bad_type) {
  TableState& st = *t->state;
  const Schema& schema = st.schema;
  const int n = static_cast<int>(schema.columns.size());
  t->row.resize(st.store.column_count());
  if (is_update) t->changed.assign(st.store.column_count(), 0);
  *bad_column = -1;
  for (int c = 0; c < n; c++) {
    const int sc = st.store_col[c];
    if (sc < 0) continue;
    if (is_update) {
      if (sqlite3_value_nochange(values[c])) continue;
      t->changed[sc] = 1;
    }
    const Column& col = schema.columns[c];
    const char* type_name = "";
    int rc = coerce(values[c], col.type, &t->row[sc], &t->temps, &type_name);
    if (rc == SQLITE_CONSTRAINT_DATATYPE) {
      if (*bad_column < 0) *bad_column = c, *bad_type = type_name;
      continue;
    }
    if (rc != SQLITE_OK) return rc;
    if (col.not_null && t->row[sc].is_null()) {
      return constraint_error(t, mode, SQLITE_CONSTRAINT_NOTNULL,
                              "NOT NULL constraint failed: " + st.name + "." + col.name);
    }
  }
  return SQLITE_OK;
}

int bad_value_error(Table* t, int mode, int c, const char* type_name) {
  const TableState& st = *t->state;
  const Column& col = st.schema.columns[c];
  return datatype_error(t, mode, std::string("cannot store ") + type_name + " value in " + col.type_name +
                                     " column " + st.name + "." + col.name);
}

int key_mismatch(Table* t) {
  set_error(&t->base, "datatype mismatch");
  return SQLITE_MISMATCH;
}

// xUpdate:
//   argc == 1                   DELETE the row with key argv[0]
//   argv[0] NULL                INSERT; argv[1] the rowid if given, argv[2..] the columns
//   argv[0] not NULL            UPDATE the row with key argv[0]; argv[1] the new rowid
int update_row(Table* t, int argc, sqlite3_value** argv, sqlite3_int64* out_rowid) {
  TableState& st = *t->state;
  Store& s = st.store;
  if (st.broken_rc != SQLITE_OK) return broken_error(&t->base, st);
  if (argc == 1) {
    s.erase(sqlite3_value_int64(argv[0]));
    return SQLITE_OK;
  }
  const int mode = sqlite3_vtab_on_conflict(t->db);
  const int kc = st.schema.key_column;
  const bool is_insert = sqlite3_value_type(argv[0]) == SQLITE_NULL;
  const int64_t old_key = is_insert ? 0 : sqlite3_value_int64(argv[0]);
  // A row this statement already deleted (REPLACE) is skipped, unchecked.
  // SQLite computed every row's update before the first; a native table
  // updates instead the row the statement has moved onto the deleted
  // row's key since, if any, from that row's values. When the update sets
  // only the key (SET k = k + 1) the one computed applies (it moves the
  // row on, as natively); values of other columns were computed from the
  // deleted row and would make a row of two, so such an update is skipped.
  if (!is_insert) {
    if (s.find(old_key) == Store::kNoSlot) return SQLITE_OK;
    if (t->replaced.count(old_key) != 0) {
      for (int c = 0; c < static_cast<int>(st.schema.columns.size()); c++) {
        if (c != kc && !sqlite3_value_nochange(argv[2 + c])) return SQLITE_OK;
      }
    }
  }

  // Which value names the new key: the INTEGER PRIMARY KEY column when it
  // is given (it wins over the rowid, as in SQLite), else the rowid.
  sqlite3_value* key_value = argv[1];
  if (kc >= 0) {
    sqlite3_value* col = argv[2 + kc];
    if (is_insert) {
      if (sqlite3_value_type(col) != SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) key_value = col;
    } else if (!sqlite3_value_nochange(col)) {
      int64_t k;
      bool null;
      if (coerce_key(col, &k, &null) != SQLITE_OK || null || k != old_key) key_value = col;
    }
  }
  int64_t key = 0;
  bool key_null = false;
  if (int rc = coerce_key(key_value, &key, &key_null); rc != SQLITE_OK) {
    return rc == SQLITE_MISMATCH ? key_mismatch(t) : rc;
  }
  if (key_null && !is_insert) return key_mismatch(t);

  int bad_column;
  const char* bad_type = "";
  int rc = prepare_row(t, mode, argv + 2, !is_insert, &bad_column, &bad_type);
  if (rc != SQLITE_OK) return rc;
  if (bad_column >= 0) {  // rare: a taken key is reported first, as SQLite does
    const bool taken = !key_null && (is_insert || key != old_key) && s.find(key) != Store::kNoSlot;
    if (taken && mode != SQLITE_REPLACE) {
      return key_taken_error(t, mode, st);
    }
    return bad_value_error(t, mode, bad_column, bad_type);
  }
  if (key_null) {
    if ((rc = auto_key(s, &key)) != SQLITE_OK) return rc;
  }

  if (is_insert) {
    store::Status ins = s.insert(key, t->row.data());
    if (ins.code() == store::Status::Code::kConstraint) {  // the key is taken
      if (mode != SQLITE_REPLACE) {
        return key_taken_error(t, mode, st);
      }
      s.erase(key);
      ins = s.insert(key, t->row.data());
    }
    if (!ins.ok()) return status_error(&t->base, ins);
    *out_rowid = key;
    return SQLITE_OK;
  }
  if (key != old_key) {
    if (s.find(key) != Store::kNoSlot) {
      if (mode != SQLITE_REPLACE) {
        return key_taken_error(t, mode, st);
      }
      t->replaced.insert(key);
      s.erase(key);
    }
    if (store::Status st2 = s.rekey(old_key, key); !st2.ok()) return status_error(&t->base, st2);
  }
  const uint32_t slot = s.find(key);
  for (int sc = 0; sc < s.column_count(); sc++) {
    if (!t->changed[sc]) continue;
    if (store::Status st2 = s.update(slot, sc, t->row[sc]); !st2.ok()) return status_error(&t->base, st2);
  }
  return SQLITE_OK;
}

int x_update(sqlite3_vtab* v, int argc, sqlite3_value** argv, sqlite3_int64* out_rowid) {
  Table* t = table_of(v);
  // Outside the store's transaction: a ROLLBACK ran (from a function the
  // statement called) after this statement began. SQLite aborts such a
  // statement on a native table when it next touches the table's tripped
  // cursors; a change here would be logged nowhere and reach the file with
  // a later commit.
  if (!t->state->store.in_transaction()) {
    set_error(v, "abort due to ROLLBACK");
    return SQLITE_ABORT_ROLLBACK;
  }
  int rc = t->state->stale ? stale_error(v, *t->state)
                           : changing(*t->state, [&] { return update_row(t, argc, argv, out_rowid); });
  free_temps(t);
  return rc;
}

// ---------------------------------------------------------------------------
// Transactions: the store's undo log does all the work.

Store& store_of(sqlite3_vtab* v) { return table_of(v)->state->store; }

// The write lock is held from here on: catch up with other connections
// once, then log every change. A table reconnected inside a transaction
// (a ROLLBACK TO after a schema change resets every schema) joins again
// with a new sqlite3_vtab while the old one stays in the transaction; the
// cache they share already logs it, and must keep what it logged.
int x_begin(sqlite3_vtab* v) {
  return guarded([&] {
    if (store_of(v).in_transaction()) return SQLITE_OK;
    if (int rc = refresh(table_of(v)); rc != SQLITE_OK) return rc;
    store_of(v).begin();
    table_of(v)->state->begin_version = store_of(v).version();
    table_of(v)->state->txn_name = table_of(v)->state->name;
    return SQLITE_OK;
  });
}

// Whether PRAGMA query_only is on; runs a pragma statement.
bool query_only(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  const bool on = sqlite3_prepare_v2(db, "PRAGMA query_only", -1, &st, nullptr) == SQLITE_OK &&
                  sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
  sqlite3_finalize(st);
  return on;
}
int exec_pragma(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

// Phase one of the commit: the dirty chunks and the next generation go to
// the shadow tables, inside SQLite's transaction.
int x_sync(sqlite3_vtab* v) {
  return guarded([&] {
    Table* t = table_of(v);
    TableState& st = *t->state;
    if (st.stale) return stale_error(v, st);
    // Nothing to write: no change. When every change of this transaction
    // was undone (ROLLBACK TO), a native table's commit still writes the
    // pages they touched, so that another connection's read transaction
    // begun before it can no longer write (SQLITE_BUSY); a new generation
    // of the same rows does the same here, where it can: not when a
    // ROLLBACK TO also undid a rename or a CREATE of the table (the shadow
    // tables are not the ones it wrote), nor when the schema cannot be
    // read. That happens: after a ROLLBACK TO in a transaction that
    // changed the schema, SQLite reloads every attached schema, main
    // first, and another connection may hold the lock that needs
    // (SQLITE_BUSY). Changed rows then fail the commit, which can be
    // retried; taking "cannot read" for "absent" would drop them.
    const bool changed = st.store.changed_in_transaction();
    if (!changed && st.store.version() == st.begin_version) return SQLITE_OK;
    int rc = SQLITE_OK;
    auto unreadable = [&](int lookup) {
      if (lookup == SQLITE_ROW || lookup == SQLITE_DONE) return false;
      rc = changed ? lookup : SQLITE_OK;
      if (changed) set_error(v, sqlite3_errmsg(t->db));
      return true;
    };
    // A rename in this transaction that a ROLLBACK TO undid, and nothing
    // has reconnected the table since: the shadow tables have their old
    // names again.
    if (sqlite3_stricmp(st.name.c_str(), st.txn_name.c_str()) != 0) {
      const int now = find_shadow(t->db, t->db_name, st.name);
      if (unreadable(now)) return rc;
      const int before = now == SQLITE_DONE ? find_shadow(t->db, t->db_name, st.txn_name) : SQLITE_DONE;
      if (unreadable(before)) return rc;
      if (before == SQLITE_ROW && t->registry->find(t->db_name, st.txn_name) == nullptr) {
        t->writer.finalize();
        t->registry->rename(t->state, st.txn_name);
      }
    }
    // A cache no longer registered under its name belongs to a table a
    // ROLLBACK TO removed (created after the savepoint) or that a
    // reconnect found replaced: what it changed was rolled back with it,
    // since a table written in a transaction cannot be dropped in it
    // (x_destroy), and a rename undone finds its cache again (open_table).
    std::shared_ptr<TableState>* registered = t->registry->find(t->db_name, st.name);
    if (registered == nullptr || registered->get() != &st) return SQLITE_OK;
    // Created in this transaction, and a ROLLBACK TO undid the CREATE: its
    // rows went with it.
    if (st.created_in_txn) {
      const int exists = find_virtual_table(t->db, t->db_name, st.name);
      if (unreadable(exists)) return rc;
      if (exists == SQLITE_DONE) {
        t->registry->erase(t->db_name, st.name);
        return SQLITE_OK;
      }
    }
    std::string err;
    // The shadow tables must still hold the state this cache is based on:
    // a DROP, CREATE or RENAME of the table undone by ROLLBACK TO leaves
    // a cache whose names or history are no longer its shadow tables'.
    // Writing then would overwrite another table's rows; fail the commit.
    Meta meta;
    rc = shadow_read_meta(t->db, t->db_name, st.name, &meta, &err);
    if (rc != SQLITE_OK && !changed) return SQLITE_OK;  // unreadable, or not ours (corrupt)
    if (rc == SQLITE_OK && synced_by(meta, st)) {
      // Written already: by another sqlite3_vtab sharing this cache, or by
      // a COMMIT that failed afterwards with SQLITE_BUSY, which leaves the
      // transaction open. If it changed the table since, write again (the
      // same generation: it is still the one this transaction commits).
      if (st.store.version() == st.synced_version) return SQLITE_OK;
    } else {
      const bool not_ours = rc == SQLITE_CORRUPT_VTAB || (rc == SQLITE_OK && !based_on(meta, st));
      if (rc == SQLITE_OK && not_ours && st.created_in_txn) {
        // Created in this transaction, and a ROLLBACK TO undid the CREATE
        // while a table of the same name came back (a DROP or RENAME it
        // undid too): the rows went with the CREATE. (SQLite announces no
        // savepoint older than the CREATE to the new table.)
        t->registry->erase(t->db_name, st.name);
        return SQLITE_OK;
      }
      if (not_ours && !changed) return SQLITE_OK;
      if (not_ours) {
        err = "alex: table " + st.name + " was dropped, created or renamed and rolled back within this transaction; "
              "its changes cannot be committed" + (rc == SQLITE_OK ? "" : " (" + err + ")");
        rc = SQLITE_ABORT;
      }
      if (rc != SQLITE_OK) {
        set_error(v, err);
        return rc;
      }
      st.pending_generation = st.generation + 1;
      sqlite3_randomness(sizeof st.pending_nonce, &st.pending_nonce);
    }
    auto flush = [&] {
      return shadow_flush(t->db, t->db_name, st.name, st.store, st.pending_generation,
                          st.has_nonce ? &st.pending_nonce : nullptr, &t->writer, &err);
    };
    rc = flush();
    if (rc == SQLITE_READONLY && query_only(t->db)) {
      // PRAGMA query_only turned on after the transaction wrote: a native
      // table's changes are in its pages already and commit; these are
      // written now. The first write failed before changing anything.
      if ((rc = exec_pragma(t->db, "PRAGMA query_only = 0")) == SQLITE_OK) {
        rc = flush();
        if (int on = exec_pragma(t->db, "PRAGMA query_only = 1"); on != SQLITE_OK && rc == SQLITE_OK) {
          rc = on;
          err = sqlite3_errmsg(t->db);
        }
      } else {
        err = sqlite3_errmsg(t->db);
      }
    }
    if (rc != SQLITE_OK) set_error(v, err);
    else st.synced_version = st.store.version();
    return rc;
  });
}

int x_commit(sqlite3_vtab* v) {
  TableState& st = *table_of(v)->state;
  st.created_in_txn = false;
  changing(st, [&] {
    st.store.commit();
    if (st.pending_generation >= 0) {
      st.generation = st.pending_generation;
      if (st.has_nonce) st.nonce = st.pending_nonce;
      st.pending_generation = -1;
      st.store.clear_dirty();
    }
    return SQLITE_OK;
  });
  return SQLITE_OK;  // the transaction is committed: a stale cache only reloads
}

int x_rollback(sqlite3_vtab* v) {
  TableState& st = *table_of(v)->state;
  st.pending_generation = -1;
  st.created_in_txn = false;
  if (!st.stale) {
    changing(st, [&] {
      st.store.rollback();  // chunks stay marked dirty: rewriting them is harmless
      return SQLITE_OK;
    });
  }
  if (st.stale) st.store.clear();  // out of the transaction; rebuilt at the next use
  return SQLITE_OK;
}

// Savepoints change only the undo log's marks; on a stale cache there is
// nothing left to mark or undo.
int x_savepoint(sqlite3_vtab* v, int n) {
  TableState& st = *table_of(v)->state;
  return st.stale ? SQLITE_OK : changing(st, [&] {
    st.store.savepoint(n);
    return SQLITE_OK;
  });
}
int x_release(sqlite3_vtab* v, int n) {
  TableState& st = *table_of(v)->state;
  if (!st.stale) st.store.release(n);
  return SQLITE_OK;
}
int x_rollback_to(sqlite3_vtab* v, int n) {
  TableState& st = *table_of(v)->state;
  // What an xSync wrote since the savepoint (a COMMIT that then failed
  // with SQLITE_BUSY) SQLite has undone with it: the next xSync writes
  // again.
  st.synced_version = ~uint64_t{0};
  return st.stale ? SQLITE_OK : changing(st, [&] {
    st.store.rollback_to(n);
    return SQLITE_OK;
  });
}

int x_shadow_name(const char* suffix) {
  return sqlite3_stricmp(suffix, "meta") == 0 || sqlite3_stricmp(suffix, "chunks") == 0;
}

const sqlite3_module kModule = {
    /* iVersion      */ 3,
    /* xCreate       */ x_create,
    /* xConnect      */ x_connect,
    /* xBestIndex    */ x_best_index,
    /* xDisconnect   */ x_disconnect,
    /* xDestroy      */ x_destroy,
    /* xOpen         */ x_open,
    /* xClose        */ x_close,
    /* xFilter       */ x_filter,
    /* xNext         */ x_next,
    /* xEof          */ x_eof,
    /* xColumn       */ x_column,
    /* xRowid        */ x_rowid,
    /* xUpdate       */ x_update,
    /* xBegin        */ x_begin,
    /* xSync         */ x_sync,
    /* xCommit       */ x_commit,
    /* xRollback     */ x_rollback,
    /* xFindFunction */ nullptr,
    /* xRename       */ x_rename,
    /* xSavepoint    */ x_savepoint,
    /* xRelease      */ x_release,
    /* xRollbackTo   */ x_rollback_to,
    /* xShadowName   */ x_shadow_name,
};

void free_registry(void* p) { delete static_cast<Registry*>(p); }

// ---------------------------------------------------------------------------
// alex_check(table [, schema]): an integrity check in the manner of the
// R*Tree module's rtreecheck(). Returns 'ok', or one line per problem:
//   * the ALEX tree's invariants and the store's (Store::check),
//   * the meta row against the cache (row count, generation, nonce),
//   * every row of the shadow tables, decoded afresh, against the cache:
//     the same keys with the same values in every column.
// Inside a transaction that changed the table, only the first check runs
// (the shadow tables hold the last commit until then).

std::string check_table(sqlite3* db, Registry* registry, const std::string& schema, const std::string& name) {
  // Touch the table so that it is connected and its cache fresh.
  char* sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w\" WHERE rowid = 0", schema.c_str(), name.c_str());
  if (sql == nullptr) throw std::bad_alloc();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  sqlite3_free(sql);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
  sqlite3_finalize(stmt);  // before anything that may throw
  std::string touch_error = rc == SQLITE_OK ? "" : sqlite3_errmsg(db);
  std::shared_ptr<TableState>* found = registry->find(schema, name);
  if (found == nullptr) return "no alex table " + schema + "." + name + (touch_error.empty() ? "" : ": " + touch_error);
  TableState& st = **found;
  if (st.broken_rc != SQLITE_OK) return st.broken;
  if (st.unverified) return "alex table " + schema + "." + name + " could not be read: " + touch_error;
  std::vector<std::string> problems;
  if (!touch_error.empty()) problems.push_back(touch_error);
  if (std::string e = st.store.check(); !e.empty()) problems.push_back("store: " + e);
  if (st.store.in_transaction()) return problems.empty() ? "ok" : problems[0];

  Meta meta;
  std::string err;
  const bool have_meta = shadow_read_meta(db, schema, st.name, &meta, &err) == SQLITE_OK;
  if (!have_meta) {
    problems.push_back(err);
  } else {
    if (meta.rows != static_cast<int64_t>(st.store.size())) {
      problems.push_back("meta counts " + std::to_string(meta.rows) + " rows, the cache holds " +
                         std::to_string(st.store.size()));
    }
    if (meta.generation != st.generation) {
      problems.push_back("meta is at generation " + std::to_string(meta.generation) + ", the cache at " +
                         std::to_string(st.generation));
    } else if (meta.has_nonce != st.has_nonce || meta.nonce != st.nonce) {
      problems.push_back("meta names another state of generation " + std::to_string(meta.generation) +
                         " than the cache holds (nonce)");
    }
  }
  std::vector<store::ColumnType> types;
  for (int c = 0; c < st.store.column_count(); c++) types.push_back(st.store.column_type(c));
  Store disk(std::move(types), std::countr_zero(st.store.chunk_rows()));
  const int64_t generation = have_meta ? meta.generation : std::numeric_limits<int64_t>::max();
  if (shadow_load(db, schema, st.name, -1, generation, &disk, &err) != SQLITE_OK) {
    problems.push_back(err);
  } else {
    auto a = st.store.index().begin(), b = disk.index().begin();
    const auto a_end = st.store.index().end(), b_end = disk.index().end();
    for (; a != a_end && b != b_end && problems.size() < 10; ++a, ++b) {
      if (a.key() != b.key()) {
        problems.push_back("key " + std::to_string(a.key()) + " in the cache, " + std::to_string(b.key()) +
                           " in the shadow tables");
        break;
      }
      for (int c = 0; c < st.store.column_count(); c++) {
        if (!(st.store.get(a.payload(), c) == disk.get(b.payload(), c))) {
          problems.push_back("key " + std::to_string(a.key()) + ": stored column " + std::to_string(c) +
                             " differs between the cache and the shadow tables");
        }
      }
    }
    if ((a == a_end) != (b == b_end) && problems.size() < 10) {
      problems.push_back("the cache and the shadow tables hold different numbers of rows");
    }
  }
  if (problems.empty()) return "ok";
  std::string out;
  for (const std::string& p : problems) out += (out.empty() ? "" : "\n") + p;
  return out;
}

void alex_check_function(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const unsigned char* name = sqlite3_value_text(argv[0]);
  const unsigned char* schema = argc > 1 ? sqlite3_value_text(argv[1]) : nullptr;
  if (name == nullptr) {
    sqlite3_result_error(ctx, "alex_check: the first argument names an alex table", -1);
    return;
  }
  try {
    const std::string out = check_table(sqlite3_context_db_handle(ctx), static_cast<Registry*>(sqlite3_user_data(ctx)),
                                        schema ? reinterpret_cast<const char*>(schema) : "main",
                                        reinterpret_cast<const char*>(name));
    sqlite3_result_text64(ctx, out.data(), out.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  }
}

}  // namespace
}  // namespace alex::vtab

extern "C" __attribute__((visibility("default"))) int sqlite3_alex_init(sqlite3* db, char** err,
                                                                        const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)err;
  if (sqlite3_libversion_number() < 3038000) {
    if (err) *err = sqlite3_mprintf("alex: needs SQLite 3.38 or newer (this is %s)", sqlite3_libversion());
    return SQLITE_ERROR;
  }
  auto* registry = new (std::nothrow) alex::vtab::Registry();
  if (registry == nullptr) return SQLITE_NOMEM;
  int rc = sqlite3_create_module_v2(db, "alex", &alex::vtab::kModule, registry, alex::vtab::free_registry);
  for (int n_args : {1, 2}) {
    if (rc == SQLITE_OK) {
      rc = sqlite3_create_function_v2(db, "alex_check", n_args, SQLITE_UTF8, registry, alex::vtab::alex_check_function,
                                      nullptr, nullptr, nullptr);
    }
  }
  return rc;
}
