// Copyright (c) the alex authors.

#include "vtab/schema.h"

#include <cctype>
#include <cstdint>

namespace alex::vtab {
namespace {

using store::ColumnType;
using store::Status;

// A token of a column definition: a word (identifier or keyword), a
// quoted name, or one punctuation character.
struct Token {
  enum class Kind { kEnd, kWord, kQuoted, kPunct, kBad } kind = Kind::kEnd;
  std::string text;  // the word as written, the unquoted name, or the character
};

bool ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

// Splits one column definition into tokens; whitespace and SQL comments
// separate them.
class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  Token next() {
    skip_space();
    Token t;
    if (pos_ >= in_.size()) return t;
    const unsigned char c = static_cast<unsigned char>(in_[pos_]);
    if (ident_start(c)) {
      size_t end = pos_;
      while (end < in_.size() && ident_char(static_cast<unsigned char>(in_[end]))) end++;
      t.kind = Token::Kind::kWord;
      t.text = std::string(in_.substr(pos_, end - pos_));
      pos_ = end;
      return t;
    }
    char close = 0;
    if (c == '"' || c == '`' || c == '\'') close = static_cast<char>(c);
    if (c == '[') close = ']';
    if (close) {
      size_t i = pos_ + 1;
      for (;;) {
        if (i >= in_.size()) {
          t.kind = Token::Kind::kBad;
          t.text = "unterminated quoted name";
          pos_ = in_.size();
          return t;
        }
        if (in_[i] == close) {
          // Doubling escapes the quote, except inside [...].
          if (close != ']' && i + 1 < in_.size() && in_[i + 1] == close) {
            t.text += close;
            i += 2;
            continue;
          }
          break;
        }
        t.text += in_[i++];
      }
      t.kind = Token::Kind::kQuoted;
      pos_ = i + 1;
      return t;
    }
    t.kind = Token::Kind::kPunct;
    t.text = std::string(1, static_cast<char>(c));
    pos_++;
    return t;
  }

  // The text from the current position on, trimmed (for messages).
  std::string rest() {
    skip_space();
    return std::string(in_.substr(pos_));
  }

 private:
  void skip_space() {
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        pos_++;
      } else if (c == '-' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '-') {
        while (pos_ < in_.size() && in_[pos_] != '\n') pos_++;
      } else if (c == '/' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '*') {
        const size_t end = in_.find("*/", pos_ + 2);
        pos_ = end == std::string_view::npos ? in_.size() : end + 2;
      } else {
        break;
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

bool is_word(const Token& t, const char* kw) { return t.kind == Token::Kind::kWord && upper(t.text) == kw; }

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// The keywords SQLite's grammar never takes for a name (those without a
// fallback to ID): unquoted, a column cannot have one as its name. The
// first five begin a table constraint.
bool reserved(const std::string& upper_word) {
  static const char* const kReserved[] = {
      "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT", "ADD", "ALL", "ALTER", "AND", "AS", "AUTOINCREMENT",
      "BETWEEN", "CASE", "COLLATE", "COMMIT", "CREATE", "DEFAULT", "DEFERRABLE", "DELETE", "DISTINCT", "DROP",
      "ELSE", "ESCAPE", "EXCEPT", "EXISTS", "FROM", "GROUP", "HAVING", "IN", "INDEX", "INSERT", "INTERSECT",
      "INTO", "IS", "ISNULL", "JOIN", "LIMIT", "NOT", "NOTHING", "NOTNULL", "NULL", "ON", "OR", "ORDER",
      "REFERENCES", "RETURNING", "SELECT", "SET", "TABLE", "THEN", "TO", "TRANSACTION", "UNION", "UPDATE",
      "USING", "VALUES", "WHEN", "WHERE"};
  for (const char* k : kReserved) {
    if (upper_word == k) return true;
  }
  return false;
}

const char* kSupported = "supported: INTEGER, INT, REAL, TEXT, BLOB, ANY; NOT NULL; INTEGER PRIMARY KEY";

Status column_error(std::string_view table, const std::string& col, const std::string& what) {
  return Status::Error("alex: column " + std::string(table) + "." + col + ": " + what + " (" + kSupported + ")");
}

Status parse_column(std::string_view table, std::string_view arg, Column* col, bool* is_key) {
  Lexer lex(arg);
  Token name = lex.next();
  if (name.kind == Token::Kind::kEnd) return Status::Error("alex: empty column definition in table " + std::string(table));
  if (name.kind == Token::Kind::kBad) return Status::Error("alex: " + name.text + " in table " + std::string(table) + ": " + std::string(arg));
  if (name.kind == Token::Kind::kWord) {
    const std::string u = upper(name.text);
    if (u == "PRIMARY" || u == "UNIQUE" || u == "CHECK" || u == "FOREIGN" || u == "CONSTRAINT") {
      return Status::Error("alex: table constraints are not supported: " + std::string(arg));
    }
    if (reserved(u)) return Status::Error("alex: near \"" + name.text + "\": syntax error");
  }
  if (name.kind != Token::Kind::kWord && name.kind != Token::Kind::kQuoted) {
    return Status::Error("alex: expected a column name in table " + std::string(table) + ": " + std::string(arg));
  }
  col->name = name.text;
  for (const char* reserved : {"rowid", "_rowid_", "oid"}) {
    if (same_name(col->name, reserved)) {
      return Status::Error("alex: column " + std::string(table) + "." + col->name +
                           ": the name is reserved for the key (use INTEGER PRIMARY KEY to name it)");
    }
  }

  Token type = lex.next();
  if (type.kind == Token::Kind::kEnd || (type.kind == Token::Kind::kWord && (is_word(type, "NOT") || is_word(type, "PRIMARY")))) {
    return Status::Error("alex: missing datatype for " + std::string(table) + "." + col->name);
  }
  if (type.kind == Token::Kind::kBad) return column_error(table, col->name, type.text);
  const std::string u = upper(type.text);
  // A type may be quoted, as any name: SQLite dequotes it ("INTEGER"
  // PRIMARY KEY is the rowid alias too).
  if (type.kind != Token::Kind::kWord && type.kind != Token::Kind::kQuoted) {
    return column_error(table, col->name, "unsupported type '" + type.text + lex.rest() + "'");
  }
  if (u == "INTEGER" || u == "INT") col->type = ColumnType::kInteger;
  else if (u == "REAL") col->type = ColumnType::kReal;
  else if (u == "TEXT") col->type = ColumnType::kText;
  else if (u == "BLOB") col->type = ColumnType::kBlob;
  else if (u == "ANY") col->type = ColumnType::kAny;
  else {
    // Name the whole type as written (VARCHAR(10), UNSIGNED BIG INT).
    const std::string rest = lex.rest();
    const char* gap = rest.empty() || rest[0] == '(' ? "" : " ";
    return column_error(table, col->name, "unsupported type '" + type.text + gap + rest + "'");
  }
  col->type_name = u;

  // NOT NULL and NULL may repeat, as in SQLite; ASC or DESC only right
  // after PRIMARY KEY.
  bool seen_key = false, after_key = false;
  for (Token t = lex.next(); t.kind != Token::Kind::kEnd; t = lex.next()) {
    const bool follows_key = after_key;
    after_key = false;
    if (is_word(t, "NOT")) {
      if (!is_word(lex.next(), "NULL")) return column_error(table, col->name, "expected NULL after NOT");
      col->not_null = true;
    } else if (is_word(t, "NULL")) {
      // No constraint: a column may hold NULL unless NOT NULL says so.
    } else if (is_word(t, "PRIMARY")) {
      if (!is_word(lex.next(), "KEY")) return column_error(table, col->name, "expected KEY after PRIMARY");
      if (seen_key) return column_error(table, col->name, "PRIMARY KEY given twice");
      seen_key = after_key = true;
      if (u != "INTEGER") {
        return column_error(table, col->name,
                            "PRIMARY KEY is supported only as INTEGER PRIMARY KEY, which names the rowid (the key "
                            "the index orders)");
      }
    } else if (is_word(t, "ASC") && follows_key) {
      // INTEGER PRIMARY KEY ASC is the rowid alias too.
    } else if (is_word(t, "DESC") && follows_key) {
      return column_error(table, col->name, "INTEGER PRIMARY KEY DESC is not a rowid alias in SQLite");
    } else if (is_word(t, "AUTOINCREMENT")) {
      return column_error(table, col->name, "AUTOINCREMENT is not supported");
    } else if (t.kind == Token::Kind::kWord) {
      const std::string w = upper(t.text);
      const char* known[] = {"DEFAULT", "CHECK", "UNIQUE", "COLLATE", "REFERENCES", "GENERATED", "AS",
                             "CONSTRAINT", "HIDDEN"};
      for (const char* k : known) {
        if (w == k) return column_error(table, col->name, w + " is not supported");
      }
      if (w == "ON") return column_error(table, col->name, "ON CONFLICT is not supported");
      return column_error(table, col->name, "unexpected '" + t.text + "'");
    } else if (t.kind == Token::Kind::kPunct && t.text == "(") {
      return column_error(table, col->name, "unsupported type '" + type.text + "(" + lex.rest() + "'");
    } else {
      return column_error(table, col->name, "unexpected '" + t.text + "'");
    }
  }
  *is_key = seen_key;
  return Status::OK();
}

}  // namespace

std::string Schema::declaration() const {
  std::string s = "CREATE TABLE x(";
  for (size_t i = 0; i < columns.size(); i++) {
    if (i) s += ", ";
    s += '"';
    for (char c : columns[i].name) {
      if (c == '"') s += '"';
      s += c;
    }
    s += '"';
    switch (columns[i].type) {
      case ColumnType::kInteger: s += " INTEGER"; break;
      case ColumnType::kReal: s += " REAL"; break;
      case ColumnType::kText: s += " TEXT"; break;
      case ColumnType::kBlob: s += " BLOB"; break;
      case ColumnType::kAny: break;  // no type: no affinity, as a STRICT ANY column
    }
  }
  return s + ")";
}

Status parse_schema(std::string_view table, const std::vector<std::string_view>& args, Schema* out) {
  *out = Schema();
  if (args.empty()) return Status::Error("alex: table " + std::string(table) + " needs at least one column");
  for (std::string_view arg : args) {
    Column col;
    bool is_key = false;
    if (Status s = parse_column(table, arg, &col, &is_key); !s.ok()) return s;
    for (const Column& other : out->columns) {
      if (same_name(other.name, col.name)) return Status::Error("alex: duplicate column name: " + col.name);
    }
    if (is_key) {
      if (out->key_column >= 0) return Status::Error("alex: table " + std::string(table) + " has more than one primary key");
      out->key_column = static_cast<int>(out->columns.size());
    }
    out->columns.push_back(std::move(col));
  }
  return Status::OK();
}

}  // namespace alex::vtab
