# Runs one libFuzzer target for a fixed time on a fresh copy of its seed
# corpus. Invoked by ctest (fuzz/CMakeLists.txt) as
#   cmake -DFUZZER=<exe> -DSEED_CORPUS=<dir> -DWORK_DIR=<dir> -DSECONDS=<n>
#         -P run_fuzzer.cmake
# WORK_DIR/corpus receives the copy (and what the fuzzer adds to it),
# WORK_DIR/artifacts any crashing input, WORK_DIR/fuzz.log the fuzzer's log.

foreach(var FUZZER SEED_CORPUS WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}/corpus")
file(MAKE_DIRECTORY "${WORK_DIR}/corpus" "${WORK_DIR}/artifacts")
file(GLOB seeds "${SEED_CORPUS}/*")
if(NOT seeds)
  message(FATAL_ERROR "no seed corpus in ${SEED_CORPUS}")
endif()
file(COPY ${seeds} DESTINATION "${WORK_DIR}/corpus")

execute_process(
  COMMAND "${FUZZER}" "${WORK_DIR}/corpus"
          -max_total_time=${SECONDS}
          -rss_limit_mb=2048
          -timeout=10
          -print_final_stats=1
          -artifact_prefix=${WORK_DIR}/artifacts/
  RESULT_VARIABLE result
  ERROR_FILE "${WORK_DIR}/fuzz.log")

# libFuzzer writes to stderr; show its summary lines (and, on failure, the
# report). Brackets and semicolons would confuse CMake's list splitting.
file(READ "${WORK_DIR}/fuzz.log" log)
string(REPLACE ";" "," log "${log}")
string(REPLACE "[" "(" log "${log}")
string(REPLACE "]" ")" log "${log}")
string(REPLACE "\n" ";" log "${log}")
set(shown "")
foreach(line IN LISTS log)
  if(line MATCHES "^(INFO: Seed|INFO: +[0-9]+ files|#[0-9]+[ \t]+(INITED|DONE)|stat::|Done |==|SUMMARY|[a-z_]+_fuzzer[a-z ]*:|artifact_prefix|Test unit written|    #)")
    string(APPEND shown "${line}\n")
  endif()
endforeach()
message("${shown}")

if(NOT result EQUAL 0)
  message(FATAL_ERROR
    "${FUZZER} failed (exit ${result}); full log: ${WORK_DIR}/fuzz.log, "
    "crashing input in ${WORK_DIR}/artifacts/")
endif()
