# One small helper per kind of target, as Redpanda's v_cc_library does.
#
#   sundesk_cc_library(NAME core SRCS clock.cc DEPS absl::status)
#     -> target `sundesk_core`, alias `sundesk::core`
#   sundesk_cc_binary(NAME ticket-server SRCS main.cc DEPS sundesk::ticket)
#   sundesk_cc_test(NAME core_test SRCS clock_test.cc DEPS sundesk::core LABELS unit)
#     -> one CTest entry per test binary, labelled unit | integration | e2e

function(sundesk_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  set(target sundesk_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    target_include_directories(${target} INTERFACE ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  endif()
  add_library(sundesk::${ARG_NAME} ALIAS ${target})
endfunction()

function(sundesk_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  # jemalloc replaces glibc's malloc: a gRPC server allocates and frees many small blocks
  # across threads, where glibc's arenas spend measurable time (ticket_bench: ~10-15 %).
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} PkgConfig::JEMALLOC)
  target_compile_options(${ARG_NAME} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endfunction()

# Tests run from the build tree; SUNDESK_BIN_DIR lets e2e tests find the binaries.
function(sundesk_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${ARG_NAME} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES
    LABELS "${ARG_LABELS}"
    TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "SUNDESK_BIN_DIR=${CMAKE_BINARY_DIR}/bin;SUNDESK_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
