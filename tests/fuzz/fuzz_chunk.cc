// Copyright (c) the alex authors.
//
// libFuzzer target: the chunk-blob decoder (Store::load_chunk, the bytes of
// docs/format.md) fed arbitrary bytes. It must never crash or read out of
// bounds; what it accepts must be a consistent store.
//
// Input layout (tests/fuzz/fuzz_seeds.cc writes seeds in it):
//
//   byte 0        bits 0-2: C, the number of columns (0..7, 7 read as 6);
//                 bit 3: chunk_rows 1024 (set) or 64 (clear)
//   bytes 1..C    the column types, ColumnType % 5 (INTEGER REAL TEXT BLOB ANY)
//   byte C+1      the chunk each group of blobs goes to: group g to chunk
//                 (byte >> 2g) & 3, so a chunk can be loaded twice (the refresh
//                 path) and chunks can be skipped (created empty)
//   the rest      blobs separated by kSeparator; every C + 1 of them (keys
//                 first) are one load_chunk() call, at most 4 calls; a last,
//                 short group is completed with empty blobs
//
// After every successful load_chunk(): Store::check(), then every row read
// through the index, every byte of every text and blob touched. After the
// last: the chunks encoded, loaded into a new store, and encoded again,
// which must give the same bytes (encode o decode is the identity on what
// encode writes); then a transaction (insert, update, erase, rekey) rolled
// back and one committed, check() after each. After a failure: clear() and
// check() of the empty store, as the module does.
//
// ALEX_FUZZ_VERBOSE=1 prints what each input loaded, or why it was rejected.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace {

using alex::store::ColumnType;
using alex::store::Status;
using alex::store::Store;
using alex::store::Value;
using alex::store::ValueType;

constexpr std::string_view kSeparator = "ALEXBLOB";
constexpr int kMaxGroups = 4;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_chunk: %s\n", what.c_str());
  std::abort();
}

void check_store(const Store& store, const char* when) {
  const std::string problem = store.check();
  if (!problem.empty()) fail(std::string("check() ") + when + ": " + problem);
}

// Reads every row through the index; returns a checksum so that nothing is
// optimized away.
uint64_t read_all(const Store& store) {
  uint64_t sum = 0;
  size_t rows = 0;
  int64_t last = 0;
  for (auto it = store.index().begin(); it != store.index().end(); ++it, ++rows) {
    const int64_t key = it.key();
    if (rows > 0 && key <= last) fail("index not ascending");
    last = key;
    const uint32_t slot = it.payload();
    if (store.find(key) != slot) fail("find() disagrees with the iterator");
    for (int col = 0; col < store.column_count(); col++) {
      const Value v = store.get(slot, col);
      if (!v.is_null() && !alex::store::column_accepts(store.column_type(col), v.type)) {
        fail("a value of the wrong type in column " + std::to_string(col));
      }
      sum += static_cast<uint64_t>(v.type) + static_cast<uint64_t>(v.i);
      for (char c : v.bytes) sum = sum * 31 + static_cast<unsigned char>(c);
    }
  }
  if (rows != store.size()) fail("size() disagrees with the index");
  return sum;
}

// Every blob of every chunk, as encode() writes them.
std::vector<std::string> encode_all(const Store& store) {
  std::vector<std::string> blobs;
  for (uint32_t chunk = 0; chunk < store.chunk_count(); chunk++) {
    for (int col = -1; col < store.column_count(); col++) {
      blobs.emplace_back();
      store.encode(chunk, col, &blobs.back());
    }
  }
  return blobs;
}

// A transaction over the loaded rows: a new key, an update of every column,
// an erase and a rekey; rolled back or committed.
void transact(Store& store, bool commit) {
  store.begin();
  std::vector<Value> row(static_cast<size_t>(store.column_count()));
  int64_t fresh = 0;
  while (store.find(fresh) != Store::kNoSlot) fresh++;
  if (!store.insert(fresh, row.data()).ok()) fail("insert of an absent key failed");
  check_store(store, "after an insert");
  if (!store.erase(fresh)) fail("erase of a present key failed");
  if (!store.insert(fresh, row.data()).ok()) fail("insert of an erased key failed");
  if (store.size() > 1) {
    int64_t first = store.index().begin().key();
    if (first == fresh) first = (++store.index().begin()).key();
    const uint32_t slot = store.find(first);
    for (int col = 0; col < store.column_count(); col++) {
      Value v;
      switch (store.column_type(col)) {
        case ColumnType::kInteger: v = Value::Integer(7); break;
        case ColumnType::kReal: v = Value::Real(7.5); break;
        case ColumnType::kText: v = Value::Text("seven"); break;
        case ColumnType::kBlob: v = Value::Blob(std::string_view("\x07\x00", 2)); break;
        case ColumnType::kAny: v = Value::Text("any"); break;
      }
      if (!store.update(slot, col, v).ok()) fail("update failed");
    }
    int64_t target = fresh + 1;
    while (store.find(target) != Store::kNoSlot) target++;
    if (!store.rekey(first, target).ok()) fail("rekey to an absent key failed");
  }
  check_store(store, "inside a transaction");
  if (commit) store.commit();
  else store.rollback();
  check_store(store, commit ? "after commit" : "after rollback");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  const uint8_t config = static_cast<uint8_t>(in[pos++]);
  int columns = config & 7;
  if (columns == 7) columns = 6;
  const int log2 = (config & 8) ? 10 : 6;
  if (in.size() < pos + static_cast<size_t>(columns) + 1) return 0;
  std::vector<ColumnType> types;
  for (int c = 0; c < columns; c++) types.push_back(static_cast<ColumnType>(static_cast<uint8_t>(in[pos++]) % 5));
  const uint8_t chunk_map = static_cast<uint8_t>(in[pos++]);

  std::vector<std::string_view> blobs;
  for (std::string_view rest = in.substr(pos);;) {
    const size_t sep = rest.find(kSeparator);
    blobs.push_back(rest.substr(0, sep));
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + kSeparator.size());
  }
  const size_t per_group = static_cast<size_t>(columns) + 1;
  while (blobs.size() % per_group != 0) blobs.emplace_back();
  const int groups = static_cast<int>(std::min<size_t>(blobs.size() / per_group, kMaxGroups));

  static const bool verbose = std::getenv("ALEX_FUZZ_VERBOSE") != nullptr;
  Store store(types, log2);
  for (int g = 0; g < groups; g++) {
    const uint32_t chunk = (chunk_map >> (2 * g)) & 3;
    const Status s = store.load_chunk(chunk, &blobs[static_cast<size_t>(g) * per_group]);
    if (!s.ok()) {
      if (verbose) std::fprintf(stderr, "fuzz_chunk: group %d, chunk %u: %s\n", g, chunk, s.message().c_str());
      if (s.code() != Status::Code::kCorrupt) fail("load_chunk failed with a code other than kCorrupt: " + s.message());
      store.clear();
      check_store(store, "after clear()");
      return 0;
    }
    store.loaded();
    check_store(store, "after load_chunk");
    read_all(store);
  }
  if (verbose) std::fprintf(stderr, "fuzz_chunk: %d loads, %zu rows\n", groups, store.size());

  // encode o load o encode: the same bytes.
  const std::vector<std::string> first = encode_all(store);
  Store copy(types, log2);
  for (uint32_t chunk = 0; chunk < store.chunk_count(); chunk++) {
    std::vector<std::string_view> views(&first[chunk * per_group], &first[chunk * per_group] + per_group);
    const Status s = copy.load_chunk(chunk, views.data());
    if (!s.ok()) fail("load_chunk rejects what encode wrote: " + s.message());
  }
  copy.loaded();
  check_store(copy, "after reloading the encoded chunks");
  if (encode_all(copy) != first) fail("encode(load(encode(x))) != encode(x)");
  if (copy.size() != store.size()) fail("the reloaded store has another size");

  transact(store, false);
  transact(store, true);
  read_all(store);
  return 0;
}
