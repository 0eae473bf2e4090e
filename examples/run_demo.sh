#!/usr/bin/env bash
# Builds and runs orgsync's demo program.
#
# Usage: bash examples/run_demo.sh [STATE_DIR]
#   STATE_DIR  where the demo keeps its durable state (default
#              ./orgsync-demo-state); run it twice to see the state survive.
# ORGSYNC_JOBS=N overrides the build's parallelism.
set -euo pipefail

state_dir="${1:-./orgsync-demo-state}"
# A relative state folder is relative to where the caller stands, not to the
# repository root we move to.
if [[ "${state_dir}" != /* ]]; then
  state_dir="${PWD}/${state_dir#./}"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs="${ORGSYNC_JOBS:-$(nproc)}"

bash cmake/install-deps.sh

# The same configuration as the normal build of tests/run_all.sh, so that the
# two share build/ and neither rebuilds what the other built.
cmake -S . -B build \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DORGSYNC_BUILD_TESTS=ON -DORGSYNC_BUILD_EXAMPLES=ON \
  -DORGSYNC_BUILD_BENCH=ON -DORGSYNC_INSTALL=ON \
  -DORGSYNC_FUZZ=OFF -DORGSYNC_SANITIZE=
cmake --build build --parallel "${jobs}" --target orgsync_demo

exec build/examples/orgsync_demo --state-dir "${state_dir}"
