// Tensor basics from include/ellesmere/tensor_io.hpp: dtype names and sizes, checked element counts and the
// typed views. Used by the .npy and .pb readers (src/io/npy.cpp, src/io/onnx_tensor.cpp) and by their callers.
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/tensor_io.hpp"

namespace ellesmere {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  return fmt::format("({}{})", fmt::join(shape, ", "), shape.size() == 1 ? "," : "");
}

namespace {

// Far beyond any host memory, yet small enough that count * dtype_size (at most 4) cannot overflow int64 or
// size_t, so callers may multiply without further checks.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 48;

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<std::uint16_t>() { return DType::f16; }
template <> constexpr DType dtype_of<std::int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }

// A Tensor whose byte count disagrees with its shape would make the views read past (or short of) the data.
void check_data_size(const Tensor& t) {
  const auto expected = static_cast<std::size_t>(t.element_count()) * dtype_size(t.dtype);
  if (t.data.size() != expected) {
    throw InvalidArgument(fmt::format("tensor of shape {} and dtype {} needs {} bytes of data but holds {}",
                                      shape_string(t.shape), dtype_name(t.dtype), expected, t.data.size()));
  }
}

template <class T> void check_view(const Tensor& t) {
  if (t.dtype != dtype_of<T>()) {
    throw InvalidArgument(fmt::format("Tensor::values<{}>() called on a tensor of dtype {}",
                                      dtype_name(dtype_of<T>()), dtype_name(t.dtype)));
  }
  check_data_size(t);
}

}  // namespace

const char* dtype_name(DType t) noexcept {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::i8: return "i8";
    case DType::u8: return "u8";
    case DType::i32: return "i32";
  }
  return "unknown";
}

std::size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16: return 2;
    case DType::i8: return 1;
    case DType::u8: return 1;
    case DType::i32: return 4;
  }
  return 0;
}

std::int64_t Tensor::element_count() const {
  std::int64_t count = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw InvalidArgument(fmt::format("shape {} has a negative dimension ({})", shape_string(shape), d));
  }
  for (const std::int64_t d : shape) {
    if (d == 0) return 0;  // a zero anywhere wins, even after dimensions whose product alone would be too large
  }
  for (const std::int64_t d : shape) {
    if (d > kMaxElements / count) {
      throw InvalidArgument(fmt::format("shape {} has more than 2^48 elements", shape_string(shape)));
    }
    count *= d;
  }
  return count;
}

template <class T> std::span<const T> Tensor::values() const {
  check_view<T>(*this);
  return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
}

template <class T> std::span<T> Tensor::values() {
  check_view<T>(*this);
  return {reinterpret_cast<T*>(data.data()), data.size() / sizeof(T)};
}

template <class T> Tensor Tensor::from(std::vector<std::int64_t> shape, std::span<const T> values) {
  Tensor t;
  t.dtype = dtype_of<T>();
  t.shape = std::move(shape);
  const std::int64_t count = t.element_count();
  if (static_cast<std::size_t>(count) != values.size()) {
    throw InvalidArgument(fmt::format("Tensor::from: shape {} has {} elements but {} values were given",
                                      shape_string(t.shape), count, values.size()));
  }
  t.data.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), values.size_bytes());
  return t;
}

#define ELLESMERE_INSTANTIATE(T)                                                                    \
  template std::span<const T> Tensor::values<T>() const;                                           \
  template std::span<T> Tensor::values<T>();                                                       \
  template Tensor Tensor::from<T>(std::vector<std::int64_t> shape, std::span<const T> values);
ELLESMERE_INSTANTIATE(float)
ELLESMERE_INSTANTIATE(std::uint16_t)
ELLESMERE_INSTANTIATE(std::int8_t)
ELLESMERE_INSTANTIATE(std::uint8_t)
ELLESMERE_INSTANTIATE(std::int32_t)
#undef ELLESMERE_INSTANTIATE

}  // namespace ellesmere
