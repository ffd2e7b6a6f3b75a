// .npy parsing and writing. The header is a Python literal dictionary; a
// small recursive-descent parser handles exactly the subset NumPy writes
// (strings, True/False, tuples of integers) instead of a general evaluator.
#include "client/npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "quantd/status_macros.h"

namespace quantd::client {
namespace {

constexpr absl::string_view kMagic = "\x93NUMPY";
// NumPy aligns the data to 64 bytes so that it can be memory-mapped with any
// element type; we write the same layout.
constexpr int64_t kHeaderAlignment = 64;
// Far above any real header (NumPy itself refuses more than 10000 bytes by
// default), so that a file cannot make the reader hold gigabytes of header.
constexpr int64_t kMaxHeaderSize = int64_t{1} << 20;

std::string ShapeString(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

// A cursor over the header dictionary. Each method skips leading white space.
class HeaderParser {
 public:
  explicit HeaderParser(absl::string_view text) : rest_(text) {}

  void SkipSpace() {
    while (!rest_.empty() && absl::ascii_isspace(static_cast<unsigned char>(rest_[0]))) {
      rest_.remove_prefix(1);
    }
  }

  // Consumes `c` when it comes next.
  bool Consume(char c) {
    SkipSpace();
    if (rest_.empty() || rest_[0] != c) return false;
    rest_.remove_prefix(1);
    return true;
  }

  bool ConsumeWord(absl::string_view word) {
    SkipSpace();
    if (!absl::StartsWith(rest_, word)) return false;
    rest_.remove_prefix(word.size());
    return true;
  }

  char Peek() {
    SkipSpace();
    return rest_.empty() ? '\0' : rest_[0];
  }

  bool AtEnd() {
    SkipSpace();
    return rest_.empty();
  }

  // A Python string literal in single or double quotes. NumPy's descr and
  // key strings never contain escapes, so a backslash is rejected.
  absl::StatusOr<std::string> String() {
    SkipSpace();
    if (rest_.empty() || (rest_[0] != '\'' && rest_[0] != '"')) {
      return Error("expected a quoted string");
    }
    const char quote = rest_[0];
    const size_t end = rest_.find(quote, 1);
    if (end == absl::string_view::npos) return Error("unterminated string");
    std::string value(rest_.substr(1, end - 1));
    if (value.find('\\') != std::string::npos) return Error("escapes in strings are not supported");
    rest_.remove_prefix(end + 1);
    return value;
  }

  // A tuple of non-negative decimal integers: "()", "(3,)", "(2, 3)".
  absl::StatusOr<std::vector<int64_t>> IntTuple() {
    if (!Consume('(')) return Error("expected a tuple for 'shape'");
    std::vector<int64_t> values;
    while (!Consume(')')) {
      SkipSpace();
      size_t digits = 0;
      while (digits < rest_.size() &&
             absl::ascii_isdigit(static_cast<unsigned char>(rest_[digits]))) {
        ++digits;
      }
      int64_t value = 0;
      if (digits == 0 || !absl::SimpleAtoi(rest_.substr(0, digits), &value)) {
        return Error("expected a non-negative integer dimension that fits in int64");
      }
      rest_.remove_prefix(digits);
      values.push_back(value);
      // Python writes a 1-tuple as "(3,)": the comma is optional before ')'.
      if (!Consume(',') && Peek() != ')') return Error("expected ',' or ')' in 'shape'");
    }
    return values;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed .npy header: ", what, " at \"", rest_.substr(0, 32), "\""));
  }

 private:
  absl::string_view rest_;
};

// Big-endian, native-order and unsupported types get distinct messages; the
// caller adds the file name.
absl::Status CheckSupportedDescr(absl::string_view descr) {
  if (NpyItemSize(descr) > 0) return absl::OkStatus();
  if (!descr.empty() && descr[0] == '>') {
    return absl::InvalidArgumentError(
        absl::StrCat("big-endian data ('", descr,
                     "') is not supported; convert it with arr.astype('<", descr.substr(1), "')"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("element type '", descr, "' is not supported; use one of '", kNpyFloat32, "', '",
                   kNpyFloat16, "', '", kNpyFloat64, "', '", kNpyInt8, "', '", kNpyUInt8, "', '",
                   kNpyUInt16, "' (bfloat16 bits), '", kNpyInt32, "'"));
}

absl::Status WithFile(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

uint32_t LittleEndian(absl::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

}  // namespace

int NpyItemSize(absl::string_view descr) {
  if (descr == kNpyFloat32 || descr == kNpyInt32) return 4;
  if (descr == kNpyFloat16 || descr == kNpyUInt16) return 2;
  if (descr == kNpyFloat64) return 8;
  if (descr == kNpyInt8 || descr == kNpyUInt8) return 1;
  return 0;
}

absl::StatusOr<int64_t> NpyNumElements(const std::vector<int64_t>& shape, int64_t limit) {
  for (int64_t dim : shape) {
    if (dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ShapeString(shape), " has a negative dimension"));
    }
  }
  for (int64_t dim : shape) {
    if (dim == 0) return 0;
  }
  int64_t count = 1;
  for (int64_t dim : shape) {
    // Division instead of multiplication, so that a huge claimed shape
    // cannot overflow before it is compared.
    if (count > limit / dim) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ShapeString(shape), " has more than ", limit, " elements"));
    }
    count *= dim;
  }
  return count;
}

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view dict) {
  HeaderParser parser(dict);
  if (!parser.Consume('{')) return parser.Error("expected '{'");
  NpyHeader header;
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  while (!parser.Consume('}')) {
    QUANTD_ASSIGN_OR_RETURN(std::string key, parser.String());
    if (!parser.Consume(':')) return parser.Error("expected ':'");
    if (key == "descr" && !seen_descr) {
      if (parser.Peek() == '[') {
        return absl::InvalidArgumentError(
            "structured arrays (a list as 'descr') are not supported");
      }
      QUANTD_ASSIGN_OR_RETURN(header.descr, parser.String());
      seen_descr = true;
    } else if (key == "fortran_order" && !seen_fortran) {
      if (parser.ConsumeWord("True")) {
        header.fortran_order = true;
      } else if (parser.ConsumeWord("False")) {
        header.fortran_order = false;
      } else {
        return parser.Error("expected True or False for 'fortran_order'");
      }
      seen_fortran = true;
    } else if (key == "shape" && !seen_shape) {
      QUANTD_ASSIGN_OR_RETURN(header.shape, parser.IntTuple());
      seen_shape = true;
    } else {
      return parser.Error(absl::StrCat("unexpected or repeated key '", key, "'"));
    }
    if (!parser.Consume(',') && parser.Peek() != '}') return parser.Error("expected ',' or '}'");
  }
  if (!parser.AtEnd()) return parser.Error("trailing characters after '}'");
  if (!seen_descr || !seen_fortran || !seen_shape) {
    return absl::InvalidArgumentError(
        "malformed .npy header: it needs the keys 'descr', 'fortran_order' and 'shape'");
  }
  // Byte order is meaningless for one-byte types; NumPy writes '|', but other
  // writers may not.
  if (header.descr.size() == 3 &&
      (header.descr[1] == 'i' || header.descr[1] == 'u' || header.descr[1] == 'b') &&
      header.descr[2] == '1') {
    header.descr[0] = '|';
  }
  return header;
}

absl::StatusOr<NpyArray> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  in.seekg(0, std::ios::end);
  const int64_t file_size = static_cast<int64_t>(in.tellg());
  in.seekg(0, std::ios::beg);
  if (file_size < 0 || !in) {
    return absl::DataLossError(absl::StrCat(path, ": cannot size the file"));
  }

  // Magic (6 bytes), version (2), header length (2 in version 1, 4 after).
  char prefix[12];
  const int64_t short_prefix = 10;
  if (file_size < short_prefix || !in.read(prefix, short_prefix) ||
      absl::string_view(prefix, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an .npy file (no \\x93NUMPY magic)"));
  }
  const int major = static_cast<unsigned char>(prefix[6]);
  const int minor = static_cast<unsigned char>(prefix[7]);
  int64_t prefix_size = 0;
  int64_t header_size = 0;
  if (major == 1) {
    prefix_size = short_prefix;
    header_size = LittleEndian(absl::string_view(prefix + 8, 2));
  } else if (major == 2 || major == 3) {
    prefix_size = 12;
    if (file_size < prefix_size || !in.read(prefix + short_prefix, 2)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": truncated .npy header"));
    }
    header_size = LittleEndian(absl::string_view(prefix + 8, 4));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(path, ": .npy format version ", major, ".",
                                                   minor, " is not supported (1.0-3.0 are)"));
  }
  if (header_size > kMaxHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the .npy header claims ", header_size,
                                                   " bytes, more than the ", kMaxHeaderSize,
                                                   " this reader accepts"));
  }
  if (header_size > file_size - prefix_size) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the .npy header claims ", header_size,
                                                   " bytes but the file has ",
                                                   file_size - prefix_size, " after the prefix"));
  }
  // Versions 1.0 and 2.0 are Latin-1, 3.0 is UTF-8; every key and value we
  // accept is ASCII, so the difference does not matter here.
  std::string dict(static_cast<size_t>(header_size), '\0');
  if (!in.read(dict.data(), header_size)) {
    return absl::DataLossError(absl::StrCat(path, ": cannot read the .npy header"));
  }
  auto header = ParseNpyHeader(dict);
  if (!header.ok()) return WithFile(path, header.status());
  if (absl::Status status = CheckSupportedDescr(header->descr); !status.ok()) {
    return WithFile(path, status);
  }
  if (header->fortran_order) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": Fortran-ordered arrays (fortran_order: True) are not supported; save "
                     "np.ascontiguousarray(arr) instead"));
  }

  const int64_t item_size = NpyItemSize(header->descr);
  const int64_t data_size = file_size - prefix_size - header_size;
  // The bound keeps count * item_size from overflowing; nothing is sized
  // from the claim until it has matched the file.
  const int64_t max_count = std::numeric_limits<int64_t>::max() / item_size;
  auto count = NpyNumElements(header->shape, max_count);
  if (!count.ok() || *count * item_size != data_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": shape ", ShapeString(header->shape), " of '", header->descr, "' needs ",
        count.ok() ? absl::StrCat(*count * item_size)
                   : absl::StrCat("more than ", max_count * item_size),
        " bytes of data but the file has ", data_size));
  }

  NpyArray array;
  array.descr = std::move(header->descr);
  array.shape = std::move(header->shape);
  array.data.resize(static_cast<size_t>(data_size));
  if (data_size > 0 && !in.read(array.data.data(), data_size)) {
    return absl::DataLossError(absl::StrCat(path, ": cannot read ", data_size, " bytes of data"));
  }
  return array;
}

absl::StatusOr<std::string> EncodeNpyHeader(const NpyArray& array) {
  QUANTD_RETURN_IF_ERROR(CheckSupportedDescr(array.descr));
  const int64_t item_size = NpyItemSize(array.descr);
  QUANTD_ASSIGN_OR_RETURN(
      int64_t count, NpyNumElements(array.shape, std::numeric_limits<int64_t>::max() / item_size));
  if (count * item_size != static_cast<int64_t>(array.data.size())) {
    return absl::InvalidArgumentError(absl::StrCat("shape ", ShapeString(array.shape), " of '",
                                                   array.descr, "' needs ", count * item_size,
                                                   " bytes but the array has ", array.data.size()));
  }

  std::string dict =
      absl::StrCat("{'descr': '", array.descr,
                   "', 'fortran_order': False, 'shape': ", ShapeString(array.shape), ", }");
  // The dictionary is padded with spaces and ends in '\n' so that the data
  // starts on an aligned offset.
  auto padded_size = [&](int64_t prefix_size) {
    const int64_t unpadded = prefix_size + static_cast<int64_t>(dict.size()) + 1;
    return (unpadded + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment - prefix_size;
  };
  int major = 1;
  int64_t prefix_size = 10;
  int64_t header_size = padded_size(prefix_size);
  if (header_size > std::numeric_limits<uint16_t>::max()) {
    major = 2;
    prefix_size = 12;
    header_size = padded_size(prefix_size);
  }
  dict.append(static_cast<size_t>(header_size) - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string header(kMagic);
  header.push_back(static_cast<char>(major));
  header.push_back(0);
  for (int64_t i = 0; i < prefix_size - 8; ++i) {
    header.push_back(static_cast<char>((header_size >> (8 * i)) & 0xff));
  }
  header.append(dict);
  return header;
}

absl::Status WriteNpy(const std::string& path, const NpyArray& array) {
  auto header = EncodeNpyHeader(array);
  if (!header.ok()) return WithFile(path, header.status());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  }
  // Header and data are written separately so that a large tensor is never
  // copied into a file image first.
  out.write(header->data(), static_cast<std::streamsize>(header->size()));
  out.write(array.data.data(), static_cast<std::streamsize>(array.data.size()));
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

}  // namespace quantd::client
