// quantize-checkpoint / dequantize-checkpoint. Both work the same way:
//   1. open the input (mmap, validated) and plan every tensor: quantize (or
//      dequantize), or copy unchanged; resolve its options and the exact
//      dtype, shape and byte size of what it becomes;
//   2. lay out the output and write its header first (every size is known
//      before any RPC), to a temporary file;
//   3. --concurrency workers take tensors, largest first, and send them
//      through the unary RPC or, above the streaming threshold, the streaming
//      one, writing the answers straight to their offsets;
//   4. on success, sync and rename into place and print the table; on the
//      first failure, stop taking tensors and remove the temporary file.
#include "client/checkpoint_command.h"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <cmath>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/progress.h"
#include "client/proto_text.h"
#include "client/safetensors.h"
#include "quantd/status_macros.h"

namespace quantd::client {
namespace {

using OrderedJson = nlohmann::ordered_json;
using Json = nlohmann::json;

constexpr int64_t kDefaultStreamThreshold = int64_t{64} << 20;
constexpr int kDefaultConcurrency = 4;
constexpr absl::Duration kDefaultTensorTimeout = absl::Minutes(10);
constexpr int kDefaultGroupSize = 128;
// Room for the rest of a unary message besides the tensor's bytes.
constexpr int64_t kMessageSlack = int64_t{1} << 20;
// Copies go through memory in pieces of this size.
constexpr size_t kCopyChunk = size_t{16} << 20;

// --- small helpers ---------------------------------------------------------

std::optional<v1::DType> WireDTypeOf(absl::string_view safetensors_dtype) {
  if (safetensors_dtype == "F32") return v1::DTYPE_FLOAT32;
  if (safetensors_dtype == "F16") return v1::DTYPE_FLOAT16;
  if (safetensors_dtype == "BF16") return v1::DTYPE_BFLOAT16;
  if (safetensors_dtype == "F64") return v1::DTYPE_FLOAT64;
  return std::nullopt;
}

std::string SafetensorsDTypeOfFloat(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_FLOAT16: return "F16";
    case v1::DTYPE_BFLOAT16: return "BF16";
    case v1::DTYPE_FLOAT64: return "F64";
    default: return "F32";
  }
}

bool IsFourBit(v1::DType dtype) {
  return dtype == v1::DTYPE_INT4 || dtype == v1::DTYPE_UINT4 || dtype == v1::DTYPE_NF4 ||
         dtype == v1::DTYPE_FLOAT4_E2M1;
}

// The safetensors dtype that stores a quantized type.
std::string StorageDType(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_INT8: return "I8";
    case v1::DTYPE_FLOAT8_E4M3FN: return "F8_E4M3";
    case v1::DTYPE_FLOAT8_E5M2: return "F8_E5M2";
    default: return "U8";  // UINT8, and the 4-bit types two per byte.
  }
}

int64_t PackedBytes(v1::DType dtype, int64_t numel) {
  return IsFourBit(dtype) ? (numel + 1) / 2 : numel;
}

// The stored shape of packed codes: the logical shape with the last
// dimension halved when it is even (then the flat packing is per row),
// otherwise the flat byte count.
std::vector<int64_t> StorageShape(v1::DType dtype, const std::vector<int64_t>& shape,
                                  int64_t numel) {
  if (!IsFourBit(dtype)) return shape;
  if (!shape.empty() && shape.back() % 2 == 0) {
    std::vector<int64_t> stored = shape;
    stored.back() /= 2;
    return stored;
  }
  return {(numel + 1) / 2};
}

// Enum values as API.md writes them: the proto name without its prefix.
template <typename Enum>
std::string Word(Enum value) {
  return absl::AsciiStrToUpper(EnumWord(value));
}

std::string ScaleDTypeWord(v1::DType scale_dtype) {
  return Word(scale_dtype == v1::DTYPE_UNSPECIFIED ? v1::DTYPE_FLOAT32 : scale_dtype);
}

// The layout of the scales: [1] per tensor, [shape[axis]] per channel, the
// shape with shape[axis] replaced by its block count per group.
std::vector<int64_t> ScalesShape(v1::Granularity granularity, const std::vector<int64_t>& shape,
                                 int axis, int group_size) {
  switch (granularity) {
    case v1::GRANULARITY_PER_CHANNEL:
      return {shape[axis]};
    case v1::GRANULARITY_PER_GROUP: {
      std::vector<int64_t> grouped = shape;
      grouped[axis] = (shape[axis] + group_size - 1) / group_size;
      return grouped;
    }
    default:
      return {1};
  }
}

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::string_view AsBytes(const void* data, size_t size) {
  return absl::string_view(static_cast<const char*>(data), size);
}

std::string TensorWhere(absl::string_view name) { return absl::StrCat("tensor \"", name, "\""); }

absl::Status Named(absl::string_view name, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(TensorWhere(name), ": ", status.message()));
}

absl::StatusOr<std::vector<std::string>> Globs(const ParsedArgs& args, absl::string_view flag) {
  std::vector<std::string> patterns;
  if (std::optional<std::string> text = args.GetString(flag)) {
    patterns = absl::StrSplit(*text, ',', absl::SkipWhitespace());
    if (patterns.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " is empty"));
  }
  return patterns;
}

// Stream chunks fit --max_message_bytes too.
int64_t ChunkBytes(const QuantdClient& client) {
  return std::clamp<int64_t>(client.options().max_message_bytes / 2, 1,
                             QuantdClient::kStreamChunkBytes);
}

// The flags both commands share.
struct CommonConfig {
  std::string in;
  std::string out;
  int concurrency = kDefaultConcurrency;
  int64_t stream_threshold = kDefaultStreamThreshold;
  Progress::Mode progress = Progress::Mode::kLines;
};

absl::StatusOr<CommonConfig> CommonFromArgs(const ParsedArgs& args) {
  CommonConfig config;
  QUANTD_ASSIGN_OR_RETURN(config.in, args.GetRequiredString("in"));
  QUANTD_ASSIGN_OR_RETURN(config.out, args.GetRequiredString("out"));
  if (config.in == config.out) {
    return absl::InvalidArgumentError("--out must differ from --in");
  }
  QUANTD_ASSIGN_OR_RETURN(std::optional<int32_t> concurrency, args.GetInt32("concurrency"));
  if (concurrency.has_value()) {
    if (*concurrency < 1 || *concurrency > 256) {
      return absl::InvalidArgumentError(
          absl::StrCat("--concurrency must be in [1, 256], not ", *concurrency));
    }
    config.concurrency = *concurrency;
  }
  QUANTD_ASSIGN_OR_RETURN(std::optional<int64_t> threshold, args.GetInt64("stream_threshold"));
  if (threshold.has_value()) {
    if (*threshold < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--stream_threshold must be >= 0 bytes, not ", *threshold));
    }
    config.stream_threshold = *threshold;
  }
  config.progress = Progress::AutoMode();
  if (std::optional<std::string> mode = args.GetString("progress")) {
    std::optional<Progress::Mode> parsed = Progress::ParseMode(*mode);
    if (!parsed) {
      return absl::InvalidArgumentError(
          absl::StrCat("--progress must be auto, bar, lines or none, not '", *mode, "'"));
    }
    config.progress = *parsed;
  }
  return config;
}

// The client the checkpoint commands use: the global flags' client, with an
// address list turned into a target gRPC balances over, and round_robin
// unless --lb_policy says otherwise (one address: the same as pick_first).
absl::StatusOr<std::shared_ptr<const QuantdClient>> BalancedClient(
    const QuantdClient& client, const ParsedArgs& args) {
  ClientOptions options = client.options();
  options.auth_token_file.clear();  // Already read into auth_token.
  QUANTD_ASSIGN_OR_RETURN(options.target, BalancedTarget(options.target));
  if (!args.Has("lb_policy")) options.load_balancing_policy = "round_robin";
  // --timeout is per tensor; a streamed tensor of several GiB takes longer
  // than the other commands' default.
  if (!args.Has("timeout")) options.timeout = kDefaultTensorTimeout;
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<QuantdClient> balanced, QuantdClient::Create(options));
  return std::shared_ptr<const QuantdClient>(std::move(balanced));
}

// Runs `work(i)` for i in `order` on `concurrency` threads, stopping after
// the first failure (work already running finishes); returns that failure.
absl::Status RunParallel(const std::vector<size_t>& order, int concurrency,
                         const std::function<absl::Status(size_t)>& work,
                         std::atomic<bool>* failed) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  absl::Status first;
  auto worker = [&] {
    while (!failed->load()) {
      const size_t k = next.fetch_add(1);
      if (k >= order.size()) return;
      absl::Status status = work(order[k]);
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (first.ok()) first = std::move(status);
        failed->store(true);
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(concurrency, static_cast<int>(order.size())));
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  return first;
}

// Copies a tensor's bytes unchanged.
absl::Status CopyBytes(OutputFile& file, uint64_t offset, absl::string_view bytes,
                       Progress& progress) {
  for (size_t at = 0; at < bytes.size(); at += kCopyChunk) {
    const absl::string_view piece = bytes.substr(at, kCopyChunk);
    QUANTD_RETURN_IF_ERROR(file.WriteAt(offset + at, piece));
    progress.AddBytes(static_cast<int64_t>(piece.size()));
  }
  return absl::OkStatus();
}

std::string Cell(double value, const char* format) {
  if (std::isnan(value)) return "-";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return absl::StrFormat(format, value);
}

// --- quantize-checkpoint ---------------------------------------------------

struct QuantizeConfig {
  CommonConfig common;
  std::vector<std::string> include;  // Empty: every tensor.
  std::vector<std::string> exclude;
  bool quantize_1d = false;
  v1::QuantizeOptions target;  // dtype, scheme, granularity, axis, group_size, ...
  bool axis_given = false;
};

struct QuantizeItem {
  const SafetensorsTensor* in = nullptr;
  bool quantize = false;
  std::string copy_reason;
  v1::DType source = v1::DTYPE_UNSPECIFIED;
  v1::QuantizeOptions options;  // As sent: every target field explicit.
  int64_t scale_count = 0;
  size_t out = 0;
  std::optional<size_t> scales;
  std::optional<size_t> zero_points;
  bool stream = false;
  // Results.
  v1::ErrorStats error;
  int64_t bytes_out = 0;
};

absl::StatusOr<QuantizeConfig> QuantizeConfigFromArgs(const ParsedArgs& args) {
  QuantizeConfig config;
  QUANTD_ASSIGN_OR_RETURN(config.common, CommonFromArgs(args));
  QUANTD_ASSIGN_OR_RETURN(config.include, Globs(args, "include"));
  QUANTD_ASSIGN_OR_RETURN(config.exclude, Globs(args, "exclude"));
  QUANTD_ASSIGN_OR_RETURN(config.quantize_1d, args.GetBool("quantize_1d"));

  v1::QuantizeOptions& o = config.target;
  v1::DType dtype = v1::DTYPE_INT8;
  if (std::optional<std::string> text = args.GetString("dtype")) {
    const std::string word = absl::AsciiStrToLower(*text);
    if (word == "fp8" || word == "fp8_e4m3" || word == "e4m3") {
      dtype = v1::DTYPE_FLOAT8_E4M3FN;
    } else if (word == "fp8_e5m2" || word == "e5m2") {
      dtype = v1::DTYPE_FLOAT8_E5M2;
    } else if (word == "fp4" || word == "fp4_e2m1" || word == "e2m1") {
      dtype = v1::DTYPE_FLOAT4_E2M1;
    } else {
      absl::StatusOr<v1::DType> parsed = ParseEnumWord<v1::DType>(word);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("--dtype: ", parsed.status().message()));
      }
      dtype = *parsed;
    }
    switch (dtype) {
      case v1::DTYPE_INT8: case v1::DTYPE_UINT8: case v1::DTYPE_INT4: case v1::DTYPE_UINT4:
      case v1::DTYPE_NF4: case v1::DTYPE_FLOAT8_E4M3FN: case v1::DTYPE_FLOAT8_E5M2:
      case v1::DTYPE_FLOAT4_E2M1:
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "--dtype ", *text, " is not a checkpoint format; use int8, uint8, int4, uint4, nf4, "
            "fp8 (float8_e4m3fn), fp8_e5m2 or fp4 (float4_e2m1)"));
    }
  }
  o.set_dtype(dtype);
  // Defaults: 8-bit integers per output channel, 4-bit formats per group of
  // 128 along the last axis, FP8 per tensor.
  v1::Granularity granularity = IsFourBit(dtype)              ? v1::GRANULARITY_PER_GROUP
                                : (dtype == v1::DTYPE_INT8 || dtype == v1::DTYPE_UINT8)
                                    ? v1::GRANULARITY_PER_CHANNEL
                                    : v1::GRANULARITY_PER_TENSOR;
  if (std::optional<std::string> text = args.GetString("granularity")) {
    absl::StatusOr<v1::Granularity> parsed = ParseEnumWord<v1::Granularity>(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--granularity: ", parsed.status().message()));
    }
    granularity = *parsed;
  }
  o.set_granularity(granularity);
  v1::Scheme scheme = (dtype == v1::DTYPE_UINT8 || dtype == v1::DTYPE_UINT4)
                          ? v1::SCHEME_ASYMMETRIC
                          : v1::SCHEME_SYMMETRIC;
  if (std::optional<std::string> text = args.GetString("scheme")) {
    absl::StatusOr<v1::Scheme> parsed = ParseEnumWord<v1::Scheme>(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--scheme: ", parsed.status().message()));
    }
    scheme = *parsed;
  }
  o.set_scheme(scheme);
  QUANTD_ASSIGN_OR_RETURN(std::optional<int32_t> axis, args.GetInt32("axis"));
  config.axis_given = axis.has_value();
  o.set_axis(axis.value_or(granularity == v1::GRANULARITY_PER_GROUP ? -1 : 0));
  QUANTD_ASSIGN_OR_RETURN(std::optional<int32_t> group_size, args.GetInt32("group_size"));
  if (group_size.has_value() && *group_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--group_size must be > 0, not ", *group_size));
  }
  if (group_size.has_value() && granularity != v1::GRANULARITY_PER_GROUP) {
    return absl::InvalidArgumentError("--group_size applies to --granularity per_group only");
  }
  if (granularity == v1::GRANULARITY_PER_GROUP) o.set_group_size(group_size.value_or(kDefaultGroupSize));
  QUANTD_ASSIGN_OR_RETURN(bool full_range, args.GetBool("full_range"));
  o.set_full_range(full_range);
  if (std::optional<std::string> text = args.GetString("scale_dtype")) {
    absl::StatusOr<v1::DType> parsed = ParseEnumWord<v1::DType>(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--scale_dtype: ", parsed.status().message()));
    }
    o.set_scale_dtype(*parsed);
  }
  if (std::optional<std::string> text = args.GetString("range_method")) {
    absl::StatusOr<v1::RangeMethod> parsed = ParseEnumWord<v1::RangeMethod>(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--range_method: ", parsed.status().message()));
    }
    o.set_range_method(*parsed);
  }
  return config;
}

// Decides what happens to each tensor and lays out the output.
absl::Status PlanQuantize(const QuantizeConfig& config, const SafetensorsFile& input,
                          int64_t unary_limit, std::vector<QuantizeItem>* items,
                          SafetensorsLayout* layout) {
  if (input.metadata().count(std::string(kCheckpointFormatKey)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        input.path(), " is already a quantized checkpoint (", kCheckpointFormatKey, " = ",
        input.metadata().at(std::string(kCheckpointFormatKey)), "); dequantize-checkpoint it first"));
  }
  for (const auto& [key, value] : input.metadata()) layout->SetMetadata(key, value);
  layout->SetMetadata(std::string(kCheckpointFormatKey), std::string(kCheckpointFormat));
  const v1::QuantizeOptions& target = config.target;
  for (const SafetensorsTensor& tensor : input.tensors()) {
    QuantizeItem item;
    item.in = &tensor;
    const bool included = config.include.empty() || MatchesAnyGlob(tensor.name, config.include);
    std::optional<v1::DType> source = WireDTypeOf(tensor.dtype);
    if (!included) {
      item.copy_reason = "not included";
    } else if (MatchesAnyGlob(tensor.name, config.exclude)) {
      item.copy_reason = "excluded";
    } else if (!source.has_value()) {
      item.copy_reason = absl::StrCat("not float");
    } else if (tensor.shape.empty()) {
      item.copy_reason = "scalar";
    } else if (tensor.shape.size() == 1 && !config.quantize_1d) {
      item.copy_reason = "1-D";
    } else if (tensor.numel() == 0) {
      item.copy_reason = "empty";
    } else {
      item.quantize = true;
    }
    if (!item.quantize) {
      QUANTD_ASSIGN_OR_RETURN(item.out, layout->Add(tensor.name, tensor.dtype, tensor.shape));
      items->push_back(std::move(item));
      continue;
    }
    item.source = *source;
    item.options = target;
    const int ndim = static_cast<int>(tensor.shape.size());
    int axis = 0;
    if (target.granularity() != v1::GRANULARITY_PER_TENSOR) {
      axis = target.axis() < 0 ? target.axis() + ndim : target.axis();
      if (axis < 0 || axis >= ndim) {
        return absl::InvalidArgumentError(absl::StrCat(
            TensorWhere(tensor.name), " of shape ", ShapeString(tensor.shape), " has no axis ",
            target.axis(), "; exclude it or choose another --axis"));
      }
    }
    item.options.set_axis(axis);
    const std::vector<int64_t> scales_shape =
        ScalesShape(target.granularity(), tensor.shape, axis, target.group_size());
    item.scale_count = Numel(scales_shape);
    const v1::DType dtype = target.dtype();
    QUANTD_ASSIGN_OR_RETURN(
        item.out, layout->Add(tensor.name, StorageDType(dtype),
                              StorageShape(dtype, tensor.shape, tensor.numel())));
    const std::string scales_name = absl::StrCat(tensor.name, ".scales");
    QUANTD_ASSIGN_OR_RETURN(item.scales, layout->Add(scales_name, "F32", scales_shape));
    OrderedJson params = {
        {"dtype", Word(dtype)},
        {"storage", StorageDType(dtype)},
        {"shape", tensor.shape},
        {"source_dtype", tensor.dtype},
        {"scheme", Word(target.scheme())},
        {"granularity", Word(target.granularity())},
        {"axis", axis},
        {"group_size", target.granularity() == v1::GRANULARITY_PER_GROUP ? target.group_size() : 0},
        {"full_range", target.full_range()},
        {"scale_dtype", ScaleDTypeWord(target.scale_dtype())},
        {"scales", scales_name},
    };
    if (target.scheme() == v1::SCHEME_ASYMMETRIC) {
      const std::string zero_points_name = absl::StrCat(tensor.name, ".zero_points");
      QUANTD_ASSIGN_OR_RETURN(item.zero_points, layout->Add(zero_points_name, "I32", scales_shape));
      params["zero_points"] = zero_points_name;
    }
    if (IsFourBit(dtype)) {
      params["packing"] = "two per byte over the flattened tensor, element 2i in bits 0-3";
    }
    layout->SetMetadata(absl::StrCat(kCheckpointParamsPrefix, tensor.name), params.dump());
    item.stream = static_cast<int64_t>(tensor.size()) > unary_limit;
    items->push_back(std::move(item));
  }
  return absl::OkStatus();
}

// The params the server returned must be the ones the header promised.
absl::Status CheckParams(const QuantizeItem& item, const v1::QuantParams& params) {
  const v1::QuantizeOptions& o = item.options;
  const bool asymmetric = o.scheme() == v1::SCHEME_ASYMMETRIC;
  std::string mismatch;
  if (params.dtype() != o.dtype()) {
    mismatch = absl::StrCat("dtype ", Word(params.dtype()));
  } else if (params.granularity() != o.granularity() &&
             !(params.granularity() == v1::GRANULARITY_UNSPECIFIED &&
               o.granularity() == v1::GRANULARITY_PER_TENSOR)) {
    mismatch = absl::StrCat("granularity ", Word(params.granularity()));
  } else if ((params.scheme() == v1::SCHEME_ASYMMETRIC) != asymmetric) {
    mismatch = absl::StrCat("scheme ", Word(params.scheme()));
  } else if (o.granularity() != v1::GRANULARITY_PER_TENSOR) {
    const int ndim = static_cast<int>(item.in->shape.size());
    const int axis = params.axis() < 0 ? params.axis() + ndim : params.axis();
    if (axis != o.axis()) mismatch = absl::StrCat("axis ", params.axis());
  }
  if (mismatch.empty() && params.scales_size() != item.scale_count) {
    mismatch = absl::StrCat(params.scales_size(), " scales instead of ", item.scale_count);
  }
  if (mismatch.empty() && params.zero_points_size() != (asymmetric ? item.scale_count : 0)) {
    mismatch = absl::StrCat(params.zero_points_size(), " zero points");
  }
  if (mismatch.empty()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("the server answered with ", mismatch, ", not what was asked for"));
}

absl::Status WriteParams(const QuantizeItem& item, const v1::QuantParams& params,
                         const SafetensorsLayout& layout, OutputFile& file) {
  QUANTD_RETURN_IF_ERROR(CheckParams(item, params));
  QUANTD_RETURN_IF_ERROR(file.WriteAt(
      layout.FileOffset(*item.scales),
      AsBytes(params.scales().data(), sizeof(float) * static_cast<size_t>(params.scales_size()))));
  if (item.zero_points) {
    QUANTD_RETURN_IF_ERROR(
        file.WriteAt(layout.FileOffset(*item.zero_points),
                     AsBytes(params.zero_points().data(),
                             sizeof(int32_t) * static_cast<size_t>(params.zero_points_size()))));
  }
  return absl::OkStatus();
}

// A streamed answer: its chunks written in order at their place in the
// output file, and the request's bytes reported to the progress as they
// are sent (stopping the call once another tensor has failed).
class StreamedAnswer {
 public:
  StreamedAnswer(OutputFile& file, uint64_t offset, uint64_t size, Progress& progress,
                 const std::atomic<bool>& failed)
      : file_(file), offset_(offset), size_(size), progress_(progress), failed_(failed) {}

  std::function<absl::Status(absl::string_view)> Writer() {
    return [this](absl::string_view chunk) -> absl::Status {
      if (written_ + chunk.size() > size_) {
        return absl::InternalError(absl::StrCat("the server returned more than ", size_, " bytes"));
      }
      QUANTD_RETURN_IF_ERROR(file_.WriteAt(offset_ + written_, chunk));
      written_ += chunk.size();
      return absl::OkStatus();
    };
  }

  std::function<absl::Status(int64_t)> SentCounter() {
    return [this](int64_t sent) -> absl::Status {
      if (failed_.load()) return absl::CancelledError("another tensor failed");
      progress_.AddBytes(sent);
      counted_ += sent;
      return absl::OkStatus();
    };
  }

  // After the call: the answer filled its place exactly.
  absl::Status Complete() const {
    if (written_ == size_) return absl::OkStatus();
    return absl::InternalError(
        absl::StrCat("the server returned ", written_, " bytes, not ", size_));
  }

  int64_t counted() const { return counted_; }  // Bytes reported to the progress.

 private:
  OutputFile& file_;
  const uint64_t offset_;
  const uint64_t size_;
  Progress& progress_;
  const std::atomic<bool>& failed_;
  uint64_t written_ = 0;
  int64_t counted_ = 0;
};

absl::Status QuantizeOne(const QuantdClient& client, const SafetensorsFile& input,
                         const SafetensorsLayout& layout, OutputFile& file, QuantizeItem& item,
                         Progress& progress, const std::atomic<bool>& failed) {
  const SafetensorsTensor& tensor = *item.in;
  const absl::string_view data = input.Data(tensor);
  const SafetensorsTensor& out = layout.tensor(item.out);
  const uint64_t out_offset = layout.FileOffset(item.out);
  if (!item.quantize) {
    QUANTD_RETURN_IF_ERROR(CopyBytes(file, out_offset, data, progress));
    item.bytes_out = static_cast<int64_t>(data.size());
    progress.ItemDone(0, absl::StrCat(tensor.name, "  ", tensor.dtype, " ",
                                      ShapeString(tensor.shape), "  copied (", item.copy_reason,
                                      ")"));
    return absl::OkStatus();
  }
  v1::QuantParams params;
  int64_t counted = 0;  // Bytes already reported to the progress.
  if (!item.stream) {
    v1::QuantizeRequest request;
    v1::Tensor* t = request.mutable_input();
    t->set_dtype(item.source);
    for (int64_t d : tensor.shape) t->add_shape(d);
    t->set_data(data.data(), data.size());
    *request.mutable_options() = item.options;
    absl::StatusOr<v1::QuantizeResponse> response = client.Quantize(request);
    request.Clear();
    if (!response.ok()) return Named(tensor.name, response.status());
    const std::string& codes = response->output().data();
    if (codes.size() != out.size()) {
      return Named(tensor.name, absl::InternalError(absl::StrCat(
                                    "the server returned ", codes.size(), " bytes, not ",
                                    out.size())));
    }
    QUANTD_RETURN_IF_ERROR(file.WriteAt(out_offset, codes));
    params = std::move(*response->mutable_params());
    item.error = response->error();
  } else {
    v1::QuantizeStreamHeader header;
    header.set_dtype(item.source);
    for (int64_t d : tensor.shape) header.add_shape(d);
    *header.mutable_options() = item.options;
    StreamedAnswer answer(file, out_offset, out.size(), progress, failed);
    absl::StatusOr<QuantdClient::QuantizeStreamResult> result = client.QuantizeStream(
        header, data, answer.Writer(), answer.SentCounter(), ChunkBytes(client));
    if (!result.ok()) return Named(tensor.name, result.status());
    if (absl::Status status = answer.Complete(); !status.ok()) return Named(tensor.name, status);
    counted = answer.counted();
    params = std::move(result->params);
    item.error = result->error;
  }
  if (absl::Status status = WriteParams(item, params, layout, file); !status.ok()) {
    return Named(tensor.name, status);
  }
  item.bytes_out = static_cast<int64_t>(out.size()) + 4 * item.scale_count * (item.zero_points ? 2 : 1);
  progress.ItemDone(
      static_cast<int64_t>(data.size()) - counted,
      absl::StrFormat("%s  %s %s -> %s%s  sqnr %s dB  max_abs_err %s", tensor.name, tensor.dtype,
                      ShapeString(tensor.shape), Word(item.options.dtype()),
                      item.stream ? " (streamed)" : "", Cell(item.error.sqnr_db(), "%.2f"),
                      Cell(item.error.max_abs_error(), "%.4g")));
  return absl::OkStatus();
}

void PrintQuantizeTable(const std::vector<QuantizeItem>& items, double seconds,
                        const std::string& out_path, std::ostream& out) {
  size_t name_width = 6;
  size_t shape_width = 5;
  for (const QuantizeItem& item : items) {
    name_width = std::max(name_width, item.in->name.size());
    shape_width = std::max(shape_width, ShapeString(item.in->shape).size());
  }
  out << absl::StrFormat("%-*s  %-*s  %-28s %9s %12s  %s\n", name_width, "tensor", shape_width,
                         "shape", "dtype -> stored", "sqnr_db", "max_abs_err", "bytes in -> out");
  int64_t quantized = 0, streamed = 0, bytes_in = 0, bytes_out = 0;
  double signal = 0, noise = 0;  // Sums of x^2 and (x - x')^2 over quantized tensors.
  for (const QuantizeItem& item : items) {
    bytes_in += static_cast<int64_t>(item.in->size());
    bytes_out += item.bytes_out;
    std::string conversion;
    std::string sqnr = "-", max_err = "-";
    if (item.quantize) {
      ++quantized;
      streamed += item.stream ? 1 : 0;
      conversion = absl::StrCat(item.in->dtype, " -> ", Word(item.options.dtype()), " (",
                                StorageDType(item.options.dtype()), ")",
                                item.stream ? " stream" : "");
      sqnr = Cell(item.error.sqnr_db(), "%.2f");
      max_err = Cell(item.error.max_abs_error(), "%.4g");
      const double sse = item.error.mse() * static_cast<double>(item.error.count());
      noise += sse;
      if (std::isfinite(item.error.sqnr_db())) signal += sse * std::pow(10.0, item.error.sqnr_db() / 10);
    } else {
      conversion = absl::StrCat(item.in->dtype, " copied (", item.copy_reason, ")");
    }
    out << absl::StrFormat("%-*s  %-*s  %-28s %9s %12s  %s -> %s\n", name_width, item.in->name,
                           shape_width, ShapeString(item.in->shape), conversion, sqnr, max_err,
                           Progress::Bytes(static_cast<double>(item.in->size())),
                           Progress::Bytes(static_cast<double>(item.bytes_out)));
  }
  const std::string total_sqnr =
      quantized == 0 ? "-" : (noise > 0 ? absl::StrFormat("%.2f dB", 10 * std::log10(signal / noise)) : "inf");
  out << absl::StrFormat(
      "total: %d tensors, %d quantized (%d streamed), %d copied; %s -> %s (%.2fx smaller) in "
      "%.2f s; sqnr of the quantized tensors %s\n",
      items.size(), quantized, streamed, items.size() - quantized,
      Progress::Bytes(static_cast<double>(bytes_in)), Progress::Bytes(static_cast<double>(bytes_out)),
      bytes_out > 0 ? static_cast<double>(bytes_in) / static_cast<double>(bytes_out) : 0.0, seconds,
      total_sqnr);
  out << "wrote " << out_path << "\n";
}

// Largest first, so that the last tensors to finish are small ones and every
// replica stays busy until the end.
template <typename Item>
std::vector<size_t> LargestFirst(const std::vector<Item>& items) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return items[a].in->size() > items[b].in->size();
  });
  return order;
}

int64_t UnaryLimit(const CommonConfig& config, const QuantdClient& client) {
  return std::min(config.stream_threshold, client.options().max_message_bytes - kMessageSlack);
}

// Writes a planned checkpoint: the header, then every item, `concurrency`
// at a time and the largest first, with the progress shown, then commits
// the file (renames it into place). The progress ends before this returns,
// so the caller's table prints after its last line.
template <typename Item, typename WriteOne>
absl::Status WriteCheckpoint(const CommonConfig& common, const SafetensorsLayout& layout,
                             std::vector<Item>& items, int64_t total_bytes, WriteOne write_one) {
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> file,
                          OutputFile::Create(common.out, layout.total_bytes()));
  QUANTD_RETURN_IF_ERROR(file->WriteAt(0, layout.Header()));
  absl::Status status;
  {
    Progress progress(common.progress, std::cerr, static_cast<int64_t>(items.size()), total_bytes);
    std::atomic<bool> failed{false};
    status = RunParallel(
        LargestFirst(items), common.concurrency,
        [&](size_t i) { return write_one(*file, items[i], progress, failed); }, &failed);
  }
  QUANTD_RETURN_IF_ERROR(status);
  return file->Commit();
}


absl::Status RunQuantizeCheckpoint(const QuantdClient& client, const QuantizeConfig& config,
                                   std::ostream& out) {
  const absl::Time start = absl::Now();
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> input,
                          SafetensorsFile::Open(config.common.in));
  std::vector<QuantizeItem> items;
  SafetensorsLayout layout;
  QUANTD_RETURN_IF_ERROR(
      PlanQuantize(config, *input, UnaryLimit(config.common, client), &items, &layout));
  int64_t total_bytes = 0;
  for (const QuantizeItem& item : items) total_bytes += static_cast<int64_t>(item.in->size());
  QUANTD_RETURN_IF_ERROR(WriteCheckpoint(
      config.common, layout, items, total_bytes,
      [&](OutputFile& file, QuantizeItem& item, Progress& progress, const std::atomic<bool>& failed) {
        return QuantizeOne(client, *input, layout, file, item, progress, failed);
      }));
  PrintQuantizeTable(items, absl::ToDoubleSeconds(absl::Now() - start), config.common.out, out);
  return absl::OkStatus();
}

// --- dequantize-checkpoint -------------------------------------------------

struct DequantizeConfig {
  CommonConfig common;
  v1::DType output_dtype = v1::DTYPE_UNSPECIFIED;  // Unspecified: the source dtype.
};

struct DequantizeItem {
  const SafetensorsTensor* in = nullptr;
  bool dequantize = false;
  v1::QuantParams params;  // With scales and zero points.
  std::vector<int64_t> shape;
  v1::DType output_dtype = v1::DTYPE_FLOAT32;
  size_t out = 0;
  bool stream = false;
  int64_t bytes_in = 0;  // Codes, scales and zero points.
};

// The params of one quantized tensor from its metadata entry and companions.
absl::Status ReadItemParams(const SafetensorsFile& input, const std::string& json_text,
                            DequantizeItem* item, std::vector<std::string>* companions) {
  Json json;
  try {
    json = Json::parse(json_text);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("its params are not valid JSON: ", e.what()));
  }
  if (!json.is_object()) return absl::InvalidArgumentError("its params must be a JSON object");
  auto field = [&](const char* key, Json::value_t type) -> absl::StatusOr<const Json*> {
    auto it = json.find(key);
    const bool ok = it != json.end() && (it->type() == type ||
                                         (type == Json::value_t::number_integer && it->is_number_integer()));
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("its params lack a valid \"", key, "\""));
    return &*it;
  };
  using V = Json::value_t;
  QUANTD_ASSIGN_OR_RETURN(const Json* dtype, field("dtype", V::string));
  QUANTD_ASSIGN_OR_RETURN(const Json* shape, field("shape", V::array));
  QUANTD_ASSIGN_OR_RETURN(const Json* scheme, field("scheme", V::string));
  QUANTD_ASSIGN_OR_RETURN(const Json* granularity, field("granularity", V::string));
  QUANTD_ASSIGN_OR_RETURN(const Json* axis, field("axis", V::number_integer));
  QUANTD_ASSIGN_OR_RETURN(const Json* group_size, field("group_size", V::number_integer));
  QUANTD_ASSIGN_OR_RETURN(const Json* scales, field("scales", V::string));
  v1::QuantParams& p = item->params;
  QUANTD_ASSIGN_OR_RETURN(v1::DType d, ParseEnumWord<v1::DType>(dtype->get<std::string>()));
  p.set_dtype(d);
  QUANTD_ASSIGN_OR_RETURN(v1::Scheme s, ParseEnumWord<v1::Scheme>(scheme->get<std::string>()));
  p.set_scheme(s);
  QUANTD_ASSIGN_OR_RETURN(v1::Granularity g,
                          ParseEnumWord<v1::Granularity>(granularity->get<std::string>()));
  p.set_granularity(g);
  p.set_axis(axis->get<int32_t>());
  p.set_group_size(group_size->get<int32_t>());
  if (auto it = json.find("full_range"); it != json.end() && it->is_boolean()) {
    p.set_full_range(it->get<bool>());
  }
  if (auto it = json.find("scale_dtype"); it != json.end() && it->is_string()) {
    QUANTD_ASSIGN_OR_RETURN(v1::DType sd, ParseEnumWord<v1::DType>(it->get<std::string>()));
    p.set_scale_dtype(sd);
  }
  for (const Json& dim : *shape) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("its params' shape ", shape->dump(), " is not valid"));
    }
    item->shape.push_back(dim.get<int64_t>());
  }
  const int64_t numel = Numel(item->shape);
  if (static_cast<int64_t>(item->in->size()) != PackedBytes(d, numel) ||
      item->in->dtype != StorageDType(d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "it is stored as ", item->in->dtype, " of ", item->in->size(), " bytes, but ", Word(d),
        " ", ShapeString(item->shape), " needs ", StorageDType(d), " of ", PackedBytes(d, numel)));
  }
  item->output_dtype = v1::DTYPE_FLOAT32;
  if (auto it = json.find("source_dtype"); it != json.end() && it->is_string()) {
    std::optional<v1::DType> source = WireDTypeOf(it->get<std::string>());
    if (source.has_value() && *source != v1::DTYPE_FLOAT64) item->output_dtype = *source;
  }
  auto companion = [&](const std::string& name, const char* dtype_name,
                       auto add) -> absl::Status {
    const SafetensorsTensor* t = input.Find(name);
    if (t == nullptr) return absl::InvalidArgumentError(absl::StrCat("its tensor \"", name, "\" is missing"));
    if (t->dtype != dtype_name) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" must be ", dtype_name, ", not ", t->dtype));
    }
    const absl::string_view bytes = input.Data(*t);
    add(bytes);
    companions->push_back(name);
    item->bytes_in += static_cast<int64_t>(bytes.size());
    return absl::OkStatus();
  };
  QUANTD_RETURN_IF_ERROR(companion(scales->get<std::string>(), "F32", [&](absl::string_view b) {
    p.mutable_scales()->Resize(static_cast<int>(b.size() / 4), 0.0f);
    std::memcpy(p.mutable_scales()->mutable_data(), b.data(), b.size() / 4 * 4);
  }));
  if (auto it = json.find("zero_points"); it != json.end()) {
    if (!it->is_string()) return absl::InvalidArgumentError("its params' zero_points must be a tensor name");
    QUANTD_RETURN_IF_ERROR(companion(it->get<std::string>(), "I32", [&](absl::string_view b) {
      p.mutable_zero_points()->Resize(static_cast<int>(b.size() / 4), 0);
      std::memcpy(p.mutable_zero_points()->mutable_data(), b.data(), b.size() / 4 * 4);
    }));
  }
  return absl::OkStatus();
}

absl::Status PlanDequantize(const DequantizeConfig& config, const SafetensorsFile& input,
                            int64_t unary_limit, std::vector<DequantizeItem>* items,
                            SafetensorsLayout* layout) {
  auto format = input.metadata().find(std::string(kCheckpointFormatKey));
  if (format == input.metadata().end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        input.path(), " is not a checkpoint written by quantize-checkpoint (no ",
        kCheckpointFormatKey, " in its __metadata__)"));
  }
  if (format->second != kCheckpointFormat) {
    return absl::InvalidArgumentError(absl::StrCat(input.path(), ": unknown ", kCheckpointFormatKey,
                                                   " \"", format->second, "\" (this quantctl reads ",
                                                   kCheckpointFormat, ")"));
  }
  for (const auto& [key, value] : input.metadata()) {
    if (!absl::StartsWith(key, "quantd.")) layout->SetMetadata(key, value);
  }
  std::vector<std::string> companions;
  std::vector<DequantizeItem> planned;
  for (const SafetensorsTensor& tensor : input.tensors()) {
    DequantizeItem item;
    item.in = &tensor;
    item.bytes_in = static_cast<int64_t>(tensor.size());
    auto params = input.metadata().find(absl::StrCat(kCheckpointParamsPrefix, tensor.name));
    if (params != input.metadata().end()) {
      item.dequantize = true;
      if (absl::Status status = ReadItemParams(input, params->second, &item, &companions);
          !status.ok()) {
        return Named(tensor.name, status);
      }
      if (config.output_dtype != v1::DTYPE_UNSPECIFIED) item.output_dtype = config.output_dtype;
    }
    planned.push_back(std::move(item));
  }
  for (const auto& [key, value] : input.metadata()) {
    if (absl::StartsWith(key, kCheckpointParamsPrefix) &&
        input.Find(key.substr(kCheckpointParamsPrefix.size())) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(input.path(), ": ", key,
                                                     " describes a tensor the file does not hold"));
    }
  }
  for (DequantizeItem& item : planned) {
    if (!item.dequantize && absl::c_linear_search(companions, item.in->name)) continue;
    if (item.dequantize) {
      QUANTD_ASSIGN_OR_RETURN(item.out, layout->Add(item.in->name,
                                                    SafetensorsDTypeOfFloat(item.output_dtype),
                                                    item.shape));
      const int64_t out_bytes = static_cast<int64_t>(layout->tensor(item.out).size());
      item.stream = std::max<int64_t>(out_bytes, item.bytes_in) > unary_limit;
    } else {
      QUANTD_ASSIGN_OR_RETURN(item.out, layout->Add(item.in->name, item.in->dtype, item.in->shape));
    }
    items->push_back(std::move(item));
  }
  return absl::OkStatus();
}

absl::Status DequantizeOne(const QuantdClient& client, const SafetensorsFile& input,
                           const SafetensorsLayout& layout, OutputFile& file, DequantizeItem& item,
                           Progress& progress, const std::atomic<bool>& failed) {
  const SafetensorsTensor& tensor = *item.in;
  const absl::string_view data = input.Data(tensor);
  const SafetensorsTensor& out = layout.tensor(item.out);
  const uint64_t out_offset = layout.FileOffset(item.out);
  if (!item.dequantize) {
    QUANTD_RETURN_IF_ERROR(CopyBytes(file, out_offset, data, progress));
    progress.ItemDone(0, absl::StrCat(tensor.name, "  ", tensor.dtype, " ",
                                      ShapeString(tensor.shape), "  copied"));
    return absl::OkStatus();
  }
  int64_t counted = 0;
  if (!item.stream) {
    v1::DequantizeRequest request;
    v1::Tensor* t = request.mutable_input();
    t->set_dtype(item.params.dtype());
    for (int64_t d : item.shape) t->add_shape(d);
    t->set_data(data.data(), data.size());
    *request.mutable_params() = item.params;
    request.set_output_dtype(item.output_dtype);
    absl::StatusOr<v1::DequantizeResponse> response = client.Dequantize(request);
    request.Clear();
    if (!response.ok()) return Named(tensor.name, response.status());
    if (response->output().data().size() != out.size()) {
      return Named(tensor.name, absl::InternalError(absl::StrCat(
                                    "the server returned ", response->output().data().size(),
                                    " bytes, not ", out.size())));
    }
    QUANTD_RETURN_IF_ERROR(file.WriteAt(out_offset, response->output().data()));
  } else {
    v1::DequantizeStreamHeader header;
    *header.mutable_params() = item.params;
    header.set_dtype(item.params.dtype());
    for (int64_t d : item.shape) header.add_shape(d);
    header.set_output_dtype(item.output_dtype);
    StreamedAnswer answer(file, out_offset, out.size(), progress, failed);
    absl::StatusOr<int64_t> result = client.DequantizeStream(
        header, data, answer.Writer(), answer.SentCounter(), ChunkBytes(client));
    if (!result.ok()) return Named(tensor.name, result.status());
    if (absl::Status status = answer.Complete(); !status.ok()) return Named(tensor.name, status);
    counted = answer.counted();
  }
  progress.ItemDone(item.bytes_in - counted,
                    absl::StrCat(tensor.name, "  ", Word(item.params.dtype()), " ",
                                 ShapeString(item.shape), " -> ", out.dtype,
                                 item.stream ? " (streamed)" : ""));
  return absl::OkStatus();
}

void PrintDequantizeTable(const std::vector<DequantizeItem>& items, const SafetensorsLayout& layout,
                          double seconds, const std::string& out_path, std::ostream& out) {
  size_t name_width = 6;
  for (const DequantizeItem& item : items) name_width = std::max(name_width, item.in->name.size());
  out << absl::StrFormat("%-*s  %-20s  %-24s  %s\n", name_width, "tensor", "shape",
                         "stored -> dtype", "bytes in -> out");
  int64_t n = 0, bytes_in = 0, bytes_out = 0;
  for (const DequantizeItem& item : items) {
    const SafetensorsTensor& o = layout.tensor(item.out);
    n += item.dequantize ? 1 : 0;
    bytes_in += item.bytes_in;
    bytes_out += static_cast<int64_t>(o.size());
    const std::string conversion =
        item.dequantize ? absl::StrCat(Word(item.params.dtype()), " -> ", o.dtype,
                                       item.stream ? " stream" : "")
                        : absl::StrCat(o.dtype, " copied");
    out << absl::StrFormat("%-*s  %-20s  %-24s  %s -> %s\n", name_width, item.in->name,
                           ShapeString(o.shape), conversion,
                           Progress::Bytes(static_cast<double>(item.bytes_in)),
                           Progress::Bytes(static_cast<double>(o.size())));
  }
  out << absl::StrFormat("total: %d tensors, %d dequantized, %d copied; %s -> %s in %.2f s\n",
                         items.size(), n, items.size() - n,
                         Progress::Bytes(static_cast<double>(bytes_in)),
                         Progress::Bytes(static_cast<double>(bytes_out)), seconds);
  out << "wrote " << out_path << "\n";
}

absl::Status RunDequantizeCheckpoint(const QuantdClient& client, const DequantizeConfig& config,
                                     std::ostream& out) {
  const absl::Time start = absl::Now();
  QUANTD_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> input,
                          SafetensorsFile::Open(config.common.in));
  std::vector<DequantizeItem> items;
  SafetensorsLayout layout;
  QUANTD_RETURN_IF_ERROR(
      PlanDequantize(config, *input, UnaryLimit(config.common, client), &items, &layout));
  int64_t total_bytes = 0;
  for (const DequantizeItem& item : items) total_bytes += item.bytes_in;
  QUANTD_RETURN_IF_ERROR(WriteCheckpoint(
      config.common, layout, items, total_bytes,
      [&](OutputFile& file, DequantizeItem& item, Progress& progress,
          const std::atomic<bool>& failed) {
        return DequantizeOne(client, *input, layout, file, item, progress, failed);
      }));
  PrintDequantizeTable(items, layout, absl::ToDoubleSeconds(absl::Now() - start),
                       config.common.out, out);
  return absl::OkStatus();
}

}  // namespace

bool MatchesAnyGlob(absl::string_view name, const std::vector<std::string>& patterns) {
  const std::string text(name);
  for (const std::string& pattern : patterns) {
    if (::fnmatch(pattern.c_str(), text.c_str(), 0) == 0) return true;
  }
  return false;
}

absl::StatusOr<std::string> BalancedTarget(absl::string_view target) {
  if (!absl::StrContains(target, ',')) return std::string(target);
  if (absl::StrContains(target, ":///")) return std::string(target);  // Already a URI list.
  std::vector<std::string> addresses = absl::StrSplit(target, ',', absl::SkipWhitespace());
  bool v4 = true, v6 = true;
  for (std::string& address : addresses) {
    address = std::string(absl::StripAsciiWhitespace(address));
    if (absl::StartsWith(address, "[")) {
      v4 = false;
      continue;
    }
    v6 = false;
    const size_t colon = address.rfind(':');
    const std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
    int value = 0;
    bool ip = octets.size() == 4;
    for (absl::string_view octet : octets) {
      ip = ip && !octet.empty() && absl::SimpleAtoi(octet, &value) && value >= 0 && value <= 255;
    }
    if (!ip) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--target: '", address, "' in a list of addresses must be an IP address with its port; "
          "for host names give one DNS name that resolves to every replica, e.g. "
          "dns:///quantd-headless:50051"));
    }
    if (colon == std::string::npos) absl::StrAppend(&address, ":50051");
  }
  if (!v4 && !v6) return absl::InvalidArgumentError("--target mixes IPv4 and IPv6 addresses");
  return absl::StrCat(v4 ? "ipv4:///" : "ipv6:///", absl::StrJoin(addresses, ","));
}

PreparedCheckpointCommand PrepareQuantizeCheckpoint(const ParsedArgs& args,
                                                    std::shared_ptr<const QuantdClient> client,
                                                    std::ostream& out) {
  QUANTD_ASSIGN_OR_RETURN(QuantizeConfig config, QuantizeConfigFromArgs(args));
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const QuantdClient> balanced, BalancedClient(*client, args));
  return std::function<absl::Status()>([balanced, config = std::move(config), &out] {
    return RunQuantizeCheckpoint(*balanced, config, out);
  });
}

PreparedCheckpointCommand PrepareDequantizeCheckpoint(const ParsedArgs& args,
                                                      std::shared_ptr<const QuantdClient> client,
                                                      std::ostream& out) {
  for (absl::string_view flag : {"include", "exclude", "quantize_1d"}) {
    if (args.Has(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " does not apply to 'dequantize-checkpoint': it dequantizes "
                                   "every tensor the file records as quantized"));
    }
  }
  DequantizeConfig config;
  QUANTD_ASSIGN_OR_RETURN(config.common, CommonFromArgs(args));
  if (std::optional<std::string> text = args.GetString("output_dtype")) {
    absl::StatusOr<v1::DType> parsed = ParseEnumWord<v1::DType>(*text);
    if (!parsed.ok() || (*parsed != v1::DTYPE_FLOAT32 && *parsed != v1::DTYPE_FLOAT16 &&
                         *parsed != v1::DTYPE_BFLOAT16)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--output_dtype must be float32, float16 or bfloat16, not '", *text, "'"));
    }
    config.output_dtype = *parsed;
  }
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<const QuantdClient> balanced, BalancedClient(*client, args));
  return std::function<absl::Status()>([balanced, config = std::move(config), &out] {
    return RunDequantizeCheckpoint(*balanced, config, out);
  });
}

}  // namespace quantd::client
