// How scales are stored (QuantParams.scale_dtype): FLOAT32, FLOAT16, or
// E8M0 powers of two for the OCP MX block formats.
#ifndef QUANTD_FORMATS_SCALE_FORMAT_H_
#define QUANTD_FORMATS_SCALE_FORMAT_H_

#include "quantd/dtype.h"

namespace quantd {

// The bits one stored scale takes.
int ScaleBits(DType scale_dtype);

// A positive finite scale rounded to the nearest value the scale dtype
// holds (FLOAT16: to nearest even, kept within [2^-24, 65504]; E8M0: to the
// power of two at or below it, kept within [2^-126, 2^127], so that every
// scale stays a normal float32).
float RoundScale(DType scale_dtype, float scale);

// Whether `scale` is exactly a value of the scale dtype.
bool IsScaleRepresentable(DType scale_dtype, float scale);

// The OCP MX shared scale of a block whose absolute maximum is `amax`:
// 2^(floor(log2(amax)) - emax), with emax = floor(log2(limit)) of the
// element type's largest magnitude `limit`; 1 for an all-zero block.
float E8M0BlockScale(float amax, float limit);

}  // namespace quantd

#endif  // QUANTD_FORMATS_SCALE_FORMAT_H_
