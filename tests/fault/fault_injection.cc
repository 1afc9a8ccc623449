// Copyright (c) the alex authors.

#include "tests/fault/fault_injection.h"

#include <cstdlib>
#include <cstddef>
#include <new>

namespace alex::testing::fault {
namespace {

// Single-threaded tests: plain globals.
bool g_armed = false;
bool g_persistent = false;
bool g_fired = false;
long g_fail_at = 0;
long g_count = 0;

sqlite3_mem_methods g_default;

}  // namespace

// Whether the allocation being made now must fail.
bool should_fail() {
  if (!g_armed) return false;
  ++g_count;
  if (g_count == g_fail_at || (g_persistent && g_count > g_fail_at)) {
    g_fired = true;
    return true;
  }
  return false;
}

void arm(long n, bool persistent) {
  g_count = 0;
  g_fail_at = n;
  g_persistent = persistent;
  g_fired = false;
  g_armed = true;
}

bool disarm() {
  g_armed = false;
  return g_fired;
}

namespace {

void* faulty_malloc(int n) { return should_fail() ? nullptr : g_default.xMalloc(n); }
void* faulty_realloc(void* p, int n) { return should_fail() ? nullptr : g_default.xRealloc(p, n); }

}  // namespace

void install_sqlite_allocator() {
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_default);
  static sqlite3_mem_methods methods;
  methods = g_default;
  methods.xMalloc = faulty_malloc;
  methods.xRealloc = faulty_realloc;
  sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
  sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
  sqlite3_initialize();
}

}  // namespace alex::testing::fault

// The global allocation functions of this test binary: every C++
// allocation, the module's included, passes the injector.
namespace {

void* allocate(std::size_t n, std::size_t align) {
  if (alex::testing::fault::should_fail()) return nullptr;
  if (n == 0) n = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(n);
  return std::aligned_alloc(align, (n + align - 1) / align * align);
}

void* allocate_or_throw(std::size_t n, std::size_t align) {
  void* p = allocate(n, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return allocate_or_throw(n, 0); }
void* operator new[](std::size_t n) { return allocate_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
