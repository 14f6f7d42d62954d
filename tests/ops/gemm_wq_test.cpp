// Weight-only quantized GEMM on the OpenCL device against the reference on the dequantized weights: every Impl x
// problem of tests/problems/gemm_wq.txt (4- and 8-bit, groups 32/64/128, symmetric and zero points, fp32 and fp16
// activations, K not a multiple of the group, M in {1, 2, 7, 8, 9, 64}, odd N) x Params (work-groups of 64 and 256
// items, and the CPU shapes), with and without bias, outputs poisoned first; llama.cpp Q4_0 / Q8_0 blocks end to
// end against ggml's own dequantization; bad input. GemmWqKernel* runs under oclgrind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/impl_registry.hpp"
#include "reference/reference.hpp"
#include "runtime/hash.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

using testing::shared_context;

// Weights for a problem: quantized from seeded random floats (every code value occurs), with a random spread of
// magnitudes across rows so the scales differ; the clip search on some rows' problems.
GroupedWeights make_weights(const GemmWqProblem& p, std::uint64_t seed) {
  std::vector<float> w = reference::random_floats(std::size_t(p.n * p.k), seed, -1.0f, 1.0f);
  const auto row_scale = reference::random_floats(std::size_t(p.n), seed + 1, 0.01f, 4.0f);
  for (std::int64_t r = 0; r < p.n; ++r) {
    for (std::int64_t c = 0; c < p.k; ++c) w[std::size_t(r * p.k + c)] *= row_scale[std::size_t(r)];
  }
  GroupQuantOptions o{.bits = p.bits, .group = p.group, .zero_points = p.zero_points};
  o.clip_search = seed % 2 == 0;
  return quantize_grouped(w, p.n, p.k, WeightLayout::nk, o);
}

// X as the kernel reads it (raw bytes: floats, or halves) and as the reference sees it (floats, already rounded
// to half when the problem stores halves).
struct Activations {
  std::vector<std::uint8_t> raw;
  std::vector<float> values;
};
Activations make_activations(const GemmWqProblem& p, std::uint64_t seed) {
  Activations a;
  a.values = reference::random_floats(std::size_t(p.m * p.k), seed, -1.0f, 1.0f);
  if (p.half_activations) {
    std::vector<std::uint16_t> h(a.values.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
      h[i] = float_to_half(a.values[i]);
      a.values[i] = half_to_float(h[i]);
    }
    a.raw.resize(h.size() * 2);
    std::memcpy(a.raw.data(), h.data(), a.raw.size());
  } else {
    a.raw.resize(a.values.size() * 4);
    std::memcpy(a.raw.data(), a.values.data(), a.raw.size());
  }
  return a;
}

// Runs p through impl with params (a runtime tuning override, so the public dispatch path is the one tested) and
// compares with the reference: ||out - ref|| / ||ref|| <= kGemmWqTolerance, every element written.
void check(Context& ctx, const std::string& impl, const GemmWqProblem& p, const ops::Params& params, bool with_bias,
           std::uint64_t seed) {
  SCOPED_TRACE(fmt::format("{} {} [{}]{}", impl, p.str(), params.str(), with_bias ? " bias" : ""));
  const GroupedWeights w = make_weights(p, seed);
  const Activations x = make_activations(p, seed + 2);
  std::vector<float> bias_values;
  Buffer<float> bias;
  if (with_bias) {
    bias_values = reference::random_floats(std::size_t(p.n), seed + 3, -2.0f, 2.0f);
    bias = Buffer<float>(ctx, std::span<const float>(bias_values), "bias");
  }
  const std::vector<float> want = reference::gemm_wq_ref(p.m, x.values, w, bias_values);

  tuning::TuningDb::global().add_override({ctx.device().key, impl, p.str(), params, 0.0});
  struct ClearOverrides {   // also when an assertion below returns early
    ~ClearOverrides() { tuning::TuningDb::global().clear_overrides(); }
  } clear_overrides;
  const auto* impl_ptr = ops::find_impl(impl);
  ASSERT_NE(impl_ptr, nullptr);
  const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), *impl_ptr, p.str());
  ASSERT_TRUE(lookup.entry && lookup.entry->layer == tuning::Layer::override_) << "the Params under test must be used";

  const PackedWeightsWq packed = pack_weights_wq(ctx, w);
  RawBuffer X(ctx, x.raw.size(), "X");
  X.upload(x.raw.data(), x.raw.size());
  Buffer<float> Y(ctx, std::size_t(p.m * p.n), "Y");
  const std::vector<float> poison(std::size_t(p.m * p.n), reference::poison_f32());
  Y.upload(poison);
  gemm_wq(ctx, p, X, packed, Y, {.bias = with_bias ? &bias : nullptr, .impl = impl}).wait();
  const std::vector<float> out = Y.to_vector();
  const std::int64_t unwritten = reference::first_poisoned(out);
  EXPECT_EQ(unwritten, -1) << fmt::format("element [{}][{}] never written", unwritten / p.n, unwritten % p.n);
  const double err = reference::relative_error(out, want);
  EXPECT_LE(err, reference::kGemmWqTolerance) << "max abs error " << reference::max_abs_error(out, want);
}

// Params beyond the defaults: GCN shapes (work-groups of 256 and 64 items) and the CPU shapes.
std::vector<ops::Params> param_sets(const std::string& impl) {
  if (impl == "gemm_wq_tile2d") {
    std::vector<ops::Params> s{ops::Params::parse("TM=64 TN=64 TK=32 WPT=4 VW=4"),     // 16x16 = 256
                               ops::Params::parse("TM=32 TN=32 TK=64 WPT=4 VW=4")};    // 8x8 = 64
    if (!testing::small_mode()) {
      s.push_back(ops::Params::parse("TM=16 TN=128 TK=32 WPT=2 VW=16"));   // 8x8 = 64, 16-wide
      s.push_back(ops::Params::parse("TM=32 TN=16 TK=128 WPT=1 VW=1"));    // 16x32 = 512 (PoCL)
    }
    return s;
  }
  std::vector<ops::Params> s{ops::Params::parse("WGK=64 ROWS=4 CPI=1"),    // 256: a wavefront per row
                             ops::Params::parse("WGK=1 ROWS=16 CPI=8"),    // a row per item (CPUs)
                             ops::Params::parse("WGK=16 ROWS=4 CPI=2")};   // 64
  if (!testing::small_mode()) {
    s.push_back(ops::Params::parse("WGK=256 ROWS=1 CPI=4"));   // one row per group, 256-way reduction
    s.push_back(ops::Params::parse("WGK=2 ROWS=32 CPI=1"));
  }
  return s;
}

using testing::KernelCase;

std::vector<KernelCase> kernel_cases() {
  return testing::kernel_cases("gemm_wq", ops::gemm_wq_list(), param_sets, [](const std::string& impl, const std::string& problem) {
    return impl != "gemm_wq_gemv" || GemmWqProblem::parse(problem).m <= 8;
  });
}

class GemmWqKernel : public ::testing::TestWithParam<KernelCase> {};

TEST_P(GemmWqKernel, MatchesReference) {
  const KernelCase& c = GetParam();
  const GemmWqProblem p = GemmWqProblem::parse(c.problem);
  const std::uint64_t seed = runtime::Fnv1a64().add(c.problem).add(c.params.str()).value();
  for (bool bias : {false, true}) check(shared_context(), c.impl, p, c.params, bias, seed + (bias ? 10 : 0));
}

INSTANTIATE_TEST_SUITE_P(Cases, GemmWqKernel, ::testing::ValuesIn(kernel_cases()),
                         testing::kernel_case_name);

// llama.cpp interchange end to end: ggml's quantizer makes Q4_0 / Q8_0 blocks, we import them, and the device
// product matches one on ggml's own dequantization (dequantize_row_q4_0 / _q8_0) of the same blocks.
TEST(GemmWqLlamaCpp, Q4_0AndQ8_0BlocksMatchGgmlDequantization) {
  Context& ctx = shared_context();
  const std::int64_t m = 3, n = 37, k = 160;
  const auto w = reference::random_floats(std::size_t(n * k), 77, -0.2f, 0.2f);
  const auto x = reference::random_floats(std::size_t(m * k), 78);
  for (int bits : {4, 8}) {
    const auto blocks = bits == 4 ? quantize_q4_0(w) : quantize_q8_0(w);
    const GroupedWeights g = bits == 4 ? import_q4_0(blocks, n, k) : import_q8_0(blocks, n, k);
    const std::vector<float> ggml = bits == 4 ? dequantize_q4_0(blocks) : dequantize_q8_0(blocks);
    ASSERT_EQ(g.dequantize(), ggml) << "import must be lossless";
    // The reference straight on ggml's values, accumulated in double.
    std::vector<double> want(std::size_t(m * n), 0.0);
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t c = 0; c < k; ++c) s += double(x[std::size_t(i * k + c)]) * double(ggml[std::size_t(j * k + c)]);
        want[std::size_t(i * n + j)] = s;
      }
    }
    const std::vector<float> wantf(want.begin(), want.end());
    const PackedWeightsWq packed = pack_weights_wq(ctx, g);
    Buffer<float> X(ctx, std::span<const float>(x), "X");
    for (const std::string& impl : gemm_wq_impls()) {
      Buffer<float> Y(ctx, std::size_t(m * n), "Y");
      Y.upload(std::vector<float>(std::size_t(m * n), reference::poison_f32()));
      gemm_wq(ctx, GemmWqProblem::of(m, g), X.raw(), packed, Y, {.impl = impl}).wait();
      const auto out = Y.to_vector();
      EXPECT_EQ(reference::first_poisoned(out), -1) << impl;
      EXPECT_LE(reference::relative_error(out, wantf), reference::kGemmWqTolerance) << impl << " q" << bits;
    }
  }
}

// ---- bad input ----

void expect_invalid(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning \"" << needle << "\"";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

struct Fixture {
  Context& ctx = shared_context();
  GemmWqProblem p{.m = 2, .n = 5, .k = 40};
  GroupedWeights g = make_weights(p, 3);
  PackedWeightsWq w = pack_weights_wq(ctx, g);
  Buffer<float> x{ctx, std::span<const float>(reference::random_floats(80, 4)), "X"};
  Buffer<float> y{ctx, 10, "Y"};
};

TEST(GemmWqErrors, ShapesFormatsAndBuffers) {
  Fixture f;
  expect_invalid([&] { gemm_wq(f.ctx, {.m = 0, .n = 5, .k = 40}, f.x.raw(), f.w, f.y); }, "every dimension");
  expect_invalid([&] { gemm_wq(f.ctx, {.m = 2, .n = 5, .k = 41}, f.x.raw(), f.w, f.y); }, "the weights are n = 5, k = 40");
  expect_invalid([&] { gemm_wq(f.ctx, {.m = 2, .n = 5, .k = 40, .group = 64}, f.x.raw(), f.w, f.y); }, "group 32");
  expect_invalid([&] { gemm_wq(f.ctx, {.m = 2, .n = 5, .k = 40, .zero_points = true}, f.x.raw(), f.w, f.y); },
                 "symmetric");
  expect_invalid([&] { gemm_wq(f.ctx, {.m = 3, .n = 5, .k = 40}, f.x.raw(), f.w, f.y); }, "X");
  Buffer<float> small(f.ctx, 9, "Y");
  expect_invalid([&] { gemm_wq(f.ctx, f.p, f.x.raw(), f.w, small); }, "Y");
  Buffer<float> short_bias(f.ctx, 4, "bias");
  expect_invalid([&] { gemm_wq(f.ctx, f.p, f.x.raw(), f.w, f.y, {.bias = &short_bias}); }, "bias");
  Context other;
  const PackedWeightsWq foreign = pack_weights_wq(other, f.g);
  expect_invalid([&] { gemm_wq(f.ctx, f.p, f.x.raw(), foreign, f.y); }, "another Context");
  PackedWeightsWq taken = std::move(f.w);
  expect_invalid([&] { gemm_wq(f.ctx, f.p, f.x.raw(), f.w, f.y); }, "moved-from");
  gemm_wq(f.ctx, f.p, f.x.raw(), taken, f.y).wait();   // the moved-to object works
  // Half activations take half the bytes: 80 floats hold 160 halves, enough for m = 4 but not 5.
  GemmWqProblem h = f.p;
  h.half_activations = true;
  h.m = 5;
  Buffer<float> y5(f.ctx, 25, "Y");
  expect_invalid([&] { gemm_wq(f.ctx, h, f.x.raw(), taken, y5); }, "X");
}

TEST(GemmWqErrors, ProblemText) {
  EXPECT_EQ(GemmWqProblem::parse("gemm_wq:m1n4096k4096q4g32").str(), "gemm_wq:m1n4096k4096q4g32");
  EXPECT_EQ(GemmWqProblem::parse("gemm_wq:m8n7k9q4g128_z_h"),
            (GemmWqProblem{.m = 8, .n = 7, .k = 9, .bits = 4, .group = 128, .zero_points = true, .half_activations = true}));
  expect_invalid([] { GemmWqProblem::parse("gemm_wq:m1n4096k4096q4"); }, "g");
  expect_invalid([] { GemmWqProblem::parse("gemm_wq:m1n4096k4096q4g32_t"); }, "unknown flag t");
  expect_invalid([] { GemmWqProblem::parse("gemm_i8:m1n4096k4096q4g32"); }, "gemm_wq");
}

// Formats the kernels do not implement are refused before any launch, naming the reason: the host type cannot
// even describe them (validate), and a problem asking for one is not applicable to any Impl.
TEST(GemmWqErrors, UnsupportedFormats) {
  Fixture f;
  GroupedWeights bad = f.g;
  bad.group = 16;
  expect_invalid([&] { pack_weights_wq(f.ctx, bad); }, "group");
  bad = f.g;
  bad.scales[1] = 0x7e00;   // NaN
  expect_invalid([&] { pack_weights_wq(f.ctx, bad); }, "scale");
  for (const auto& impl : ops::gemm_wq_list()) {
    for (auto [text, why] : {std::pair{"gemm_wq:m2n5k40q4g16", "group size 16 is not supported (32, 64 or 128)"},
                             std::pair{"gemm_wq:m2n5k40q3g32", "bits = 3 is not supported"},
                             std::pair{"gemm_wq:m2n5k40q8g32_z", "zero points need bits = 4"}}) {
      const std::string reason = impl->applicable(GemmWqProblem::parse(text), f.ctx.device());
      EXPECT_NE(reason.find(why), std::string::npos) << impl->name() << " " << text << ": \"" << reason << "\"";
    }
  }
  try {
    Buffer<float> y9(f.ctx, 45, "Y");
    Buffer<float> x9(f.ctx, 360, "X");
    gemm_wq(f.ctx, {.m = 9, .n = 5, .k = 40}, x9.raw(), f.w, y9, {.impl = "gemm_wq_gemv"});
    ADD_FAILURE() << "no exception";
  } catch (const NotSupported& e) {
    EXPECT_NE(std::string(e.what()).find("M = 9 > 8"), std::string::npos) << e.what();
  }
}

TEST(GemmWqDispatch, GemvForSmallMTileForTheRest) {
  Fixture f;
  testing::EnvGuard verbose("ELLESMERE_VERBOSE", "dispatch");
  ::testing::internal::CaptureStderr();
  gemm_wq(f.ctx, f.p, f.x.raw(), f.w, f.y).wait();
  Buffer<float> x9(f.ctx, 360, "X");
  Buffer<float> y9(f.ctx, 45, "Y");
  gemm_wq(f.ctx, {.m = 9, .n = 5, .k = 40}, x9.raw(), f.w, y9).wait();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("gemm_wq:m2n5k40q4g32: running gemm_wq_gemv"), std::string::npos) << err;
  EXPECT_NE(err.find("gemm_wq:m9n5k40q4g32: rejected gemm_wq_gemv: M = 9 > 8"), std::string::npos) << err;
  EXPECT_NE(err.find("gemm_wq:m9n5k40q4g32: running gemm_wq_tile2d"), std::string::npos) << err;
}

}  // namespace
}  // namespace ellesmere
