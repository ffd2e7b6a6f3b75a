// .safetensors reading (mmap, validated) and writing (pwrite at fixed
// offsets under a temporary name).
#include "client/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace quantd::client {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

std::string Errno() { return std::strerror(errno); }

absl::Status Invalid(const std::string& path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

// A JSON number that is an integer in [0, limit].
std::optional<uint64_t> NonNegativeInteger(const Json& value, uint64_t limit) {
  uint64_t v = 0;
  if (value.is_number_unsigned()) {
    v = value.get<uint64_t>();
  } else if (value.is_number_integer()) {
    const int64_t s = value.get<int64_t>();
    if (s < 0) return std::nullopt;
    v = static_cast<uint64_t>(s);
  } else {
    return std::nullopt;
  }
  if (v > limit) return std::nullopt;
  return v;
}

}  // namespace

std::optional<int64_t> SafetensorsElementBytes(absl::string_view dtype) {
  static const auto* sizes = new std::map<std::string, int64_t, std::less<>>{
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
      {"F32", 4},  {"I64", 8}, {"U64", 8}, {"F64", 8},     {"C64", 8},
  };
  auto it = sizes->find(dtype);
  if (it == sizes->end()) return std::nullopt;
  return it->second;
}

int64_t SafetensorsTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile);
  file->path_ = path;
  file->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file->fd_ < 0) {
    const std::string message = absl::StrCat(path, ": cannot open: ", Errno());
    return errno == ENOENT ? absl::NotFoundError(message) : absl::PermissionDeniedError(message);
  }
  struct stat st {};
  if (::fstat(file->fd_, &st) != 0) return absl::InternalError(absl::StrCat(path, ": ", Errno()));
  if (!S_ISREG(st.st_mode)) return Invalid(path, "not a regular file");
  file->size_ = static_cast<uint64_t>(st.st_size);
  if (file->size_ < 8) {
    return Invalid(path, absl::StrCat("truncated: ", file->size_,
                                      " bytes, shorter than the 8-byte header length"));
  }
  void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, file->fd_, 0);
  if (map == MAP_FAILED) return absl::InternalError(absl::StrCat(path, ": mmap: ", Errno()));
  file->map_ = static_cast<const char*>(map);

  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) {
    header_bytes = (header_bytes << 8) | static_cast<unsigned char>(file->map_[i]);
  }
  if (header_bytes > kMaxSafetensorsHeaderBytes) {
    return Invalid(path, absl::StrCat("the header length is ", header_bytes, " bytes, above the ",
                                      kMaxSafetensorsHeaderBytes,
                                      " allowed: not a .safetensors file, or corrupt"));
  }
  if (header_bytes > file->size_ - 8) {
    return Invalid(path, absl::StrCat("truncated: the header length is ", header_bytes,
                                      " bytes but only ", file->size_ - 8, " follow it"));
  }
  if (header_bytes < 2) {
    return Invalid(path, absl::StrCat("the header length is ", header_bytes,
                                      ": too short for a JSON object"));
  }
  file->data_start_ = 8 + header_bytes;
  const uint64_t data_bytes = file->size_ - file->data_start_;
  const char* header_begin = file->map_ + 8;
  const char* header_end = header_begin + header_bytes;

  // Duplicate keys would silently keep one of two tensors: find them while
  // parsing, at every depth.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  Json header;
  try {
    header = Json::parse(
        header_begin, header_end,
        [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
          if (event == Json::parse_event_t::object_start) {
            open_objects.emplace_back();
          } else if (event == Json::parse_event_t::object_end) {
            if (!open_objects.empty()) open_objects.pop_back();
          } else if (event == Json::parse_event_t::key && !open_objects.empty() &&
                     parsed.is_string()) {
            if (!open_objects.back().insert(parsed.get<std::string>()).second &&
                duplicate.empty()) {
              duplicate = parsed.get<std::string>();
            }
          }
          return true;
        });
  } catch (const Json::exception& e) {
    return Invalid(path, absl::StrCat("the header is not valid JSON: ", e.what()));
  }
  if (!duplicate.empty()) {
    return Invalid(path, absl::StrCat("the header has the key \"", duplicate, "\" twice"));
  }
  if (!header.is_object()) {
    return Invalid(path, absl::StrCat("the header must be a JSON object, not ", header.type_name()));
  }
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) {
        return Invalid(path, absl::StrCat("__metadata__ must be an object of strings, not ",
                                          entry.type_name()));
      }
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return Invalid(path, absl::StrCat("__metadata__[\"", key, "\"] must be a string, not ",
                                            value.type_name()));
        }
        file->metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = absl::StrCat("tensor \"", name, "\"");
    if (name.empty()) return Invalid(path, "a tensor has an empty name");
    if (!entry.is_object()) {
      return Invalid(path, absl::StrCat(where, ": must be an object, not ", entry.type_name()));
    }
    for (auto& [key, value] : entry.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") {
        return Invalid(path, absl::StrCat(where, ": unknown field \"", key,
                                          "\" (expected dtype, shape, data_offsets)"));
      }
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(key)) return Invalid(path, absl::StrCat(where, ": no \"", key, "\""));
    }
    SafetensorsTensor tensor;
    tensor.name = name;
    if (!entry["dtype"].is_string()) return Invalid(path, absl::StrCat(where, ": dtype must be a string"));
    tensor.dtype = entry["dtype"].get<std::string>();
    const std::optional<int64_t> element_bytes = SafetensorsElementBytes(tensor.dtype);
    if (!element_bytes.has_value()) {
      return Invalid(path, absl::StrCat(where, ": unknown dtype \"", tensor.dtype, "\""));
    }
    const Json& shape = entry["shape"];
    if (!shape.is_array()) return Invalid(path, absl::StrCat(where, ": shape must be an array"));
    // The byte count, computed without overflow: every factor is bounded by
    // the file size once it is non-zero.
    uint64_t bytes = static_cast<uint64_t>(*element_bytes);
    bool zero = false;
    for (const Json& dim : shape) {
      std::optional<uint64_t> d = NonNegativeInteger(dim, uint64_t{1} << 62);
      if (!d.has_value()) {
        return Invalid(path, absl::StrCat(where, ": shape ", shape.dump(),
                                          " must hold non-negative integers"));
      }
      tensor.shape.push_back(static_cast<int64_t>(*d));
      if (*d == 0) zero = true;
      if (!zero && __builtin_mul_overflow(bytes, *d, &bytes)) {
        return Invalid(path, absl::StrCat(where, ": shape ", shape.dump(), " overflows"));
      }
    }
    if (tensor.shape.size() > 64) return Invalid(path, absl::StrCat(where, ": more than 64 dimensions"));
    if (zero) bytes = 0;
    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
      return Invalid(path, absl::StrCat(where, ": data_offsets must be [begin, end]"));
    }
    std::optional<uint64_t> begin = NonNegativeInteger(offsets[0], UINT64_MAX);
    std::optional<uint64_t> end = NonNegativeInteger(offsets[1], UINT64_MAX);
    if (!begin || !end || *begin > *end) {
      return Invalid(path, absl::StrCat(where, ": data_offsets ", offsets.dump(),
                                        " must be non-negative integers with begin <= end"));
    }
    tensor.begin = *begin;
    tensor.end = *end;
    if (tensor.end > data_bytes) {
      return Invalid(path, absl::StrCat(where, ": data_offsets ", offsets.dump(),
                                        " end beyond the data section, which holds ", data_bytes,
                                        " bytes (truncated file?)"));
    }
    if (tensor.size() != bytes) {
      return Invalid(path, absl::StrCat(where, ": ", tensor.dtype, " ", ShapeString(tensor.shape),
                                        " is ", bytes, " bytes but data_offsets ", offsets.dump(),
                                        " span ", tensor.size()));
    }
    file->tensors_.push_back(std::move(tensor));
  }
  std::stable_sort(file->tensors_.begin(), file->tensors_.end(),
                   [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
                     return a.begin < b.begin;
                   });
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor& tensor : file->tensors_) {
    if (tensor.size() == 0) continue;
    if (previous != nullptr && tensor.begin < previous->end) {
      return Invalid(path, absl::StrCat("tensors \"", previous->name, "\" [", previous->begin, ", ",
                                        previous->end, ") and \"", tensor.name, "\" [",
                                        tensor.begin, ", ", tensor.end, ") overlap"));
    }
    previous = &tensor;
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<char*>(map_), size_);
  if (fd_ >= 0) ::close(fd_);
}

const SafetensorsTensor* SafetensorsFile::Find(absl::string_view name) const {
  for (const SafetensorsTensor& tensor : tensors_) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

absl::string_view SafetensorsFile::Data(const SafetensorsTensor& tensor) const {
  return absl::string_view(map_ + data_start_ + tensor.begin, tensor.size());
}

// --- writing -------------------------------------------------------------

absl::StatusOr<size_t> SafetensorsLayout::Add(std::string name, std::string dtype,
                                              std::vector<int64_t> shape) {
  if (name == "__metadata__") return absl::InvalidArgumentError("a tensor cannot be named __metadata__");
  for (const SafetensorsTensor& t : tensors_) {
    if (t.name == name) {
      return absl::InvalidArgumentError(absl::StrCat("two output tensors are named \"", name, "\""));
    }
  }
  std::optional<int64_t> element_bytes = SafetensorsElementBytes(dtype);
  if (!element_bytes) return absl::InvalidArgumentError(absl::StrCat("unknown dtype ", dtype));
  SafetensorsTensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = std::move(dtype);
  tensor.shape = std::move(shape);
  tensor.begin = data_bytes_;
  tensor.end = data_bytes_ + static_cast<uint64_t>(tensor.numel() * *element_bytes);
  data_bytes_ = tensor.end;
  tensors_.push_back(std::move(tensor));
  return tensors_.size() - 1;
}

std::string SafetensorsLayout::Header() const {
  OrderedJson header = OrderedJson::object();
  if (!metadata_.empty()) {
    OrderedJson metadata = OrderedJson::object();
    for (const auto& [key, value] : metadata_) metadata[key] = value;
    header["__metadata__"] = std::move(metadata);
  }
  for (const SafetensorsTensor& t : tensors_) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += json;
  header_bytes_ = bytes.size();
  return bytes;
}

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Create(const std::string& path,
                                                               uint64_t size) {
  std::unique_ptr<OutputFile> file(new OutputFile);
  file->path_ = path;
  file->temp_path_ = absl::StrCat(path, ".partial-", ::getpid());
  file->fd_ = ::open(file->temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (file->fd_ < 0) {
    const std::string message = absl::StrCat(file->temp_path_, ": cannot create: ", Errno());
    return errno == ENOENT ? absl::NotFoundError(message) : absl::PermissionDeniedError(message);
  }
  if (::ftruncate(file->fd_, static_cast<off_t>(size)) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat(file->temp_path_, ": cannot size to ", size, " bytes: ", Errno()));
  }
  return file;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

absl::Status OutputFile::WriteAt(uint64_t offset, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat(temp_path_, ": write failed: ", Errno()));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status OutputFile::Commit() {
  if (::fsync(fd_) != 0) return absl::DataLossError(absl::StrCat(temp_path_, ": fsync: ", Errno()));
  if (::close(fd_) != 0) {
    fd_ = -1;
    return absl::DataLossError(absl::StrCat(temp_path_, ": close: ", Errno()));
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename ", temp_path_, " to ", path_, ": ", Errno()));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace quantd::client
