# ctest's sanitize.build: configures and builds the sanitized tree.
# cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DCXX=clang++ -DJOBS=N -DTARGETS="a;b" -P build_tree.cmake
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -DQUANTD_SANITIZE=ON
          -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=${CXX}
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} -j ${JOBS} --target ${TARGETS}
  COMMAND_ERROR_IS_FATAL ANY)
