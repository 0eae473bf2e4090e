# orgsync-node, the deployable server (lib/node/), and its internal library
# orgsync_node_internal that tools and tests share (state folder, control
# service). Built only with the gRPC transport. Included by
# lib/CMakeLists.txt when ORGSYNC_GRPC is on, after orgsync_grpc.cmake.

set(ORGSYNC_NODE_PROTOS
    "${CMAKE_CURRENT_SOURCE_DIR}/proto/node/node_config.proto"
    "${CMAKE_CURRENT_SOURCE_DIR}/proto/node/node_control.proto")
set(ORGSYNC_NODE_GEN "${CMAKE_CURRENT_BINARY_DIR}/gen_node")
file(MAKE_DIRECTORY "${ORGSYNC_NODE_GEN}/proto/node")

# Generated code: not ours, no -Werror, never in a unity batch.
add_library(orgsync_node_proto OBJECT ${ORGSYNC_NODE_PROTOS})
protobuf_generate(
  TARGET orgsync_node_proto
  LANGUAGE cpp
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}"
  PROTOC_OUT_DIR "${ORGSYNC_NODE_GEN}")
add_library(orgsync_node_grpc_proto OBJECT
            "${CMAKE_CURRENT_SOURCE_DIR}/proto/node/node_control.proto")
protobuf_generate(
  TARGET orgsync_node_grpc_proto
  LANGUAGE grpc
  GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
  PLUGIN "protoc-gen-grpc=${ORGSYNC_GRPC_CPP_PLUGIN}"
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}"
  PROTOC_OUT_DIR "${ORGSYNC_NODE_GEN}")
foreach(target orgsync_node_proto orgsync_node_grpc_proto)
  target_include_directories(${target} PUBLIC
    "$<BUILD_INTERFACE:${ORGSYNC_NODE_GEN}>")
  target_link_libraries(${target} PUBLIC gRPC::grpc++ protobuf::libprotobuf)
  set_target_properties(${target} PROPERTIES
    POSITION_INDEPENDENT_CODE ON UNITY_BUILD OFF)
endforeach()
add_dependencies(orgsync_node_grpc_proto orgsync_node_proto)

# Everything in lib/node/ but the programs' mains.
file(GLOB ORGSYNC_NODE_SOURCES CONFIGURE_DEPENDS
     "${CMAKE_CURRENT_LIST_DIR}/*.cc")
list(FILTER ORGSYNC_NODE_SOURCES EXCLUDE REGEX "_main\\.cc$")
add_library(orgsync_node_internal STATIC ${ORGSYNC_NODE_SOURCES}
            $<TARGET_OBJECTS:orgsync_node_proto>
            $<TARGET_OBJECTS:orgsync_node_grpc_proto>)
target_include_directories(orgsync_node_internal PUBLIC
  "${CMAKE_CURRENT_SOURCE_DIR}" "${ORGSYNC_NODE_GEN}")
target_link_libraries(orgsync_node_internal
  PUBLIC orgsync orgsync::grpc orgsync_admin_internal gRPC::grpc++
         protobuf::libprotobuf
         absl::status absl::statusor absl::strings absl::time
  PRIVATE leveldb::leveldb fmt::fmt absl::random_random)
orgsync_apply_internal_options(orgsync_node_internal)
# Most of these files parse gRPC's headers, most of their compile time: in
# batches they are parsed once per batch (the test command builds this
# twice).
if(ORGSYNC_UNITY_BUILD)
  set_target_properties(orgsync_node_internal PROPERTIES
    UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
endif()
add_dependencies(orgsync_node_internal orgsync_node_proto
                 orgsync_node_grpc_proto)
add_executable(orgsync-node "${CMAKE_CURRENT_LIST_DIR}/orgsync_node_main.cc")
target_link_libraries(orgsync-node PRIVATE orgsync_node_internal fmt::fmt)
orgsync_apply_internal_options(orgsync-node)

if(ORGSYNC_INSTALL)
  # With the gRPC component: the program needs the transport.
  install(TARGETS orgsync-node RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()
