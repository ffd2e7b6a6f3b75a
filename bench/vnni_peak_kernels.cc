// Built with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavxvnni (and
// nothing else in the benchmark is): see vnni_peak_kernels.h.
//
// The loop body must be kPeakAccumulators vpdpbusd on registers and nothing
// else. With the intrinsics, GCC 12 copies every accumulator twice per trip
// (vmovdqa32 into a scratch register, vpdpbusd there, vmovdqa64 back),
// which triples the instructions of the loop; and in a file built with
// AVX512VL it encodes _mm256_dpbusd_avx_epi32 with EVEX. Hence one asm
// statement per trip, the accumulators tied to their registers ("+v"; "+x"
// keeps the VEX form in ymm0-15). Check with
//   objdump -d --no-show-raw-insn build/bench/CMakeFiles/quantd_vnni_peak.dir/vnni_peak_kernels.cc.o
#include "vnni_peak_kernels.h"

#include <immintrin.h>

namespace quantd::bench {

static_assert(kPeakAccumulators == 12, "the loops below are written out for 12 accumulators");

#define QUANTD_DPBUSD_12(prefix, cons)                                                      \
  asm volatile(prefix "vpdpbusd %[y], %[x], %[c0]\n\t" prefix "vpdpbusd %[y], %[x], %[c1]\n\t"  \
               prefix "vpdpbusd %[y], %[x], %[c2]\n\t" prefix "vpdpbusd %[y], %[x], %[c3]\n\t"  \
               prefix "vpdpbusd %[y], %[x], %[c4]\n\t" prefix "vpdpbusd %[y], %[x], %[c5]\n\t"  \
               prefix "vpdpbusd %[y], %[x], %[c6]\n\t" prefix "vpdpbusd %[y], %[x], %[c7]\n\t"  \
               prefix "vpdpbusd %[y], %[x], %[c8]\n\t" prefix "vpdpbusd %[y], %[x], %[c9]\n\t"  \
               prefix "vpdpbusd %[y], %[x], %[c10]\n\t" prefix "vpdpbusd %[y], %[x], %[c11]"    \
               : [c0] cons(c0), [c1] cons(c1), [c2] cons(c2), [c3] cons(c3), [c4] cons(c4),     \
                 [c5] cons(c5), [c6] cons(c6), [c7] cons(c7), [c8] cons(c8), [c9] cons(c9),     \
                 [c10] cons(c10), [c11] cons(c11)                                              \
               : [x] "x"(x), [y] "x"(y))

int32_t DpbusdZmmLoop(int64_t trips, int32_t a, int32_t b) {
  const __m512i x = _mm512_set1_epi32(a), y = _mm512_set1_epi32(b);
  __m512i c0 = _mm512_set1_epi32(0), c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2);
  __m512i c3 = _mm512_set1_epi32(3), c4 = _mm512_set1_epi32(4), c5 = _mm512_set1_epi32(5);
  __m512i c6 = _mm512_set1_epi32(6), c7 = _mm512_set1_epi32(7), c8 = _mm512_set1_epi32(8);
  __m512i c9 = _mm512_set1_epi32(9), c10 = _mm512_set1_epi32(10), c11 = _mm512_set1_epi32(11);
  for (int64_t t = 0; t < trips; ++t) QUANTD_DPBUSD_12("", "+v");
  const __m512i s = _mm512_add_epi32(
      _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                       _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7))),
      _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  int32_t sum = 0;
  for (int32_t lane : lanes) sum += lane;
  return sum;
}

int32_t DpbusdYmmLoop(int64_t trips, int32_t a, int32_t b) {
  const __m256i x = _mm256_set1_epi32(a), y = _mm256_set1_epi32(b);
  __m256i c0 = _mm256_set1_epi32(0), c1 = _mm256_set1_epi32(1), c2 = _mm256_set1_epi32(2);
  __m256i c3 = _mm256_set1_epi32(3), c4 = _mm256_set1_epi32(4), c5 = _mm256_set1_epi32(5);
  __m256i c6 = _mm256_set1_epi32(6), c7 = _mm256_set1_epi32(7), c8 = _mm256_set1_epi32(8);
  __m256i c9 = _mm256_set1_epi32(9), c10 = _mm256_set1_epi32(10), c11 = _mm256_set1_epi32(11);
  for (int64_t t = 0; t < trips; ++t) QUANTD_DPBUSD_12("%{vex%} ", "+x");
  const __m256i s = _mm256_add_epi32(
      _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                       _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7))),
      _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
  const __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  const __m128i q = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(q, _mm_shuffle_epi32(q, 0xb1)));
}

#undef QUANTD_DPBUSD_12

}  // namespace quantd::bench
