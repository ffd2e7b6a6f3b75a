// A minimal HTTP/1.0 GET over loopback, enough to scrape /metrics in tests.
#ifndef QUANTD_TESTS_SERVER_HTTP_GET_H_
#define QUANTD_TESTS_SERVER_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"

namespace quantd::testing {

// The body of http://127.0.0.1:port/path, or an error when the status line
// is not 200.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace quantd::testing

#endif  // QUANTD_TESTS_SERVER_HTTP_GET_H_
