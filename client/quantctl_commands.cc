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
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/checkpoint_command.h"
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
                --min_sqnr_db=D --max_mse=E --max_abs_error=E
                --min_cosine_similarity=C
                                        error budget for --dtype=auto, which
                                        picks the fewest bits that meet it
              Prints the error statistics of x against x'.
  calibrate   Calibrate on float .npy batches, named after the flags; they
              are read and sent one at a time.
                --method=minmax|moving_average_minmax|percentile|entropy|mse|
                         absmax|absmean
                --dtype=int8 --scheme --granularity --axis --group_size
                --full_range --scale_dtype      the target, as for quantize
                --num_bins=N --percentile=P --averaging_constant=C
                --out=p.params.json     the params (feed quantize --params)
                --state_out=s.json      the observer state, for --merge later
                --merge=a.json,b.json   states of other streams, folded in
              Prints the values and batches seen and each slot's observed and
              clip range.
  analyze     The error and size of the default sweep of formats (binary to
              BF16, with MX and per-group variants) on a float .npy array.
                --in=x.npy
              Prints one row per format: bits per element, SQNR, MSE, max
              error, and '*' on the bits-versus-SQNR Pareto front.
  quantize-checkpoint
              Quantize the tensors of a .safetensors checkpoint into another
              .safetensors file (codes, <name>.scales, <name>.zero_points and
              each tensor's params in __metadata__), several tensors at once,
              spread over the --target's replicas with round_robin.
                --in=model.safetensors --out=model.int8.safetensors
                --dtype=int8            int8 (default; per_channel, axis 0),
                                        uint8, int4, uint4, nf4, fp4 (per_group
                                        of 128 along the last axis), fp8 or
                                        fp8_e5m2 (per_tensor)
                --granularity --axis --group_size --scheme --full_range
                --scale_dtype --range_method    override those defaults
                --include='*.weight,*proj*'  --exclude='*norm*,lm_head.*'
                                        globs on tensor names (default: all);
                                        others are copied unchanged
                --quantize_1d           also quantize 1-D tensors (biases,
                                        norms), which are copied by default
                --concurrency=4         tensors in flight at once
                --stream_threshold=67108864
                                        tensors of more bytes go through
                                        QuantizeStream in 4 MiB chunks
                --progress=auto|bar|lines|none  on stderr (auto: a bar on a
                                        terminal, a line per tensor otherwise)
              Prints a table: per tensor its shape, dtype, SQNR, max error,
              bytes in and out; then the totals. --target may list several
              addresses (10.0.0.1:50051,10.0.0.2:50051) or be a DNS name
              (dns:///quantd-headless:50051); --timeout is per tensor
              (default 10m).
  dequantize-checkpoint
              The inverse: every tensor that quantize-checkpoint quantized,
              back to its source float type (float64 sources: float32).
                --in=q.safetensors --out=x2.safetensors
                --output_dtype=float32|float16|bfloat16
                --concurrency --stream_threshold --progress   as above
  dequantize  Dequantize an .npy array with its params.
                --in=q.npy --params=q.params.json --out=x2.npy
                --output_dtype=float32|float16|bfloat16
  matmul      Y = A . B (+ bias) in 8 or 4 bits (QuantizedMatMul).
                --a=a.npy               activations [M, K]: float, or codes
                                        with --a_params (INT8, UINT8)
                --b=b.npy               weights [K, N], or [N, K] with
                                        --transpose_b (torch Linear.weight):
                                        float, or codes with --b_params (INT8,
                                        UINT8, and INT4, UINT4, NF4 unpacked
                                        as quantize writes them)
                --a_params=p.json --b_params=p.json
                --transpose_b  --bias=bias.npy (float [N])
                --outlier_threshold=F   LLM.int8(): columns of A with any
                                        |value| >= F run in float (6 is usual)
                --output_dtype=float32|float16|bfloat16
                --reference_error       also compute the float product and
                                        print the error against it
                --out=y.npy
              Prints the outlier columns, and the error when asked.
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
    {"min_sqnr_db", true},  {"max_mse", true},
    {"max_abs_error", true}, {"min_cosine_similarity", true},
    {"method", true},       {"num_bins", true},
    {"averaging_constant", true}, {"state_out", true},
    {"merge", true},        {"a", true},
    {"b", true},            {"a_params", true},
    {"b_params", true},     {"bias", true},
    {"transpose_b", false}, {"outlier_threshold", true},
    {"reference_error", false},
    {"include", true},      {"exclude", true},
    {"concurrency", true},  {"stream_threshold", true},
    {"progress", true},     {"quantize_1d", false},
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

// A message from its protobuf JSON file.
template <typename Message>
absl::StatusOr<Message> ReadJsonMessage(const std::string& path) {
  QUANTD_ASSIGN_OR_RETURN(std::string json, ReadTextFile(path));
  Message message;
  if (absl::Status status = MessageFromJson(json, &message); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  }
  return message;
}

absl::StatusOr<v1::QuantParams> ReadParams(const std::string& path) {
  return ReadJsonMessage<v1::QuantParams>(path);
}

absl::Status WriteJsonMessage(const std::string& path, const google::protobuf::Message& message) {
  QUANTD_ASSIGN_OR_RETURN(std::string json, MessageToJson(message));
  return WriteTextFile(path, json);
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

// A float .npy file as a tensor of the dtype its descr names.
absl::StatusOr<v1::Tensor> ReadFloatTensor(const std::string& path) {
  QUANTD_ASSIGN_OR_RETURN(NpyArray input, ReadNpy(path));
  absl::StatusOr<v1::DType> dtype = DefaultDTypeFor(input.descr);
  if (!dtype.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", dtype.status().message()));
  }
  return TensorFromNpy(std::move(input), *dtype, path);
}

absl::Status RunQuantize(const QuantdClient& client, const QuantizeCommand& command,
                         std::ostream& out) {
  v1::QuantizeRequest request;
  QUANTD_ASSIGN_OR_RETURN(*request.mutable_input(), ReadFloatTensor(command.in));
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

// --- analyze -----------------------------------------------------------

// One row: the format in words, then its size and error.
std::string FormatLabel(const v1::QuantizeOptions& o) {
  std::string label = EnumWord(o.dtype());
  if (o.granularity() == v1::GRANULARITY_PER_GROUP) {
    absl::StrAppend(&label, " g", o.group_size());
  } else if (o.granularity() == v1::GRANULARITY_PER_CHANNEL) {
    absl::StrAppend(&label, " per_channel");
  }
  if (o.scale_dtype() == v1::DTYPE_E8M0) absl::StrAppend(&label, " e8m0");
  return label;
}

absl::Status RunAnalyze(const QuantdClient& client, const std::string& in, std::ostream& out) {
  v1::AnalyzeRequest request;
  QUANTD_ASSIGN_OR_RETURN(*request.mutable_input(), ReadFloatTensor(in));
  QUANTD_ASSIGN_OR_RETURN(v1::AnalyzeResponse response, client.Analyze(request));
  out << absl::StrFormat("%-26s %8s %10s %12s %12s  %s\n", "format", "bits", "sqnr_db", "mse",
                         "max_abs", "front");
  for (const v1::AnalyzeRow& row : response.rows()) {
    out << absl::StrFormat("%-26s %8.4f %10.3f %12.5g %12.5g  %s\n", FormatLabel(row.options()),
                           row.bits_per_element(), row.error().sqnr_db(), row.error().mse(),
                           row.error().max_abs_error(), row.pareto() ? "*" : "");
  }
  return absl::OkStatus();
}

Prepared PrepareAnalyze(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                        std::ostream& out) {
  absl::StatusOr<std::string> in = args.GetRequiredString("in");
  if (!in.ok()) return UsageError{std::string(in.status().message())};
  return [client, in = *in, &out] { return RunAnalyze(*client, in, out); };
}

// --- calibrate ---------------------------------------------------------

struct CalibrateCommand {
  std::vector<std::string> batches;
  v1::CalibrateOptions options;
  std::vector<std::string> merge;
  std::string out;
  std::optional<std::string> state_out;
};

absl::Status RunCalibrate(const QuantdClient& client, const CalibrateCommand& command,
                          std::ostream& out) {
  v1::CalibrateOptions options = command.options;
  for (const std::string& path : command.merge) {
    QUANTD_ASSIGN_OR_RETURN(*options.add_merge(), ReadJsonMessage<v1::CalibrationState>(path));
  }
  size_t next = 0;
  QUANTD_ASSIGN_OR_RETURN(
      v1::CalibrateResponse response,
      client.Calibrate(options, [&]() -> absl::StatusOr<std::optional<v1::Tensor>> {
        if (next == command.batches.size()) return std::nullopt;
        return ReadFloatTensor(command.batches[next++]);
      }));
  QUANTD_RETURN_IF_ERROR(WriteJsonMessage(command.out, response.params()));
  out << "wrote " << command.out << "\n";
  if (command.state_out) {
    QUANTD_RETURN_IF_ERROR(WriteJsonMessage(*command.state_out, response.state()));
    out << "wrote " << *command.state_out << "\n";
  }
  const v1::CalibrationStats& stats = response.stats();
  out << "values_seen   " << stats.values_seen() << "\nbatches_seen  " << stats.batches_seen()
      << "\n";
  for (int s = 0; s < stats.observed_min_size(); ++s) {
    out << absl::StrFormat("slot %d  observed [%.9g, %.9g]  clip [%.9g, %.9g]\n", s,
                           stats.observed_min(s), stats.observed_max(s), stats.clip_min(s),
                           stats.clip_max(s));
  }
  return absl::OkStatus();
}

Prepared PrepareCalibrate(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                          std::ostream& out) {
  auto command = std::make_shared<CalibrateCommand>();
  command->batches.assign(args.positional().begin() + 1, args.positional().end());
  if (command->batches.empty() && !args.Has("merge")) {
    return UsageError{"calibrate needs batch files (x1.npy x2.npy ...) or --merge"};
  }
  absl::StatusOr<std::string> out_path = args.GetRequiredString("out");
  if (!out_path.ok()) return UsageError{std::string(out_path.status().message())};
  command->out = *out_path;
  command->state_out = args.GetString("state_out");
  if (std::optional<std::string> merge = args.GetString("merge")) {
    command->merge = absl::StrSplit(*merge, ',', absl::SkipEmpty());
  }
  // The target flags mean what they mean for quantize.
  absl::StatusOr<v1::QuantizeOptions> target = QuantizeOptionsFromArgs(args);
  if (!target.ok()) return UsageError{std::string(target.status().message())};
  v1::CalibrateOptions& o = command->options;
  o.set_dtype(target->dtype());
  o.set_scheme(target->scheme());
  o.set_granularity(target->granularity());
  o.set_axis(target->axis());
  o.set_group_size(target->group_size());
  o.set_full_range(target->full_range());
  o.set_scale_dtype(target->scale_dtype());
  o.set_percentile(target->percentile());
  absl::Status status = SetEnum<v1::RangeMethod>(args, "method", [&](v1::RangeMethod v) { o.set_method(v); });
  absl::StatusOr<std::optional<int32_t>> bins = args.GetInt32("num_bins");
  absl::StatusOr<std::optional<double>> constant = args.GetDouble("averaging_constant");
  for (const absl::Status& s : {status, bins.status(), constant.status()}) {
    if (!s.ok()) return UsageError{std::string(s.message())};
  }
  if (bins->has_value()) o.set_num_bins(**bins);
  if (constant->has_value()) o.set_averaging_constant(**constant);
  return [client, command, &out] { return RunCalibrate(*client, *command, out); };
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

// --- matmul ------------------------------------------------------------

struct MatMulCommand {
  std::string a;
  std::string b;
  std::optional<std::string> a_params;
  std::optional<std::string> b_params;
  std::optional<std::string> bias;
  std::string out;
  v1::MatMulRequest options;  // Every field but the tensors and params.
};

// An operand: float, or codes of `params`' dtype when given.
absl::StatusOr<v1::Tensor> ReadOperand(const std::string& path, const v1::QuantParams* params) {
  if (params == nullptr) return ReadFloatTensor(path);
  QUANTD_ASSIGN_OR_RETURN(NpyArray array, ReadNpy(path));
  return TensorFromNpy(std::move(array), params->dtype(), path);
}

absl::Status RunMatMul(const QuantdClient& client, const MatMulCommand& command,
                       std::ostream& out) {
  v1::MatMulRequest request = command.options;
  if (command.a_params) {
    QUANTD_ASSIGN_OR_RETURN(*request.mutable_a_params(), ReadParams(*command.a_params));
  }
  if (command.b_params) {
    QUANTD_ASSIGN_OR_RETURN(*request.mutable_b_params(), ReadParams(*command.b_params));
  }
  QUANTD_ASSIGN_OR_RETURN(
      *request.mutable_a(),
      ReadOperand(command.a, request.has_a_params() ? &request.a_params() : nullptr));
  QUANTD_ASSIGN_OR_RETURN(
      *request.mutable_b(),
      ReadOperand(command.b, request.has_b_params() ? &request.b_params() : nullptr));
  if (command.bias.has_value()) {
    QUANTD_ASSIGN_OR_RETURN(*request.mutable_bias(), ReadFloatTensor(*command.bias));
  }
  QUANTD_ASSIGN_OR_RETURN(v1::MatMulResponse response, client.MatMul(request));
  request.Clear();
  QUANTD_RETURN_IF_ERROR(WriteTensor(command.out, std::move(*response.mutable_output()), out));
  out << "outlier_columns  " << response.stats().outlier_columns() << "\n";
  if (response.stats().has_error()) PrintErrorStats(response.stats().error(), out);
  return absl::OkStatus();
}

Prepared PrepareMatMul(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                       std::ostream& out) {
  auto command = std::make_shared<MatMulCommand>();
  for (auto [name, field] : {std::pair{"a", &command->a}, std::pair{"b", &command->b},
                             std::pair{"out", &command->out}}) {
    absl::StatusOr<std::string> value = args.GetRequiredString(name);
    if (!value.ok()) return UsageError{std::string(value.status().message())};
    *field = *std::move(value);
  }
  command->a_params = args.GetString("a_params");
  command->b_params = args.GetString("b_params");
  command->bias = args.GetString("bias");
  v1::MatMulRequest& o = command->options;
  absl::StatusOr<bool> transpose_b = args.GetBool("transpose_b");
  absl::StatusOr<bool> reference_error = args.GetBool("reference_error");
  absl::StatusOr<std::optional<float>> threshold = args.GetFloat("outlier_threshold");
  absl::Status dtype = SetEnum<v1::DType>(args, "output_dtype",
                                          [&](v1::DType v) { o.set_output_dtype(v); });
  for (const absl::Status& s :
       {transpose_b.status(), reference_error.status(), threshold.status(), dtype}) {
    if (!s.ok()) return UsageError{std::string(s.message())};
  }
  o.set_transpose_b(*transpose_b);
  o.set_compute_reference_error(*reference_error);
  if (threshold->has_value()) o.set_outlier_threshold(**threshold);
  return [client, command, &out] { return RunMatMul(*client, *command, out); };
}

// --- dispatch ----------------------------------------------------------

// The checkpoint commands (checkpoint_command.h) report usage errors as
// INVALID_ARGUMENT.
template <PreparedCheckpointCommand (*prepare)(const ParsedArgs&, std::shared_ptr<const QuantdClient>,
                                               std::ostream&)>
Prepared FromCheckpoint(const ParsedArgs& args, std::shared_ptr<const QuantdClient> client,
                        std::ostream& out) {
  PreparedCheckpointCommand command = prepare(args, std::move(client), out);
  if (!command.ok()) return UsageError{std::string(command.status().message())};
  return *std::move(command);
}

struct Command {
  absl::string_view name;
  std::vector<absl::string_view> flags;  // Besides the global ones.
  Prepared (*prepare)(const ParsedArgs&, std::shared_ptr<const QuantdClient>, std::ostream&);
  bool takes_files = false;  // Positional arguments after the name.
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"health", {"service"}, &PrepareHealth},
      {"quantize",
       {"in", "out", "dtype", "scheme", "granularity", "axis", "group_size", "full_range",
        "scale_dtype", "range_method", "percentile", "clip_min", "clip_max", "rounding", "seed",
        "params", "params_out", "dequantized", "min_sqnr_db", "max_mse", "max_abs_error",
       "min_cosine_similarity"},
       &PrepareQuantize},
      {"analyze", {"in"}, &PrepareAnalyze},
      {"quantize-checkpoint",
       {"in", "out", "dtype", "scheme", "granularity", "axis", "group_size", "full_range",
        "scale_dtype", "range_method", "include", "exclude", "quantize_1d", "concurrency",
        "stream_threshold", "progress"},
       &FromCheckpoint<&PrepareQuantizeCheckpoint>},
      {"dequantize-checkpoint",
       {"in", "out", "output_dtype", "concurrency", "stream_threshold", "progress"},
       &FromCheckpoint<&PrepareDequantizeCheckpoint>},
      {"calibrate",
       {"out", "dtype", "scheme", "granularity", "axis", "group_size", "full_range",
        "scale_dtype", "percentile", "method", "num_bins", "averaging_constant", "state_out",
        "merge"},
       &PrepareCalibrate, /*takes_files=*/true},
      {"dequantize", {"in", "params", "out", "output_dtype"}, &PrepareDequantize},
      {"matmul",
       {"a", "b", "a_params", "b_params", "bias", "transpose_b", "outlier_threshold",
        "output_dtype", "reference_error", "out"},
       &PrepareMatMul},
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
  v1::ErrorBudget* budget = options.mutable_max_error();
  for (auto [name, set] :
       {std::pair{"min_sqnr_db", &v1::ErrorBudget::set_min_sqnr_db},
        std::pair{"max_mse", &v1::ErrorBudget::set_max_mse},
        std::pair{"max_abs_error", &v1::ErrorBudget::set_max_abs_error},
        std::pair{"min_cosine_similarity", &v1::ErrorBudget::set_min_cosine_similarity}}) {
    QUANTD_ASSIGN_OR_RETURN(std::optional<double> bound, args.GetDouble(name));
    if (bound.has_value()) (budget->*set)(*bound);
  }
  if (!options.has_max_error() || budget->ByteSizeLong() == 0) options.clear_max_error();
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
  const Command* command = nullptr;
  for (const Command& candidate : Commands()) {
    if (candidate.name == positional[0]) command = &candidate;
  }
  if (command == nullptr) return Usage(err, absl::StrCat("unknown command '", positional[0], "'"));
  if (positional.size() > 1 && !command->takes_files) {
    return Usage(err, absl::StrCat("unexpected argument '", positional[1], "'"));
  }
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
