// Constant folding on the host, the op variants the executor refuses, and ONNX quantization parameters
// (host_ops.hpp).
#include "pipeline/host_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"

namespace ellesmere::pipeline {

namespace {

const HostTensor& need(const Node& node, const std::vector<const HostTensor*>& in, std::size_t i) {
  if (i >= in.size() || in[i] == nullptr) {
    throw InvalidArgument(fmt::format("node {}: input {} is required but absent", node.label(), i));
  }
  return *in[i];
}

// Folded constants are made in host memory before anything runs. A protobuf model holds at most 2 GiB, so a folded
// ConstantOfShape or broadcast Add of more than 1 GiB comes from a corrupt or hostile shape far more often than from
// a model that means it: refuse it with the node and shape rather than let the allocation fail (or succeed and
// exhaust the machine).
constexpr std::int64_t kMaxFoldedBytes = std::int64_t{1} << 30;

void check_folded_size(const Node& node, const Shape& shape, std::size_t bytes_per_element) {
  const std::int64_t count = element_count(shape);   // throws for a negative dimension or an int64 overflow
  if (count > kMaxFoldedBytes / std::int64_t(bytes_per_element)) {
    // count * bytes_per_element may pass int64 (count does not); print it as a double.
    throw InvalidArgument(fmt::format("node {}: folding it would make a constant of shape {}: {} elements, {:.0f} "
                                      "bytes, above the {} bytes (1 GiB) a folded constant may take (a corrupt "
                                      "shape?)",
                                      node.label(), shape_text(shape), count,
                                      double(count) * double(bytes_per_element), kMaxFoldedBytes));
  }
}

// Converts every element of t to type (float -> integer truncates toward zero, as numpy's astype does; integer
// narrowing wraps, as ONNX's reference Cast does through numpy).
HostTensor cast_to(const HostTensor& t, ElemType type) {
  HostTensor out = HostTensor::of(type, t.shape);
  const std::size_t n = std::size_t(t.count());
  const bool src_int = t.type == ElemType::i8 || t.type == ElemType::u8 || t.type == ElemType::i32 ||
                       t.type == ElemType::i64 || t.type == ElemType::boolean;
  std::vector<std::int64_t> ints;
  std::vector<double> reals;
  if (src_int) {
    ints = t.to_int64s();
  } else {
    reals = t.to_doubles();
  }
  auto as_int = [&](std::size_t i) -> std::int64_t {
    if (src_int) return ints[i];
    const double d = reals[i];
    if (!std::isfinite(d)) return 0;
    return std::int64_t(std::trunc(std::clamp(d, -9.2e18, 9.2e18)));
  };
  auto as_real = [&](std::size_t i) -> double { return src_int ? double(ints[i]) : reals[i]; };
  std::byte* p = out.data.data();
  for (std::size_t i = 0; i < n; ++i) {
    switch (type) {
      case ElemType::f32: { const float v = float(as_real(i)); std::memcpy(p + 4 * i, &v, 4); break; }
      case ElemType::f64: { const double v = as_real(i); std::memcpy(p + 8 * i, &v, 8); break; }
      case ElemType::f16: { const std::uint16_t v = float_to_half(float(as_real(i))); std::memcpy(p + 2 * i, &v, 2); break; }
      case ElemType::i8: { const auto v = std::int8_t(std::uint8_t(as_int(i) & 0xff)); std::memcpy(p + i, &v, 1); break; }
      case ElemType::u8: { const auto v = std::uint8_t(as_int(i) & 0xff); std::memcpy(p + i, &v, 1); break; }
      case ElemType::boolean: { const std::uint8_t v = as_real(i) != 0; std::memcpy(p + i, &v, 1); break; }
      case ElemType::i32: { const auto v = std::int32_t(std::uint32_t(std::uint64_t(as_int(i)) & 0xffffffffu)); std::memcpy(p + 4 * i, &v, 4); break; }
      case ElemType::i64: { const std::int64_t v = as_int(i); std::memcpy(p + 8 * i, &v, 8); break; }
    }
  }
  return out;
}

bool elem_type_from_onnx(std::int64_t data_type, ElemType& out) {
  switch (data_type) {
    case 1: out = ElemType::f32; return true;
    case 2: out = ElemType::u8; return true;
    case 3: out = ElemType::i8; return true;
    case 6: out = ElemType::i32; return true;
    case 7: out = ElemType::i64; return true;
    case 9: out = ElemType::boolean; return true;
    case 10: out = ElemType::f16; return true;
    case 11: out = ElemType::f64; return true;
    default: return false;
  }
}

// Row-major strides of shape.
std::vector<std::int64_t> strides_of(const Shape& shape) {
  std::vector<std::int64_t> s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

HostTensor transpose(const Node& node, const HostTensor& t, std::vector<std::int64_t> perm) {
  const std::size_t rank = t.shape.size();
  if (perm.empty()) {
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(std::int64_t(rank - 1 - i));
  }
  if (perm.size() != rank) {
    throw InvalidArgument(fmt::format("node {}: perm {} for rank {}", node.label(), shape_text(perm), rank));
  }
  Shape out_shape(rank);
  for (std::size_t i = 0; i < rank; ++i) out_shape[i] = t.shape.at(std::size_t(perm[i]));
  HostTensor out = HostTensor::of(t.type, out_shape);
  const auto in_strides = strides_of(t.shape);
  const std::size_t es = elem_size(t.type), n = std::size_t(t.count());
  std::vector<std::int64_t> idx(rank, 0);
  for (std::size_t o = 0; o < n; ++o) {
    std::int64_t src = 0;
    for (std::size_t d = 0; d < rank; ++d) src += idx[d] * in_strides[std::size_t(perm[d])];
    std::memcpy(out.data.data() + o * es, t.data.data() + std::size_t(src) * es, es);
    for (std::size_t d = rank; d-- > 0;) {
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<std::int64_t> axes_of(const Node& node, const std::vector<const HostTensor*>& in, std::int64_t opset) {
  if (opset >= 13 && in.size() > 1 && in[1] != nullptr) return in[1]->to_int64s();
  return node.get_ints("axes", {});
}

}  // namespace

QuantType quant_type_of(const Node& node, ElemType type, const char* what) {
  if (type == ElemType::u8) return QuantType::u8;
  if (type == ElemType::i8) return QuantType::i8;
  throw NotSupported(fmt::format("node {}: {} is {}; quantized tensors must be uint8 or int8", node.label(), what,
                                 elem_type_name(type)));
}

QuantParams quant_params(const Node& node, const HostTensor& scale, const HostTensor* zero_point, QuantType type,
                         std::int64_t axis, std::int64_t rank) {
  if (scale.type != ElemType::f32) {
    throw InvalidArgument(fmt::format("node {}: the scale is {}, must be float32", node.label(),
                                      elem_type_name(scale.type)));
  }
  const std::vector<float> scales = scale.to_floats();
  if (scales.empty()) throw InvalidArgument(fmt::format("node {}: the scale is empty", node.label()));
  std::vector<std::int32_t> zps(scales.size(), 0);
  if (zero_point != nullptr) {
    const ElemType want = type == QuantType::u8 ? ElemType::u8 : ElemType::i8;
    if (zero_point->type != want) {
      throw InvalidArgument(fmt::format("node {}: the zero point is {} but the quantized tensor is {}", node.label(),
                                        elem_type_name(zero_point->type), elem_type_name(want)));
    }
    const auto z = zero_point->to_int64s();
    if (z.size() != scales.size()) {
      throw InvalidArgument(fmt::format("node {}: {} scales but {} zero points", node.label(), scales.size(),
                                        z.size()));
    }
    for (std::size_t i = 0; i < z.size(); ++i) zps[i] = std::int32_t(z[i]);
  }
  QuantParams p;
  p.type = type;
  p.scales = scales;
  p.zero_points = zps;
  const bool per_axis = scale.shape.size() == 1 && scales.size() > 1;
  if (scale.shape.size() > 1) {
    throw InvalidArgument(fmt::format("node {}: the scale has shape {}; it must be a scalar or 1-D", node.label(),
                                      shape_text(scale.shape)));
  }
  if (per_axis || (scale.shape.size() == 1 && rank > 0 && node.has("axis"))) {
    p.axis = int(normalize_axis(node, axis, rank));
  } else {
    p.axis = -1;
  }
  if (!per_axis && p.axis >= 0 && scales.size() == 1) p.axis = -1;   // one scale along an axis is per-tensor
  try {
    p.validate(fmt::format("node {}", node.label()));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("{} (the model's quantization parameters are invalid)", e.what()));
  }
  return p;
}

void clip_bounds(const Node& node, const Graph& graph, float& lo, float& hi) {
  lo = -std::numeric_limits<float>::infinity();
  hi = std::numeric_limits<float>::infinity();
  if (graph.opset < 11) {
    lo = node.get_float("min", lo);
    hi = node.get_float("max", hi);
    return;
  }
  auto bound = [&](std::size_t i, float& out) {
    const std::string& name = node.input(i);
    if (name.empty()) return;
    if (!graph.is_constant(name)) {
      throw NotSupported(fmt::format("node {}: Clip bound '{}' is computed at run time; only constant bounds are "
                                     "supported",
                                     node.label(), name));
    }
    const auto v = graph.constant(name).to_doubles();
    if (v.size() != 1) {
      throw InvalidArgument(fmt::format("node {}: Clip bound '{}' has {} elements, must be a scalar", node.label(),
                                        name, v.size()));
    }
    out = float(v[0]);
  };
  bound(1, lo);
  bound(2, hi);
  if (std::isnan(lo) || std::isnan(hi)) {
    throw InvalidArgument(fmt::format("node {}: Clip bound is NaN", node.label()));
  }
}

std::vector<HostTensor> fold_node(const Node& node, const std::vector<const HostTensor*>& in, std::int64_t opset) {
  const std::string& op = node.op;
  if (op == "Constant") {
    for (const auto& [name, a] : node.attrs) {
      if (name == "value" && a.tensor) return {*a.tensor};
      if (name == "value_float") return {HostTensor::floats({}, {a.f})};
      if (name == "value_floats") return {HostTensor::floats({std::int64_t(a.floats.size())}, a.floats)};
      if (name == "value_int") return {HostTensor::int64s({}, {a.i})};
      if (name == "value_ints") return {HostTensor::int64s({std::int64_t(a.ints.size())}, a.ints)};
    }
    throw NotSupported(fmt::format("node {}: Constant without a value, value_float(s) or value_int(s) attribute "
                                   "(sparse and string constants are not supported)",
                                   node.label()));
  }
  if (op == "Identity") return {need(node, in, 0)};
  if (op == "Cast") {
    ElemType to;
    if (!elem_type_from_onnx(node.get_int("to", 0), to)) {
      throw NotSupported(fmt::format("node {}: Cast to data_type {} is not supported", node.label(),
                                     node.get_int("to", 0)));
    }
    return {cast_to(need(node, in, 0), to)};
  }
  if (op == "ConstantOfShape") {
    const auto shape = need(node, in, 0).to_int64s();
    HostTensor value = HostTensor::floats({1}, {0.0f});
    if (node.has("value") && node.attrs.at("value").tensor) value = *node.attrs.at("value").tensor;
    if (value.count() != 1) {
      throw InvalidArgument(fmt::format("node {}: value must hold one element", node.label()));
    }
    check_folded_size(node, shape, elem_size(value.type));
    HostTensor out = HostTensor::of(value.type, shape);
    const std::size_t es = elem_size(value.type);
    for (std::int64_t i = 0; i < out.count(); ++i) std::memcpy(out.data.data() + i * es, value.data.data(), es);
    return {out};
  }
  if (op == "DequantizeLinear" || op == "QuantizeLinear") {
    const HostTensor& x = need(node, in, 0);
    const HostTensor& scale = need(node, in, 1);
    const HostTensor* zp = in.size() > 2 ? in[2] : nullptr;
    const std::int64_t axis = node.get_int("axis", 1);
    const std::int64_t rank = std::int64_t(x.shape.size());
    if (op == "DequantizeLinear" && x.type == ElemType::i32) {
      // int32 (a quantized bias): zero point 0, real = x * scale.
      const std::vector<std::int64_t> zs = zp != nullptr ? zp->to_int64s() : std::vector<std::int64_t>{};
      if (std::any_of(zs.begin(), zs.end(), [](std::int64_t z) { return z != 0; })) {
        throw InvalidArgument(fmt::format("node {}: int32 DequantizeLinear needs zero point 0", node.label()));
      }
      const auto s = scale.to_floats();
      const auto q = x.as<std::int32_t>();
      std::vector<float> out(q.size());
      const std::int64_t channels = std::int64_t(s.size());
      std::int64_t inner = 1;
      if (channels > 1) {
        const std::int64_t a = normalize_axis(node, axis, rank);
        for (std::int64_t d = a + 1; d < rank; ++d) inner *= x.shape[std::size_t(d)];
      }
      for (std::size_t i = 0; i < q.size(); ++i) {
        const float sc = s[channels > 1 ? std::size_t((std::int64_t(i) / inner) % channels) : 0];
        out[i] = float(q[i]) * sc;
      }
      return {HostTensor::floats(x.shape, std::move(out))};
    }
    if (op == "DequantizeLinear") {
      const QuantType t = quant_type_of(node, x.type, "x");
      const QuantParams p = quant_params(node, scale, zp, t, axis, rank);
      std::vector<float> out(std::size_t(x.count()));
      dequantize_linear(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(x.data.data()),
                                                      x.data.size()),
                        x.shape, p, out);
      return {HostTensor::floats(x.shape, std::move(out))};
    }
    const QuantType t = zp != nullptr ? quant_type_of(node, zp->type, "the zero point") : QuantType::u8;
    const QuantParams p = quant_params(node, scale, zp, t, axis, rank);
    HostTensor out = HostTensor::of(t == QuantType::u8 ? ElemType::u8 : ElemType::i8, x.shape);
    const auto xs = x.to_floats();
    quantize_linear(xs, x.shape, p, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data.data()),
                                                            out.data.size()));
    return {out};
  }
  if (op == "Reshape") {
    const HostTensor& x = need(node, in, 0);
    HostTensor out = x;
    out.shape = reshape_target(node, x.shape, in.size() > 1 && in[1] != nullptr ? in[1]->to_int64s()
                                                                               : node.get_ints("shape", {}));
    return {out};
  }
  if (op == "Flatten") {
    const HostTensor& x = need(node, in, 0);
    const std::int64_t rank = std::int64_t(x.shape.size());
    std::int64_t axis = node.get_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) throw InvalidArgument(fmt::format("node {}: axis out of range", node.label()));
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x.shape[std::size_t(i)];
    HostTensor out = x;
    out.shape = {outer, inner};
    return {out};
  }
  if (op == "Transpose") return {transpose(node, need(node, in, 0), node.get_ints("perm", {}))};
  if (op == "Unsqueeze" || op == "Squeeze") {
    const HostTensor& x = need(node, in, 0);
    auto axes = axes_of(node, in, opset);
    HostTensor out = x;
    if (op == "Unsqueeze") {
      const std::int64_t rank = std::int64_t(x.shape.size() + axes.size());
      for (auto& a : axes) a = normalize_axis(node, a, rank);
      std::sort(axes.begin(), axes.end());
      for (const auto a : axes) out.shape.insert(out.shape.begin() + a, 1);
    } else {
      const std::int64_t rank = std::int64_t(x.shape.size());
      Shape s;
      for (std::int64_t d = 0; d < rank; ++d) {
        const bool listed = std::any_of(axes.begin(), axes.end(), [&](std::int64_t a) {
          return normalize_axis(node, a, rank) == d;
        });
        if ((axes.empty() && x.shape[std::size_t(d)] == 1) || listed) continue;
        s.push_back(x.shape[std::size_t(d)]);
      }
      out.shape = s;
    }
    return {out};
  }
  if (op == "Add" || op == "Relu" || op == "Clip") {
    const HostTensor& a = need(node, in, 0);
    if (a.type != ElemType::f32 && a.type != ElemType::i64 && a.type != ElemType::i32) {
      throw NotSupported(fmt::format("node {}: folding {} on {} constants is not supported", node.label(), op,
                                     elem_type_name(a.type)));
    }
    if (op == "Relu" || op == "Clip") {
      double lo = op == "Relu" ? 0.0 : -INFINITY, hi = INFINITY;
      if (op == "Clip") {
        if (opset < 11) {
          lo = node.get_float("min", -INFINITY);
          hi = node.get_float("max", INFINITY);
        } else {
          if (in.size() > 1 && in[1]) lo = in[1]->to_doubles().at(0);
          if (in.size() > 2 && in[2]) hi = in[2]->to_doubles().at(0);
        }
      }
      std::vector<double> v = a.to_doubles();
      for (auto& e : v) e = std::isnan(e) ? e : std::min(std::max(e, lo), hi);
      HostTensor out = HostTensor::floats(a.shape, std::vector<float>(v.begin(), v.end()));
      return {a.type == ElemType::f32 ? out : cast_to(out, a.type)};
    }
    const HostTensor& b = need(node, in, 1);
    if (a.type != b.type) throw InvalidArgument(fmt::format("node {}: adds different types", node.label()));
    const Shape s = broadcast_shapes(node, a.shape, b.shape);
    check_folded_size(node, s, sizeof(double));   // summed in double
    const auto av = a.to_doubles(), bv = b.to_doubles();
    const auto sa = strides_of(a.shape), sb = strides_of(b.shape);
    const std::size_t rank = s.size();
    std::vector<double> out(std::size_t(element_count(s)));
    std::vector<std::int64_t> idx(rank, 0);
    for (std::size_t o = 0; o < out.size(); ++o) {
      std::int64_t ia = 0, ib = 0;
      for (std::size_t d = 0; d < rank; ++d) {
        const std::size_t da = d + a.shape.size(), db = d + b.shape.size();
        if (da >= rank && a.shape[da - rank] != 1) ia += idx[d] * sa[da - rank];
        if (db >= rank && b.shape[db - rank] != 1) ib += idx[d] * sb[db - rank];
      }
      out[o] = av[std::size_t(ia)] + bv[std::size_t(ib)];
      for (std::size_t d = rank; d-- > 0;) {
        if (++idx[d] < s[d]) break;
        idx[d] = 0;
      }
    }
    return {cast_to(HostTensor::floats(s, std::vector<float>(out.begin(), out.end())), a.type)};
  }
  throw NotSupported(fmt::format("node {}: {} cannot be folded", node.label(), op));
}

std::vector<std::size_t> parameter_slots(const Node& node, std::int64_t opset) {
  const std::string& op = node.op;
  if (op == "BatchNormalization") return {1, 2, 3, 4};
  if (op == "Clip" && opset >= 11) return {1, 2};
  if (op == "QuantizeLinear" || op == "DequantizeLinear") return {1, 2};
  if (op == "QLinearMatMul") return {1, 2, 4, 5, 6, 7};
  if (op == "QLinearConv") return {1, 2, 4, 5, 6, 7, 8};
  if (op == "MatMulInteger" || op == "ConvInteger") return {2, 3};
  if (op == "Reshape") return {1};
  if (op == "Dropout") return {1, 2};
  return {};
}

std::vector<std::string> parameter_inputs(const Graph& graph) {
  std::vector<std::string> out;
  for (const Node& node : graph.nodes) {
    for (const std::size_t i : parameter_slots(node, graph.opset)) {
      const std::string& name = node.input(i);
      if (name.empty() || graph.is_constant(name)) continue;
      const bool is_input = std::any_of(graph.inputs.begin(), graph.inputs.end(),
                                        [&](const ValueSpec& v) { return v.name == name; });
      if (is_input && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  return out;
}

std::string unsupported_variant(const Node& node, const Graph& graph) {
  const std::string& op = node.op;
  // A parameter given as a graph input (as ONNX's node tests do) is bound as a constant before the run.
  const auto known = [&](const std::string& name) {
    return graph.is_constant(name) || std::any_of(graph.inputs.begin(), graph.inputs.end(), [&](const ValueSpec& v) {
             return v.name == name;
           });
  };
  auto read = [&](std::size_t output) {
    return output < node.outputs.size() && !node.outputs[output].empty() &&
           (graph.is_output(node.outputs[output]) || !graph.consumers(node.outputs[output]).empty());
  };
  if (op == "Dropout") {
    if (node.get_int("is_test", 1) == 0 && graph.opset < 7) return "Dropout in training mode is not supported";
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      if (!known(node.inputs[2])) return "Dropout's training_mode input is computed at run time";
      const auto v = graph.is_constant(node.inputs[2]) ? graph.constant(node.inputs[2]).to_int64s()
                                                       : std::vector<std::int64_t>{};
      if (!v.empty() && v[0] != 0) return "Dropout in training mode (training_mode = true) is not supported";
    }
    if (read(1)) return "Dropout's mask output is not supported (inference needs none)";
  }
  if (op == "MaxPool") {
    if (read(1)) return "MaxPool's Indices output is not supported";
    if (node.get_int("storage_order", 0) != 0) return "MaxPool with storage_order = 1 is not supported";
  }
  if (op == "BatchNormalization") {
    if (node.get_int("training_mode", 0) != 0 || read(1) || read(2)) {
      return "BatchNormalization in training mode (running statistics as outputs) is not supported: export the "
             "model in eval mode";
    }
    for (std::size_t i = 1; i <= 4; ++i) {
      if (!known(node.input(i))) {
        return fmt::format("its parameter '{}' is computed at run time; scale, bias, mean and variance must be "
                           "constants",
                           node.input(i));
      }
    }
  }
  if (op == "Reshape" && node.input(1).empty() && graph.opset < 5) {
    if (!node.has("shape")) return "Reshape without a shape";
    return {};
  }
  if (op == "Add" && node.has("axis") && node.get_int("broadcast", 0) != 0) {
    return "Add with the legacy (opset < 7) axis broadcasting is not supported: convert the model to opset 7 or later";
  }
  if (op == "Reshape" && !known(node.input(1))) {
    return fmt::format("its shape '{}' is computed at run time (Shape/Gather/Concat chains from dynamic export); "
                       "only constant shapes are supported: export with fixed shapes or give the shape as an input",
                       node.input(1));
  }
  if (op == "Clip" && graph.opset >= 11) {
    for (std::size_t i = 1; i <= 2; ++i) {
      if (!node.input(i).empty() && !known(node.input(i))) {
        return fmt::format("its bound '{}' is computed at run time; only constant bounds are supported",
                           node.input(i));
      }
    }
  }
  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    for (std::size_t i = 1; i <= 2; ++i) {
      if (!node.input(i).empty() && !known(node.input(i))) {
        return fmt::format("its scale or zero point '{}' is computed at run time; only constants are supported",
                           node.input(i));
      }
    }
  }
  if (op == "QLinearMatMul" || op == "QLinearConv") {
    for (const std::size_t i : {1u, 2u, 4u, 5u, 6u, 7u}) {
      if (!node.input(i).empty() && !known(node.input(i))) {
        return fmt::format("its scale or zero point '{}' is computed at run time; only constants are supported",
                           node.input(i));
      }
    }
  }
  if (op == "MatMulInteger" || op == "ConvInteger") {
    for (const std::size_t i : {2u, 3u}) {
      if (!node.input(i).empty() && !known(node.input(i))) {
        return fmt::format("its zero point '{}' is computed at run time; only constants are supported",
                           node.input(i));
      }
    }
  }
  if (op == "Cast") {
    const std::int64_t to = node.get_int("to", 0);
    if (to != 1 && to != 2 && to != 3 && to != 6) {
      return fmt::format("Cast to data_type {} of a computed tensor is not supported (float, uint8, int8, int32 "
                         "are)",
                         to);
    }
  }
  return {};
}

}  // namespace ellesmere::pipeline
