// quantctl quantize-checkpoint and dequantize-checkpoint: every matching
// tensor of a .safetensors checkpoint through quantd (several tensors in
// flight, spread over replicas by round_robin), into a .safetensors file
// that records how to invert each quantization.
#ifndef QUANTD_CLIENT_CHECKPOINT_COMMAND_H_
#define QUANTD_CLIENT_CHECKPOINT_COMMAND_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/cli_args.h"
#include "client/quantd_client.h"

namespace quantd::client {

// The flags of the two commands that the other commands do not take.
inline constexpr absl::string_view kCheckpointOnlyFlags[] = {
    "include", "exclude", "concurrency", "stream_threshold", "progress", "quantize_1d"};

// Metadata keys of a quantized checkpoint: kCheckpointFormatKey names the
// format version; kCheckpointParamsPrefix + tensor name holds that tensor's
// params as a JSON string.
inline constexpr absl::string_view kCheckpointFormatKey = "quantd.format";
inline constexpr absl::string_view kCheckpointFormat = "quantd-checkpoint/1";
inline constexpr absl::string_view kCheckpointParamsPrefix = "quantd.params.";

// A command ready to run, or INVALID_ARGUMENT for a usage error (bad flags,
// found before any file is read or anything is sent).
using PreparedCheckpointCommand = absl::StatusOr<std::function<absl::Status()>>;

PreparedCheckpointCommand PrepareQuantizeCheckpoint(const ParsedArgs& args,
                                                    std::shared_ptr<const QuantdClient> client,
                                                    std::ostream& out);
PreparedCheckpointCommand PrepareDequantizeCheckpoint(const ParsedArgs& args,
                                                      std::shared_ptr<const QuantdClient> client,
                                                      std::ostream& out);

// The gRPC target for --target: a comma-separated list of IP addresses
// ("10.0.0.1:50051,10.0.0.2:50051") becomes "ipv4:///10.0.0.1:50051,..."
// (or ipv6:/// for bracketed addresses), which gRPC resolves to every
// address; anything else is returned unchanged. A list of host names is
// INVALID_ARGUMENT (use one dns:/// name that resolves to all of them).
absl::StatusOr<std::string> BalancedTarget(absl::string_view target);

// Whether `name` matches one of the comma-separated glob `patterns`
// (fnmatch: '*' also matches '.').
bool MatchesAnyGlob(absl::string_view name, const std::vector<std::string>& patterns);

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_CHECKPOINT_COMMAND_H_
