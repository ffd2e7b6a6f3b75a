// Command-line parsing for quantctl.
#include "client/cli_args.h"

#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace quantd::client {
namespace {

const FlagSpec* FindSpec(absl::Span<const FlagSpec> specs, absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

absl::Status BadValue(absl::string_view name, absl::string_view value, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat("--", name, "=", value, ": expected ", want));
}

}  // namespace

absl::StatusOr<ParsedArgs> ParsedArgs::Parse(absl::Span<const std::string> args,
                                             absl::Span<const FlagSpec> specs) {
  ParsedArgs parsed;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h") arg = "--help";
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", arg, " (flags are written --name=value)"));
    }
    arg.remove_prefix(2);
    const size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    const FlagSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (!spec->takes_value) {
      value = "true";
    } else if (i + 1 < args.size()) {
      // The next argument is the value even when it starts with '-', so that
      // "--axis -1" and "--clip_min -3.5" work.
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    if (!parsed.flags_.emplace(std::string(name), std::move(value)).second) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " is given more than once"));
    }
  }
  return parsed;
}

bool ParsedArgs::Has(absl::string_view name) const { return flags_.find(name) != flags_.end(); }

std::vector<std::string> ParsedArgs::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : flags_) names.push_back(name);
  return names;
}

std::optional<std::string> ParsedArgs::GetString(absl::string_view name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::string> ParsedArgs::GetRequiredString(absl::string_view name) const {
  std::optional<std::string> value = GetString(name);
  if (!value.has_value() || value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return *value;
}

namespace {

// One parser for every integer width; `want` says what the flag takes.
template <typename Int>
absl::StatusOr<std::optional<Int>> GetInteger(const ParsedArgs& args, absl::string_view name,
                                              absl::string_view want) {
  std::optional<std::string> text = args.GetString(name);
  if (!text.has_value()) return std::nullopt;
  Int value = 0;
  if (!absl::SimpleAtoi(*text, &value)) return BadValue(name, *text, want);
  return value;
}

}  // namespace

absl::StatusOr<std::optional<int64_t>> ParsedArgs::GetInt64(absl::string_view name) const {
  return GetInteger<int64_t>(*this, name, "an integer");
}

absl::StatusOr<std::optional<int32_t>> ParsedArgs::GetInt32(absl::string_view name) const {
  return GetInteger<int32_t>(*this, name, "a 32-bit integer");
}

absl::StatusOr<std::optional<uint64_t>> ParsedArgs::GetUInt64(absl::string_view name) const {
  return GetInteger<uint64_t>(*this, name, "a non-negative integer");
}

absl::StatusOr<std::optional<double>> ParsedArgs::GetDouble(absl::string_view name) const {
  std::optional<std::string> text = GetString(name);
  if (!text.has_value()) return std::nullopt;
  double value = 0;
  if (!absl::SimpleAtod(*text, &value) || !std::isfinite(value)) {
    return BadValue(name, *text, "a finite number");
  }
  return value;
}

absl::StatusOr<std::optional<float>> ParsedArgs::GetFloat(absl::string_view name) const {
  std::optional<std::string> text = GetString(name);
  if (!text.has_value()) return std::nullopt;
  float value = 0;
  if (!absl::SimpleAtof(*text, &value) || !std::isfinite(value)) {
    return BadValue(name, *text, "a finite float32 number");
  }
  return value;
}

absl::StatusOr<bool> ParsedArgs::GetBool(absl::string_view name) const {
  std::optional<std::string> text = GetString(name);
  if (!text.has_value()) return false;
  bool value = false;
  if (!absl::SimpleAtob(*text, &value)) return BadValue(name, *text, "true or false");
  return value;
}

absl::StatusOr<std::optional<absl::Duration>> ParsedArgs::GetDuration(
    absl::string_view name) const {
  std::optional<std::string> text = GetString(name);
  if (!text.has_value()) return std::nullopt;
  double seconds = 0;
  if (absl::SimpleAtod(*text, &seconds) && std::isfinite(seconds)) {
    return absl::Seconds(seconds);
  }
  absl::Duration value;
  if (!absl::ParseDuration(*text, &value)) {
    return BadValue(name, *text, "a duration such as 30s, 500ms or 2m");
  }
  return value;
}

}  // namespace quantd::client
