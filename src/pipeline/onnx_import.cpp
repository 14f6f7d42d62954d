// ONNX import: ModelProto (Debian's libonnx generated classes) -> Graph, with every check that lets the rest of
// the pipeline trust what it gets: the file parses, the opset is one we implement, every node input exists, every
// op is supported (one error lists all that are not), weights hold no NaN or Inf. Constant subgraphs (Constant,
// Cast, ConstantOfShape, DequantizeLinear of a weight, ...) are folded on the host here.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "io/file_reading.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/host_ops.hpp"

namespace ellesmere::pipeline {

static_assert(std::endian::native == std::endian::little, "raw_data is little-endian, and so is HostTensor::data");

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops = {
      "Gemm", "MatMul", "Conv", "Relu", "Clip", "Add", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
      "Reshape", "Softmax", "BatchNormalization", "Identity", "Dropout", "QuantizeLinear", "DequantizeLinear",
      "QLinearMatMul", "MatMulInteger", "QLinearConv", "ConvInteger", "Cast"};
  return ops;
}

const std::vector<std::string>& foldable_ops() {
  static const std::vector<std::string> ops = {"Constant", "Cast", "ConstantOfShape", "DequantizeLinear",
                                               "QuantizeLinear", "Identity", "Reshape", "Flatten", "Transpose",
                                               "Unsqueeze", "Squeeze", "Add", "Relu", "Clip"};
  return ops;
}

namespace {

using onnx::TensorProto;

constexpr std::int64_t kMinOpset = 1;    // Clip's bounds became inputs at 11, Softmax's semantics changed at 13,
constexpr std::int64_t kMaxOpset = 17;   // Reshape's allowzero came at 14, Reshape's shape was an attribute before
                                         // 5, Add broadcast by axis before 7: each is handled where it matters

std::string data_type_name(int data_type) {
  return TensorProto::DataType_IsValid(data_type)
             ? TensorProto::DataType_Name(static_cast<TensorProto::DataType>(data_type))
             : fmt::format("unknown ({})", data_type);
}

// The ElemType of an ONNX data_type, or false for types the pipeline does not take.
bool elem_type_of(int data_type, ElemType& out) {
  switch (data_type) {
    case TensorProto::FLOAT: out = ElemType::f32; return true;
    case TensorProto::FLOAT16: out = ElemType::f16; return true;
    case TensorProto::DOUBLE: out = ElemType::f64; return true;
    case TensorProto::INT8: out = ElemType::i8; return true;
    case TensorProto::UINT8: out = ElemType::u8; return true;
    case TensorProto::INT32: out = ElemType::i32; return true;
    case TensorProto::INT64: out = ElemType::i64; return true;
    case TensorProto::BOOL: out = ElemType::boolean; return true;
    default: return false;
  }
}

template <class Dst, class Src>
void copy_narrowed(const Src& src, std::vector<std::byte>& out, std::int64_t lo, std::int64_t hi,
                   const std::string& what, const char* field) {
  out.resize(std::size_t(src.size()) * sizeof(Dst));
  for (int i = 0; i < src.size(); ++i) {
    const std::int64_t v = src[i];
    if (v < lo || v > hi) {
      throw InvalidArgument(fmt::format("{}: {}[{}] = {} is out of range [{}, {}]", what, field, i, v, lo, hi));
    }
    const Dst d = static_cast<Dst>(v);
    std::memcpy(out.data() + std::size_t(i) * sizeof(Dst), &d, sizeof(Dst));
  }
}

// Decodes a TensorProto (an initializer or a Constant's value). what names it in errors.
HostTensor decode_tensor(const TensorProto& proto, const std::string& what) {
  if (proto.data_location() == TensorProto::EXTERNAL || proto.external_data_size() > 0) {
    std::string location;
    for (const auto& entry : proto.external_data()) {
      if (entry.key() == "location") location = entry.value();
    }
    throw InvalidArgument(fmt::format("{}: external data ('{}') is not supported; save the model with its weights "
                                      "inside (onnx.save(model, path, save_as_external_data=False))",
                                      what, location));
  }
  if (proto.has_segment()) throw InvalidArgument(fmt::format("{}: segmented tensors are not supported", what));
  HostTensor t;
  if (!elem_type_of(proto.data_type(), t.type)) {
    throw NotSupported(fmt::format("{}: element type {} is not supported (float, float16, double, int8, uint8, "
                                   "int32, int64, bool are)",
                                   what, data_type_name(proto.data_type())));
  }
  for (const auto d : proto.dims()) {
    if (d < 0) throw InvalidArgument(fmt::format("{}: negative dimension {}", what, d));
    t.shape.push_back(d);
  }
  std::int64_t count = 0;
  try {
    count = t.count();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("{}: {}", what, e.what()));
  }
  const std::size_t size = elem_size(t.type);
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != std::size_t(count) * size) {
      throw InvalidArgument(fmt::format("{}: dims {} imply {} elements of {} ({} bytes) but raw_data holds {} bytes",
                                        what, shape_text(t.shape), count, elem_type_name(t.type),
                                        std::size_t(count) * size, raw.size()));
    }
    t.data.resize(raw.size());
    if (!raw.empty()) std::memcpy(t.data.data(), raw.data(), raw.size());
    return t;
  }
  auto expect = [&](int n, const char* field) {
    if (n != count) {
      throw InvalidArgument(fmt::format("{}: dims {} imply {} elements of {} but {} holds {} (and there is no "
                                        "raw_data)",
                                        what, shape_text(t.shape), count, elem_type_name(t.type), field, n));
    }
  };
  switch (t.type) {
    case ElemType::f32:
      expect(proto.float_data_size(), "float_data");
      t.data.resize(std::size_t(count) * 4);
      if (count > 0) std::memcpy(t.data.data(), proto.float_data().data(), t.data.size());
      break;
    case ElemType::f64:
      expect(proto.double_data_size(), "double_data");
      t.data.resize(std::size_t(count) * 8);
      if (count > 0) std::memcpy(t.data.data(), proto.double_data().data(), t.data.size());
      break;
    case ElemType::i64:
      expect(proto.int64_data_size(), "int64_data");
      t.data.resize(std::size_t(count) * 8);
      if (count > 0) std::memcpy(t.data.data(), proto.int64_data().data(), t.data.size());
      break;
    case ElemType::i32:
      expect(proto.int32_data_size(), "int32_data");
      t.data.resize(std::size_t(count) * 4);
      if (count > 0) std::memcpy(t.data.data(), proto.int32_data().data(), t.data.size());
      break;
    case ElemType::f16:
      expect(proto.int32_data_size(), "int32_data");
      copy_narrowed<std::uint16_t>(proto.int32_data(), t.data, 0, 0xffff, what, "int32_data");
      break;
    case ElemType::i8:
      expect(proto.int32_data_size(), "int32_data");
      copy_narrowed<std::int8_t>(proto.int32_data(), t.data, -128, 127, what, "int32_data");
      break;
    case ElemType::u8:
    case ElemType::boolean:
      expect(proto.int32_data_size(), "int32_data");
      copy_narrowed<std::uint8_t>(proto.int32_data(), t.data, 0, t.type == ElemType::u8 ? 255 : 1, what,
                                  "int32_data");
      break;
  }
  return t;
}

Attribute decode_attribute(const onnx::AttributeProto& a, const std::string& what) {
  Attribute out;
  switch (a.type()) {
    case onnx::AttributeProto::INT: out.kind = Attribute::Kind::i; out.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: out.kind = Attribute::Kind::f; out.f = a.f(); break;
    case onnx::AttributeProto::STRING: out.kind = Attribute::Kind::s; out.s = a.s(); break;
    case onnx::AttributeProto::INTS:
      out.kind = Attribute::Kind::ints;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      out.kind = Attribute::Kind::floats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::TENSOR:
      out.kind = Attribute::Kind::tensor;
      out.tensor = std::make_shared<HostTensor>(decode_tensor(a.t(), fmt::format("{} attribute '{}'", what,
                                                                                  a.name())));
      break;
    default: out.kind = Attribute::Kind::other; break;
  }
  return out;
}

ValueSpec decode_value_info(const onnx::ValueInfoProto& v, const std::string& what) {
  ValueSpec spec;
  spec.name = v.name();
  if (!v.has_type() || !v.type().has_tensor_type()) {
    throw NotSupported(fmt::format("{} '{}' is not a tensor (sequences, maps and optionals are not supported)", what,
                                   v.name()));
  }
  const auto& tt = v.type().tensor_type();
  // int64 inputs are allowed: they hold shapes (Reshape's), and must be given before the run, as constants.
  if (!elem_type_of(tt.elem_type(), spec.type) || !(is_device_type(spec.type) || spec.type == ElemType::i64)) {
    throw NotSupported(fmt::format("{} '{}' has element type {}; inputs and outputs may be float, uint8, int8 or "
                                   "int32 (int64 for shape inputs)",
                                   what, v.name(), data_type_name(tt.elem_type())));
  }
  if (tt.has_shape()) {
    spec.shape_known = true;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) {
          throw InvalidArgument(fmt::format("{} '{}': negative dimension {}", what, v.name(), d.dim_value()));
        }
        spec.dims.push_back(d.dim_value());
        spec.dim_names.emplace_back();
      } else {
        spec.dims.push_back(-1);
        spec.dim_names.push_back(d.has_dim_param() ? d.dim_param() : std::string("?"));
      }
    }
  }
  return spec;
}

// Non-finite values in a float constant a compute op reads as weights, bias or normalisation statistics.
void check_finite(const HostTensor& t, const std::string& value, const Node& node) {
  if (t.type != ElemType::f32 && t.type != ElemType::f16 && t.type != ElemType::f64) return;
  const std::vector<double> v = t.to_doubles();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      throw InvalidArgument(fmt::format("node {} input '{}' (shape {}) holds {} at flat index {}: the model's weights "
                                        "are corrupt (NaN or Inf in a weight, bias or normalisation statistic)",
                                        node.label(), value, shape_text(t.shape), v[i], i));
    }
    // The layers hold float32: a double beyond its range would become Inf (and converting it is undefined).
    if (std::fabs(v[i]) > double(FLT_MAX)) {
      throw InvalidArgument(fmt::format("node {} input '{}' (shape {}) holds {} at flat index {}, beyond float32's "
                                        "range",
                                        node.label(), value, shape_text(t.shape), v[i], i));
    }
  }
}

// Which inputs of a node are weights that must be finite.
std::vector<std::size_t> weight_inputs(const std::string& op) {
  if (op == "Gemm" || op == "Conv") return {1, 2};
  if (op == "MatMul") return {1};
  if (op == "BatchNormalization") return {1, 2, 3, 4};
  if (op == "QLinearMatMul" || op == "QLinearConv") return {1, 4};
  return {};
}

}  // namespace

void fold_and_check(Graph& g) {
  const std::string& origin = g.origin;
  // Fold constant subgraphs: a foldable node whose inputs are all constants becomes constants.
  std::vector<Node> kept;
  for (Node& node : g.nodes) {
    const bool all_constant = std::all_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& in) {
      return in.empty() || g.constants.count(in) != 0;
    });
    const bool foldable = node.domain.empty() && std::find(foldable_ops().begin(), foldable_ops().end(),
                                                            node.op) != foldable_ops().end();
    if (foldable && all_constant && !(node.op == "Identity" && g.is_output(node.outputs.at(0)))) {
      std::vector<const HostTensor*> ins;
      for (const auto& in : node.inputs) ins.push_back(in.empty() ? nullptr : &g.constants.at(in));
      std::vector<HostTensor> outs = fold_node(node, ins, g.opset);
      for (std::size_t k = 0; k < outs.size() && k < node.outputs.size(); ++k) {
        if (!node.outputs[k].empty()) g.constants[node.outputs[k]] = std::move(outs[k]);
      }
      continue;
    }
    kept.push_back(std::move(node));
  }
  g.nodes = std::move(kept);

  // Every op must be one we run; list all that are not, at once.
  std::vector<std::string> unsupported;
  for (const Node& node : g.nodes) {
    const bool known = node.domain.empty() &&
                       std::find(supported_ops().begin(), supported_ops().end(), node.op) != supported_ops().end();
    if (!known) {
      unsupported.push_back(fmt::format("{}{}", node.label(),
                                        node.domain.empty() ? "" : fmt::format(" in domain '{}'", node.domain)));
      continue;
    }
    const std::string variant = unsupported_variant(node, g);
    if (!variant.empty()) unsupported.push_back(fmt::format("{}: {}", node.label(), variant));
  }
  if (!unsupported.empty()) {
    throw NotSupported(fmt::format("{}: {} node{} cannot be run by ellesmere:\n  {}\n(supported ops: {})", origin,
                                   unsupported.size(), unsupported.size() == 1 ? "" : "s",
                                   fmt::join(unsupported, "\n  "), fmt::join(supported_ops(), ", ")));
  }

  // Weights must be finite.
  for (const Node& node : g.nodes) {
    for (const std::size_t i : weight_inputs(node.op)) {
      const std::string& in = node.input(i);
      if (!in.empty() && g.is_constant(in)) check_finite(g.constant(in), in, node);
    }
  }
}

Graph import_onnx_bytes(const std::string& bytes, const std::string& origin) {
  onnx::ModelProto model;
  if (bytes.empty()) throw FileError(origin, "empty file: not an ONNX model");
  if (!model.ParseFromString(bytes)) {
    throw FileError(origin, fmt::format("not a valid ONNX model: protobuf parsing failed after reading {} bytes "
                                        "(a truncated download, or not an .onnx file)",
                                        bytes.size()));
  }
  if (model.ir_version() <= 0 || !model.has_graph()) {
    throw FileError(origin, fmt::format("not an ONNX model (ir_version {}, {}graph): the bytes parse as protobuf "
                                        "but hold no model",
                                        model.ir_version(), model.has_graph() ? "" : "no "));
  }
  Graph g;
  g.origin = origin;
  g.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
  }
  if (g.opset == 0) throw FileError(origin, "the model imports no opset of the default ONNX domain");
  if (g.opset < kMinOpset || g.opset > kMaxOpset) {
    throw NotSupported(fmt::format("{}: opset {} is not supported (ellesmere implements opsets {} to {}); convert "
                                   "the model with onnx.version_converter",
                                   origin, g.opset, kMinOpset, kMaxOpset));
  }
  const auto& graph = model.graph();
  if (graph.node_size() == 0) throw FileError(origin, "the graph has no nodes");

  std::set<std::string> defined;
  for (const auto& init : graph.initializer()) {
    const std::string what = fmt::format("initializer '{}'", init.name());
    if (init.name().empty()) throw InvalidArgument(fmt::format("{}: an initializer has no name", origin));
    g.constants[init.name()] = decode_tensor(init, what);
    defined.insert(init.name());
  }
  for (const auto& in : graph.input()) {
    // Older exporters list initializers among the graph inputs too; those are weights, not inputs.
    if (g.constants.count(in.name())) continue;
    g.inputs.push_back(decode_value_info(in, "graph input"));
    defined.insert(in.name());
  }
  for (const auto& out : graph.output()) g.outputs.push_back(decode_value_info(out, "graph output"));
  if (g.outputs.empty()) throw FileError(origin, "the graph has no outputs");

  // Nodes, checked for topological order and for inputs nobody provides.
  std::vector<std::string> problems;
  std::set<std::string> produced;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& n = graph.node(i);
    Node node;
    node.op = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.name = n.name().empty() ? fmt::format("{} #{}", n.op_type(), i) : n.name();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const auto& a : n.attribute()) node.attrs[a.name()] = decode_attribute(a, node.label());
    for (const auto& in : node.inputs) {
      if (!in.empty() && !defined.count(in)) {
        problems.push_back(fmt::format("node {} reads '{}', which no initializer, graph input or earlier node "
                                       "provides (a missing initializer, or nodes out of order)",
                                       node.label(), in));
      }
    }
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      if (defined.count(out)) {
        problems.push_back(fmt::format("node {} writes '{}', which is already defined", node.label(), out));
      }
      defined.insert(out);
      produced.insert(out);
    }
    g.nodes.push_back(std::move(node));
  }
  for (const auto& out : g.outputs) {
    if (!defined.count(out.name)) {
      problems.push_back(fmt::format("graph output '{}' is produced by no node", out.name));
    }
  }
  if (!problems.empty()) {
    throw InvalidArgument(fmt::format("{}: the graph is inconsistent:\n  {}", origin, fmt::join(problems, "\n  ")));
  }

  fold_and_check(g);
  return g;
}

HostTensor read_tensor_file(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext != ".npy" && ext != ".pb") {
    throw FileError(path, "unknown tensor file type: expected .npy (NumPy) or .pb (serialized onnx.TensorProto)");
  }
  io::OpenedFile file = io::open_for_reading(path);
  std::string bytes(std::size_t(file.size), '\0');
  if (file.size > 0 && !file.stream.read(bytes.data(), std::streamsize(file.size))) {
    throw FileError(path, fmt::format("read error: {}", std::strerror(errno)));
  }
  return parse_tensor_bytes(bytes, path, ext == ".npy" ? TensorFileKind::npy : TensorFileKind::onnx_tensor);
}

HostTensor parse_tensor_bytes(const std::string& bytes, const std::string& path, TensorFileKind kind) {
  if (kind == TensorFileKind::npy) return HostTensor::from(parse_npy(bytes, path));
  TensorProto proto;
  if (!proto.ParseFromString(bytes) || proto.data_type() == TensorProto::UNDEFINED) {
    throw FileError(path, fmt::format("not a valid serialized onnx.TensorProto ({} bytes: truncated, empty or not "
                                      "protobuf)",
                                      bytes.size()));
  }
  try {
    return decode_tensor(proto, "tensor");
  } catch (const Error& e) {
    throw FileError(path, e.what());
  }
}

Graph import_onnx(const std::string& path) {
  io::OpenedFile file = io::open_for_reading(path);
  std::string bytes(std::size_t(file.size), '\0');
  if (file.size > 0 && !file.stream.read(bytes.data(), std::streamsize(file.size))) {
    throw FileError(path, fmt::format("read error: {}", std::strerror(errno)));
  }
  return import_onnx_bytes(bytes, path);
}

}  // namespace ellesmere::pipeline
