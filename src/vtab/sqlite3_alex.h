/*
** Copyright (c) the alex authors.
**
** The `alex` SQLite extension, for applications that link it in
** (build/libalex.a). Loading build/alex.so with `.load` or
** sqlite3_load_extension() needs no header.
**
**   #include "vtab/sqlite3_alex.h"
**
**   sqlite3_auto_extension((void (*)(void))sqlite3_alex_init);  // every new
**   sqlite3_open("my.db", &db);                                  // connection
**
** or, for one connection: sqlite3_alex_init(db, &errmsg, NULL).
** Registers the virtual table module "alex" on the connection.
*/
#ifndef ALEX_VTAB_SQLITE3_ALEX_H_
#define ALEX_VTAB_SQLITE3_ALEX_H_

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns SQLITE_OK, or an error code with *pzErrMsg set (sqlite3_malloc'd;
** the caller frees it with sqlite3_free). pApi may be NULL when linked in. */
int sqlite3_alex_init(sqlite3* db, char** pzErrMsg, const sqlite3_api_routines* pApi);

#ifdef __cplusplus
}
#endif

#endif /* ALEX_VTAB_SQLITE3_ALEX_H_ */
