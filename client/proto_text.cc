// Enum flag words and JSON through the proto descriptors.
#include "client/proto_text.h"

#include <google/protobuf/util/json_util.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace quantd::client {
namespace {

constexpr absl::string_view kUnspecified = "UNSPECIFIED";

// "DTYPE_" for DType, by the protobuf style guide's <PREFIX>_UNSPECIFIED.
std::string EnumPrefix(const google::protobuf::EnumDescriptor& descriptor) {
  const google::protobuf::EnumValueDescriptor* zero = descriptor.FindValueByNumber(0);
  if (zero == nullptr || !absl::EndsWith(zero->name(), kUnspecified)) return "";
  return zero->name().substr(0, zero->name().size() - kUnspecified.size());
}

absl::Status FromProtobufStatus(const google::protobuf::util::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(static_cast<int>(status.code())),
                      std::string(status.message()));
}

}  // namespace

absl::StatusOr<int> ParseEnumWord(const google::protobuf::EnumDescriptor& descriptor,
                                  absl::string_view text) {
  const std::string prefix = EnumPrefix(descriptor);
  const std::string upper = absl::AsciiStrToUpper(text);
  const google::protobuf::EnumValueDescriptor* value =
      descriptor.FindValueByName(absl::StrCat(prefix, upper));
  if (value == nullptr && !prefix.empty() && absl::StartsWith(upper, prefix)) {
    value = descriptor.FindValueByName(upper);
  }
  if (value != nullptr && value->number() != 0) return value->number();

  std::vector<std::string> choices;
  for (int i = 0; i < descriptor.value_count(); ++i) {
    if (descriptor.value(i)->number() != 0) {
      choices.push_back(EnumWord(descriptor, descriptor.value(i)->number()));
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a ", descriptor.name(),
                                                 "; choose one of ", absl::StrJoin(choices, ", ")));
}

std::string EnumWord(const google::protobuf::EnumDescriptor& descriptor, int number) {
  const google::protobuf::EnumValueDescriptor* value = descriptor.FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  absl::string_view name = value->name();
  absl::ConsumePrefix(&name, EnumPrefix(descriptor));
  return absl::AsciiStrToLower(name);
}

absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (absl::Status status =
          FromProtobufStatus(google::protobuf::util::MessageToJsonString(message, &json, options));
      !status.ok()) {
    return status;
  }
  return json;
}

absl::Status MessageFromJson(absl::string_view json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return FromProtobufStatus(google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options));
}

}  // namespace quantd::client
