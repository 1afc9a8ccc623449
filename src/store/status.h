// Copyright (c) the alex authors.
//
// Status: the result of an operation that can fail, in the manner of
// leveldb::Status. Errors are values; nothing in src/store or src/vtab
// throws. src/vtab turns a Status into a SQLite result code and message in
// one place (vtab/errors.h).
//
//   Status s = store.insert(key, row);
//   if (!s.ok()) return s;
//
// An OK status holds no message, so returning one costs nothing.

#ifndef ALEX_STORE_STATUS_H_
#define ALEX_STORE_STATUS_H_

#include <string>
#include <utility>

namespace alex::store {

class Status {
 public:
  enum class Code {
    kOk,
    kError,       // generic failure, message says why (SQLITE_ERROR)
    kConstraint,  // UNIQUE / NOT NULL / datatype (SQLITE_CONSTRAINT_*)
    kNoMemory,    // an allocation failed (SQLITE_NOMEM)
    kCorrupt,     // stored data is damaged (SQLITE_CORRUPT_VTAB)
    kTooBig,      // a value exceeds a limit (SQLITE_TOOBIG)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status Error(std::string msg) { return Status(Code::kError, std::move(msg)); }
  static Status Constraint(std::string msg) { return Status(Code::kConstraint, std::move(msg)); }
  static Status NoMemory() { return Status(Code::kNoMemory, "out of memory"); }
  static Status Corrupt(std::string msg) { return Status(Code::kCorrupt, std::move(msg)); }
  static Status TooBig(std::string msg) { return Status(Code::kTooBig, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }

 private:
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string msg_;
};

}  // namespace alex::store

#endif  // ALEX_STORE_STATUS_H_
