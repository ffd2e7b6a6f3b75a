// Codebook thresholds for counting kernels.
#include "kernels/codebook_thresholds.h"

#include <bit>
#include <cstdint>

namespace quantd {
namespace {

// The float just below finite b, as std::nextafter(b, -inf) but without a
// library call (kernels compute these for every span): one step towards
// -inf in sign-magnitude bits; both zeros step to the negative denormal
// closest to zero.
float FloatBelow(float b) {
  const uint32_t bits = std::bit_cast<uint32_t>(b);
  const bool positive = bits != 0 && (bits >> 31) == 0;
  return std::bit_cast<float>(positive ? bits - 1 : (bits | 0x80000000u) + 1);
}

}  // namespace

void CodebookThresholds(const float* boundaries, int count, float* thresholds) {
  for (int j = 0; j < count; ++j) {
    thresholds[j] = j % 2 == 0 ? boundaries[j] : FloatBelow(boundaries[j]);
  }
}

}  // namespace quantd
