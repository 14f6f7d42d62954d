// Lowering a Graph to the executor's steps: the compute layers (Gemm/MatMul/Conv with constant weights, with
// BatchNormalization folded in and a following bias Add, residual Add and ReLU/Clip fused) whose precision the
// planner chooses, and one step per remaining node. Internal to the pipeline.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ellesmere/ops.hpp"
#include "pipeline/graph.hpp"

namespace ellesmere::pipeline {

// A fused activation: clip(lo, hi) (ReLU is clip(0, +inf), ReLU6 clip(0, 6)); none when !on.
struct Activation {
  bool on = false;
  float lo = 0.0f;
  float hi = std::numeric_limits<float>::infinity();
  bool relu() const { return on && lo == 0.0f && hi == std::numeric_limits<float>::infinity(); }
  std::string str() const;   // "", "Relu", "Clip(0, 6)"
};

// Y = act(X W^T + bias): Gemm (B constant; alpha and beta folded in) or MatMul with a constant 2-D B, X's leading
// dimensions flattened into rows.
struct DenseLayer {
  std::int64_t n = 0;          // outputs
  std::int64_t k = 0;          // inputs
  std::vector<float> w;        // n x k, row-major
  std::vector<float> bias;     // n values, or empty
  Activation act;
};

// Y = act(conv(X, W) + bias + residual), ONNX Conv with a constant weight (BatchNormalization folded into W and the
// bias); 1-D convolutions are 2-D with H = 1.
struct ConvLayer {
  ConvProblem problem;         // n = 1; the executor sets the batch
  bool one_d = false;
  std::vector<float> w;        // K x C/G x R x S
  std::vector<float> bias;     // K values, or empty
  std::string residual;        // the value added before the activation, or ""
  Activation act;
};

struct Step {
  enum class Kind { dense, conv, node };
  Kind kind = Kind::node;
  std::string name;                  // the first node's name (the layer's name in reports)
  std::vector<std::string> ops;      // the ONNX ops it covers, in order ("Conv", "BatchNormalization", "Relu")
  std::vector<std::size_t> nodes;    // their indices in Graph::nodes
  std::vector<std::string> inputs;   // activation values it reads (not constants)
  std::string output;                // the value it writes (node steps: outputs of the node)
  std::vector<std::string> outputs;
  DenseLayer dense;                  // kind == dense
  ConvLayer conv;                    // kind == conv
  bool compute() const { return kind != Kind::node; }
  std::string op_text() const;       // "Conv+BatchNormalization+Relu"
};

// A convolution's full problem for an input shape x (N, C, H, W) or (N, C, W): base's window, groups and K with the
// node's pads (auto_pad resolved), strides and dilations. Throws InvalidArgument naming the node when inconsistent.
ConvProblem conv_problem_for(const ConvProblem& base, const Node& node, const Shape& x);

// Steps in execution order. Throws InvalidArgument naming the node for inconsistent weights (shapes that do not
// match the op).
std::vector<Step> lower(const Graph& graph);

}  // namespace ellesmere::pipeline
