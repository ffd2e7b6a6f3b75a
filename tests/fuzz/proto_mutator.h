// A structure-aware mutation for the fuzz targets: byte flips mostly break
// a serialized message's lengths, so half the time the input is parsed and
// one field, found by reflection anywhere in the message, is changed to a
// value that validation must judge (a dimension of 0 or 65536, a negative
// axis, an unknown enum number, a denormal, NaN, a huge count), a repeated
// field grows or shrinks, or a bytes field is mutated by libFuzzer itself;
// then, half the time, every tensor's data is fitted to its shape.
#ifndef QUANTD_TESTS_FUZZ_PROTO_MUTATOR_H_
#define QUANTD_TESTS_FUZZ_PROTO_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <random>

#include <google/protobuf/message.h>

namespace quantd::fuzz {

// Changes one field somewhere in `message` (creating a sub-message now and
// then), and half the time fits every quantd.v1.Tensor's data to its shape
// and dtype.
void MutateMessage(google::protobuf::Message* message, std::minstd_rand* rng);

// libFuzzer's custom mutator for a target whose input is one serialized
// `Message`: half the time a byte-level mutation, else MutateMessage.
template <typename Message>
size_t MutateSerialized(uint8_t* data, size_t size, size_t max_size, unsigned seed);

}  // namespace quantd::fuzz

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace quantd::fuzz {

template <typename Message>
size_t MutateSerialized(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  std::minstd_rand rng(seed);
  Message message;
  if (rng() % 2 == 0 || !message.ParseFromArray(data, static_cast<int>(size))) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  MutateMessage(&message, &rng);
  const size_t out = message.ByteSizeLong();
  if (out > max_size) return LLVMFuzzerMutate(data, size, max_size);
  message.SerializeToArray(data, static_cast<int>(out));
  return out;
}

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_PROTO_MUTATOR_H_
