// The nearest-level rule of codebook formats restated for SIMD: thresholds
// such that a value's code is the number of thresholds below it. Plain
// declarations: included by files compiled with ISA flags.
#ifndef QUANTD_KERNELS_CODEBOOK_THRESHOLDS_H_
#define QUANTD_KERNELS_CODEBOOK_THRESHOLDS_H_

namespace quantd {

// Writes count thresholds t[j] of the count ascending decision boundaries
// b[j] such that, for every float v that is not NaN, the reference's
// QuantizeCodebook code is the number of j with v > t[j]. t[j] = b[j] for
// even j and the float just below b[j] for odd j, so that a v exactly on
// b[j] counts it when j is odd: on a boundary, the even one of the two
// codes. The thresholds ascend (not strictly), so a binary search finds the
// count too.
void CodebookThresholds(const float* boundaries, int count, float* thresholds);

}  // namespace quantd

#endif  // QUANTD_KERNELS_CODEBOOK_THRESHOLDS_H_
