# Warnings and sanitizers for orgsync's own targets only. Host projects that
# add_subdirectory(orgsync) keep their own flags: nothing here is global.

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

add_library(orgsync_warnings INTERFACE)
target_compile_options(orgsync_warnings INTERFACE -Wall -Wextra -Werror)

add_library(orgsync_sanitizers INTERFACE)
if(ORGSYNC_SANITIZE)
  list(JOIN ORGSYNC_SANITIZE "," _orgsync_sanitizers)
  target_compile_options(orgsync_sanitizers INTERFACE
    -fsanitize=${_orgsync_sanitizers} -fno-omit-frame-pointer
    -fno-sanitize-recover=all
    # GCC 12's -Wmaybe-uninitialized misfires on libstdc++'s <regex> (pulled
    # in by Catch2) once the sanitizers instrument it; with -Werror that
    # breaks every sanitized build, so that one warning is off there.
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(orgsync_sanitizers INTERFACE
    -fsanitize=${_orgsync_sanitizers})
endif()

# A fuzzing build instruments orgsync's own code (the library and its
# generated protobuf code) for libFuzzer's coverage feedback, and checks it
# with ASan and UBSan. Only the fuzz targets link libFuzzer itself
# (-fsanitize=fuzzer, in fuzz/CMakeLists.txt): with fuzzer-no-link, any
# other program built from the library still has its own main().
if(ORGSYNC_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ORGSYNC_FUZZ needs clang (libFuzzer): configure "
                        "with CXX=clang++")
  endif()
  target_compile_options(orgsync_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(orgsync_sanitizers INTERFACE
    -fsanitize=address,undefined)
endif()

# orgsync_internal_options: what every target we build (library, tests,
# examples, benchmarks) compiles with.
function(orgsync_apply_internal_options target)
  target_link_libraries(${target} PRIVATE
    $<BUILD_INTERFACE:orgsync_warnings>
    $<BUILD_INTERFACE:orgsync_sanitizers>)
endfunction()
