// The pipeline's executor on the device: every precision of a dense layer and of a convolution (with fused
// BatchNormalization, residual Add and ReLU) against host computations, with every activation buffer poisoned
// first; and ONNX's backend node tests through `ellesmere run --input ... --output-dir`, with ONNX's tolerance
// (rtol 1e-3, atol 1e-7; integer outputs exact), plus the node tests of variants we refuse, which must fail with a
// clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "ellesmere/error.hpp"
#include "ellesmere/pipeline.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/sparse.hpp"
#include "ellesmere/tensor_io.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"
#include "pipeline/planner.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"
#include "unit/onnx_model_builder.hpp"

namespace ellesmere::pipeline {
namespace {

namespace fs = std::filesystem;

// ‖out − ref‖ / ‖ref‖ bounds of the executor's paths against the host computations below.
constexpr double kFp32Tolerance = 1e-5;   // fp32 paths: summation order only
constexpr double kFp16Tolerance = 1e-3;   // half storage of X, W, Y (and the residual), fp32 accumulation

Attribute ints_attr(std::vector<std::int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}

Attribute int_attr(std::int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}

ValueSpec spec(const std::string& name, Shape dims) {
  ValueSpec v;
  v.name = name;
  v.dims = std::move(dims);
  v.dim_names.assign(v.dims.size(), "");
  v.shape_known = true;
  return v;
}

struct DenseCase {
  std::int64_t rows, n, k;
};

class PipelineDense : public ::testing::TestWithParam<DenseCase> {};

TEST_P(PipelineDense, EveryPrecisionMatchesTheHostComputationOfItsWeights) {
  const DenseCase dense_case = GetParam();   // named members, not a structured binding: clang 15 cannot capture those
  const std::int64_t rows = dense_case.rows, n = dense_case.n, k = dense_case.k;
  Context& ctx = testing::shared_context();
  Graph g;
  g.origin = "dense";
  g.opset = 13;
  g.inputs.push_back(spec("x", {rows, k}));
  g.outputs.push_back(spec("y", {}));
  const std::vector<float> w = reference::random_floats(std::size_t(n * k), 11, -0.5f, 0.5f);
  const std::vector<float> b = reference::random_floats(std::size_t(n), 12, -0.2f, 0.2f);
  const std::vector<float> x = reference::random_floats(std::size_t(rows * k), 13, -1.0f, 1.0f);
  g.constants["w"] = HostTensor::floats({n, k}, w);
  g.constants["b"] = HostTensor::floats({n}, b);
  Node gemm;
  gemm.name = "fc";
  gemm.op = "Gemm";
  gemm.inputs = {"x", "w", "b"};
  gemm.outputs = {"h"};
  gemm.attrs["transB"] = int_attr(1);
  Node relu;
  relu.name = "relu";
  relu.op = "Relu";
  relu.inputs = {"h"};
  relu.outputs = {"y"};
  g.nodes = {gemm, relu};
  const std::vector<Step> steps = lower(g);
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_EQ(steps[0].op_text(), "Gemm+Relu");

  // Host: y = relu(x * wq^T + b) for the weights a precision actually uses, in double.
  auto host = [&](const std::vector<float>& wu, const std::vector<float>& xu) {
    std::vector<float> y(std::size_t(rows * n));
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = b[std::size_t(j)];
        for (std::int64_t i = 0; i < k; ++i) acc += double(xu[std::size_t(r * k + i)]) * wu[std::size_t(j * k + i)];
        y[std::size_t(r * n + j)] = float(std::max(acc, 0.0));
      }
    }
    return y;
  };
  std::vector<std::pair<LayerChoice, std::vector<float>>> cases;
  cases.emplace_back(LayerChoice{}, host(w, x));
  for (const int group : {32, 64}) {
    LayerChoice c;
    c.precision = Precision::int4;
    c.group = group;
    GroupQuantOptions o;
    o.group = group;
    cases.emplace_back(c, host(quantize_grouped(w, n, k, WeightLayout::nk, o).dequantize(), x));
  }
  for (const double sp : {0.5, 0.9}) {
    LayerChoice c;
    c.precision = Precision::csr;
    c.sparsity = sp;
    const CsrMatrix a = prune_to_csr(w, n, k, sp);
    std::vector<float> wd(w.size(), 0.0f);
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int32_t e = a.row_ptr[std::size_t(r)]; e < a.row_ptr[std::size_t(r + 1)]; ++e) {
        wd[std::size_t(r * k + a.col_idx[std::size_t(e)])] = a.values[std::size_t(e)];
      }
    }
    cases.emplace_back(c, host(wd, x));
  }
  {
    // int8: activations on their u8 grid, weights on their per-channel i8 grid (scale max|w| / 127).
    LayerChoice c;
    c.precision = Precision::int8;
    c.act = params_from_range(-1.0f, 1.0f, QuantType::u8);
    const std::vector<std::int64_t> shape{rows, k};
    std::vector<std::uint8_t> xq(x.size());
    quantize_linear(x, shape, *c.act, xq);
    std::vector<float> xd(x.size());
    dequantize_linear(xq, shape, *c.act, xd);
    std::vector<float> wd(w.size());
    for (std::int64_t r = 0; r < n; ++r) {
      float m = 0;
      for (std::int64_t i = 0; i < k; ++i) m = std::max(m, std::fabs(w[std::size_t(r * k + i)]));
      const float s = m / 127.0f;
      for (std::int64_t i = 0; i < k; ++i) {
        wd[std::size_t(r * k + i)] = float(std::nearbyint(w[std::size_t(r * k + i)] / s)) * s;
      }
    }
    cases.emplace_back(c, host(wd, xd));
  }
  for (const auto& [choice, ref] : cases) {
    Executor ex(ctx, g, steps, {choice});
    ex.poison_buffers(true);
    const auto out = ex.run({{"x", HostTensor::floats({rows, k}, x)}});
    const auto y = out.at("y").as<float>();
    ASSERT_EQ(y.size(), ref.size()) << choice.label();
    const std::vector<float> got(y.begin(), y.end());
    EXPECT_EQ(reference::first_poisoned(got), -1) << choice.label() << ": an output element was never written";
    EXPECT_LE(reference::relative_error(got, ref), kFp32Tolerance) << choice.label();
    EXPECT_GT(ex.weight_bytes(0), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PipelineDense,
                         ::testing::Values(DenseCase{1, 37, 67}, DenseCase{3, 37, 67}, DenseCase{5, 64, 128},
                                           DenseCase{17, 9, 33}),
                         [](const auto& c) {
                           return fmt::format("m{}n{}k{}", c.param.rows, c.param.n, c.param.k);
                         });

// Conv (pads, stride) + BatchNormalization + residual Add + ReLU, fused into one step: against the unfused host
// computation.
TEST(PipelineConv, FusedConvBatchNormResidualReluMatchesUnfusedHost) {
  Context& ctx = testing::shared_context();
  const std::int64_t N = 2, C = 3, H = 9, W = 7, K = 5, R = 3, S = 3, P = 1, U = 2;
  const std::int64_t OH = (H + 2 * P - R) / U + 1, OW = (W + 2 * P - S) / U + 1;
  Graph g;
  g.origin = "conv";
  g.opset = 13;
  g.inputs.push_back(spec("x", {N, C, H, W}));
  g.inputs.push_back(spec("res", {N, K, OH, OW}));
  g.outputs.push_back(spec("y", {}));
  const auto w = reference::random_floats(std::size_t(K * C * R * S), 21, -0.5f, 0.5f);
  const auto bias = reference::random_floats(std::size_t(K), 22, -0.1f, 0.1f);
  const auto gamma = reference::random_floats(std::size_t(K), 23, 0.5f, 1.5f);
  const auto beta = reference::random_floats(std::size_t(K), 24, -0.2f, 0.2f);
  const auto mean = reference::random_floats(std::size_t(K), 25, -0.2f, 0.2f);
  const auto var = reference::random_floats(std::size_t(K), 26, 0.5f, 2.0f);
  const auto x = reference::random_floats(std::size_t(N * C * H * W), 27);
  const auto res = reference::random_floats(std::size_t(N * K * OH * OW), 28);
  g.constants["w"] = HostTensor::floats({K, C, R, S}, w);
  g.constants["b"] = HostTensor::floats({K}, bias);
  g.constants["gamma"] = HostTensor::floats({K}, gamma);
  g.constants["beta"] = HostTensor::floats({K}, beta);
  g.constants["mean"] = HostTensor::floats({K}, mean);
  g.constants["var"] = HostTensor::floats({K}, var);
  Node conv;
  conv.name = "conv";
  conv.op = "Conv";
  conv.inputs = {"x", "w", "b"};
  conv.outputs = {"c"};
  conv.attrs["pads"] = ints_attr({P, P, P, P});
  conv.attrs["strides"] = ints_attr({U, U});
  Node bn;
  bn.name = "bn";
  bn.op = "BatchNormalization";
  bn.inputs = {"c", "gamma", "beta", "mean", "var"};
  bn.outputs = {"n"};
  Node add;
  add.name = "add";
  add.op = "Add";
  add.inputs = {"n", "res"};
  add.outputs = {"s"};
  Node relu;
  relu.name = "relu";
  relu.op = "Relu";
  relu.inputs = {"s"};
  relu.outputs = {"y"};
  g.nodes = {conv, bn, add, relu};
  const std::vector<Step> steps = lower(g);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].op_text(), "Conv+BatchNormalization+Add+Relu");

  std::vector<float> ref(std::size_t(N * K * OH * OW));
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t k = 0; k < K; ++k) {
      for (std::int64_t oy = 0; oy < OH; ++oy) {
        for (std::int64_t ox = 0; ox < OW; ++ox) {
          double acc = bias[std::size_t(k)];
          for (std::int64_t c = 0; c < C; ++c) {
            for (std::int64_t r = 0; r < R; ++r) {
              for (std::int64_t s = 0; s < S; ++s) {
                const std::int64_t iy = oy * U - P + r, ix = ox * U - P + s;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += double(x[std::size_t(((n * C + c) * H + iy) * W + ix)]) *
                       w[std::size_t(((k * C + c) * R + r) * S + s)];
              }
            }
          }
          const double normed = (acc - mean[std::size_t(k)]) / std::sqrt(double(var[std::size_t(k)]) + 1e-5) *
                                    gamma[std::size_t(k)] +
                                beta[std::size_t(k)];
          const std::size_t o = std::size_t(((n * K + k) * OH + oy) * OW + ox);
          ref[o] = float(std::max(0.0, normed + res[o]));
        }
      }
    }
  }
  for (const Precision p : {Precision::fp32, Precision::fp16}) {
    LayerChoice c;
    c.precision = p;
    Executor ex(ctx, g, steps, {c});
    ex.poison_buffers(true);
    const auto out = ex.run({{"x", HostTensor::floats({N, C, H, W}, x)}, {"res", HostTensor::floats({N, K, OH, OW}, res)}});
    const auto y = out.at("y").as<float>();
    const std::vector<float> got(y.begin(), y.end());
    ASSERT_EQ(got.size(), ref.size());
    EXPECT_EQ(reference::first_poisoned(got), -1) << precision_name(p);
    EXPECT_LE(reference::relative_error(got, ref), p == Precision::fp32 ? kFp32Tolerance : kFp16Tolerance)
        << precision_name(p);
  }
}

TEST(PipelineExecutor, WrongInputsAreClearErrors) {
  Context& ctx = testing::shared_context();
  const Graph g = import_onnx(std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx");
  Executor ex(ctx, g, lower(g));
  auto message = [&](const std::map<std::string, HostTensor>& in) {
    try {
      ex.run(in);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("NO ERROR");
  };
  EXPECT_NE(message({}).find("no data given for input 'input'"), std::string::npos);
  EXPECT_NE(message({{"input", HostTensor::floats({2, 64}, std::vector<float>(128, 0.5f))}}).find("declared"),
            std::string::npos);
  EXPECT_NE(message({{"input", HostTensor::of(ElemType::u8, {2, 1, 8, 8})}}).find("declared float32"),
            std::string::npos);
  EXPECT_NE(message({{"input", HostTensor::floats({1, 1, 8, 8}, std::vector<float>(64, 0.5f))},
                     {"extra", HostTensor::floats({1}, {1.0f})}})
                .find("'extra' is not an input"),
            std::string::npos);
}

// QLinearConv's requantization adds the int32 bias to the int32 accumulator exactly: with a bias at int32's limits
// the sum leaves int32's range, which wrapped (undefined in C) in the kernel before. Three output channels of a 1x1
// conv on x = (255, 255), y int8, factor 2^-24: (127 + 127) * 255 + INT32_MAX -> 128.004 -> 127 (wrapped: -128);
// (-128 - 128) * 255 + INT32_MIN -> -128.004 -> -128 (wrapped: 127); a control, 510 + 1e9 -> 59.6 -> 60.
TEST(PipelineExecutor, QLinearConvBiasAtInt32LimitsIsAddedExactly) {
  using onnx::TensorProto;
  testing::ModelBuilder b;
  b.input("x", {1, 2, 1, 1}, TensorProto::UINT8);
  b.output("y", TensorProto::INT8);
  b.floats("x_scale", {}, {1.0f});
  b.ints("x_zp", {}, TensorProto::UINT8, {0});
  b.ints("w", {3, 2, 1, 1}, TensorProto::INT8, {127, 127, -128, -128, 1, 1});
  b.floats("w_scale", {}, {1.0f});
  b.ints("w_zp", {}, TensorProto::INT8, {0});
  b.floats("y_scale", {}, {16777216.0f});
  b.ints("y_zp", {}, TensorProto::INT8, {0});
  b.ints("bias", {3}, TensorProto::INT32, {2147483647, -2147483647 - 1, 1000000000});
  b.node("QLinearConv", {"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"}, {"y"}, "qconv");
  const Graph g = import_onnx_bytes(b.bytes(), "qconv.onnx");
  Context& ctx = testing::shared_context();
  Executor ex(ctx, g, lower(g));
  HostTensor x = HostTensor::of(ElemType::u8, {1, 2, 1, 1});
  x.data[0] = x.data[1] = std::byte{255};
  const HostTensor y = ex.run({{"x", x}}).at("y");
  ASSERT_EQ(y.type, ElemType::i8);
  ASSERT_EQ(y.data.size(), 3u);
  EXPECT_EQ(std::to_integer<std::int8_t>(y.data[0]), 127);
  EXPECT_EQ(std::to_integer<std::int8_t>(y.data[1]), -128);
  EXPECT_EQ(std::to_integer<std::int8_t>(y.data[2]), 60);
}

// The public plan API (ellesmere/pipeline.hpp): a plan executed on labelled data gives a report with its
// measurements; calibration or evaluation data that is not finite, has negative labels or does not fit the model's
// input is an InvalidArgument naming which data and what, before any plan is made or run.
TEST(PipelinePublicApi, PlanModelExecutesOnDataAndRejectsBadData) {
  Context& ctx = testing::shared_context();
  const OnnxModel model = OnnxModel::load(std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx");
  const Tensor calib = Tensor::from<float>({20, 1, 8, 8}, reference::random_floats(20 * 64, 41, 0.0f, 16.0f));
  const Tensor eval = Tensor::from<float>({30, 1, 8, 8}, reference::random_floats(30 * 64, 42, 0.0f, 16.0f));
  std::vector<std::int32_t> labels(30);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t((i * 7) % 10);
  PlanRequest request;
  request.target = PlanTarget::balanced;
  request.batch = 10;
  request.calibration = &calib;
  request.evaluation = &eval;
  request.evaluation_labels = &labels;
  const PlanReport r = plan_model(ctx, model, request);
  EXPECT_NE(r.json.find("ellesmere-plan-report/1"), std::string::npos);
  EXPECT_FALSE(r.table.empty());
  EXPECT_TRUE(std::isfinite(r.measured_speedup) && r.measured_speedup > 0) << r.measured_speedup;
  EXPECT_TRUE(r.fp32_accuracy >= 0 && r.fp32_accuracy <= 1) << r.fp32_accuracy;
  EXPECT_GT(r.memory_reduction, 0);

  auto error_of = [&](const PlanRequest& q) {
    try {
      (void)plan_model(ctx, model, q);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("NO InvalidArgument");
  };
  std::vector<float> nan_values = reference::random_floats(20 * 64, 43, 0.0f, 16.0f);
  nan_values[70] = std::nanf("");
  const Tensor nan_calib = Tensor::from<float>({20, 1, 8, 8}, nan_values);
  PlanRequest q = request;
  q.calibration = &nan_calib;
  EXPECT_NE(error_of(q).find("calibration: the data holds NaN or Inf (nan at flat index 70)"), std::string::npos)
      << error_of(q);
  std::vector<float> inf_values = reference::random_floats(30 * 64, 44, 0.0f, 16.0f);
  inf_values[1000] = -std::numeric_limits<float>::infinity();
  const Tensor inf_eval = Tensor::from<float>({30, 1, 8, 8}, inf_values);
  q = request;
  q.evaluation = &inf_eval;
  EXPECT_NE(error_of(q).find("evaluation: the data holds NaN or Inf (-inf at flat index 1000)"), std::string::npos)
      << error_of(q);
  std::vector<std::int32_t> negative = labels;
  negative[2] = -3;
  q = request;
  q.evaluation_labels = &negative;
  EXPECT_NE(error_of(q).find("evaluation: negative label -3 at index 2"), std::string::npos) << error_of(q);
  const Tensor flat = Tensor::from<float>({20, 64}, reference::random_floats(20 * 64, 45, 0.0f, 16.0f));
  q = request;
  q.calibration = &flat;
  EXPECT_NE(error_of(q).find("the data calibration has shape (20, 64), 20 samples of shape (64,), but input 'input' "
                             "is declared (-1, 1, 8, 8)"),
            std::string::npos)
      << error_of(q);
}

// The verification backs off: a plan forced to prune every layer of the digits MLP to 90 % breaks a zero budget on
// the evaluation data, and execute_plan reverts layers (logging each) until the measured drop is within it.
TEST(PipelinePlanner, VerificationBacksOffUntilTheBudgetHolds) {
  Context& ctx = testing::shared_context();
  const std::string model = std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx";
  const Graph g = import_onnx(model);
  PlanOptions o;
  o.target = Target::extreme;
  o.max_accuracy_drop = 0.0;
  o.batch = 25;
  Plan plan = make_plan(ctx, g, model, o, nullptr);
  for (auto& lp : plan.layers) {
    for (std::size_t ci = 0; ci < lp.candidates.size(); ++ci) {
      if (lp.candidates[ci].choice.precision == Precision::csr && lp.candidates[ci].choice.sparsity == 0.9) {
        lp.chosen = ci;
      }
    }
    ASSERT_NE(lp.chosen, 0u);
  }
  // Labelled data: 100 random images labelled by the fp32 model's own argmax, so fp32 scores 1.0.
  Dataset data;
  data.x = HostTensor::floats({100, 1, 8, 8}, reference::random_floats(6400, 31, 0.0f, 1.0f));
  {
    Executor ex(ctx, g, lower(g));
    const auto out = ex.run({{"input", data.x}}).at("output");
    const auto v = out.as<float>();
    for (int r = 0; r < 100; ++r) {
      data.labels.push_back(std::int32_t(std::max_element(v.begin() + r * 10, v.begin() + r * 10 + 10) -
                                         (v.begin() + r * 10)));
    }
  }
  data.origin = "random images";
  execute_plan(ctx, g, plan, data);
  EXPECT_DOUBLE_EQ(plan.fp32_accuracy, 1.0);
  EXPECT_LE(plan.fp32_accuracy - plan.plan_accuracy, 0.0);
  int back_offs = 0;
  for (const auto& line : plan.log) back_offs += line.rfind("back-off:", 0) == 0;
  int reverted = 0;
  for (const auto& lp : plan.layers) reverted += lp.chosen == 0;
  EXPECT_GE(reverted, 1);
  EXPECT_EQ(reverted, back_offs);
}

// ---- ONNX backend node tests through the CLI ---------------------------------------------------------------

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

std::vector<std::string> graph_inputs(const fs::path& model) {
  onnx::ModelProto m;
  std::ifstream f(model, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&f)) << model;
  std::set<std::string> inits;
  for (const auto& i : m.graph().initializer()) inits.insert(i.name());
  std::vector<std::string> out;
  for (const auto& i : m.graph().input()) {
    if (!inits.count(i.name())) out.push_back(i.name());
  }
  return out;
}

std::vector<std::string> graph_outputs(const fs::path& model) {
  onnx::ModelProto m;
  std::ifstream f(model, std::ios::binary);
  m.ParseFromIstream(&f);
  std::vector<std::string> out;
  for (const auto& o : m.graph().output()) out.push_back(o.name());
  return out;
}

struct CliResult {
  int status = 0;
  std::string output;
};

CliResult run_cli(const std::string& args) {
  const fs::path log = fs::temp_directory_path() / fmt::format("ellesmere-node-{}.log", ::getpid());
  const std::string cmd = fmt::format("\"{}\" {} > \"{}\" 2>&1", ELLESMERE_CLI_PATH, args, log.string());
  CliResult r;
  r.status = std::system(cmd.c_str());
  std::ifstream f(log);
  r.output.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  fs::remove(log);
  return r;
}

std::string node_test_args(const std::string& name, const fs::path& data_set, const fs::path& out_dir) {
  const fs::path dir = kNodeTests / name;
  std::string args = fmt::format("run \"{}\" --output-dir \"{}\"", (dir / "model.onnx").string(), out_dir.string());
  const auto inputs = graph_inputs(dir / "model.onnx");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    args += fmt::format(" --input \"{}={}\"", inputs[i], (data_set / fmt::format("input_{}.pb", i)).string());
  }
  return args;
}

// Every node test of every supported op, variants included (broadcasting, auto_pad, ceil_mode, axis, batched
// matmul, integer types).
const std::vector<std::string> kPassing = {
    "test_add", "test_add_bcast", "test_add_uint8", "test_averagepool_1d_default", "test_averagepool_2d_ceil",
    "test_averagepool_2d_default", "test_averagepool_2d_pads", "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads", "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper", "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower", "test_averagepool_2d_same_upper", "test_averagepool_2d_strides",
    "test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_basic_convinteger",
    "test_batchnorm_epsilon", "test_batchnorm_example", "test_clip", "test_clip_default_inbounds",
    "test_clip_default_int8_inbounds", "test_clip_default_int8_max", "test_clip_default_int8_min",
    "test_clip_default_max", "test_clip_default_min", "test_clip_example", "test_clip_inbounds",
    "test_clip_outbounds", "test_clip_splitbounds", "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding", "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding", "test_convinteger_with_padding", "test_convinteger_without_padding",
    "test_dequantizelinear", "test_dequantizelinear_axis", "test_dropout_default", "test_dropout_default_old",
    "test_dropout_default_ratio", "test_dropout_random_old", "test_flatten_axis0", "test_flatten_axis1",
    "test_flatten_axis2", "test_flatten_axis3", "test_flatten_default_axis", "test_flatten_negative_axis1",
    "test_flatten_negative_axis2", "test_flatten_negative_axis3", "test_flatten_negative_axis4",
    "test_gemm_all_attributes", "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_matrix_bias",
    "test_gemm_default_no_bias", "test_gemm_default_scalar_bias", "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias", "test_gemm_default_zero_bias", "test_gemm_transposeA", "test_gemm_transposeB",
    "test_globalaveragepool", "test_globalaveragepool_precomputed", "test_identity", "test_matmul_2d",
    "test_matmul_3d", "test_matmul_4d", "test_matmulinteger", "test_maxpool_1d_default", "test_maxpool_2d_ceil",
    "test_maxpool_2d_default", "test_maxpool_2d_dilations", "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads", "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides", "test_maxpool_2d_same_lower", "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides", "test_maxpool_2d_uint8", "test_qlinearconv", "test_qlinearmatmul_2D",
    "test_qlinearmatmul_3D", "test_quantizelinear", "test_quantizelinear_axis", "test_relu",
    "test_reshape_allowzero_reordered", "test_reshape_extended_dims", "test_reshape_negative_dim",
    "test_reshape_negative_extended_dims", "test_reshape_one_dim", "test_reshape_reduced_dims",
    "test_reshape_reordered_all_dims", "test_reshape_reordered_last_dims", "test_reshape_zero_and_negative_dim",
    "test_reshape_zero_dim", "test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2",
    "test_softmax_default_axis", "test_softmax_example", "test_softmax_large_number", "test_softmax_negative_axis"};

class OnnxNodeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNodeTest, PassesThroughTheCliWithOnnxTolerance) {
  const std::string name = GetParam();
  const fs::path dir = kNodeTests / name;
  ASSERT_TRUE(fs::exists(dir / "model.onnx")) << "libonnx-testdata is missing " << dir;
  const auto outputs = graph_outputs(dir / "model.onnx");
  int sets = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    const fs::path out_dir = fs::path(ELLESMERE_TEST_HOME) / "onnx-node" / name / entry.path().filename();
    fs::remove_all(out_dir);
    const CliResult r = run_cli(node_test_args(name, entry.path(), out_dir));
    ASSERT_EQ(r.status, 0) << r.output;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      std::string file = outputs[i];
      for (char& c : file) {
        if (c == '/' || c == '\\' || c == ':') c = '_';
      }
      const Tensor got = read_npy((out_dir / (file + ".npy")).string());
      const Tensor want = read_onnx_tensor((entry.path() / fmt::format("output_{}.pb", i)).string());
      ASSERT_EQ(got.shape, want.shape) << outputs[i];
      ASSERT_EQ(got.dtype, want.dtype) << outputs[i];
      if (want.dtype == DType::f32) {
        const auto g = got.values<float>(), w = want.values<float>();
        for (std::size_t e = 0; e < w.size(); ++e) {
          if (std::isnan(w[e])) {
            EXPECT_TRUE(std::isnan(g[e])) << outputs[i] << "[" << e << "]";
            continue;
          }
          ASSERT_LE(std::fabs(double(g[e]) - w[e]), 1e-7 + 1e-3 * std::fabs(double(w[e])))
              << outputs[i] << "[" << e << "]: " << g[e] << " vs " << w[e];
        }
      } else {
        EXPECT_EQ(got.data, want.data) << outputs[i] << " (integer outputs must match exactly)";
      }
    }
  }
  EXPECT_GT(sets, 0);
}

INSTANTIATE_TEST_SUITE_P(Supported, OnnxNodeTest, ::testing::ValuesIn(kPassing),
                         [](const auto& c) { return c.param; });

// Node tests of variants we do not run: each fails with an error naming the node and what is missing.
struct Refusal {
  std::string test;
  std::string message;
};

class OnnxNodeRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(OnnxNodeRefusal, FailsWithAClearError) {
  const Refusal& r = GetParam();
  const fs::path dir = kNodeTests / r.test;
  ASSERT_TRUE(fs::exists(dir / "model.onnx")) << dir;
  const CliResult res = run_cli(node_test_args(r.test, dir / "test_data_set_0",
                                               fs::path(ELLESMERE_TEST_HOME) / "onnx-node-refused" / r.test));
  EXPECT_NE(res.status, 0);
  EXPECT_NE(res.output.find("ellesmere: error:"), std::string::npos) << res.output;
  EXPECT_NE(res.output.find(r.message), std::string::npos) << res.output;
}

INSTANTIATE_TEST_SUITE_P(
    Unsupported, OnnxNodeRefusal,
    ::testing::Values(
        Refusal{"test_averagepool_3d_default", "only 1-D (N, C, W) and 2-D (N, C, H, W) windows are supported"},
        Refusal{"test_maxpool_3d_default", "only 1-D (N, C, W) and 2-D (N, C, H, W) windows are supported"},
        Refusal{"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool's Indices output is not supported"},
        Refusal{"test_batchnorm_epsilon_training_mode", "BatchNormalization in training mode"},
        Refusal{"test_dropout_default_mask", "element type BOOL"},
        Refusal{"test_identity_sequence", "is not a tensor (sequences, maps and optionals are not supported)"},
        Refusal{"test_softmax_axis_0_expanded", "'ReduceMax #1' (ReduceMax)"}),
    [](const auto& c) { return c.param.test; });

}  // namespace
}  // namespace ellesmere::pipeline
