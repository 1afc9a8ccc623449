# Thin wrapper around CMake. Release builds go to build/, debug builds to
# build-debug/, sanitizer builds to build-asan/: never mixed.
#
#   make            build everything (library, tests, benchmarks) into build/
#   make test       build, then run every test through ctest
#   make check      make test, then the same tests under ASan+UBSan (CI runs this)
#   make demo       build, then run the 1M-key index benchmarks
#   make bench      build, then run the benchmarks (results: bench/RESULTS.md)
#   make debug      debug build into build-debug/ and run its tests
#   make asan       ASan+UBSan build into build-asan/ and run its tests
#   make clean      remove all build folders

JOBS ?= 2
BUILD ?= build
CMAKE_FLAGS ?=
BENCH_FLAGS ?=
PACKAGES := cmake g++ make libsqlite3-dev sqlite3 libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev

.PHONY: all test check demo bench debug asan clean deps

all: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

test: all
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: all
	$(BUILD)/bench/alex_bench --benchmark_filter='/1000000$$' $(BENCH_FLAGS)

bench: all
	$(BUILD)/bench/alex_bench $(BENCH_FLAGS)

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
