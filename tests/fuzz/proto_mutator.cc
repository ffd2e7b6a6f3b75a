// Reflection-driven mutation of one field.
#include "tests/fuzz/proto_mutator.h"

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "quantd/dtype.h"

namespace quantd::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A field of some message inside the one being mutated.
struct Site {
  Message* message;
  const FieldDescriptor* field;
};

void CollectSites(Message* message, int depth, std::vector<Site>* sites) {
  const auto* descriptor = message->GetDescriptor();
  const Reflection* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    sites->push_back({message, field});
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || depth > 4) continue;
    if (field->is_repeated()) {
      for (int k = 0; k < reflection->FieldSize(*message, field); ++k) {
        CollectSites(reflection->MutableRepeatedMessage(message, field, k), depth + 1, sites);
      }
    } else if (reflection->HasField(*message, field)) {
      CollectSites(reflection->MutableMessage(message, field), depth + 1, sites);
    }
  }
}

template <typename Int>
Int PickInt(Int current, std::minstd_rand* rng) {
  using Limits = std::numeric_limits<Int>;
  switch ((*rng)() % 9) {
    case 0: return 0;
    case 1: return 1;
    // Unsigned arithmetic: wrapping at the limits is the point.
    case 2: return static_cast<Int>(static_cast<std::make_unsigned_t<Int>>(current) + 1);
    case 3: return static_cast<Int>(static_cast<std::make_unsigned_t<Int>>(current) - 1);
    case 4: return static_cast<Int>(Int{1} << ((*rng)() % (sizeof(Int) * 8 - 1)));
    case 5: return Limits::max();
    case 6: return Limits::min();
    case 7: return static_cast<Int>(65536);
    default: return static_cast<Int>(static_cast<int>((*rng)() % 64) - 8);
  }
}

template <typename Float>
Float PickFloat(Float current, std::minstd_rand* rng) {
  using Limits = std::numeric_limits<Float>;
  switch ((*rng)() % 12) {
    case 0: return 0;
    case 1: return -current;
    case 2: return current * 2;
    case 3: return current / 2;
    case 4: return Limits::denorm_min();
    case 5: return Limits::min();
    case 6: return Limits::max();
    case 7: return Limits::infinity();
    case 8: return Limits::quiet_NaN();
    case 9: return static_cast<Float>(1e-35);
    case 10: return std::nextafter(current, Limits::infinity());
    default: return static_cast<Float>(static_cast<int>((*rng)() % 2001) - 1000) / 100;
  }
}

// libFuzzer's own byte mutations, with room to grow.
std::string MutateBytes(std::string bytes) {
  const size_t size = bytes.size();
  bytes.resize(size * 2 + 64);
  bytes.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(bytes.data()), size, bytes.size()));
  return bytes;
}

// Appends a zero (or empty) element to a repeated field of scalars.
void AddZero(const Site& site) {
  Message* m = site.message;
  const FieldDescriptor* f = site.field;
  const Reflection* r = m->GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(m, f, false); break;
    case FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(m, f, 0); break;
    case FieldDescriptor::CPPTYPE_STRING: r->AddString(m, f, ""); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: r->AddMessage(m, f); break;
  }
}

// Sets element `index` of a repeated field, or the singular field when
// index < 0, to a new value derived from the current one.
void MutateValue(const Site& site, int index, std::minstd_rand* rng) {
  Message* m = site.message;
  const FieldDescriptor* f = site.field;
  const Reflection* r = m->GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      const int32_t v = PickInt<int32_t>(rep ? r->GetRepeatedInt32(*m, f, index) : r->GetInt32(*m, f), rng);
      rep ? r->SetRepeatedInt32(m, f, index, v) : r->SetInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t v = PickInt<int64_t>(rep ? r->GetRepeatedInt64(*m, f, index) : r->GetInt64(*m, f), rng);
      rep ? r->SetRepeatedInt64(m, f, index, v) : r->SetInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const uint32_t v = PickInt<uint32_t>(rep ? r->GetRepeatedUInt32(*m, f, index) : r->GetUInt32(*m, f), rng);
      rep ? r->SetRepeatedUInt32(m, f, index, v) : r->SetUInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t v = PickInt<uint64_t>(rep ? r->GetRepeatedUInt64(*m, f, index) : r->GetUInt64(*m, f), rng);
      rep ? r->SetRepeatedUInt64(m, f, index, v) : r->SetUInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const float v = PickFloat<float>(rep ? r->GetRepeatedFloat(*m, f, index) : r->GetFloat(*m, f), rng);
      rep ? r->SetRepeatedFloat(m, f, index, v) : r->SetFloat(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const double v = PickFloat<double>(rep ? r->GetRepeatedDouble(*m, f, index) : r->GetDouble(*m, f), rng);
      rep ? r->SetRepeatedDouble(m, f, index, v) : r->SetDouble(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool v = !(rep ? r->GetRepeatedBool(*m, f, index) : r->GetBool(*m, f));
      rep ? r->SetRepeatedBool(m, f, index, v) : r->SetBool(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Known values mostly; now and then one past the last, which must be
      // refused.
      const int count = f->enum_type()->value_count();
      const int v = static_cast<int>((*rng)() % (count + 1));
      rep ? r->SetRepeatedEnumValue(m, f, index, v) : r->SetEnumValue(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v = MutateBytes(rep ? r->GetRepeatedString(*m, f, index) : r->GetString(*m, f));
      rep ? r->SetRepeatedString(m, f, index, std::move(v)) : r->SetString(m, f, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (!rep) r->MutableMessage(m, f);  // Present from now on.
      break;
  }
}

// Resizes a quantd.v1.Tensor's data to what its shape and dtype need, so
// that a changed shape makes a request that validation accepts, not only
// one it refuses. Tensors above a MiB stay as they are.
void FitTensorData(Message* tensor) {
  const auto* d = tensor->GetDescriptor();
  const Reflection* r = tensor->GetReflection();
  const FieldDescriptor* dtype = d->FindFieldByName("dtype");
  const FieldDescriptor* shape = d->FindFieldByName("shape");
  const FieldDescriptor* data = d->FindFieldByName("data");
  int64_t count = 1;
  for (int i = 0; i < r->FieldSize(*tensor, shape); ++i) {
    const int64_t dim = r->GetRepeatedInt64(*tensor, shape, i);
    if (dim < 0 || (dim > 0 && count > (int64_t{1} << 23) / dim)) return;
    count *= dim;
  }
  const int bits = DTypeBits(static_cast<DType>(r->GetEnumValue(*tensor, dtype)));
  const int64_t needed = (count * bits + 7) / 8;
  if (needed > (int64_t{1} << 20)) return;
  std::string bytes = r->GetString(*tensor, data);
  bytes.resize(static_cast<size_t>(needed), '\x3f');  // 0x3f3f3f3f: 0.75 as float32.
  r->SetString(tensor, data, std::move(bytes));
}

void FitEveryTensor(Message* message, int depth) {
  if (message->GetDescriptor()->full_name() == "quantd.v1.Tensor") return FitTensorData(message);
  const auto* descriptor = message->GetDescriptor();
  const Reflection* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count() && depth < 6; ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int k = 0; k < reflection->FieldSize(*message, field); ++k) {
        FitEveryTensor(reflection->MutableRepeatedMessage(message, field, k), depth + 1);
      }
    } else if (reflection->HasField(*message, field)) {
      FitEveryTensor(reflection->MutableMessage(message, field), depth + 1);
    }
  }
}

void MutateOneField(Message* message, std::minstd_rand* rng);

}  // namespace

void MutateMessage(Message* message, std::minstd_rand* rng) {
  MutateOneField(message, rng);
  if ((*rng)() % 2 == 0) FitEveryTensor(message, 0);
}

namespace {

void MutateOneField(Message* message, std::minstd_rand* rng) {
  std::vector<Site> sites;
  CollectSites(message, 0, &sites);
  if (sites.empty()) return;
  const Site site = sites[(*rng)() % sites.size()];
  const Reflection* r = site.message->GetReflection();
  if (!site.field->is_repeated()) return MutateValue(site, -1, rng);
  const int size = r->FieldSize(*site.message, site.field);
  switch ((*rng)() % 4) {
    case 0:  // Grow: a copy of the last message, or a new element mutated.
      if (site.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        Message* added = r->AddMessage(site.message, site.field);
        if (size > 0) added->CopyFrom(r->GetRepeatedMessage(*site.message, site.field, size - 1));
        return;
      }
      AddZero(site);
      return MutateValue(site, size, rng);
    case 1:  // Shrink.
      if (size > 0) return r->RemoveLast(site.message, site.field);
      break;
    default:
      break;
  }
  if (size > 0) MutateValue(site, static_cast<int>((*rng)() % size), rng);
}

}  // namespace
}  // namespace quantd::fuzz
