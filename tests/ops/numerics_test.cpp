// Numerical hazards on the device (issue 11, part 4): NaN, +-Inf, huge magnitudes and subnormals in the inputs,
// weights and biases of every op, each checked against its documented behaviour (ops.hpp): float paths propagate
// (exactly the outputs the hazard touches, as the Eigen references do), quantizing paths saturate bit for bit with
// the host, what cannot be represented is rejected. Seeded random data with the hazards planted at chosen
// positions; outputs poisoned first. Host-side checks are in tests/unit/numerics_unit_test.cpp.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/snn.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"
#include "pipeline/planner.hpp"
#include "reference/quant_ref.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

using testing::shared_context;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// out against ref element by element: the same NaN / +Inf / -Inf pattern exactly, finite values within rel of
// max(|ref|, 1). Returns the number of mismatches (and reports the first few).
int compare_pattern(std::span<const float> out, std::span<const float> ref, double rel, const std::string& what) {
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const float o = out[i], r = ref[i];
    bool ok;
    if (std::isnan(r)) {
      ok = std::isnan(o);
    } else if (std::isinf(r)) {
      ok = o == r;
    } else {
      ok = std::isfinite(o) && std::fabs(double(o) - double(r)) <= rel * std::max(1.0, std::fabs(double(r)));
    }
    if (!ok && ++bad <= 5) ADD_FAILURE() << what << ": element " << i << " is " << o << ", expected " << r;
  }
  return bad;
}

// ---- fp32 GEMM: propagate ------------------------------------------------------------------------------------

TEST(NumericsGemmF32, NanInfAndOverflowReachExactlyTheOutputsTheyTouchOnEveryImpl) {
  Context& ctx = shared_context();
  const GemmProblem p{.m = 13, .n = 11, .k = 17};
  std::vector<float> a = reference::random_floats(std::size_t(p.m * p.k), 2101);
  std::vector<float> b = reference::random_floats(std::size_t(p.k * p.n), 2102);
  const auto A = [&](std::int64_t i, std::int64_t k) -> float& { return a[std::size_t(i * p.k + k)]; };
  const auto B = [&](std::int64_t k, std::int64_t j) -> float& { return b[std::size_t(k * p.n + j)]; };
  A(2, 5) = kNan;          // row 2 of C: NaN
  B(7, 4) = kInf;          // column 4: +-Inf by the sign of A(i, 7) ...
  A(9, 7) = 0.0f;          // ... and Inf * 0 = NaN at (9, 4)
  A(11, 3) = 1e30f;        // 1e30 * 1e30 overflows fp32: +Inf at (11, 8)
  B(3, 8) = 1e30f;
  A(0, 0) = 1e-40f;        // subnormals: flushed or not, far below the tolerance
  B(0, 1) = -1e-40f;
  std::vector<float> ref(std::size_t(p.m * p.n));
  reference::gemm_f32_ref(p, a, b, ref);
  ASSERT_TRUE(std::isnan(ref[2 * 11 + 0]) && std::isnan(ref[9 * 11 + 4]) && ref[11 * 11 + 8] == kInf);
  int non_finite = 0;
  for (float v : ref) non_finite += !std::isfinite(v);
  EXPECT_EQ(non_finite, 11 + 12 + 1) << "row 2, column 4 (one element shared), (11, 8)";

  Buffer<float> da(ctx, std::span<const float>(a)), db(ctx, std::span<const float>(b));
  for (const std::string& impl : gemm_f32_impls()) {
    if (testing::small_mode() && impl == "gemm_f32_clblast") continue;
    Buffer<float> dc(ctx, ref.size());
    dc.fill(reference::poison_f32());
    gemm_f32(ctx, p, da, db, dc, {.impl = impl}).wait();
    const auto out = dc.to_vector();
    EXPECT_EQ(reference::first_poisoned(out), -1) << impl;
    EXPECT_EQ(compare_pattern(out, ref, 1e-5, impl), 0);

    // alpha = 0 still multiplies: 0 * NaN and 0 * Inf are NaN (no BLAS shortcut). beta != 0 reads C: a NaN there
    // stays in its element only.
    std::vector<float> c0 = reference::random_floats(ref.size(), 2103);
    c0[5 * 11 + 5] = kNan;
    for (float alpha : {0.0f, 1.0f}) {
      std::vector<float> want = c0;
      reference::gemm_f32_ref(p, a, b, want, alpha, 0.5f);
      // (11, 8) overflows to +Inf in fp32 (documented); the reference accumulates in double, where 0 * 1e60 is 0.
      if (alpha == 0.0f) want[11 * 11 + 8] = kNan;
      Buffer<float> dc2(ctx, std::span<const float>(c0));
      gemm_f32(ctx, p, da, db, dc2, {.alpha = alpha, .beta = 0.5f, .impl = impl}).wait();
      EXPECT_EQ(compare_pattern(dc2.to_vector(), want, 1e-5, fmt::format("{} alpha {}", impl, alpha)), 0);
    }
  }
}

// ---- SpMM: propagate, ReLU keeps NaN ----------------------------------------------------------------------------

TEST(NumericsSpmm, NanInfInValuesAndXPropagatePerRowThroughBiasAndRelu) {
  Context& ctx = shared_context();
  const std::int64_t rows = 40, cols = 30, n = 5;
  CsrMatrix a = reference::random_csr(rows, cols, 0.2, 2201);
  ASSERT_GT(a.row_ptr[6] - a.row_ptr[5], 0);
  ASSERT_GT(a.row_ptr[10] - a.row_ptr[9], 0);
  a.values[std::size_t(a.row_ptr[5])] = kNan;                 // row 5: NaN in every column
  a.values[std::size_t(a.row_ptr[9])] = -kInf;                // row 9: +-Inf by the sign of X
  a.values[std::size_t(a.row_ptr[12 + 1] - 1)] = 1e-40f;      // a subnormal value
  std::vector<float> x = reference::random_floats(std::size_t(cols * n), 2202);
  x[std::size_t(17 * n + 3)] = kNan;   // column 3 of every row with a nonzero in column 17
  x[std::size_t(4 * n + 1)] = kInf;
  std::vector<float> bias = reference::random_floats(std::size_t(rows), 2203);
  bias[30] = kNan;   // row 30: NaN everywhere

  const DeviceCsr dev = upload_csr(ctx, a);
  Buffer<float> dx(ctx, std::span<const float>(x)), db(ctx, std::span<const float>(bias));
  for (const std::string& impl : spmm_csr_impls()) {
    for (bool relu : {false, true}) {
      const auto ref = reference::spmm_csr_ref(a, n, x, bias, relu);
      int nan_rows = 0;
      for (std::int64_t r = 0; r < rows; ++r) nan_rows += std::isnan(ref[std::size_t(r * n)]);
      EXPECT_GE(nan_rows, 2) << "rows 5 and 30 at least";
      Buffer<float> dy(ctx, std::size_t(rows * n));
      dy.fill(reference::poison_f32());
      try {
        spmm_csr(ctx, dev, n, dx, dy, {.bias = &db, .relu = relu, .impl = impl}).wait();
      } catch (const NotSupported& e) {
        continue;   // an Impl this device cannot run
      }
      const auto out = dy.to_vector();
      EXPECT_EQ(reference::first_poisoned(out), -1) << impl;
      EXPECT_EQ(compare_pattern(out, ref, 1e-5, fmt::format("{} relu {}", impl, relu)), 0);
    }
  }
}

// ---- FP16 convolution: propagate; overflow to +-Inf at the one rounding; subnormal halves exact ------------------

bool is_winograd(const std::string& impl) { return impl.find("winograd") != std::string::npos; }

std::vector<std::uint16_t> run_conv(Context& ctx, const std::string& impl, const ConvProblem& p,
                                    const std::vector<std::uint16_t>& x, const std::vector<std::uint16_t>& w,
                                    bool& ran) {
  Buffer<std::uint16_t> X(ctx, std::span<const std::uint16_t>(x)), W(ctx, std::span<const std::uint16_t>(w));
  Buffer<std::uint16_t> Y(ctx, std::size_t(p.output_elements()));
  Y.fill(reference::poison_f16());
  ran = true;
  try {
    conv2d_f16(ctx, p, X, W, Y, {.impl = impl}).wait();
  } catch (const NotSupported&) {
    ran = false;
    return {};
  }
  const auto out = Y.to_vector();
  EXPECT_EQ(reference::first_poisoned_f16(out), -1) << impl;
  return out;
}

TEST(NumericsConvF16, NanAndInfPropagateToTheirWindowsWinogradToItsTiles) {
  Context& ctx = shared_context();
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c4h10w10k5r3s3p1u1");
  std::vector<std::uint16_t> x = reference::random_halves(std::size_t(p.input_elements()), 2301);
  std::vector<std::uint16_t> w = reference::random_halves(std::size_t(p.weight_elements()), 2302);
  x[std::size_t((1 * 10 + 4) * 10 + 6)] = float_to_half(kNan);   // channel 1, (4, 6): a 3x3 block of every plane
  w[std::size_t(((2 * 4 + 0) * 3 + 1) * 3 + 1)] = 0x7c00;           // W[2][0] centre = +Inf: plane 2 +-Inf
  const std::vector<float> ref = reference::conv2d_f16_ref(p, x, w);
  const std::int64_t oh = p.out_h(), ow = p.out_w();
  for (const std::string& impl : conv2d_f16_impls()) {
    bool ran = false;
    const auto out16 = run_conv(ctx, impl, p, x, w, ran);
    if (!ran) continue;
    const std::vector<float> out = to_floats(out16);
    int bad = 0;
    for (std::int64_t k = 0; k < p.k; ++k) {
      for (std::int64_t y = 0; y < oh; ++y) {
        for (std::int64_t xx = 0; xx < ow; ++xx) {
          const std::size_t i = std::size_t((k * oh + y) * ow + xx);
          const float o = out[i], r = ref[i];
          bool ok;
          if (!std::isfinite(r)) {
            // Direct Impls keep the reference's NaN / +-Inf exactly; Winograd's transforms may turn Inf into NaN.
            ok = is_winograd(impl) ? !std::isfinite(o) : (std::isnan(r) ? std::isnan(o) : o == r);
          } else if (!std::isfinite(o)) {
            // Only Winograd may spread a hazard, and only within the output tiles (at most 4x4) it touches.
            bool near = false;
            for (std::int64_t dy = -3; dy <= 3 && !near; ++dy) {
              for (std::int64_t dx = -3; dx <= 3 && !near; ++dx) {
                const std::int64_t yy = y + dy, xq = xx + dx;
                if (yy >= 0 && yy < oh && xq >= 0 && xq < ow) {
                  near = !std::isfinite(ref[std::size_t((k * oh + yy) * ow + xq)]);
                }
              }
            }
            ok = is_winograd(impl) && near;
          } else {
            ok = std::fabs(o - r) <= 2e-3f * std::max(1.0f, std::fabs(r));
          }
          if (!ok && ++bad <= 5) ADD_FAILURE() << impl << ": y[" << k << "][" << y << "][" << xx << "] = " << o
                                               << ", reference " << r;
        }
      }
    }
  }
}

TEST(NumericsConvF16, ResultsBeyondTheHalfRangeBecomeInfAndSubnormalHalvesAreExact) {
  Context& ctx = shared_context();
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c2h8w8k3r3s3p1u1");
  // X: subnormal halves of random sign, except two planted large values. W: output 0 is the identity on channel 0
  // (so it must reproduce the subnormal halves bit for bit); output 1 doubles the large values past 65504; output 2
  // mixes small exact weights.
  std::vector<std::uint16_t> x(std::size_t(p.input_elements()));
  {
    const auto bits = reference::random_bytes(x.size() * 2, 2303);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::uint16_t mant = std::uint16_t(1 + (bits[2 * i] | (bits[2 * i + 1] << 8)) % 0x3ff);
      x[i] = std::uint16_t(mant | ((bits[2 * i] & 1) ? 0x8000 : 0));
    }
  }
  x[std::size_t((0 * 8 + 3) * 8 + 3)] = float_to_half(40000.0f);   // channel 0 (3, 3)
  x[std::size_t((1 * 8 + 3) * 8 + 3)] = float_to_half(30000.0f);   // channel 1 (3, 3)
  x[std::size_t((0 * 8 + 6) * 8 + 1)] = float_to_half(-50000.0f);  // channel 0 (6, 1)
  std::vector<std::uint16_t> w(std::size_t(p.weight_elements()), 0);
  const auto W = [&](int k, int c, int r, int s) -> std::uint16_t& { return w[std::size_t(((k * 2 + c) * 3 + r) * 3 + s)]; };
  W(0, 0, 1, 1) = float_to_half(1.0f);
  W(1, 0, 1, 1) = float_to_half(1.0f);
  W(1, 1, 1, 1) = float_to_half(1.0f);   // y1(3, 3) = 70000 -> +Inf; y1(6, 1) = -50000 stays finite
  W(2, 0, 0, 0) = float_to_half(-0.5f);
  W(2, 1, 2, 2) = float_to_half(0.25f);
  W(2, 0, 1, 1) = float_to_half(2.0f);   // y2(6, 1) = -100000 -> -Inf, y2(3, 3) = 80000 -> +Inf
  const std::vector<std::uint16_t> ref16 = to_halves(reference::conv2d_f16_ref(p, x, w));
  const std::int64_t plane = p.out_h() * p.out_w();
  ASSERT_EQ(ref16[std::size_t(plane + 3 * 8 + 3)], 0x7c00u);
  ASSERT_EQ(ref16[std::size_t(2 * plane + 6 * 8 + 1)], 0xfc00u);
  for (const std::string& impl : conv2d_f16_impls()) {
    bool ran = false;
    const auto out = run_conv(ctx, impl, p, x, w, ran);
    if (!ran) continue;
    // Output 0 is channel 0 itself, every subnormal half exact; the overflowing outputs are exactly +-Inf.
    // Winograd's fp32 error is relative to the largest value of its tile (the transforms mix the tile): next to
    // the planted 4e4 / 5e4 it is far above a subnormal half's size, so those tiles are compared by their
    // documented tolerance (the conv tests), not here.
    const auto near_large = [&](std::size_t i) {
      const std::int64_t y = std::int64_t(i % std::size_t(plane)) / 8, xx = std::int64_t(i % std::size_t(plane)) % 8;
      return is_winograd(impl) && ((std::abs(y - 3) <= 3 && std::abs(xx - 3) <= 3) ||
                                   (std::abs(y - 6) <= 3 && std::abs(xx - 1) <= 3));
    };
    int sub_bad = 0;
    for (std::int64_t i = 0; i < plane; ++i) {
      if (near_large(std::size_t(i))) continue;
      if (out[std::size_t(i)] != x[std::size_t(i)] && ++sub_bad <= 8) {
        ADD_FAILURE() << impl << ": y[0][" << i << "] = 0x" << std::hex << out[std::size_t(i)] << ", x 0x"
                      << x[std::size_t(i)];
      }
    }
    EXPECT_EQ(out[std::size_t(plane + 3 * 8 + 3)], 0x7c00u) << impl;
    EXPECT_EQ(out[std::size_t(2 * plane + 3 * 8 + 3)], 0x7c00u) << impl;
    EXPECT_EQ(out[std::size_t(2 * plane + 6 * 8 + 1)], 0xfc00u) << impl;
    EXPECT_EQ(out[std::size_t(plane + 6 * 8 + 1)], float_to_half(-50000.0f)) << impl;
    // Everything else as the reference rounds it (Winograd F(4x4)'s fp32 error: one half ulp at most).
    int bad = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (near_large(i) && std::isfinite(half_to_float(ref16[i]))) continue;
      if (is_winograd(impl) && out[i] != ref16[i] && std::isfinite(half_to_float(ref16[i]))) {
        if (std::abs(int(out[i]) - int(ref16[i])) <= 1) continue;
      }
      if (out[i] != ref16[i] && ++bad <= 5) {
        ADD_FAILURE() << impl << ": y[" << i << "] = 0x" << std::hex << out[i] << ", reference 0x" << ref16[i];
      }
    }
  }
}

// ---- INT8: the activation quantizer saturates bit for bit, GEMM stays exact -----------------------------------

TEST(NumericsGemmI8, DeviceQuantizationSaturatesLikeTheHostAndTheProductIsExact) {
  Context& ctx = shared_context();
  const GemmI8Problem p{.m = 6, .n = 9, .k = 40};
  std::vector<float> x = reference::random_floats(std::size_t(p.m * p.k), 2401, -4.0f, 4.0f);
  for (auto [at, v] : std::vector<std::pair<std::size_t, float>>{
           {3, kNan}, {50, kInf}, {51, -kInf}, {90, 1e30f}, {91, -FLT_MAX}, {130, 1e-40f}, {200, -kNan}}) {
    x[at] = v;
  }
  const QuantParams ap = QuantParams::per_tensor(QuantType::u8, 0.03f, 120);
  const std::vector<std::int64_t> shape{p.m, p.k};
  std::vector<std::uint8_t> host(x.size()), ref(x.size());
  quantize_linear(x, shape, ap, host);
  reference::quantize_ref(x, shape, ap, ref);
  ASSERT_EQ(host, ref);
  EXPECT_EQ(host[3], 120);
  EXPECT_EQ(host[200], 120);
  EXPECT_EQ(host[50], 255);
  EXPECT_EQ(host[51], 0);
  EXPECT_EQ(host[90], 255);
  EXPECT_EQ(host[91], 0);
  EXPECT_EQ(host[130], 120);

  Buffer<float> dx(ctx, std::span<const float>(x));
  RawBuffer dq(ctx, x.size(), "q");
  const std::uint8_t poison = 0x5a;
  dq.fill(&poison, 1);
  quantize_linear(ctx, dx, shape, ap, dq).wait();
  std::vector<std::uint8_t> dev(x.size());
  dq.download(dev.data(), dev.size());
  EXPECT_EQ(dev, host);

  const std::vector<std::uint8_t> b = reference::random_bytes(std::size_t(p.k * p.n), 2402);
  std::vector<float> scales(std::size_t(p.n));
  for (std::size_t j = 0; j < scales.size(); ++j) scales[j] = 0.01f * float(j + 1);
  const QuantParams bp = QuantParams::per_channel(QuantType::i8, 0, scales, std::vector<std::int32_t>(scales.size(), 0));
  const PackedWeightsI8 packed = pack_weights_i8(ctx, b, p.k, p.n, WeightLayout::nk, bp);
  const std::vector<std::int32_t> acc = reference::gemm_i8_ref(p, host, 120, b, WeightLayout::nk, bp);
  for (const std::string& impl : gemm_i8_impls()) {
    // Requantize with a factor so large that almost every output saturates, both ends: bit-exact.
    const float a_scale = 3e3f, y_scale = 1e-3f;
    const auto want = reference::requantize_ref(acc, p.m, p.n, a_scale, bp, y_scale, -3, QuantType::i8);
    int saturated = 0;
    for (std::uint8_t v : want) saturated += v == 0x7f || v == 0x80;
    EXPECT_GT(saturated, int(want.size()) / 2);
    RawBuffer c(ctx, want.size(), "C");
    for (std::uint8_t fill : {std::uint8_t(0x00), std::uint8_t(0xff)}) {
      c.fill(&fill, 1);
      try {
        gemm_i8(ctx, p, dq, 120, packed, c, GemmI8Epilogue::requantize(a_scale, y_scale, -3, QuantType::i8),
                {.impl = impl})
            .wait();
      } catch (const NotSupported&) {
        break;
      }
      std::vector<std::uint8_t> got(want.size());
      c.download(got.data(), got.size());
      EXPECT_EQ(got, want) << impl;
    }
  }
}

TEST(NumericsGemmI8, NonFiniteFactorsAreRejectedAndNanBiasPropagatesThroughRelu) {
  Context& ctx = shared_context();
  const GemmI8Problem p{.m = 3, .n = 5, .k = 12};
  const std::vector<std::uint8_t> a = reference::random_bytes(std::size_t(p.m * p.k), 2403);
  const std::vector<std::uint8_t> b = reference::random_bytes(std::size_t(p.k * p.n), 2404);
  const QuantParams bp = QuantParams::per_tensor(QuantType::i8, 1e30f, 0);
  const PackedWeightsI8 packed = pack_weights_i8(ctx, b, p.k, p.n, WeightLayout::nk, bp);
  Buffer<std::uint8_t> da(ctx, std::span<const std::uint8_t>(a));
  RawBuffer c(ctx, std::size_t(p.m * p.n) * 4, "C");
  // a_scale * b_scale = 1e39 overflows float32: named, never a silent Inf factor.
  const auto err = [&](const GemmI8Epilogue& e) -> std::string {
    try {
      gemm_i8(ctx, p, da.raw(), 0, packed, c, e);
    } catch (const InvalidArgument& ex) {
      return ex.what();
    }
    return "NO ERROR";
  };
  EXPECT_NE(err(GemmI8Epilogue::dequantize(1e9f)).find("scale"), std::string::npos);
  EXPECT_NE(err(GemmI8Epilogue::requantize(1e9f, 1.0f, 0, QuantType::u8)).find("scale"), std::string::npos);
  EXPECT_NE(err(GemmI8Epilogue::requantize(2e-38f, 1e31f, 0, QuantType::u8)).find("scale"), std::string::npos)
      << "a factor of 2e-39 is below FLT_MIN";

  const PackedWeightsI8 unit = pack_weights_i8(ctx, b, p.k, p.n, WeightLayout::nk,
                                               QuantParams::per_tensor(QuantType::i8, 0.02f, 0));
  std::vector<float> bias = reference::random_floats(std::size_t(p.n), 2405);
  bias[2] = kNan;
  bias[4] = -kInf;
  Buffer<float> dbias(ctx, std::span<const float>(bias));
  const auto acc = reference::gemm_i8_ref(p, a, 0, b, WeightLayout::nk, unit.params());
  for (const std::string& impl : gemm_i8_impls()) {
    for (bool relu : {false, true}) {
      const auto want = reference::dequantize_acc_ref(acc, p.m, p.n, 0.5f, unit.params(), bias, relu);
      const float poison = reference::poison_f32();
      c.fill(&poison, 4);
      try {
        gemm_i8(ctx, p, da.raw(), 0, unit, c, GemmI8Epilogue::dequantize(0.5f, &dbias, relu), {.impl = impl}).wait();
      } catch (const NotSupported&) {
        break;
      }
      std::vector<float> got(want.size());
      c.download(got.data(), got.size() * 4);
      for (std::size_t i = 0; i < got.size(); ++i) {
        const bool same = std::memcmp(&got[i], &want[i], 4) == 0 || (std::isnan(got[i]) && std::isnan(want[i]));
        EXPECT_TRUE(same) << impl << " relu " << relu << " element " << i << ": " << got[i] << " vs " << want[i];
      }
      for (std::int64_t r = 0; r < p.m; ++r) {
        EXPECT_TRUE(std::isnan(got[std::size_t(r * p.n + 2)])) << "NaN bias, relu " << relu;
        EXPECT_EQ(got[std::size_t(r * p.n + 4)], relu ? 0.0f : -kInf);
      }
    }
  }
}

// ---- weight-only quantized GEMM: propagate from X and bias -------------------------------------------------------

TEST(NumericsGemmWq, NanAndInfInActivationsOrBiasPropagateToTheirRowsAndColumns) {
  Context& ctx = shared_context();
  const std::int64_t m = 4, n = 12, k = 96;
  const GroupedWeights gw = quantize_grouped(reference::random_floats(std::size_t(n * k), 2501), n, k,
                                             WeightLayout::nk);
  const PackedWeightsWq pw = pack_weights_wq(ctx, gw);
  std::vector<float> x = reference::random_floats(std::size_t(m * k), 2502);
  x[std::size_t(1 * k + 70)] = kNan;   // row 1
  x[std::size_t(3 * k + 5)] = 1e-40f;  // subnormal
  std::vector<float> bias = reference::random_floats(std::size_t(n), 2503);
  bias[7] = kInf;                      // column 7: +Inf (NaN in row 1)
  const auto ref = reference::gemm_wq_ref(m, x, gw, bias);
  Buffer<float> dx(ctx, std::span<const float>(x)), db(ctx, std::span<const float>(bias));
  for (const std::string& impl : gemm_wq_impls()) {
    Buffer<float> dy(ctx, std::size_t(m * n));
    dy.fill(reference::poison_f32());
    try {
      gemm_wq(ctx, GemmWqProblem::of(m, gw), dx.raw(), pw, dy, {.bias = &db, .impl = impl}).wait();
    } catch (const NotSupported&) {
      continue;
    }
    const auto out = dy.to_vector();
    EXPECT_EQ(reference::first_poisoned(out), -1) << impl;
    EXPECT_EQ(compare_pattern(out, ref, 1e-4, impl), 0);
    for (std::int64_t j = 0; j < n; ++j) EXPECT_TRUE(std::isnan(out[std::size_t(n + j)])) << impl << " " << j;
  }
}

// ---- SNN: a refractory period beyond the run is capped, not wrapped ---------------------------------------------

TEST(NumericsSnn, HugeRefractoryPeriodsGiveOneSpikePerNeuronOnTheDeviceAsInTheReference) {
  snn::Network net = snn::parse_network_json(R"({
    "dt_ms": 0.1, "duration_ms": 5, "seed": 3,
    "populations": [
      {"name": "src", "model": "spike_times", "times_ms": [[0.5], [1.0]]},
      {"name": "exc", "model": "lif_exp", "size": 4,
       "params": {"tau_m": 10, "v_thresh": -50, "v_reset": -65, "e_leak": -65, "t_ref": 1e9}}
    ],
    "projections": [{"pre": "src", "post": "exc", "connect": "all_to_all", "weight": 100}],
    "probes": [{"population": "exc", "variable": "v", "neurons": [0, 3]}]
  })",
                                                   "refractory.json");
  const snn::SimulationResult dev = snn::simulate(shared_context(), net);
  const snn::SimulationResult ref = reference::snn_ref(net);
  EXPECT_EQ(dev.population_spikes[1], 4);
  EXPECT_EQ(reference::snn_spike_mismatches(dev.spikes, ref.spikes), 0u);
  ASSERT_EQ(dev.probes.size(), 1u);
  EXPECT_LE(reference::max_abs_error(dev.probes[0].values, ref.probes[0].values), reference::kSnnVoltageTolerance);
}

// ---- pipeline: NaN inputs propagate through float layers, are quantized to 0 by int8 layers ---------------------

// The digits MLP (examples/models) on 4 samples, sample 1 holding a NaN pixel and sample 3 a huge one, with every
// dense layer at one precision, then at the plans of targets accuracy and balanced: the other samples' outputs are
// the same bits as without the hazards; sample 1 is NaN everywhere when no layer quantizes activations (fp32, int4,
// csr keeping the pixel's weights), and finite as soon as an int8 layer maps the NaN to its zero point.
TEST(NumericsPipeline, NanInAModelInputPropagatesThroughFloatLayersAndIsQuantizedByInt8) {
  using namespace pipeline;
  Context& ctx = shared_context();
  const std::string model = std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx";
  const Graph g = import_onnx(model);
  const std::vector<Step> steps = lower(g);
  std::vector<float> clean = reference::random_floats(4 * 64, 2601, 0.0f, 1.0f);
  std::vector<float> hazard = clean;
  hazard[1 * 64 + 27] = kNan;
  hazard[3 * 64 + 40] = 1e30f;
  const auto run = [&](const std::vector<LayerChoice>& choices, const std::vector<float>& x) {
    Executor ex(ctx, g, steps, choices);
    ex.poison_buffers(true);
    const HostTensor out = ex.run({{"input", HostTensor::floats({4, 1, 8, 8}, x)}}).at("output");
    const auto v = out.as<float>();
    return std::vector<float>(v.begin(), v.end());
  };
  // The plans of the two targets, on calibration data without hazards.
  std::vector<std::vector<LayerChoice>> configs;
  std::vector<std::string> names;
  for (Target t : {Target::accuracy, Target::balanced}) {
    PlanOptions o;
    o.target = t;
    o.batch = 4;
    Dataset calib;
    calib.x = HostTensor::floats({16, 1, 8, 8}, reference::random_floats(16 * 64, 2602, 0.0f, 1.0f));
    calib.origin = "random";
    const Plan plan = make_plan(ctx, g, model, o, &calib);
    configs.push_back(plan.choices());
    names.push_back(target_name(t));
  }
  // Every dense layer at one precision.
  std::size_t dense_steps = 0;
  for (const Step& s : steps) dense_steps += s.kind == Step::Kind::dense;
  ASSERT_GE(dense_steps, 2u);
  for (Precision prec : {Precision::fp32, Precision::int4, Precision::int8}) {
    std::vector<LayerChoice> choices(steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      choices[i].precision = steps[i].kind == Step::Kind::dense ? prec : Precision::fp32;
      if (prec == Precision::int8) choices[i].act = params_from_range(-8.0f, 8.0f, QuantType::u8);
    }
    configs.push_back(choices);
    names.push_back(precision_name(prec));
  }
  for (std::size_t c = 0; c < configs.size(); ++c) {
    bool any_int8 = false, any_csr = false;
    std::string labels;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].kind != Step::Kind::dense) continue;
      const LayerChoice& lc = configs[c].empty() ? LayerChoice{} : configs[c][i];
      any_int8 |= lc.precision == Precision::int8;
      any_csr |= lc.precision == Precision::csr;
      labels += lc.label() + " ";
    }
    SCOPED_TRACE(names[c] + ": " + labels);
    const auto base = run(configs[c], clean);
    const auto out = run(configs[c], hazard);
    ASSERT_EQ(out.size(), 40u);
    for (int s : {0, 2}) {
      for (int j = 0; j < 10; ++j) {
        const std::size_t i = std::size_t(s * 10 + j);
        EXPECT_EQ(std::memcmp(&out[i], &base[i], 4), 0) << "sample " << s << " output " << j;
        EXPECT_TRUE(std::isfinite(out[i]));
      }
    }
    int nans = 0;
    for (int j = 0; j < 10; ++j) nans += std::isnan(out[std::size_t(10 + j)]);
    if (any_int8) {
      EXPECT_EQ(nans, 0) << "int8 quantizes NaN to the zero point";
    } else if (!any_csr) {
      EXPECT_EQ(nans, 10) << "a NaN pixel reaches every output through fp32 / int4 layers";
    }
    // The huge pixel: +-Inf or NaN through float layers, saturated by int8; never a poisoned (unwritten) element.
    EXPECT_EQ(reference::first_poisoned(out), -1);
    if (any_int8) {
      for (int j = 0; j < 10; ++j) EXPECT_TRUE(std::isfinite(out[std::size_t(30 + j)])) << j;
    }
  }
}

}  // namespace
}  // namespace ellesmere
