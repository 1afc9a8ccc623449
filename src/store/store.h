// Copyright (c) the alex authors.
//
// Store: the rows of one `alex` table, in columnar chunks, indexed by key.
//
//   Store s({ColumnType::kReal, ColumnType::kText});
//   s.begin();
//   Value row[] = {Value::Real(21.5), Value::Text("ok")};
//   s.insert(1700000000, row);
//   uint32_t slot = s.find(1700000000);
//   Value v = s.get(slot, 0);             // 21.5
//   s.rollback();                         // the row is gone again
//
// Layout. Every row lives in a slot; slots are grouped in chunks of
// 2^chunk_rows_log2 rows. A chunk holds, per slot, the key and a live bit,
// and per column a ColumnChunk:
//
//   cells   uint64 per slot: the int64 (INTEGER), the double's bits (REAL),
//           or offset << 32 | length of the bytes in `arena` (TEXT, BLOB);
//           for ANY columns whichever of these the value's type needs
//   nulls   one bit per slot, set when the value is NULL (typed columns)
//   types   one ValueType byte per slot (ANY columns only; kNull = NULL)
//   arena   text and blob bytes; updates append, and a chunk whose dead
//           bytes outgrow its live ones is compacted
//
// Lookups and scans never read a chunk's keys (the index holds each key
// with its slot); only persistence, refresh and check() do. So a chunk
// keeps them as an int64 per slot only while it changes, and packed once a
// commit has saved it (see pack_keys).
//
// The ALEX tree (alex::Tree<int64_t, uint32_t>) maps key -> slot; ordered
// scans walk it. Slots are stable while a row lives: an update writes in
// place, a key change moves only the tree entry.
//
// Transactions. Between begin() and commit()/rollback() every change is
// logged in an undo log; savepoint(n) / release(n) / rollback_to(n) follow
// SQLite's xSavepoint/xRelease/xRollbackTo numbering. A slot erased inside
// a transaction keeps its values and is not reused until commit, so undoing
// the erase is just putting the key back. Outside a transaction nothing is
// logged (used by bulk loads and tests).
//
// Dirty tracking. Every chunk a change touches (or an undo restores) is
// marked; persistence writes those chunks and clears the marks.
//
// Values: the caller coerces (STRICT rules live in src/vtab); the store
// requires column_accepts(type, value.type) or NULL, and checks NOT NULL
// nowhere (that is also the caller's).
//
// Thread safety: none; one connection owns a store.

#ifndef ALEX_STORE_STORE_H_
#define ALEX_STORE_STORE_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alex/alex.h"
#include "store/status.h"
#include "store/value.h"

namespace alex::store {

class Store {
 public:
  using Index = alex::Tree<int64_t, uint32_t>;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  static constexpr int kDefaultChunkRowsLog2 = 10;

  explicit Store(std::vector<ColumnType> columns, int chunk_rows_log2 = kDefaultChunkRowsLog2);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  size_t size() const { return index_.size(); }
  int column_count() const { return static_cast<int>(types_.size()); }
  ColumnType column_type(int col) const { return types_[col]; }
  const Index& index() const { return index_; }

  // The slot holding `key`, or kNoSlot.
  uint32_t find(int64_t key) const {
    auto it = index_.find(key);
    return it == index_.end() ? kNoSlot : it.payload();
  }
  // REQUIRES: `slot` holds a live row, 0 <= col < column_count(). Text and
  // blob bytes stay valid until the next change to the store.
  Value get(uint32_t slot, int col) const;
  // get() for an INTEGER or REAL column, as the scan's inner loop wants
  // it: false when the cell is NULL, else true with the value's 64 bits
  // (an int64 or a double) in *bits. REQUIRES: as get(), and the column's
  // type is kInteger or kReal.
  bool get_number(uint32_t slot, int col, uint64_t* bits) const {
    const CellRef& ref = ref_of(slot, col);
    const uint32_t off = offset_of(slot);
    if (bit(static_cast<const uint64_t*>(ref.kinds), off)) return false;
    *bits = ref.cells[off];
    return true;
  }
  // Starts fetching the cells that get() will read for `key`'s row in the
  // columns of the mask (bit c: column c < 64), so that a lookup (or the
  // first row of a range) waits for the index and the row at once instead
  // of one after the other. Only a guess, from chunk_first_: right for a
  // table filled in key order (appended timestamps), a wasted prefetch
  // otherwise, never a wrong answer.
  void prefetch(int64_t key, uint64_t columns) const;

  // Adds a row. REQUIRES: `row` has column_count() values, each NULL or of
  // a type its column accepts. Fails with kConstraint if the key exists.
  Status insert(int64_t key, const Value* row);
  // Removes the row with `key`; false if there was none.
  bool erase(int64_t key);
  // Overwrites one value of a live row. REQUIRES as for insert. A value
  // identical to the stored one (same type, same bits) changes nothing: no
  // undo entry, no dirty chunk, no new version.
  Status update(uint32_t slot, int col, const Value& value);
  // Moves the row at `from` to key `to`. Fails with kConstraint if `to`
  // exists; does nothing if from == to. REQUIRES: `from` exists.
  Status rekey(int64_t from, int64_t to);
  // Transactions; see the top of this file. savepoint/release/rollback_to
  // take SQLite's savepoint numbers (0 = outermost).
  void begin();
  void commit();
  void rollback();
  void savepoint(int n);
  void release(int n);
  void rollback_to(int n);
  bool in_transaction() const { return in_txn_; }
  // Whether the rows differ from those at begin(): a change is logged and
  // not undone.
  bool changed_in_transaction() const { return in_txn_ && !undo_.empty(); }

  // Increases with every change (undo included). A cursor that remembers it
  // knows whether its tree iterator is still valid.
  uint64_t version() const { return version_; }

  // Chunks changed since the last clear_dirty(), ascending, and which of
  // their blobs changed (blob 0: the keys and live bits; blob c + 1:
  // column c). An erase dirties only the keys: the values of a dead slot
  // are ignored when a chunk is loaded.
  std::vector<uint32_t> dirty_chunks() const;
  bool blob_dirty(uint32_t chunk, int blob) const { return bit(chunks_[chunk].dirty, static_cast<uint32_t>(blob)); }
  // Clears the marks once the dirty chunks are saved, and packs their keys.
  void clear_dirty();
  uint32_t chunk_rows() const { return uint32_t{1} << chunk_log2_; }

  size_t memory_bytes() const;
  // Verifies every invariant: the tree's own, tree <-> slots, live counts,
  // free lists, value types, arena bounds and garbage accounting. Returns ""
  // when all hold, else a description of the first violation.
  std::string check() const;

  // Persistence. A chunk is saved as one blob per column plus one for its
  // keys (column -1); the byte layout is in docs/format.md. REQUIRES for
  // encode: no open transaction (erased slots must be released).
  uint32_t chunk_count() const { return static_cast<uint32_t>(chunks_.size()); }
  void encode(uint32_t chunk, int col, std::string* out) const;

  // Replaces a chunk's contents (all of its blobs, keys first) with saved
  // ones: the chunk's old keys leave the index and the new ones enter it.
  // Used both to load a table (chunks 0, 1, ... into an empty store) and
  // to refresh the chunks another connection rewrote; call loaded() after
  // the last one. Chunks past the end are created. REQUIRES: no open
  // transaction. On damaged input returns kCorrupt saying what is wrong
  // (the caller names the shadow table and chunk) and leaves the store
  // inconsistent: clear() it.
  Status load_chunk(uint32_t chunk, const std::string_view* blobs);
  void loaded();
  // Empties a chunk ahead of load_chunk: when several chunks are refreshed,
  // unload them all first, since a key may have moved between them.
  void unload_chunk(uint32_t chunk);
  // Drops every row and chunk (not logged).
  void clear();

 private:
  struct ColumnChunk {
    std::vector<uint64_t> cells;
    std::vector<uint64_t> nulls;  // typed columns
    std::vector<uint8_t> types;   // ANY columns
    std::string arena;
    size_t garbage = 0;  // dead bytes in arena
  };
  struct Chunk {
    // The keys: one per slot (dead slots: anything) while the chunk
    // changes; empty when they are packed (see pack_keys).
    std::vector<int64_t> keys;
    std::string packed;
    std::vector<uint64_t> live;      // one bit per slot
    std::vector<uint64_t> retained;  // erased in the open transaction, values kept
    std::vector<ColumnChunk> columns;
    uint32_t live_count = 0;
    std::vector<uint64_t> dirty;  // one bit per blob (see blob_dirty)
    bool any_dirty = false;
  };
  // An owned copy of a value, for the undo log.
  struct SavedValue {
    ValueType type = ValueType::kNull;
    uint64_t bits = 0;
    std::string bytes;
  };
  // One undo log entry: 24 bytes, since a transaction that inserts n rows
  // logs n of them.
  struct Undo {
    enum class Kind : uint8_t { kInsert, kErase, kUpdate, kRekey };
    Kind kind;
    uint32_t slot;  // kErase, kUpdate: the row's slot
    int64_t key;    // kInsert, kErase: the row's key; kRekey: the old key
    int64_t aux;    // kRekey: the new key; kUpdate: column << 32 | index in saved_
  };
  struct Mark {
    int n;            // savepoint number
    size_t position;  // undo_.size() when it was opened
  };

  Chunk& chunk_of(uint32_t slot) { return chunks_[slot >> chunk_log2_]; }
  const Chunk& chunk_of(uint32_t slot) const { return chunks_[slot >> chunk_log2_]; }
  uint32_t offset_of(uint32_t slot) const { return slot & ((uint32_t{1} << chunk_log2_) - 1); }
  static bool bit(const uint64_t* v, uint32_t i) { return (v[i >> 6] >> (i & 63)) & 1; }
  static bool bit(const std::vector<uint64_t>& v, uint32_t i) { return bit(v.data(), i); }
  static void set_bit(std::vector<uint64_t>& v, uint32_t i, bool on) {
    if (on) v[i >> 6] |= uint64_t{1} << (i & 63);
    else v[i >> 6] &= ~(uint64_t{1} << (i & 63));
  }
  // The type of a non-NULL value in a typed (not ANY) column.
  static ValueType value_type_of(ColumnType ct) {
    static constexpr ValueType kTypeOf[] = {ValueType::kInteger, ValueType::kReal, ValueType::kText, ValueType::kBlob};
    return kTypeOf[static_cast<int>(ct)];
  }
  // The type of the value in a cell.
  static ValueType type_at(const ColumnChunk& c, ColumnType ct, uint32_t off) {
    if (ct == ColumnType::kAny) return static_cast<ValueType>(c.types[off]);
    return bit(c.nulls, off) ? ValueType::kNull : value_type_of(ct);
  }
  bool is_live(uint32_t slot) const { return slot < slot_count() && bit(chunk_of(slot).live, offset_of(slot)); }
  uint32_t slot_count() const { return static_cast<uint32_t>(chunks_.size()) << chunk_log2_; }

  // A chunk's keys are either unpacked (`keys`, one per slot) or packed:
  // the keys of the live slots in slot order, each as the zigzag varint of
  // its difference from the one before (modulo 2^64; the first from 0).
  // Appended timestamps take one to five bytes each instead of eight. The
  // packed form follows the live bits, so a chunk is unpacked before they
  // change. pack_keys keeps keys that would not get smaller unpacked. The
  // key blob (format 2) holds exactly the packed form after the bitmap.
  void pack_keys(Chunk& ch);
  // Writes the packed form of the chunk's (unpacked) keys at p; returns
  // the end. At most ten bytes a key.
  char* put_packed_keys(const Chunk& ch, char* p) const;
  // Whether `bytes` of packed keys beat eight bytes for each of `live` keys.
  static bool packs_smaller(size_t bytes, uint32_t live) { return live == 0 || bytes < size_t{live} * sizeof(int64_t); }
  void unpack_keys(Chunk& ch) {
    if (ch.keys.empty()) unpack_keys_slow(ch);
  }
  void unpack_keys_slow(Chunk& ch);
  // Calls f(offset, key) for each live slot of the chunk, ascending. False
  // (after some calls) if the packed keys run short or long: only check()
  // can see that, since nothing but pack_keys writes them.
  template <class F>
  bool for_each_key(const Chunk& ch, F&& f) const;
  // The key cell of a slot, unpacking its chunk first.
  int64_t& key_cell(uint32_t slot) {
    Chunk& ch = chunk_of(slot);
    unpack_keys(ch);
    return ch.keys[offset_of(slot)];
  }

  // A free slot: the most recently freed one, else the first of a new
  // chunk (whose other slots join the free list).
  uint32_t allocate_slot() {
    if (free_.empty()) return add_chunk();
    const uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  uint32_t add_chunk();
  // Records a change to blob `blob` (0 keys, c + 1 column c) of the
  // slot's chunk, or to all of them (kAllBlobs).
  static constexpr int kAllBlobs = -1;
  void touch(uint32_t slot, int blob) {
    Chunk& ch = chunk_of(slot);
    if (!ch.any_dirty) dirty_.push_back(slot >> chunk_log2_);  // first, as it may throw
    if (blob == kAllBlobs) {
      for (uint64_t& w : ch.dirty) w = ~uint64_t{0};  // a word or two: no memset call
    } else {
      set_bit(ch.dirty, static_cast<uint32_t>(blob), true);
    }
    ch.any_dirty = true;
    version_++;
  }
  void set_live(uint32_t slot, bool on);
  // Writes a value into a cell, releasing the bytes of the old one.
  void store_value(uint32_t slot, int col, const Value& v);
  // Writes a value into an empty cell (NULL, no arena bytes).
  static void fill_cell(ColumnChunk& c, ColumnType ct, uint32_t off, const Value& v);
  [[gnu::noinline]] static uint64_t append_bytes(ColumnChunk& c, std::string_view bytes);
  void clear_row(uint32_t slot);
  SavedValue save(uint32_t slot, int col) const;
  Value view(const SavedValue& s) const;
  void maybe_compact(ColumnChunk& c, ColumnType type);
  Status decode_keys(uint32_t chunk, std::string_view in, std::vector<std::pair<int64_t, uint32_t>>* live);
  Status decode_column(uint32_t chunk, int col, std::string_view in);
  void log(Undo u) {
    if (in_txn_) undo_.push_back(std::move(u));
  }
  void undo_to(size_t position);
  // Empties the undo log, saved values, pending slots and marks at the end
  // of a transaction. A log past kKeptLogEntries (a bulk load in one
  // transaction: 24 bytes per row) is freed, not kept for the next one.
  static constexpr size_t kKeptLogEntries = size_t{1} << 16;
  void end_logs();

  std::vector<ColumnType> types_;
  int chunk_log2_;
  std::vector<Chunk> chunks_;
  // Where get() finds a value: for chunk ch and column c, refs_[ch *
  // column_count() + c] points at the column's cells and at its null
  // bitmap (typed columns) or type bytes (ANY). A read then costs this
  // small table and the cell (with its null word, fetched alongside),
  // instead of a walk chunk -> columns -> column -> cells, one cache miss
  // each. The arrays never move once a chunk exists.
  struct CellRef {
    const uint64_t* cells;
    const void* kinds;  // const uint64_t* nulls, or const uint8_t* types
  };
  static CellRef cell_ref(const ColumnChunk& c, ColumnType type) {
    return {c.cells.data(), type == ColumnType::kAny ? static_cast<const void*>(c.types.data()) : c.nulls.data()};
  }
  std::vector<CellRef> refs_;
  const CellRef& ref_of(uint32_t slot, int col) const {
    return refs_[(slot >> chunk_log2_) * types_.size() + static_cast<size_t>(col)];
  }
  // Per chunk, the key its first row had when written (an insert into
  // offset 0, or the lowest live slot of a loaded chunk). When rows
  // arrive in key order these ascend, and a key's slot is about where
  // linear interpolation between two of them puts it. A hint: nothing
  // corrects it after erases or rekeys, and prefetch() only reads it.
  std::vector<int64_t> chunk_first_;
  Index index_;
  std::vector<uint32_t> free_;          // reusable slots (may hold stale entries; checked on pop)
  std::vector<uint32_t> pending_free_;  // erased in the open transaction (stale once un-erased)
  // The chunks touched since clear_dirty(), so that a commit costs the
  // chunks it changed, not the chunks in the table. Holds every chunk with
  // any_dirty, in no order; a chunk reloaded since is stale here.
  std::vector<uint32_t> dirty_;
  bool in_txn_ = false;
  std::vector<Undo> undo_;
  std::vector<SavedValue> saved_;  // old values of kUpdate entries, in log order
  std::vector<Mark> marks_;  // ascending n and position
  int base_level_ = -1;      // savepoints 0..base_level_ hold the starting state (rollback_to)
  uint64_t version_ = 0;
  std::string pack_buffer_;  // pack_keys' scratch, kept between calls
};

// Inline: it is the inner loop of every scan, and the caller's switch on
// the type folds into it.
inline Value Store::get(uint32_t slot, int col) const {
  const CellRef& ref = ref_of(slot, col);
  const uint32_t off = offset_of(slot);
  const uint64_t cell = ref.cells[off];
  const ColumnType ct = types_[col];
  ValueType t;
  if (ct == ColumnType::kAny) {
    t = static_cast<ValueType>(static_cast<const uint8_t*>(ref.kinds)[off]);
  } else if (bit(static_cast<const uint64_t*>(ref.kinds), off)) {
    t = ValueType::kNull;
  } else {
    t = value_type_of(ct);
  }
  switch (t) {
    case ValueType::kNull: return Value::Null();
    case ValueType::kInteger: return Value::Integer(static_cast<int64_t>(cell));
    case ValueType::kReal: return Value::Real(std::bit_cast<double>(cell));
    default: {
      Value v;
      v.type = t;
      v.bytes = std::string_view(chunk_of(slot).columns[col].arena.data() + (cell >> 32), cell & 0xffffffffu);
      return v;
    }
  }
}

}  // namespace alex::store

#endif  // ALEX_STORE_STORE_H_
