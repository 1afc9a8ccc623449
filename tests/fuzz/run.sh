#!/bin/sh
# Runs the libFuzzer targets of tests/fuzz, each for a while, on a scratch
# copy of its seed corpus (tests/fuzz/corpus/<target>/ is only read).
#
#   tests/fuzz/run.sh [seconds per target] [build folder] [target...]
#
# Defaults: 30 seconds, build-fuzz/, all four targets. New corpus entries go
# to $ALEX_FUZZ_WORK/<target>/corpus (default /tmp/alex-fuzz), crashing
# inputs to $ALEX_FUZZ_WORK/<target>/crash-*; the script stops with the
# target's status at the first failure. Extra libFuzzer flags:
# ALEX_FUZZ_FLAGS (e.g. "-jobs=2 -workers=2").
set -eu

seconds=${1:-30}
build=${2:-build-fuzz}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
targets=${*:-fuzz_schema fuzz_chunk fuzz_sql fuzz_tree}
here=$(cd "$(dirname "$0")" && pwd)
work=${ALEX_FUZZ_WORK:-/tmp/alex-fuzz}

for target in $targets; do
  bin=$build/tests/fuzz/$target
  [ -x "$bin" ] || { echo "run.sh: $bin is missing; build the target alex_fuzzers first" >&2; exit 2; }
  mkdir -p "$work/$target/corpus"
  # Per-target flags: dictionaries, room for 100 statements of fuzz_sql
  # (1 + 4 * 100 bytes), and a few hundred tree operations of fuzz_tree.
  flags=""
  [ -f "$here/$target.dict" ] && flags="-dict=$here/$target.dict"
  [ "$target" = fuzz_sql ] && flags="$flags -max_len=401"
  [ "$target" = fuzz_tree ] && flags="$flags -max_len=2048"
  echo "== $target: $seconds s, corpus $work/$target/corpus (seeds: $here/corpus/$target)"
  # The first folder receives new inputs; the seed folder is only read.
  # shellcheck disable=SC2086
  "$bin" $flags ${ALEX_FUZZ_FLAGS:-} -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/$target/" "$work/$target/corpus" "$here/corpus/$target"
done
