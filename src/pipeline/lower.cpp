// Graph -> steps (lower.hpp): fuses BatchNormalization, bias Add, residual Add and ReLU/Clip into the Gemm, MatMul
// and Conv layers with constant weights, which become the compute layers the planner chooses kernels for.
#include "pipeline/lower.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <span>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "pipeline/host_ops.hpp"

namespace ellesmere::pipeline {

std::string Activation::str() const {
  if (!on) return "";
  if (relu()) return "Relu";
  return fmt::format("Clip({}, {})", lo, hi);
}

std::string Step::op_text() const { return fmt::format("{}", fmt::join(ops, "+")); }

namespace {

// The single node reading value, when value is read by exactly one node and is not a graph output.
const Node* sole_consumer(const Graph& g, const std::string& value, std::size_t& index) {
  if (g.is_output(value)) return nullptr;
  const auto c = g.consumers(value);
  if (c.size() != 1) return nullptr;
  index = c[0];
  return &g.nodes[c[0]];
}

// BatchNormalization's per-channel scale and shift: y = x * scale + shift.
void bn_affine(const Graph& g, const Node& bn, std::int64_t channels, std::vector<float>& scale,
               std::vector<float>& shift) {
  const auto gamma = g.constant(bn.input(1)).to_doubles();
  const auto beta = g.constant(bn.input(2)).to_doubles();
  const auto mean = g.constant(bn.input(3)).to_doubles();
  const auto var = g.constant(bn.input(4)).to_doubles();
  const double eps = bn.get_float("epsilon", 1e-5f);
  if (std::int64_t(gamma.size()) != channels || beta.size() != gamma.size() || mean.size() != gamma.size() ||
      var.size() != gamma.size()) {
    throw InvalidArgument(fmt::format("node {}: parameters for {} channels, expected {}", bn.label(), gamma.size(),
                                      channels));
  }
  scale.resize(gamma.size());
  shift.resize(gamma.size());
  for (std::size_t c = 0; c < gamma.size(); ++c) {
    if (var[c] + eps <= 0) {
      throw InvalidArgument(fmt::format("node {}: variance + epsilon of channel {} is {} (must be > 0)", bn.label(),
                                        c, var[c] + eps));
    }
    const double s = gamma[c] / std::sqrt(var[c] + eps);
    const double t = beta[c] - mean[c] * s;
    // Converting a double beyond float's range is undefined in C++; a scale that large is no usable layer anyway.
    if (!(std::fabs(s) <= double(FLT_MAX) && std::fabs(t) <= double(FLT_MAX))) {
      throw InvalidArgument(fmt::format("node {}: channel {} folds to scale {} and shift {}, beyond float32's range "
                                        "(gamma / sqrt(variance + epsilon) overflows)",
                                        bn.label(), c, s, t));
    }
    scale[c] = float(s);
    shift[c] = float(t);
  }
}

// Weights and bias after folding (Gemm's alpha and beta, a BatchNormalization) must still be finite: a float32
// overflow here would turn into Inf weights, NaN outputs, or an infinite int8 scale far from its cause.
void check_folded(const Node& node, std::span<const float> w, std::span<const float> bias) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      throw InvalidArgument(fmt::format("node {}: weight at flat index {} is {} after folding alpha or a "
                                        "BatchNormalization into it (float32 overflow)",
                                        node.label(), i, w[i]));
    }
  }
  for (std::size_t i = 0; i < bias.size(); ++i) {
    if (!std::isfinite(bias[i])) {
      throw InvalidArgument(fmt::format("node {}: bias [{}] is {} after folding beta or a BatchNormalization into it "
                                        "(float32 overflow)",
                                        node.label(), i, bias[i]));
    }
  }
}

// Folds a following BatchNormalization, then a ReLU/Clip, into a layer writing value; returns the value the fused
// layer finally writes. dense/conv receive the folded parameters through the callbacks.
struct Fuser {
  const Graph& g;
  Step& step;
  std::vector<bool>& used;

  bool take(const std::string& value, const char* op, std::size_t& index) {
    const Node* c = sole_consumer(g, value, index);
    if (c == nullptr || c->op != op || used[index] || c->inputs.empty()) return false;
    return true;
  }
  void mark(std::size_t index) {
    used[index] = true;
    step.nodes.push_back(index);
    step.ops.push_back(g.nodes[index].op);
  }
  // ReLU or Clip with constant bounds.
  std::string activation(const std::string& value, Activation& act) {
    std::size_t i = 0;
    if (take(value, "Relu", i)) {
      mark(i);
      act.on = true;
      act.lo = 0.0f;
      return g.nodes[i].outputs.at(0);
    }
    if (take(value, "Clip", i) && g.nodes[i].inputs[0] == value) {
      float lo, hi;
      clip_bounds(g.nodes[i], g, lo, hi);
      mark(i);
      act.on = true;
      act.lo = lo;
      act.hi = hi;
      return g.nodes[i].outputs.at(0);
    }
    return value;
  }
};

std::vector<float> floats_of(const Graph& g, const std::string& name) { return g.constant(name).to_floats(); }

}  // namespace

ConvProblem conv_problem_for(const ConvProblem& base, const Node& node, const Shape& x) {
  ConvProblem p = base;
  const bool one_d = x.size() == 3;
  const ConvGeometry g = conv_geometry(node, x, p.r, p.s);
  p.n = x[0];
  p.c = x[1];
  p.h = one_d ? 1 : x[2];
  p.w = x.back();
  p.pad_top = g.pad_top;
  p.pad_left = g.pad_left;
  p.pad_bottom = g.pad_bottom;
  p.pad_right = g.pad_right;
  p.stride_h = g.stride_h;
  p.stride_w = g.stride_w;
  p.dilation_h = g.dil_h;
  p.dilation_w = g.dil_w;
  p.validate();
  return p;
}

std::vector<Step> lower(const Graph& g) {
  std::vector<Step> steps;
  std::vector<bool> used(g.nodes.size(), false);
  std::map<std::string, std::size_t> producer;   // value -> index of the node writing it
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& out : g.nodes[i].outputs) producer[out] = i;
  }
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (used[i]) continue;
    const Node& node = g.nodes[i];
    Step step;
    step.name = node.name;
    step.ops = {node.op};
    step.nodes = {i};
    used[i] = true;
    Fuser fuse{g, step, used};

    const bool gemm_layer = node.op == "Gemm" && g.is_constant(node.input(1)) && !g.is_constant(node.input(0)) &&
                            node.get_int("transA", 0) == 0 && g.constant(node.input(1)).shape.size() == 2;
    const bool matmul_layer = node.op == "MatMul" && g.is_constant(node.input(1)) && !g.is_constant(node.input(0)) &&
                              g.constant(node.input(1)).shape.size() == 2;
    const bool conv_layer = node.op == "Conv" && g.is_constant(node.input(1)) && !g.is_constant(node.input(0)) &&
                            (node.input(2).empty() || g.is_constant(node.input(2)));
    if (gemm_layer || matmul_layer) {
      const HostTensor& b = g.constant(node.input(1));
      const bool tb = gemm_layer && node.get_int("transB", 0) != 0;
      DenseLayer& d = step.dense;
      d.n = tb ? b.shape[0] : b.shape[1];
      d.k = tb ? b.shape[1] : b.shape[0];
      const std::vector<float> bv = b.to_floats();
      const float alpha = gemm_layer ? node.get_float("alpha", 1.0f) : 1.0f;
      d.w.resize(std::size_t(d.n * d.k));
      for (std::int64_t r = 0; r < d.n; ++r) {
        for (std::int64_t c = 0; c < d.k; ++c) {
          d.w[std::size_t(r * d.k + c)] = alpha * (tb ? bv[std::size_t(r * d.k + c)] : bv[std::size_t(c * d.n + r)]);
        }
      }
      bool ok = true;
      if (gemm_layer && !node.input(2).empty()) {
        // C must be a constant vector of N (or (1, N)) for the layer form; anything else runs as a plain node.
        if (!g.is_constant(node.input(2))) {
          ok = false;
        } else {
          const HostTensor& c = g.constant(node.input(2));
          const float beta = node.get_float("beta", 1.0f);
          const std::int64_t cn = c.count();
          const bool vec = (c.shape.size() == 1 && c.shape[0] == d.n) ||
                           (c.shape.size() == 2 && c.shape[0] == 1 && c.shape[1] == d.n) ||
                           (cn == 1 && c.shape.size() <= 2);
          if (!vec) {
            ok = false;
          } else {
            const std::vector<float> cv = c.to_floats();
            d.bias.resize(std::size_t(d.n));
            for (std::int64_t j = 0; j < d.n; ++j) d.bias[std::size_t(j)] = beta * cv[cn == 1 ? 0 : std::size_t(j)];
          }
        }
      }
      if (ok) {
        step.kind = Step::Kind::dense;
        step.inputs = {node.input(0)};
        std::string out = node.outputs.at(0);
        std::size_t j = 0;
        // MatMul + Add(constant vector of N): PyTorch's Linear exported without Gemm.
        if (matmul_layer && fuse.take(out, "Add", j)) {
          const Node& add = g.nodes[j];
          const std::string& other = add.input(0) == out ? add.input(1) : add.input(0);
          if (g.is_constant(other)) {
            const HostTensor& c = g.constant(other);
            if (c.count() == d.n && (c.shape.size() == 1 || (c.shape.size() == 2 && c.shape[0] == 1))) {
              fuse.mark(j);
              d.bias = c.to_floats();
              out = add.outputs.at(0);
            }
          }
        }
        // BatchNormalization over the features (BatchNorm1d after Linear): y = (xW^T + b) * s + t.
        if (fuse.take(out, "BatchNormalization", j) && g.nodes[j].inputs[0] == out) {
          std::vector<float> s, t;
          bn_affine(g, g.nodes[j], d.n, s, t);
          fuse.mark(j);
          if (d.bias.empty()) d.bias.assign(std::size_t(d.n), 0.0f);
          for (std::int64_t r = 0; r < d.n; ++r) {
            for (std::int64_t c = 0; c < d.k; ++c) d.w[std::size_t(r * d.k + c)] *= s[std::size_t(r)];
            d.bias[std::size_t(r)] = d.bias[std::size_t(r)] * s[std::size_t(r)] + t[std::size_t(r)];
          }
          out = g.nodes[j].outputs.at(0);
        }
        check_folded(node, d.w, d.bias);
        out = fuse.activation(out, d.act);
        step.output = out;
        step.outputs = {out};
        steps.push_back(std::move(step));
        continue;
      }
    }
    if (conv_layer) {
      const HostTensor& w = g.constant(node.input(1));
      ConvLayer& c = step.conv;
      c.w = w.to_floats();
      if (!node.input(2).empty()) c.bias = floats_of(g, node.input(2));
      c.one_d = w.shape.size() == 3;
      c.problem.k = w.shape[0];
      c.problem.groups = node.get_int("group", 1);
      c.problem.c = w.shape.at(1) * c.problem.groups;
      c.problem.r = c.one_d ? 1 : w.shape.at(2);
      c.problem.s = w.shape.back();
      if (!c.bias.empty() && std::int64_t(c.bias.size()) != c.problem.k) {
        throw InvalidArgument(fmt::format("node {}: bias has {} values for {} output channels", node.label(),
                                          c.bias.size(), c.problem.k));
      }
      step.kind = Step::Kind::conv;
      step.inputs = {node.input(0)};
      std::string out = node.outputs.at(0);
      std::size_t j = 0;
      if (fuse.take(out, "BatchNormalization", j) && g.nodes[j].inputs[0] == out) {
        std::vector<float> s, t;
        bn_affine(g, g.nodes[j], c.problem.k, s, t);
        fuse.mark(j);
        if (c.bias.empty()) c.bias.assign(std::size_t(c.problem.k), 0.0f);
        const std::size_t per = c.w.size() / std::size_t(c.problem.k);
        for (std::int64_t k = 0; k < c.problem.k; ++k) {
          for (std::size_t e = 0; e < per; ++e) c.w[std::size_t(k) * per + e] *= s[std::size_t(k)];
          c.bias[std::size_t(k)] = c.bias[std::size_t(k)] * s[std::size_t(k)] + t[std::size_t(k)];
        }
        out = g.nodes[j].outputs.at(0);
      }
      check_folded(node, c.w, c.bias);
      // Residual Add of another computed tensor of the output's shape (checked at run time) before the activation.
      if (fuse.take(out, "Add", j)) {
        const Node& add = g.nodes[j];
        const std::string& other = add.input(0) == out ? add.input(1) : add.input(0);
        // The other operand must exist when this step runs: a graph input or a value written before the Conv.
        const auto p = producer.find(other);
        const bool ready = p == producer.end() || p->second < i;
        if (!g.is_constant(other) && other != out && ready) {
          fuse.mark(j);
          c.residual = other;
          step.inputs.push_back(other);
          out = add.outputs.at(0);
        }
      }
      out = fuse.activation(out, c.act);
      step.output = out;
      step.outputs = {out};
      steps.push_back(std::move(step));
      continue;
    }
    step.kind = Step::Kind::node;
    for (const auto& in : node.inputs) {
      if (!in.empty() && !g.is_constant(in)) step.inputs.push_back(in);
    }
    step.outputs = node.outputs;
    step.output = node.outputs.empty() ? "" : node.outputs[0];
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace ellesmere::pipeline
