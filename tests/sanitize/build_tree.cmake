# ctest's sanitize.build: configures and builds the address-sanitized tree,
# at -O1 (a third quicker to build than -O2, and the sanitizers' checks
# dominate the run time anyway) with line tables for symbolized reports.
# cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DCXX=clang++ -DJOBS=N -DTARGETS="a;b" -P build_tree.cmake
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -DQUANTD_SANITIZE=address
          -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
          -DCMAKE_CXX_COMPILER=${CXX}
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} -j ${JOBS} --target ${TARGETS}
  COMMAND_ERROR_IS_FATAL ANY)
