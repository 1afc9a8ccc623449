// Copyright (c) the alex authors.

#include "vtab/plan.h"

#include <algorithm>

namespace alex::vtab {
namespace {

// The constraint operators that become key bounds, and how idxStr shows them.
bool bound_op(unsigned char op, ArgOp* out, const char** text) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: *out = ArgOp::kEq; *text = "="; return true;
    case SQLITE_INDEX_CONSTRAINT_GT: *out = ArgOp::kGt; *text = ">"; return true;
    case SQLITE_INDEX_CONSTRAINT_GE: *out = ArgOp::kGe; *text = ">="; return true;
    case SQLITE_INDEX_CONSTRAINT_LT: *out = ArgOp::kLt; *text = "<"; return true;
    case SQLITE_INDEX_CONSTRAINT_LE: *out = ArgOp::kLe; *text = "<="; return true;
  }
  return false;
}

}  // namespace

int best_index(sqlite3_index_info* info, int key_column, const std::string& key_name, int64_t rows) {
  int argc = 0;
  int idx_num = 0;
  bool eq = false, in = false, lower = false, upper = false;
  std::string ops;
  for (int i = 0; i < info->nConstraint && argc < kMaxArgs; i++) {
    const auto& c = info->aConstraint[i];
    ArgOp op;
    const char* text;
    if (!c.usable || (c.iColumn != -1 && c.iColumn != key_column) || !bound_op(c.op, &op, &text)) continue;
    if (op == ArgOp::kEq && sqlite3_vtab_in(info, i, -1)) {
      // An IN list: take all its values at once (sorted and deduplicated
      // in xFilter), so that one plan yields the rows in key order.
      sqlite3_vtab_in(info, i, 1);
      op = ArgOp::kIn;
      text = " in";
    }
    eq |= op == ArgOp::kEq;
    in |= op == ArgOp::kIn;
    lower |= op == ArgOp::kGt || op == ArgOp::kGe;
    upper |= op == ArgOp::kLt || op == ArgOp::kLe;
    info->aConstraintUsage[i].argvIndex = ++argc;
    info->aConstraintUsage[i].omit = 1;
    idx_num |= static_cast<int>(op) << (2 + 3 * (argc - 1));
    if (!ops.empty()) ops += ",";
    ops += text;
  }
  if (argc > 0) idx_num |= 2;
  // Plans on the key prefetch their first row while they search (plan.h).
  if (argc > 0) idx_num |= static_cast<int>(info->colUsed & ((uint64_t{1} << kUsedColumns) - 1)) << kUsedShift;
  if (info->colUsed == ~sqlite3_uint64{0}) idx_num |= 1 << kNoChangeBit;

  // Every key is distinct, so ORDER BY that starts with the key is fully
  // served by key order (later terms never decide anything).
  if (info->nOrderBy > 0 && (info->aOrderBy[0].iColumn == -1 || info->aOrderBy[0].iColumn == key_column)) {
    info->orderByConsumed = 1;
    if (info->aOrderBy[0].desc) idx_num |= 1;
  }

  // Costs are in "rows touched". A full scan touches every row; a bound on
  // the key is assumed to keep a quarter of them (SQLite's own guess for a
  // range on an index), both bounds a sixteenth; a lookup touches one row
  // and an IN list a handful. The constants keep every key plan strictly
  // cheaper than a scan, even on an empty table, so SQLite takes the index
  // whenever it applies, and makes `t.key = other.x` the inner loop of a
  // join (one lookup per outer row).
  const double n = static_cast<double>(std::max<int64_t>(rows, 1));
  double est_rows = n;
  std::string plan;
  if (eq) {
    est_rows = 1;
    info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;  // at most one row: lets SQLite do one-pass DML
    info->estimatedCost = 1;
    plan = "eq(" + key_name + ")";
  } else if (in) {
    est_rows = std::min(n, 10.0);
    info->estimatedCost = 2 + est_rows;
    plan = "in(" + key_name + ")";
  } else if (lower || upper) {
    est_rows = std::max(1.0, (lower && upper) ? n / 16 : n / 4);
    info->estimatedCost = 2 + est_rows;
    plan = "range(" + key_name + ops + ")";
  } else {
    info->estimatedCost = 10 + n;
    plan = "scan";
  }
  info->estimatedRows = static_cast<sqlite3_int64>(est_rows);
  if (idx_num & 1) plan += " desc";
  info->idxNum = idx_num;
  info->idxStr = sqlite3_mprintf("%s", plan.c_str());
  if (info->idxStr == nullptr) return SQLITE_NOMEM;
  info->needToFreeIdxStr = 1;
  return SQLITE_OK;
}

}  // namespace alex::vtab
