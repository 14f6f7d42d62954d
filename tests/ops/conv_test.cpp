// FP16 convolution on the OpenCL device against the Eigen fp32 reference (from the same halves): every Impl x
// applicable problem of tests/problems/conv_f16.txt x Params (GCN shapes, CPU vector shapes, channel blocks that do
// not divide K), plain and with the fused bias + residual + ReLU or clip, outputs poisoned first; ONNX's Conv node
// tests and PyTorch's converted Conv2d tests (libonnx-testdata); determinism; the Impl choice; bad input.
// ConvKernel* runs under oclgrind.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/tensor_io.hpp"
#include "ops/conv/conv_impl.hpp"
#include "ops/impl_registry.hpp"
#include "reference/reference.hpp"
#include "runtime/hash.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

namespace fs = std::filesystem;
using testing::shared_context;
using Activation = ConvEpilogue::Activation;

struct ClearOverrides {   // also when an assertion returns early
  ~ClearOverrides() { tuning::TuningDb::global().clear_overrides(); }
};

// Inputs of one run: X, W, and the epilogue's operands when it is on.
struct ConvInputs {
  std::vector<std::uint16_t> x, w;
  reference::ConvRefEpilogue epilogue;
};

ConvInputs random_inputs(const ConvProblem& p, std::uint64_t seed, Activation act) {
  ConvInputs in;
  in.x = reference::random_halves(std::size_t(p.input_elements()), seed, -1.0f, 1.0f);
  in.w = reference::random_halves(std::size_t(p.weight_elements()), seed + 1, -1.0f, 1.0f);
  if (act != Activation::none) {
    in.epilogue.bias = reference::random_floats(std::size_t(p.k), seed + 2, -1.0f, 1.0f);
    in.epilogue.residual = reference::random_halves(std::size_t(p.output_elements()), seed + 3, -1.0f, 1.0f);
    in.epilogue.activation = act;
    in.epilogue.clip_min = -0.5f;
    in.epilogue.clip_max = 0.75f;
  }
  return in;
}

// Runs p through impl ("" for dispatch's choice) with params (a runtime tuning override, so the public dispatch
// path is the one tested) and returns Y as halves, after checking every element was written.
std::vector<std::uint16_t> run(Context& ctx, const std::string& impl, const ConvProblem& p, const ConvInputs& in,
                               const ops::Params& params) {
  ClearOverrides clear;
  if (!params.empty()) {
    tuning::TuningDb::global().add_override({ctx.device().key, impl, p.str(), params, 0.0});
    const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), *ops::find_impl(impl), p.str());
    EXPECT_TRUE(lookup.entry && lookup.entry->layer == tuning::Layer::override_) << "the Params under test must be used";
  }
  Buffer<std::uint16_t> X(ctx, std::span<const std::uint16_t>(in.x), "X");
  Buffer<std::uint16_t> Wt(ctx, std::span<const std::uint16_t>(in.w), "W");
  Buffer<std::uint16_t> Y(ctx, std::size_t(p.output_elements()), "Y");
  Y.upload(std::vector<std::uint16_t>(std::size_t(p.output_elements()), reference::poison_f16()));
  Buffer<float> bias;
  Buffer<std::uint16_t> residual;
  ConvOptions options;
  options.impl = impl;
  if (!in.epilogue.bias.empty()) {
    bias = Buffer<float>(ctx, std::span<const float>(in.epilogue.bias), "bias");
    options.epilogue.bias = &bias;
  }
  if (!in.epilogue.residual.empty()) {
    residual = Buffer<std::uint16_t>(ctx, std::span<const std::uint16_t>(in.epilogue.residual), "residual");
    options.epilogue.residual = &residual;
  }
  options.epilogue.activation = in.epilogue.activation;
  options.epilogue.clip_min = in.epilogue.clip_min;
  options.epilogue.clip_max = in.epilogue.clip_max;
  conv2d_f16(ctx, p, X, Wt, Y, options).wait();
  std::vector<std::uint16_t> out = Y.to_vector();
  const std::int64_t unwritten = reference::first_poisoned_f16(out);
  EXPECT_EQ(unwritten, -1) << "output element " << unwritten << " never written";
  return out;
}

// run() and the comparison with the reference: ||out - ref|| / ||ref|| <= kConvF16Tolerance.
void check(Context& ctx, const std::string& impl, const ConvProblem& p, const ops::Params& params, Activation act,
           std::uint64_t seed) {
  SCOPED_TRACE(fmt::format("{} {} [{}] epilogue {}", impl, p.str(), params.str(), int(act)));
  const ConvInputs in = random_inputs(p, seed, act);
  const std::vector<float> want = reference::conv2d_f16_ref(p, in.x, in.w, in.epilogue);
  const std::vector<float> out = to_floats(run(ctx, impl, p, in, params));
  const double err = reference::relative_error(out, want);
  EXPECT_LE(err, reference::kConvF16Tolerance) << "max abs error " << reference::max_abs_error(out, want);
}

// Params beyond the defaults: GCN shapes (a lane per column, 64-item work-groups), CPU vector shapes, channel blocks
// that do not divide K (3, 5), work-groups taller than wide, the staging passes (WPACK, XPAD) alone and together,
// depthwise's local tile (LTILE) at every vector width, gemm1x1's strided layers gathered and subsampled (XSUB),
// with every vector width the strided loads treat apart (1, 2, 4, 8, 16), and 2- and 4-wide vectors in work-groups
// of 1-2 items (where PoCL once dropped the epilogue from some lanes: kernels/conv/conv_common.h, STORE_OUT).
std::vector<ops::Params> param_sets(const std::string& impl) {
  std::vector<std::string> s;
  if (impl == "conv_f16_igemm") {
    s = {"VW=1 KPT=4 LX=64 LY=1", "VW=16 KPT=3 LX=4 LY=2 XPAD=1 WPACK=1", "VW=8 KPT=5 LX=2 LY=2 XPAD=1",
         "VW=16 KPT=8 LX=1 LY=4", "VW=4 KPT=1 LX=16 LY=16", "VW=4 KPT=3 LX=1 LY=2 WPACK=1",
         "VW=2 KPT=2 LX=8 LY=2 XPAD=1 WPACK=1", "VW=1 KPT=4 LX=16 LY=1 XPAD=1 WPACK=1"};
  } else if (impl == "conv_f16_direct") {
    s = {"VW=1 KPT=4 LX=16 LY=4", "VW=4 KPT=5 LX=8 LY=2", "VW=2 KPT=2 LX=32 LY=8", "VW=16 KPT=8 LX=2 LY=1"};
  } else if (impl == "conv_f16_gemm1x1") {
    s = {"VW=1 KPT=4 LX=64", "VW=16 KPT=3 LX=4 WPACK=1 XSUB=1", "VW=8 KPT=8 LX=32", "VW=4 KPT=16 LX=2 WPACK=1",
         "VW=2 KPT=8 LX=1", "VW=8 KPT=5 LX=2 XSUB=1"};
  } else if (impl == "conv_f16_depthwise") {
    s = {"VW=1 LX=64 LY=1", "VW=16 LX=2 LY=4 RPT=4 XPAD=1 WPACK=1", "VW=2 LX=4 LY=4 RPT=3 LTILE=1",
         "VW=4 LX=1 LY=2 RPT=3 XPAD=1", "VW=4 LX=2 LY=4 RPT=3", "VW=8 LX=4 LY=2 XPAD=1",
         "VW=2 LX=16 LY=1 RPT=8 WPACK=1", "VW=8 LX=2 LY=2 RPT=4 LTILE=1 WPACK=1", "VW=16 LX=1 LY=1 RPT=8 LTILE=1",
         "VW=1 LX=64 LY=1 RPT=2 LTILE=1", "VW=4 LX=1 LY=2 RPT=1 LTILE=1"};
  } else {
    s = {"VW=1 KPT=4 LX=64", "VW=16 KPT=3 LX=4", "VW=4 KPT=8 LX=16"};
  }
  // oclgrind: a GCN shape and a CPU vector shape per Impl, and for the staged Impls a second CPU shape (the
  // stride-2 loads differ by vector width); for depthwise also its local tile, staged by 16 items (races).
  if (testing::small_mode()) {
    s.resize(impl == "conv_f16_igemm" ? 3 : impl == "conv_f16_depthwise" ? 4 : 2);
  }
  std::vector<ops::Params> out;
  for (const auto& t : s) out.push_back(ops::Params::parse(t));
  return out;
}

using testing::KernelCase;

// Every Impl x Params x problem it can run (on any device: applicability here does not depend on the device's
// limits for the catalogue's shapes).
std::vector<KernelCase> kernel_cases() {
  DeviceInfo any;
  any.local_mem_bytes = 32768;
  any.max_work_group_size = 256;
  return testing::kernel_cases("conv_f16", ops::conv_list(), param_sets, [&](const std::string& impl, const std::string& problem) {
    const ConvProblem p = ConvProblem::parse(problem);
    for (const auto& i : ops::conv_list()) {
      if (i->name() == impl) return i->name() == "conv_f16_direct" || i->applicable(p, any).empty();
    }
    return false;
  });
}

class ConvKernel : public ::testing::TestWithParam<KernelCase> {};

TEST_P(ConvKernel, MatchesReference) {
  const KernelCase& c = GetParam();
  const ConvProblem p = ConvProblem::parse(c.problem);
  const std::uint64_t seed = runtime::Fnv1a64().add(c.problem).value();
  check(shared_context(), c.impl, p, c.params, Activation::none, seed);
  // The fused epilogue, ReLU and clip in turn across the cases.
  check(shared_context(), c.impl, p, c.params, c.index % 2 == 0 ? Activation::relu : Activation::clip, seed + 11);
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvKernel, ::testing::ValuesIn(kernel_cases()), testing::kernel_case_name);

// The same Params give the same bits on every run.
TEST(ConvDeterminism, SameBitsEveryRun) {
  Context& ctx = shared_context();
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c16h9w9k16r3s3p1u1");
  const ConvInputs in = random_inputs(p, 3, Activation::relu);
  for (const auto& impl : ops::conv_list()) {
    if (!impl->applicable(p, ctx.device()).empty()) continue;
    for (const auto& params : param_sets(impl->name())) {
      EXPECT_EQ(run(ctx, impl->name(), p, in, params), run(ctx, impl->name(), p, in, params))
          << impl->name() << " " << params.str();
    }
  }
}

// The fp32-storage build of every Impl (-DCONV_STORE_F32: what the benchmarks measure half storage against) computes
// the same convolution from the halves' values, every output written, the fused epilogue on. Its output is not
// rounded to half, so only fp32 accumulation order and Winograd's fp32 transforms separate it from the reference:
// measured at most 9.7e-7 (F(4x4), 16 channels), growing about as sqrt(channels); 1e-5 leaves room and still fails
// an output rounded to half (up to 4.9e-4).
constexpr double kF32StorageTolerance = 1e-5;

TEST(ConvF32Storage, MatchesReference) {
  Context& ctx = shared_context();
  const std::vector<std::string> problems = {"conv_f16:n1c16h9w9k16r3s3p1u1", "conv_f16:n2c17h7w13k5r3s3p1u2",
                                             "conv_f16:n1c8h11w9k16r3s3p1u1g8", "conv_f16:n1c24h6w5k17r1s1p0u1"};
  const std::uint32_t poison = 0x7fc0beefu;   // a NaN no kernel produces
  int runs = 0;
  for (const auto& text : problems) {
    const ConvProblem p = ConvProblem::parse(text);
    const ConvInputs in = random_inputs(p, 21, Activation::relu);
    const std::vector<float> want = reference::conv2d_f16_ref(p, in.x, in.w, in.epilogue);
    Buffer<float> X(ctx, std::span<const float>(to_floats(in.x)), "X"), Wt(ctx, std::span<const float>(to_floats(in.w)), "W");
    Buffer<float> bias(ctx, std::span<const float>(in.epilogue.bias), "bias");
    Buffer<float> residual(ctx, std::span<const float>(to_floats(in.epilogue.residual)), "residual");
    Buffer<float> Y(ctx, std::size_t(p.output_elements()), "Y");
    for (const auto& impl : ops::conv_list()) {
      if (!impl->applicable(p, ctx.device()).empty()) continue;
      std::vector<ops::Params> sets = param_sets(impl->name());
      sets.resize(std::min<std::size_t>(sets.size(), 2));   // a GCN shape and a CPU vector shape
      for (const auto& partial : sets) {
        const ops::Params params = impl->space().complete(partial);   // launch() takes every tunable
        if (!impl->check_params(params, ctx.device()).empty()) continue;
        SCOPED_TRACE(fmt::format("{} {} [{}]", impl->name(), p.str(), params.str()));
        float poison_value;
        std::memcpy(&poison_value, &poison, sizeof poison_value);
        Y.upload(std::vector<float>(std::size_t(p.output_elements()), poison_value));
        ops::ConvArgs args;
        args.x = X.handle();
        args.w = Wt.handle();
        args.y = Y.handle();
        args.bias = bias.handle();
        args.residual = residual.handle();
        args.activation = Activation::relu;
        args.f32_storage = true;
        impl->launch(ctx.impl(), p, params, args).wait();
        const std::vector<float> out = Y.to_vector();
        for (std::size_t i = 0; i < out.size(); ++i) {
          std::uint32_t bits;
          std::memcpy(&bits, &out[i], sizeof bits);
          ASSERT_NE(bits, poison) << "output element " << i << " never written";
        }
        EXPECT_LE(reference::relative_error(out, want), kF32StorageTolerance);
        ++runs;
      }
    }
  }
  EXPECT_GE(runs, 12) << "each Impl should have run at least one problem";
}

// ---- dispatch ----

DeviceInfo fake_device(DeviceType type) {
  DeviceInfo d;
  d.type = type;
  d.max_work_group_size = type == DeviceType::cpu ? 4096 : 256;
  d.max_work_item_sizes = {d.max_work_group_size, d.max_work_group_size, d.max_work_group_size};
  d.local_mem_bytes = type == DeviceType::cpu ? (1 << 19) : 32768;
  d.key = type == DeviceType::cpu ? "test-cpu" : "amd-polaris-36cu";
  d.family = type == DeviceType::cpu ? "test" : "amd-polaris";
  return d;
}

std::string chosen(const std::string& problem, DeviceType type) {
  return ops::choose_conv(ConvProblem::parse(problem), fake_device(type), "").first->name();
}

TEST(ConvChoice, SpecialisedImplsTakeTheirLayers) {
  for (DeviceType t : {DeviceType::cpu, DeviceType::gpu}) {
    EXPECT_EQ(chosen("conv_f16:n1c64h56w56k64r3s3p1u1", t), "conv_f16_winograd4");
    EXPECT_EQ(chosen("conv_f16:n1c256h14w14k256r3s3p1u1", t), "conv_f16_winograd");   // small images: F(2x2)
    EXPECT_EQ(chosen("conv_f16:n1c512h7w7k512r3s3p1u1", t), "conv_f16_winograd");
    EXPECT_EQ(chosen("conv_f16:n1c144h56w56k144r3s3p1u2g144", t), "conv_f16_depthwise");
    EXPECT_EQ(chosen("conv_f16:n1c96h56w56k24r1s1p0u1", t), "conv_f16_gemm1x1");
    EXPECT_EQ(chosen("conv_f16:n1c64h56w56k128r1s1p0u2", t), "conv_f16_gemm1x1");   // strided 1x1 too
  }
  // Few channels: Winograd's transforms would cost more than the multiplies they save.
  EXPECT_NE(chosen("conv_f16:n1c3h32w32k8r3s3p1u1", DeviceType::gpu), "conv_f16_winograd");
  EXPECT_NE(chosen("conv_f16:n1c3h32w32k8r3s3p1u1", DeviceType::gpu), "conv_f16_winograd4");
  EXPECT_EQ(chosen("conv_f16:n1c3h224w224k64r7s7p3u2", DeviceType::gpu), "conv_f16_direct");
  EXPECT_EQ(chosen("conv_f16:n1c3h224w224k64r7s7p3u2", DeviceType::cpu), "conv_f16_igemm");
}

TEST(ConvChoice, NamedImplThatCannotRunSaysWhy) {
  Context& ctx = shared_context();
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c4h8w8k4r5s5p2u1");
  Buffer<std::uint16_t> X(ctx, std::size_t(p.input_elements())), Wt(ctx, std::size_t(p.weight_elements())),
      Y(ctx, std::size_t(p.output_elements()));
  try {
    conv2d_f16(ctx, p, X, Wt, Y, {.impl = "conv_f16_winograd"});
    FAIL() << "expected NotSupported";
  } catch (const NotSupported& e) {
    EXPECT_NE(std::string(e.what()).find("the window is 5x5, not 3x3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(conv2d_f16(ctx, p, X, Wt, Y, {.impl = "conv_f16_fast"}), InvalidArgument);
}

// ---- bad input ----

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "(no InvalidArgument)";
}

TEST(ConvErrors, NameWhatIsWrong) {
  Context& ctx = shared_context();
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c4h8w8k6r3s3p1u1");
  Buffer<std::uint16_t> X(ctx, std::size_t(p.input_elements())), Wt(ctx, std::size_t(p.weight_elements())),
      Y(ctx, std::size_t(p.output_elements())), small(ctx, 10);
  Buffer<float> short_bias(ctx, 5);
  const auto has = [](const std::string& what, const std::string& text) {
    EXPECT_NE(what.find(text), std::string::npos) << "\"" << what << "\" should say \"" << text << "\"";
  };
  has(error_of([&] { conv2d_f16(ctx, p, small, Wt, Y); }), "X");
  has(error_of([&] { conv2d_f16(ctx, p, X, small, Y); }), "W");
  has(error_of([&] { conv2d_f16(ctx, p, X, Wt, small); }), "Y");
  has(error_of([&] { conv2d_f16(ctx, p, X, Wt, Y, {.epilogue = {.bias = &short_bias}}); }), "bias");
  has(error_of([&] { conv2d_f16(ctx, p, X, Wt, Y, {.epilogue = {.residual = &small}}); }), "residual");
  has(error_of([&] { conv2d_f16(ctx, p, X, Wt, Y, {.epilogue = {.residual = &Y}}); }), "must not be Y itself");
  Buffer<std::uint16_t> both(ctx, std::size_t(p.output_elements()));   // large enough to be X and Y
  has(error_of([&] { conv2d_f16(ctx, p, both, Wt, both); }), "no in-place");
  has(error_of([&] {
        conv2d_f16(ctx, p, X, Wt, Y, {.epilogue = {.activation = Activation::clip, .clip_min = 2, .clip_max = 1}});
      }),
      "clip bounds");
  has(error_of([&] {
        conv2d_f16(ctx, p, X, Wt, Y, {.epilogue = {.activation = Activation::clip, .clip_min = NAN, .clip_max = 1}});
      }),
      "clip bounds");
  ConvProblem bad = p;
  bad.groups = 3;
  has(error_of([&] { conv2d_f16(ctx, bad, X, Wt, Y); }), "groups = 3 must divide both C = 4 and K = 6");
  bad = p;
  bad.pad_top = 0;
  bad.pad_bottom = 0;
  bad.h = 2;
  has(error_of([&] { conv2d_f16(ctx, bad, X, Wt, Y); }), "output size");
  bad = p;
  bad.stride_w = 0;
  has(error_of([&] { conv2d_f16(ctx, bad, X, Wt, Y); }), "strides");
  bad = p;
  bad.pad_left = -1;
  has(error_of([&] { conv2d_f16(ctx, bad, X, Wt, Y); }), "pads");
  bad = p;
  bad.dilation_h = 0;
  has(error_of([&] { conv2d_f16(ctx, bad, X, Wt, Y); }), "dilations");
  bad = p;
  bad.k = 0;
  has(error_of([&] { conv2d_f16(ctx, bad, X, Wt, Y); }), "every dimension");
}

// ---- ONNX Conv node tests and PyTorch's converted Conv2d tests (Debian libonnx-testdata) ----

const fs::path kOnnxData = "/usr/share/libonnx-testdata/data";

// Tolerance against ONNX's expected outputs, computed in fp32 from the unrounded inputs: our inputs are rounded to
// half first (relative error up to 2^-11 per X and W element), then the output once more: 2e-3 covers the three
// roundings (each <= 4.9e-4 in the norm) with room. Against our own reference from the rounded inputs the bound
// stays kConvF16Tolerance.
constexpr double kOnnxConvTolerance = 2e-3;

onnx::ModelProto read_model(const fs::path& path) {
  onnx::ModelProto model;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in && model.ParseFromIstream(&in)) << path;
  return model;
}

Tensor tensor_of(const onnx::TensorProto& proto, const fs::path& scratch) {
  // read_onnx_tensor reads files: write the initializer out (it is what the .pb inputs hold too).
  std::ofstream(scratch, std::ios::binary) << proto.SerializeAsString();
  return read_onnx_tensor(scratch.string());
}

// The model's Conv node as a problem, and its X, W and optional B from the test data (inputs or initializers).
struct OnnxConv {
  ConvProblem problem;
  std::vector<float> x, w, bias, y;
};

OnnxConv load_onnx_conv(const fs::path& dir) {
  const onnx::ModelProto model = read_model(dir / "model.onnx");
  const onnx::GraphProto& graph = model.graph();
  const onnx::NodeProto* node = nullptr;
  for (const auto& n : graph.node()) {
    if (n.op_type() == "Conv") node = &n;
  }
  EXPECT_NE(node, nullptr) << dir << " has no Conv node";
  std::map<std::string, Tensor> values;
  testing::TempDir tmp("onnx-conv");
  for (const auto& init : graph.initializer()) values[init.name()] = tensor_of(init, tmp.path() / "init.pb");
  int input_index = 0;
  for (const auto& in : graph.input()) {
    if (values.count(in.name())) continue;   // an initializer listed among the inputs (older exporters)
    values[in.name()] =
        read_onnx_tensor((dir / "test_data_set_0" / fmt::format("input_{}.pb", input_index++)).string());
  }
  OnnxConv c;
  const Tensor& x = values.at(node->input(0));
  const Tensor& w = values.at(node->input(1));
  EXPECT_EQ(x.shape.size(), 4u) << dir << ": not a 2-D convolution";
  const auto xf = x.values<float>(), wf = w.values<float>();
  c.x.assign(xf.begin(), xf.end());
  c.w.assign(wf.begin(), wf.end());
  if (node->input_size() > 2 && !node->input(2).empty()) {
    const auto b = values.at(node->input(2)).values<float>();
    c.bias.assign(b.begin(), b.end());
  }
  const Tensor y = read_onnx_tensor((dir / "test_data_set_0" / "output_0.pb").string());
  const auto yf = y.values<float>();
  c.y.assign(yf.begin(), yf.end());
  ConvProblem& p = c.problem;
  p.n = x.shape[0];
  p.c = x.shape[1];
  p.h = x.shape[2];
  p.w = x.shape[3];
  p.k = w.shape[0];
  p.r = w.shape[2];
  p.s = w.shape[3];
  std::string auto_pad = "NOTSET";
  for (const auto& a : node->attribute()) {
    const auto ints = [&](std::size_t i) { return std::int64_t(a.ints(int(i))); };
    if (a.name() == "strides") p.stride_h = ints(0), p.stride_w = ints(1);
    if (a.name() == "dilations") p.dilation_h = ints(0), p.dilation_w = ints(1);
    if (a.name() == "pads") p.pad_top = ints(0), p.pad_left = ints(1), p.pad_bottom = ints(2), p.pad_right = ints(3);
    if (a.name() == "group") p.groups = a.i();
    if (a.name() == "auto_pad") auto_pad = a.s();
  }
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {   // output = ceil(input / stride)
    const auto total = [](std::int64_t in, std::int64_t stride, std::int64_t span) {
      return std::max<std::int64_t>(0, ((in + stride - 1) / stride - 1) * stride + span - in);
    };
    const std::int64_t th = total(p.h, p.stride_h, p.dilation_h * (p.r - 1) + 1);
    const std::int64_t tw = total(p.w, p.stride_w, p.dilation_w * (p.s - 1) + 1);
    const bool upper = auto_pad == "SAME_UPPER";   // the odd pixel at the end
    p.pad_top = upper ? th / 2 : th - th / 2;
    p.pad_bottom = th - p.pad_top;
    p.pad_left = upper ? tw / 2 : tw - tw / 2;
    p.pad_right = tw - p.pad_left;
  } else if (auto_pad == "VALID") {
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 0;
  }
  p.validate();
  EXPECT_EQ(std::size_t(p.output_elements()), c.y.size()) << dir << " " << p.str();
  return c;
}

class OnnxConvTests : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxConvTests, EveryImplMatches) {
  const fs::path dir = kOnnxData / GetParam();
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: install Debian package libonnx-testdata";
  const OnnxConv c = load_onnx_conv(dir);
  const ConvProblem& p = c.problem;
  Context& ctx = shared_context();
  ConvInputs in;
  in.x = to_halves(c.x);
  in.w = to_halves(c.w);
  in.epilogue.bias = c.bias;
  const std::vector<float> ours_ref = reference::conv2d_f16_ref(p, in.x, in.w, in.epilogue);
  int ran = 0;
  for (const auto& impl : ops::conv_list()) {
    if (!impl->applicable(p, ctx.device()).empty()) continue;
    SCOPED_TRACE(fmt::format("{} {}", impl->name(), p.str()));
    const std::vector<float> out = to_floats(run(ctx, impl->name(), p, in, {}));
    EXPECT_LE(reference::relative_error(out, c.y), kOnnxConvTolerance) << "against ONNX's output";
    EXPECT_LE(reference::relative_error(out, ours_ref), reference::kConvF16Tolerance) << "against the reference";
    ++ran;
  }
  EXPECT_GE(ran, 2) << p.str();   // the direct and implicit-GEMM paths run every problem
}

INSTANTIATE_TEST_SUITE_P(
    LibonnxTestdata, OnnxConvTests,
    ::testing::Values("node/test_basic_conv_with_padding", "node/test_basic_conv_without_padding",
                      "node/test_conv_with_autopad_same", "node/test_conv_with_strides_and_asymmetric_padding",
                      "node/test_conv_with_strides_no_padding", "node/test_conv_with_strides_padding",
                      "pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_depthwise",
                      "pytorch-converted/test_Conv2d_depthwise_padded", "pytorch-converted/test_Conv2d_depthwise_strided",
                      "pytorch-converted/test_Conv2d_depthwise_with_multiplier", "pytorch-converted/test_Conv2d_dilated",
                      "pytorch-converted/test_Conv2d_groups", "pytorch-converted/test_Conv2d_groups_thnn",
                      "pytorch-converted/test_Conv2d_no_bias", "pytorch-converted/test_Conv2d_padding",
                      "pytorch-converted/test_Conv2d_strided"),
    [](const ::testing::TestParamInfo<std::string>& param_info) {
      std::string n = param_info.param.substr(param_info.param.find('/') + 1);
      for (char& ch : n) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

}  // namespace
}  // namespace ellesmere
