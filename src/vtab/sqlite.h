// Copyright (c) the alex authors.
//
// The one include of SQLite's extension header for src/vtab. Built into
// build/alex.so, calls go through the sqlite3_api table that
// sqlite3_alex_init receives (defined in module.cc); built into
// build/libalex.a (SQLITE_CORE), they go straight to the linked library.

#ifndef ALEX_VTAB_SQLITE_H_
#define ALEX_VTAB_SQLITE_H_

#include <sqlite3ext.h>

#ifndef SQLITE_CORE
extern const sqlite3_api_routines* sqlite3_api;
#endif

#endif  // ALEX_VTAB_SQLITE_H_
