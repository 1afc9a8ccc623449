// Copyright (c) the alex authors.
//
// I/O fault injection for the fault tests, in the manner of SQLite's own
// ioerr tests: a VFS named "faultvfs" that wraps the default (unix) VFS and
// forwards every call to it, but, once armed for one kind of file
// operation (xWrite, xSync, xRead or xTruncate), makes the Nth call of that
// kind fail, and in persistent mode every later one too, with
// SQLITE_IOERR_WRITE, _FSYNC, _READ or _TRUNCATE. It counts the calls on
// every file SQLite opens through it: the database, its rollback journal,
// its WAL, statement journals. (The WAL index goes through xShmMap, which
// is forwarded and never fails.) The shim is registered, not made the
// default: open with sqlite3_open_v2(path, &db, flags, vfs::kName).
//
// Header-only, so that it needs no build change (tests/CMakeLists.txt
// compiles tests/fault/*_test.cc and fault_injection.cc only). Single-
// threaded tests: plain globals.

#ifndef ALEX_TESTS_FAULT_VFS_SHIM_H_
#define ALEX_TESTS_FAULT_VFS_SHIM_H_

#include <sqlite3.h>

namespace alex::testing::vfs {

inline constexpr const char* kName = "faultvfs";

enum class Op { kWrite, kSync, kRead, kTruncate };

inline const char* op_name(Op op) {
  switch (op) {
    case Op::kWrite: return "xWrite";
    case Op::kSync: return "xSync";
    case Op::kRead: return "xRead";
    case Op::kTruncate: return "xTruncate";
  }
  return "?";
}

namespace internal {

struct State {
  bool armed = false;
  Op op = Op::kWrite;
  bool persistent = false;
  long fail_at = 0;
  long count = 0;  // calls of `op` since arm()
  bool fired = false;
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs shim{};
  sqlite3_io_methods methods[3]{};  // for real files of iVersion 1, 2, 3
};

inline State& state() {
  static State s;
  return s;
}

// Whether this call of `op` must fail.
inline bool should_fail(Op op) {
  State& s = state();
  if (!s.armed || s.op != op) return false;
  ++s.count;
  if (s.count == s.fail_at || (s.persistent && s.count > s.fail_at)) {
    s.fired = true;
    return true;
  }
  return false;
}

// A file of the shim: the real file follows it in the same allocation.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
};

inline sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
inline const sqlite3_io_methods* m(sqlite3_file* f) { return real_of(f)->pMethods; }

inline int x_close(sqlite3_file* f) {
  sqlite3_file* r = real_of(f);
  int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
  r->pMethods = nullptr;
  return rc;
}
inline int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (should_fail(Op::kRead)) return SQLITE_IOERR_READ;
  return m(f)->xRead(real_of(f), buf, n, off);
}
inline int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (should_fail(Op::kWrite)) return SQLITE_IOERR_WRITE;
  return m(f)->xWrite(real_of(f), buf, n, off);
}
inline int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (should_fail(Op::kTruncate)) return SQLITE_IOERR_TRUNCATE;
  return m(f)->xTruncate(real_of(f), size);
}
inline int x_sync(sqlite3_file* f, int flags) {
  if (should_fail(Op::kSync)) return SQLITE_IOERR_FSYNC;
  return m(f)->xSync(real_of(f), flags);
}
inline int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return m(f)->xFileSize(real_of(f), size); }
inline int x_lock(sqlite3_file* f, int level) { return m(f)->xLock(real_of(f), level); }
inline int x_unlock(sqlite3_file* f, int level) { return m(f)->xUnlock(real_of(f), level); }
inline int x_check_reserved_lock(sqlite3_file* f, int* out) { return m(f)->xCheckReservedLock(real_of(f), out); }
inline int x_file_control(sqlite3_file* f, int op, void* arg) { return m(f)->xFileControl(real_of(f), op, arg); }
inline int x_sector_size(sqlite3_file* f) { return m(f)->xSectorSize(real_of(f)); }
inline int x_device_characteristics(sqlite3_file* f) { return m(f)->xDeviceCharacteristics(real_of(f)); }
inline int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return m(f)->xShmMap(real_of(f), page, size, extend, out);
}
inline int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) { return m(f)->xShmLock(real_of(f), offset, n, flags); }
inline void x_shm_barrier(sqlite3_file* f) { m(f)->xShmBarrier(real_of(f)); }
inline int x_shm_unmap(sqlite3_file* f, int del) { return m(f)->xShmUnmap(real_of(f), del); }
inline int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) { return m(f)->xFetch(real_of(f), off, n, out); }
inline int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return m(f)->xUnfetch(real_of(f), off, p); }

inline int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* real = static_cast<sqlite3_vfs*>(vfs->pAppData);
  File* p = reinterpret_cast<File*>(f);
  p->base.pMethods = nullptr;
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  int rc = real->xOpen(real, name, p->real, flags, out_flags);
  if (p->real->pMethods != nullptr) {
    int version = p->real->pMethods->iVersion;
    version = version < 1 ? 1 : version > 3 ? 3 : version;
    p->base.pMethods = &state().methods[version - 1];
  }
  return rc;
}

inline sqlite3_vfs* real_vfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
inline int x_delete(sqlite3_vfs* v, const char* name, int sync) { return real_vfs(v)->xDelete(real_vfs(v), name, sync); }
inline int x_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return real_vfs(v)->xAccess(real_vfs(v), name, flags, out);
}
inline int x_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return real_vfs(v)->xFullPathname(real_vfs(v), name, n, out);
}
inline void* x_dl_open(sqlite3_vfs* v, const char* name) { return real_vfs(v)->xDlOpen(real_vfs(v), name); }
inline void x_dl_error(sqlite3_vfs* v, int n, char* out) { real_vfs(v)->xDlError(real_vfs(v), n, out); }
inline void (*x_dl_sym(sqlite3_vfs* v, void* h, const char* sym))(void) { return real_vfs(v)->xDlSym(real_vfs(v), h, sym); }
inline void x_dl_close(sqlite3_vfs* v, void* h) { real_vfs(v)->xDlClose(real_vfs(v), h); }
inline int x_randomness(sqlite3_vfs* v, int n, char* out) { return real_vfs(v)->xRandomness(real_vfs(v), n, out); }
inline int x_sleep(sqlite3_vfs* v, int us) { return real_vfs(v)->xSleep(real_vfs(v), us); }
inline int x_current_time(sqlite3_vfs* v, double* out) { return real_vfs(v)->xCurrentTime(real_vfs(v), out); }
inline int x_get_last_error(sqlite3_vfs* v, int n, char* out) {
  return real_vfs(v)->xGetLastError ? real_vfs(v)->xGetLastError(real_vfs(v), n, out) : 0;
}
inline int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return real_vfs(v)->xCurrentTimeInt64(real_vfs(v), out);
}

}  // namespace internal

// Registers the shim (again, harmlessly, after sqlite3_shutdown) around the
// current default VFS. Call with no fault armed.
inline int install() {
  using namespace internal;
  State& s = state();
  if (int rc = sqlite3_initialize(); rc != SQLITE_OK) return rc;
  if (s.real == nullptr) {
    s.real = sqlite3_vfs_find(nullptr);
    if (s.real == nullptr) return SQLITE_ERROR;
    for (int v = 1; v <= 3; v++) {
      sqlite3_io_methods& io = s.methods[v - 1];
      io.iVersion = v;
      io.xClose = x_close;
      io.xRead = x_read;
      io.xWrite = x_write;
      io.xTruncate = x_truncate;
      io.xSync = x_sync;
      io.xFileSize = x_file_size;
      io.xLock = x_lock;
      io.xUnlock = x_unlock;
      io.xCheckReservedLock = x_check_reserved_lock;
      io.xFileControl = x_file_control;
      io.xSectorSize = x_sector_size;
      io.xDeviceCharacteristics = x_device_characteristics;
      if (v >= 2) {
        io.xShmMap = x_shm_map;
        io.xShmLock = x_shm_lock;
        io.xShmBarrier = x_shm_barrier;
        io.xShmUnmap = x_shm_unmap;
      }
      if (v >= 3) {
        io.xFetch = x_fetch;
        io.xUnfetch = x_unfetch;
      }
    }
    sqlite3_vfs& shim = s.shim;
    shim.iVersion = s.real->iVersion < 2 ? s.real->iVersion : 2;  // no xSetSystemCall
    shim.szOsFile = static_cast<int>(sizeof(File)) + s.real->szOsFile;
    shim.mxPathname = s.real->mxPathname;
    shim.zName = kName;
    shim.pAppData = s.real;
    shim.xOpen = x_open;
    shim.xDelete = x_delete;
    shim.xAccess = x_access;
    shim.xFullPathname = x_full_pathname;
    shim.xDlOpen = x_dl_open;
    shim.xDlError = x_dl_error;
    shim.xDlSym = x_dl_sym;
    shim.xDlClose = x_dl_close;
    shim.xRandomness = x_randomness;
    shim.xSleep = x_sleep;
    shim.xCurrentTime = x_current_time;
    shim.xGetLastError = x_get_last_error;
    if (shim.iVersion >= 2) shim.xCurrentTimeInt64 = x_current_time_int64;
  }
  return sqlite3_vfs_register(&s.shim, /*makeDefault=*/0);
}

// Arms the shim: the nth call of `op` from now fails, and every later one
// too when `persistent`. disarm() stops it and says whether a fault fired.
inline void arm(Op op, long n, bool persistent) {
  internal::State& s = internal::state();
  s.op = op;
  s.fail_at = n;
  s.persistent = persistent;
  s.count = 0;
  s.fired = false;
  s.armed = true;
}

inline bool disarm() {
  internal::State& s = internal::state();
  s.armed = false;
  return s.fired;
}

}  // namespace alex::testing::vfs

#endif  // ALEX_TESTS_FAULT_VFS_SHIM_H_
