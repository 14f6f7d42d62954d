// Shape and type inference for every op the pipeline runs (graph.hpp: infer_shapes). Errors name the node and the
// shapes involved.
#include <algorithm>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/host_ops.hpp"

namespace ellesmere::pipeline {

namespace {

// numpy matmul's output shape (1-D operands promoted and the promoted dimension dropped again).
Shape matmul_shape(const Node& node, Shape a, Shape b) {
  if (a.empty() || b.empty()) {
    throw InvalidArgument(fmt::format("node {}: matmul of a scalar", node.label()));
  }
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  const std::int64_t m = a[a.size() - 2], k = a.back(), k2 = b[b.size() - 2], n = b.back();
  if (k != k2) {
    throw InvalidArgument(fmt::format("node {}: inner dimensions differ: {} x {} (K = {} vs {})", node.label(),
                                      shape_text(a), shape_text(b), k, k2));
  }
  const Shape batch = broadcast_shapes(node, Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  Shape out = batch;
  if (!a1) out.push_back(m);
  if (!b1) out.push_back(n);
  return out;
}

ElemType zero_point_type(const Graph& graph, const ShapeMap& values, const std::string& name, ElemType fallback) {
  if (name.empty()) return fallback;
  if (graph.is_constant(name)) return graph.constant(name).type;
  const auto it = values.find(name);
  return it == values.end() ? fallback : it->second.type;
}

}  // namespace

ShapeMap infer_shapes(const Graph& graph, const std::map<std::string, Shape>& input_shapes) {
  const std::vector<std::string> params = parameter_inputs(graph);
  if (!params.empty()) {
    throw InvalidArgument(fmt::format("{}: input{} '{}' set{} a node's parameters (scale, zero point, statistics, "
                                      "bounds or shape) and must be bound as constants before the run (ellesmere "
                                      "run --input does this)",
                                      graph.origin, params.size() > 1 ? "s" : "", fmt::join(params, "', '"),
                                      params.size() > 1 ? "" : "s"));
  }
  ShapeMap v;
  for (const ValueSpec& in : graph.inputs) {
    const auto it = input_shapes.find(in.name);
    if (it == input_shapes.end()) {
      throw InvalidArgument(fmt::format("{}: no data for input '{}'", graph.origin, in.name));
    }
    const std::string bad = check_against_spec(in, in.type, it->second);
    if (!bad.empty()) throw InvalidArgument(fmt::format("{}: wrong input shape: {}", graph.origin, bad));
    v[in.name] = {in.type, it->second};
  }
  for (const auto& [name, t] : graph.constants) v[name] = {t.type, t.shape};

  auto in = [&](const Node& node, std::size_t i) -> const ValueType& {
    const std::string& name = node.input(i);
    if (name.empty()) {
      throw InvalidArgument(fmt::format("node {}: input {} is required but absent", node.label(), i));
    }
    const auto it = v.find(name);
    if (it == v.end()) throw InvalidArgument(fmt::format("node {}: input '{}' is undefined", node.label(), name));
    return it->second;
  };
  auto need_rank = [&](const Node& node, const ValueType& t, std::size_t rank, const char* what) {
    if (t.shape.size() != rank) {
      throw InvalidArgument(fmt::format("node {}: {} must have rank {}, got shape {}", node.label(), what, rank,
                                        shape_text(t.shape)));
    }
  };
  auto need_type = [&](const Node& node, const ValueType& t, std::initializer_list<ElemType> types,
                       const char* what) {
    if (std::find(types.begin(), types.end(), t.type) == types.end()) {
      std::vector<std::string> names;
      for (const auto e : types) names.emplace_back(elem_type_name(e));
      throw NotSupported(fmt::format("node {}: {} is {}; supported: {}", node.label(), what, elem_type_name(t.type),
                                     fmt::join(names, ", ")));
    }
  };

  for (const Node& node : graph.nodes) {
    const std::string& op = node.op;
    std::vector<ValueType> outs;
    if (op == "Gemm") {
      const auto& a = in(node, 0);
      const auto& b = in(node, 1);
      need_type(node, a, {ElemType::f32}, "A");
      need_type(node, b, {ElemType::f32}, "B");
      need_rank(node, a, 2, "A");
      need_rank(node, b, 2, "B");
      const bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
      const std::int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
      const std::int64_t k2 = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
      if (k != k2) {
        throw InvalidArgument(fmt::format("node {}: A {} and B {} (transA={}, transB={}) disagree on K: {} vs {}",
                                          node.label(), shape_text(a.shape), shape_text(b.shape), int(ta), int(tb),
                                          k, k2));
      }
      if (!node.input(2).empty()) {
        const auto& c = in(node, 2);
        need_type(node, c, {ElemType::f32}, "C");
        const Shape bc = broadcast_shapes(node, {m, n}, c.shape);
        if (bc != Shape{m, n}) {
          throw InvalidArgument(fmt::format("node {}: C {} does not broadcast to the output ({}, {})", node.label(),
                                            shape_text(c.shape), m, n));
        }
      }
      outs.push_back({ElemType::f32, {m, n}});
    } else if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul") {
      const bool q = op == "QLinearMatMul";
      const auto& a = in(node, 0);
      const auto& b = in(node, q ? 3 : 1);
      if (op == "MatMul") {
        need_type(node, a, {ElemType::f32}, "A");
        need_type(node, b, {ElemType::f32}, "B");
      } else {
        need_type(node, a, {ElemType::u8, ElemType::i8}, "A");
        need_type(node, b, {ElemType::u8, ElemType::i8}, "B");
      }
      const Shape s = matmul_shape(node, a.shape, b.shape);
      const ElemType t = op == "MatMul" ? ElemType::f32
                         : op == "MatMulInteger"
                             ? ElemType::i32
                             : zero_point_type(graph, v, node.input(7), ElemType::u8);
      outs.push_back({t, s});
    } else if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
      const bool q = op == "QLinearConv";
      const auto& x = in(node, 0);
      const auto& w = in(node, q ? 3 : 1);
      if (op == "Conv") {
        need_type(node, x, {ElemType::f32}, "X");
        need_type(node, w, {ElemType::f32}, "W");
      } else {
        need_type(node, x, {ElemType::u8, ElemType::i8}, "X");
        need_type(node, w, {ElemType::u8, ElemType::i8}, "W");
      }
      if (x.shape.size() != 4 && x.shape.size() != 3) {
        throw NotSupported(fmt::format("node {}: X has shape {}: only 1-D (N, C, W) and 2-D (N, C, H, W) "
                                       "convolutions are supported",
                                       node.label(), shape_text(x.shape)));
      }
      need_rank(node, w, x.shape.size(), "W");
      const std::int64_t groups = node.get_int("group", 1);
      const std::int64_t c = x.shape[1], k = w.shape[0];
      if (groups < 1 || c % groups != 0 || k % groups != 0 || w.shape[1] * groups != c) {
        throw InvalidArgument(fmt::format("node {}: X {} with W {} and group {}: W's second dimension must be C / "
                                          "group and both C and K divisible by group",
                                          node.label(), shape_text(x.shape), shape_text(w.shape), groups));
      }
      const bool one_d = x.shape.size() == 3;
      const ConvGeometry g = conv_geometry(node, x.shape, one_d ? 1 : w.shape[2], w.shape.back());
      const std::size_t bias_index = q ? 8 : 2;
      if (op != "ConvInteger" && !node.input(bias_index).empty()) {
        const auto& b = in(node, bias_index);
        if (b.shape != Shape{k}) {
          throw InvalidArgument(fmt::format("node {}: bias has shape {}, expected ({},)", node.label(),
                                            shape_text(b.shape), k));
        }
      }
      Shape out = one_d ? Shape{x.shape[0], k, g.out_w} : Shape{x.shape[0], k, g.out_h, g.out_w};
      const ElemType t = op == "Conv" ? ElemType::f32
                         : op == "ConvInteger" ? ElemType::i32
                                               : zero_point_type(graph, v, node.input(7), ElemType::u8);
      outs.push_back({t, out});
    } else if (op == "Relu" || op == "Clip" || op == "Identity" || op == "Dropout" || op == "Softmax") {
      const auto& x = in(node, 0);
      if (op == "Identity" || op == "Dropout") {
        need_type(node, x, {ElemType::f32, ElemType::u8, ElemType::i8, ElemType::i32}, "the input");
      } else if (op == "Clip") {
        need_type(node, x, {ElemType::f32, ElemType::u8, ElemType::i8, ElemType::i32}, "the input");
      } else {
        need_type(node, x, {ElemType::f32}, "the input");
      }
      if (op == "Softmax") normalize_axis(node, node.get_int("axis", graph.opset >= 13 ? -1 : 1), x.shape.size());
      outs.push_back(x);
    } else if (op == "Add") {
      const auto& a = in(node, 0);
      const auto& b = in(node, 1);
      need_type(node, a, {ElemType::f32, ElemType::u8, ElemType::i8, ElemType::i32}, "A");
      if (a.type != b.type) {
        throw InvalidArgument(fmt::format("node {}: adds {} to {}", node.label(), elem_type_name(a.type),
                                          elem_type_name(b.type)));
      }
      outs.push_back({a.type, broadcast_shapes(node, a.shape, b.shape)});
    } else if (op == "MaxPool" || op == "AveragePool") {
      const auto& x = in(node, 0);
      need_type(node, x, op == "MaxPool" ? std::initializer_list<ElemType>{ElemType::f32, ElemType::u8, ElemType::i8}
                                         : std::initializer_list<ElemType>{ElemType::f32},
                "X");
      const ConvGeometry g = conv_geometry(node, x.shape, 0, 0);
      Shape out = x.shape.size() == 3 ? Shape{x.shape[0], x.shape[1], g.out_w}
                                      : Shape{x.shape[0], x.shape[1], g.out_h, g.out_w};
      outs.push_back({x.type, out});
    } else if (op == "GlobalAveragePool") {
      const auto& x = in(node, 0);
      need_type(node, x, {ElemType::f32}, "X");
      if (x.shape.size() < 3) {
        throw InvalidArgument(fmt::format("node {}: X must be (N, C, spatial...), got {}", node.label(),
                                          shape_text(x.shape)));
      }
      Shape out = x.shape;
      std::fill(out.begin() + 2, out.end(), 1);
      outs.push_back({x.type, out});
    } else if (op == "Flatten") {
      const auto& x = in(node, 0);
      const std::int64_t rank = std::int64_t(x.shape.size());
      std::int64_t axis = node.get_int("axis", 1);
      if (axis < 0) axis += rank;
      if (axis < 0 || axis > rank) {
        throw InvalidArgument(fmt::format("node {}: axis {} out of range for rank {}", node.label(),
                                          node.get_int("axis", 1), rank));
      }
      std::int64_t outer = 1, inner = 1;
      for (std::int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x.shape[std::size_t(i)];
      outs.push_back({x.type, {outer, inner}});
    } else if (op == "Reshape") {
      const auto& x = in(node, 0);
      const std::vector<std::int64_t> target = node.input(1).empty() ? node.get_ints("shape", {})
                                                                     : graph.constant(node.input(1)).to_int64s();
      outs.push_back({x.type, reshape_target(node, x.shape, target)});
    } else if (op == "BatchNormalization") {
      const auto& x = in(node, 0);
      need_type(node, x, {ElemType::f32}, "X");
      if (x.shape.size() < 2) {
        throw InvalidArgument(fmt::format("node {}: X must be (N, C, ...), got {}", node.label(),
                                          shape_text(x.shape)));
      }
      for (std::size_t i = 1; i <= 4; ++i) {
        const auto& p = in(node, i);
        if (p.shape != Shape{x.shape[1]}) {
          throw InvalidArgument(fmt::format("node {}: parameter {} has shape {}, expected ({},) for C = {}",
                                            node.label(), node.input(i), shape_text(p.shape), x.shape[1],
                                            x.shape[1]));
        }
      }
      outs.push_back(x);
    } else if (op == "QuantizeLinear") {
      const auto& x = in(node, 0);
      need_type(node, x, {ElemType::f32}, "x");
      outs.push_back({zero_point_type(graph, v, node.input(2), ElemType::u8), x.shape});
    } else if (op == "DequantizeLinear") {
      const auto& x = in(node, 0);
      need_type(node, x, {ElemType::u8, ElemType::i8, ElemType::i32}, "x");
      outs.push_back({ElemType::f32, x.shape});
    } else if (op == "Cast") {
      const auto& x = in(node, 0);
      ValueType t = x;
      // The target's ElemType: Cast's 'to' is an ONNX data_type number.
      switch (node.get_int("to", 0)) {
        case 1: t.type = ElemType::f32; break;
        case 2: t.type = ElemType::u8; break;
        case 3: t.type = ElemType::i8; break;
        case 6: t.type = ElemType::i32; break;
        default:
          throw NotSupported(fmt::format("node {}: Cast to data_type {} of a computed tensor is not supported",
                                         node.label(), node.get_int("to", 0)));
      }
      outs.push_back(t);
    } else {
      throw NotSupported(fmt::format("node {}: op {} is not supported", node.label(), op));
    }
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      if (i >= outs.size()) {
        // Extra outputs (Dropout's mask, MaxPool's indices, BatchNormalization's running statistics): refused by
        // unsupported_variant when anything reads them; otherwise they are never computed.
        continue;
      }
      v[node.outputs[i]] = outs[i];
    }
  }
  for (const ValueSpec& out : graph.outputs) {
    const auto it = v.find(out.name);
    if (it == v.end()) throw InvalidArgument(fmt::format("{}: output '{}' is never computed", graph.origin, out.name));
  }
  return v;
}

}  // namespace ellesmere::pipeline
