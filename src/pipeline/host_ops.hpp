// Host-side pieces of the pipeline's op support: folding constant nodes, the op variants we refuse (with why), and
// reading ONNX quantization parameters. Internal; used by onnx_import.cpp, graph.cpp and the executor.
#pragma once

#include <string>
#include <vector>

#include "ellesmere/quant.hpp"
#include "pipeline/graph.hpp"

namespace ellesmere::pipeline {

// Evaluates a foldable node (foldable_ops()) whose inputs are all constants (nullptr for an omitted optional one).
// Throws InvalidArgument naming the node when its inputs do not fit the op.
std::vector<HostTensor> fold_node(const Node& node, const std::vector<const HostTensor*>& inputs, std::int64_t opset);

// "" when the executor runs this node as written (given the graph's constants), else why not, e.g. "Dropout in
// training mode (training_mode = 1) is not supported: export the model in eval mode". Shape-dependent limits are
// checked by infer_shapes.
std::string unsupported_variant(const Node& node, const Graph& graph);

// The inputs of node that must be known before the run (scales, zero points, BatchNormalization's statistics,
// Clip's bounds, Reshape's shape), by index; and the graph inputs that feed such a slot (ONNX's node tests give
// parameters as inputs): bind_constant_inputs must make them constants before the executor runs.
std::vector<std::size_t> parameter_slots(const Node& node, std::int64_t opset);
std::vector<std::string> parameter_inputs(const Graph& graph);

// The QuantParams of a QuantizeLinear / DequantizeLinear / QLinear* operand from its scale and zero-point constants
// (zero_point may be nullptr: 0 of type). A scale with more than one element is per-axis along axis (normalised
// against rank). Throws InvalidArgument naming the node for a scale that is not float, not finite or <= 0, a zero
// point of the wrong type, or mismatched counts.
QuantParams quant_params(const Node& node, const HostTensor& scale, const HostTensor* zero_point, QuantType type,
                         std::int64_t axis, std::int64_t rank);
// The QuantType of u8 or i8; InvalidArgument naming the node for any other type.
QuantType quant_type_of(const Node& node, ElemType type, const char* what);

// Clip's bounds: attributes before opset 11, optional constant inputs from 11 (absent = -inf / +inf).
void clip_bounds(const Node& node, const Graph& graph, float& lo, float& hi);

}  // namespace ellesmere::pipeline
