// Numerical hazards on the host (issue 11, part 4): NaN, +-Inf, huge magnitudes, subnormals and zero scales in the
// quantizers, packers, pruning, loaders and the pipeline's lowering. Each path has one documented behaviour
// (propagate, reject with a message naming the tensor and index, or saturate); these tests pin it, with the hazards
// planted at chosen positions in seeded random data. The device side is tests/ops/numerics_test.cpp.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/formats/snn.h"
#include "ellesmere/quant.hpp"
#include "ellesmere/snn.hpp"
#include "ellesmere/sparse.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"
#include "reference/quant_ref.hpp"
#include "reference/reference.hpp"
#include "snn/compiled.hpp"
#include "onnx_model_builder.hpp"
#include "test_support.hpp"

#include <onnx/onnx_pb.h>

namespace ellesmere {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kDenormal = 1e-40f;   // subnormal in float32

using testing::error_of;

#define EXPECT_HAS(text, piece) EXPECT_NE(std::string(text).find(piece), std::string::npos) << (text)

// ---- QuantizeLinear: saturate ----------------------------------------------------------------------------------

// Planted hazards: value, and the q it must give for (scale, zero point) of the test.
struct Hazard {
  std::size_t at;
  float value;
};

TEST(NumericsUnitQuantize, NanGoesToZeroPointInfAndHugeSaturateBitExactWithReference) {
  const std::vector<std::int64_t> shape{4, 37};   // per-channel along axis 0: 4 channels
  for (QuantType type : {QuantType::u8, QuantType::i8}) {
    for (bool per_channel : {false, true}) {
      std::vector<float> x = reference::random_floats(4 * 37, 1101, -3.0f, 3.0f);
      const std::vector<Hazard> hazards{{3, kNan},       {40, kInf},    {41, -kInf},     {77, 1e30f},
                                        {78, -FLT_MAX},  {90, kDenormal}, {91, -kDenormal}, {120, -kNan},
                                        {121, FLT_MAX},  {147, -1e30f}};
      for (const Hazard& h : hazards) x[h.at] = h.value;
      const std::int32_t zp0 = type == QuantType::u8 ? 131 : -7;
      const QuantParams params =
          per_channel ? QuantParams::per_channel(type, 0, {0.02f, 0.5f, FLT_MIN, 3e30f}, {zp0, zp0 + 1, zp0 - 2, 0})
                      : QuantParams::per_tensor(type, 0.025f, zp0);
      std::vector<std::uint8_t> y(x.size(), 0xA5), ref(x.size(), 0x5A);
      quantize_linear(x, shape, params, y);
      reference::quantize_ref(x, shape, params, ref);
      EXPECT_EQ(y, ref) << quant_type_name(type) << " per_channel " << per_channel;
      const auto value = [&](std::size_t i) {
        return type == QuantType::i8 ? std::int32_t(std::int8_t(y[i])) : std::int32_t(y[i]);
      };
      const auto zp = [&](std::size_t i) { return params.zero_points[per_channel ? i / 37 : 0]; };
      const std::int32_t qmin = quant_min(type), qmax = quant_max(type);
      EXPECT_EQ(value(3), zp(3)) << "NaN -> zero point";
      EXPECT_EQ(value(120), zp(120)) << "-NaN -> zero point";
      EXPECT_EQ(value(40), qmax) << "+Inf";
      EXPECT_EQ(value(41), qmin) << "-Inf";
      EXPECT_EQ(value(77), qmax) << "1e30";
      EXPECT_EQ(value(78), qmin) << "-FLT_MAX";
      EXPECT_EQ(value(121), qmax) << "FLT_MAX (channel 3: 3.4e38 / 3e30 = 1.1e8)";
      EXPECT_EQ(value(147), per_channel ? std::max(qmin, 0) : qmin) << "-1e30 / 3e30 rounds to 0 (zp 0)";
      EXPECT_EQ(value(90), zp(90)) << "a subnormal is 0 at scale " << params.scales[per_channel ? 2 : 0];
      EXPECT_EQ(value(91), zp(91));
      // Dequantize of the saturated codes is finite.
      std::vector<float> back(x.size());
      dequantize_linear(y, shape, params, back);
      for (std::size_t i = 0; i < back.size(); ++i) ASSERT_TRUE(std::isfinite(back[i])) << i;
    }
  }
}

TEST(NumericsUnitQuantize, ScalesThatAreNotFinitePositiveNormalAreRejected) {
  for (float bad : {kNan, kInf, -kInf, 0.0f, -0.0f, -1.0f, kDenormal, FLT_MIN / 2}) {
    const std::string e = error_of<InvalidArgument>([&] { QuantParams::per_tensor(QuantType::u8, bad, 0); });
    EXPECT_HAS(e, "scales[0]");
  }
  const std::string e = error_of<InvalidArgument>(
      [&] { QuantParams::per_channel(QuantType::i8, 0, {0.5f, 0.25f, kNan}, {0, 0, 0}); });
  EXPECT_HAS(e, "scales[2]");
  // The smallest normal scale and the largest finite one are accepted.
  EXPECT_NO_THROW(QuantParams::per_tensor(QuantType::i8, FLT_MIN, 0));
  EXPECT_NO_THROW(QuantParams::per_tensor(QuantType::i8, FLT_MAX, 0));
}

TEST(NumericsUnitQuantize, ParamsFromRangeExtremes) {
  // The widest finite range: the scale is computed in double and stays finite.
  const QuantParams wide = params_from_range(-FLT_MAX, FLT_MAX, QuantType::u8);
  EXPECT_TRUE(std::isfinite(wide.scales[0]));
  EXPECT_GE(wide.zero_points[0], 127);
  EXPECT_LE(wide.zero_points[0], 128);
  const QuantParams wide_sym = params_from_range(-FLT_MAX, FLT_MAX, QuantType::i8, true);
  EXPECT_TRUE(std::isfinite(wide_sym.scales[0]));
  // A subnormal range gives the smallest normal scale, never a subnormal or zero one.
  EXPECT_EQ(params_from_range(-kDenormal, kDenormal, QuantType::u8).scales[0], FLT_MIN);
  EXPECT_EQ(params_from_range(0.0f, kDenormal, QuantType::i8, true).scales[0], FLT_MIN);
  // All-zero range: scale 1.
  EXPECT_EQ(params_from_range(0.0f, 0.0f, QuantType::u8).scales[0], 1.0f);
  for (const std::pair<float, float>& bounds : {std::pair{kNan, 1.0f}, {-1.0f, kNan}, {-kInf, 1.0f}, {0.0f, kInf}}) {
    EXPECT_HAS(error_of<InvalidArgument>([&] { params_from_range(bounds.first, bounds.second, QuantType::u8); }),
               "must be finite");
  }
}

TEST(NumericsUnitQuantize, ObserverCountsNanAndRejectsInfNamingTheIndex) {
  std::vector<float> v = reference::random_floats(300, 1102, -2.0f, 5.0f);
  v[17] = kNan;
  v[250] = kNan;
  for (ObserverKind kind : {ObserverKind::min_max, ObserverKind::percentile, ObserverKind::mse}) {
    Observer o(kind);
    o.observe(v);
    EXPECT_EQ(o.nan_count(), 2u);
    EXPECT_EQ(o.count(), 298u);
    const auto [lo, hi] = o.range();
    EXPECT_TRUE(std::isfinite(lo) && std::isfinite(hi));
    std::vector<float> w = v;
    w[123] = -kInf;
    EXPECT_HAS(error_of<InvalidArgument>([&] { o.observe(w); }), "values[123] = -inf");
    EXPECT_EQ(o.count(), 298u) << "a rejected batch leaves the observer unchanged";
  }
  // Huge finite values are a valid (if useless) range.
  Observer o(ObserverKind::min_max);
  o.observe(std::vector<float>{-FLT_MAX, 1.0f, FLT_MAX});
  EXPECT_TRUE(std::isfinite(o.params(QuantType::u8).scales[0]));
}

// ---- grouped weights, llama.cpp blocks: reject or defined ------------------------------------------------------

TEST(NumericsUnitGrouped, NonFiniteWeightsAreRejectedNamingRowAndColumn) {
  const std::int64_t n = 5, k = 70;
  for (WeightLayout layout : {WeightLayout::nk, WeightLayout::kn}) {
    for (float bad : {kNan, kInf, -kInf}) {
      std::vector<float> w = reference::random_floats(std::size_t(n * k), 1103);
      // Row 3, column 41 in either layout.
      w[std::size_t(layout == WeightLayout::nk ? 3 * k + 41 : 41 * n + 3)] = bad;
      for (int bits : {4, 8}) {
        GroupQuantOptions o;
        o.bits = bits;
        const std::string e = error_of<InvalidArgument>([&] { quantize_grouped(w, n, k, layout, o); });
        EXPECT_HAS(e, "weight [3][41] is");
      }
    }
  }
}

TEST(NumericsUnitGrouped, ScaleBeyondFp16IsRejectedAndTinyWeightsAreDefined) {
  const std::int64_t n = 3, k = 64;
  std::vector<float> w = reference::random_floats(std::size_t(n * k), 1104);
  w[std::size_t(2 * k + 40)] = 1e6f;   // d = 1e6 / 8 = 125000 > 65504
  const std::string e = error_of<InvalidArgument>([&] { quantize_grouped(w, n, k, WeightLayout::nk); });
  EXPECT_HAS(e, "row 2, group 1");
  EXPECT_HAS(e, "does not fit fp16");
  // 8-bit: d = max / 127 fits fp16 up to |w| ~ 8.3e6.
  GroupQuantOptions o8;
  o8.bits = 8;
  EXPECT_NO_THROW(quantize_grouped(w, n, k, WeightLayout::nk, o8));

  // Subnormal and tiny weights: the fp16 scale underflows to 0 (or a subnormal half) and every weight dequantizes
  // to a finite value near it; the error is at most the weights' own magnitude.
  for (bool zp : {false, true}) {
    std::vector<float> tiny = reference::random_floats(std::size_t(n * k), 1105, -1e-38f, 1e-38f);
    tiny[5] = kDenormal;
    tiny[70] = -kDenormal;
    GroupQuantOptions o;
    o.zero_points = zp;
    const GroupedWeights g = quantize_grouped(tiny, n, k, WeightLayout::nk, o);
    EXPECT_NO_THROW(g.validate("tiny"));
    const QuantError err = quantization_error(tiny, WeightLayout::nk, g);
    EXPECT_LE(err.max_abs, 1e-38);
    for (float v : g.dequantize()) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(NumericsUnitGrouped, GgmlQuantizersAreDefinedWhereTheirReciprocalOverflows) {
  // Block 0: values so small that ggml's 1 / d overflows to Inf (undefined int8 casts in ggml); block 1: one tiny
  // value among zeros (0 * Inf in ggml); block 2: ordinary values, which must still match the normal path.
  std::vector<float> w(96, 0.0f);
  for (int j = 0; j < 32; ++j) w[std::size_t(j)] = (j % 2 ? 1.0f : -1.0f) * 1e-40f * float(j + 1);
  w[32 + 7] = -2e-39f;
  const auto normal = reference::random_floats(32, 1106);
  std::copy(normal.begin(), normal.end(), w.begin() + 64);

  const std::vector<std::uint8_t> q4 = quantize_q4_0(w);
  const std::vector<std::uint8_t> q8 = quantize_q8_0(w);
  for (int b = 0; b < 2; ++b) {
    const std::uint8_t* blk4 = q4.data() + 18 * b;
    EXPECT_EQ(half_to_float(std::uint16_t(blk4[0] | (blk4[1] << 8))), 0.0f) << "block " << b;
    for (int j = 0; j < 16; ++j) EXPECT_EQ(blk4[2 + j], 0x88) << "block " << b << " byte " << j;
    const std::uint8_t* blk8 = q8.data() + 34 * b;
    EXPECT_EQ(half_to_float(std::uint16_t(blk8[0] | (blk8[1] << 8))), 0.0f) << "block " << b;
    for (int j = 0; j < 32; ++j) EXPECT_EQ(blk8[2 + j], 0) << "block " << b << " q " << j;
  }
  const std::vector<float> d4 = dequantize_q4_0(q4), d8 = dequantize_q8_0(q8);
  for (std::size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(d4[i], 0.0f) << i;
    EXPECT_EQ(d8[i], 0.0f) << i;
  }
  // The ordinary block is quantized exactly as on its own.
  const std::vector<std::uint8_t> alone4 = quantize_q4_0(normal), alone8 = quantize_q8_0(normal);
  EXPECT_TRUE(std::equal(alone4.begin(), alone4.end(), q4.begin() + 36));
  EXPECT_TRUE(std::equal(alone8.begin(), alone8.end(), q8.begin() + 68));

  std::vector<float> bad = w;
  bad[70] = kNan;
  EXPECT_HAS(error_of<InvalidArgument>([&] { quantize_q4_0(bad); }), "value 70 is nan");
  bad[70] = -kInf;
  EXPECT_HAS(error_of<InvalidArgument>([&] { quantize_q8_0(bad); }), "value 70 is -inf");
}

TEST(NumericsUnitGrouped, ImportedBlocksWithNonFiniteScalesAreRejected) {
  std::vector<std::uint8_t> blocks = quantize_q4_0(reference::random_floats(2 * 64, 1107));
  // Row 1, block 0 is the third block: d = fp16 NaN (0x7e00).
  blocks[2 * 18] = 0x00;
  blocks[2 * 18 + 1] = 0x7e;
  EXPECT_HAS(error_of<InvalidArgument>([&] { import_q4_0(blocks, 2, 64); }), "block 0 of row 1");
  std::vector<std::uint8_t> b8 = quantize_q8_0(reference::random_floats(64, 1108));
  b8[34] = 0x00;
  b8[35] = 0xfc;   // -Inf
  EXPECT_HAS(error_of<InvalidArgument>([&] { import_q8_0(b8, 1, 64); }), "block 1 of row 0");
  // A subnormal fp16 scale is a valid, exact scale.
  b8[35] = 0x00;
  b8[34] = 0x01;   // 2^-24
  const GroupedWeights g = import_q8_0(b8, 1, 64);
  EXPECT_EQ(g.scale(0, 1), std::ldexp(1.0f, -24));
}

// ---- fp16 conversion: saturate to Inf, keep NaN, exact subnormals ----------------------------------------------

TEST(NumericsUnitHalf, OverflowNanAndSubnormalsConvertAsDocumented) {
  EXPECT_EQ(float_to_half(65504.0f), 0x7bffu);
  EXPECT_EQ(float_to_half(65519.99f), 0x7bffu);   // rounds down to the largest finite half
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00u);    // the tie rounds to even: +Inf
  EXPECT_EQ(float_to_half(1e30f), 0x7c00u);
  EXPECT_EQ(float_to_half(-FLT_MAX), 0xfc00u);
  EXPECT_EQ(float_to_half(kInf), 0x7c00u);
  EXPECT_EQ(float_to_half(-kInf), 0xfc00u);
  const std::uint16_t nan = float_to_half(kNan);
  EXPECT_EQ(nan & 0x7c00u, 0x7c00u);
  EXPECT_NE(nan & 0x03ffu, 0u);
  EXPECT_EQ(float_to_half(kDenormal), 0x0000u);    // below half's smallest subnormal: +0
  EXPECT_EQ(float_to_half(-kDenormal), 0x8000u);   // -0
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001u);   // half's smallest subnormal, exact
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002u);   // 1.5 * 2^-24: tie to even
  // Every non-NaN half converts to float and back unchanged (subnormal halves are normal floats).
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = half_to_float(std::uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_EQ(h & 0x7c00u, 0x7c00u);
      continue;
    }
    ASSERT_EQ(float_to_half(f), h) << h;
  }
}

// ---- sparse: reject NaN when ranking, keep it otherwise --------------------------------------------------------

TEST(NumericsUnitSparse, PruningRejectsNanRanksInfFirstAndKeepsSubnormalsByMagnitude) {
  const std::int64_t rows = 6, cols = 9;
  std::vector<float> dense = reference::random_floats(std::size_t(rows * cols), 1109, 0.5f, 1.0f);
  dense[std::size_t(4 * cols + 7)] = kNan;
  for (PruneMode mode : {PruneMode::global, PruneMode::per_row}) {
    const std::string e = error_of<InvalidArgument>([&] { prune_to_csr(dense, rows, cols, 0.5, mode); });
    EXPECT_HAS(e, "row 4, column 7 is NaN");
  }
  dense[std::size_t(4 * cols + 7)] = 0.75f;
  dense[std::size_t(1 * cols + 2)] = -kInf;
  dense[std::size_t(2 * cols + 3)] = kInf;
  dense[std::size_t(5 * cols + 0)] = kDenormal;
  dense[std::size_t(5 * cols + 1)] = FLT_MAX;
  // Keep 3 of 54: the two infinities and FLT_MAX, in row order.
  const CsrMatrix top = prune_to_csr(dense, rows, cols, 1.0 - 3.0 / 54.0, PruneMode::global);
  ASSERT_EQ(top.nnz(), 3);
  EXPECT_EQ(top.values[0], -kInf);
  EXPECT_EQ(top.values[1], kInf);
  EXPECT_EQ(top.values[2], FLT_MAX);
  // Per row, keeping all but one: row 5 drops its subnormal (the smallest magnitude).
  const CsrMatrix per_row = prune_to_csr(dense, rows, cols, 1.0 / 9.0, PruneMode::per_row);
  for (std::int32_t p = per_row.row_ptr[5]; p < per_row.row_ptr[6]; ++p) EXPECT_NE(per_row.col_idx[std::size_t(p)], 0);
  // csr_from_dense keeps NaN (it is not zero) and the product propagates it: a valid matrix.
  std::vector<float> with_nan(std::size_t(rows * cols), 0.0f);
  with_nan[std::size_t(3 * cols + 4)] = kNan;
  const CsrMatrix a = csr_from_dense(with_nan, rows, cols);
  EXPECT_EQ(a.nnz(), 1);
  EXPECT_EQ(a.check(), "");
  // Matrix Market files with non-finite or float-overflowing values are rejected with the line.
  const std::string mtx = "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 0.5\n2 2 {}\n";
  for (const char* v : {"nan", "inf", "-inf", "1e39"}) {
    const std::string e =
        error_of<FileError>([&] { parse_matrix_market(fmt::format(fmt::runtime(mtx), v), "m.mtx"); });
    EXPECT_HAS(e, "m.mtx:4");
  }
}

// ---- the Eigen references propagate as the kernels do ----------------------------------------------------------

TEST(NumericsUnitReference, GemmAndSpmmReferencesPropagateNanToExactlyTheRowsItTouches) {
  const GemmProblem p{.m = 7, .n = 5, .k = 6};
  std::vector<float> a = reference::random_floats(std::size_t(p.m * p.k), 1110);
  const std::vector<float> b = reference::random_floats(std::size_t(p.k * p.n), 1111);
  a[std::size_t(2 * p.k + 3)] = kNan;
  std::vector<float> c(std::size_t(p.m * p.n), 7.0f);
  reference::gemm_f32_ref(p, a, b, c);
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t j = 0; j < p.n; ++j) EXPECT_EQ(std::isnan(c[std::size_t(i * p.n + j)]), i == 2) << i << "," << j;
  }
  // spmm: a NaN in a row's value, and a ReLU after it, still NaN (ONNX's Relu keeps NaN).
  std::vector<float> dense = reference::random_floats(6 * 4, 1112);
  dense[1 * 4 + 2] = kNan;
  const CsrMatrix s = csr_from_dense(dense, 6, 4);
  const auto x = reference::random_floats(4 * 3, 1113);
  const auto y = reference::spmm_csr_ref(s, 3, x, {}, true);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(std::isnan(y[i]), i / 3 == 1) << i;
}

// ---- SNN: reject at load, cap what does not fit ----------------------------------------------------------------

snn::Network small_network() {
  return snn::parse_network_json(R"({
    "dt_ms": 0.1, "duration_ms": 5, "seed": 3,
    "populations": [
      {"name": "src", "model": "spike_times", "times_ms": [[0.5], [1.0]]},
      {"name": "exc", "model": "lif_exp", "size": 4,
       "params": {"tau_m": 10, "v_thresh": -50, "v_reset": -65, "e_leak": -65, "t_ref": 2}}
    ],
    "projections": [{"pre": "src", "post": "exc", "connect": "all_to_all", "weight": 100}],
    "currents": [{"population": "exc", "amplitude": 2, "start_ms": 1}]
  })",
                                 "small.json");
}

TEST(NumericsUnitSnn, NonFiniteOrOutOfFloatRangeValuesAreRejectedNamingTheField) {
  using snn::Network;
  struct Case {
    std::function<void(Network&)> edit;
    std::string expect;
  };
  const std::vector<Case> cases{
      {[](Network& n) { n.populations[1].params["v_thresh"] = std::nan(""); }, "params.v_thresh: must be a finite"},
      {[](Network& n) { n.populations[1].params["tau_m"] = HUGE_VAL; }, "params.tau_m: must be a finite"},
      {[](Network& n) { n.populations[1].params["e_leak"] = 1e39; }, "params.e_leak: must be a finite number within "
                                                                    "float32's range"},
      {[](Network& n) { n.populations[1].init["v"] = snn::InitValue::uniform(-1e300, 0); }, "init.v: needs finite"},
      {[](Network& n) { n.projections[0].weight = std::nan(""); }, ".weight: must be a finite"},
      {[](Network& n) { n.currents[0].amplitude = -HUGE_VAL; }, "currents[0].amplitude"},
      {[](Network& n) { n.currents[0].start_ms = HUGE_VAL; }, "currents[0]: needs 0 <= start_ms <= stop_ms"},
      {[](Network& n) { n.currents[0].stop_ms = std::nan(""); }, "currents[0]: needs 0 <= start_ms <= stop_ms"},
      {[](Network& n) { n.projections[0].delay_ms = HUGE_VAL; }, ".delay_ms: must be >= 0"},
      {[](Network& n) { n.populations[0].times_ms[1][0] = std::nan(""); }, "times_ms[1]: time nan"},
      {[](Network& n) { n.dt_ms = 1e-320; }, "duration_ms"},   // subnormal dt: more than 2^30 steps
      // 2^30 + 1 steps: step - (last spike of a neuron that never spiked, -2^30) would overflow int32 in the kernel.
      {[](Network& n) { n.dt_ms = 1.0; n.duration_ms = 1073741825.0; }, "more than 2^30 steps of 1 ms (at most 1073741824 ms)"},
  };
  for (const Case& c : cases) {
    Network net = small_network();
    c.edit(net);
    EXPECT_HAS(net.check(), c.expect);
    EXPECT_THROW(net.validate(), InvalidArgument) << c.expect;
  }
  // A synaptic input too large for the fixed-point accumulator names the population.
  Network net = small_network();
  net.projections[0].weight = 1e300;
  EXPECT_HAS(error_of<InvalidArgument>([&] { snn::detail::compile(net); }), "population \"exc\"");
  // JSON has no NaN literal; an overflowing number is rejected at load.
  const std::string e = error_of<FileError>([] {
    snn::parse_network_json(R"({"dt_ms": 0.1, "duration_ms": 1, "populations": [{"name": "p", "model": "lif_exp",
      "size": 1, "params": {"tau_m": 10, "v_thresh": 1e400, "v_reset": -65, "e_leak": -65}}]})",
                            "big.json");
  });
  EXPECT_HAS(e, "big.json");
  EXPECT_HAS(e, "number overflow");
}

TEST(NumericsUnitSnn, RefractoryPeriodsBeyondTheRunAreCappedNotWrapped) {
  snn::Network net = small_network();
  for (double t_ref : {2.0, 1e7, 1e9, 1e15, 1e38}) {
    net.populations[1].params["t_ref"] = t_ref;
    ASSERT_EQ(net.check(), "") << t_ref;
    const snn::detail::CompiledNetwork c = snn::detail::compile(net);
    const std::int32_t steps = c.pop_int[1 * ELLESMERE_SNN_POP_INTS + ELLESMERE_SNN_PI_REF_STEPS];
    const double want = t_ref / 0.1 >= double(1 << 30) ? double(1 << 30) : std::round(t_ref / 0.1);
    EXPECT_EQ(double(steps), want) << t_ref;
    // Every neuron spikes once (the input drives it over threshold) and, refractory for longer than the run, never
    // again; before the cap, 1e9 ms wrapped to a period no never-spiked neuron could leave.
    if (t_ref >= 1e7) {
      const snn::SimulationResult r = reference::snn_ref(net);
      EXPECT_EQ(r.population_spikes[1], 4) << t_ref;
    }
  }
}

// ---- pipeline lowering: reject what cannot be represented -------------------------------------------------------

using testing::ModelBuilder;   // onnx_model_builder.hpp

TEST(NumericsUnitPipeline, WeightsThatOverflowFloatWhenFoldedAreRejectedNamingTheNode) {
  // Gemm 'fc' (x: 1 x 3, W 2 x 3) then BatchNormalization 'bn' whose gamma / sqrt(var + eps) is 1e30: the folded
  // weights 1e30 * w overflow float32 for |w| > 3.4e8, here w[1][2] = 1e9.
  const auto model = [](float w12, float gamma, float alpha) {
    ModelBuilder b;
    b.input("x", {1, 3});
    b.output("y");
    b.floats("w", {2, 3}, {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, w12});
    b.floats("bias", {2}, {0.1f, -0.2f});
    b.floats("gamma", {2}, {1.0f, gamma});
    b.floats("beta", {2}, {0.0f, 0.0f});
    b.floats("mean", {2}, {0.0f, 0.0f});
    b.floats("var", {2}, {1.0f, 1.0f});
    auto& fc = b.node("Gemm", {"x", "w", "bias"}, {"h"}, "fc");
    ModelBuilder::attr(fc, "transB", 1);
    ModelBuilder::float_attr(fc, "alpha", alpha);
    b.node("BatchNormalization", {"h", "gamma", "beta", "mean", "var"}, {"y"}, "bn");
    return b.bytes();
  };
  {
    const pipeline::Graph g = pipeline::import_onnx_bytes(model(-0.5f, 1.0f, 1.0f), "ok.onnx");
    EXPECT_NO_THROW(pipeline::lower(g));
  }
  {
    const pipeline::Graph g = pipeline::import_onnx_bytes(model(1e9f, 1e30f, 1.0f), "bn.onnx");
    const std::string e = error_of<InvalidArgument>([&] { pipeline::lower(g); });
    EXPECT_HAS(e, "'fc' (Gemm)");
    EXPECT_HAS(e, "flat index 5");
    EXPECT_HAS(e, "inf");
  }
  {
    // alpha = 1e30 times w = 1e9: the same overflow, through Gemm's alpha.
    const pipeline::Graph g = pipeline::import_onnx_bytes(model(1e9f, 1.0f, 1e30f), "alpha.onnx");
    EXPECT_HAS(error_of<InvalidArgument>([&] { pipeline::lower(g); }), "flat index 5");
  }
  {
    // gamma / sqrt(var + eps) itself beyond float: the BatchNormalization is named.
    ModelBuilder b;
    b.input("x", {1, 2});
    b.output("y");
    b.floats("w", {2, 2}, {0.5f, -1.0f, 2.0f, 0.25f});
    b.floats("gamma", {2}, {1.0f, 3e38f});
    b.floats("beta", {2}, {0.0f, 0.0f});
    b.floats("mean", {2}, {0.0f, 0.0f});
    b.floats("var", {2}, {1.0f, 0.0f});
    b.node("MatMul", {"x", "w"}, {"h"}, "mm");
    auto& bn = b.node("BatchNormalization", {"h", "gamma", "beta", "mean", "var"}, {"y"}, "bn");
    ModelBuilder::float_attr(bn, "epsilon", 1e-5f);
    const pipeline::Graph g = pipeline::import_onnx_bytes(b.bytes(), "bnscale.onnx");
    const std::string e = error_of<InvalidArgument>([&] { pipeline::lower(g); });
    EXPECT_HAS(e, "'bn' (BatchNormalization)");
    EXPECT_HAS(e, "channel 1");
  }
}

TEST(NumericsUnitPipeline, DoubleWeightsBeyondFloatRangeAreRejectedAtLoad) {
  ModelBuilder b;
  b.input("x", {1, 3});
  b.output("y");
  b.doubles("w", {3, 2}, {0.5, -1.0, 2.0, 1e300, 1.0, -0.5});
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  const std::string e = error_of<InvalidArgument>([&] { pipeline::import_onnx_bytes(b.bytes(), "d.onnx"); });
  EXPECT_HAS(e, "'mm' (MatMul) input 'w'");
  EXPECT_HAS(e, "flat index 3, beyond float32's range");
}

TEST(NumericsUnitPipeline, FloatsBeyondInt64AreRejectedNotConverted) {
  const pipeline::HostTensor t = pipeline::HostTensor::floats({3}, {4.0f, 1e30f, -2.0f});
  EXPECT_HAS(error_of<InvalidArgument>([&] { (void)t.to_int64s(); }), "at index 1 of a float32 tensor is outside int64's range");
  const pipeline::HostTensor edge = pipeline::HostTensor::floats({2}, {-9223372036854775808.0f, 9223372036854775808.0f});
  EXPECT_HAS(error_of<InvalidArgument>([&] { (void)edge.to_int64s(); }), "at index 1");
}

TEST(NumericsUnitPipeline, DoublesBeyondFloatAreRejectedNotTurnedIntoInf) {
  auto f64 = [](const std::vector<double>& v) {
    pipeline::HostTensor t = pipeline::HostTensor::of(pipeline::ElemType::f64, {std::int64_t(v.size())});
    std::memcpy(t.data.data(), v.data(), v.size() * sizeof(double));
    return t;
  };
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_HAS(error_of<InvalidArgument>([&] { (void)f64({1.0, -1e300}).to_floats(); }),
             "value -1e+300 at index 1 of a float64 tensor is beyond float32's range");
  // FLT_MAX itself, Inf and NaN convert as they are (propagate: the caller decides what a non-finite value means).
  const std::vector<float> ok = f64({double(FLT_MAX), -inf, 0.1}).to_floats();
  EXPECT_EQ(ok[0], FLT_MAX);
  EXPECT_EQ(ok[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(ok[2], 0.1f);
  EXPECT_TRUE(std::isnan(f64({std::nan("")}).to_floats()[0]));
}

TEST(NumericsUnitPipeline, Int8WeightScalesAreNormalFloats) {
  // max|w| / 127 below FLT_MIN would be a subnormal scale, which QuantParams rejects and devices may flush.
  const std::vector<float> tiny{kDenormal, -3e-39f, 0.0f};
  EXPECT_EQ(pipeline::int8_weight_scale(tiny), FLT_MIN);
  EXPECT_EQ(pipeline::int8_weight_scale(std::vector<float>{0.0f, -0.0f}), 1.0f);
  EXPECT_EQ(pipeline::int8_weight_scale(std::vector<float>{1.0f, -127.0f}), 1.0f);
  EXPECT_EQ(pipeline::int8_weight_scale(std::vector<float>{FLT_MAX}), FLT_MAX / 127.0f);
  EXPECT_NO_THROW(QuantParams::per_channel(QuantType::i8, 0, {pipeline::int8_weight_scale(tiny)}, {0}));
}

}  // namespace
}  // namespace ellesmere
