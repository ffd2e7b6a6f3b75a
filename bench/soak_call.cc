// Judging soak calls; see soak_call.h.
#include "soak_call.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace quantd::soak {

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kQuantize:
      return "Quantize";
    case Rpc::kQuantizeLarge:
      return "Quantize>1MiB";
    case Rpc::kDequantize:
      return "Dequantize";
    case Rpc::kMatMul:
      return "QuantizedMatMul";
    case Rpc::kAnalyze:
      return "Analyze";
    case Rpc::kCalibrate:
      return "Calibrate";
    case Rpc::kQuantizeStream:
      return "QuantizeStream";
  }
  return "?";
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kVerified:
      return "verified";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kRefused:
      return "refused";
    case Outcome::kWrong:
      return "wrong";
    case Outcome::kLost:
      return "lost";
  }
  return "?";
}

ValuePool::ValuePool(int64_t count, uint64_t seed) : values_(count) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> outlier(0, 999);
  // One value in a thousand is 8 times larger: real activations have them,
  // and they decide absmax scales.
  for (float& v : values_) v = normal(rng) * (outlier(rng) == 0 ? 8.0f : 1.0f);
}

std::vector<float> ValuePool::Draw(std::mt19937_64& rng, int64_t count) const {
  std::vector<float> x(count, 0.0f);
  const int kind = std::uniform_int_distribution<int>(0, 49)(rng);
  if (count <= 4096 && kind == 0) return x;
  if (kind <= 5) {
    // Quarters of 2^-e with one value of 127 x 2^-e: an INT8 absmax scale
    // of exactly 2^-e, so that x / scale lands on ties (k + 1/2), where
    // half-to-even rounding differs from the other modes.
    const float unit = std::ldexp(1.0f, -std::uniform_int_distribution<int>(0, 20)(rng));
    std::uniform_int_distribution<int> quarters(-508, 508);
    for (float& v : x) v = static_cast<float>(quarters(rng)) / 4 * unit;
    x[std::uniform_int_distribution<int64_t>(0, count - 1)(rng)] = 127 * unit;
    return x;
  }
  static constexpr float kFactors[] = {1.0f, 0.5f, 3.7f, 1e-3f, 1e3f};
  const float factor = kFactors[std::uniform_int_distribution<int>(0, 4)(rng)];
  const int64_t start =
      std::uniform_int_distribution<int64_t>(0, static_cast<int64_t>(values_.size()) - count)(rng);
  for (int64_t i = 0; i < count; ++i) x[i] = values_[start + i] * factor;
  return x;
}

void Caller::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

bool LargeSlots::TryTake() {
  int used = used_.load();
  do {
    if (used >= max_) return false;
  } while (!used_.compare_exchange_weak(used, used + 1));
  return true;
}

bool Caller::TakeLargeSlot() {
  if (!holds_large_slot) holds_large_slot = large_slots->TryTake();
  return holds_large_slot;
}

void Caller::EndCall() {
  if (holds_large_slot) large_slots->Give();
  holds_large_slot = false;
}

int64_t Caller::Uniform(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

CallRecord Judge(Rpc rpc, const std::string& what, Expect expect, const grpc::Status& status,
                 Clock::time_point start, int64_t bytes,
                 const std::function<std::string()>& verify, const std::string& message_part) {
  CallRecord record;
  record.rpc = rpc;
  record.what = what;
  record.bytes = bytes;
  record.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const grpc::StatusCode code = status.error_code();
  auto unexpected = [&](Outcome outcome) {
    record.outcome = outcome;
    record.detail = absl::StrCat("status ", code, ": ", status.error_message());
  };
  if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    record.outcome = Outcome::kRefused;
    return record;
  }
  switch (expect) {
    case Expect::kInvalid:
      if (code == grpc::StatusCode::OK) {
        record.outcome = Outcome::kWrong;
        record.detail = "a malformed request was answered OK";
      } else if (code != grpc::StatusCode::INVALID_ARGUMENT) {
        unexpected(Outcome::kLost);
      } else if (status.error_message().find(message_part) == std::string::npos ||
                 status.error_message().empty()) {
        unexpected(Outcome::kWrong);
        absl::StrAppend(&record.detail, " (the message should name \"", message_part, "\")");
      } else {
        record.outcome = Outcome::kRejected;
      }
      return record;
    case Expect::kAnswerOrAbort:
      if (code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::DEADLINE_EXCEEDED) {
        record.outcome = Outcome::kCancelled;
        return record;
      }
      [[fallthrough]];
    case Expect::kAnswer:
      if (code == grpc::StatusCode::INVALID_ARGUMENT) {
        unexpected(Outcome::kWrong);  // A valid request refused as malformed.
      } else if (code != grpc::StatusCode::OK) {
        unexpected(Outcome::kLost);
      } else if (std::string diff = verify(); !diff.empty()) {
        record.outcome = Outcome::kWrong;
        record.detail = std::move(diff);
      } else {
        record.outcome = Outcome::kVerified;
      }
      return record;
  }
  return record;
}

std::string FloatBytes(std::span<const float> x) {
  std::string bytes(x.size() * 4, '\0');
  if (!x.empty()) std::memcpy(bytes.data(), x.data(), bytes.size());
  return bytes;
}

std::vector<float> FloatsOf(const std::string& bytes) {
  std::vector<float> x(bytes.size() / 4);
  if (!x.empty()) std::memcpy(x.data(), bytes.data(), x.size() * 4);
  return x;
}

void SetFloatTensor(std::span<const float> x, std::span<const int64_t> shape, v1::Tensor* tensor) {
  tensor->set_dtype(v1::DTYPE_FLOAT32);
  tensor->mutable_shape()->Assign(shape.begin(), shape.end());
  tensor->set_data(FloatBytes(x));
}

std::string CompareCodes(const std::string& got, const std::string& expected) {
  if (got.size() != expected.size()) {
    return absl::StrCat("codes: ", got.size(), " bytes, expected ", expected.size());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != expected[i]) {
      return absl::StrCat("codes: byte ", i, " is 0x", absl::Hex(static_cast<uint8_t>(got[i])),
                          ", expected 0x", absl::Hex(static_cast<uint8_t>(expected[i])));
    }
  }
  return "";
}

std::string CompareFloats(std::span<const float> got, std::span<const float> expected) {
  if (got.size() != expected.size()) {
    return absl::StrCat("values: ", got.size(), " of them, expected ", expected.size());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    // == rather than the bits: -0 and +0 are the same dequantized value.
    if (!(got[i] == expected[i])) {
      return absl::StrCat("values: element ", i, " is ", got[i], ", expected ", expected[i]);
    }
  }
  return "";
}

std::string CompareNear(const char* what, double got, double expected, double rel, double abs) {
  if (std::fabs(got - expected) <= rel * std::fabs(expected) + abs) return "";
  return absl::StrFormat("%s is %.9g, expected %.9g (within %.3g relative, %.3g absolute)", what, got,
                         expected, rel, abs);
}

}  // namespace quantd::soak
