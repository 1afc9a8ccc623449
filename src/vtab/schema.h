// Copyright (c) the alex authors.
//
// The column list of an `alex` table: parsing the CREATE VIRTUAL TABLE
// arguments and producing the schema declared to SQLite.
//
//   CREATE VIRTUAL TABLE readings USING alex(
//     ts INTEGER PRIMARY KEY, value REAL, series_id INTEGER NOT NULL,
//     note TEXT, raw BLOB, extra ANY);
//
// Supported, exactly as in a STRICT table: column types INTEGER (or INT),
// REAL, TEXT, BLOB, ANY; NOT NULL; at most one INTEGER PRIMARY KEY column,
// which aliases the rowid (the indexed key). Everything else fails with a
// message naming the column and what is supported. No SQLite here.

#ifndef ALEX_VTAB_SCHEMA_H_
#define ALEX_VTAB_SCHEMA_H_

#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"
#include "store/value.h"

namespace alex::vtab {

struct Column {
  std::string name;  // as written, unquoted ("my col" -> my col)
  store::ColumnType type = store::ColumnType::kAny;
  std::string type_name;  // as declared, upper case ("INT", "INTEGER", ...), for messages
  bool not_null = false;
};

struct Schema {
  std::vector<Column> columns;
  int key_column = -1;  // index of the INTEGER PRIMARY KEY column, or -1

  // The CREATE TABLE statement for sqlite3_declare_vtab(): every column with
  // a declared type that gives SQLite the STRICT column's affinity (ANY is
  // declared without a type so it has none), no constraints.
  std::string declaration() const;
};

// Parses the module arguments (argv[3..argc-1] of xCreate/xConnect, one
// column definition each). `table` names the table in error messages.
store::Status parse_schema(std::string_view table, const std::vector<std::string_view>& args, Schema* out);

}  // namespace alex::vtab

#endif  // ALEX_VTAB_SCHEMA_H_
