# Consumer tests: does orgsync work for a host project the two ways a host
# takes it in -- installed (find_package, and pkg-config) and embedded
# (add_subdirectory)? Each test is a step of tests/consumer/run.cmake.
#
# They build with the same compiler, build type and flags as this build. In a
# sanitized build liborgsync.a holds instrumented code, so the host must
# compile and link with the same -fsanitize flags (orgsync_sanitizers is a
# build-only target and does not travel with the exported orgsync::orgsync).

set(ORGSYNC_CONSUMER_DIR "${CMAKE_CURRENT_BINARY_DIR}/consumer")
set(ORGSYNC_CONSUMER_PREFIX "${ORGSYNC_CONSUMER_DIR}/prefix")

set(_orgsync_consumer_cxx_flags "${CMAKE_CXX_FLAGS}")
set(_orgsync_consumer_sanitizers "")
set(_orgsync_consumer_linker_flags "${CMAKE_EXE_LINKER_FLAGS}")
if(ORGSYNC_SANITIZE)
  list(JOIN ORGSYNC_SANITIZE "," _orgsync_consumer_sanitizers)
  string(APPEND _orgsync_consumer_cxx_flags
    " -fsanitize=${_orgsync_consumer_sanitizers} -fno-omit-frame-pointer"
    " -fno-sanitize-recover=all")
  string(APPEND _orgsync_consumer_linker_flags
    " -fsanitize=${_orgsync_consumer_sanitizers}")
endif()
string(STRIP "${_orgsync_consumer_cxx_flags}" _orgsync_consumer_cxx_flags)
string(STRIP "${_orgsync_consumer_linker_flags}" _orgsync_consumer_linker_flags)

function(orgsync_add_consumer_test step)
  add_test(NAME consumer.${step}
    COMMAND "${CMAKE_COMMAND}"
      "-DSTEP=${step}"
      "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
      "-DBINARY_DIR=${PROJECT_BINARY_DIR}"
      "-DWORK_DIR=${ORGSYNC_CONSUMER_DIR}/${step}"
      "-DPREFIX=${ORGSYNC_CONSUMER_PREFIX}"
      "-DLIBDIR=${CMAKE_INSTALL_LIBDIR}"
      "-DINCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}"
      "-DVERSION=${PROJECT_VERSION}"
      "-DGENERATOR=${CMAKE_GENERATOR}"
      "-DCXX=${CMAKE_CXX_COMPILER}"
      "-DBUILD_TYPE=${CMAKE_BUILD_TYPE}"
      "-DCXX_FLAGS=${_orgsync_consumer_cxx_flags}"
      "-DLINKER_FLAGS=${_orgsync_consumer_linker_flags}"
      "-DSANITIZE=${_orgsync_consumer_sanitizers}"
      "-DGRPC=${ORGSYNC_GRPC}"
      -P "${PROJECT_SOURCE_DIR}/tests/consumer/run.cmake")
  # They compile; a high COST makes ctest start them first, so the quick
  # unit tests fill the other slots meanwhile.
  set_tests_properties(consumer.${step} PROPERTIES
    LABELS consumer TIMEOUT 1800 COST 1000 ${ARGN})
endfunction()

# The installed package can only be tested where install rules exist
# (ORGSYNC_INSTALL=ON, the default for a top-level build).
if(ORGSYNC_INSTALL)
  orgsync_add_consumer_test(install FIXTURES_SETUP orgsync_installed)
  orgsync_add_consumer_test(find_package FIXTURES_REQUIRED orgsync_installed)
  orgsync_add_consumer_test(pkg_config FIXTURES_REQUIRED orgsync_installed)
endif()
orgsync_add_consumer_test(add_subdirectory)
