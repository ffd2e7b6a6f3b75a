// One read loop with a size cap; errno becomes the reason in the message.
#include "server/flag_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace quantd::server {

absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path) {
  const std::string what = absl::StrCat("--", flag, "=", path);
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read: ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[8192];
  while (true) {
    const size_t n = std::fread(buffer, 1, sizeof(buffer), file.get());
    contents.append(buffer, n);
    if (static_cast<int64_t>(contents.size()) > kMaxFlagFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": larger than ", kMaxFlagFileBytes, " bytes; not a PEM or token file"));
    }
    if (n < sizeof(buffer)) break;
  }
  if (std::ferror(file.get())) {
    // Reading a directory fails here (EISDIR), not at fopen.
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read: ", std::strerror(errno)));
  }
  return contents;
}

}  // namespace quantd::server
