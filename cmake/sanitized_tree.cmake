# The sanitized trees. QUANTD_SANITIZE=address: AddressSanitizer (which
# brings LeakSanitizer) and UndefinedBehaviorSanitizer on the core, the
# server, their unit and server tests and, with clang, the libFuzzer
# targets. QUANTD_SANITIZE=thread: ThreadSanitizer on the same tests (the
# kernel pool's and the server's threads). Every report aborts, so a test
# that triggers one fails. gRPC, protobuf and Abseil stay the system's
# uninstrumented libraries. tests/sanitize builds and runs the address
# tree from the main tree's ctest; the thread tree is built by hand (see
# the README).
string(TOLOWER "${QUANTD_SANITIZE}" QUANTD_SANITIZE_KIND)
if(QUANTD_SANITIZE_KIND STREQUAL "on")
  set(QUANTD_SANITIZE_KIND address)
endif()
if(QUANTD_SANITIZE_KIND STREQUAL "address")
  set(QUANTD_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
elseif(QUANTD_SANITIZE_KIND STREQUAL "thread")
  set(QUANTD_SANITIZER_FLAGS -fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    list(APPEND QUANTD_SANITIZER_FLAGS
         -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/tests/sanitize/tsan_ignorelist.txt)
  endif()
else()
  message(FATAL_ERROR "QUANTD_SANITIZE=${QUANTD_SANITIZE}: use address or thread")
endif()
# lld links the large test binaries in a fraction of ld's time.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  find_program(QUANTD_LLD NAMES ld.lld ld.lld-14)
  if(QUANTD_LLD)
    add_link_options(-fuse-ld=lld)
  endif()
endif()

# The code protoc generates is built as the protobuf library is, without
# the sanitizers: instrumenting it would double the tree's longest
# compiles and check none of this project's code.
add_subdirectory(proto)

add_compile_options(${QUANTD_SANITIZER_FLAGS} -fno-omit-frame-pointer)
# The kernels' flags name some of GCC's warnings that clang does not know.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_options(-Wno-unknown-warning-option)
endif()
add_link_options(${QUANTD_SANITIZER_FLAGS})
add_subdirectory(src)
add_subdirectory(server)
enable_testing()
find_package(GTest REQUIRED)
include(GoogleTest)
add_subdirectory(tests/unit)
add_subdirectory(tests/server)
# The tests' own code and the gRPC side of the server at -O0 (a third less
# to compile); the core and the handlers, where the time goes, keep the
# build type's optimization.
target_compile_options(quantd_unit_tests PRIVATE -O0)
target_compile_options(quantd_server_tests PRIVATE -O0)
target_compile_options(quantd_server_lib PRIVATE -O0)
if(QUANTD_SANITIZE_KIND STREQUAL "thread")
  # Abseil's locks, as ThreadSanitizer needs to see them (the file says why).
  foreach(t quantd_unit_tests quantd_server_tests)
    target_sources(${t} PRIVATE ${PROJECT_SOURCE_DIR}/tests/sanitize/tsan_abseil_sync.cc)
    target_link_libraries(${t} PRIVATE absl::synchronization ${CMAKE_DL_LIBS})
  endforeach()
endif()

# libFuzzer needs clang. Its coverage instrumentation goes on the code
# under test only: the core and the handlers.
if(QUANTD_SANITIZE_KIND STREQUAL "address")
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(quantd_core PRIVATE -fsanitize=fuzzer-no-link)
    target_compile_options(quantd_handlers PRIVATE -fsanitize=fuzzer-no-link)
    add_subdirectory(tests/fuzz)
    include(tests/fuzz/targets.cmake)
    foreach(t ${QUANTD_FUZZ_TARGETS})
      target_compile_options(${t}_fuzzer PRIVATE -O0)
    endforeach()
  else()
    message(STATUS "The fuzz targets need clang (CMAKE_CXX_COMPILER=clang++): left out")
  endif()
endif()
