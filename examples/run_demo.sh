#!/usr/bin/env bash
# Builds and runs orgsync's demo: two orgs kept in sync, each an
# orgsync-node process, joined over gRPC with mutual TLS on loopback.
#
# Usage: bash examples/run_demo.sh [--fresh] [STATE_DIR]
#   STATE_DIR  where the two orgs keep their state (default
#              ./orgsync-demo-state): STATE_DIR/primary and
#              STATE_DIR/secondary (and the throwaway certificates in
#              STATE_DIR/tls). Run it twice to see the state reopened and
#              the story told again with new records.
#   --fresh    delete STATE_DIR/primary and STATE_DIR/secondary first.
# ORGSYNC_JOBS=N overrides the build's parallelism.
set -euo pipefail

usage() {
  echo "usage: bash examples/run_demo.sh [--fresh] [STATE_DIR]" >&2
  exit 2
}

fresh=()
state_dir=""
for arg in "$@"; do
  case "${arg}" in
    --fresh) fresh=(--fresh) ;;
    -h | --help) usage ;;
    -*) echo "run_demo.sh: unknown option ${arg}" >&2; usage ;;
    *)
      [[ -z "${state_dir}" ]] || usage
      state_dir="${arg}"
      ;;
  esac
done
state_dir="${state_dir:-./orgsync-demo-state}"
# A relative state folder is relative to where the caller stands, not to the
# repository root we move to.
if [[ "${state_dir}" != /* ]]; then
  state_dir="${PWD}/${state_dir#./}"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs="${ORGSYNC_JOBS:-$(nproc)}"

bash cmake/install-deps.sh

# The same configuration as the normal build of tests/run_all.sh (generator
# included), so that the two share build/ and neither rebuilds what the
# other built.
source cmake/normal_build_flags.sh
generator=()
if [[ ! -f build/CMakeCache.txt ]] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S . -B build "${generator[@]}" "${orgsync_normal_build_flags[@]}" \
  >/dev/null
cmake --build build --parallel "${jobs}" --target orgsync_node_demo
echo

exec build/examples/orgsync_node_demo "${fresh[@]}" --state-dir "${state_dir}"
