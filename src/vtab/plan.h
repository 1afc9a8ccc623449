// Copyright (c) the alex authors.
//
// Query planning for an `alex` table: what xBestIndex promises and xFilter
// carries out. The two sides meet in one encoding, the table below.
//
// xBestIndex passes to xFilter, in argv order, the right-hand sides of the
// key constraints it uses, and says what each one is in idxNum:
//
//   idxNum bit   meaning
//   ----------   ------------------------------------------------------
//   0            descending: ORDER BY key DESC was consumed
//   1            one or more key constraints are used (else a full scan)
//   2..25        3 bits per argv value, argv[0] first:
//                  0 key = v      1 key > v      2 key >= v
//                  3 key < v      4 key <= v     5 key IN (list), the list
//                  read all at once with sqlite3_vtab_in_first/next
//   26 + i       plans on the key only, i = 0..3: the statement reads
//                column i (schema order; from colUsed), so each lookup,
//                and a walk's first row, prefetches its cells while the
//                index is searched (Store::prefetch)
//   30           colUsed has every bit set, as SQLite sets it for the scan
//                of an UPDATE (update.c, "to ensure that the virtual table
//                implementation makes all columns available"): xColumn may
//                be asked about "no change" (sqlite3_vtab_nochange), so it
//                asks; other scans never are, and skip the call
//
// At most kMaxArgs values (8 x 3 bits fit between bits 1 and 26, and
// SQLite honours omit only for argv 1..16); further key constraints are
// left to SQLite. Every key constraint used is omitted: xFilter
// applies SQLite's comparison rules exactly (values.h), so SQLite checks
// nothing again. All bounds together become one interval [lo, hi]; an IN
// list is sorted, deduplicated and clipped to it; one walk of the ALEX tree
// (or one lookup per IN value) yields the rows, in key order either way.
//
// idxStr is for people only (EXPLAIN QUERY PLAN shows "INDEX <idxNum>:<idxStr>"):
//   "eq(ts)", "in(ts)", "range(ts>=,<)", "scan", then " desc" if it applies.
//
// LIMIT and OFFSET are not taken over: the cursor is lazy, so SQLite stops
// calling xNext after LIMIT rows, and skips OFFSET rows without asking for
// their columns. Taking them (with omit) would only save those xNext calls.

#ifndef ALEX_VTAB_PLAN_H_
#define ALEX_VTAB_PLAN_H_

#include <cstdint>
#include <string>

#include "vtab/sqlite.h"

namespace alex::vtab {

enum class ArgOp : int { kEq = 0, kGt, kGe, kLt, kLe, kIn };

constexpr int kMaxArgs = 8;
constexpr int kUsedShift = 26;
constexpr int kUsedColumns = 4;
constexpr int kNoChangeBit = 30;

inline bool plan_desc(int idx_num) { return idx_num & 1; }
inline bool plan_uses_key(int idx_num) { return idx_num & 2; }
inline ArgOp plan_arg(int idx_num, int i) { return static_cast<ArgOp>((idx_num >> (2 + 3 * i)) & 7); }
inline bool plan_reads(int idx_num, int col) { return col < kUsedColumns && ((idx_num >> (kUsedShift + col)) & 1); }
inline bool plan_nochange(int idx_num) { return (idx_num >> kNoChangeBit) & 1; }

// Fills the outputs of `info` for a table with `rows` rows whose key
// column is `key_column` (-1: only the rowid names the key) and is called
// `key_name` in idxStr. Returns SQLITE_OK or SQLITE_NOMEM.
int best_index(sqlite3_index_info* info, int key_column, const std::string& key_name, int64_t rows);

}  // namespace alex::vtab

#endif  // ALEX_VTAB_PLAN_H_
