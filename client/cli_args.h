// A small command-line parser for quantctl's subcommands. absl::flags is
// process-global, so one binary with per-subcommand flag sets (and tests that
// parse many command lines) is simpler with a local table.
#ifndef QUANTD_CLIENT_CLI_ARGS_H_
#define QUANTD_CLIENT_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace quantd::client {

struct FlagSpec {
  absl::string_view name;  // Without the leading dashes.
  bool takes_value;        // false: a switch, "--name" or "--name=true|false".
};

// Flags by name and positional arguments, in order. Parsing errors and the
// typed getters' errors are INVALID_ARGUMENT naming the flag: usage errors.
class ParsedArgs {
 public:
  // Accepts "--name=value", "--name value" (for flags that take a value),
  // "--name" for switches, and "--" to end the flags. "-h" is "--help". A
  // flag not in `specs`, or given twice, is an error.
  static absl::StatusOr<ParsedArgs> Parse(absl::Span<const std::string> args,
                                          absl::Span<const FlagSpec> specs);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(absl::string_view name) const;
  // The names of the flags given, sorted.
  std::vector<std::string> Names() const;

  std::optional<std::string> GetString(absl::string_view name) const;
  absl::StatusOr<std::string> GetRequiredString(absl::string_view name) const;
  absl::StatusOr<std::optional<int64_t>> GetInt64(absl::string_view name) const;
  absl::StatusOr<std::optional<int32_t>> GetInt32(absl::string_view name) const;
  absl::StatusOr<std::optional<uint64_t>> GetUInt64(absl::string_view name) const;
  absl::StatusOr<std::optional<double>> GetDouble(absl::string_view name) const;
  // Finite floats only.
  absl::StatusOr<std::optional<float>> GetFloat(absl::string_view name) const;
  // A switch: false when absent.
  absl::StatusOr<bool> GetBool(absl::string_view name) const;
  // "30s", "500ms", "2m" (absl::ParseDuration), or plain seconds ("30").
  absl::StatusOr<std::optional<absl::Duration>> GetDuration(absl::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> flags_;
  std::vector<std::string> positional_;
};

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_CLI_ARGS_H_
