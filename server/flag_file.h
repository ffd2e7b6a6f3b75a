// Reading a small file named by a flag (certificates, keys, tokens), with
// errors that name the flag and the path so that a bad start-up says exactly
// what to fix.
#ifndef QUANTD_SERVER_FLAG_FILE_H_
#define QUANTD_SERVER_FLAG_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quantd::server {

// Files named by flags are PEM or a token: a few KiB. The cap keeps a
// mistaken path such as /dev/zero from eating memory.
inline constexpr int64_t kMaxFlagFileBytes = int64_t{1} << 20;

// The contents of `path`; errors read "--<flag>=<path>: cannot read: <why>".
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_FLAG_FILE_H_
