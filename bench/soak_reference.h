// The soak's own answers: scalar statements of API.md's arithmetic,
// written apart from libquantd so that a server bug cannot hide in a shared
// helper. Every answer the server gives during a soak is compared with
// these.
#ifndef QUANTD_BENCH_SOAK_REFERENCE_H_
#define QUANTD_BENCH_SOAK_REFERENCE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace quantd::soak {

// The targets the soak quantizes to, all symmetric with FLOAT32 scales.
enum class Target { kInt8, kInt4, kFp8E4M3 };

// How a [rows, cols] tensor is split into parameter slots.
enum class Slots { kPerTensor, kPerRow, kPerGroup };

struct Layout {
  int64_t rows = 1;
  int64_t cols = 1;
  Slots slots = Slots::kPerTensor;
  int64_t group_size = 0;  // kPerGroup: block length along the last axis.

  int64_t count() const { return rows * cols; }
  int64_t groups_per_row() const { return (cols + group_size - 1) / group_size; }
  int64_t slot_count() const;
  int64_t SlotOf(int64_t row, int64_t col) const;
};

struct ReferenceQuantization {
  std::string codes;          // Packed as on the wire.
  std::vector<float> scales;  // One per slot.
  int64_t clipped = 0;
  double sum_sq_error = 0;    // Sum of (x - x')^2 in float64.
  double max_abs_error = 0;
};

// The symmetric scale of a slot whose largest magnitude is `amax`
// (API.md: amax / qmax in float32, 1 for an all-zero slot, at least FLT_MIN).
float SymmetricScale(float amax, float qmax);
// qmax of a symmetric target: 127, 7 (restricted ranges), 448.
float TargetLimit(Target target);

// Quantizes `x` (row-major, `layout`): with `scales` empty each slot's scale
// comes from its absolute maximum; otherwise they are used as given.
// Rounding half to even on x * (1 / scale) in float32, then clamping
// (integers) or saturating (FP8).
ReferenceQuantization Quantize(std::span<const float> x, const Layout& layout, Target target,
                               std::span<const float> scales = {});

// x' = level(code) * scale of its slot, in float32.
std::vector<float> Dequantize(const std::string& codes, const Layout& layout, Target target,
                              std::span<const float> scales);

// OCP FP8 E4M3FN by hand: round to nearest even, saturate at 448, keep the
// sign of a value that rounds to zero. Decode is exact.
uint8_t EncodeE4M3(float v);
float DecodeE4M3(uint8_t code);

// The INT4 code of element i of packed bytes (two per byte, low nibble
// first, two's complement).
int Int4At(const std::string& packed, int64_t i);

// min and max of x (float32 comparisons).
void MinMax(std::span<const float> x, float* lo, float* hi);

}  // namespace quantd::soak

#endif  // QUANTD_BENCH_SOAK_REFERENCE_H_
