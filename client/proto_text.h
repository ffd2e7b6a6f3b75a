// Proto enums and messages as text: enum values as flag words ("int8" for
// DTYPE_INT8) and messages as JSON. Both go through the descriptors, so enum
// values and fields added to the proto work without changes here.
#ifndef QUANTD_CLIENT_PROTO_TEXT_H_
#define QUANTD_CLIENT_PROTO_TEXT_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>
#include <google/protobuf/message.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quantd::client {

// The value of `descriptor` named `text`, case-insensitively, with or
// without the enum's prefix (the name of its zero value less "UNSPECIFIED",
// e.g. "DTYPE_"): "int8", "INT8" and "dtype_int8" are all DTYPE_INT8. The
// UNSPECIFIED value is not accepted. Errors list the choices.
absl::StatusOr<int> ParseEnumWord(const google::protobuf::EnumDescriptor& descriptor,
                                  absl::string_view text);

template <typename Enum>
absl::StatusOr<Enum> ParseEnumWord(absl::string_view text) {
  absl::StatusOr<int> number = ParseEnumWord(*google::protobuf::GetEnumDescriptor<Enum>(), text);
  if (!number.ok()) return number.status();
  return static_cast<Enum>(*number);
}

// The flag word of `number`: the value's name without the prefix, in lower
// case ("int8"); the number itself when the enum has no such value.
std::string EnumWord(const google::protobuf::EnumDescriptor& descriptor, int number);

template <typename Enum>
std::string EnumWord(Enum value) {
  return EnumWord(*google::protobuf::GetEnumDescriptor<Enum>(), static_cast<int>(value));
}

// Every field, defaults included, under its proto name (not lowerCamelCase),
// enums as names, indented; protobuf's own printer.
absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message);

// The inverse of MessageToJson; unknown fields are an error, so a typo in a
// hand-edited file does not pass silently.
absl::Status MessageFromJson(absl::string_view json, google::protobuf::Message* message);

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_PROTO_TEXT_H_
