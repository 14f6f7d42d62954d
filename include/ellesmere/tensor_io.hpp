// Tensor files for tests and tools: NumPy .npy (read and write) and ONNX TensorProto .pb (read).
// Host-side only; no OpenCL. Malformed files throw ellesmere::FileError naming the path and what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <string>
#include <vector>

namespace ellesmere {

// Element types a tensor file may hold. f16 is kept as raw IEEE binary16 bits (uint16_t).
enum class DType { f32, f16, i8, u8, i32 };

const char* dtype_name(DType t) noexcept;   // "f32", "f16", "i8", "u8", "i32"
// A shape as Python writes a tuple, which is how numpy users know it: "()", "(5,)", "(3, 4)".
std::string shape_string(const std::vector<std::int64_t>& shape);
std::size_t dtype_size(DType t) noexcept;   // bytes per element

// A dense, C-order (row-major), little-endian tensor held on the host.
struct Tensor {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;   // empty shape = scalar (one element)
  std::vector<std::byte> data;       // element_count() * dtype_size(dtype) bytes

  std::int64_t element_count() const;  // product of shape (1 for a scalar)

  // Typed views; throw InvalidArgument when T does not match dtype
  // (float <-> f32, uint16_t <-> f16, int8_t <-> i8, uint8_t <-> u8, int32_t <-> i32).
  template <class T> std::span<const T> values() const;
  template <class T> std::span<T> values();

  // Builds a tensor from typed values; throws InvalidArgument when the shape's product != values.size().
  template <class T> static Tensor from(std::vector<std::int64_t> shape, std::span<const T> values);
};

// NumPy .npy, format versions 1.0, 2.0 and 3.0. Reads '<f4', '<f2', '|i1', '|u1', '<i4' (and the '=' / '|' byte-order
// spellings numpy uses for these); fortran_order arrays are converted to C order. Big-endian data and other
// dtypes are rejected with a FileError naming the descr.
Tensor read_npy(const std::string& path);
// The same from the file's bytes in memory; name labels errors (FileError's path).
Tensor parse_npy(std::string_view bytes, const std::string& name = "<npy bytes>");
void write_npy(const std::string& path, const Tensor& tensor);   // writes format 1.0 (2.0 if the header needs it)

// One serialized onnx.TensorProto, as in ONNX's test_data_set_*/input_*.pb. Supports FLOAT, FLOAT16, INT8, UINT8
// and INT32 from raw_data or the typed repeated fields; external data, other element types and an element count
// that does not match dims are FileErrors.
Tensor read_onnx_tensor(const std::string& path);
// The same from the serialized bytes in memory; name labels errors (FileError's path).
Tensor parse_onnx_tensor(std::string_view bytes, const std::string& name = "<TensorProto bytes>");

}  // namespace ellesmere
