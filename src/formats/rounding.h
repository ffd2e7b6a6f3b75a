// Rounding to an integer in every mode of the API, and the counter-based
// random numbers of stochastic rounding. Scalar, inline: for generic code
// only, never for files compiled with ISA flags.
#ifndef QUANTD_FORMATS_ROUNDING_H_
#define QUANTD_FORMATS_ROUNDING_H_

#include <cmath>
#include <cstdint>

#include "quantd/quant_params.h"

namespace quantd {

// A uniform number in [0, 1) on a 2^-24 grid that depends only on the seed
// and the element's flat index: SplitMix64 (Steele, Lea, Flood 2014) at
// position `index` of the stream keyed by the mixed seed. So stochastic
// rounding gives the same bytes for any thread count, ISA or replica.
inline uint64_t SplitMix64Finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline float StochasticUniform(uint64_t seed, int64_t index) {
  constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;
  const uint64_t key = SplitMix64Finalize(seed);
  const uint64_t z = SplitMix64Finalize(key + (static_cast<uint64_t>(index) + 1) * kGamma);
  return static_cast<float>(z >> 40) * 0x1p-24f;
}

// Rounds v to an integer-valued float. STOCHASTIC is floor(v) + 1 with
// probability frac(v) (u uniform in [0, 1)); frac is exact in float, so the
// rounding is unbiased up to u's 24-bit grid.
inline float RoundToInteger(float v, Rounding rounding, float u) {
  switch (rounding) {
    case Rounding::kHalfAwayFromZero: return std::round(v);
    case Rounding::kFloor: return std::floor(v);
    case Rounding::kStochastic: {
      const float f = std::floor(v);
      return u < v - f ? f + 1.0f : f;
    }
    default: return std::nearbyint(v);  // Half to even in the default mode.
  }
}

}  // namespace quantd

#endif  // QUANTD_FORMATS_ROUNDING_H_
