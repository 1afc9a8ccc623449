// Copyright (c) the alex authors.

#include "vtab/values.h"

#include <cmath>
#include <new>
#include <string_view>

namespace alex::vtab {
namespace {

constexpr double kTwo63 = 9223372036854775808.0;

const char* type_name_of(int sqlite_type) {
  switch (sqlite_type) {
    case SQLITE_INTEGER: return "INT";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

// sqlite3VdbeIntegerAffinity: a real becomes an integer when it is one,
// strictly between INT64_MIN and INT64_MAX.
bool real_as_integer(double r, int64_t* out) {
  if (!(r > -kTwo63 && r < kTwo63)) return false;
  const int64_t i = static_cast<int64_t>(r);
  if (static_cast<double>(i) != r || i == INT64_MIN || i == INT64_MAX) return false;
  *out = i;
  return true;
}

// Numeric affinity applied to a text value, as SQLite does before storing
// it in (or comparing it with) a numeric column: the type it reads as
// (SQLITE_INTEGER, SQLITE_FLOAT, or SQLITE_TEXT when it is no number).
int text_as_number(sqlite3_value* text, int64_t* i, double* r) {
  sqlite3_value* dup = sqlite3_value_dup(text);
  if (dup == nullptr) return SQLITE_NOMEM;
  const int type = sqlite3_value_numeric_type(dup);
  if (type == SQLITE_INTEGER) *i = sqlite3_value_int64(dup);
  else if (type == SQLITE_FLOAT) *r = sqlite3_value_double(dup);
  sqlite3_value_free(dup);
  return type;
}

// The bytes of a text or blob value. SQLITE_NOMEM when SQLite could not
// produce the text (converting its encoding allocates); a NULL pointer is
// otherwise an empty blob.
int bytes_of(sqlite3_value* v, bool text, store::Value* out) {
  const void* p = text ? static_cast<const void*>(sqlite3_value_text(v)) : sqlite3_value_blob(v);
  if (p == nullptr && (text || sqlite3_value_bytes(v) > 0)) return SQLITE_NOMEM;
  std::string_view bytes(static_cast<const char*>(p), p ? static_cast<size_t>(sqlite3_value_bytes(v)) : 0);
  *out = text ? store::Value::Text(bytes) : store::Value::Blob(bytes);
  return SQLITE_OK;
}

}  // namespace

int coerce_other(sqlite3_value* in, int t, store::ColumnType type, store::Value* out,
                 std::vector<sqlite3_value*>* temps, const char** type_name) {
  int64_t i = 0;
  double r = 0;
  switch (type) {
    case store::ColumnType::kAny:
      if (t == SQLITE_INTEGER) *out = store::Value::Integer(sqlite3_value_int64(in));
      else if (t == SQLITE_FLOAT) *out = store::Value::Real(sqlite3_value_double(in));
      else return bytes_of(in, t == SQLITE_TEXT, out);
      return SQLITE_OK;

    case store::ColumnType::kInteger:
    case store::ColumnType::kReal:
      if (t == SQLITE_INTEGER) {
        i = sqlite3_value_int64(in);
      } else if (t == SQLITE_FLOAT) {
        r = sqlite3_value_double(in);
      } else if (t == SQLITE_TEXT) {
        t = text_as_number(in, &i, &r);
        if (t == SQLITE_NOMEM) return SQLITE_NOMEM;
      }
      if (type == store::ColumnType::kReal) {
        if (t == SQLITE_INTEGER) r = static_cast<double>(i);
        if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
          // SQLite keeps an integral real of a REAL column as an integer,
          // so -0.0 reads back as 0.0 (in ANY columns it stays -0.0).
          if (r == 0) r = 0;
          *out = store::Value::Real(r);
          return SQLITE_OK;
        }
      } else {
        if (t == SQLITE_FLOAT && real_as_integer(r, &i)) t = SQLITE_INTEGER;
        if (t == SQLITE_INTEGER) {
          *out = store::Value::Integer(i);
          return SQLITE_OK;
        }
      }
      break;

    case store::ColumnType::kText:
      if (t == SQLITE_TEXT) return bytes_of(in, true, out);
      if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        // SQLite's own rendering of the number (%!.15g for reals).
        temps->reserve(temps->size() + 1);  // so that the push below cannot throw
        sqlite3_value* dup = sqlite3_value_dup(in);
        if (dup == nullptr) return SQLITE_NOMEM;
        temps->push_back(dup);
        return bytes_of(dup, true, out);
      }
      break;

    case store::ColumnType::kBlob:
      if (t == SQLITE_BLOB) return bytes_of(in, false, out);
      break;
  }
  *type_name = type_name_of(t);
  return SQLITE_CONSTRAINT_DATATYPE;
}

int coerce_key(sqlite3_value* in, int64_t* key, bool* is_null) {
  *is_null = false;
  int64_t i = 0;
  double r = 0;
  int t = sqlite3_value_type(in);
  switch (t) {
    case SQLITE_NULL: *is_null = true; return SQLITE_OK;
    case SQLITE_INTEGER: *key = sqlite3_value_int64(in); return SQLITE_OK;
    case SQLITE_FLOAT: r = sqlite3_value_double(in); break;
    case SQLITE_TEXT:
      t = text_as_number(in, &i, &r);
      if (t == SQLITE_NOMEM) return SQLITE_NOMEM;
      if (t == SQLITE_INTEGER) {
        *key = i;
        return SQLITE_OK;
      }
      if (t != SQLITE_FLOAT) return SQLITE_MISMATCH;
      break;
    default: return SQLITE_MISMATCH;
  }
  return real_as_integer(r, key) ? SQLITE_OK : SQLITE_MISMATCH;
}

bool key_range(int op, sqlite3_value* rhs, KeyRange* out) {
  *out = KeyRange();
  int t = sqlite3_value_type(rhs);
  int64_t i = 0;
  double r = 0;
  if (t == SQLITE_NULL) return false;
  if (t == SQLITE_INTEGER) i = sqlite3_value_int64(rhs);
  else if (t == SQLITE_FLOAT) r = sqlite3_value_double(rhs);
  else if (t == SQLITE_TEXT) t = text_as_number(rhs, &i, &r);
  if (t == SQLITE_NOMEM) throw std::bad_alloc();  // the module's guard reports it
  if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) {
    // Text and blobs sort after every number: only < and <= hold.
    return op == SQLITE_INDEX_CONSTRAINT_LT || op == SQLITE_INDEX_CONSTRAINT_LE;
  }
  if (t == SQLITE_INTEGER) {
    switch (op) {
      case SQLITE_INDEX_CONSTRAINT_EQ: out->lo = out->hi = i; return true;
      case SQLITE_INDEX_CONSTRAINT_GT: out->lo = i + (i != INT64_MAX); return i != INT64_MAX;
      case SQLITE_INDEX_CONSTRAINT_GE: out->lo = i; return true;
      case SQLITE_INDEX_CONSTRAINT_LT: out->hi = i - (i != INT64_MIN); return i != INT64_MIN;
      case SQLITE_INDEX_CONSTRAINT_LE: out->hi = i; return true;
    }
    return false;
  }
  // A real: exact comparison with every int64, as sqlite3IntFloatCompare.
  if (std::isnan(r)) return false;
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ:
      // A seek by rowid converts with integer affinity first (OP_SeekRowid).
      if (!real_as_integer(r, &i)) return false;
      out->lo = out->hi = i;
      return true;
    case SQLITE_INDEX_CONSTRAINT_GT:  // smallest k > r
      if (r < -kTwo63) return true;
      if (r >= kTwo63) return false;
      out->lo = static_cast<int64_t>(std::floor(r)) + 1;
      return true;
    case SQLITE_INDEX_CONSTRAINT_GE:  // smallest k >= r
      if (r <= -kTwo63) return true;
      if (r >= kTwo63) return false;
      out->lo = static_cast<int64_t>(std::ceil(r));
      return true;
    case SQLITE_INDEX_CONSTRAINT_LT:  // largest k < r
      if (r >= kTwo63) return true;
      if (r <= -kTwo63) return false;
      out->hi = static_cast<int64_t>(std::ceil(r)) - 1;
      return true;
    case SQLITE_INDEX_CONSTRAINT_LE:  // largest k <= r
      if (r >= kTwo63) return true;
      if (r < -kTwo63) return false;
      out->hi = static_cast<int64_t>(std::floor(r));
      return true;
  }
  return false;
}

}  // namespace alex::vtab
