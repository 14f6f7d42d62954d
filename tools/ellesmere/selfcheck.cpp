// `ellesmere selfcheck`: runs every Impl of every op on a small problem with poisoned outputs and compares
// with the Eigen reference. Adding an op adds one check function here.
#include "selfcheck.hpp"

#include <chrono>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "reference/reference.hpp"

namespace ellesmere::tools {

namespace {

// A float output's errors and verdict: FAIL when an element still holds the poison or the relative error is above
// the row's tolerance.
void judge_float_output(SelfcheckRow& row, std::span<const float> out, std::span<const float> ref) {
  row.max_abs_error = reference::max_abs_error(out, ref);
  row.rel_error = reference::relative_error(out, ref);
  if (auto i = reference::first_poisoned(out); i >= 0) {
    row.status = fmt::format("FAIL: element {} never written", i);
  } else if (!(row.rel_error <= row.tolerance)) {
    row.status = "FAIL: error above tolerance";
  } else {
    row.status = "ok";
  }
}

void check_gemm_f32(Context& ctx, std::uint64_t seed, std::vector<SelfcheckRow>& rows) {
  // Odd sizes, so every Impl's edge handling runs.
  const GemmProblem p{.m = 67, .n = 45, .k = 33};
  const auto a = reference::random_floats(std::size_t(p.m * p.k), seed);
  const auto b = reference::random_floats(std::size_t(p.k * p.n), seed + 1);
  std::vector<float> ref(std::size_t(p.m * p.n));
  reference::gemm_f32_ref(p, a, b, ref);
  for (const std::string& impl : gemm_f32_impls()) {
    SelfcheckRow row{.op = "gemm_f32", .impl = impl, .problem = p.str(), .device = ctx.device().key,
                     .tolerance = reference::kGemmF32Tolerance};
    try {
      Buffer<float> da(ctx, std::span<const float>(a), "A"), db(ctx, std::span<const float>(b), "B");
      Buffer<float> dc(ctx, ref.size(), "C");
      dc.fill(reference::poison_f32());
      GemmOptions opts{.impl = impl};
      auto t0 = std::chrono::steady_clock::now();
      gemm_f32(ctx, p, da, db, dc, opts).wait();
      row.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::vector<float> out = dc.to_vector();
      row.device_ms = gemm_f32(ctx, p, da, db, dc, opts).span_ns() * 1e-6;
      judge_float_output(row, out, ref);
    } catch (const NotSupported& e) {
      row.status = std::string("skipped: ") + e.what();
    } catch (const Error& e) {
      row.status = std::string("FAIL: ") + e.what();
    }
    rows.push_back(std::move(row));
  }
}

// Integer output, so the tolerance is 0: every element must match the reference exactly.
void check_gemm_i8(Context& ctx, std::uint64_t seed, std::vector<SelfcheckRow>& rows) {
  for (const std::string& impl : gemm_i8_impls()) {
    const GemmI8Problem p = impl == "gemm_i8_gemv" ? GemmI8Problem{.m = 3, .n = 67, .k = 45}
                                                   : GemmI8Problem{.m = 67, .n = 45, .k = 33};
    SelfcheckRow row{.op = "gemm_i8", .impl = impl, .problem = p.str(), .device = ctx.device().key, .tolerance = 0};
    try {
      const auto a = reference::random_bytes(std::size_t(p.m * p.k), seed), b = reference::random_bytes(std::size_t(p.k * p.n), seed + 1);
      std::vector<float> scales(std::size_t(p.n), 0.02f);
      std::vector<std::int32_t> zps(std::size_t(p.n));
      for (std::size_t i = 0; i < zps.size(); ++i) zps[i] = std::int32_t(i % 7) - 3;
      const QuantParams bp = QuantParams::per_channel(QuantType::i8, 0, scales, zps);
      const auto ref = reference::gemm_i8_ref(p, a, 121, b, WeightLayout::nk, bp);
      const PackedWeightsI8 packed = pack_weights_i8(ctx, b, p.k, p.n, WeightLayout::nk, bp);
      Buffer<std::uint8_t> da(ctx, std::span<const std::uint8_t>(a), "A");
      Buffer<std::int32_t> dc(ctx, ref.size(), "C");
      dc.fill(std::int32_t(0x7fdead00));   // no correct sum of these inputs is this large
      auto t0 = std::chrono::steady_clock::now();
      gemm_i8(ctx, p, da.raw(), 121, packed, dc.raw(), {}, {.impl = impl}).wait();
      row.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const auto out = dc.to_vector();
      std::int64_t unwritten = -1;
      double worst = 0;
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] == 0x7fdead00 && unwritten < 0) unwritten = std::int64_t(i);
        worst = std::max(worst, std::abs(double(out[i]) - double(ref[i])));
      }
      row.max_abs_error = worst;
      row.rel_error = worst == 0 ? 0.0 : 1.0;
      row.device_ms = gemm_i8(ctx, p, da.raw(), 121, packed, dc.raw(), {}, {.impl = impl}).span_ns() * 1e-6;
      row.status = unwritten >= 0 ? fmt::format("FAIL: element {} never written", unwritten)
                   : worst != 0   ? std::string("FAIL: error above tolerance")
                                  : std::string("ok");
    } catch (const NotSupported& e) {
      row.status = std::string("skipped: ") + e.what();
    } catch (const Error& e) {
      row.status = std::string("FAIL: ") + e.what();
    }
    rows.push_back(std::move(row));
  }
}

// Weight-only quantized GEMM: llama.cpp Q4_0 weights (made by ggml's own quantizer, imported) and 4-bit G = 128
// with zero points, K not a multiple of the group; against the reference on the dequantized weights.
void check_gemm_wq(Context& ctx, std::uint64_t seed, std::vector<SelfcheckRow>& rows) {
  for (const std::string& impl : gemm_wq_impls()) {
    for (bool q4_0 : {true, false}) {
      const std::int64_t m = impl == "gemm_wq_gemv" ? 3 : 67, n = 45, k = q4_0 ? 96 : 333;
      SelfcheckRow row{.op = "gemm_wq", .impl = impl, .problem = "", .device = ctx.device().key,
                       .tolerance = reference::kGemmWqTolerance};
      try {
        const auto w = reference::random_floats(std::size_t(n * k), seed + 2, -0.1f, 0.1f);
        const GroupedWeights g = q4_0 ? import_q4_0(quantize_q4_0(w), n, k)
                                      : quantize_grouped(w, n, k, WeightLayout::nk,
                                                         {.bits = 4, .group = 128, .zero_points = true});
        const GemmWqProblem p = GemmWqProblem::of(m, g);
        row.problem = p.str();
        const auto x = reference::random_floats(std::size_t(m * k), seed + 3);
        const auto ref = reference::gemm_wq_ref(m, x, g);
        const PackedWeightsWq packed = pack_weights_wq(ctx, g);
        Buffer<float> dx(ctx, std::span<const float>(x), "X");
        Buffer<float> dy(ctx, ref.size(), "Y");
        dy.fill(reference::poison_f32());
        auto t0 = std::chrono::steady_clock::now();
        gemm_wq(ctx, p, dx.raw(), packed, dy, {.impl = impl}).wait();
        row.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const std::vector<float> out = dy.to_vector();
        row.device_ms = gemm_wq(ctx, p, dx.raw(), packed, dy, {.impl = impl}).span_ns() * 1e-6;
        judge_float_output(row, out, ref);
      } catch (const NotSupported& e) {
        row.status = std::string("skipped: ") + e.what();
      } catch (const Error& e) {
        row.status = std::string("FAIL: ") + e.what();
      }
      rows.push_back(std::move(row));
    }
  }
}

// Sparse CSR products: a power-law (R-MAT) matrix with empty and long rows, SpMV and SpMM (N = 19, with the fused
// bias + ReLU), every Impl, against Eigen's SparseMatrix in double.
void check_spmm(Context& ctx, std::uint64_t seed, std::vector<SelfcheckRow>& rows) {
  const CsrMatrix a = reference::rmat_csr(130, 97, 1500, seed + 4);
  for (const std::string& impl : spmm_csr_impls()) {
    for (std::int64_t n : {1, 19}) {
      SelfcheckRow row{.op = "spmm_csr", .impl = impl, .problem = "", .device = ctx.device().key,
                       .tolerance = reference::kSpmmTolerance};
      try {
        const DeviceCsr d = upload_csr(ctx, a);
        row.problem = d.problem(n).str();
        const auto x = reference::random_floats(std::size_t(a.cols * n), seed + 5);
        const auto bias = reference::random_floats(std::size_t(a.rows), seed + 6);
        const bool epilogue = n > 1;
        const auto ref = reference::spmm_csr_ref(a, n, x, epilogue ? std::span<const float>(bias)
                                                                   : std::span<const float>(), epilogue);
        Buffer<float> dx(ctx, std::span<const float>(x), "X");
        Buffer<float> db(ctx, std::span<const float>(bias), "bias");
        Buffer<float> dy(ctx, ref.size(), "Y");
        dy.fill(reference::poison_f32());
        const SpmmOptions options{.bias = epilogue ? &db : nullptr, .relu = epilogue, .impl = impl};
        auto t0 = std::chrono::steady_clock::now();
        spmm_csr(ctx, d, n, dx, dy, options).wait();
        row.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const std::vector<float> out = dy.to_vector();
        row.device_ms = spmm_csr(ctx, d, n, dx, dy, options).span_ns() * 1e-6;
        judge_float_output(row, out, ref);
      } catch (const NotSupported& e) {
        row.status = std::string("skipped: ") + e.what();
      } catch (const Error& e) {
        row.status = std::string("FAIL: ") + e.what();
      }
      rows.push_back(std::move(row));
    }
  }
}

// Device QuantizeLinear then DequantizeLinear against the host library (bit-exact where the device divides with
// correct rounding, which is what the tolerance 0 asserts).
void check_quantize(Context& ctx, std::uint64_t seed, std::vector<SelfcheckRow>& rows) {
  const std::vector<std::int64_t> shape{7, 5, 3};
  const QuantParams params = QuantParams::per_channel(QuantType::u8, 1, {0.05f, 0.1f, 0.2f, 0.4f, 0.8f},
                                                      {128, 100, 0, 255, 17});
  SelfcheckRow row{.op = "quantize", .impl = "quantize+dequantize_linear", .problem = "quantize_linear:n105",
                   .device = ctx.device().key, .tolerance = 0};
  try {
    const auto x = reference::random_floats(105, seed, -60.0f, 60.0f);
    std::vector<std::uint8_t> q(105);
    std::vector<float> back(105);
    quantize_linear(x, shape, params, q);
    dequantize_linear(q, shape, params, back);
    Buffer<float> dx(ctx, std::span<const float>(x), "x"), dy(ctx, 105, "x'");
    RawBuffer dq(ctx, 105, "q");
    dy.fill(reference::poison_f32());
    auto t0 = std::chrono::steady_clock::now();
    quantize_linear(ctx, dx, shape, params, dq).wait();
    dequantize_linear(ctx, dq, shape, params, dy).wait();
    row.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::vector<std::uint8_t> dev_q(105);
    dq.download(dev_q.data(), dev_q.size());
    const auto dev_back = dy.to_vector();
    row.max_abs_error = reference::max_abs_error(dev_back, back);
    for (std::size_t i = 0; i < q.size(); ++i) row.max_abs_error = std::max(row.max_abs_error, std::abs(double(dev_q[i]) - q[i]));
    row.rel_error = reference::relative_error(dev_back, back);
    row.device_ms = quantize_linear(ctx, dx, shape, params, dq).span_ns() * 1e-6;
    row.status = reference::first_poisoned(dev_back) >= 0 ? std::string("FAIL: element never written")
                 : row.max_abs_error != 0                 ? std::string("FAIL: error above tolerance")
                                                          : std::string("ok");
  } catch (const Error& e) {
    row.status = std::string("FAIL: ") + e.what();
  }
  rows.push_back(std::move(row));
}

}  // namespace

std::vector<SelfcheckRow> run_selfcheck(Context& context, std::uint64_t seed) {
  std::vector<SelfcheckRow> rows;
  check_gemm_f32(context, seed, rows);
  check_gemm_i8(context, seed, rows);
  check_gemm_wq(context, seed, rows);
  check_spmm(context, seed, rows);
  check_quantize(context, seed, rows);
  return rows;
}

}  // namespace ellesmere::tools
