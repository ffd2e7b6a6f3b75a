// Checks that an enum received from outside holds one of its known numbers.
#ifndef QUANTD_CORE_ENUM_CHECK_H_
#define QUANTD_CORE_ENUM_CHECK_H_

#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace quantd {

// INVALID_ARGUMENT naming `field` unless 0 <= number <= max_number.
absl::Status CheckEnumNumber(int32_t number, int32_t max_number,
                             absl::string_view field, absl::string_view enum_name);

}  // namespace quantd

#endif  // QUANTD_CORE_ENUM_CHECK_H_
