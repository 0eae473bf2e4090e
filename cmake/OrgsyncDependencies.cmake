# Every dependency comes from Debian 12 packages; nothing is downloaded.
# Keep this list in step with cmake/orgsyncConfig.cmake.in, which repeats it
# with find_dependency() for installed consumers.

find_package(Threads REQUIRED)
# Abseil's version file demands an exact match, so no version is given.
find_package(absl REQUIRED)
# Debian's protobuf ships no CMake package config; CMake's FindProtobuf
# module provides protobuf::libprotobuf and protobuf_generate().
find_package(Protobuf REQUIRED)
find_package(leveldb REQUIRED)
find_package(fmt REQUIRED)

if(ORGSYNC_GRPC)
  # Debian's libgrpc++-dev ships gRPCConfig.cmake (targets gRPC::grpc++);
  # the service code generator is protobuf-compiler-grpc's plugin.
  find_package(gRPC CONFIG REQUIRED)
  find_program(ORGSYNC_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
endif()
