# Install rules (ORGSYNC_INSTALL=ON): public headers, the static library, an
# exported target orgsync::orgsync, a package config with its version file,
# and a pkg-config file. Everything lands under the install prefix chosen at
# install time (cmake --install <build> --prefix <dir>), and both the CMake
# package and orgsync.pc are relocatable.

include(CMakePackageConfigHelpers)

set(ORGSYNC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/orgsync"
    CACHE STRING "Where orgsyncConfig.cmake is installed, relative to the prefix")
mark_as_advanced(ORGSYNC_INSTALL_CMAKEDIR)

install(TARGETS orgsync
  EXPORT orgsyncTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")

# Only include/orgsync is public; lib/ (private headers, generated protobuf
# code) never leaves the build tree. The gRPC transport's header goes only
# with its library.
if(ORGSYNC_GRPC)
  set(_orgsync_header_exclude "")
else()
  set(_orgsync_header_exclude PATTERN "grpc_transport.h" EXCLUDE)
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/orgsync"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.h" ${_orgsync_header_exclude})

# The gRPC transport, a component of the package of its own
# (find_package(orgsync COMPONENTS grpc)), so that hosts that do not ask for
# it do not need gRPC to find orgsync.
if(ORGSYNC_GRPC)
  install(TARGETS orgsync_grpc
    EXPORT orgsyncGrpcTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(EXPORT orgsyncGrpcTargets
    NAMESPACE orgsync::
    FILE orgsyncGrpcTargets.cmake
    DESTINATION "${ORGSYNC_INSTALL_CMAKEDIR}")
endif()

install(EXPORT orgsyncTargets
  NAMESPACE orgsync::
  FILE orgsyncTargets.cmake
  DESTINATION "${ORGSYNC_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/orgsyncConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/orgsyncConfig.cmake"
  INSTALL_DESTINATION "${ORGSYNC_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/orgsyncConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/orgsyncConfig.cmake"
  "${PROJECT_BINARY_DIR}/orgsyncConfigVersion.cmake"
  DESTINATION "${ORGSYNC_INSTALL_CMAKEDIR}")

# orgsync.pc finds its prefix from its own location (${pcfiledir}), so the
# same file works whatever --prefix the install is given.
set(ORGSYNC_PKGCONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH ORGSYNC_PC_TO_PREFIX
     "/prefix/${ORGSYNC_PKGCONFIG_DIR}" "/prefix")
string(REGEX REPLACE "/$" "" ORGSYNC_PC_TO_PREFIX "${ORGSYNC_PC_TO_PREFIX}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/orgsync.pc.in"
               "${PROJECT_BINARY_DIR}/orgsync.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/orgsync.pc"
  DESTINATION "${ORGSYNC_PKGCONFIG_DIR}")
