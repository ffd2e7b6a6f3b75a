// Minimal logging to stderr with a UTC timestamp (Debian's Abseil has no
// absl/log).
#ifndef QUANTD_SERVER_LOG_H_
#define QUANTD_SERVER_LOG_H_

#include "absl/strings/string_view.h"

namespace quantd::server {

void Log(absl::string_view message);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_LOG_H_
