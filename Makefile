# Thin wrapper around CMake. Release builds go to build/, debug builds to
# build-debug/, sanitizer builds to build-asan/: never mixed.
#
#   make            build everything (library, tests, benchmarks) into build/
#   make test       build, then run every test through ctest
#   make check      make test, then the same tests under ASan+UBSan (CI runs this)
#   make demo       build, then run sql/demo.sql in the sqlite3 shell (1M rows
#                   in an alex table and a native STRICT table, same queries)
#   make demo-index build, then run the 1M-key index benchmarks
#   make bench      build, then run the benchmarks (results: bench/RESULTS.md)
#   make debug      debug build into build-debug/ and run its tests
#   make asan       ASan+UBSan build into build-asan/ and run its tests
#   make clean      remove all build folders

JOBS ?= 2
BUILD ?= build
CMAKE_FLAGS ?=
BENCH_FLAGS ?=
PACKAGES := cmake g++ make libsqlite3-dev sqlite3 libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev

.PHONY: all test check demo demo-index bench debug asan clean deps

all: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

test: all
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# -bail: stop at the first error and exit non-zero (the script also fails
# if the two tables disagree or alex_check is not 'ok').
demo: all
	sqlite3 -bail :memory: -cmd '.load ./$(BUILD)/alex' < sql/demo.sql

demo-index: all
	$(BUILD)/bench/alex_bench --benchmark_filter='/1000000$$' $(BENCH_FLAGS)

bench: all
	$(BUILD)/bench/alex_bench $(BENCH_FLAGS)
	$(BUILD)/bench/sql_bench $(BENCH_FLAGS)

debug:
	$(MAKE) test BUILD=build-debug CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DALEX_BUILD_BENCHMARKS=OFF"

check: test asan

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DALEX_SANITIZE=ON -DALEX_BUILD_BENCHMARKS=OFF"

clean:
	rm -rf build build-debug build-asan

# Stops with one line naming the install command when a package is missing.
deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; fi
