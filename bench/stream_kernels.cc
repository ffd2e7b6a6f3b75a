// The stream loops: AVX2 when the CPU has it (only the functions marked with
// the avx2 target use it), plain C++ otherwise.
#include "stream_kernels.h"

#include <immintrin.h>

namespace quantd::bench {
namespace {

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

__attribute__((target("avx2"))) int64_t Stream4To1Avx2(const float* x, int8_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i));
    const __m256i b = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 8));
    const __m256i c = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 16));
    const __m256i d = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 24));
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), ordered);
  }
  return i;
}

__attribute__((target("avx2"))) int64_t Stream1To4Avx2(const int8_t* q, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i));
    _mm256_storeu_ps(out + i, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)));
  }
  return i;
}

}  // namespace

void Stream4To1(const float* x, int8_t* out, int64_t n) {
  int64_t i = HasAvx2() ? Stream4To1Avx2(x, out, n) : 0;
  for (; i < n; ++i) out[i] = static_cast<int8_t>(static_cast<int>(x[i]));
}

void Stream1To4(const int8_t* q, float* out, int64_t n) {
  int64_t i = HasAvx2() ? Stream1To4Avx2(q, out, n) : 0;
  for (; i < n; ++i) out[i] = static_cast<float>(q[i]);
}

}  // namespace quantd::bench
