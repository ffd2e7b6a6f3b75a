// quantctl's subcommands (health, quantize, dequantize, analyze, calibrate,
// matmul), apart from main so that tests can run them and check what they
// print.
#ifndef QUANTD_CLIENT_QUANTCTL_COMMANDS_H_
#define QUANTD_CLIENT_QUANTCTL_COMMANDS_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/cli_args.h"
#include "quantd/v1/quantd.pb.h"

namespace quantd::client {

// Exit codes: success, a failure (of the RPC, a file, or a health check),
// and a usage error (bad flags, before anything is sent).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Runs one quantctl command line (`args` without the program name), printing
// results to `out` and errors to `err` as "quantctl: CODE: message".
int RunQuantctl(absl::Span<const std::string> args, std::ostream& out, std::ostream& err);

// The QuantizeOptions that quantize's flags ask for, without explicit params
// (--params is a file, read when the command runs). Enum flags take the
// proto value names without prefix, any case; --dtype defaults to int8
// unless --params is given, which excludes the target and range flags.
absl::StatusOr<v1::QuantizeOptions> QuantizeOptionsFromArgs(const ParsedArgs& args);

// Where quantize writes the params of `output_path` by default:
// "q.npy" -> "q.params.json".
std::string ParamsPathFor(absl::string_view output_path);

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_QUANTCTL_COMMANDS_H_
