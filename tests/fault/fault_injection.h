// Copyright (c) the alex authors.
//
// Allocation fault injection for the fault tests, in the manner of SQLite's
// own faultsim: once armed, the Nth allocation fails (and, in persistent
// mode, every allocation after it too). It counts both kinds the module
// makes: C++ allocations (this binary replaces the global operator new,
// which then throws std::bad_alloc) and SQLite's (sqlite3_config
// SQLITE_CONFIG_MALLOC with a wrapper returning NULL). Test code arms it
// only around calls into SQLite, so that its own strings never fail.

#ifndef ALEX_TESTS_FAULT_FAULT_INJECTION_H_
#define ALEX_TESTS_FAULT_FAULT_INJECTION_H_

#include <sqlite3.h>

namespace alex::testing::fault {

// Installs the SQLite allocator wrapper (shutting SQLite down first) and
// turns lookaside off, so that every SQLite allocation is a fault point.
// Call once, with no connection open.
void install_sqlite_allocator();

// Arms the injector: the nth allocation from now fails, and every later one
// too when `persistent`. disarm() stops it and says whether a fault fired.
void arm(long n, bool persistent);
bool disarm();

}  // namespace alex::testing::fault

#endif  // ALEX_TESTS_FAULT_FAULT_INJECTION_H_
