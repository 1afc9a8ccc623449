// Copyright (c) the alex authors.
//
// A random SQL statement generator for the differential test
// (differential_test.cc): statements over one table `t` (the alex table on
// one side, the native STRICT table on the other) and a native helper table
// `o(id INTEGER PRIMARY KEY, v ANY) STRICT` holding values of every type.
//
// The generator aims at the places where a virtual table can differ from
// SQLite's own table: key constraints with right-hand values of every type,
// STRICT coercions and their errors, ON CONFLICT modes, statement rollback
// in the middle of multi-row writes, transactions and savepoints. Keys come
// from a small pool (so UNIQUE conflicts are frequent) plus the extremes of
// the int64 domain.
//
// Each statement carries how its rows may be compared (Order): in order when
// the order is defined, as multisets when it is not. The generator avoids
// statements whose outcome SQL leaves undefined, so that every mismatch is a
// bug on one side:
//   - ORDER BY a non-unique expression together with LIMIT (which rows make
//     the cut is undefined);
//   - automatic keys once the largest key is near INT64_MAX (SQLite then picks
//     a random unused rowid);
//   - OR on the key in the WHERE of an UPDATE or of an INSERT ... SELECT from
//     t (SQLite's multi-index OR visits rows in the order of the OR terms, so
//     which row meets a conflict first, and hence the outcome under OR FAIL /
//     IGNORE / REPLACE, or the message under ABORT, is not defined by SQL);
//   - order-sensitive aggregates (sums of reals, group_concat) over such OR
//     scans;
//   - random(), time, anything else that differs between two connections.
// It also leaves out what SQLite itself refuses on every virtual table:
// UPDATE/DELETE ... RETURNING ("DELETE RETURNING is not available on virtual
// tables") and UPSERT.
//
// The generator reads the native side's state (autocommit, the largest key,
// the row count) through the Probe it is given, never the side under test.

#ifndef ALEX_TESTS_VTAB_SQL_GEN_H_
#define ALEX_TESTS_VTAB_SQL_GEN_H_

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tests/alex/key_sets.h"

namespace alex::testing::sqlgen {

using alex_test::Random;

// The two table shapes under test. Both have the columns
// i INTEGER, r REAL, s TEXT, b BLOB, x ANY, n INTEGER NOT NULL; the first
// also has k INTEGER PRIMARY KEY (an alias of the rowid, the key), the second
// keys its rows by the hidden rowid only.
enum class Schema { kIntegerPrimaryKey, kHiddenRowid };

inline const char* schema_name(Schema schema) {
  return schema == Schema::kIntegerPrimaryKey ? "IntegerPrimaryKey" : "HiddenRowid";
}

// The column definitions of `t`, as written inside CREATE TABLE (...).
inline std::string table_columns(Schema schema) {
  std::string cols = "i INTEGER, r REAL, s TEXT, b BLOB, x ANY, n INTEGER NOT NULL";
  return schema == Schema::kIntegerPrimaryKey ? "k INTEGER PRIMARY KEY, " + cols : cols;
}

// Every row of t with every value's type, in key order: the state check.
inline std::string dump_sql(Schema schema) {
  const std::string key = schema == Schema::kIntegerPrimaryKey ? "k" : "rowid";
  return "SELECT " + key +
         ", typeof(i), i, typeof(r), r, typeof(s), s, typeof(b), b, typeof(x), x, typeof(n), n FROM t ORDER BY " +
         key;
}

// The helper table o, filled with values of every type (duplicates, both
// 7 and 7.0 and '7', NULLs, the int64 extremes, reals beyond them).
inline std::vector<std::string> helper_table_sql() {
  return {
      "CREATE TABLE o(id INTEGER PRIMARY KEY, v ANY) STRICT",
      "INSERT INTO o(v) VALUES (0), (1), (2), (3), (5), (7), (8), (10), (13), (20), (25), (30), (-1), (-5), "
      "(7.0), (7.5), (-0.5), ('7'), (' 7 '), ('12'), ('abc'), (''), (x'07'), (x''), (NULL), (NULL), "
      "(1e300), (-1e300), (9.3e18), (-9.3e18), (9223372036854775807), (-9223372036854775807 - 1), "
      "(9223372036854775806), (4611686018427387904), ('a%'), (3.0), (1.5e-300), (-0.0), (7), (12), (2)",
  };
}

// How two sides' rows are compared.
enum class Order {
  kExact,    // the order is defined (a total ORDER BY, VALUES order): compare as is
  kKeyScan,  // one table scanned without ORDER BY: rows come in key order on
             // both sides; column 0 is the key (checked on the native side)
  kAny,      // the order is undefined: compare sorted multisets
};

// What a statement may change (the reproducer keeps all of them; the
// shrinker tries dropping reads first).
enum class Kind { kRead, kWrite, kTransaction };

struct Statement {
  std::string sql;
  Order order = Order::kExact;
  Kind kind = Kind::kRead;
};

// Statement shapes the generator leaves out because of a known difference
// from the native table (see the switches in differential_test.cc).
struct Workarounds {
  // RETURNING names no key: a key the module chose, or one given under
  // another of its names, comes back NULL or -1.
  bool no_key_in_returning = false;
  // No RETURNING under OR IGNORE: rows the module ignored are returned too.
  bool no_returning_under_ignore = false;
  // No UPDATE OR REPLACE of the key: SQLite computes every new row of a
  // virtual table UPDATE before the first xUpdate, while on its own table
  // a row moved onto a key still to be visited is updated again.
  bool no_key_update_or_replace = false;
  // Values well typed in every write inside an open transaction: there
  // SQLite keeps the rows a statement wrote before a type error unless the
  // statement also has a constraint that may abort it; the module always
  // rolls the statement back. (In autocommit both undo everything.)
  bool well_typed_in_transactions = false;
  // No REAL key operand equal to INT64_MIN (-9223372036854775809 rounds to
  // -2^63): SQLite itself answers `rowid = -9223372036854775809` by plan,
  // no row when it seeks, the INT64_MIN row when it scans and compares.
  bool no_real_at_int64_min = false;
};

// What the generator may know about the native side before each statement.
struct Probe {
  bool autocommit = true;
  int64_t max_key = 0;  // 0 when empty
  int64_t rows = 0;
};

class SqlGen {
 public:
  SqlGen(Schema schema, uint64_t seed, Workarounds workarounds = {})
      : schema_(schema), workarounds_(workarounds), random_(seed) {}

  // The next statement, given the native side's current state.
  Statement next(const Probe& probe) {
    probe_ = probe;
    if (probe.autocommit) savepoints_.clear();
    if (!probe.autocommit) txn_age_++;
    else txn_age_ = 0;
    // A long transaction is closed soon; a large table is trimmed.
    if (txn_age_ > 60 && random_.chance(0.3)) return end_transaction();
    if (probe.rows > kMaxRows && random_.chance(0.5)) return delete_rows();
    const uint64_t roll = random_.below(100);
    if (roll < 38) return select();
    if (roll < 68) return insert();
    if (roll < 84) return update();
    if (roll < 91) return delete_rows();
    return transaction();
  }

  // Tells the generator how a statement it produced ended on the native
  // side, so that it tracks the open savepoints.
  void observe(const Statement& statement, bool ok, bool autocommit_after) {
    if (autocommit_after) {
      savepoints_.clear();
      return;
    }
    if (!ok || statement.kind != Kind::kTransaction) return;
    const std::string& sql = statement.sql;
    if (sql.rfind("SAVEPOINT ", 0) == 0) {
      savepoints_.push_back(sql.substr(10));
    } else if (sql.rfind("RELEASE ", 0) == 0) {
      const std::string name = sql.substr(sql.rfind(' ') + 1);
      while (!savepoints_.empty()) {
        const bool found = savepoints_.back() == name;
        savepoints_.pop_back();
        if (found) break;
      }
    } else if (sql.rfind("ROLLBACK", 0) == 0 && sql.find(" TO ") != std::string::npos) {
      const std::string name = sql.substr(sql.rfind(' ') + 1);
      while (!savepoints_.empty() && savepoints_.back() != name) savepoints_.pop_back();
    }
  }

  // The statement that ends an open transaction at the end of a run.
  Statement end_transaction() {
    return {random_.chance(0.5) ? "COMMIT" : "ROLLBACK", Order::kExact, Kind::kTransaction};
  }

  Schema schema() const { return schema_; }

 private:
  static constexpr int64_t kMaxRows = 300;
  // Keys of the small pool are -5..kSmallKeys.
  static constexpr int64_t kSmallKeys = 120;
  // Automatic keys are generated only while the largest key is below this,
  // so that SQLite never falls back to random rowids (at INT64_MAX) in the
  // middle of a statement, however many rows it inserts.
  static constexpr int64_t kAutoKeyCeiling = std::numeric_limits<int64_t>::max() - (int64_t{1} << 24);

  // ---- small helpers ------------------------------------------------------

  template <class T>
  T pick(std::initializer_list<T> items) {
    return items.begin()[random_.below(items.size())];
  }
  std::string pick_s(std::initializer_list<const char*> items) { return pick(items); }
  bool chance(double p) { return random_.chance(p); }
  int64_t between(int64_t lo, int64_t hi) { return random_.between(lo, hi); }

  bool has_k() const { return schema_ == Schema::kIntegerPrimaryKey; }

  // A name for the key: the declared column or one of the rowid aliases.
  std::string key_ref(const std::string& table = "") {
    const std::string prefix = table.empty() ? "" : table + ".";
    if (has_k()) return prefix + pick_s({"k", "k", "k", "rowid", "_rowid_", "oid"});
    return prefix + pick_s({"rowid", "rowid", "_rowid_", "oid"});
  }
  // The key column as written in an INSERT column list.
  std::string key_column() {
    return has_k() ? pick_s({"k", "k", "k", "rowid", "oid", "_rowid_"}) : pick_s({"rowid", "oid", "_rowid_"});
  }

  // ---- values -------------------------------------------------------------

  // A key from the small pool: collisions are frequent.
  std::string small_key() { return std::to_string(between(-5, kSmallKeys)); }

  // A key at or near the ends of the domain. With `avoid_top`, none that
  // would leave no room for automatic keys.
  std::string extreme_key(bool avoid_top) {
    if (avoid_top) {
      return pick_s({"0", "-1", "(-9223372036854775807 - 1)", "-9223372036854775808", "-9223372036854775807",
                     "4611686018427387904", "-4611686018427387904", "9007199254740993", "1099511627776",
                     "-1099511627776", "1000000000000000000"});
    }
    return pick_s({"9223372036854775807", "9223372036854775806", "9223372036854775807", "(-9223372036854775807 - 1)",
                   "-9223372036854775808", "0", "-1", "4611686018427387904", "1000000000000000000"});
  }

  // A key value for an INSERT or UPDATE: mostly valid integers, sometimes a
  // value that converts ('12', 7.0, ' 7 ') or fails (7.5, 'abc', x'07').
  std::string key_value(bool avoid_top) {
    const uint64_t roll = random_.below(100);
    if (roll < 70) return small_key();
    if (roll < 82) return extreme_key(avoid_top);
    if (roll < 92 || well_typed_) return pick_s({"'12'", "' 7 '", "7.0", "'3'", "30.0", "'-2'", "1e3"});
    if (roll < 94) return "'0x10'";
    return pick_s({"7.5", "'abc'", "x'07'", "''", "1e300", "9.3e18", "-9.3e18", "'1.5'"});
  }

  // A right-hand value for a comparison with the key: integers near the
  // pool, and values of every other type and magnitude.
  std::string key_operand() {
    const uint64_t roll = random_.below(100);
    if (roll < 55) return small_key();
    if (roll < 65) return extreme_key(false);
    if (roll < 75) return std::to_string(between(-5, kSmallKeys)) + pick_s({".5", ".0", ".25"});
    std::string v = pick_s({"7.5",  "-0.5", "7.0",  "0.0",   "-0.0",     "1e300", "-1e300", "9.3e18", "-9.3e18",
                   "'7'",  "' 7 '", "'abc'", "'7.0'", "'7.5'", "''",    "'1e1'",  "'-1'",   "x'07'",
                   "x''",  "NULL",  "(3 + 4)", "CAST('7' AS INTEGER)", "9223372036854775807.0",
                   "9223372036854775808", "-9223372036854775809", "'9223372036854775807'",
                   "4.5e15", "(SELECT max(v) FROM o WHERE typeof(v) = 'integer' AND v < 100)"});
    if (workarounds_.no_real_at_int64_min && v == "-9223372036854775809") v = "-9.2e18";
    return v;
  }

  // Any value at all (every column gets these now and then).
  std::string wild_value() {
    return pick_s({"NULL", "'abc'", "x'07'", "5.5", "1e300", "9.3e18", "-9.3e18", "' 7 '", "'12'", "5",
                   "9223372036854775807", "'9223372036854775808'", "-0.0", "'1e2'", "x''", "''", "2.0",
                   "'0x10'", "(-9223372036854775807 - 1)", "zeroblob(2)", "'5.0'", "1.5e-300"});
  }

  // A value for column `col` (one of i r s b x n): usually one the STRICT
  // type accepts (possibly after conversion), sometimes a wild one.
  std::string column_value(char col) {
    if (!well_typed_ && chance(0.06)) return wild_value();
    switch (col) {
      case 'i':
        return chance(0.6) ? std::to_string(between(-3, 12))
                           : pick_s({"NULL", "'12'", "5.0", "' 4 '", "9223372036854775807",
                                     "(-9223372036854775807 - 1)", "1000000", "-7"});
      case 'r':
        return chance(0.5) ? std::to_string(between(-3, 12)) + ".5"
                           : pick_s({"NULL", "3", "'2.5'", "1e300", "-0.0", "0.1", "-7.25", "'4'", "1.5e-300",
                                     "9223372036854775807"});
      case 's':
        return pick_s({"'abc'", "'a%'", "'A b'", "''", "'a'", "'b'", "'ab'", "7", "1.5", "NULL", "'12'",
                       "' 7 '", "'x''y'"});
      case 'b':
        return pick_s({"x'07'", "x''", "x'00ff'", "NULL", "x'41'", "zeroblob(3)"});
      case 'x':
        return pick_s({"1", "2.5", "'7'", "'abc'", "x'07'", "NULL", "7", "7.0", "' 7 '", "'0012'", "-1"});
      default:  // n
        return chance(0.9) ? std::to_string(between(0, 5)) : pick_s({"'3'", "4.0", "NULL"});
    }
  }

  // An expression for `SET col = ...` that reads the row.
  std::string column_expression(char col) {
    switch (col) {
      case 'i': return pick_s({"i + 1", "i * 2", "n", "k_ref", "-i", "length(s)", "i + 9223372036854775800"});
      case 'r': return pick_s({"r * 2", "r + 1", "i", "n / 2.0", "-r"});
      case 's': return pick_s({"s || 'x'", "upper(s)", "i", "substr(s, 2)", "typeof(x)"});
      case 'b': return pick_s({"b || x'01'", "zeroblob(n % 8)", "CAST(s AS BLOB)", "x'ff'"});
      case 'x': return pick_s({"i", "s", "b", "r", "x || 'z'", "k_ref"});
      default: return pick_s({"n + 1", "n * 2", "i", "-n", "n - 1"});
    }
  }

  // Replaces the placeholder "k_ref" in a column expression by a key name.
  std::string with_key(std::string expr) {
    for (size_t at; (at = expr.find("k_ref")) != std::string::npos;) expr.replace(at, 5, key_ref());
    return expr;
  }

  // ---- WHERE ----------------------------------------------------------------

  struct Where {
    std::string sql;      // "" or " WHERE ..."
    bool has_or = false;  // an OR anywhere (the native scan order may follow it)
  };

  // A condition on the key, as a virtual table's xBestIndex sees them.
  std::string key_atom(const std::string& table, bool allow_or, bool* has_or) {
    const std::string kr = key_ref(table);
    const uint64_t roll = random_.below(100);
    if (roll < 18) return kr + " = " + key_operand();
    if (roll < 28) return kr + " IN (" + operand_list() + ")";
    if (roll < 34) return kr + " IN (SELECT v FROM o" + pick_s({"", " WHERE id % 3 = 0", " WHERE id > 20",
                                                                 " WHERE typeof(v) <> 'integer'"}) + ")";
    if (roll < 37) return kr + " NOT IN (" + operand_list() + ")";
    if (roll < 55) return kr + " " + pick_s({">", ">=", "<", "<="}) + " " + key_operand();
    if (roll < 60) return key_operand() + " " + pick_s({">", ">=", "<", "<=", "="}) + " " + kr;
    if (roll < 68) return kr + pick_s({" BETWEEN ", " BETWEEN ", " NOT BETWEEN "}) + key_operand() + " AND " +
                          key_operand();
    if (roll < 76) {
      // Several bounds at once: the module must intersect them.
      std::string s = kr + " " + pick_s({">", ">="}) + " " + key_operand();
      s += " AND " + key_ref(table) + " " + pick_s({"<", "<="}) + " " + key_operand();
      if (chance(0.5)) s += " AND " + key_ref(table) + " " + pick_s({">", ">=", "<", "<=", "<>"}) + " " + key_operand();
      return "(" + s + ")";
    }
    if (roll < 80) {
      return chance(0.4) ? kr + pick_s({" IS NULL", " IS NOT NULL"})
                         : kr + pick_s({" IS ", " IS NOT "}) + key_operand();
    }
    if (roll < 85) return "NOT (" + key_atom(table, allow_or, has_or) + ")";
    if (roll < 88) return kr + pick_s({" + 0 = ", " % 5 = ", " - 1 > "}) + small_key();
    if (allow_or) {
      *has_or = true;
      return "(" + key_atom(table, true, has_or) + " OR " + key_atom(table, true, has_or) + ")";
    }
    return kr + " <> " + key_operand();
  }

  std::string operand_list() {
    if (chance(0.03)) return "";
    std::string s = key_operand();
    for (int n = static_cast<int>(between(0, 4)); n > 0; n--) s += ", " + key_operand();
    return s;
  }

  // A condition on the other columns (SQLite evaluates these itself).
  std::string column_atom(const std::string& table) {
    const std::string p = table.empty() ? "" : table + ".";
    return p + pick_s({"i = 3", "i > 2", "s LIKE 'a%'", "n > 2", "r IS NULL", "x = '7'", "x = 7",
                       "b IS NOT NULL", "typeof(x) = 'text'", "s GLOB '*b*'", "i BETWEEN 1 AND 10",
                       "n IN (1, 2)", "r > 3.5", "s IS NULL", "i IS NOT NULL", "n = 0"});
  }

  // A WHERE clause: nothing, key atoms, column atoms, or both, ANDed.
  Where where(const std::string& table, bool allow_or) {
    Where w;
    const uint64_t roll = random_.below(100);
    std::vector<std::string> atoms;
    if (roll < 8) return w;
    if (roll < 70) {
      atoms.push_back(key_atom(table, allow_or, &w.has_or));
      if (chance(0.2)) atoms.push_back(key_atom(table, allow_or, &w.has_or));
      if (chance(0.25)) atoms.push_back(column_atom(table));
    } else if (roll < 85) {
      atoms.push_back(column_atom(table));
    } else {
      atoms.push_back(column_atom(table));
      if (allow_or && chance(0.5)) {
        w.has_or = true;
        atoms.back() = "(" + atoms.back() + " OR " + key_atom(table, allow_or, &w.has_or) + ")";
      }
    }
    w.sql = " WHERE " + atoms[0];
    for (size_t a = 1; a < atoms.size(); a++) w.sql += " AND " + atoms[a];
    return w;
  }

  std::string limit() {
    return pick_s({" LIMIT 3", " LIMIT 1", " LIMIT 2 OFFSET 1", " LIMIT 1 + 1", " LIMIT -1 OFFSET 2", " LIMIT 0",
                   " LIMIT 3, 2", " LIMIT (SELECT count(*) FROM o) / 10", " LIMIT 5 OFFSET 0"});
  }

  // ---- SELECT ---------------------------------------------------------------

  Statement select() {
    const uint64_t roll = random_.below(100);
    if (roll < 45) return select_rows();
    if (roll < 58) return select_aggregate();
    if (roll < 63) return select_grouped();
    if (roll < 85) return select_join();
    return select_subquery();
  }

  // Columns of t for a single-table SELECT; column 0 is always the key.
  std::string row_columns() {
    const std::string kr = key_ref();
    if (has_k()) {
      switch (random_.below(6)) {
        case 0: return "*";
        case 1: return kr + ", i, s";
        case 2: return kr + ", typeof(x), x, n";
        case 3: return kr + ", typeof(i), i, typeof(r), r, typeof(s), s, typeof(b), b, typeof(x), x, n";
        case 4: return kr + ", k, rowid, b";
        default: return kr + ", t.*";
      }
    }
    switch (random_.below(4)) {
      case 0: return kr + ", *";
      case 1: return kr + ", i, s";
      case 2: return kr + ", typeof(x), x, n";
      default: return kr + ", typeof(i), i, typeof(r), r, typeof(s), s, typeof(b), b, typeof(x), x, n";
    }
  }

  // SELECT <columns> FROM t WHERE ... [ORDER BY ...] [LIMIT ...].
  Statement select_rows() {
    Where w = where("", true);
    Statement st{"SELECT " + row_columns() + " FROM t" + w.sql, Order::kKeyScan, Kind::kRead};
    const uint64_t roll = random_.below(100);
    bool total = true;
    if (roll < 40) {
      st.sql += " ORDER BY " + key_ref() + pick_s({"", " ASC", " DESC"});
      st.order = Order::kExact;
    } else if (roll < 55) {
      st.sql += " ORDER BY " + pick_s({"i", "s", "n", "r", "x", "b", "typeof(x)"}) + pick_s({"", " DESC"}) + ", " +
                key_ref() + pick_s({"", " DESC"});
      st.order = Order::kExact;
    } else if (roll < 62) {
      st.sql += " ORDER BY -" + key_ref();
      st.order = Order::kExact;
    } else if (roll < 68) {
      st.sql += " ORDER BY " + pick_s({"i", "n", "typeof(s)"});  // not total: no LIMIT
      st.order = Order::kAny;
      total = false;
    } else if (w.has_or) {
      st.order = Order::kAny;  // multi-index OR: the order is the OR terms'
      total = false;
    }
    if (total && chance(0.3)) st.sql += limit();
    return st;
  }

  // Aggregates over a WHERE; order-sensitive ones only over key-ordered scans.
  Statement select_aggregate() {
    Where w = where("", true);
    const std::string kr = key_ref();
    std::string cols;
    if (w.has_or) {
      cols = "count(*), min(" + kr + "), max(" + key_ref() + "), count(s), max(i), min(r)";
    } else {
      cols = pick<std::string>({std::string("count(*), sum(i), min(") + kr + "), max(" + kr + "), total(r)",
                   std::string("count(*), avg(n), group_concat(") + kr + "), group_concat(s, '/')",
                   std::string("max(") + kr + "), min(" + kr + "), count(x), sum(n)",
                   std::string("count(*)"), std::string("min(") + kr + ")", std::string("max(") + kr + ")"});
    }
    return {"SELECT " + cols + " FROM t" + w.sql, Order::kExact, Kind::kRead};
  }

  Statement select_grouped() {
    Where w = where("", true);
    const std::string g = pick_s({"n", "typeof(x)", "i % 3", "s"});
    return {"SELECT " + g + ", count(*), min(" + key_ref() + "), max(" + key_ref() + ") FROM t" + w.sql +
                " GROUP BY " + g,
            Order::kAny, Kind::kRead};
  }

  // Joins with o both ways, LEFT JOIN, range joins, self-joins.
  Statement select_join() {
    Statement st{"", Order::kAny, Kind::kRead};
    const uint64_t roll = random_.below(7);
    const std::string tk = key_ref("t");
    std::string order_by = " ORDER BY o.id, " + key_ref("t");
    switch (roll) {
      case 0:
        st.sql = "SELECT o.id, o.v, " + tk + ", t.i, t.s FROM o JOIN t ON " + key_ref("t") + " = o.v";
        break;
      case 1:
        st.sql = "SELECT " + tk + ", t.n, o.id FROM t JOIN o ON o.v = " + key_ref("t");
        break;
      case 2:
        st.sql = "SELECT o.id, " + tk + ", typeof(t.x) FROM o LEFT JOIN t ON " + key_ref("t") + " = o.v";
        break;
      case 3:
        st.sql = "SELECT o.id, " + tk + " FROM o JOIN t ON " + key_ref("t") + " > o.v AND " + key_ref("t") +
                 " <= o.v + 2";
        break;
      case 4:
        st.sql = "SELECT o.id, " + tk + " FROM o, t WHERE " + key_ref("t") + " IN (o.v, o.v + 1, -o.v)";
        break;
      case 5:
        st.sql = "SELECT " + tk + ", o.id, o.v FROM t JOIN o ON o.id = t.n";
        break;
      default: {
        // Self-join: each row with its successor key (or a range of them).
        const std::string a = key_ref("a"), b = key_ref("b");
        st.sql = "SELECT " + a + ", " + b + ", b.n FROM t AS a JOIN t AS b ON " +
                 pick<std::string>({b + " = " + a + " + 1", b + " BETWEEN " + a + " AND " + a + " + 2",
                       b + " = " + a + " * 2", b + " = -" + a});
        order_by = " ORDER BY " + key_ref("a") + ", " + key_ref("b");
        if (chance(0.4)) st.sql += " WHERE " + key_atom("a", false, nullptr);
        break;
      }
    }
    if (roll != 6 && chance(0.4)) {
      st.sql += (roll == 4 ? " AND " : " WHERE ") + key_atom("t", false, nullptr);
    }
    if (chance(0.5)) {
      st.sql += order_by + pick_s({"", " DESC"});
      st.order = Order::kExact;
      if (chance(0.3)) st.sql += limit();
    }
    return st;
  }

  // Subqueries on t: scalar, correlated, EXISTS, IN over t itself.
  Statement select_subquery() {
    const std::string kr = key_ref();
    switch (random_.below(6)) {
      case 0:
        return {"SELECT o.id, (SELECT count(*) FROM t WHERE " + kr + " <= o.v) FROM o ORDER BY o.id",
                Order::kExact, Kind::kRead};
      case 1:
        return {"SELECT o.id, EXISTS (SELECT 1 FROM t WHERE " + kr + " = o.v) FROM o ORDER BY o.id", Order::kExact,
                Kind::kRead};
      case 2:
        return {"SELECT (SELECT max(" + kr + ") FROM t), (SELECT min(" + key_ref() + ") FROM t WHERE " +
                    key_ref() + " > " + key_operand() + "), (SELECT count(*) FROM t)",
                Order::kExact, Kind::kRead};
      case 3:
        return {"SELECT " + kr + ", n FROM t WHERE " + key_ref() + " IN (SELECT " + key_ref() + " + 1 FROM t)",
                Order::kKeyScan, Kind::kRead};
      case 4:
        return {"SELECT " + kr + " FROM t WHERE EXISTS (SELECT 1 FROM o WHERE o.v = " + key_ref("t") + ")",
                Order::kKeyScan, Kind::kRead};
      default:
        return {"SELECT " + kr + ", (SELECT count(*) FROM t AS u WHERE " + key_ref("u") + " < " + key_ref("t") +
                    ") FROM t",
                Order::kKeyScan, Kind::kRead};
    }
  }

  // ---- INSERT ---------------------------------------------------------------

  // The statement's verb with an ON CONFLICT mode; decides well_typed_.
  std::string conflict_verb(const char* statement) {
    const std::string s = statement;
    const uint64_t roll = random_.below(100);
    well_typed_ = workarounds_.well_typed_in_transactions && !probe_.autocommit;
    ignore_ = roll >= 52 && roll < 67;
    replace_ = roll >= 67 && roll < 87;
    if (roll < 30) return s;
    if (roll < 40) return s + " OR ABORT";
    if (roll >= 67 && roll < 87) return s == "INSERT" && chance(0.3) ? "REPLACE" : s + " OR REPLACE";
    if (roll < 52) return s + " OR FAIL";
    if (roll < 67) return s + " OR IGNORE";
    return s + " OR ROLLBACK";
  }

  std::string returning() {
    if (!chance(0.15) || (ignore_ && workarounds_.no_returning_under_ignore)) return "";
    if (workarounds_.no_key_in_returning) {
      return pick_s({" RETURNING typeof(i), i, n", " RETURNING s || '!', b", " RETURNING typeof(r), r, typeof(x), x"});
    }
    const std::string kr = key_ref();
    return pick<std::string>({std::string(" RETURNING *"), " RETURNING " + kr, " RETURNING " + kr + ", typeof(i), i, n",
                 " RETURNING " + kr + " * 2, s || '!'", " RETURNING typeof(r), r, typeof(x), x"});
  }

  // Whether this statement may create automatic keys (see kAutoKeyCeiling).
  bool auto_keys_allowed() { return probe_.max_key < kAutoKeyCeiling && chance(0.6); }

  Statement insert() {
    const uint64_t roll = random_.below(100);
    if (roll < 70) return insert_values();
    if (roll < 84) return insert_from_o();
    if (roll < 97) return insert_from_t();
    const std::string verb = conflict_verb("INSERT");  // before returning(), which reads ignore_
    return {verb + " INTO t DEFAULT VALUES" + returning(), Order::kExact, Kind::kWrite};
  }

  // INSERT ... VALUES with one to four rows, key given, NULL or omitted.
  Statement insert_values() {
    const bool auto_keys = auto_keys_allowed();
    // The columns: all in table order without a list, or a shuffled subset
    // (usually with n, so that the NOT NULL error is not the only outcome).
    std::vector<std::string> cols;
    bool listed = true;
    const bool with_key = !auto_keys || chance(0.6);
    if (chance(0.3) && (has_k() ? with_key : !with_key)) {
      listed = false;
      if (has_k()) cols.push_back("k");
      for (const char* c : {"i", "r", "s", "b", "x", "n"}) cols.push_back(c);
    } else {
      std::vector<std::string> others = {"i", "r", "s", "b", "x"};
      random_.shuffle(others);
      others.resize(random_.below(6));
      if (chance(0.95)) others.push_back("n");
      random_.shuffle(others);
      cols = others;
      if (with_key) cols.insert(cols.begin() + static_cast<std::ptrdiff_t>(random_.below(cols.size() + 1)),
                                key_column());
      if (cols.empty()) cols.push_back("n");
    }
    std::string sql = conflict_verb("INSERT") + " INTO t";
    if (listed) {
      sql += "(";
      for (size_t c = 0; c < cols.size(); c++) sql += (c ? ", " : "") + cols[c];
      sql += ")";
    }
    sql += " VALUES ";
    const int rows = static_cast<int>(pick<int>({1, 1, 1, 2, 2, 3, 4}));
    for (int r = 0; r < rows; r++) {
      sql += r ? ", (" : "(";
      for (size_t c = 0; c < cols.size(); c++) {
        const std::string& col = cols[c];
        std::string v;
        if (col == "k" || col == "rowid" || col == "oid" || col == "_rowid_") {
          v = auto_keys && chance(0.3) ? "NULL" : key_value(auto_keys);
        } else {
          v = column_value(col[0]);
        }
        sql += (c ? ", " : "") + v;
      }
      sql += ")";
    }
    return {sql + returning(), Order::kExact, Kind::kWrite};
  }

  // INSERT ... SELECT from o: keys and values of every type, in o's order.
  Statement insert_from_o() {
    const bool auto_keys = auto_keys_allowed();
    std::string sql = conflict_verb("INSERT") + " INTO t";  // first: it decides well_typed_
    const int64_t lo = between(1, 41);
    std::string filter = " WHERE id BETWEEN " + std::to_string(lo) + " AND " + std::to_string(lo + between(0, 6));
    // Keys from o: NULL becomes an automatic key, so either no NULLs, or no
    // key near the top.
    filter += auto_keys ? " AND (v IS NULL OR abs(v) < 1e18)" : " AND v IS NOT NULL";
    if (well_typed_) filter += " AND (v IS NULL OR (typeof(v) IN ('integer', 'real') AND v = CAST(v AS INTEGER)))";
    const std::string kc = key_column();
    switch (well_typed_ ? 1 : random_.below(4)) {
      case 0: sql += "(" + kc + ", i, r, s, b, x, n) SELECT v, v, v, v, v, v, id FROM o"; break;
      case 1: sql += "(" + kc + ", x, n) SELECT v, v, id % 4 FROM o"; break;
      case 2: sql += "(" + kc + ", s, n) SELECT v, v, v FROM o"; break;
      default: sql += "(" + kc + ", i, n) SELECT v, v, 1 FROM o"; break;
    }
    return {sql + filter + returning(), Order::kExact, Kind::kWrite};
  }

  // INSERT ... SELECT from t itself: shifted keys (conflicts), copied values.
  Statement insert_from_t() {
    const bool auto_keys = auto_keys_allowed();
    const Where w = where("", false);
    std::string sql = conflict_verb("INSERT") + " INTO t";
    const std::string values = well_typed_ ? "i, r, s, b, x, n"
                                           : pick_s({"i, r, s, b, x, n", "i + 1, r, s || 'z', b, typeof(x), n",
                                                     "n, i, x, b, s, n + 1"});
    if (auto_keys && chance(0.3)) {
      sql += "(i, r, s, b, x, n) SELECT " + values + " FROM t";  // every row gets a new key
    } else {
      const std::string kr = key_ref();
      const std::string key = pick<std::string>({kr + " + 1", kr + " + 2", kr + " + 100", "-" + kr, kr + " * 2", kr + " - 1",
                                    kr});
      sql += "(" + key_column() + ", i, r, s, b, x, n) SELECT " + key + ", " + values + " FROM t";
    }
    return {sql + w.sql + key_guard(w.sql) + returning(), Order::kExact, Kind::kWrite};
  }

  // Under well_typed_, a WHERE term keeping key arithmetic (k + 100, -k,
  // k * 2) from overflowing into a REAL that is no key.
  std::string key_guard(const std::string& where_sql) {
    if (!well_typed_) return "";
    return (where_sql.empty() ? " WHERE " : " AND ") + key_ref() + " BETWEEN -1000000000000000000 AND 1000000000000000000";
  }

  // ---- UPDATE and DELETE ----------------------------------------------------

  std::string key_assignment() {
    const std::string kr = has_k() ? pick_s({"k", "k", "rowid", "_rowid_", "oid"}) : pick_s({"rowid", "oid", "_rowid_"});
    const std::string k2 = key_ref();
    switch (random_.below(9)) {
      case 0: return kr + " = " + k2 + " + 1";
      case 1: return kr + " = " + k2 + " - 1";
      case 2: return kr + " = " + k2 + " + 100";
      case 3: return kr + " = -" + k2;
      case 4: return kr + " = " + k2 + " * 2";
      case 5: return kr + (well_typed_ ? " = " + k2 : " = NULL");
      case 6: return kr + " = " + k2;
      default: return kr + " = " + key_value(chance(0.5));
    }
  }

  Statement update() {
    std::string sql = conflict_verb("UPDATE") + " t SET ";
    std::vector<std::string> sets;
    const bool sets_key = chance(0.4) && !(replace_ && workarounds_.no_key_update_or_replace);
    if (sets_key) sets.push_back(key_assignment());
    for (int n = static_cast<int>(between(sets.empty() ? 1 : 0, 2)); n > 0; n--) {
      const char col = "irsbxn"[random_.below(6)];
      // Expressions may yield any type (i * 2 overflows to REAL, b || x'01' is TEXT).
      sets.push_back(std::string(1, col) + " = " + (!well_typed_ && chance(0.4) ? with_key(column_expression(col))
                                                                                : column_value(col)));
    }
    random_.shuffle(sets);
    sql += sets[0];
    for (size_t s = 1; s < sets.size(); s++) sql += ", " + sets[s];
    // No RETURNING: SQLite has none for UPDATE and DELETE on virtual tables.
    const std::string w = where("", false).sql;
    return {sql + w + (sets_key ? key_guard(w) : ""), Order::kAny, Kind::kWrite};
  }

  // DELETE: mostly a few keys, sometimes any WHERE, rarely everything.
  Statement delete_rows() {
    if (chance(0.01)) return {"DELETE FROM t", Order::kAny, Kind::kWrite};
    std::string w;
    const uint64_t roll = random_.below(100);
    if (roll < 40) {
      w = " WHERE " + key_ref() + " = " + key_operand();
    } else if (roll < 60) {
      w = " WHERE " + key_ref() + " IN (" + operand_list() + ")";
    } else if (roll < 75) {
      const int64_t lo = between(-5, kSmallKeys);
      w = " WHERE " + key_ref() + " BETWEEN " + std::to_string(lo) + " AND " + std::to_string(lo + between(0, 5));
    } else {
      w = where("", true).sql;
      if (w.empty()) w = " WHERE " + key_ref() + " > " + key_operand();
    }
    return {"DELETE FROM t" + w, Order::kAny, Kind::kWrite};
  }

  // ---- transactions -----------------------------------------------------------

  Statement transaction() {
    Statement st{"", Order::kExact, Kind::kTransaction};
    if (chance(0.05)) {
      // Misuse: the same error on both sides, and no change of state.
      st.sql = pick_s({"COMMIT", "BEGIN", "RELEASE nosuch", "ROLLBACK TO nosuch"});
      if (probe_.autocommit && st.sql == "BEGIN") st.sql = "COMMIT";
      if (!probe_.autocommit && st.sql == "COMMIT") st.sql = "BEGIN";
      return st;
    }
    if (probe_.autocommit) {
      st.sql = chance(0.7)
                   ? pick_s({"BEGIN", "BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})
                   : "SAVEPOINT sp" + std::to_string(savepoints_.size());
      return st;
    }
    const uint64_t roll = random_.below(100);
    if (roll < 30 && savepoints_.size() < 5) {
      st.sql = "SAVEPOINT sp" + std::to_string(savepoints_.size() + (chance(0.2) ? 0 : 1));
    } else if (roll < 50 && !savepoints_.empty()) {
      st.sql = "RELEASE " + pick_s({"", "SAVEPOINT "}) + savepoints_[random_.below(savepoints_.size())];
    } else if (roll < 75 && !savepoints_.empty()) {
      st.sql = pick_s({"ROLLBACK TO ", "ROLLBACK TRANSACTION TO SAVEPOINT ", "ROLLBACK TO SAVEPOINT "}) +
               savepoints_[random_.below(savepoints_.size())];
    } else {
      st.sql = pick_s({"COMMIT", "END", "COMMIT TRANSACTION", "ROLLBACK", "ROLLBACK"});
    }
    return st;
  }

  Schema schema_;
  Workarounds workarounds_;
  Random random_;
  bool well_typed_ = false;  // this statement's values must all have the right type
  bool ignore_ = false;      // this statement is OR IGNORE
  bool replace_ = false;     // this statement is OR REPLACE
  Probe probe_;
  std::vector<std::string> savepoints_;  // open savepoints, innermost last
  int txn_age_ = 0;                      // statements since the transaction began
};

}  // namespace alex::testing::sqlgen

#endif  // ALEX_TESTS_VTAB_SQL_GEN_H_
