// The input of a streaming fuzz target: the messages of one call, as the
// wire form of
//   message Stream { repeated <Request> messages = 1; }
// and the structure-aware mutation of such a stream: half the time
// libFuzzer's byte mutations, else one message is repeated, dropped,
// changed (MutateMessage), or, when it carries bytes in a field named
// `data`, split in two at a random byte.
#ifndef QUANTD_TESTS_FUZZ_STREAM_INPUT_H_
#define QUANTD_TESTS_FUZZ_STREAM_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>

#include "tests/fuzz/proto_mutator.h"

namespace quantd::fuzz {

inline constexpr uint32_t kStreamMessagesTag = (1 << 3) | 2;  // Field 1, length-delimited.

// The messages of the stream, or nullopt when the input is not one.
template <typename Message>
std::optional<std::vector<Message>> ParseStream(const uint8_t* data, size_t size) {
  google::protobuf::io::CodedInputStream in(data, static_cast<int>(size));
  std::vector<Message> stream;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    uint32_t length = 0;
    std::string bytes;
    if (tag != kStreamMessagesTag || !in.ReadVarint32(&length) || !in.ReadString(&bytes, length)) {
      return std::nullopt;
    }
    if (!stream.emplace_back().ParseFromString(bytes)) return std::nullopt;
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return stream;
}

template <typename Message>
std::string EncodeStream(const std::vector<Message>& stream) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sink(&out);
    google::protobuf::io::CodedOutputStream coded(&sink);
    for (const Message& message : stream) {
      const std::string bytes = message.SerializeAsString();
      coded.WriteTag(kStreamMessagesTag);
      coded.WriteVarint32(static_cast<uint32_t>(bytes.size()));
      coded.WriteString(bytes);
    }
  }
  return out;
}

// Splits message i's `data` bytes (when it has them) into two messages.
template <typename Message>
bool SplitData(std::vector<Message>* stream, size_t i, std::minstd_rand* rng) {
  const auto* field = Message::descriptor()->FindFieldByName("data");
  if (field == nullptr || field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
    return false;
  }
  const auto* reflection = Message::GetReflection();
  if (!reflection->HasField((*stream)[i], field)) return false;
  const std::string bytes = reflection->GetString((*stream)[i], field);
  if (bytes.size() < 2) return false;
  const size_t at = 1 + (*rng)() % (bytes.size() - 1);
  Message tail = (*stream)[i];
  reflection->SetString(&(*stream)[i], field, bytes.substr(0, at));
  reflection->SetString(&tail, field, bytes.substr(at));
  stream->insert(stream->begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(tail));
  return true;
}

// libFuzzer's custom mutator for a stream of `Message`. `fit`, when given,
// runs after a structured mutation half the time: e.g. sizes the data
// messages to what the header promises, so that the stream is one the
// server accepts.
template <typename Message>
size_t MutateStream(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                    const std::function<void(std::vector<Message>*)>& fit = nullptr) {
  std::minstd_rand rng(seed);
  auto stream = ParseStream<Message>(data, size);
  if (rng() % 2 == 0 || !stream || stream->empty()) return LLVMFuzzerMutate(data, size, max_size);
  const size_t i = rng() % stream->size();
  switch (rng() % 5) {
    case 0:
      stream->insert(stream->begin() + static_cast<std::ptrdiff_t>(i), (*stream)[i]);
      break;
    case 1:
      stream->erase(stream->begin() + static_cast<std::ptrdiff_t>(i));
      break;
    case 2:
      if (SplitData(&*stream, i, &rng)) break;
      [[fallthrough]];
    default:
      MutateMessage(&(*stream)[i], &rng);
  }
  if (fit && rng() % 2 == 0) fit(&*stream);
  const std::string out = EncodeStream(*stream);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_STREAM_INPUT_H_
