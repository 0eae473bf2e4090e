# orgsync_admin_internal: orgsync-admin's command library (RunAdminCommand,
# lib/admin/admin_command.h), used by the orgsync-admin tool and by the
# node that serves the same commands over its control socket. It needs
# only orgsync and Protobuf, but both of its users are gRPC programs, so it
# is built with them (included by lib/CMakeLists.txt when ORGSYNC_GRPC is
# on). Not installed: the tool is.

set(ORGSYNC_ADMIN_PROTO "${CMAKE_CURRENT_SOURCE_DIR}/proto/admin/admin_output.proto")
set(ORGSYNC_ADMIN_GEN "${CMAKE_CURRENT_BINARY_DIR}/gen_admin")
file(MAKE_DIRECTORY "${ORGSYNC_ADMIN_GEN}/proto/admin")

# Generated code is not ours: no -Werror, never in a unity batch.
add_library(orgsync_admin_proto OBJECT "${ORGSYNC_ADMIN_PROTO}")
protobuf_generate(
  TARGET orgsync_admin_proto
  LANGUAGE cpp
  IMPORT_DIRS "${CMAKE_CURRENT_SOURCE_DIR}"
  PROTOC_OUT_DIR "${ORGSYNC_ADMIN_GEN}")
target_include_directories(orgsync_admin_proto PUBLIC
  "$<BUILD_INTERFACE:${ORGSYNC_ADMIN_GEN}>")
target_link_libraries(orgsync_admin_proto PUBLIC protobuf::libprotobuf)
set_target_properties(orgsync_admin_proto PROPERTIES
  POSITION_INDEPENDENT_CODE ON UNITY_BUILD OFF)

# Every lib/admin/*.cc but the tool's main().
file(GLOB ORGSYNC_ADMIN_SOURCES CONFIGURE_DEPENDS
     "${CMAKE_CURRENT_LIST_DIR}/*.cc")
list(FILTER ORGSYNC_ADMIN_SOURCES EXCLUDE REGEX "/admin_main\\.cc$")
add_library(orgsync_admin_internal STATIC ${ORGSYNC_ADMIN_SOURCES}
            $<TARGET_OBJECTS:orgsync_admin_proto>)
# Its users include "admin/admin_command.h" and the generated
# "proto/admin/admin_output.pb.h" (tests parse the JSON back into it).
target_include_directories(orgsync_admin_internal PUBLIC
  "${CMAKE_CURRENT_SOURCE_DIR}" "${ORGSYNC_ADMIN_GEN}")
target_link_libraries(orgsync_admin_internal
  PUBLIC orgsync protobuf::libprotobuf absl::status absl::statusor
         absl::strings absl::time)
orgsync_apply_internal_options(orgsync_admin_internal)
set_target_properties(orgsync_admin_internal PROPERTIES
  POSITION_INDEPENDENT_CODE ON)
# Each file parses Protobuf's and Abseil's headers again: in batches they
# are parsed once per batch (the test command builds this twice).
if(ORGSYNC_UNITY_BUILD)
  set_target_properties(orgsync_admin_internal PROPERTIES
    UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
endif()
add_dependencies(orgsync_admin_internal orgsync_admin_proto)

# The tool. It asks a running node over its control socket, or opens a
# stopped node's state folder: both come from orgsync-node's internal
# library (lib/node/, defined by node/orgsync_node.cmake).
add_executable(orgsync-admin "${CMAKE_CURRENT_LIST_DIR}/admin_main.cc")
target_link_libraries(orgsync-admin PRIVATE orgsync_admin_internal
                      orgsync_node_internal gRPC::grpc++)
orgsync_apply_internal_options(orgsync-admin)

if(ORGSYNC_INSTALL)
  # With the gRPC component, like orgsync-node: the tool talks gRPC to it.
  install(TARGETS orgsync-admin RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()
