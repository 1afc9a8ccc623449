// Copyright (c) the alex authors.
//
// The store against a reference (std::map of owned rows) over random
// inserts, erases, updates, key changes, transactions and savepoints, with
// check() after every step batch. Seeds are fixed and printed; override
// with ALEX_TEST_SEED, scale with ALEX_TEST_SCALE.

#include "store/store.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace alex::store {
namespace {

// An owned value, comparable with what the store returns.
struct Owned {
  ValueType type = ValueType::kNull;
  int64_t i = 0;
  double r = 0;
  std::string bytes;

  Value view() const {
    Value v;
    v.type = type;
    v.i = i;
    v.r = r;
    v.bytes = bytes;
    return v;
  }
};
using Row = std::vector<Owned>;
using Table = std::map<int64_t, Row>;

uint64_t env_seed(uint64_t fallback) {
  const char* s = std::getenv("ALEX_TEST_SEED");
  return s ? std::strtoull(s, nullptr, 10) : fallback;
}
double env_scale() {
  const char* s = std::getenv("ALEX_TEST_SCALE");
  return s ? std::atof(s) : 1.0;
}

const std::vector<ColumnType> kColumns = {ColumnType::kInteger, ColumnType::kReal, ColumnType::kText,
                                          ColumnType::kBlob, ColumnType::kAny};

Owned random_value(std::mt19937_64& rng, ColumnType ct) {
  Owned o;
  if (rng() % 5 == 0) return o;  // NULL
  ValueType t;
  switch (ct) {
    case ColumnType::kInteger: t = ValueType::kInteger; break;
    case ColumnType::kReal: t = ValueType::kReal; break;
    case ColumnType::kText: t = ValueType::kText; break;
    case ColumnType::kBlob: t = ValueType::kBlob; break;
    default: t = static_cast<ValueType>(1 + rng() % 4); break;
  }
  o.type = t;
  o.i = static_cast<int64_t>(rng());
  o.r = static_cast<double>(static_cast<int64_t>(rng() % 100000)) / 7;
  if (t == ValueType::kText || t == ValueType::kBlob) {
    // Mostly short, sometimes long enough to make arenas compact.
    size_t len = rng() % 8 == 0 ? rng() % 3000 : rng() % 20;
    o.bytes.resize(len);
    for (char& c : o.bytes) c = static_cast<char>('a' + rng() % 26);
  }
  return o;
}

Row random_row(std::mt19937_64& rng) {
  Row row;
  for (ColumnType ct : kColumns) row.push_back(random_value(rng, ct));
  return row;
}

void expect_same(const Store& s, const Table& ref, const std::string& where) {
  ASSERT_EQ(s.check(), "") << where;
  ASSERT_EQ(s.size(), ref.size()) << where;
  auto it = s.index().begin();
  for (const auto& [key, row] : ref) {
    ASSERT_NE(it, s.index().end()) << where;
    ASSERT_EQ(it.key(), key) << where;
    for (size_t c = 0; c < row.size(); c++) {
      ASSERT_TRUE(s.get(it.payload(), static_cast<int>(c)) == row[c].view()) << where << " key " << key << " col " << c;
    }
    ++it;
  }
}

// One random workload: `steps` operations on keys drawn from `key_space`
// values, with transactions and nested savepoints.
void run_workload(uint64_t seed, int steps, int64_t key_space, int chunk_log2, int check_every) {
  std::cout << "store workload seed=" << seed << " steps=" << steps << " key_space=" << key_space << std::endl;
  std::mt19937_64 rng(seed);
  Store s(kColumns, chunk_log2);
  Table ref;
  std::vector<Table> marks;  // marks[n]: the table when savepoint n opened
  Table at_begin;
  bool txn = false;
  std::vector<Value> views;
  auto key = [&] { return static_cast<int64_t>(rng() % key_space) - key_space / 2; };
  for (int step = 0; step < steps; step++) {
    const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
    const int op = static_cast<int>(rng() % 100);
    if (op < 35) {  // insert
      const int64_t k = key();
      Row row = random_row(rng);
      views.clear();
      for (const Owned& o : row) views.push_back(o.view());
      Status st = s.insert(k, views.data());
      if (ref.count(k)) {
        ASSERT_EQ(st.code(), Status::Code::kConstraint) << where;
      } else {
        ASSERT_TRUE(st.ok()) << where;
        ref[k] = row;
      }
    } else if (op < 55) {  // erase
      const int64_t k = key();
      ASSERT_EQ(s.erase(k), ref.erase(k) == 1) << where;
    } else if (op < 75) {  // update one column
      const int64_t k = key();
      const uint32_t slot = s.find(k);
      ASSERT_EQ(slot != Store::kNoSlot, ref.count(k) == 1) << where;
      if (slot == Store::kNoSlot) continue;
      const int col = static_cast<int>(rng() % kColumns.size());
      Owned v = random_value(rng, kColumns[col]);
      ASSERT_TRUE(s.update(slot, col, v.view()).ok()) << where;
      ref[k][col] = v;
    } else if (op < 82) {  // key change
      const int64_t from = key(), to = key();
      if (!ref.count(from)) continue;
      Status st = s.rekey(from, to);
      if (from != to && ref.count(to)) {
        ASSERT_EQ(st.code(), Status::Code::kConstraint) << where;
      } else {
        ASSERT_TRUE(st.ok()) << where;
        Row row = ref[from];
        ref.erase(from);
        ref[to] = row;
      }
    } else if (op < 86) {  // begin / commit / rollback
      if (!txn) {
        s.begin();
        at_begin = ref;
        marks.clear();
        txn = true;
      } else if (rng() % 3) {
        s.commit();
        s.clear_dirty();  // as after a save: packs the changed chunks' keys
        txn = false;
      } else {
        s.rollback();
        ref = at_begin;
        txn = false;
      }
    } else if (op < 92 && txn) {  // savepoint n (n = nesting depth, as SQLite numbers them)
      const int n = static_cast<int>(marks.size());
      s.savepoint(n);
      marks.push_back(ref);
    } else if (op < 96 && txn && !marks.empty()) {  // rollback to a random open savepoint
      const int n = static_cast<int>(rng() % marks.size());
      s.rollback_to(n);
      ref = marks[n];
      marks.resize(n + 1);
    } else if (txn && !marks.empty()) {  // release a random open savepoint
      const int n = static_cast<int>(rng() % marks.size());
      s.release(n);
      marks.resize(n);
    }
    if (step % check_every == 0) expect_same(s, ref, where);
    if (::testing::Test::HasFatalFailure()) return;
  }
  if (txn) s.commit();
  expect_same(s, ref, "seed " + std::to_string(seed) + " end");
}

TEST(StoreTest, DifferentialSmallKeySpace) {
  const int steps = static_cast<int>(60000 * env_scale());
  for (uint64_t seed : {env_seed(1), env_seed(2)}) {
    run_workload(seed, steps, 300, 6, 997);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(StoreTest, DifferentialLargeKeySpace) {
  run_workload(env_seed(3), static_cast<int>(30000 * env_scale()), 1 << 20, 10, 5003);
}

TEST(StoreTest, EmptyStore) {
  Store s(kColumns);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.find(0), Store::kNoSlot);
  EXPECT_FALSE(s.erase(1));
  EXPECT_EQ(s.check(), "");
  s.begin();
  s.rollback();
  EXPECT_EQ(s.check(), "");
}

TEST(StoreTest, ValuesRoundTrip) {
  Store s({ColumnType::kAny});
  const std::string big(100000, 'x');
  const std::vector<Value> values = {Value::Null(),          Value::Integer(INT64_MIN), Value::Integer(INT64_MAX),
                                     Value::Real(-0.0),      Value::Real(1e300),        Value::Text(""),
                                     Value::Blob(std::string_view("\0\1", 2)), Value::Text(big)};
  for (size_t i = 0; i < values.size(); i++) ASSERT_TRUE(s.insert(static_cast<int64_t>(i), &values[i]).ok());
  for (size_t i = 0; i < values.size(); i++) EXPECT_TRUE(s.get(s.find(static_cast<int64_t>(i)), 0) == values[i]) << i;
  // Empty text stays text, not NULL.
  EXPECT_EQ(s.get(s.find(5), 0).type, ValueType::kText);
  EXPECT_EQ(s.check(), "");
}

// SQLite announces to a table joining a transaction only the newest open
// savepoint (here the joining statement's own, 1, inside SAVEPOINT a = 0)
// and releases it when the statement ends: savepoint 0 still holds the
// state the table started from.
TEST(StoreTest, RollbackToASavepointOlderThanTheFirstChange) {
  Store s({ColumnType::kInteger});
  Value v = Value::Integer(1);
  ASSERT_TRUE(s.insert(1, &v).ok());
  s.begin();
  s.savepoint(1);  // joins inside savepoint 0, in a statement
  ASSERT_TRUE(s.erase(1));
  s.release(1);
  s.savepoint(1);  // SAVEPOINT b, after the change
  ASSERT_TRUE(s.insert(2, &v).ok());
  s.rollback_to(0);
  EXPECT_NE(s.find(1), Store::kNoSlot);
  EXPECT_EQ(s.find(2), Store::kNoSlot);
  // Savepoint 0 stays open and keeps the starting state.
  ASSERT_TRUE(s.insert(3, &v).ok());
  s.savepoint(1);
  ASSERT_TRUE(s.insert(4, &v).ok());
  s.rollback_to(1);
  EXPECT_NE(s.find(3), Store::kNoSlot);
  EXPECT_EQ(s.find(4), Store::kNoSlot);
  s.rollback_to(0);
  EXPECT_EQ(s.find(3), Store::kNoSlot);
  s.commit();
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.check(), "");
}

TEST(StoreTest, SlotsAreReusedAfterCommitNotBefore) {
  Store s({ColumnType::kInteger}, 6);
  Value v = Value::Integer(1);
  for (int k = 0; k < 64; k++) ASSERT_TRUE(s.insert(k, &v).ok());
  const uint32_t slot = s.find(10);
  s.begin();
  ASSERT_TRUE(s.erase(10));
  ASSERT_TRUE(s.insert(100, &v).ok());
  EXPECT_NE(s.find(100), slot) << "a slot erased in the open transaction must not be reused";
  s.commit();
  ASSERT_TRUE(s.insert(200, &v).ok());
  EXPECT_EQ(s.find(200), slot);
  EXPECT_EQ(s.check(), "");
}

// A transaction that inserted (or erased) many rows does not leave its
// undo log allocated after it ends.
TEST(StoreTest, LargeTransactionsFreeTheirLogs) {
  Store s({ColumnType::kInteger});
  const Value v = Value::Integer(1);
  const int64_t n = 300000;
  for (bool commit : {true, false}) {
    const size_t before = s.memory_bytes();
    s.begin();
    for (int64_t k = 0; k < n; k++) ASSERT_TRUE(s.insert(commit ? k : n + k, &v).ok());
    const size_t during = s.memory_bytes();
    EXPECT_GT(during, before + n * 24) << "the log holds an entry per insert";
    if (commit) s.commit();
    else s.rollback();
    EXPECT_LT(s.memory_bytes() + n * 20, during) << (commit ? "commit" : "rollback") << " keeps the log";
    EXPECT_EQ(s.check(), "");
  }
  EXPECT_EQ(s.size(), static_cast<size_t>(n));
}

TEST(StoreTest, ArenaCompactsUnderRepeatedUpdates) {
  Store s({ColumnType::kText});
  const std::string a(1000, 'a');
  Value v = Value::Text(a);
  ASSERT_TRUE(s.insert(1, &v).ok());
  for (int i = 0; i < 10000; i++) {
    std::string text(1000 + i % 7, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(s.update(s.find(1), 0, Value::Text(text)).ok());
  }
  EXPECT_EQ(s.check(), "");
  EXPECT_LT(s.memory_bytes(), size_t{1} << 20) << "updates must not grow the arena without bound";
}

// An update to the value a cell holds (same type, same bits) is no change:
// nothing to undo or commit, and cursors stay valid. Bits, not ==: -0.0
// over 0.0 is a write.
TEST(StoreTest, UpdateToTheSameValueChangesNothing) {
  Store s({ColumnType::kReal, ColumnType::kText, ColumnType::kAny});
  Value row[] = {Value::Real(0.0), Value::Text("abc"), Value::Integer(7)};
  ASSERT_TRUE(s.insert(1, row).ok());
  s.clear_dirty();
  s.begin();
  const uint64_t version = s.version();
  for (int col = 0; col < 3; col++) ASSERT_TRUE(s.update(s.find(1), col, row[col]).ok());
  ASSERT_TRUE(s.update(s.find(1), 2, Value::Integer(7)).ok());
  EXPECT_EQ(s.version(), version);
  EXPECT_TRUE(s.dirty_chunks().empty());
  ASSERT_TRUE(s.update(s.find(1), 2, Value::Real(7.0)).ok());  // ANY: 7 and 7.0 differ
  EXPECT_EQ(s.get(s.find(1), 2).type, ValueType::kReal);
  ASSERT_TRUE(s.update(s.find(1), 0, Value::Real(-0.0)).ok());
  EXPECT_TRUE(std::signbit(s.get(s.find(1), 0).r));
  EXPECT_NE(s.version(), version);
  s.rollback();
  EXPECT_EQ(s.get(s.find(1), 2).type, ValueType::kInteger);
  EXPECT_FALSE(std::signbit(s.get(s.find(1), 0).r));
  EXPECT_EQ(s.check(), "");
}

TEST(StoreTest, DirtyChunksTrackChangesAndUndo) {
  Store s({ColumnType::kInteger}, 6);
  Value v = Value::Integer(1);
  for (int k = 0; k < 200; k++) ASSERT_TRUE(s.insert(k, &v).ok());
  s.clear_dirty();
  EXPECT_TRUE(s.dirty_chunks().empty());
  s.begin();
  ASSERT_TRUE(s.update(s.find(70), 0, Value::Integer(2)).ok());  // slot 70: chunk 1
  EXPECT_EQ(s.dirty_chunks(), std::vector<uint32_t>{1});
  s.clear_dirty();
  s.rollback();
  EXPECT_EQ(s.dirty_chunks(), std::vector<uint32_t>{1}) << "an undo rewrites the chunk too";
  EXPECT_EQ(s.get(s.find(70), 0).i, 1);
  // Which blobs: an update dirties its column, an erase only the keys.
  s.clear_dirty();
  ASSERT_TRUE(s.update(s.find(5), 0, Value::Integer(9)).ok());
  EXPECT_FALSE(s.blob_dirty(0, 0));
  EXPECT_TRUE(s.blob_dirty(0, 1));
  s.clear_dirty();
  ASSERT_TRUE(s.erase(6));
  EXPECT_TRUE(s.blob_dirty(0, 0));
  EXPECT_FALSE(s.blob_dirty(0, 1));
  // Listed once each, ascending, whatever the order of the changes.
  s.clear_dirty();
  for (int k : {150, 10, 140, 75, 20}) ASSERT_TRUE(s.update(s.find(k), 0, Value::Integer(k)).ok());
  EXPECT_EQ(s.dirty_chunks(), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(s.check(), "");
  s.clear_dirty();
  EXPECT_TRUE(s.dirty_chunks().empty());
  EXPECT_FALSE(s.blob_dirty(2, 1));
}

// prefetch() only guesses, but it reads chunk_first_ and the cell table:
// it must take any key on any store (ASan/UBSan builds check the reads and
// the double -> integer conversions), and it changes nothing.
TEST(StoreTest, PrefetchTakesAnyKey) {
  Store s({ColumnType::kReal, ColumnType::kAny, ColumnType::kText}, 6);  // 64-row chunks
  std::vector<int64_t> probes = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
  auto probe_all = [&] {
    for (int64_t k : probes) {
      for (uint64_t cols : {uint64_t{0}, uint64_t{1}, uint64_t{6}, ~uint64_t{0}}) s.prefetch(k, cols);
    }
  };
  probe_all();  // empty
  const Value row[] = {Value::Real(1.5), Value::Integer(2), Value::Text("x")};
  auto add = [&](int64_t k) {
    ASSERT_TRUE(s.insert(k, row).ok());
    probes.push_back(k);
    probes.push_back(k + (k < INT64_MAX));
    probe_all();
  };
  for (int64_t i = 0; i < 200; i++) add(1700000000000000000 + 1000 * i);  // in order: four chunks
  for (int64_t k : {INT64_MAX, INT64_MIN, int64_t{5}, int64_t{-5}}) add(k);  // then anywhere
  for (int64_t i = 0; i < 40; i++) add(i % 2 ? INT64_MAX - 1000 - i : INT64_MIN + 1000 + i);
  for (int64_t i = 0; i < 200; i += 3) ASSERT_TRUE(s.erase(1700000000000000000 + 1000 * i));
  probe_all();
  EXPECT_EQ(s.check(), "");
  EXPECT_EQ(s.get(s.find(INT64_MAX), 0).r, 1.5);
  s.clear();
  probe_all();

  // First keys that doubles cannot tell apart (1.7e18 and 1.7e18 + 1),
  // and more columns than the mask has bits.
  Store wide(std::vector<ColumnType>(70, ColumnType::kInteger), 6);
  const std::vector<Value> wide_row(70, Value::Integer(1));
  const int64_t t0 = 1700000000000000000;
  ASSERT_TRUE(wide.insert(t0, wide_row.data()).ok());
  for (int64_t i = 1; i < 64; i++) ASSERT_TRUE(wide.insert(t0 - 1000 * i, wide_row.data()).ok());
  ASSERT_TRUE(wide.insert(t0 + 1, wide_row.data()).ok());  // the second chunk's first key
  ASSERT_EQ(wide.chunk_count(), 2u);
  for (int64_t k : {t0, t0 + 1, t0 - 1, t0 - 1000, t0 + 2}) wide.prefetch(k, ~uint64_t{0});
  EXPECT_EQ(wide.check(), "");
}

TEST(StorePersistenceTest, ValuesLeftInDeadSlotsAreIgnored) {
  // An erase rewrites only the key blob, so a saved column blob may still
  // hold the erased row's value: loading must ignore it.
  Store s({ColumnType::kText}, 6);
  const Value a = Value::Text("alpha"), b = Value::Text("beta");
  ASSERT_TRUE(s.insert(1, &a).ok());
  ASSERT_TRUE(s.insert(2, &b).ok());
  std::string column, keys;
  s.encode(0, 0, &column);  // both values
  ASSERT_TRUE(s.erase(1));
  s.encode(0, -1, &keys);   // only key 2 is live
  Store t({ColumnType::kText}, 6);
  const std::string_view blobs[] = {keys, column};
  ASSERT_TRUE(t.load_chunk(0, blobs).ok());
  t.loaded();
  EXPECT_EQ(t.check(), "");
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.get(t.find(2), 0) == b);
  const Value c = Value::Text("gamma");
  ASSERT_TRUE(t.insert(3, &c).ok());
  EXPECT_EQ(t.check(), "");
}

// Blobs of format 1 (fixed-width keys and numbers, a type byte per slot in
// every column) are still read. Built by hand here, byte by byte as
// docs/format.md describes them: a 64-row chunk with rows in slots 0, 1
// and 3 (slot 2 dead, its old INTEGER value left in the column blob).
TEST(StorePersistenceTest, ReadsFormatOneBlobs) {
  auto u32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  auto u64 = [&](uint64_t v) { return u32(uint32_t(v)) + u32(uint32_t(v >> 32)); };
  auto types = [](std::initializer_list<int> first) {
    std::string t(64, '\0');
    size_t i = 0;
    for (int b : first) t[i++] = char(b);
    return t;
  };
  const std::string head = std::string(1, '\x01') + u32(64);
  const std::string keys = head + u64(0b1011) + u64(uint64_t(-5)) + u64(7) + u64(INT64_MAX);
  const std::string ints = head + types({1, 0, 1, 1}) + u64(42) + u64(99) + u64(uint64_t(INT64_MIN));
  const std::string reals = head + types({2, 2, 0, 0}) + u64(std::bit_cast<uint64_t>(1.5)) + u64(std::bit_cast<uint64_t>(-0.25));
  const std::string texts = head + types({3, 0, 0, 3}) + "\x02hi" + std::string(1, '\0');  // "hi", ""
  const std::string any = head + types({1, 2, 0, 4}) + u64(8) + u64(std::bit_cast<uint64_t>(2.0)) + "\x03" "abc";
  Store s({ColumnType::kInteger, ColumnType::kReal, ColumnType::kText, ColumnType::kAny}, 6);
  const std::string_view blobs[] = {keys, ints, reals, texts, any};
  ASSERT_TRUE(s.load_chunk(0, blobs).ok());
  s.loaded();
  ASSERT_EQ(s.check(), "");
  ASSERT_EQ(s.size(), 3u);
  const uint32_t a = s.find(-5), b = s.find(7), c = s.find(INT64_MAX);
  EXPECT_TRUE(s.get(a, 0) == Value::Integer(42) && s.get(a, 1) == Value::Real(1.5) && s.get(a, 2) == Value::Text("hi") &&
              s.get(a, 3) == Value::Integer(8));
  EXPECT_TRUE(s.get(b, 0).is_null() && s.get(b, 1) == Value::Real(-0.25) && s.get(b, 2).is_null() &&
              s.get(b, 3) == Value::Real(2.0));
  EXPECT_TRUE(s.get(c, 0) == Value::Integer(INT64_MIN) && s.get(c, 1).is_null() && s.get(c, 2) == Value::Text("") &&
              s.get(c, 3) == Value::Blob("abc"));
  // Saved again, the chunk is in format 2 and reads back the same.
  std::string again[5];
  for (int col = -1; col < 4; col++) s.encode(0, col, &again[col + 1]);
  EXPECT_EQ(again[0][0], '\x02');
  EXPECT_LT(again[0].size(), keys.size());
  Store t({ColumnType::kInteger, ColumnType::kReal, ColumnType::kText, ColumnType::kAny}, 6);
  const std::string_view views[] = {again[0], again[1], again[2], again[3], again[4]};
  ASSERT_TRUE(t.load_chunk(0, views).ok());
  t.loaded();
  ASSERT_EQ(t.check(), "");
  for (int64_t k : {int64_t{-5}, int64_t{7}, INT64_MAX}) {
    for (int col = 0; col < 4; col++) EXPECT_TRUE(t.get(t.find(k), col) == s.get(s.find(k), col)) << k << " " << col;
  }
}

TEST(StoreTest, VersionMovesOnEveryChange) {
  Store s({ColumnType::kInteger});
  Value v = Value::Integer(1);
  uint64_t ver = s.version();
  ASSERT_TRUE(s.insert(1, &v).ok());
  EXPECT_GT(s.version(), ver);
  ver = s.version();
  ASSERT_TRUE(s.rekey(1, 2).ok());
  EXPECT_GT(s.version(), ver);
  ver = s.version();
  ASSERT_TRUE(s.update(s.find(2), 0, Value::Integer(3)).ok());
  EXPECT_GT(s.version(), ver);
  ver = s.version();
  ASSERT_TRUE(s.erase(2));
  EXPECT_GT(s.version(), ver);
}

// Saves every chunk of `s` as blobs, in the order a loader reads them.
std::vector<std::vector<std::string>> save_all(const Store& s) {
  std::vector<std::vector<std::string>> blobs(s.chunk_count());
  for (uint32_t c = 0; c < s.chunk_count(); c++) {
    for (int col = -1; col < s.column_count(); col++) {
      blobs[c].emplace_back();
      s.encode(c, col, &blobs[c].back());
    }
  }
  return blobs;
}

Status load_all(Store* s, const std::vector<std::vector<std::string>>& blobs) {
  for (uint32_t c = 0; c < blobs.size(); c++) {
    std::vector<std::string_view> views(blobs[c].begin(), blobs[c].end());
    if (Status st = s->load_chunk(c, views.data()); !st.ok()) return st;
  }
  s->loaded();
  return Status::OK();
}

TEST(StorePersistenceTest, SaveAndLoadRoundTrip) {
  const uint64_t seed = env_seed(11);
  std::cout << "seed=" << seed << std::endl;
  std::mt19937_64 rng(seed);
  Store s(kColumns, 6);
  Table ref;
  std::vector<Value> views;
  for (int i = 0; i < 5000; i++) {
    const int64_t k = static_cast<int64_t>(rng() % 4000) - 2000;
    if (rng() % 4 == 0) {
      s.erase(k);
      ref.erase(k);
      continue;
    }
    if (ref.count(k)) continue;
    Row row = random_row(rng);
    views.clear();
    for (const Owned& o : row) views.push_back(o.view());
    ASSERT_TRUE(s.insert(k, views.data()).ok());
    ref[k] = row;
  }
  Store loaded(kColumns, 6);
  ASSERT_TRUE(load_all(&loaded, save_all(s)).ok());
  expect_same(loaded, ref, "loaded");
  // Loading a chunk again over itself (a refresh) changes nothing.
  ASSERT_TRUE(load_all(&loaded, save_all(s)).ok());
  expect_same(loaded, ref, "reloaded");
  // The loaded store takes writes like any other.
  Value v = Value::Integer(1);
  std::vector<Value> row(kColumns.size(), Value::Null());
  row[0] = v;
  ASSERT_TRUE(loaded.insert(100000, row.data()).ok());
  EXPECT_EQ(loaded.check(), "");
}

// A saved chunk keeps its keys packed (clear_dirty); every operation that
// needs them unpacks the chunk first. Keys at the ends of int64 and wide
// jumps between neighbours pack and unpack exactly.
TEST(StorePersistenceTest, PackedKeysRoundTrip) {
  Store s({ColumnType::kInteger}, 6);
  std::vector<int64_t> keys = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1, INT64_MAX - 1};
  for (int64_t i = 0; i < 300; i++) keys.push_back(1700000000000000000 + 1000 * i + i % 7);  // timestamps
  for (int64_t i = 0; i < 64; i++) keys.push_back(i % 2 ? INT64_MAX - 100 - i : INT64_MIN + 100 + i);
  auto integer = [](int64_t i) {
    Owned o;
    o.type = ValueType::kInteger;
    o.i = i;
    return o;
  };
  Table ref;
  for (int64_t k : keys) {
    const Value v = Value::Integer(k / 3);
    ASSERT_TRUE(s.insert(k, &v).ok());
    ref[k] = {integer(k / 3)};
  }
  const auto saved = save_all(s);
  const size_t unpacked_bytes = s.memory_bytes();
  s.clear_dirty();
  expect_same(s, ref, "packed");
  EXPECT_EQ(save_all(s), saved) << "packed keys save the same blobs";
  EXPECT_LT(s.memory_bytes() + 4 * 300, unpacked_bytes) << "timestamp keys pack to under half their bytes";
  // Loading packs too, and refreshing a packed chunk unloads its keys.
  Store loaded({ColumnType::kInteger}, 6);
  ASSERT_TRUE(load_all(&loaded, saved).ok());
  expect_same(loaded, ref, "loaded");
  ASSERT_TRUE(load_all(&loaded, saved).ok());
  expect_same(loaded, ref, "reloaded");
  // Changes to packed chunks, then undone.
  s.begin();
  ASSERT_TRUE(s.erase(INT64_MIN));
  ASSERT_TRUE(s.rekey(INT64_MAX, 5).ok());
  ASSERT_TRUE(s.rekey(1700000000000000000, 1700000000000000001).ok());
  s.clear_dirty();  // packs mid-transaction; the undo log still has the keys
  ASSERT_EQ(s.check(), "");
  s.rollback();
  expect_same(s, ref, "rolled back");
  s.clear_dirty();
  ASSERT_TRUE(s.erase(0));
  ref.erase(0);
  const Value v = Value::Integer(7);
  ASSERT_TRUE(s.insert(42, &v).ok());
  ref[42] = {integer(7)};
  s.clear_dirty();
  expect_same(s, ref, "changed after packing");
  Store again({ColumnType::kInteger}, 6);
  ASSERT_TRUE(load_all(&again, save_all(s)).ok());
  expect_same(again, ref, "saved after packing");
}

// A ten-byte varint holds bit 63 in its last byte; any higher bit is
// damage, not a value to truncate. INT64_MIN as the key and as an INTEGER
// value encodes as ff ff ff ff ff ff ff ff ff 01 (zigzag of 2^63 from 0).
TEST(StorePersistenceTest, VarintBitsPastSixtyFourAreDamage) {
  Store s(kColumns, 6);
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const Value row[] = {Value::Integer(kMin), Value::Null(), Value::Null(), Value::Null(), Value::Null()};
  ASSERT_TRUE(s.insert(kMin, row).ok());
  const auto good = save_all(s);
  {
    Store t(kColumns, 6);
    ASSERT_TRUE(load_all(&t, good).ok());
    ASSERT_EQ(t.check(), "");
  }
  for (int blob : {0, 1}) {  // the key blob, the INTEGER column's
    ASSERT_EQ(good[0][blob].substr(good[0][blob].size() - 10), std::string(9, '\xff') + '\x01');
    for (char last : {'\x03', '\x7f', '\x41'}) {
      auto bad = good;
      bad[0][blob].back() = last;
      Store t(kColumns, 6);
      const Status st = load_all(&t, bad);
      EXPECT_EQ(st.code(), Status::Code::kCorrupt) << "blob " << blob << " last byte " << int{last};
      EXPECT_NE(st.message().find("malformed"), std::string::npos) << st.message();
    }
  }
}

TEST(StorePersistenceTest, DamagedBlobsAreRejectedNeverCrash) {
  const uint64_t seed = env_seed(12);
  std::cout << "seed=" << seed << std::endl;
  std::mt19937_64 rng(seed);
  Store s(kColumns, 6);
  std::vector<Value> views;
  for (int k = 0; k < 200; k++) {
    Row row = random_row(rng);
    views.clear();
    for (const Owned& o : row) views.push_back(o.view());
    ASSERT_TRUE(s.insert(k, views.data()).ok());
  }
  const auto good = save_all(s);
  int rejected = 0;
  for (int trial = 0; trial < 3000; trial++) {
    auto bad = good;
    std::string& blob = bad[rng() % bad.size()][rng() % (kColumns.size() + 1)];
    switch (trial % 3) {
      case 0: blob.resize(rng() % (blob.size() + 1)); break;              // truncated
      case 1: if (!blob.empty()) blob[rng() % blob.size()] ^= static_cast<char>(1 + rng() % 255); break;  // garbled
      case 2: blob += static_cast<char>(rng()); break;                    // trailing byte
    }
    Store t(kColumns, 6);
    Status st = load_all(&t, bad);
    if (!st.ok()) {
      ASSERT_EQ(st.code(), Status::Code::kCorrupt);
      rejected++;
    } else {
      // A change that still decodes (a flipped payload byte) must still be
      // a valid store.
      ASSERT_EQ(t.check(), "") << "trial " << trial;
    }
  }
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace alex::store
