// NumPy .npy reading and writing (read_npy / write_npy from include/ellesmere/tensor_io.hpp), for tests and tools
// that exchange tensors with Python. Format reference: numpy/lib/format.py.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/tensor_io.hpp"
#include "io/file_reading.hpp"

namespace ellesmere {

namespace {

static_assert(std::endian::native == std::endian::little, "tensor data is kept little-endian, as on the host");

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::size_t kVersion1Prefix = 10;   // magic, major, minor, uint16 header length
constexpr std::size_t kVersion2Prefix = 12;   // ... uint32 header length (versions 2.0 and 3.0)
constexpr std::size_t kDataAlignment = 64;    // numpy aligns the data so it can be memory-mapped
constexpr std::size_t kMaxQuotedHeader = 200; // header text echoed in error messages

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
};

const char* npy_descr(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f16: return "<f2";
    case DType::i8: return "|i1";
    case DType::u8: return "|u1";
    case DType::i32: return "<i4";
  }
  return "?";
}

// Parses the Python dict literal numpy writes, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
// numpy itself evaluates it with ast.literal_eval, so accept what that accepts for these three keys: either quote
// style, any key order, any spacing, an optional trailing comma.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

  Header parse() {
    Header h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (consume('}')) break;
      const std::string key = parse_string("a quoted key");
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        mark_seen(seen_descr, key);
        if (peek() == '[') fail("structured dtypes (descr given as a list) are not supported");
        h.descr = parse_string("a quoted descr such as '<f4'");
      } else if (key == "fortran_order") {
        mark_seen(seen_fortran, key);
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        mark_seen(seen_shape, key);
        h.shape = parse_shape();
      } else {
        fail(fmt::format("unexpected key '{}' (a .npy header holds only 'descr', 'fortran_order' and 'shape')", key));
      }
      skip_space();
      if (consume('}')) break;
      expect(',');
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the closing '}'");
    for (auto [seen, key] : {std::pair{seen_descr, "descr"}, {seen_fortran, "fortran_order"}, {seen_shape, "shape"}}) {
      if (!seen) throw FileError(path_, fmt::format("header has no '{}' key: {}", key, quoted_text()));
    }
    return h;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw FileError(path_, fmt::format("malformed header: {} at header byte {} of {}", what, pos_, quoted_text()));
  }

  std::string quoted_text() const {
    if (text_.size() <= kMaxQuotedHeader) return fmt::format("{:?}", text_);
    return fmt::format("{:?}...", text_.substr(0, kMaxQuotedHeader));
  }

  void mark_seen(bool& seen, const std::string& key) const {
    if (seen) fail(fmt::format("duplicate key '{}'", key));
    seen = true;
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  void expect(char c) {
    if (!consume(c)) fail(fmt::format("expected '{}'", c));
  }

  std::string parse_string(std::string_view what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(fmt::format("expected {}", what));
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }

  bool parse_bool() {
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("expected True or False for 'fortran_order'");
  }

  std::vector<std::int64_t> parse_shape() {
    std::vector<std::int64_t> shape;
    expect('(');
    for (;;) {
      skip_space();
      if (consume(')')) break;
      shape.push_back(parse_dim());
      skip_space();
      if (consume(')')) break;
      expect(',');
    }
    return shape;
  }

  std::int64_t parse_dim() {
    const bool negative = consume('-');
    if (peek() < '0' || peek() > '9') fail("expected an integer in 'shape'");
    std::int64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = text_[pos_] - '0';
      if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10) fail("dimension too large in 'shape'");
      value = value * 10 + digit;
      ++pos_;
    }
    consume('L');  // Python 2 numpy wrote longs as 3L
    return negative ? -value : value;
  }

  const std::string& path_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

// Maps a numpy descr to a DType. '=' (native) and '|' (not applicable) both mean little-endian here, and byte
// order is irrelevant for one-byte types, so only multi-byte '>' is refused.
DType dtype_from_descr(const std::string& path, const std::string& descr) {
  std::string_view code = descr;
  char order = '=';
  if (!code.empty() && std::string_view("<>=|").find(code.front()) != std::string_view::npos) {
    order = code.front();
    code.remove_prefix(1);
  }
  std::optional<DType> dtype;
  if (code == "f4") dtype = DType::f32;
  else if (code == "f2") dtype = DType::f16;
  else if (code == "i1") dtype = DType::i8;
  else if (code == "u1") dtype = DType::u8;
  else if (code == "i4") dtype = DType::i32;
  if (!dtype) {
    throw FileError(path, fmt::format("unsupported descr '{}'; supported: '<f4', '<f2', '|i1', '|u1', '<i4'", descr));
  }
  if (order == '>' && dtype_size(*dtype) > 1) {
    throw FileError(path, fmt::format("unsupported descr '{}': big-endian data is not supported", descr));
  }
  return *dtype;
}

std::uint32_t read_le(const unsigned char* p, std::size_t bytes) {
  std::uint32_t v = 0;
  for (std::size_t i = bytes; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// numpy stores fortran_order arrays column-major; walk the C-order index and gather from the Fortran offset.
// Kept out of line: inlined into read_npy, GCC 12 reports a false -Wfree-nonheap-object on its vectors.
[[gnu::noinline]] std::vector<std::byte> fortran_to_c(const std::vector<std::byte>& src, const std::vector<std::int64_t>& shape,
                                    std::size_t elem_size) {
  std::vector<std::byte> dst(src.size());
  const std::size_t n = shape.size();
  const std::size_t count = src.size() / elem_size;
  // No elements: nothing to move, and the strides of the dimensions before a zero one could overflow int64.
  if (count == 0) return dst;
  std::vector<std::int64_t> fortran_stride(n);
  std::int64_t stride = 1;
  for (std::size_t k = 0; k < n; ++k) {
    fortran_stride[k] = stride;
    stride *= shape[k];
  }
  std::vector<std::int64_t> index(n, 0);
  std::int64_t src_elem = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(dst.data() + i * elem_size, src.data() + static_cast<std::size_t>(src_elem) * elem_size, elem_size);
    for (std::size_t k = n; k-- > 0;) {
      if (++index[k] < shape[k]) {
        src_elem += fortran_stride[k];
        break;
      }
      src_elem -= (shape[k] - 1) * fortran_stride[k];
      index[k] = 0;
    }
  }
  return dst;
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& path) {
  const std::uint64_t file_size = bytes.size();
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());

  if (std::memcmp(data, kMagic.data(), std::min<std::uint64_t>(file_size, kMagic.size())) != 0) {
    throw FileError(path, "not a .npy file: it does not start with the magic \"\\x93NUMPY\"");
  }
  if (file_size < 8) {
    throw FileError(path, fmt::format("truncated: the file is only {} bytes, shorter than the .npy preamble",
                                      file_size));
  }
  const int major = data[6], minor = data[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0)) {
    throw FileError(path, fmt::format("unsupported .npy format version {}.{}; supported: 1.0, 2.0, 3.0", major, minor));
  }
  const std::size_t prefix_size = major == 1 ? kVersion1Prefix : kVersion2Prefix;
  if (file_size < prefix_size) {
    throw FileError(path, fmt::format("truncated: the file ends inside the header length ({} bytes, need {})",
                                      file_size, prefix_size));
  }
  const std::uint64_t header_len = read_le(data + 8, prefix_size - 8);
  if (prefix_size + header_len > file_size) {
    throw FileError(path, fmt::format("truncated: header length {} at byte 8 runs past the end of the file "
                                      "({} bytes, header would end at {})",
                                      header_len, file_size, prefix_size + header_len));
  }
  const std::string header_text(bytes.substr(prefix_size, header_len));

  const Header header = HeaderParser(path, header_text).parse();
  Tensor t;
  t.dtype = dtype_from_descr(path, header.descr);
  t.shape = header.shape;
  std::int64_t count = 0;
  try {
    count = t.element_count();
  } catch (const InvalidArgument& e) {
    throw FileError(path, fmt::format("header declares an invalid shape: {}", e.what()));
  }

  // Compare with the file size before allocating, so a corrupt shape cannot request terabytes. count fits in
  // int64 (element_count checks), and a product with dtype_size that overflowed would fail the comparison below
  // only by luck: check it explicitly.
  const std::uint64_t data_offset = prefix_size + header_len;
  const std::uint64_t available = file_size - data_offset;
  const std::uint64_t elem_size = dtype_size(t.dtype);
  if (static_cast<std::uint64_t>(count) > available / elem_size) {
    throw FileError(path, fmt::format("header declares shape {} = {} elements of {} ({} bytes) but only {} bytes of "
                                      "data follow",
                                      shape_string(t.shape), count, header.descr,
                                      static_cast<double>(count) * static_cast<double>(elem_size), available));
  }
  const std::uint64_t needed = static_cast<std::uint64_t>(count) * elem_size;
  if (available > needed) {
    // Trailing bytes mean the header and the data disagree (a wrong shape or dtype), not harmless padding.
    throw FileError(path, fmt::format("{} bytes of trailing data after the {} bytes that shape {} of {} declares",
                                      available - needed, needed, shape_string(t.shape), header.descr));
  }
  t.data.resize(needed);
  if (needed > 0) std::memcpy(t.data.data(), data + data_offset, needed);

  if (header.fortran_order && t.shape.size() > 1) t.data = fortran_to_c(t.data, t.shape, dtype_size(t.dtype));
  return t;
}

Tensor read_npy(const std::string& path) {
  io::OpenedFile file = io::open_for_reading(path);
  std::string bytes(static_cast<std::size_t>(file.size), '\0');
  if (file.size > 0 && !file.stream.read(bytes.data(), static_cast<std::streamsize>(file.size))) {
    throw FileError(path, fmt::format("read error: {}", std::strerror(errno)));
  }
  return parse_npy(bytes, path);
}

void write_npy(const std::string& path, const Tensor& tensor) {
  const std::int64_t count = tensor.element_count();
  const std::size_t bytes = static_cast<std::size_t>(count) * dtype_size(tensor.dtype);
  if (tensor.data.size() != bytes) {
    throw InvalidArgument(fmt::format("write_npy({}): shape {} of {} needs {} bytes of data but the tensor holds {}",
                                      path, shape_string(tensor.shape), dtype_name(tensor.dtype), bytes,
                                      tensor.data.size()));
  }

  const std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                       npy_descr(tensor.dtype), shape_string(tensor.shape));
  // Pad with spaces and end with '\n' so the data starts on a 64-byte boundary, as numpy does.
  auto padded_len = [&](std::size_t prefix) {
    const std::size_t unpadded = prefix + dict.size() + 1;
    return dict.size() + 1 + (kDataAlignment - unpadded % kDataAlignment) % kDataAlignment;
  };
  const bool version1 = padded_len(kVersion1Prefix) <= 0xffff;
  const std::size_t prefix_size = version1 ? kVersion1Prefix : kVersion2Prefix;
  const std::size_t header_len = padded_len(prefix_size);

  std::string head(kMagic);
  head += static_cast<char>(version1 ? 1 : 2);
  head += '\0';
  for (std::size_t i = 0; i < prefix_size - 8; ++i) head += static_cast<char>((header_len >> (8 * i)) & 0xff);
  head += dict;
  head.append(header_len - dict.size() - 1, ' ');
  head += '\n';

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw FileError(path, fmt::format("cannot open for writing: {}", std::strerror(errno)));
  out.write(head.data(), static_cast<std::streamsize>(head.size()));
  out.write(reinterpret_cast<const char*>(tensor.data.data()), static_cast<std::streamsize>(bytes));
  out.close();
  if (!out) {
    const int err = errno;
    std::remove(path.c_str());  // a half-written .npy would later fail with a confusing "too little data"
    throw FileError(path, fmt::format("writing {} bytes failed: {}", head.size() + bytes, std::strerror(err)));
  }
}

}  // namespace ellesmere
