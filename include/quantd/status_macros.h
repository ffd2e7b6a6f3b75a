// Return-if-error and assign-or-return for absl::Status, which the Abseil in
// Debian 12 (20220623) does not provide.
#ifndef QUANTD_STATUS_MACROS_H_
#define QUANTD_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define QUANTD_RETURN_IF_ERROR(expr)                \
  do {                                              \
    if (::absl::Status quantd_status_ = (expr);     \
        !quantd_status_.ok()) {                     \
      return quantd_status_;                        \
    }                                               \
  } while (false)

#define QUANTD_CONCAT_INNER_(a, b) a##b
#define QUANTD_CONCAT_(a, b) QUANTD_CONCAT_INNER_(a, b)

// QUANTD_ASSIGN_OR_RETURN(auto x, MakeX()); declares or assigns x from a
// StatusOr, returning its status from the enclosing function on error.
#define QUANTD_ASSIGN_OR_RETURN(lhs, expr) \
  QUANTD_ASSIGN_OR_RETURN_IMPL_(QUANTD_CONCAT_(quantd_statusor_, __LINE__), lhs, expr)

#define QUANTD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // QUANTD_STATUS_MACROS_H_
