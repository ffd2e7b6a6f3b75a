// The .safetensors format: an 8-byte little-endian header length N, N bytes
// of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}), then the tensors' bytes, offsets counted from the end
// of the header. Files are read through mmap, so a checkpoint larger than
// memory costs only the pages touched; files are written to a temporary name
// at offsets fixed by the header, and renamed into place when complete.
#ifndef QUANTD_CLIENT_SAFETENSORS_H_
#define QUANTD_CLIENT_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quantd::client {

// The largest header accepted (the limit of the reference implementation):
// a bigger one is a corrupt length, not a real checkpoint.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Bytes per element of a safetensors dtype name ("F32", "BF16", "I8", ...),
// or nullopt for a name that is not a safetensors dtype.
std::optional<int64_t> SafetensorsElementBytes(absl::string_view dtype);

struct SafetensorsTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // Offsets in the data section, as in the header.
  uint64_t end = 0;

  int64_t numel() const;
  uint64_t size() const { return end - begin; }
};

// "[4096, 11008]".
std::string ShapeString(const std::vector<int64_t>& shape);

// A .safetensors file opened read-only and mapped into memory.
class SafetensorsFile {
 public:
  // Opens, maps and validates `path`: the header length against the file
  // size and kMaxSafetensorsHeaderBytes, the JSON (an object of objects, no
  // duplicate names), every entry's fields and dtype, each tensor's byte
  // length against dtype x shape, offsets inside the data section and no two
  // tensors overlapping. Errors are INVALID_ARGUMENT (NOT_FOUND for a
  // missing file) and name the path, the tensor and the numbers.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // In the order of their data offsets.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* Find(absl::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The bytes of `tensor` (a view into the mapping).
  absl::string_view Data(const SafetensorsTensor& tensor) const;
  uint64_t file_size() const { return size_; }

 private:
  SafetensorsFile() = default;

  std::string path_;
  int fd_ = -1;
  const char* map_ = nullptr;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The layout of a file to write: tensors in the order added, packed one after
// the other, and the header that describes them (padded with spaces to a
// multiple of 8 bytes, as the reference writer does, so that the data
// section starts aligned).
class SafetensorsLayout {
 public:
  // Returns the tensor's index. Names must be unique.
  absl::StatusOr<size_t> Add(std::string name, std::string dtype, std::vector<int64_t> shape);
  void SetMetadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

  // The header bytes (length prefix included); fixes every offset.
  std::string Header() const;
  size_t size() const { return tensors_.size(); }
  const SafetensorsTensor& tensor(size_t i) const { return tensors_[i]; }
  // Where tensor i starts in the file, once Header() has been built.
  uint64_t FileOffset(size_t i) const { return header_bytes_ + tensors_[i].begin; }
  uint64_t total_bytes() const { return header_bytes_ + data_bytes_; }

 private:
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_bytes_ = 0;
  mutable uint64_t header_bytes_ = 0;
};

// A file written at known offsets from any number of threads (pwrite) under
// a temporary name next to `path`; Commit() syncs and renames it to `path`.
// Destroyed without Commit(), it removes the temporary file, so a failed run
// never leaves a file that looks complete.
class OutputFile {
 public:
  static absl::StatusOr<std::unique_ptr<OutputFile>> Create(const std::string& path,
                                                            uint64_t size);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  absl::Status WriteAt(uint64_t offset, absl::string_view bytes);
  absl::Status Commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  OutputFile() = default;
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_SAFETENSORS_H_
