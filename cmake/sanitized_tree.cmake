# The sanitized trees. QUANTD_SANITIZE=address: AddressSanitizer (which
# brings LeakSanitizer) and UndefinedBehaviorSanitizer on the core, the
# server, their unit and server tests and, with clang, the libFuzzer
# targets. QUANTD_SANITIZE=thread: ThreadSanitizer on the same tests (the
# kernel pool's and the server's threads). Every report aborts, so a test
# that triggers one fails. gRPC, protobuf and Abseil are the libraries
# find_package found: the system's uninstrumented ones, or for the thread
# tree gRPC and Abseil built with ThreadSanitizer by
# scripts/build_tsan_grpc.sh (CMAKE_PREFIX_PATH=build/tsan-deps/prefix).
# tests/sanitize builds and runs the address tree from the main tree's
# ctest; the thread tree is built by hand (see the README).
string(TOLOWER "${QUANTD_SANITIZE}" QUANTD_SANITIZE_KIND)
if(QUANTD_SANITIZE_KIND STREQUAL "on")
  set(QUANTD_SANITIZE_KIND address)
endif()
if(QUANTD_SANITIZE_KIND STREQUAL "address")
  set(QUANTD_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
elseif(QUANTD_SANITIZE_KIND STREQUAL "thread")
  set(QUANTD_SANITIZER_FLAGS -fsanitize=thread)
  # Were gRPC and Abseil built with ThreadSanitizer? scripts/build_tsan_grpc.sh
  # leaves share/quantd/tsan-deps.txt in its prefix. Both or neither: an
  # instrumented gRPC on the system's Abseil (or the reverse) would mix two
  # builds of one soname.
  set(_quantd_tsan_deps)
  foreach(_dir "${absl_DIR}" "${gRPC_DIR}")
    if(EXISTS "${_dir}/../../../share/quantd/tsan-deps.txt")
      list(APPEND _quantd_tsan_deps 1)
    else()
      list(APPEND _quantd_tsan_deps 0)
    endif()
  endforeach()
  if(_quantd_tsan_deps STREQUAL "1;1")
    set(QUANTD_TSAN_INSTRUMENTED_DEPS ON)
    message(STATUS "ThreadSanitizer: gRPC and Abseil instrumented (${gRPC_DIR}, ${absl_DIR})")
  elseif(_quantd_tsan_deps STREQUAL "0;0")
    set(QUANTD_TSAN_INSTRUMENTED_DEPS OFF)
    message(STATUS "ThreadSanitizer: gRPC and Abseil uninstrumented (the system's): the server "
                   "tests draw reports from inside gRPC; scripts/build_tsan_grpc.sh builds "
                   "instrumented ones")
  else()
    message(FATAL_ERROR "ThreadSanitizer: absl_DIR=${absl_DIR} and gRPC_DIR=${gRPC_DIR} are not "
                        "both from scripts/build_tsan_grpc.sh's prefix, nor both the system's")
  endif()
  # With the uninstrumented ones, gRPC's header code is left uninstrumented
  # too (the file says why).
  if(NOT QUANTD_TSAN_INSTRUMENTED_DEPS AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
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
if(QUANTD_SANITIZE_KIND STREQUAL "thread" AND NOT QUANTD_TSAN_INSTRUMENTED_DEPS)
  # Uninstrumented Abseil's locks, as ThreadSanitizer needs to see them (the
  # file says why). An instrumented Abseil tells it itself.
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
