// The pipeline's model graph: what onnx_import.cpp makes of an ONNX file (nodes in topological order, constants,
// typed inputs and outputs), host tensors of every element type a model may hold, and shape inference. Internal;
// the executor, the planner and the CLI work on it. No OpenCL here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ellesmere/tensor_io.hpp"

namespace ellesmere::pipeline {

// Element types of model tensors. Device tensors are f32, u8, i8 or i32; the others occur only as constants (shapes
// in i64, Cast targets, ConstantOfShape values) and are folded away at import.
enum class ElemType { f32, f16, f64, i8, u8, i32, i64, boolean };
const char* elem_type_name(ElemType t) noexcept;   // "float32", "uint8", ...
std::size_t elem_size(ElemType t) noexcept;
bool is_device_type(ElemType t) noexcept;           // f32, u8, i8, i32

using Shape = std::vector<std::int64_t>;
std::string shape_text(const Shape& shape);          // "(1, 16, 28, 28)"
std::int64_t element_count(const Shape& shape);     // product; throws InvalidArgument on overflow or a negative dim

// A dense row-major little-endian tensor on the host, of any ElemType.
struct HostTensor {
  ElemType type = ElemType::f32;
  Shape shape;
  std::vector<std::byte> data;

  std::int64_t count() const { return element_count(shape); }
  template <class T> std::span<const T> as() const;   // throws InvalidArgument when T is not type's C++ type
  template <class T> std::span<T> as();
  std::vector<double> to_doubles() const;          // every type (f16 decoded)
  std::vector<std::int64_t> to_int64s() const;     // integer and bool types; floats must hold integers
  std::vector<float> to_floats() const;            // every type, as float
  static HostTensor floats(Shape shape, std::vector<float> values);
  static HostTensor int64s(Shape shape, const std::vector<std::int64_t>& values);
  static HostTensor of(ElemType type, Shape shape);   // zero-filled
  static HostTensor from(const Tensor& t);            // tensor_io's Tensor (f32, f16, i8, u8, i32)
  Tensor to_tensor() const;                           // InvalidArgument for i64, f64, bool
};

struct Attribute {
  enum class Kind { none, i, f, s, ints, floats, tensor, other };
  Kind kind = Kind::none;
  std::int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  std::shared_ptr<HostTensor> tensor;
};

struct Node {
  std::string name;                  // the node's name, or "<op> #<index>" when the file gives none
  std::string op;                    // op_type
  std::string domain;                // "" for the default ONNX domain
  std::vector<std::string> inputs;   // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;

  std::string label() const;         // "'name' (Op)", for messages
  bool has(const std::string& attr) const { return attrs.count(attr) != 0; }
  std::int64_t get_int(const std::string& attr, std::int64_t fallback) const;
  float get_float(const std::string& attr, float fallback) const;
  std::string get_string(const std::string& attr, const std::string& fallback) const;
  std::vector<std::int64_t> get_ints(const std::string& attr, std::vector<std::int64_t> fallback = {}) const;
  // The i-th input's name, or "" when absent.
  const std::string& input(std::size_t i) const;
};

// A graph input or output: element type and dims (-1 where the file gives a symbolic or no dimension).
struct ValueSpec {
  std::string name;
  ElemType type = ElemType::f32;
  Shape dims;
  std::vector<std::string> dim_names;   // the symbolic names ("batch"), "" for fixed dims
  bool shape_known = false;             // false when the file gives no shape at all
};

struct Graph {
  std::string origin;                        // the file, for messages
  std::int64_t opset = 0;                    // of the default domain
  std::string producer;                      // "pytorch 1.13.0", ...
  std::vector<ValueSpec> inputs;             // real inputs (graph inputs that are not initializers)
  std::vector<ValueSpec> outputs;
  std::map<std::string, HostTensor> constants;   // initializers and folded Constant nodes / constant subgraphs
  std::vector<Node> nodes;                   // topological order, constants folded away

  bool is_constant(const std::string& value) const { return constants.count(value) != 0; }
  const HostTensor& constant(const std::string& value) const;   // throws InvalidArgument when absent
  // Every node that reads value (by index into nodes), and whether value is a graph output.
  std::vector<std::size_t> consumers(const std::string& value) const;
  bool is_output(const std::string& value) const;
};

// The ops the pipeline runs (after constant folding); anything else in a model is an error listing every node.
const std::vector<std::string>& supported_ops();
// Ops folded on the host when all their inputs are constants (Constant always): shape and type plumbing.
const std::vector<std::string>& foldable_ops();

// Reads an ONNX model. Throws FileError for an unreadable, truncated or malformed file (naming what is wrong),
// NotSupported listing every node whose op (or op variant) is not supported, and InvalidArgument for a graph that
// is inconsistent (an input no node, initializer or graph input provides; a duplicate output; NaN or Inf in a
// weight), always naming the node and value.
Graph import_onnx(const std::string& path);
Graph import_onnx_bytes(const std::string& bytes, const std::string& origin);
// Folds constant subgraphs, then checks that every remaining op is supported and every weight finite (import does
// this; binding inputs as constants calls it again).
void fold_and_check(Graph& graph);
// Makes the named graph inputs constants with the given values (an int64 shape input, which has to be known
// before the run), then folds and checks again. Throws InvalidArgument for a name that is not an input, or a value
// whose type or shape contradicts the input's declaration.
void bind_constant_inputs(Graph& graph, const std::map<std::string, HostTensor>& values);
// A tensor file: NumPy .npy (read_npy) or a serialized onnx.TensorProto .pb (every ElemType, int64 included).
// Throws FileError naming the path and what is wrong.
HostTensor read_tensor_file(const std::string& path);
// The same from the file's bytes (the fuzz targets' entry); path labels errors.
enum class TensorFileKind { npy, onnx_tensor };
HostTensor parse_tensor_bytes(const std::string& bytes, const std::string& path, TensorFileKind kind);
// The ValueSpec's declared type and fixed dims against a tensor; "" when it fits, else what differs.
std::string check_against_spec(const ValueSpec& spec, ElemType type, const Shape& shape);

// Value types and shapes for given input shapes: every value's ElemType and Shape, from the graph's inputs through
// every node. Throws InvalidArgument naming the node and the shapes when they are inconsistent (a Gemm whose K do
// not agree, an input of the wrong rank, ...).
struct ValueType {
  ElemType type = ElemType::f32;
  Shape shape;
};
using ShapeMap = std::map<std::string, ValueType>;
ShapeMap infer_shapes(const Graph& graph, const std::map<std::string, Shape>& input_shapes);
// The input shapes with every symbolic dimension set to batch (the first) or 1 (others); throws InvalidArgument for
// an input whose file gives no shape.
std::map<std::string, Shape> default_input_shapes(const Graph& graph, std::int64_t batch);

// Per-op attribute helpers shared by shape inference and the executor.
struct ConvGeometry {   // 2-D convolution or pooling window (1-D ops have h = 1, kernel_h = 1)
  std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  std::int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::int64_t out_h = 1, out_w = 1;
  bool ceil_mode = false;
};
// For Conv / ConvInteger / QLinearConv (kernel from the weight's shape when the attribute is absent), MaxPool,
// AveragePool: auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), pads, strides, dilations, ceil_mode. x is the
// input's NCHW (or NCW) shape. Throws InvalidArgument naming the node.
ConvGeometry conv_geometry(const Node& node, const Shape& x, std::int64_t kernel_h, std::int64_t kernel_w);
// Flatten's axis / Softmax's axis normalised against rank (negative counts from the end).
std::int64_t normalize_axis(const Node& node, std::int64_t axis, std::int64_t rank);
// Reshape's target shape (0 copies the input's dim unless allowzero, -1 inferred).
Shape reshape_target(const Node& node, const Shape& in, const std::vector<std::int64_t>& requested);
// numpy broadcasting of two shapes; InvalidArgument naming the node when they do not broadcast.
Shape broadcast_shapes(const Node& node, const Shape& a, const Shape& b);

}  // namespace ellesmere::pipeline
