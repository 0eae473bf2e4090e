#!/usr/bin/env bash
# Installs the Debian 12 packages orgsync needs to build, test and fuzz --
# only those that are missing. Idempotent, and quick when all are present:
# it then neither updates the package lists nor calls apt-get at all.
#
# Runs as root, or through sudo when available. Used by tests/run_all.sh and
# examples/run_demo.sh; can be run by hand: bash cmake/install-deps.sh
set -euo pipefail

packages=(
  # toolchain
  cmake g++ make ninja-build pkg-config
  # libraries orgsync builds on
  libabsl-dev libprotobuf-dev protobuf-compiler libleveldb-dev libsnappy-dev
  libfmt-dev
  # the gRPC transport (orgsync_grpc), and openssl for its tests' throwaway
  # certificates
  libgrpc++-dev protobuf-compiler-grpc openssl
  # tests and benchmarks
  catch2 libbenchmark-dev
  # the libFuzzer build: clang and its runtime (libFuzzer, sanitizers)
  clang libclang-rt-14-dev
)

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for package in "${packages[@]}"; do
  is_installed "${package}" || missing+=("${package}")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: missing packages: ${missing[*]}"
if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: not root and no sudo; as root, run:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi

"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q "${missing[@]}"

for package in "${missing[@]}"; do
  if ! is_installed "${package}"; then
    echo "install-deps: ${package} is still not installed" >&2
    exit 1
  fi
done
echo "install-deps: installed ${missing[*]}"
