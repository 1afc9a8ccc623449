// Copyright (c) the alex authors.
//
// Column types and the values that cross the store's interface.
//
// A Value is a non-owning view: text and blob bytes point into the caller's
// buffer (on the way in) or into the store's chunk arena (on the way out,
// valid until the next modification of the store).

#ifndef ALEX_STORE_VALUE_H_
#define ALEX_STORE_VALUE_H_

#include <cstdint>
#include <string_view>

namespace alex::store {

// The declared type of a column, as in a STRICT table.
enum class ColumnType : uint8_t { kInteger, kReal, kText, kBlob, kAny };

// The type of one stored value (typeof() in SQL).
enum class ValueType : uint8_t { kNull, kInteger, kReal, kText, kBlob };

struct Value {
  ValueType type = ValueType::kNull;
  int64_t i = 0;           // kInteger
  double r = 0;            // kReal
  std::string_view bytes;  // kText, kBlob

  static Value Null() { return Value(); }
  static Value Integer(int64_t v) { Value x; x.type = ValueType::kInteger; x.i = v; return x; }
  static Value Real(double v) { Value x; x.type = ValueType::kReal; x.r = v; return x; }
  static Value Text(std::string_view v) { Value x; x.type = ValueType::kText; x.bytes = v; return x; }
  static Value Blob(std::string_view v) { Value x; x.type = ValueType::kBlob; x.bytes = v; return x; }

  bool is_null() const { return type == ValueType::kNull; }
  friend bool operator==(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
      case ValueType::kNull: return true;
      case ValueType::kInteger: return a.i == b.i;
      case ValueType::kReal: return a.r == b.r || (a.r != a.r && b.r != b.r);
      default: return a.bytes == b.bytes;
    }
  }
};

// Whether a column of type `c` may hold a value of type `v` (NULL aside).
// This is the store's invariant; STRICT coercion happens before, in vtab.
inline bool column_accepts(ColumnType c, ValueType v) {
  switch (c) {
    case ColumnType::kInteger: return v == ValueType::kInteger;
    case ColumnType::kReal: return v == ValueType::kReal;
    case ColumnType::kText: return v == ValueType::kText;
    case ColumnType::kBlob: return v == ValueType::kBlob;
    case ColumnType::kAny: return true;
  }
  return false;
}

}  // namespace alex::store

#endif  // ALEX_STORE_VALUE_H_
