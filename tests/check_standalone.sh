#!/usr/bin/env bash
# Checks that each source file of the library and of its tests compiles on
# its own, with only the headers it includes itself.
#
# The builds compile lib/ and tests/ in unity batches (ORGSYNC_UNITY_BUILD,
# on by default), where a file can lean on a batch-mate's includes (and a
# test file on the tests' precompiled header) and still build; a host that
# turns the option off would then meet the error. This
# parses every file alone (-fsyntax-only: no code is generated), against the
# generated protobuf headers of an existing build folder.
#
# It is not part of the test command: it parses every header again for each
# of some 170 files, about 5 minutes of both cores of the 2-core machine the
# suite must finish on. Run it before committing a change that adds or
# removes an #include, or moves code between files:
#   bash tests/check_standalone.sh [BUILD_DIR]   (default build/, built once)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build}"
if [[ ! -f "${build}/lib/gen/proto/wire.pb.h" ]]; then
  echo "check_standalone: ${build}/ holds no generated headers; build it first" >&2
  exit 2
fi
cxx="${CXX:-c++}"
jobs="${ORGSYNC_JOBS:-$(nproc)}"

flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Werror -DFMT_SHARED
       '-DORGSYNC_NODE_BINARY="orgsync-node"'
       '-DORGSYNC_ADMIN_BINARY="orgsync-admin"'
       -Iinclude -Ilib -Itests)
for gen in gen gen_grpc gen_node gen_admin; do
  [[ -d "${build}/lib/${gen}" ]] && flags+=("-I${build}/lib/${gen}")
done

failures="$(mktemp)"
trap 'rm -f "${failures}"' EXIT
{
  find lib -name '*.cc' -print0
  find tests -maxdepth 1 -name '*_test.cc' -print0
  find tests/testing -name '*.cc' -print0
} | sort -z |
  xargs -0 -P "${jobs}" -I{} sh -c \
    '"$0" "$@" {} || echo {} >>"'"${failures}"'"' "${cxx}" "${flags[@]}"

if [[ -s "${failures}" ]]; then
  echo "check_standalone: these files do not compile on their own:" >&2
  sort "${failures}" >&2
  exit 1
fi
echo "check_standalone: every file of lib/ and tests/ compiles on its own"
