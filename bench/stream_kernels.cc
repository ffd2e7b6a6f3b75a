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

// Element 2i in the low nibble of byte i, as quantd packs 4-bit codes.
__attribute__((target("avx2"))) int64_t Stream4ToHalfAvx2(const float* x, uint8_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i));
    const __m256i b = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 8));
    const __m256i c = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 16));
    const __m256i d = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 24));
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    const __m256i bytes = _mm256_and_si256(
        _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)),
        _mm256_set1_epi8(0x0f));
    // Byte 2i + byte 2i+1 * 16 in each 16-bit lane, then the low bytes.
    const __m256i pairs = _mm256_maddubs_epi16(bytes, _mm256_set1_epi16(0x1001));
    const __m256i narrowed = _mm256_permute4x64_epi64(_mm256_packus_epi16(pairs, pairs), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i / 2), _mm256_castsi256_si128(narrowed));
  }
  return i;
}

__attribute__((target("avx2"))) int64_t StreamHalfTo4Avx2(const uint8_t* q, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i / 2));
    const __m128i low = _mm_and_si128(bytes, _mm_set1_epi8(0x0f));
    const __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f));
    const __m128i nibbles = _mm_unpacklo_epi8(low, high);
    _mm256_storeu_ps(out + i, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(nibbles)));
    _mm256_storeu_ps(out + i + 8,
                     _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(nibbles, nibbles))));
  }
  return i;
}

// Four independent sums of 32-byte loads, so the loop is bound by loads.
__attribute__((target("avx2"))) int64_t StreamReadAvx2(const uint8_t* p, int64_t bytes, uint64_t* sum) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 128 <= bytes; i += 128) {
    s0 = _mm256_add_epi64(s0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    s1 = _mm256_add_epi64(s1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    s2 = _mm256_add_epi64(s2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    s3 = _mm256_add_epi64(s3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  *sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  return i;
}

}  // namespace

uint64_t StreamRead(const uint8_t* p, int64_t bytes) {
  uint64_t sum = 0;
  int64_t i = HasAvx2() ? StreamReadAvx2(p, bytes, &sum) : 0;
  for (; i < bytes; ++i) sum += p[i];
  return sum;
}

void Stream4To1(const float* x, int8_t* out, int64_t n) {
  int64_t i = HasAvx2() ? Stream4To1Avx2(x, out, n) : 0;
  for (; i < n; ++i) out[i] = static_cast<int8_t>(static_cast<int>(x[i]));
}

void Stream1To4(const int8_t* q, float* out, int64_t n) {
  int64_t i = HasAvx2() ? Stream1To4Avx2(q, out, n) : 0;
  for (; i < n; ++i) out[i] = static_cast<float>(q[i]);
}

void Stream4ToHalf(const float* x, uint8_t* out, int64_t n) {
  int64_t i = HasAvx2() ? Stream4ToHalfAvx2(x, out, n) : 0;
  for (; i + 1 < n; i += 2) {
    const int low = static_cast<int>(x[i]) & 0xf, high = static_cast<int>(x[i + 1]) & 0xf;
    out[i / 2] = static_cast<uint8_t>(low | high << 4);
  }
}

void StreamHalfTo4(const uint8_t* q, float* out, int64_t n) {
  int64_t i = HasAvx2() ? StreamHalfTo4Avx2(q, out, n) : 0;
  for (; i + 1 < n; i += 2) {
    out[i] = static_cast<float>(q[i / 2] & 0xf);
    out[i + 1] = static_cast<float>(q[i / 2] >> 4);
  }
}

}  // namespace quantd::bench
