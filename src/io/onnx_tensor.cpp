// read_onnx_tensor (include/ellesmere/tensor_io.hpp): one serialized onnx.TensorProto, as in ONNX's
// test_data_set_*/*.pb, decoded with libonnx's generated protobuf classes. Used by tests and tools.
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "ellesmere/error.hpp"
#include "ellesmere/tensor_io.hpp"
#include "io/file_reading.hpp"

namespace ellesmere {

namespace {

static_assert(std::endian::native == std::endian::little, "raw_data is little-endian, and so is Tensor::data");

using onnx::TensorProto;

std::string dims_string(const TensorProto& proto) {
  return fmt::format("({}{})", fmt::join(proto.dims(), ", "), proto.dims_size() == 1 ? "," : "");
}

std::string data_type_string(int data_type) {
  const char* name = TensorProto::DataType_IsValid(data_type)
                         ? TensorProto::DataType_Name(static_cast<TensorProto::DataType>(data_type)).c_str()
                         : "unknown";
  return fmt::format("{} ({})", data_type, name);
}

// Copies int32_data into a narrower type. The field is shared by INT8, UINT8 and FLOAT16 (as uint16 bit
// patterns), so a value outside the type's range means a corrupt or mislabelled tensor, not something to clamp.
template <class T>
void narrow_int32_data(const std::string& path, const TensorProto& proto, std::int64_t lo, std::int64_t hi,
                       std::vector<std::byte>& out) {
  const auto& src = proto.int32_data();
  out.resize(static_cast<std::size_t>(src.size()) * sizeof(T));
  for (int i = 0; i < src.size(); ++i) {
    if (src[i] < lo || src[i] > hi) {
      throw FileError(path, fmt::format("int32_data[{}] = {} is out of range [{}, {}] for data_type {}", i, src[i], lo,
                                        hi, data_type_string(proto.data_type())));
    }
    const T v = static_cast<T>(src[i]);
    std::memcpy(out.data() + static_cast<std::size_t>(i) * sizeof(T), &v, sizeof(T));
  }
}

}  // namespace

Tensor read_onnx_tensor(const std::string& path) {
  io::OpenedFile file = io::open_for_reading(path);
  std::string bytes(static_cast<std::size_t>(file.size), '\0');
  if (file.size > 0 && !file.stream.read(bytes.data(), std::streamsize(file.size))) {
    throw FileError(path, fmt::format("read error: {}", std::strerror(errno)));
  }
  return parse_onnx_tensor(bytes, path);
}

Tensor parse_onnx_tensor(std::string_view bytes, const std::string& path) {
  TensorProto proto;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw FileError(path, fmt::format("not a valid serialized onnx.TensorProto ({} bytes; protobuf parsing failed, "
                                      "e.g. truncated or not protobuf)",
                                      bytes.size()));
  }
  // Protobuf accepts an empty file, and many short garbage inputs, as a message with some fields unset. A tensor
  // without a data_type is the first sign of that.
  if (proto.data_type() == TensorProto::UNDEFINED) {
    throw FileError(path, fmt::format("TensorProto has no data_type (0 = UNDEFINED; {} bytes): an empty file or not "
                                      "a TensorProto",
                                      bytes.size()));
  }
  if (proto.data_location() == TensorProto::EXTERNAL || proto.external_data_size() > 0) {
    std::string location;
    for (const auto& entry : proto.external_data()) {
      if (entry.key() == "location") location = entry.value();
    }
    throw FileError(path, fmt::format("external data not supported (tensor '{}' refers to '{}')", proto.name(),
                                      location));
  }
  if (proto.has_segment()) throw FileError(path, "segmented TensorProto (one chunk of a larger tensor) not supported");

  Tensor t;
  const char* typed_field = nullptr;  // the repeated field this data_type uses when raw_data is absent
  switch (proto.data_type()) {
    case TensorProto::FLOAT: t.dtype = DType::f32; typed_field = "float_data"; break;
    case TensorProto::FLOAT16: t.dtype = DType::f16; typed_field = "int32_data"; break;
    case TensorProto::INT8: t.dtype = DType::i8; typed_field = "int32_data"; break;
    case TensorProto::UINT8: t.dtype = DType::u8; typed_field = "int32_data"; break;
    case TensorProto::INT32: t.dtype = DType::i32; typed_field = "int32_data"; break;
    default:
      throw FileError(path, fmt::format("TensorProto data_type {} is not supported; supported: FLOAT, FLOAT16, INT8, "
                                        "UINT8, INT32",
                                        data_type_string(proto.data_type())));
  }

  t.shape.assign(proto.dims().begin(), proto.dims().end());
  std::int64_t count = 0;
  try {
    count = t.element_count();
  } catch (const InvalidArgument& e) {
    throw FileError(path, fmt::format("invalid dims: {}", e.what()));
  }

  // Data in a field this data_type never uses means the proto is mislabelled or garbage; don't guess.
  const std::pair<const char*, int> fields[] = {
      {"float_data", proto.float_data_size()},   {"int32_data", proto.int32_data_size()},
      {"int64_data", proto.int64_data_size()},   {"double_data", proto.double_data_size()},
      {"uint64_data", proto.uint64_data_size()}, {"string_data", proto.string_data_size()},
  };
  int typed_count = 0;
  for (const auto& [name, field_size] : fields) {
    if (field_size == 0) continue;
    if (proto.has_raw_data()) {
      throw FileError(path, fmt::format("TensorProto has both raw_data and {} {} values", field_size, name));
    }
    if (std::strcmp(name, typed_field) != 0) {
      throw FileError(path, fmt::format("data_type {} keeps its values in {} or raw_data, but the TensorProto has {} "
                                        "{} values",
                                        data_type_string(proto.data_type()), typed_field, field_size, name));
    }
    typed_count = field_size;
  }

  const std::size_t elem_size = dtype_size(t.dtype);
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const std::size_t needed = static_cast<std::size_t>(count) * elem_size;
    if (raw.size() != needed) {
      throw FileError(path, fmt::format("dims {} imply {} elements of data_type {} ({} bytes) but raw_data holds {} "
                                        "bytes",
                                        dims_string(proto), count, data_type_string(proto.data_type()), needed,
                                        raw.size()));
    }
    t.data.resize(needed);
    if (needed > 0) std::memcpy(t.data.data(), raw.data(), needed);
    return t;
  }

  if (typed_count != count) {
    throw FileError(path, fmt::format("dims {} imply {} elements of data_type {} but {} holds {} (and there is no "
                                      "raw_data)",
                                      dims_string(proto), count, data_type_string(proto.data_type()), typed_field,
                                      typed_count));
  }
  switch (t.dtype) {
    case DType::f32:
      t.data.resize(static_cast<std::size_t>(count) * elem_size);
      if (count > 0) std::memcpy(t.data.data(), proto.float_data().data(), t.data.size());
      break;
    case DType::i32:
      t.data.resize(static_cast<std::size_t>(count) * elem_size);
      if (count > 0) std::memcpy(t.data.data(), proto.int32_data().data(), t.data.size());
      break;
    case DType::f16: narrow_int32_data<std::uint16_t>(path, proto, 0, 0xffff, t.data); break;
    case DType::i8: narrow_int32_data<std::int8_t>(path, proto, -128, 127, t.data); break;
    case DType::u8: narrow_int32_data<std::uint8_t>(path, proto, 0, 255, t.data); break;
  }
  return t;
}

}  // namespace ellesmere
