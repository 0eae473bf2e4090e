#!/usr/bin/env bash
# Runs every case of a Catch2 test binary in a few processes ("shards")
# side by side, instead of one process per case as ctest does.
#
# For the sanitized phase of tests/run_all.sh: under AddressSanitizer each
# process costs about 0.2 s before its first test and after its last
# (sanitizer start-up, then LeakSanitizer's scan at exit), which over ~480
# cases was half of the phase's test time on a 2-core machine. The normal
# phase keeps one process per case, so a case that passes only after
# another one still fails there; here the cases of a shard share a process
# and LeakSanitizer reports the leaks of all of them at its exit.
#
# Usage: tests/run_catch_shards.sh BINARY SHARDS WORK_DIR
#   Lists BINARY's cases, deals them round-robin to SHARDS shards (cases of
#   one file sit together in the list, so each shard gets its share of a
#   file's long cases), runs the shards at once, each with its own
#   ORGSYNC_TEST_TMPDIR under WORK_DIR and a time limit
#   (ORGSYNC_SHARD_TIMEOUT seconds, default 1500), and prints the output of
#   every shard that failed. Ends with the line
#     catch shards: P passed, F failed out of N
#   and exits non-zero when a case failed, a shard died, or the cases run
#   are not exactly the cases listed.
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 BINARY SHARDS WORK_DIR" >&2
  exit 2
fi
binary="$1"
shards="$2"
work="$3"
timeout_seconds="${ORGSYNC_SHARD_TIMEOUT:-1500}"

rm -rf "${work}"
mkdir -p "${work}"
# Catch2 2.x exits with the number of cases it listed.
{ "${binary}" --list-test-names-only || true; } | grep -v '^$' \
  >"${work}/names.txt" || true
total="$(wc -l <"${work}/names.txt")"
if ((total == 0)); then
  echo "run_catch_shards: ${binary} lists no test cases" >&2
  echo "catch shards: 0 passed, 1 failed out of 0"
  exit 1
fi

# A name becomes a test spec: Catch reads '\', ',', '[', ']' and '"' in a
# spec as syntax, so they are escaped to stand for themselves.
sed -e 's/\\/\\\\/g; s/,/\\,/g; s/\[/\\[/g; s/\]/\\]/g; s/"/\\"/g' \
  "${work}/names.txt" >"${work}/specs.txt"

pids=()
for ((i = 0; i < shards; ++i)); do
  awk -v n="${shards}" -v i="${i}" 'NR % n == i' "${work}/specs.txt" \
    >"${work}/shard${i}.txt"
  mkdir -p "${work}/tmp${i}"
  ORGSYNC_TEST_TMPDIR="${work}/tmp${i}" \
    timeout --kill-after=30 "${timeout_seconds}" \
    "${binary}" --input-file "${work}/shard${i}.txt" --warn NoTests \
    >"${work}/shard${i}.log" 2>&1 &
  pids+=($!)
done

passed=0
failed=0
for ((i = 0; i < shards; ++i)); do
  status=0
  wait "${pids[i]}" || status=$?
  log="${work}/shard${i}.log"
  expected="$(wc -l <"${work}/shard${i}.txt")"
  # Catch2's last word: "All tests passed (A assertions in N test cases)"
  # or "test cases: N | P passed | F failed".
  shard_passed=0
  shard_failed=0
  if line="$(grep -E '^All tests passed \(' "${log}" | tail -n 1)" &&
     [[ "${line}" =~ in\ ([0-9]+)\ test\ case ]]; then
    shard_passed="${BASH_REMATCH[1]}"
  elif line="$(grep -E '^test cases: ' "${log}" | tail -n 1)" &&
       [[ "${line}" =~ ([0-9]+)\ passed ]]; then
    shard_passed="${BASH_REMATCH[1]}"
    [[ "${line}" =~ ([0-9]+)\ failed ]] && shard_failed="${BASH_REMATCH[1]}"
  fi
  problem=""
  if ((status != 0)); then
    problem="exited with status ${status}"
  fi
  if ((shard_passed + shard_failed != expected)); then
    # A crash, a sanitizer report or the time limit cut the shard short,
    # or a spec matched no case: the cases not seen count as failed.
    problem="${problem:+${problem}; }ran $((shard_passed + shard_failed)) of its ${expected} cases"
    shard_failed=$((expected - shard_passed))
  fi
  passed=$((passed + shard_passed))
  failed=$((failed + shard_failed))
  if [[ -n "${problem}" ]]; then
    echo "---- shard ${i}: ${problem}; its output:"
    cat "${log}"
  else
    echo "---- shard ${i}: ${shard_passed} cases passed"
  fi
done

echo "catch shards: ${passed} passed, ${failed} failed out of ${total}"
((failed == 0))
