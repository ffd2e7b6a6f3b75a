# The sanitized tree (QUANTD_SANITIZE=ON): the core library, its unit tests
# and, with clang, the fuzz targets, all built with AddressSanitizer (which
# brings LeakSanitizer) and UndefinedBehaviorSanitizer. Every report aborts,
# so a test that triggers one fails. gRPC, protobuf and Abseil stay the
# system's uninstrumented libraries. tests/sanitize builds and runs this
# tree from the main tree's ctest.
add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)

# libFuzzer needs clang. Its coverage instrumentation goes on every target
# (the core is the code under test); in the unit tests it only counts.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(QUANTD_FUZZ ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
else()
  set(QUANTD_FUZZ OFF)
  message(STATUS "The fuzz targets need clang (CMAKE_CXX_COMPILER=clang++): left out")
endif()

add_subdirectory(proto)
add_subdirectory(src)
enable_testing()
find_package(GTest REQUIRED)
include(GoogleTest)
add_subdirectory(tests/unit)
if(QUANTD_FUZZ)
  add_subdirectory(tests/fuzz)
endif()
