# One step of the consumer tests, run by ctest as `cmake -D... -P run.cmake`
# (see tests/cmake/consumer.cmake, which passes every variable used here).
#
#   STEP=install           install the parent build into PREFIX, check the tree
#   STEP=find_package      build and run a host project using find_package()
#   STEP=pkg_config        compile and run the same host program with the
#                          flags `pkg-config orgsync` gives
#   STEP=add_subdirectory  build and run a host project embedding the sources
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS STEP SOURCE_DIR BINARY_DIR WORK_DIR PREFIX LIBDIR
                     INCLUDEDIR GENERATOR CXX BUILD_TYPE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()
set(consumer_dir "${SOURCE_DIR}/tests/consumer")
if(DEFINED ENV{ORGSYNC_JOBS})
  set(jobs "$ENV{ORGSYNC_JOBS}")
else()
  set(jobs 2)
endif()

function(run)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "run: ${shown}")
  execute_process(COMMAND ${ARGN} COMMAND_ERROR_IS_FATAL ANY)
endfunction()

function(expect_file path)
  if(NOT EXISTS "${PREFIX}/${path}")
    message(FATAL_ERROR "not installed: ${PREFIX}/${path}")
  endif()
endfunction()

# Configures, builds and runs the project in `project_dir` with the parent
# build's compiler, build type and (sanitizer) flags.
function(build_and_run project_dir build_dir)
  run("${CMAKE_COMMAND}" -S "${project_dir}" -B "${build_dir}"
      -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}"
      "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
      "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
      "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
      ${ARGN})
  run("${CMAKE_COMMAND}" --build "${build_dir}" --parallel ${jobs})
  run("${build_dir}/app")
endfunction()

if(STEP STREQUAL "install")
  # A fresh prefix each time, so a header removed from the sources cannot
  # linger and hide a broken install.
  file(REMOVE_RECURSE "${PREFIX}")
  run("${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${PREFIX}")
  foreach(path IN ITEMS
      "${INCLUDEDIR}/orgsync/options.h"
      "${INCLUDEDIR}/orgsync/storage.h"
      "${INCLUDEDIR}/orgsync/status.h"
      "${INCLUDEDIR}/orgsync/internal/mutex.h"
      "${LIBDIR}/liborgsync.a"
      "${LIBDIR}/cmake/orgsync/orgsyncConfig.cmake"
      "${LIBDIR}/cmake/orgsync/orgsyncConfigVersion.cmake"
      "${LIBDIR}/cmake/orgsync/orgsyncTargets.cmake"
      "${LIBDIR}/pkgconfig/orgsync.pc")
    expect_file("${path}")
  endforeach()
  if(GRPC)
    expect_file("${LIBDIR}/liborgsync_grpc.a")
    expect_file("${LIBDIR}/cmake/orgsync/orgsyncGrpcTargets.cmake")
  endif()
  # lib/ is private: nothing but the public headers may be installed, and
  # orgsync/internal/, which public headers include for private members.
  file(GLOB_RECURSE installed_headers RELATIVE "${PREFIX}/${INCLUDEDIR}"
       "${PREFIX}/${INCLUDEDIR}/*")
  foreach(header IN LISTS installed_headers)
    if(NOT header MATCHES "^orgsync/(internal/)?[a-z0-9_]+\\.h$")
      message(FATAL_ERROR "installed a header that is not public: ${header}")
    endif()
  endforeach()
  file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include"
       "${SOURCE_DIR}/include/orgsync/*.h")
  if(NOT GRPC)
    # Its header goes only with the gRPC transport's library.
    list(REMOVE_ITEM source_headers "orgsync/grpc_transport.h")
  endif()
  list(SORT source_headers)
  list(SORT installed_headers)
  if(NOT source_headers STREQUAL installed_headers)
    message(FATAL_ERROR "installed headers differ from include/orgsync: "
                        "${installed_headers} vs ${source_headers}")
  endif()

elseif(STEP STREQUAL "find_package")
  # A fresh build tree: find_package must succeed from scratch.
  file(REMOVE_RECURSE "${WORK_DIR}")
  build_and_run("${consumer_dir}/find_package" "${WORK_DIR}"
                "-DCMAKE_PREFIX_PATH=${PREFIX}"
                "-DORGSYNC_CONSUMER_GRPC=${GRPC}")
  if(GRPC)
    run("${WORK_DIR}/grpc_app")
  endif()
  # Make sure the package came from PREFIX, not from some other install.
  file(STRINGS "${WORK_DIR}/CMakeCache.txt" found REGEX "^orgsync_DIR:")
  if(NOT found STREQUAL "orgsync_DIR:PATH=${PREFIX}/${LIBDIR}/cmake/orgsync")
    message(FATAL_ERROR "orgsync was found elsewhere: ${found}")
  endif()

elseif(STEP STREQUAL "pkg_config")
  find_program(PKG_CONFIG pkg-config REQUIRED)
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
  foreach(what IN ITEMS modversion cflags libs)
    execute_process(COMMAND "${PKG_CONFIG}" --${what} orgsync
                    OUTPUT_VARIABLE pc_${what} OUTPUT_STRIP_TRAILING_WHITESPACE
                    COMMAND_ERROR_IS_FATAL ANY)
    message(STATUS "pkg-config --${what} orgsync: ${pc_${what}}")
  endforeach()
  if(NOT pc_modversion STREQUAL VERSION)
    message(FATAL_ERROR "orgsync.pc says version ${pc_modversion}, "
                        "the project is ${VERSION}")
  endif()
  separate_arguments(pc_cflags UNIX_COMMAND "${pc_cflags}")
  separate_arguments(pc_libs UNIX_COMMAND "${pc_libs}")
  separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
  separate_arguments(linker_flags UNIX_COMMAND "${LINKER_FLAGS}")
  file(REMOVE_RECURSE "${WORK_DIR}")
  file(MAKE_DIRECTORY "${WORK_DIR}")
  run("${CXX}" -std=c++20 -Wall -Wextra -Werror ${cxx_flags} ${pc_cflags}
      "${consumer_dir}/main.cc" -o "${WORK_DIR}/app"
      ${linker_flags} ${pc_libs})
  run("${WORK_DIR}/app")

elseif(STEP STREQUAL "add_subdirectory")
  # The build tree is kept between runs: embedding recompiles the whole
  # library, and a warm rerun need only rebuild what changed.
  # The embedded library gets the parent's sanitizers (comma-separated in
  # SANITIZE) the way a host would ask for them, and every other option at
  # its default but one: the whole library in one unity batch
  # (ORGSYNC_UNITY_BATCH_SIZE=0, as the other builds of the test command),
  # which costs a third of the CPU time of the default batches of 8 -- the
  # 2-core machine the test command runs on has none to spare. It is built
  # without a build type (no optimization, no debug information), as a host
  # may well do: this step checks that embedding works, not the optimized
  # code, which the other steps link. That each file compiles on its own,
  # outside a batch, is tests/check_standalone.sh's to check; a file that
  # compiles alone and in the whole library compiles in any batch.
  set(BUILD_TYPE "")
  build_and_run("${consumer_dir}/add_subdirectory" "${WORK_DIR}"
                "-DORGSYNC_TREE=${SOURCE_DIR}"
                "-DORGSYNC_SANITIZE=${SANITIZE}"
                "-DORGSYNC_UNITY_BATCH_SIZE=0")
  foreach(dir IN ITEMS tests examples bench fuzz)
    if(EXISTS "${WORK_DIR}/orgsync/${dir}")
      message(FATAL_ERROR "orgsync's ${dir}/ was configured in "
                          "add_subdirectory mode: ${WORK_DIR}/orgsync/${dir}")
    endif()
  endforeach()

else()
  message(FATAL_ERROR "run.cmake: unknown STEP '${STEP}'")
endif()
