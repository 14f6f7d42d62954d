// Graph plumbing: HostTensor conversions, node attribute access, tensor files, binding inputs, and shape inference
// for every op the pipeline runs (graph.hpp).
#include <algorithm>
#include <limits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "io/file_reading.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/host_ops.hpp"

namespace ellesmere::pipeline {

const char* elem_type_name(ElemType t) noexcept {
  switch (t) {
    case ElemType::f32: return "float32";
    case ElemType::f16: return "float16";
    case ElemType::f64: return "float64";
    case ElemType::i8: return "int8";
    case ElemType::u8: return "uint8";
    case ElemType::i32: return "int32";
    case ElemType::i64: return "int64";
    case ElemType::boolean: return "bool";
  }
  return "?";
}

std::size_t elem_size(ElemType t) noexcept {
  switch (t) {
    case ElemType::f32: case ElemType::i32: return 4;
    case ElemType::f16: return 2;
    case ElemType::f64: case ElemType::i64: return 8;
    case ElemType::i8: case ElemType::u8: case ElemType::boolean: return 1;
  }
  return 1;
}

bool is_device_type(ElemType t) noexcept {
  return t == ElemType::f32 || t == ElemType::u8 || t == ElemType::i8 || t == ElemType::i32;
}

std::string shape_text(const Shape& shape) { return shape_string(shape); }

std::int64_t element_count(const Shape& shape) {
  Tensor t;
  t.shape = shape;
  return t.element_count();
}

// ---- HostTensor -------------------------------------------------------------------------------------------------

namespace {
template <class T> constexpr ElemType type_of();
template <> constexpr ElemType type_of<float>() { return ElemType::f32; }
template <> constexpr ElemType type_of<std::uint16_t>() { return ElemType::f16; }
template <> constexpr ElemType type_of<double>() { return ElemType::f64; }
template <> constexpr ElemType type_of<std::int8_t>() { return ElemType::i8; }
template <> constexpr ElemType type_of<std::uint8_t>() { return ElemType::u8; }
template <> constexpr ElemType type_of<std::int32_t>() { return ElemType::i32; }
template <> constexpr ElemType type_of<std::int64_t>() { return ElemType::i64; }

template <class T> T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
}  // namespace

template <class T> std::span<const T> HostTensor::as() const {
  if (type_of<T>() != type && !(std::is_same_v<T, std::uint8_t> && type == ElemType::boolean)) {
    throw InvalidArgument(fmt::format("tensor of {} read as {}", elem_type_name(type), elem_type_name(type_of<T>())));
  }
  return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
}
template <class T> std::span<T> HostTensor::as() {
  if (type_of<T>() != type && !(std::is_same_v<T, std::uint8_t> && type == ElemType::boolean)) {
    throw InvalidArgument(fmt::format("tensor of {} read as {}", elem_type_name(type), elem_type_name(type_of<T>())));
  }
  return {reinterpret_cast<T*>(data.data()), data.size() / sizeof(T)};
}
#define ELLESMERE_HOST_TENSOR_AS(T)                              \
  template std::span<const T> HostTensor::as<T>() const;         \
  template std::span<T> HostTensor::as<T>();
ELLESMERE_HOST_TENSOR_AS(float)
ELLESMERE_HOST_TENSOR_AS(std::uint16_t)
ELLESMERE_HOST_TENSOR_AS(double)
ELLESMERE_HOST_TENSOR_AS(std::int8_t)
ELLESMERE_HOST_TENSOR_AS(std::uint8_t)
ELLESMERE_HOST_TENSOR_AS(std::int32_t)
ELLESMERE_HOST_TENSOR_AS(std::int64_t)
#undef ELLESMERE_HOST_TENSOR_AS

std::vector<double> HostTensor::to_doubles() const {
  const std::size_t n = data.size() / elem_size(type);
  std::vector<double> out(n);
  const std::byte* p = data.data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (type) {
      case ElemType::f32: out[i] = load<float>(p + 4 * i); break;
      case ElemType::f16: out[i] = half_to_float(load<std::uint16_t>(p + 2 * i)); break;
      case ElemType::f64: out[i] = load<double>(p + 8 * i); break;
      case ElemType::i8: out[i] = load<std::int8_t>(p + i); break;
      case ElemType::u8: case ElemType::boolean: out[i] = load<std::uint8_t>(p + i); break;
      case ElemType::i32: out[i] = load<std::int32_t>(p + 4 * i); break;
      case ElemType::i64: out[i] = double(load<std::int64_t>(p + 8 * i)); break;
    }
  }
  return out;
}

std::vector<std::int64_t> HostTensor::to_int64s() const {
  if (type == ElemType::i64) {
    const auto v = as<std::int64_t>();
    return {v.begin(), v.end()};
  }
  const std::vector<double> d = to_doubles();
  std::vector<std::int64_t> out(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (!std::isfinite(d[i]) || d[i] != std::trunc(d[i])) {
      throw InvalidArgument(fmt::format("value {} at index {} of a {} tensor is not an integer", d[i], i,
                                        elem_type_name(type)));
    }
    // A float beyond int64's range: converting it would be undefined (2^63 itself is not representable).
    if (!(d[i] >= -9223372036854775808.0 && d[i] < 9223372036854775808.0)) {
      throw InvalidArgument(fmt::format("value {} at index {} of a {} tensor is outside int64's range", d[i], i,
                                        elem_type_name(type)));
    }
    out[i] = std::int64_t(d[i]);
  }
  return out;
}

std::vector<float> HostTensor::to_floats() const {
  if (type == ElemType::f32) {
    const auto v = as<float>();
    return {v.begin(), v.end()};
  }
  const std::vector<double> d = to_doubles();
  std::vector<float> out(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[i] = static_cast<float>(d[i]);
    // A finite value that float32 cannot hold would become Inf without a word: refuse it (NaN and Inf stay).
    if (std::isfinite(d[i]) && !std::isfinite(out[i])) {
      throw InvalidArgument(fmt::format("value {} at index {} of a {} tensor is beyond float32's range", d[i], i,
                                        elem_type_name(type)));
    }
  }
  return out;
}

HostTensor HostTensor::floats(Shape shape, std::vector<float> values) {
  HostTensor t;
  t.type = ElemType::f32;
  t.shape = std::move(shape);
  if (std::size_t(t.count()) != values.size()) {
    throw InvalidArgument(fmt::format("{} values for shape {}", values.size(), shape_text(t.shape)));
  }
  t.data.resize(values.size() * 4);
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

HostTensor HostTensor::int64s(Shape shape, const std::vector<std::int64_t>& values) {
  HostTensor t;
  t.type = ElemType::i64;
  t.shape = std::move(shape);
  if (std::size_t(t.count()) != values.size()) {
    throw InvalidArgument(fmt::format("{} values for shape {}", values.size(), shape_text(t.shape)));
  }
  t.data.resize(values.size() * 8);
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

HostTensor HostTensor::of(ElemType type, Shape shape) {
  HostTensor t;
  t.type = type;
  t.shape = std::move(shape);
  t.data.assign(std::size_t(t.count()) * elem_size(type), std::byte{0});
  return t;
}

HostTensor HostTensor::from(const Tensor& t) {
  HostTensor h;
  switch (t.dtype) {
    case DType::f32: h.type = ElemType::f32; break;
    case DType::f16: h.type = ElemType::f16; break;
    case DType::i8: h.type = ElemType::i8; break;
    case DType::u8: h.type = ElemType::u8; break;
    case DType::i32: h.type = ElemType::i32; break;
  }
  h.shape = t.shape;
  h.data = t.data;
  return h;
}

Tensor HostTensor::to_tensor() const {
  Tensor t;
  switch (type) {
    case ElemType::f32: t.dtype = DType::f32; break;
    case ElemType::f16: t.dtype = DType::f16; break;
    case ElemType::i8: t.dtype = DType::i8; break;
    case ElemType::u8: t.dtype = DType::u8; break;
    case ElemType::i32: t.dtype = DType::i32; break;
    default:
      throw InvalidArgument(fmt::format("a {} tensor cannot be written as .npy here (float32, float16, int8, uint8 "
                                        "and int32 can)",
                                        elem_type_name(type)));
  }
  t.shape = shape;
  t.data = data;
  return t;
}

// ---- Node and Graph ----------------------------------------------------------------------------------------------

std::string Node::label() const { return fmt::format("'{}' ({})", name, op); }

std::int64_t Node::get_int(const std::string& attr, std::int64_t fallback) const {
  const auto it = attrs.find(attr);
  if (it == attrs.end()) return fallback;
  if (it->second.kind != Attribute::Kind::i) {
    throw InvalidArgument(fmt::format("node {}: attribute '{}' should be an integer", label(), attr));
  }
  return it->second.i;
}

float Node::get_float(const std::string& attr, float fallback) const {
  const auto it = attrs.find(attr);
  if (it == attrs.end()) return fallback;
  if (it->second.kind == Attribute::Kind::i) return float(it->second.i);
  if (it->second.kind != Attribute::Kind::f) {
    throw InvalidArgument(fmt::format("node {}: attribute '{}' should be a float", label(), attr));
  }
  return it->second.f;
}

std::string Node::get_string(const std::string& attr, const std::string& fallback) const {
  const auto it = attrs.find(attr);
  if (it == attrs.end()) return fallback;
  if (it->second.kind != Attribute::Kind::s) {
    throw InvalidArgument(fmt::format("node {}: attribute '{}' should be a string", label(), attr));
  }
  return it->second.s;
}

std::vector<std::int64_t> Node::get_ints(const std::string& attr, std::vector<std::int64_t> fallback) const {
  const auto it = attrs.find(attr);
  if (it == attrs.end()) return fallback;
  if (it->second.kind != Attribute::Kind::ints) {
    throw InvalidArgument(fmt::format("node {}: attribute '{}' should be a list of integers", label(), attr));
  }
  return it->second.ints;
}

const std::string& Node::input(std::size_t i) const {
  static const std::string empty;
  return i < inputs.size() ? inputs[i] : empty;
}

const HostTensor& Graph::constant(const std::string& value) const {
  const auto it = constants.find(value);
  if (it == constants.end()) throw InvalidArgument(fmt::format("'{}' is not a constant of the model", value));
  return it->second;
}

std::vector<std::size_t> Graph::consumers(const std::string& value) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (std::find(nodes[i].inputs.begin(), nodes[i].inputs.end(), value) != nodes[i].inputs.end()) out.push_back(i);
  }
  return out;
}

bool Graph::is_output(const std::string& value) const {
  return std::any_of(outputs.begin(), outputs.end(), [&](const ValueSpec& v) { return v.name == value; });
}

std::string check_against_spec(const ValueSpec& spec, ElemType type, const Shape& shape) {
  if (type != spec.type) {
    return fmt::format("'{}' is declared {} but the data is {}", spec.name, elem_type_name(spec.type),
                       elem_type_name(type));
  }
  if (!spec.shape_known) return {};
  if (shape.size() != spec.dims.size()) {
    return fmt::format("'{}' is declared with rank {} {} but the data has shape {}", spec.name, spec.dims.size(),
                       shape_text(spec.dims), shape_text(shape));
  }
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (spec.dims[i] >= 0 && spec.dims[i] != shape[i]) {
      return fmt::format("'{}' is declared with shape {} (-1: any) but the data has shape {} (dimension {} differs)",
                         spec.name, shape_text(spec.dims), shape_text(shape), i);
    }
  }
  return {};
}

void bind_constant_inputs(Graph& graph, const std::map<std::string, HostTensor>& values) {
  for (const auto& [name, value] : values) {
    const auto it = std::find_if(graph.inputs.begin(), graph.inputs.end(),
                                 [&n = name](const ValueSpec& v) { return v.name == n; });
    if (it == graph.inputs.end()) {
      throw InvalidArgument(fmt::format("{}: '{}' is not an input of the model", graph.origin, name));
    }
    const std::string bad = check_against_spec(*it, value.type, value.shape);
    if (!bad.empty()) throw InvalidArgument(fmt::format("{}: {}", graph.origin, bad));
    graph.constants[name] = value;
    graph.inputs.erase(it);
  }
  fold_and_check(graph);
}

// ---- Shape helpers -------------------------------------------------------------------------------------------------

std::int64_t normalize_axis(const Node& node, std::int64_t axis, std::int64_t rank) {
  const std::int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<std::int64_t>(rank, 1)) {
    throw InvalidArgument(fmt::format("node {}: axis {} is out of range for rank {}", node.label(), axis, rank));
  }
  return a;
}

Shape broadcast_shapes(const Node& node, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw InvalidArgument(fmt::format("node {}: shapes {} and {} do not broadcast (dimension {}: {} vs {})",
                                        node.label(), shape_text(a), shape_text(b), i, da, db));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape reshape_target(const Node& node, const Shape& in, const std::vector<std::int64_t>& requested) {
  const bool allowzero = node.get_int("allowzero", 0) != 0;
  Shape out(requested.size());
  std::int64_t known = 1;
  int infer_at = -1;
  for (std::size_t i = 0; i < requested.size(); ++i) {
    std::int64_t d = requested[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size()) {
        throw InvalidArgument(fmt::format("node {}: shape {} copies dimension {} (0) but the input {} has rank {}",
                                          node.label(), shape_text(requested), i, shape_text(in), in.size()));
      }
      d = in[i];
    }
    if (d == -1) {
      if (infer_at >= 0) {
        throw InvalidArgument(fmt::format("node {}: shape {} has more than one -1", node.label(),
                                          shape_text(requested)));
      }
      infer_at = int(i);
      continue;
    }
    if (d < 0) {
      throw InvalidArgument(fmt::format("node {}: shape {} has a negative dimension", node.label(),
                                        shape_text(requested)));
    }
    out[i] = d;
    // Checked: the requested shape is untrusted, and its product may exceed int64 (found by fuzz_onnx_model;
    // fuzz/regressions/onnx_model/). No tensor has more than 2^48 elements, so beyond that no reshape can match.
    if (d != 0 && known > (std::int64_t(1) << 48) / d) {
      throw InvalidArgument(fmt::format("node {}: shape {} has more than 2^48 elements", node.label(),
                                        shape_text(requested)));
    }
    known *= d;
  }
  const std::int64_t total = element_count(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) {
      throw InvalidArgument(fmt::format("node {}: cannot reshape {} ({} elements) to {}", node.label(),
                                        shape_text(in), total, shape_text(requested)));
    }
    out[std::size_t(infer_at)] = total / known;
  } else if (known != total) {
    throw InvalidArgument(fmt::format("node {}: cannot reshape {} ({} elements) to {} ({} elements)", node.label(),
                                      shape_text(in), total, shape_text(requested), known));
  }
  return out;
}

namespace {
// Largest kernel size, stride, dilation or pad a window takes: products of these with dimensions (< 2^48 elements)
// stay far inside int64.
constexpr std::int64_t kMaxWindowAttribute = std::numeric_limits<std::int32_t>::max();
}  // namespace

ConvGeometry conv_geometry(const Node& node, const Shape& x, std::int64_t kernel_h, std::int64_t kernel_w) {
  const bool one_d = x.size() == 3;
  if (x.size() != 4 && x.size() != 3) {
    throw NotSupported(fmt::format("node {}: input of shape {}: only 1-D (N, C, W) and 2-D (N, C, H, W) windows are "
                                   "supported",
                                   node.label(), shape_text(x)));
  }
  const std::size_t sd = one_d ? 1 : 2;   // spatial dims
  auto list = [&](const char* name, std::int64_t fallback, std::size_t count) {
    std::vector<std::int64_t> v = node.get_ints(name, std::vector<std::int64_t>(count, fallback));
    if (v.size() != count) {
      throw InvalidArgument(fmt::format("node {}: attribute '{}' has {} values for {} spatial dimensions",
                                        node.label(), name, v.size(), sd));
    }
    for (const auto e : v) {
      // An upper bound too: window arithmetic on int64 must not overflow (found by fuzz_onnx_model).
      if (e < (std::string(name) == "pads" ? 0 : 1) || e > kMaxWindowAttribute) {
        throw InvalidArgument(fmt::format("node {}: attribute '{}' = {} is out of range", node.label(), name,
                                          shape_text(v)));
      }
    }
    return v;
  };
  ConvGeometry g;
  std::vector<std::int64_t> kernel = node.get_ints("kernel_shape", {});
  if (kernel.empty()) {
    if (kernel_h <= 0) throw InvalidArgument(fmt::format("node {}: no kernel_shape", node.label()));
    kernel = one_d ? std::vector<std::int64_t>{kernel_w} : std::vector<std::int64_t>{kernel_h, kernel_w};
  }
  if (kernel.size() != sd) {
    throw InvalidArgument(fmt::format("node {}: kernel_shape {} for a {}-D input", node.label(), shape_text(kernel),
                                      sd));
  }
  for (const auto e : kernel) {
    if (e < 1 || e > kMaxWindowAttribute) {
      throw InvalidArgument(fmt::format("node {}: kernel_shape {} is out of range", node.label(), shape_text(kernel)));
    }
  }
  if (kernel_h > 0 && ((one_d ? 1 : kernel[0]) != kernel_h || kernel.back() != kernel_w)) {
    throw InvalidArgument(fmt::format("node {}: kernel_shape {} does not match the weight's window {}x{}",
                                      node.label(), shape_text(kernel), kernel_h, kernel_w));
  }
  const auto strides = list("strides", 1, sd);
  const auto dil = list("dilations", 1, sd);
  std::vector<std::int64_t> pads = list("pads", 0, 2 * sd);
  g.ceil_mode = node.get_int("ceil_mode", 0) != 0;
  const std::int64_t h = one_d ? 1 : x[2], w = x.back();
  g.kernel_h = one_d ? 1 : kernel[0];
  g.kernel_w = kernel.back();
  g.stride_h = one_d ? 1 : strides[0];
  g.stride_w = strides.back();
  g.dil_h = one_d ? 1 : dil[0];
  g.dil_w = dil.back();
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    auto same = [&](std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t& lo,
                    std::int64_t& hi) {
      const std::int64_t out = (in + s - 1) / s;
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
      lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    if (!one_d) same(h, g.kernel_h, g.stride_h, g.dil_h, g.pad_top, g.pad_bottom);
    same(w, g.kernel_w, g.stride_w, g.dil_w, g.pad_left, g.pad_right);
  } else if (auto_pad == "VALID") {
  } else if (auto_pad == "NOTSET") {
    if (one_d) {
      g.pad_left = pads[0];
      g.pad_right = pads[1];
    } else {
      g.pad_top = pads[0];
      g.pad_left = pads[1];
      g.pad_bottom = pads[2];
      g.pad_right = pads[3];
    }
  } else {
    throw InvalidArgument(fmt::format("node {}: unknown auto_pad '{}'", node.label(), auto_pad));
  }
  auto out_size = [&](std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t lo,
                      std::int64_t hi) {
    const std::int64_t span = in + lo + hi - (k - 1) * d - 1;
    if (span < 0) return std::int64_t(0);
    std::int64_t out = (g.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // ceil_mode: a window that would start in the end padding is dropped (as ONNX and PyTorch do).
    if (g.ceil_mode && (out - 1) * s >= in + lo) --out;
    return out;
  };
  g.out_h = out_size(h, g.kernel_h, g.stride_h, g.dil_h, g.pad_top, g.pad_bottom);
  g.out_w = out_size(w, g.kernel_w, g.stride_w, g.dil_w, g.pad_left, g.pad_right);
  if (g.out_h < 1 || g.out_w < 1) {
    throw InvalidArgument(fmt::format("node {}: the window ({}x{}, dilation {}x{}) is larger than the padded input "
                                      "{}: the output would be empty",
                                      node.label(), g.kernel_h, g.kernel_w, g.dil_h, g.dil_w, shape_text(x)));
  }
  return g;
}

std::map<std::string, Shape> default_input_shapes(const Graph& graph, std::int64_t batch) {
  std::map<std::string, Shape> out;
  for (const ValueSpec& in : graph.inputs) {
    if (!in.shape_known) {
      throw InvalidArgument(fmt::format("{}: input '{}' has no declared shape; give its data", graph.origin,
                                        in.name));
    }
    Shape s = in.dims;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] < 0) s[i] = i == 0 ? batch : 1;
    }
    out[in.name] = s;
  }
  return out;
}

}  // namespace ellesmere::pipeline
