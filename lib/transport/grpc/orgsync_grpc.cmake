# orgsync::grpc, the gRPC transport (include/orgsync/grpc_transport.h): a
# library of its own, on top of orgsync, so that only hosts that want gRPC
# link it. Included by lib/CMakeLists.txt when ORGSYNC_GRPC is on.

set(ORGSYNC_GRPC_PROTO "${CMAKE_CURRENT_SOURCE_DIR}/proto/grpc/org_link.proto")
set(ORGSYNC_GRPC_GEN "${CMAKE_CURRENT_BINARY_DIR}/gen_grpc")
file(MAKE_DIRECTORY "${ORGSYNC_GRPC_GEN}/proto/grpc")

# Generated code is not ours: no -Werror, and never in a unity batch. Nor
# sanitizers: unlike the engine's messages (which the fuzz targets decode),
# these are only the handshake's frames and gRPC's service glue, and
# instrumenting gRPC's headers would triple the sanitized builds' compile
# time for them.
add_library(orgsync_grpc_proto OBJECT "${ORGSYNC_GRPC_PROTO}")
protobuf_generate(
  TARGET orgsync_grpc_proto
  LANGUAGE cpp
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}"
  PROTOC_OUT_DIR "${ORGSYNC_GRPC_GEN}")
protobuf_generate(
  TARGET orgsync_grpc_proto
  LANGUAGE grpc
  GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
  PLUGIN "protoc-gen-grpc=${ORGSYNC_GRPC_CPP_PLUGIN}"
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}"
  PROTOC_OUT_DIR "${ORGSYNC_GRPC_GEN}")
target_include_directories(orgsync_grpc_proto PUBLIC
  "$<BUILD_INTERFACE:${ORGSYNC_GRPC_GEN}>")
target_link_libraries(orgsync_grpc_proto PUBLIC gRPC::grpc++
                      protobuf::libprotobuf)
set_target_properties(orgsync_grpc_proto PROPERTIES
  POSITION_INDEPENDENT_CODE ON UNITY_BUILD OFF)

file(GLOB ORGSYNC_GRPC_SOURCES CONFIGURE_DEPENDS
     "${CMAKE_CURRENT_LIST_DIR}/*.cc")
add_library(orgsync_grpc STATIC ${ORGSYNC_GRPC_SOURCES}
            $<TARGET_OBJECTS:orgsync_grpc_proto>)
add_library(orgsync::grpc ALIAS orgsync_grpc)
target_include_directories(orgsync_grpc PRIVATE
  "${CMAKE_CURRENT_SOURCE_DIR}" "${ORGSYNC_GRPC_GEN}")
target_link_libraries(orgsync_grpc
  PUBLIC orgsync absl::status absl::statusor absl::time
  PRIVATE gRPC::grpc++ protobuf::libprotobuf absl::strings)
orgsync_apply_internal_options(orgsync_grpc)
# Installed as orgsync::grpc, the name the build tree's alias gives it.
set_target_properties(orgsync_grpc PROPERTIES POSITION_INDEPENDENT_CODE ON
                                              EXPORT_NAME grpc)
# Each of these files parses gRPC's headers, most of its compile time: one
# batch parses them once (the file-local names differ across the files).
if(ORGSYNC_UNITY_BUILD)
  set_target_properties(orgsync_grpc PROPERTIES UNITY_BUILD ON
                                                UNITY_BUILD_BATCH_SIZE 8)
endif()
add_dependencies(orgsync_grpc orgsync_grpc_proto)

# For orgsync's own tests of the transport's internals (a peer that breaks
# the handshake): its private headers and generated code. Not installed.
add_library(orgsync_grpc_internal INTERFACE)
target_include_directories(orgsync_grpc_internal INTERFACE
  "${CMAKE_CURRENT_SOURCE_DIR}" "${ORGSYNC_GRPC_GEN}")
target_link_libraries(orgsync_grpc_internal INTERFACE orgsync_grpc
                      gRPC::grpc++ protobuf::libprotobuf)
