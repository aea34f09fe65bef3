#!/usr/bin/env bash
# Builds the libFuzzer targets in a separate clang build (CPU only, ASan) and runs each for a
# bounded time, printing executions and crashes per target. Exits non-zero on any crash or on a
# target that does not build. Seeds: written by fuzz_seeds, or committed in tests/fuzz/seeds_<t>;
# a tests/fuzz/<t>.dict is passed as the target's dictionary.
#   tests/fuzz/run_fuzz.sh [seconds per target, default 30]
# Crashing inputs are copied to <build>/fuzz-crashes (the run folder is recreated each time).
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (build parallelism, default nproc).
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
targets=(cifar idx pack_index image genotype)

# clang's own OpenMP runtime (libomp-dev) may be absent: use GCC's libgomp, which clang drives
# with -fopenmp=libgomp (the code uses only pragmas, no omp.h).
gomp=$(g++ -print-file-name=libgomp.so)
mkdir -p "$build"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBNAS_WITH_CUDA=OFF -DBNAS_BUILD_BENCH=OFF -DBNAS_BUILD_FUZZ=ON \
  -DOpenMP_CXX_FLAGS=-fopenmp=libgomp -DOpenMP_CXX_LIB_NAMES=gomp -DOpenMP_gomp_LIBRARY="$gomp" \
  > "$build/fuzz-configure.log" 2>&1 || { tail -30 "$build/fuzz-configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" --target fuzz_seeds > "$build/fuzz-build.log" 2>&1 \
  || { tail -40 "$build/fuzz-build.log"; exit 1; }

work="$build/fuzz-runs"
rm -rf "$work"
mkdir -p "$work"
"$build/tests/fuzz/fuzz_seeds" "$work/seeds" || exit 1
status=0
printf '%-12s %12s %10s %8s\n' target executions exec/s crashes
for t in "${targets[@]}"; do
  if ! cmake --build "$build" -j "$jobs" --target "fuzz_$t" >> "$build/fuzz-build.log" 2>&1; then
    printf '%-12s %s\n' "$t" "BUILD FAILED (see $build/fuzz-build.log)"
    status=1
    continue
  fi
  mkdir -p "$work/corpus_$t" "$work/crashes_$t"
  log="$work/$t.log"
  seeds="$work/seeds/$t"
  [ -d "tests/fuzz/seeds_$t" ] && seeds="tests/fuzz/seeds_$t"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$work/crashes_$t/" "$work/corpus_$t" "$seeds" > "$log" 2>&1
  rc=$?
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
  crashes=$(find "$work/crashes_$t" -type f | wc -l)
  printf '%-12s %12s %10s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    mkdir -p "$build/fuzz-crashes" && cp "$work/crashes_$t"/* "$build/fuzz-crashes/" 2>/dev/null
    echo "  inputs kept in $build/fuzz-crashes; reproduce with $build/tests/fuzz/fuzz_$t <file>"
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -20
  fi
done
exit $status
