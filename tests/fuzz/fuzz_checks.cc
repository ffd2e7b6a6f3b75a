// Checks shared by the fuzz targets.
#include "tests/fuzz/fuzz_checks.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace quantd::fuzz {

void Fail(absl::string_view what) {
  std::fprintf(stderr, "==quantd fuzz== %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

void CheckRequestStatus(const absl::Status& status, absl::string_view rpc) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnimplemented:
      if (status.message().empty()) Fail(absl::StrCat(rpc, ": an error without a message"));
      return;
    default:
      Fail(absl::StrCat(rpc, " answered ", status.ToString(),
                        ", a code no request may get from a handler"));
  }
}

void CheckSameStatus(const absl::Status& reference, const absl::Status& other, Isa isa,
                     absl::string_view rpc) {
  if (reference != other) {
    Fail(absl::StrCat(rpc, " differs between kernel levels: scalar ", reference.ToString(), ", ",
                      IsaName(isa), " ", other.ToString()));
  }
}

void CheckSameBytes(const std::string& reference, const std::string& other,
                    absl::string_view what) {
  if (reference == other) return;
  size_t i = 0;
  while (i < reference.size() && i < other.size() && reference[i] == other[i]) ++i;
  Fail(absl::StrCat(what, ": ", reference.size(), " bytes against ", other.size(),
                    ", first difference at byte ", i));
}

}  // namespace quantd::fuzz
