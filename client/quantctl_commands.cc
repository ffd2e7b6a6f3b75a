// quantctl's subcommands: flags -> request -> QuantdClient -> files and a
// report. Every command parses and checks all of its flags before it touches
// a file or the network, so that usage errors exit with kExitUsage and
// nothing half-done.
#include "client/quantctl_commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/npy.h"
#include "client/proto_text.h"
#include "client/quantd_client.h"
#include "client/tensor_npy.h"
#include "quantd/status_macros.h"

namespace quantd::client {
namespace {

constexpr absl::string_view kUsage =
    R"(quantctl: command-line client of the quantd quantization service.

Usage: quantctl [global flags] <command> [flags]

Commands:
  health      Check the server's health: "" (liveness) and quantd.v1.Quantizer
              (readiness). Exits 0 when every service checked is SERVING.
                --service=NAME          check only this service
  quantize    Quantize a float .npy array.
                --in=x.npy              input: float32, float16, float64, or
                                        bfloat16 bits as uint16 ('<u2')
                --out=q.npy             quantized output (sub-byte types are
                                        unpacked, one element per byte)
                --dtype=int8            target type (default int8)
                --scheme=symmetric|asymmetric
                --granularity=per_tensor|per_channel|per_group
                --axis=N  --group_size=N  --full_range
                --range_method=minmax|absmax|...  --percentile=P
                --clip_min=F --clip_max=F   explicit range
                --scale_dtype=float32|float16|e8m0
                --rounding=half_to_even|half_away_from_zero|floor|stochastic
                --seed=N
                --params=p.json         explicit params (replaces the target
                                        and range flags)
                --params_out=PATH       where the params go (default: the
                                        output's name with .params.json)
                --dequantized=x2.npy    also write x' in the input's dtype
              Prints the error statistics of x against x'.
  dequantize  Dequantize an .npy array with its params.
                --in=q.npy --params=q.params.json --out=x2.npy
                --output_dtype=float32|float16|bfloat16
  help        Print this text.

Enum values are the proto names without their prefix, in any case
(--dtype int8 is DTYPE_INT8).

Global flags:
  --target=HOST:PORT        server, or any gRPC target such as
                            dns:///quantd:50051 (default 127.0.0.1:50051)
  --timeout=DURATION        per call, e.g. 30s or 2m (default 60s)
  --max_message_bytes=N     largest message sent or received (default 256 MiB)
  --lb_policy=NAME          gRPC load balancing, e.g. round_robin
  --auth_token_file=FILE    send "authorization: Bearer <token>" with the
                            token in FILE (surrounding whitespace ignored)
  --tls                     connect over TLS, trusting the system's CAs
  --tls_ca=FILE             connect over TLS, trusting the CAs in FILE (PEM)
  --tls_cert=FILE --tls_key=FILE
                            client certificate and key (PEM), for servers
                            that require one (mutual TLS); implies TLS
  --tls_server_name=NAME    the name to verify in the server's certificate
                            instead of the target's host; implies TLS

Exit status: 0 success, 1 failure (printed as "quantctl: CODE: message"),
2 usage error.
)";

// Every flag of every command, so that "--name value" parses the same way
// wherever it appears; each command then checks which of them apply.
constexpr FlagSpec kFlags[] = {
    {"help", false},        {"target", true},
    {"timeout", true},      {"max_message_bytes", true},
    {"lb_policy", true},    {"auth_token_file", true},
    {"tls", false},         {"tls_ca", true},
    {"tls_cert", true},     {"tls_key", true},
    {"tls_server_name", true},
    {"service", true},      {"in", true},
    {"out", true},          {"dtype", true},
    {"scheme", true},       {"granularity", true},
    {"axis", true},         {"group_size", true},
    {"full_range", false},  {"scale_dtype", true},
    {"range_method", true}, {"percentile", true},
    {"clip_min", true},     {"clip_max", true},
    {"rounding", true},     {"seed", true},
    {"params", true},       {"params_out", true},
    {"dequantized", true},  {"output_dtype", true},
};

constexpr absl::string_view kGlobalFlags[] = {
    "help",     "target",   "timeout", "max_message_bytes", "lb_policy",      "auth_token_file",
    "tls",      "tls_ca",   "tls_cert", "tls_key",          "tls_server_name"};

// Quantize flags that choose the target and the range: --params replaces them.
constexpr absl::string_view kTargetFlags[] = {
    "dtype",       "scheme",       "granularity", "axis",     "group_size", "full_range",
    "scale_dtype", "range_method", "percentile",  "clip_min", "clip_max"};

// A failure before anything was read or sent: exit kExitUsage.
struct UsageError {
  std::string message;
};

// Either a usage error or a command ready to run.
using Prepared = std::variant<UsageError, std::function<absl::Status()>>;

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return std::move(contents).str();
}

absl::Status WriteTextFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  }
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

absl::StatusOr<v1::QuantParams> ReadParams(const std::string& path) {
  QUANTD_ASSIGN_OR_RETURN(std::string json, ReadTextFile(path));
  v1::QuantParams params;
  if (absl::Status status = MessageFromJson(json, &params); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  }
  return params;
}

std::string Describe(const NpyArray& array) {
  return absl::StrCat("'", array.descr, "', shape [", absl::StrJoin(array.shape, ", "), "]");
}

// Writes `tensor` as .npy and says so on `out`.
absl::Status WriteTensor(const std::string& path, v1::Tensor tensor, std::ostream& out) {
  const std::string dtype_word = EnumWord(tensor.dtype());
  QUANTD_ASSIGN_OR_RETURN(NpyArray array, NpyFromTensor(std::move(tensor)));
  QUANTD_RETURN_IF_ERROR(WriteNpy(path, array));
  out << "wrote " << path << " (" << dtype_word << " as " << Describe(array) << ")\n";
  return absl::OkStatus();
}

// One line per field, through reflection so that new statistics show up.
void PrintErrorStats(const v1::ErrorStats& stats, std::ostream& out) {
  const google::protobuf::Descriptor* descriptor = stats.GetDescriptor();
  const google::protobuf::Reflection* reflection = stats.GetReflection();
  size_t width = 0;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    width = std::max(width, descriptor->field(i)->name().size());
  }
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    std::string value;
    switch (field->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
        value = absl::StrCat(reflection->GetInt64(stats, field));
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE:
        value = absl::StrFormat("%.9g", reflection->GetDouble(stats, field));
        break;
      default:
        continue;  // No other kinds today; skip rather than guess a format.
    }
    out << absl::StrFormat("%-*s  %s\n", static_cast<int>(width), field->name(), value);
  }
}

// Parses flag `name` as an enum value into `set`, when given.
template <typename Enum>
absl::Status SetEnum(const ParsedArgs& args, absl::string_view name,
                     const std::function<void(Enum)>& set) {
  std::optional<std::string> text = args.GetString(name);
  if (!text.has_value()) return absl::OkStatus();
  absl::StatusOr<Enum> value = ParseEnumWord<Enum>(*text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", value.status().message()));
  }
  set(*value);
  return absl::OkStatus();
}

absl::StatusOr<ClientOptions> ClientOptionsFromArgs(const ParsedArgs& args) {
  ClientOptions options;
  if (std::optional<std::string> target = args.GetString("target")) options.target = *target;
  QUANTD_ASSIGN_OR_RETURN(std::optional<absl::Duration> timeout, args.GetDuration("timeout"));
  if (timeout.has_value()) options.timeout = *timeout;
  QUANTD_ASSIGN_OR_RETURN(std::optional<int64_t> max_bytes, args.GetInt64("max_message_bytes"));
  if (max_bytes.has_value()) options.max_message_bytes = *max_bytes;
  if (std::optional<std::string> lb = args.GetString("lb_policy")) {
    options.load_balancing_policy = *lb;
  }
  QUANTD_ASSIGN_OR_RETURN(options.tls.enabled, args.GetBool("tls"));
  options.tls.ca_file = args.GetString("tls_ca").value_or("");
  options.tls.cert_file = args.GetString("tls_cert").value_or("");
  options.tls.key_file = args.GetString("tls_key").value_or("");
  options.tls.server_name = args.GetString("tls_server_name").value_or("");
  if (options.tls.cert_file.empty() != options.tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        options.tls.cert_file.empty() ? "--tls_key is given without --tls_cert: mutual TLS needs both"
                                      : "--tls_cert is given without --tls_key: mutual TLS needs both");
  }
  options.auth_token_file = args.GetString("auth_token_file").value_or("");
  return options;
}

// --- health ------------------------------------------------------------

absl::Status RunHealth(const QuantdClient& client, const std::vector<std::string>& services,
                       std::ostream& out) {
  absl::Status first_failure;
  for (const std::string& service : services) {
    absl::StatusOr<bool> serving = client.Health(service);
    if (!serving.ok()) {
      if (first_failure.ok()) {
        first_failure =
            absl::Status(serving.status().code(),
                         absl::StrCat("\"", service, "\": ", serving.status().message()));
      }
      out << "\"" << service << "\": " << absl::StatusCodeToString(serving.status().code()) << "\n";
      continue;
    }
    out << "\"" << service << "\": " << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
    if (!*serving && first_failure.ok()) {
      first_failure = absl::UnavailableError(absl::StrCat("\"", service, "\" is NOT_SERVING"));
    }
  }
  return first_failure;
}

Prepared PrepareHealth(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                       std::ostream& out) {
  std::vector<std::string> services = {"", std::string(kQuantizerServiceName)};
  if (std::optional<std::string> service = args.GetString("service")) services = {*service};
  return [client, services, &out] { return RunHealth(*client, services, out); };
}

// --- quantize ----------------------------------------------------------

struct QuantizeCommand {
  std::string in;
  std::string out;
  std::string params_out;
  std::optional<std::string> params_in;
  std::optional<std::string> dequantized_out;
  v1::QuantizeOptions options;
};

absl::Status RunQuantize(const QuantdClient& client, const QuantizeCommand& command,
                         std::ostream& out) {
  v1::QuantizeRequest request;
  {
    QUANTD_ASSIGN_OR_RETURN(NpyArray input, ReadNpy(command.in));
    absl::StatusOr<v1::DType> dtype = DefaultDTypeFor(input.descr);
    if (!dtype.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(command.in, ": ", dtype.status().message()));
    }
    QUANTD_ASSIGN_OR_RETURN(v1::Tensor tensor, TensorFromNpy(std::move(input), *dtype, command.in));
    request.mutable_input()->Swap(&tensor);
  }
  *request.mutable_options() = command.options;
  if (command.params_in.has_value()) {
    QUANTD_ASSIGN_OR_RETURN(*request.mutable_options()->mutable_params(),
                            ReadParams(*command.params_in));
  }
  request.mutable_options()->set_return_dequantized(command.dequantized_out.has_value());

  QUANTD_ASSIGN_OR_RETURN(v1::QuantizeResponse response, client.Quantize(request));
  request.Clear();  // The input is no longer needed; free it before writing.

  QUANTD_RETURN_IF_ERROR(WriteTensor(command.out, std::move(*response.mutable_output()), out));
  QUANTD_ASSIGN_OR_RETURN(std::string json, MessageToJson(response.params()));
  QUANTD_RETURN_IF_ERROR(WriteTextFile(command.params_out, json));
  out << "wrote " << command.params_out << " (" << EnumWord(response.params().dtype()) << " "
      << EnumWord(response.params().scheme()) << " " << EnumWord(response.params().granularity())
      << ", " << response.params().scales_size()
      << (response.params().scales_size() == 1 ? " scale" : " scales") << ")\n";
  if (command.dequantized_out.has_value()) {
    QUANTD_RETURN_IF_ERROR(
        WriteTensor(*command.dequantized_out, std::move(*response.mutable_dequantized()), out));
  }
  PrintErrorStats(response.error(), out);
  return absl::OkStatus();
}

Prepared PrepareQuantize(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                         std::ostream& out) {
  auto command = std::make_shared<QuantizeCommand>();
  absl::StatusOr<std::string> in = args.GetRequiredString("in");
  if (!in.ok()) return UsageError{std::string(in.status().message())};
  absl::StatusOr<std::string> out_path = args.GetRequiredString("out");
  if (!out_path.ok()) return UsageError{std::string(out_path.status().message())};
  absl::StatusOr<v1::QuantizeOptions> options = QuantizeOptionsFromArgs(args);
  if (!options.ok()) return UsageError{std::string(options.status().message())};
  command->in = *in;
  command->out = *out_path;
  command->options = *std::move(options);
  command->params_in = args.GetString("params");
  command->params_out = args.GetString("params_out").value_or(ParamsPathFor(command->out));
  command->dequantized_out = args.GetString("dequantized");
  return [client, command, &out] { return RunQuantize(*client, *command, out); };
}

// --- dequantize --------------------------------------------------------

struct DequantizeCommand {
  std::string in;
  std::string params;
  std::string out;
  v1::DType output_dtype = v1::DTYPE_UNSPECIFIED;
};

absl::Status RunDequantize(const QuantdClient& client, const DequantizeCommand& command,
                           std::ostream& out) {
  v1::DequantizeRequest request;
  QUANTD_ASSIGN_OR_RETURN(*request.mutable_params(), ReadParams(command.params));
  {
    QUANTD_ASSIGN_OR_RETURN(NpyArray input, ReadNpy(command.in));
    QUANTD_ASSIGN_OR_RETURN(v1::Tensor tensor,
                            TensorFromNpy(std::move(input), request.params().dtype(), command.in));
    request.mutable_input()->Swap(&tensor);
  }
  request.set_output_dtype(command.output_dtype);
  QUANTD_ASSIGN_OR_RETURN(v1::DequantizeResponse response, client.Dequantize(request));
  request.Clear();
  return WriteTensor(command.out, std::move(*response.mutable_output()), out);
}

Prepared PrepareDequantize(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                           std::ostream& out) {
  auto command = std::make_shared<DequantizeCommand>();
  for (auto [name, field] : {std::pair{"in", &command->in}, std::pair{"params", &command->params},
                             std::pair{"out", &command->out}}) {
    absl::StatusOr<std::string> value = args.GetRequiredString(name);
    if (!value.ok()) return UsageError{std::string(value.status().message())};
    *field = *std::move(value);
  }
  if (absl::Status status = SetEnum<v1::DType>(
          args, "output_dtype", [&](v1::DType dtype) { command->output_dtype = dtype; });
      !status.ok()) {
    return UsageError{std::string(status.message())};
  }
  return [client, command, &out] { return RunDequantize(*client, *command, out); };
}

// --- dispatch ----------------------------------------------------------

struct Command {
  absl::string_view name;
  std::vector<absl::string_view> flags;  // Besides the global ones.
  Prepared (*prepare)(const ParsedArgs&, std::shared_ptr<const QuantdClient>, std::ostream&);
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"health", {"service"}, &PrepareHealth},
      {"quantize",
       {"in", "out", "dtype", "scheme", "granularity", "axis", "group_size", "full_range",
        "scale_dtype", "range_method", "percentile", "clip_min", "clip_max", "rounding", "seed",
        "params", "params_out", "dequantized"},
       &PrepareQuantize},
      {"dequantize", {"in", "params", "out", "output_dtype"}, &PrepareDequantize},
  };
  return *commands;
}

int Usage(std::ostream& err, absl::string_view message) {
  err << "quantctl: " << message << "\nRun 'quantctl --help' for usage.\n";
  return kExitUsage;
}

int Failure(std::ostream& err, const absl::Status& status) {
  err << "quantctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
      << "\n";
  return kExitFailure;
}

}  // namespace

std::string ParamsPathFor(absl::string_view output_path) {
  absl::ConsumeSuffix(&output_path, ".npy");
  return absl::StrCat(output_path, ".params.json");
}

absl::StatusOr<v1::QuantizeOptions> QuantizeOptionsFromArgs(const ParsedArgs& args) {
  v1::QuantizeOptions options;
  if (args.Has("params")) {
    for (absl::string_view name : kTargetFlags) {
      if (args.Has(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name,
                         " cannot be combined with --params: explicit params fix the target "
                         "and the range"));
      }
    }
  } else {
    options.set_dtype(v1::DTYPE_INT8);
  }
  QUANTD_RETURN_IF_ERROR(
      SetEnum<v1::DType>(args, "dtype", [&](v1::DType v) { options.set_dtype(v); }));
  QUANTD_RETURN_IF_ERROR(
      SetEnum<v1::Scheme>(args, "scheme", [&](v1::Scheme v) { options.set_scheme(v); }));
  QUANTD_RETURN_IF_ERROR(SetEnum<v1::Granularity>(
      args, "granularity", [&](v1::Granularity v) { options.set_granularity(v); }));
  QUANTD_RETURN_IF_ERROR(
      SetEnum<v1::DType>(args, "scale_dtype", [&](v1::DType v) { options.set_scale_dtype(v); }));
  QUANTD_RETURN_IF_ERROR(SetEnum<v1::RangeMethod>(
      args, "range_method", [&](v1::RangeMethod v) { options.set_range_method(v); }));
  QUANTD_RETURN_IF_ERROR(
      SetEnum<v1::Rounding>(args, "rounding", [&](v1::Rounding v) { options.set_rounding(v); }));

  QUANTD_ASSIGN_OR_RETURN(std::optional<int32_t> axis, args.GetInt32("axis"));
  if (axis.has_value()) options.set_axis(*axis);
  QUANTD_ASSIGN_OR_RETURN(std::optional<int32_t> group_size, args.GetInt32("group_size"));
  if (group_size.has_value()) options.set_group_size(*group_size);
  QUANTD_ASSIGN_OR_RETURN(bool full_range, args.GetBool("full_range"));
  options.set_full_range(full_range);
  QUANTD_ASSIGN_OR_RETURN(std::optional<double> percentile, args.GetDouble("percentile"));
  if (percentile.has_value()) options.set_percentile(*percentile);
  QUANTD_ASSIGN_OR_RETURN(std::optional<float> clip_min, args.GetFloat("clip_min"));
  if (clip_min.has_value()) options.set_clip_min(*clip_min);
  QUANTD_ASSIGN_OR_RETURN(std::optional<float> clip_max, args.GetFloat("clip_max"));
  if (clip_max.has_value()) options.set_clip_max(*clip_max);
  QUANTD_ASSIGN_OR_RETURN(std::optional<uint64_t> seed, args.GetUInt64("seed"));
  if (seed.has_value()) options.set_seed(*seed);
  return options;
}

int RunQuantctl(absl::Span<const std::string> argv, std::ostream& out, std::ostream& err) {
  absl::StatusOr<ParsedArgs> args = ParsedArgs::Parse(argv, kFlags);
  if (!args.ok()) return Usage(err, args.status().message());
  const std::vector<std::string>& positional = args->positional();
  if (args->Has("help") || (!positional.empty() && positional[0] == "help")) {
    out << kUsage;
    return kExitOk;
  }
  if (positional.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  if (positional.size() > 1) {
    return Usage(err, absl::StrCat("unexpected argument '", positional[1], "'"));
  }
  const Command* command = nullptr;
  for (const Command& candidate : Commands()) {
    if (candidate.name == positional[0]) command = &candidate;
  }
  if (command == nullptr) return Usage(err, absl::StrCat("unknown command '", positional[0], "'"));
  for (const std::string& name : args->Names()) {
    const bool applies =
        absl::c_linear_search(kGlobalFlags, name) || absl::c_linear_search(command->flags, name);
    if (!applies) {
      return Usage(err, absl::StrCat("--", name, " does not apply to '", command->name, "'"));
    }
  }

  absl::StatusOr<ClientOptions> options = ClientOptionsFromArgs(*args);
  if (!options.ok()) return Usage(err, options.status().message());
  absl::StatusOr<std::unique_ptr<QuantdClient>> client = QuantdClient::Create(*options);
  if (!client.ok()) {
    // Bad option values (an empty token file among them) are usage errors;
    // a TLS or token file that cannot be read is a failure of the run.
    return client.status().code() == absl::StatusCode::kInvalidArgument
               ? Usage(err, client.status().message())
               : Failure(err, client.status());
  }

  Prepared prepared = command->prepare(*args, std::move(*client), out);
  if (const UsageError* usage = std::get_if<UsageError>(&prepared)) {
    return Usage(err, usage->message);
  }
  if (absl::Status status = std::get<std::function<absl::Status()>>(prepared)(); !status.ok()) {
    return Failure(err, status);
  }
  return kExitOk;
}

}  // namespace quantd::client
