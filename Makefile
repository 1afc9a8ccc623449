# Thin wrapper around CMake. Release builds go to build/, debug builds to
# build-debug/, sanitizer builds to build-asan/: never mixed.
#
#   make            build everything (library, tests, benchmarks) into build/
#   make test       build, then run every test through ctest
#   make check      make test, make asan, then make fuzz (CI runs this)
#   make demo       build, then run sql/demo.sql in the sqlite3 shell (1M rows
#                   in an alex table and a native STRICT table, same queries)
#   make demo-index build, then run the 1M-key index benchmarks
#   make bench      build, then run the benchmarks (results: bench/RESULTS.md)
#   make debug      debug build into build-debug/ and run its tests
#   make asan       ASan+UBSan build into build-asan/ and run its tests
#   make fuzz       clang build of the libFuzzer targets into build-fuzz/, then
#                   each for FUZZ_SECONDS (30) from its seed corpus
#   make clean      remove all build folders

JOBS ?= 2
BUILD ?= build
CMAKE_FLAGS ?=
BENCH_FLAGS ?=
FUZZ_SECONDS ?= 30
PACKAGES := cmake g++ make libsqlite3-dev sqlite3 libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev

.PHONY: all test check demo demo-index bench debug asan fuzz clean deps

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

check: test asan fuzz

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DALEX_SANITIZE=ON -DALEX_BUILD_BENCHMARKS=OFF"

# run.sh only reads tests/fuzz/corpus/; new inputs and crashes go to a
# temporary folder, removed on success and named on failure.
fuzz:
	@command -v clang++ >/dev/null && [ -n "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || \
	  { echo "missing packages; run: sudo apt-get install -y clang libclang-rt-14-dev"; exit 1; }
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALEX_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DALEX_BUILD_TESTS=OFF -DALEX_BUILD_BENCHMARKS=OFF
	cmake --build build-fuzz --target alex_fuzzers -j$(JOBS)
	work=$$(mktemp -d /tmp/alex-fuzz.XXXXXX) && \
	  { ALEX_FUZZ_WORK=$$work tests/fuzz/run.sh $(FUZZ_SECONDS) build-fuzz && rm -rf $$work; } || \
	  { echo "fuzz: a target failed; its input is under $$work"; exit 1; }

clean:
	rm -rf build build-debug build-asan build-fuzz

# Stops with one line naming the install command when a package is missing.
deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; fi
