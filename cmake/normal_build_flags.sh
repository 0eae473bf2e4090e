# The configure flags of the normal build in build/, sourced by
# tests/run_all.sh (its first phase) and examples/run_demo.sh, so that the
# two scripts share one build and neither rebuilds what the other built.
#
# Line tables (-g1), not full debug information: enough for stack traces
# and profiles, and the optimized library compiles in three quarters of the
# time (variable tracking at -O2 is the expensive part of -g). The library
# compiles as one unity batch (ORGSYNC_UNITY_BATCH_SIZE=0): half the CPU
# time of batches of 8, while the other core compiles the rest.
orgsync_normal_build_flags=(
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
  -DORGSYNC_BUILD_TESTS=ON -DORGSYNC_BUILD_EXAMPLES=ON
  -DORGSYNC_BUILD_BENCH=ON -DORGSYNC_INSTALL=ON
  -DORGSYNC_FUZZ=OFF -DORGSYNC_UNITY_BUILD=ON -DORGSYNC_UNITY_BATCH_SIZE=0
  -DORGSYNC_SANITIZE=
)
