// Copyright (c) the alex authors.
//
// SQLite values meeting the store: STRICT coercion on the way in, and the
// comparison rules that turn a constraint's right-hand side into key bounds.
// Both follow SQLite 3.40's own code paths (applyAffinity, OP_TypeCheck,
// OP_SeekGT & co.), reusing SQLite's conversions where they exist
// (sqlite3_value_numeric_type, sqlite3_value_text) so that text renderings
// and numeric parsing are SQLite's, byte for byte.

#ifndef ALEX_VTAB_VALUES_H_
#define ALEX_VTAB_VALUES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "store/value.h"
#include "vtab/sqlite.h"

namespace alex::vtab {

// Converts `in` for a column of type `type` as a STRICT table does. On
// success *out views bytes owned by `in` or by a value appended to `temps`
// (free them with sqlite3_value_free after use) and the result is SQLITE_OK.
// A NULL passes as NULL (NOT NULL is the caller's). On a type the column
// cannot hold, returns SQLITE_CONSTRAINT_DATATYPE and sets *type_name to
// SQLite's name for the offending value's type ("INT", "REAL", "TEXT",
// "BLOB") for the message "cannot store %s value in %s column %s.%s".
// SQLITE_NOMEM if a conversion could not allocate.
//
// Inline for the common cases (a value of the column's own type, or NULL),
// since it runs once per column of every row written.
int coerce_other(sqlite3_value* in, int sqlite_type, store::ColumnType type, store::Value* out,
                 std::vector<sqlite3_value*>* temps, const char** type_name);
inline int coerce(sqlite3_value* in, store::ColumnType type, store::Value* out, std::vector<sqlite3_value*>* temps,
                  const char** type_name) {
  const int t = sqlite3_value_type(in);
  if (t == SQLITE_NULL) {
    *out = store::Value::Null();
    return SQLITE_OK;
  }
  if (t == SQLITE_INTEGER && (type == store::ColumnType::kInteger || type == store::ColumnType::kAny)) {
    *out = store::Value::Integer(sqlite3_value_int64(in));
    return SQLITE_OK;
  }
  if (t == SQLITE_FLOAT && type == store::ColumnType::kReal) {
    double r = sqlite3_value_double(in);
    // SQLite keeps an integral real of a REAL column as an integer, so
    // -0.0 reads back as 0.0 (in ANY columns it stays -0.0).
    if (r == 0) r = 0;
    *out = store::Value::Real(r);
    return SQLITE_OK;
  }
  return coerce_other(in, t, type, out, temps, type_name);
}

// Converts a value given for the key (the rowid) as an INTEGER PRIMARY KEY
// does: integers, integral reals and text that reads as an integer are
// keys; NULL sets *is_null; anything else is SQLITE_MISMATCH.
int coerce_key(sqlite3_value* in, int64_t* key, bool* is_null);

// The closed interval of keys k for which `k <op> rhs` is true under
// SQLite's comparison rules (numeric affinity applied to text; text and
// blobs sort after every number; NULL matches nothing). Ops are the
// SQLITE_INDEX_CONSTRAINT_{EQ,GT,GE,LT,LE} codes. Returns false when no key
// can match. Throws std::bad_alloc when SQLite cannot convert the value.
struct KeyRange {
  int64_t lo = INT64_MIN;
  int64_t hi = INT64_MAX;
  bool empty() const { return lo > hi; }
  void intersect(const KeyRange& o) {
    if (o.lo > lo) lo = o.lo;
    if (o.hi < hi) hi = o.hi;
  }
};
bool key_range(int op, sqlite3_value* rhs, KeyRange* out);

}  // namespace alex::vtab

#endif  // ALEX_VTAB_VALUES_H_
