# The fuzz targets, one per RPC: <name>_fuzzer.cc, seeds in corpus/<name>.
set(QUANTD_FUZZ_TARGETS
  quantize dequantize matmul analyze calibrate quantize_stream dequantize_stream)
