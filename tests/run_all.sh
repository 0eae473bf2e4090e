#!/usr/bin/env bash
# orgsync's whole test suite, in three phases:
#   1. normal     build/        RelWithDebInfo, every test (ctest)
#   2. sanitized  build-asan/   clang, AddressSanitizer + UBSan: every test but
#                               the consumer builds, and the libFuzzer targets
#                               (the tests labelled fuzz) for 6 s each, side
#                               by side (a long run: ORGSYNC_FUZZ_SECONDS)
#   3. threads    build-tsan/   clang, ThreadSanitizer: every test case tagged
#                               [threads] (the only ones such a build compiles)
# Stops at the first failure and exits non-zero. Ends with one line
#   orgsync: N passed, M failed
# summed over the phases (a phase whose configure or build fails counts as
# one failure).
#
# The library compiles as one unity batch (ORGSYNC_UNITY_BUILD with
# ORGSYNC_UNITY_BATCH_SIZE=0) in every phase, and in the add_subdirectory
# consumer test, while the other core compiles the tests: batches of 8 cost
# twice the CPU time, of which a 2-core machine has none to spare. The tests
# compile in batches of 8 (tests/CMakeLists.txt). That each file also
# compiles on its own is checked by tests/check_standalone.sh, outside this
# command: it costs about 5 minutes of both cores, which the 15-minute
# budget of this command on a 2-core machine does not hold.
#
# Usage: bash tests/run_all.sh       (ORGSYNC_JOBS=N overrides parallelism)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${ORGSYNC_JOBS:-$(nproc)}"
passed=0
failed=0
summaries=()

# The flags of the normal build, shared with examples/run_demo.sh.
source cmake/normal_build_flags.sh

banner() { printf '\n==== %s\n' "$*"; }

finish() {
  banner "summary"
  local line
  for line in "${summaries[@]}"; do
    echo "${line}"
  done
  echo "orgsync: ${passed} passed, ${failed} failed"
}

fail() {
  echo "run_all: $*" >&2
  finish
  exit 1
}

# configure_and_build PHASE BUILD_DIR CMAKE_ARGS...
# A new build folder gets Ninja, which compiles the tests while the
# library's last files still compile (make waits for the whole library);
# one configured before keeps its generator.
configure_and_build() {
  local phase="$1" dir="$2"
  shift 2
  local generator=()
  if [[ ! -f "${dir}/CMakeCache.txt" ]] && command -v ninja >/dev/null; then
    generator=(-G Ninja)
  fi
  if ! cmake -S . -B "${dir}" "${generator[@]}" "$@" ||
     ! cmake --build "${dir}" --parallel "${jobs}"; then
    failed=$((failed + 1))
    summaries+=("${phase}: configure/build FAILED")
    fail "${phase}: configure or build failed"
  fi
}

# tally PHASE START_SECONDS STATUS SUMMARY RAN FAILED: adds a run's counts
# to the totals, records its summary and stops the suite at a failure. A
# run that exited non-zero without counting a failure (a broken test list,
# a crash before its summary) counts as one.
tally() {
  local phase="$1" start="$2" status="$3" summary="$4" ran="$5"
  local phase_failed="$6"
  if ((status != 0 && phase_failed == 0)); then
    phase_failed=1
    summary="${summary:-exited with status ${status}}"
  fi
  passed=$((passed + ran - phase_failed))
  failed=$((failed + phase_failed))
  summaries+=("${phase}: ${summary:-no summary} ($((SECONDS - start)) s)")
  echo "---- ${phase}: ${summary} -- wall time $((SECONDS - start)) s"
  if ((phase_failed != 0)); then
    fail "${phase}: tests failed"
  fi
}

# run_ctest PHASE START_SECONDS CTEST_ARGS...: runs ctest and tallies its
# counts (from "X tests failed out of Y").
run_ctest() {
  local phase="$1" start="$2"
  shift 2
  local log status=0
  log="$(mktemp)"
  ctest "$@" 2>&1 | tee "${log}" || status=$?
  local summary phase_failed=0 phase_total=0
  summary="$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+|No tests were found' "${log}" | tail -n 1 || true)"
  rm -f "${log}"
  if [[ "${summary}" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    phase_failed="${BASH_REMATCH[1]}"
    phase_total="${BASH_REMATCH[2]}"
  fi
  tally "${phase}" "${start}" "${status}" "${summary}" "${phase_total}" \
    "${phase_failed}"
}

# run_shards PHASE START_SECONDS BINARY: runs the binary's test cases in
# shards (tests/run_catch_shards.sh), one per job, and tallies their counts
# (from "catch shards: P passed, F failed out of N").
run_shards() {
  local phase="$1" start="$2" binary="$3"
  local log status=0
  log="$(mktemp)"
  bash tests/run_catch_shards.sh "${binary}" "${jobs}" \
    "$(dirname "${binary}")/shards" 2>&1 | tee "${log}" || status=$?
  local summary shard_passed=0 shard_failed=0
  summary="$(grep -E '^catch shards: ' "${log}" | tail -n 1 || true)"
  rm -f "${log}"
  if [[ "${summary}" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    shard_passed="${BASH_REMATCH[1]}"
    shard_failed="${BASH_REMATCH[2]}"
  fi
  tally "${phase} (cases in shards)" "${start}" "${status}" "${summary}" \
    "$((shard_passed + shard_failed))" "${shard_failed}"
}

banner "dependencies"
bash cmake/install-deps.sh || fail "installing dependencies failed"

banner "phase 1/3: normal build (build/)"
start=${SECONDS}
configure_and_build normal build "${orgsync_normal_build_flags[@]}"
run_ctest normal "${start}" --test-dir build -j "${jobs}" --output-on-failure

banner "phase 2/3: sanitized and fuzz build (build-asan/, clang, address;undefined + libFuzzer)"
start=${SECONDS}
# One clang build serves the sanitized tests and the fuzz targets:
# ORGSYNC_FUZZ instruments the library with ASan + UBSan (and libFuzzer's
# coverage hooks, inert outside a fuzz target), so the tests run under the
# sanitizers and the fuzz targets link the same library. Only the library,
# its tests and the fuzz targets: examples and benchmarks add compile time
# and no coverage here, and the consumer builds (label "consumer") check
# packaging, which phase 1 has done. -O1 keeps the build quick to compile
# and its stack traces exact; line tables are all the sanitizers' reports
# need, and cost less to write than full debug information.
sanitizer_flags=(
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
  -DORGSYNC_BUILD_TESTS=ON -DORGSYNC_BUILD_EXAMPLES=OFF
  -DORGSYNC_BUILD_BENCH=OFF -DORGSYNC_INSTALL=OFF -DORGSYNC_UNITY_BUILD=ON
  -DORGSYNC_UNITY_BATCH_SIZE=0
)
CC=clang CXX=clang++ configure_and_build sanitized build-asan \
  "${sanitizer_flags[@]}" -DORGSYNC_SANITIZE= -DORGSYNC_FUZZ=ON \
  -DORGSYNC_FUZZ_SECONDS=6
# Allocation and free stacks of 5 frames (not 30): reports keep their full
# stack, and the allocation-heavy tests run a tenth faster.
# The simulation's runs are deterministic by seed, so which seeds converge
# is settled by phase 1's 200 + 200 (and 20 + 20 on LevelDB); here it runs
# 16 + 16 (4 per shard) for what only the sanitizers see: memory errors
# and undefined behaviour on its paths. Under ASan a seed costs five times
# its normal time (more since users and metadata joined the workload), and
# more seeds would take the test command past its budget on a slow day.
# The test cases run in one process per core (tests/run_catch_shards.sh),
# not one per case: under the sanitizers a process costs 0.2 s to start
# and end, and the phase's test time halves. Phase 1 has run each case in a
# process of its own. Then ctest runs the rest (the fuzz targets).
export ORGSYNC_SIM_SEEDS=16
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:malloc_context_size=5
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_shards sanitized "${start}" build-asan/tests/orgsync_tests
run_ctest sanitized "${start}" --test-dir build-asan -LE 'consumer|catch' \
  -j "${jobs}" --output-on-failure
unset ORGSYNC_SIM_SEEDS ASAN_OPTIONS UBSAN_OPTIONS

banner "phase 3/3: thread-sanitized build (build-tsan/, clang, thread)"
start=${SECONDS}
# Only the cases tagged [threads] run threads of their own, so only they can
# race: tests/CMakeLists.txt compiles just the files that hold one, and
# registers just those cases. Nothing else of phase 2 applies (no fuzz
# targets, no consumer builds). TSan sees the ordering of the standard
# library's mutexes, which orgsync's own (orgsync/internal/mutex.h) is made
# of; Debian's Abseil is not built for it, so absl::Mutex would not do.
# second_deadlock_stack: a lock-order report shows where both locks were
# taken.
# No gRPC transport here: its cases are not tagged [threads] (see
# tests/grpc_transport_test.cc), so building it would cost time for nothing.
CC=clang CXX=clang++ configure_and_build threads build-tsan \
  "${sanitizer_flags[@]}" -DORGSYNC_SANITIZE=thread -DORGSYNC_FUZZ=OFF \
  -DORGSYNC_GRPC=OFF
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  run_ctest threads "${start}" --test-dir build-tsan -LE consumer \
    -j "${jobs}" --output-on-failure

finish
