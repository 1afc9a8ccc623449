// Copyright (c) the alex authors.
//
// CREATE VIRTUAL TABLE ... USING alex(...) through SQL: what is accepted
// (exactly the STRICT column forms the module supports) and the message for
// everything else.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/vtab/sql_test_util.h"

namespace alex::testing {
namespace {

std::string create(const std::string& columns) {
  Db db;
  return db.str("CREATE VIRTUAL TABLE t USING alex(" + columns + ")");
}

TEST(CreateTest, AcceptsStrictColumnForms) {
  for (const char* cols : {
           "a INTEGER",
           "ts INTEGER PRIMARY KEY, value REAL, series_id INTEGER NOT NULL, note TEXT, raw BLOB, extra ANY",
           "a int, b Real, c text, d blob, e any",
           "k INTEGER PRIMARY KEY ASC",
           "k INTEGER NOT NULL PRIMARY KEY",
           "k INTEGER PRIMARY KEY NOT NULL, v TEXT NULL",
           "\"my col\" TEXT, [other col] INTEGER, `third` REAL, 'fourth' BLOB",
           "\"quo\"\"ted\" TEXT",
           "a INTEGER -- a comment\n",
           "a /* typed */ INTEGER",
           "k \"INTEGER\" PRIMARY KEY, a 'TEXT', b [REAL], c `BLOB`, d \"any\"",
           "a INT NOT NULL NOT NULL, b INT NULL NULL, c INTEGER NOT NULL NULL PRIMARY KEY ASC NOT NULL",
           "\"\" INT, key TEXT, abort REAL, left BLOB, replace ANY",
       }) {
    EXPECT_EQ(create(cols), "") << cols;
  }
}

// SQLite dequotes a type name as any other: a quoted INTEGER PRIMARY KEY
// still aliases the rowid, in a native STRICT table and here.
TEST(CreateTest, QuotedTypesAreTypes) {
  Db db;
  ASSERT_EQ(db.str("CREATE VIRTUAL TABLE t USING alex(k \"INTEGER\" PRIMARY KEY, a 'REAL')"), "");
  ASSERT_EQ(db.str("CREATE TABLE n(k \"INTEGER\" PRIMARY KEY, a 'REAL') STRICT"), "");
  for (const std::string table : {"t", "n"}) {
    ASSERT_EQ(db.str("INSERT INTO " + table + "(rowid, a) VALUES (7, 1)"), "") << table;
    EXPECT_EQ(db.str("SELECT rowid, k, a FROM " + table), "int:7|int:7|real:1") << table;
  }
}

TEST(CreateTest, RejectsEverythingElseWithAClearMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "alex: table t needs at least one column"},
      {"a", "alex: missing datatype for t.a"},
      {"a NOT NULL", "alex: missing datatype for t.a"},
      {"a VARCHAR(10)", "alex: column t.a: unsupported type 'VARCHAR(10)'"},
      {"a DOUBLE", "alex: column t.a: unsupported type 'DOUBLE'"},
      {"a UNSIGNED BIG INT", "alex: column t.a: unsupported type 'UNSIGNED BIG INT'"},
      {"a INT PRIMARY KEY", "alex: column t.a: PRIMARY KEY is supported only as INTEGER PRIMARY KEY"},
      {"a TEXT PRIMARY KEY", "alex: column t.a: PRIMARY KEY is supported only as INTEGER PRIMARY KEY"},
      {"a INTEGER PRIMARY KEY DESC", "alex: column t.a: INTEGER PRIMARY KEY DESC is not a rowid alias"},
      {"a INTEGER PRIMARY KEY AUTOINCREMENT", "alex: column t.a: AUTOINCREMENT is not supported"},
      {"a INTEGER PRIMARY KEY, b INTEGER PRIMARY KEY", "alex: table t has more than one primary key"},
      {"a INTEGER DEFAULT 5", "alex: column t.a: DEFAULT is not supported"},
      {"a INTEGER CHECK (a > 0)", "alex: column t.a: CHECK is not supported"},
      {"a INTEGER UNIQUE", "alex: column t.a: UNIQUE is not supported"},
      {"a TEXT COLLATE NOCASE", "alex: column t.a: COLLATE is not supported"},
      {"a INTEGER REFERENCES b(c)", "alex: column t.a: REFERENCES is not supported"},
      {"a INTEGER GENERATED ALWAYS AS (1)", "alex: column t.a: GENERATED is not supported"},
      {"a INTEGER AS (1)", "alex: column t.a: AS is not supported"},
      {"a INTEGER CONSTRAINT c NOT NULL", "alex: column t.a: CONSTRAINT is not supported"},
      {"a INTEGER NOT NULL ON CONFLICT IGNORE", "alex: column t.a: ON CONFLICT is not supported"},
      {"select INTEGER", "alex: near \"select\": syntax error"},
      {"a INTEGER, null TEXT", "alex: near \"null\": syntax error"},
      {"a INTEGER PRIMARY KEY ASC ASC", "alex: column t.a: unexpected 'ASC'"},
      {"a INTEGER PRIMARY KEY NOT NULL ASC", "alex: column t.a: unexpected 'ASC'"},
      {"a INTEGER, PRIMARY KEY(a)", "alex: table constraints are not supported: PRIMARY KEY(a)"},
      {"a INTEGER, UNIQUE(a)", "alex: table constraints are not supported: UNIQUE(a)"},
      {"a INTEGER, CHECK(a > 0)", "alex: table constraints are not supported: CHECK(a > 0)"},
      {"a INTEGER, b TEXT, A REAL", "alex: duplicate column name: A"},
      {"rowid INTEGER", "alex: column t.rowid: the name is reserved for the key"},
      {"OID TEXT", "alex: column t.OID: the name is reserved for the key"},
      {"_rowid_ TEXT", "alex: column t._rowid_: the name is reserved for the key"},
      {"a INTEGER NOT", "alex: column t.a: expected NULL after NOT"},
      {"a INTEGER PRIMARY", "alex: column t.a: expected KEY after PRIMARY"},
  };
  for (const auto& [cols, message] : cases) {
    const std::string got = create(cols);
    EXPECT_NE(got.find(std::string("error(1): ") + message), std::string::npos) << cols << "\n  got: " << got;
  }
}

// Accepted or not, as by CREATE TABLE ... STRICT: every keyword as an
// unquoted column name, and the supported constraints in odd orders.
TEST(CreateTest, AcceptsWhatNativeStrictAccepts) {
  std::vector<std::string> forms;
  for (int i = 0; i < sqlite3_keyword_count(); i++) {
    const char* word = nullptr;
    int n = 0;
    ASSERT_EQ(sqlite3_keyword_name(i, &word, &n), SQLITE_OK);
    forms.push_back(std::string(word, n) + " INTEGER");
    forms.push_back("a TEXT, " + std::string(word, n) + " TEXT NOT NULL");
  }
  for (const char* form : {"a INTEGER PRIMARY KEY ASC", "a INTEGER PRIMARY KEY ASC NOT NULL",
                           "a INTEGER PRIMARY KEY NOT NULL ASC", "a INTEGER PRIMARY KEY ASC ASC", "a INTEGER ASC",
                           "a INTEGER NULL NOT NULL NULL", "a INTEGER NOT NOT NULL", "\"\" TEXT"}) {
    forms.push_back(form);
  }
  Db db;
  int accepted = 0;
  for (const std::string& cols : forms) {
    const bool native = db.run("CREATE TABLE n(" + cols + ") STRICT").ok();
    const Result alex = db.run("CREATE VIRTUAL TABLE t USING alex(" + cols + ")");
    // The module rejects more (rowid names, constraints it lacks), never less.
    if (!native) {
      EXPECT_FALSE(alex.ok()) << cols;
    }
    const bool rowid_name = cols.find("ROWID") != std::string::npos || cols.find("OID") == 0;
    if (native && !rowid_name) {
      EXPECT_TRUE(alex.ok()) << cols << ": " << alex.str();
    }
    accepted += alex.ok();
    db.run("DROP TABLE IF EXISTS n; DROP TABLE IF EXISTS t");
  }
  EXPECT_GT(accepted, 100);
}

TEST(CreateTest, DeclaredTypesGiveStrictAffinities) {
  Db db;
  ASSERT_TRUE(db.run("CREATE VIRTUAL TABLE t USING alex(k INTEGER PRIMARY KEY, i INT, r REAL, s TEXT, b BLOB, x ANY)").ok());
  // SQLite itself compares other columns: ANY has no affinity, so '5'
  // does not equal 5 there; INTEGER does convert.
  ASSERT_TRUE(db.run("INSERT INTO t VALUES(1, 5, 5, '5', x'05', 5)").ok());
  EXPECT_EQ(db.str("SELECT count(*) FROM t WHERE i = '5'"), "int:1");
  EXPECT_EQ(db.str("SELECT count(*) FROM t WHERE x = '5'"), "int:0");
  EXPECT_EQ(db.str("SELECT name, type FROM pragma_table_info('t')"),
            "text:'k'|text:'INTEGER'\ntext:'i'|text:'INTEGER'\ntext:'r'|text:'REAL'\ntext:'s'|text:'TEXT'\n"
            "text:'b'|text:'BLOB'\ntext:'x'|text:''");
}

}  // namespace
}  // namespace alex::testing
