// Copyright (c) the alex authors.

#include "store/store.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace alex::store {
namespace {

bool uses_arena(ValueType t) { return t == ValueType::kText || t == ValueType::kBlob; }

uint64_t real_bits(double d) { return std::bit_cast<uint64_t>(d); }

// Same type and the same bits: a REAL -0.0 is not 0.0 here, since writing
// one over the other changes what the row holds.
bool identical(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ValueType::kNull: return true;
    case ValueType::kInteger: return a.i == b.i;
    case ValueType::kReal: return real_bits(a.r) == real_bits(b.r);
    default: return a.bytes == b.bytes;
  }
}

// A chunk's arena is compacted once its dead bytes exceed both its live
// bytes and this floor (so small chunks never bother).
constexpr size_t kCompactFloor = 4096;

}  // namespace

Store::Store(std::vector<ColumnType> columns, int chunk_rows_log2)
    : types_(std::move(columns)), chunk_log2_(std::clamp(chunk_rows_log2, 6, 20)) {}

namespace {

// Varints and the reader serve both the packed keys and the blobs.
char* put_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
void put_varint(std::string* out, uint64_t v) {
  char buf[10];
  out->append(buf, put_varint(buf, v) - buf);
}

// A bounds-checked reader: every get fails (returns false) rather than
// read past the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t* v) {
    if (pos_ + 1 > in_.size()) return false;
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool u32(uint32_t* v) {
    if (in_.size() - pos_ < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; i++) *v |= uint32_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t* v) {
    if (in_.size() - pos_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; i++) *v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += 8;
    return true;
  }
  // False also for a value past 64 bits (the tenth byte holds bit 63 only).
  bool varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!u8(&b)) return false;
      *v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return shift < 63 || b <= 1;
    }
    return false;
  }
  bool bytes(uint64_t n, std::string_view* v) {
    if (in_.size() - pos_ < n) return false;
    *v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

uint64_t zigzag(uint64_t d) { return (d << 1) ^ (0 - (d >> 63)); }
uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

}  // namespace

template <class F>
bool Store::for_each_key(const Chunk& ch, F&& f) const {
  const uint32_t rows = chunk_rows();
  if (!ch.keys.empty()) {
    for (uint32_t off = 0; off < rows; off++) {
      if (bit(ch.live, off)) f(off, ch.keys[off]);
    }
    return true;
  }
  Reader r(ch.packed);
  uint64_t key = 0;
  for (uint32_t off = 0; off < rows; off++) {
    if (!bit(ch.live, off)) continue;
    uint64_t z;
    if (!r.varint(&z)) return false;
    key += unzigzag(z);
    f(off, static_cast<int64_t>(key));
  }
  return r.done();
}

char* Store::put_packed_keys(const Chunk& ch, char* p) const {
  uint64_t prev = 0;
  for_each_key(ch, [&](uint32_t, int64_t k) {
    p = put_varint(p, zigzag(static_cast<uint64_t>(k) - prev));
    prev = static_cast<uint64_t>(k);
  });
  return p;
}

void Store::pack_keys(Chunk& ch) {
  if (ch.keys.empty()) return;
  // One pass into room for the worst case (ten bytes a key), then a copy
  // of what it took.
  std::string& buffer = pack_buffer_;
  if (buffer.size() < size_t{10} * ch.live_count) buffer.resize(size_t{10} * ch.live_count);
  const size_t size = static_cast<size_t>(put_packed_keys(ch, buffer.data()) - buffer.data());
  if (!packs_smaller(size, ch.live_count)) return;  // stay unpacked
  ch.packed.assign(buffer.data(), size);
  std::vector<int64_t>().swap(ch.keys);
}

void Store::unpack_keys_slow(Chunk& ch) {
  std::vector<int64_t> keys(chunk_rows(), 0);
  for_each_key(ch, [&](uint32_t off, int64_t k) { keys[off] = k; });
  ch.keys = std::move(keys);
  std::string().swap(ch.packed);
}

void Store::prefetch(int64_t key, uint64_t columns) const {
  // The chunk: the last one whose first key is <= key. Interpolating
  // between the first and last chunk's first keys lands on it or next to
  // it when rows arrive at a steady rate; else a binary search (which,
  // when the first keys are not in order, finds some chunk: a wasted
  // prefetch).
  const size_t n = chunk_first_.size();
  const int64_t* first = chunk_first_.data();
  if (columns == 0 || n < 2 || key < first[0]) return;
  size_t c = n - 1;
  if (key < first[n - 1]) {
    // In doubles, which may round two close keys alike: then `at` is NaN
    // or out of [0, 1), and the search below starts from chunk 0.
    const double at = (static_cast<double>(key) - static_cast<double>(first[0])) /
                      (static_cast<double>(first[n - 1]) - static_cast<double>(first[0]));
    c = at >= 0 && at < 1 ? std::min(static_cast<size_t>(at * static_cast<double>(n - 1)), n - 2) : 0;
    if (first[c] > key || first[c + 1] <= key) {
      if (c > 0 && first[c - 1] <= key && first[c] > key) c--;
      else if (first[c + 1] <= key && first[c + 2] > key) c++;  // c + 2 <= n - 1
      else c = static_cast<size_t>(std::upper_bound(first + 1, first + n, key) - first) - 1;
    }
  }
  // The row: interpolate within the chunk (the last one by its
  // predecessor's spacing) and fetch 4 rows either side of the guess.
  const double span = c + 1 < n ? static_cast<double>(first[c + 1]) - static_cast<double>(first[c])
                                 : static_cast<double>(first[c]) - static_cast<double>(first[c - 1]);
  const double rows = chunk_rows();
  const double at = (static_cast<double>(key) - static_cast<double>(first[c])) / span * rows;
  if (!(span > 0 && at >= 0 && at < rows)) return;  // keys out of order, or past the end
  const uint32_t off = static_cast<uint32_t>(at);
  const uint32_t lo = off < 4 ? 0 : off - 4;
  const uint32_t hi = std::min(off + 4, chunk_rows() - 1);
  const CellRef* ref = &refs_[c * types_.size()];
  for (size_t col = 0; col < std::min<size_t>(types_.size(), 64); col++) {
    if (!((columns >> col) & 1)) continue;
    __builtin_prefetch(ref[col].cells + lo);
    __builtin_prefetch(ref[col].cells + hi);
    if (types_[col] == ColumnType::kAny) __builtin_prefetch(static_cast<const uint8_t*>(ref[col].kinds) + off);
    else __builtin_prefetch(static_cast<const uint64_t*>(ref[col].kinds) + off / 64);
  }
}

uint32_t Store::add_chunk() {
  const uint32_t rows = chunk_rows();
  const uint32_t words = (rows + 63) / 64;
  Chunk ch;
  ch.keys.assign(rows, 0);
  ch.live.assign(words, 0);
  ch.retained.assign(words, 0);
  ch.dirty.assign((types_.size() + 1 + 63) / 64, 0);
  ch.columns.resize(types_.size());
  for (size_t i = 0; i < types_.size(); i++) {
    ColumnChunk& c = ch.columns[i];
    c.cells.assign(rows, 0);
    if (types_[i] == ColumnType::kAny) c.types.assign(rows, static_cast<uint8_t>(ValueType::kNull));
    else c.nulls.assign(words, ~uint64_t{0});
  }
  const uint32_t first = slot_count();
  // Room first: nothing below throws once the chunk is in.
  if (refs_.capacity() < refs_.size() + types_.size()) refs_.reserve(2 * refs_.size() + types_.size());
  if (chunk_first_.capacity() == chunk_first_.size()) chunk_first_.reserve(2 * chunk_first_.size() + 1);
  chunks_.push_back(std::move(ch));
  chunk_first_.push_back(0);
  for (size_t i = 0; i < types_.size(); i++) refs_.push_back(cell_ref(chunks_.back().columns[i], types_[i]));
  // Hand out the new chunk's slots in ascending order: the rest go on the
  // free list highest first, so pops return first+1, first+2, ...
  for (uint32_t s = first + rows - 1; s > first; s--) free_.push_back(s);
  return first;
}

void Store::set_live(uint32_t slot, bool on) {
  Chunk& ch = chunk_of(slot);
  unpack_keys(ch);  // the packed keys follow the live bits
  set_bit(ch.live, offset_of(slot), on);
  if (on) ch.live_count++;
  else ch.live_count--;
  touch(slot, 0);
}

// Inline: an insert runs it for every column.
inline void Store::fill_cell(ColumnChunk& c, ColumnType ct, uint32_t off, const Value& v) {
  uint64_t cell;
  switch (v.type) {
    case ValueType::kNull: cell = 0; break;
    case ValueType::kInteger: cell = static_cast<uint64_t>(v.i); break;
    case ValueType::kReal: cell = real_bits(v.r); break;
    default: cell = append_bytes(c, v.bytes); break;
  }
  c.cells[off] = cell;
  if (ct == ColumnType::kAny) {
    c.types[off] = static_cast<uint8_t>(v.type);
  } else {
    uint64_t& word = c.nulls[off >> 6];
    const uint64_t mask = uint64_t{1} << (off & 63);
    word = v.type == ValueType::kNull ? word | mask : word & ~mask;
  }
}

uint64_t Store::append_bytes(ColumnChunk& c, std::string_view bytes) {
  const uint64_t cell = (uint64_t{c.arena.size()} << 32) | bytes.size();
  c.arena.append(bytes);
  return cell;
}

void Store::store_value(uint32_t slot, int col, const Value& v) {
  ColumnChunk& c = chunk_of(slot).columns[col];
  const uint32_t off = offset_of(slot);
  const ColumnType ct = types_[col];
  // Release the bytes of the value being replaced.
  if (uses_arena(type_at(c, ct, off))) c.garbage += c.cells[off] & 0xffffffffu;
  fill_cell(c, ct, off, v);
  if (c.garbage > kCompactFloor && c.garbage > c.arena.size() - c.garbage) maybe_compact(c, ct);
}

// Rewrites the arena with only the bytes live cells point at. Cells of
// dead slots were released (set to NULL) by clear_row; cells of slots
// erased in the open transaction keep their bytes, since the erase may be
// undone.
void Store::maybe_compact(ColumnChunk& c, ColumnType ct) {
  std::string fresh;
  fresh.reserve(c.arena.size() - c.garbage);
  for (size_t off = 0; off < c.cells.size(); off++) {
    if (!uses_arena(type_at(c, ct, static_cast<uint32_t>(off)))) continue;
    const uint64_t cell = c.cells[off];
    const uint64_t len = cell & 0xffffffffu;
    const uint64_t at = fresh.size();
    fresh.append(c.arena, cell >> 32, len);
    c.cells[off] = (at << 32) | len;
  }
  c.arena = std::move(fresh);
  c.garbage = 0;
}

void Store::clear_row(uint32_t slot) {
  for (int col = 0; col < column_count(); col++) store_value(slot, col, Value::Null());
}

Store::SavedValue Store::save(uint32_t slot, int col) const {
  const Value v = get(slot, col);
  SavedValue s;
  s.type = v.type;
  if (v.type == ValueType::kInteger) s.bits = static_cast<uint64_t>(v.i);
  else if (v.type == ValueType::kReal) s.bits = real_bits(v.r);
  else if (uses_arena(v.type)) s.bytes.assign(v.bytes);
  return s;
}

Value Store::view(const SavedValue& s) const {
  Value v;
  v.type = s.type;
  if (s.type == ValueType::kInteger) v.i = static_cast<int64_t>(s.bits);
  else if (s.type == ValueType::kReal) v.r = std::bit_cast<double>(s.bits);
  else v.bytes = s.bytes;
  return v;
}

Status Store::insert(int64_t key, const Value* row) {
  const int columns = column_count();
  for (int col = 0; col < columns; col++) {
    if (uses_arena(row[col].type) && row[col].bytes.size() > UINT32_MAX / 2) return Status::TooBig("string or blob too big");
  }
  const uint32_t slot = allocate_slot();
  Chunk& ch = chunk_of(slot);
  unpack_keys(ch);  // before the live bit changes
  if (!index_.insert(key, slot).second) {
    free_.push_back(slot);  // untouched: hand it back
    return Status::Constraint("key exists");
  }
  const uint32_t off = offset_of(slot);
  ch.keys[off] = key;
  if (off == 0) chunk_first_[slot >> chunk_log2_] = key;
  // A free slot holds NULLs and no arena bytes (check() says so): nothing
  // to release before writing.
  for (int col = 0; col < columns; col++) fill_cell(ch.columns[col], types_[col], off, row[col]);
  set_bit(ch.live, off, true);
  ch.live_count++;
  touch(slot, kAllBlobs);
  log({Undo::Kind::kInsert, slot, key, 0});
  return Status::OK();
}

bool Store::erase(int64_t key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  const uint32_t slot = it.payload();
  index_.erase(key);
  set_live(slot, false);
  if (in_txn_) {
    set_bit(chunk_of(slot).retained, offset_of(slot), true);
    pending_free_.push_back(slot);
    log({Undo::Kind::kErase, slot, key, 0});
  } else {
    clear_row(slot);
    free_.push_back(slot);
  }
  return true;
}

Status Store::update(uint32_t slot, int col, const Value& value) {
  if (identical(get(slot, col), value)) return Status::OK();
  if (uses_arena(value.type) && value.bytes.size() > UINT32_MAX / 2) return Status::TooBig("string or blob too big");
  if (in_txn_) {
    saved_.push_back(save(slot, col));
    log({Undo::Kind::kUpdate, slot, 0, static_cast<int64_t>(uint64_t(col) << 32 | (saved_.size() - 1))});
  }
  store_value(slot, col, value);
  touch(slot, col + 1);
  return Status::OK();
}

Status Store::rekey(int64_t from, int64_t to) {
  if (from == to) return Status::OK();
  if (index_.find(to) != index_.end()) return Status::Constraint("key exists");
  auto it = index_.find(from);
  const uint32_t slot = it.payload();
  int64_t& key_ref = key_cell(slot);
  index_.erase(from);
  index_.insert(to, slot);
  key_ref = to;
  touch(slot, 0);
  log({Undo::Kind::kRekey, 0, from, to});
  return Status::OK();
}

void Store::begin() {
  in_txn_ = true;
  undo_.clear();
  saved_.clear();
  marks_.clear();
  base_level_ = -1;
  pending_free_.clear();
}

void Store::commit() {
  in_txn_ = false;
  // Erased slots become reusable. The list may name a slot whose erase was
  // undone (or that was erased again since): the retained bit decides.
  for (uint32_t slot : pending_free_) {
    std::vector<uint64_t>& retained = chunk_of(slot).retained;
    if (!bit(retained, offset_of(slot))) continue;
    set_bit(retained, offset_of(slot), false);
    clear_row(slot);
    free_.push_back(slot);
  }
  end_logs();
}

void Store::rollback() {
  undo_to(0);
  in_txn_ = false;
  end_logs();  // every erase was undone: all pending slots are live
}

void Store::end_logs() {
  auto empty = [](auto& v) {
    if (v.capacity() > kKeptLogEntries) std::remove_reference_t<decltype(v)>().swap(v);
    else v.clear();
  };
  empty(undo_);
  empty(saved_);
  empty(pending_free_);
  marks_.clear();
}

// SQLite announces to a table only the savepoints opened after it joined
// the transaction, plus, right at xBegin, the newest one open then: every
// savepoint up to that one holds the state the table started from. So
// does every savepoint opened while the undo log is still empty.
// base_level_ is the highest savepoint number known to hold that state.
void Store::savepoint(int n) {
  while (!marks_.empty() && marks_.back().n > n) marks_.pop_back();
  // Announced again (a second sqlite3_vtab sharing this store joined the
  // transaction): the savepoint still starts where it was first marked.
  if (!marks_.empty() && marks_.back().n == n) return;
  marks_.push_back({n, undo_.size()});
  if (undo_.empty() && n > base_level_) base_level_ = n;
}

void Store::release(int n) {
  while (!marks_.empty() && marks_.back().n >= n) marks_.pop_back();
  if (base_level_ >= n) base_level_ = n - 1;
}

// Undoes back to savepoint n, which stays open: to the start for a
// savepoint that holds the starting state, else to its mark.
void Store::rollback_to(int n) {
  if (n <= base_level_) {
    undo_to(0);
    marks_.clear();
    base_level_ = n;
    return;
  }
  auto it = std::find_if(marks_.begin(), marks_.end(), [n](const Mark& m) { return m.n >= n; });
  if (it == marks_.end()) return;  // not announced: SQLite never asks for one
  undo_to(it->position);
  marks_.erase(it + 1, marks_.end());
  it->n = n;
}

void Store::undo_to(size_t position) {
  while (undo_.size() > position) {
    Undo& u = undo_.back();
    switch (u.kind) {
      case Undo::Kind::kInsert:
        index_.erase(u.key);
        set_live(u.slot, false);
        clear_row(u.slot);
        free_.push_back(u.slot);
        break;
      case Undo::Kind::kErase:
        set_bit(chunk_of(u.slot).retained, offset_of(u.slot), false);
        key_cell(u.slot) = u.key;
        index_.insert(u.key, u.slot);
        set_live(u.slot, true);
        break;
      case Undo::Kind::kUpdate: {
        const int col = static_cast<int>(static_cast<uint64_t>(u.aux) >> 32);
        store_value(u.slot, col, view(saved_.back()));
        saved_.pop_back();
        touch(u.slot, col + 1);
        break;
      }
      case Undo::Kind::kRekey: {
        const uint32_t slot = index_.find(u.aux).payload();
        int64_t& key_ref = key_cell(slot);
        index_.erase(u.aux);
        index_.insert(u.key, slot);
        key_ref = u.key;
        touch(slot, 0);
        break;
      }
    }
    undo_.pop_back();
  }
}

std::vector<uint32_t> Store::dirty_chunks() const {
  std::vector<uint32_t> out;
  for (uint32_t i : dirty_) {
    if (chunks_[i].any_dirty) out.push_back(i);  // else reloaded since
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Store::clear_dirty() {
  for (uint32_t i : dirty_) {
    Chunk& ch = chunks_[i];
    std::fill(ch.dirty.begin(), ch.dirty.end(), 0);
    ch.any_dirty = false;
  }
  // Packing last: it allocates, and a failure leaves the keys unpacked.
  for (uint32_t i : dirty_) pack_keys(chunks_[i]);
  dirty_.clear();
}

size_t Store::memory_bytes() const {
  size_t bytes = sizeof(*this) + index_.memory_bytes() + chunks_.capacity() * sizeof(Chunk) +
                 free_.capacity() * sizeof(uint32_t) + pending_free_.capacity() * sizeof(uint32_t) +
                 undo_.capacity() * sizeof(Undo) + dirty_.capacity() * sizeof(uint32_t) +
                 refs_.capacity() * sizeof(CellRef) + chunk_first_.capacity() * sizeof(int64_t) + pack_buffer_.capacity();
  for (const Chunk& ch : chunks_) {
    bytes += ch.keys.capacity() * sizeof(int64_t) + ch.packed.capacity() + (ch.live.capacity() + ch.retained.capacity()) * sizeof(uint64_t) +
             ch.columns.capacity() * sizeof(ColumnChunk);
    for (const ColumnChunk& c : ch.columns) {
      bytes += c.cells.capacity() * sizeof(uint64_t) + c.nulls.capacity() * sizeof(uint64_t) + c.types.capacity() +
               c.arena.capacity();
    }
  }
  bytes += saved_.capacity() * sizeof(SavedValue);
  for (const SavedValue& v : saved_) bytes += v.bytes.capacity();
  return bytes;
}

std::string Store::check() const {
  if (std::string e = index_.check(); !e.empty()) return "index: " + e;
  // Tree -> slots, and each live slot's key -> the tree (with the live
  // counts below, a one-to-one match).
  size_t n = 0;
  for (auto it = index_.begin(); it != index_.end(); ++it, ++n) {
    const uint32_t slot = it.payload();
    if (slot >= slot_count()) return "key " + std::to_string(it.key()) + " maps to slot " + std::to_string(slot) + " past the end";
    if (!is_live(slot)) return "key " + std::to_string(it.key()) + " maps to dead slot " + std::to_string(slot);
  }
  if (n != index_.size()) return "index iterates " + std::to_string(n) + " keys but has size " + std::to_string(index_.size());
  if (refs_.size() != chunks_.size() * types_.size()) return "the cell table has " + std::to_string(refs_.size()) + " entries";
  for (uint32_t ci = 0; ci < chunks_.size(); ci++) {
    const Chunk& ch = chunks_[ci];
    for (size_t col = 0; col < types_.size(); col++) {
      const CellRef& ref = refs_[ci * types_.size() + col];
      const CellRef want = cell_ref(ch.columns[col], types_[col]);
      if (ref.cells != want.cells || ref.kinds != want.kinds) {
        return "chunk " + std::to_string(ci) + " column " + std::to_string(col) + ": the cell table points elsewhere";
      }
    }
    if (!ch.keys.empty() && !ch.packed.empty()) return "chunk " + std::to_string(ci) + " holds its keys both packed and unpacked";
    if (!ch.keys.empty() && ch.keys.size() != chunk_rows()) return "chunk " + std::to_string(ci) + " has a short key array";
    std::string wrong;
    const bool whole = for_each_key(ch, [&](uint32_t off, int64_t k) {
      const uint32_t slot = (ci << chunk_log2_) | off;
      if (wrong.empty() && find(k) != slot) {
        wrong = "slot " + std::to_string(slot) + " holds key " + std::to_string(k) + ", which the index maps elsewhere";
      }
    });
    if (!wrong.empty()) return wrong;
    if (!whole) return "chunk " + std::to_string(ci) + ": packed keys do not match its live slots";
  }
  // Dirty chunks -> the dirty list.
  std::vector<bool> dirty_listed(chunks_.size());
  for (uint32_t i : dirty_) {
    if (i >= chunks_.size()) return "the dirty list holds chunk " + std::to_string(i) + ", past the end";
    dirty_listed[i] = true;
  }
  for (uint32_t i = 0; i < chunks_.size(); i++) {
    if (chunks_[i].any_dirty && !dirty_listed[i]) return "chunk " + std::to_string(i) + " is dirty but not in the dirty list";
  }
  // Every slot is exactly one of: indexed (live), free, or erased in the
  // open transaction (dead, values retained for undo).
  enum : uint8_t { kUnseen, kIndexed, kFree, kPending };
  std::vector<uint8_t> state(slot_count(), kUnseen);
  for (auto it = index_.begin(); it != index_.end(); ++it) {
    if (state[it.payload()] != kUnseen) return "slot " + std::to_string(it.payload()) + " is indexed twice";
    state[it.payload()] = kIndexed;
  }
  for (uint32_t s : free_) {
    if (s >= slot_count() || state[s] != kUnseen) return "free list holds slot " + std::to_string(s) + ", which is live or listed twice";
    state[s] = kFree;
  }
  std::vector<uint8_t> listed(slot_count(), 0);
  for (uint32_t s : pending_free_) {
    if (s >= slot_count()) return "pending slot " + std::to_string(s) + " past the end";
    listed[s] = 1;
  }
  for (uint32_t s = 0; s < slot_count(); s++) {
    if (!bit(chunk_of(s).retained, offset_of(s))) continue;
    if (state[s] != kUnseen) return "slot " + std::to_string(s) + " is retained for undo but also live or free";
    if (!listed[s]) return "slot " + std::to_string(s) + " is retained for undo but not pending";
    state[s] = kPending;
  }
  for (uint32_t s = 0; s < slot_count(); s++) {
    if (state[s] == kUnseen) return "slot " + std::to_string(s) + " is neither live, free nor retained (leaked)";
  }
  size_t live = 0;
  for (uint32_t ci = 0; ci < chunks_.size(); ci++) {
    const Chunk& ch = chunks_[ci];
    uint32_t count = 0;
    for (uint64_t w : ch.live) count += std::popcount(w);
    if (count != ch.live_count) return "chunk " + std::to_string(ci) + " counts " + std::to_string(ch.live_count) + " live rows, bitmap has " + std::to_string(count);
    live += count;
    for (size_t col = 0; col < types_.size(); col++) {
      const ColumnChunk& c = ch.columns[col];
      size_t used = 0;
      for (uint32_t off = 0; off < chunk_rows(); off++) {
        if (types_[col] == ColumnType::kAny && c.types[off] > static_cast<uint8_t>(ValueType::kBlob)) {
          return "chunk " + std::to_string(ci) + " column " + std::to_string(col) + ": bad type byte";
        }
        const ValueType t = type_at(c, types_[col], off);
        const uint32_t slot = (ci << chunk_log2_) | off;
        if (bit(ch.live, off) != (state[slot] == kIndexed)) return "slot " + std::to_string(slot) + ": live bit disagrees with the index";
        if (state[slot] == kFree && t != ValueType::kNull) {
          return "dead slot " + std::to_string(slot) + " column " + std::to_string(col) + " holds a value";
        }
        if (uses_arena(t)) {
          const uint64_t cell = c.cells[off];
          if ((cell >> 32) + (cell & 0xffffffffu) > c.arena.size()) {
            return "slot " + std::to_string(slot) + " column " + std::to_string(col) + " points past its arena";
          }
          used += cell & 0xffffffffu;
        }
      }
      if (used + c.garbage != c.arena.size()) {
        return "chunk " + std::to_string(ci) + " column " + std::to_string(col) + ": arena holds " +
               std::to_string(c.arena.size()) + " bytes, live " + std::to_string(used) + " + garbage " +
               std::to_string(c.garbage);
      }
    }
  }
  if (live != index_.size()) return std::to_string(live) + " live slots but " + std::to_string(index_.size()) + " keys";
  if (!in_txn_ && (!undo_.empty() || !saved_.empty() || !pending_free_.empty())) return "undo state outside a transaction";
  return "";
}

}  // namespace alex::store

// ---------------------------------------------------------------------------
// Persistence: chunk blobs (docs/format.md).

namespace alex::store {
namespace {

// Blob formats (docs/format.md): 2 is written; 1 (keys and numbers at a
// fixed eight bytes, a type byte per slot in every column) is still read.
constexpr uint8_t kBlobFormat = 2;
constexpr uint8_t kBlobFormatFixed = 1;

// Writes v little-endian at p; returns the end.
template <class T>
char* put_le(char* p, T v) {
  for (size_t i = 0; i < sizeof(T); i++) p[i] = static_cast<char>(v >> (8 * i));
  return p + sizeof(T);
}
void put_u64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
}  // namespace

void Store::encode(uint32_t chunk, int col, std::string* out) const {
  const Chunk& ch = chunks_[chunk];
  const uint32_t rows = chunk_rows();
  // Sized for the largest fixed-width result up front (a bitmap and a
  // ten-byte varint per slot, or a type byte and eight bytes per slot);
  // writes go through a cursor and the string is cut to length at the end.
  out->resize(5 + size_t{10} * rows + rows / 8);
  char* p = out->data();
  *p++ = static_cast<char>(kBlobFormat);
  p = put_le(p, rows);
  if (col < 0) {
    // Keys: the live bitmap, then the packed keys (see pack_keys).
    for (uint64_t w : ch.live) p = put_le(p, w);
    p = ch.keys.empty() ? std::copy(ch.packed.begin(), ch.packed.end(), p) : put_packed_keys(ch, p);
    out->resize(p - out->data());
    return;
  }
  const ColumnChunk& c = ch.columns[col];
  const ColumnType ct = types_[col];
  if (ct != ColumnType::kAny) {
    // A typed column: a bitmap of the slots that hold a value (live and
    // not NULL), then each value in slot order: an INTEGER as the zigzag
    // varint of its difference from the one before (the first from 0), a
    // REAL as eight bytes, TEXT and BLOB as a varint length and the bytes.
    const size_t words = c.nulls.size();
    for (size_t i = 0; i < words; i++) p = put_le(p, ch.live[i] & ~c.nulls[i]);
    const bool bytes = ct == ColumnType::kText || ct == ColumnType::kBlob;
    if (bytes) out->resize(p - out->data());  // appended from here on
    uint64_t prev = 0;
    for (size_t i = 0; i < words; i++) {
      for (uint64_t w = ch.live[i] & ~c.nulls[i]; w != 0; w &= w - 1) {
        const uint64_t cell = c.cells[i * 64 + static_cast<size_t>(std::countr_zero(w))];
        if (bytes) {
          put_varint(out, cell & 0xffffffffu);
          out->append(c.arena, cell >> 32, cell & 0xffffffffu);
        } else if (ct == ColumnType::kInteger) {
          p = put_varint(p, zigzag(cell - prev));
          prev = cell;
        } else {
          p = put_le(p, cell);
        }
      }
    }
    if (!bytes) out->resize(p - out->data());
    return;
  }
  // ANY: one type byte per slot (ValueType; dead slots are NULL), then
  // each non-NULL value: eight bytes for integers and reals, a varint
  // length and the bytes for text and blobs.
  const size_t types_at = static_cast<size_t>(p - out->data());
  out->resize(types_at + rows);
  for (uint32_t off = 0; off < rows; off++) {
    const uint32_t slot = (chunk << chunk_log2_) | off;
    const Value v = bit(ch.live, off) ? get(slot, col) : Value::Null();
    (*out)[types_at + off] = static_cast<char>(v.type);
    switch (v.type) {
      case ValueType::kNull: break;
      case ValueType::kInteger: put_u64(out, static_cast<uint64_t>(v.i)); break;
      case ValueType::kReal: put_u64(out, std::bit_cast<uint64_t>(v.r)); break;
      default:
        put_varint(out, v.bytes.size());
        out->append(v.bytes);
        break;
    }
  }
}

Status Store::decode_keys(uint32_t chunk, std::string_view in, std::vector<std::pair<int64_t, uint32_t>>* live) {
  Reader r(in);
  uint8_t format;
  uint32_t rows;
  if (!r.u8(&format) || (format != kBlobFormat && format != kBlobFormatFixed)) return Status::Corrupt("unknown blob format");
  if (!r.u32(&rows) || rows != chunk_rows()) return Status::Corrupt("wrong row count");
  Chunk& ch = chunks_[chunk];
  unpack_keys(ch);  // now that nothing is live (unload_chunk)
  for (uint64_t& w : ch.live) {
    if (!r.u64(&w)) return Status::Corrupt("truncated live bitmap");
  }
  ch.live_count = 0;
  uint64_t k = 0;
  for (uint32_t off = 0; off < rows; off++) {
    ch.keys[off] = 0;
    if (!bit(ch.live, off)) continue;
    if (format == kBlobFormatFixed) {
      if (!r.u64(&k)) return Status::Corrupt("truncated keys");
    } else {
      uint64_t z;
      if (!r.varint(&z)) return Status::Corrupt("truncated or malformed keys");
      k += unzigzag(z);
    }
    ch.keys[off] = static_cast<int64_t>(k);
    ch.live_count++;
    live->push_back({static_cast<int64_t>(k), (chunk << chunk_log2_) | off});
  }
  if (!r.done()) return Status::Corrupt("trailing bytes after keys");
  const std::string_view packed = in.substr(5 + ch.live.size() * sizeof(uint64_t));
  if (format == kBlobFormat && packs_smaller(packed.size(), ch.live_count)) {
    // Format 2 stores the packed form itself (see pack_keys): keep it.
    ch.packed.assign(packed);
    std::vector<int64_t>().swap(ch.keys);
  } else {
    pack_keys(ch);
  }
  return Status::OK();
}

Status Store::decode_column(uint32_t chunk, int col, std::string_view in) {
  Reader r(in);
  uint8_t format;
  uint32_t rows;
  if (!r.u8(&format) || (format != kBlobFormat && format != kBlobFormatFixed)) return Status::Corrupt("unknown blob format");
  if (!r.u32(&rows) || rows != chunk_rows()) return Status::Corrupt("wrong row count");
  Chunk& ch = chunks_[chunk];
  ColumnChunk& c = ch.columns[col];
  const ColumnType ct = types_[col];
  c.arena.clear();
  c.garbage = 0;
  // Reads the value of slot `off`, of type t, and writes it straight into
  // the cell (the old contents are gone).
  uint64_t prev = 0;  // format 2 INTEGER columns: the value before
  auto read = [&](uint32_t off, ValueType t) -> Status {
    Value v;
    v.type = t;
    uint64_t u;
    switch (t) {
      case ValueType::kNull: break;
      case ValueType::kInteger:
        if (format == kBlobFormat && ct == ColumnType::kInteger) {
          if (!r.varint(&u)) return Status::Corrupt("truncated or malformed value");
          u = prev += unzigzag(u);
        } else if (!r.u64(&u)) {
          return Status::Corrupt("truncated value");
        }
        v.i = static_cast<int64_t>(u);
        break;
      case ValueType::kReal:
        if (!r.u64(&u)) return Status::Corrupt("truncated value");
        v.r = std::bit_cast<double>(u);
        break;
      default:
        if (!r.varint(&u) || u > UINT32_MAX / 2 || !r.bytes(u, &v.bytes)) return Status::Corrupt("truncated or malformed value");
        break;
    }
    // A dead slot's value is left over from before an erase (an erase
    // rewrites only the keys): read past it, keep NULL.
    if (!bit(ch.live, off)) v = Value::Null();
    fill_cell(c, ct, off, v);
    return Status::OK();
  };
  if (format == kBlobFormatFixed || ct == ColumnType::kAny) {
    std::string_view types;
    if (!r.bytes(rows, &types)) return Status::Corrupt("truncated type bytes");
    for (uint32_t off = 0; off < rows; off++) {
      const uint8_t t = static_cast<uint8_t>(types[off]);
      if (t > static_cast<uint8_t>(ValueType::kBlob)) return Status::Corrupt("bad type byte");
      const ValueType type = static_cast<ValueType>(t);
      if (type != ValueType::kNull && !column_accepts(ct, type)) return Status::Corrupt("value of the wrong type");
      if (Status s = read(off, type); !s.ok()) return s;
    }
  } else {
    const ValueType type = value_type_of(ct);
    std::string_view bitmap;
    if (!r.bytes(rows / 8, &bitmap)) return Status::Corrupt("truncated value bitmap");
    for (uint32_t off = 0; off < rows; off++) {
      const bool has = (static_cast<uint8_t>(bitmap[off / 8]) >> (off % 8)) & 1;
      if (Status s = read(off, has ? type : ValueType::kNull); !s.ok()) return s;
    }
  }
  if (!r.done()) return Status::Corrupt("trailing bytes after values");
  return Status::OK();
}

Status Store::load_chunk(uint32_t chunk, const std::string_view* blobs) {
  while (chunks_.size() <= chunk) {
    // Grow by whole chunks; add_chunk hands their slots to the free list,
    // which is rebuilt below anyway.
    free_.clear();
    add_chunk();
  }
  unload_chunk(chunk);
  Chunk& ch = chunks_[chunk];
  std::vector<std::pair<int64_t, uint32_t>> live;
  Status s = decode_keys(chunk, blobs[0], &live);
  for (int col = 0; s.ok() && col < column_count(); col++) s = decode_column(chunk, col, blobs[col + 1]);
  if (s.ok()) {
    if (!live.empty()) chunk_first_[chunk] = live.front().first;
    for (const auto& [key, slot] : live) {
      if (!index_.insert(key, slot).second) {
        s = Status::Corrupt("key " + std::to_string(key) + " appears twice");
        break;
      }
    }
  }
  std::fill(ch.dirty.begin(), ch.dirty.end(), 0);
  ch.any_dirty = false;
  version_++;
  return s;
}

void Store::unload_chunk(uint32_t chunk) {
  if (chunk >= chunks_.size()) return;
  Chunk& ch = chunks_[chunk];
  for_each_key(ch, [&](uint32_t, int64_t k) { index_.erase(k); });
  std::fill(ch.live.begin(), ch.live.end(), 0);
  ch.packed.clear();  // packed, no keys: matches the live bits
  std::fill(ch.retained.begin(), ch.retained.end(), 0);
  ch.live_count = 0;
  version_++;
}

void Store::loaded() {
  free_.clear();
  for (uint32_t s = slot_count(); s-- > 0;) {
    if (!is_live(s)) free_.push_back(s);
  }
}

void Store::clear() {
  chunks_.clear();
  refs_.clear();
  chunk_first_.clear();
  dirty_.clear();
  index_.clear();
  free_.clear();
  pending_free_.clear();
  undo_.clear();
  saved_.clear();
  marks_.clear();
  in_txn_ = false;
  version_++;
}

}  // namespace alex::store
