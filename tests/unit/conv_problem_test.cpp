// ConvProblem's canonical text (round trip, defaults, per-side fields) and its checks; the reference's ONNX
// semantics on hand-computed cases; the half conversions of whole buffers; the staging passes' shapes, bytes and
// their fallback for copies too large to index. No device needed.
#include <gtest/gtest.h>

#include <cmath>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ops/conv/conv_impl.hpp"
#include "reference/reference.hpp"

namespace ellesmere {
namespace {

TEST(ConvProblemText, RoundTripsAndFillsDefaults) {
  for (const char* text : {"conv_f16:n1c64h56w56k64r3s3p1u1", "conv_f16:n2c5h13w11k17r3s3pt1pl0pb2pr1u2",
                           "conv_f16:n1c4h9w9k5r3s3p2u1d2", "conv_f16:n1c6h5w7k6r3s3p1u1g6",
                           "conv_f16:n3c4h13w7k5r3s2pt0pl1pb1pr0uh2uw1", "conv_f16:n1c4h9w9k5r3s3p2u1dh2dw3"}) {
    EXPECT_EQ(ConvProblem::parse(text).str(), text);
  }
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c8h10w12k4r3s5");
  EXPECT_EQ(p.str(), "conv_f16:n1c8h10w12k4r3s5p0u1");
  EXPECT_EQ(p.out_h(), 8);
  EXPECT_EQ(p.out_w(), 8);
  const ConvProblem q = ConvProblem::parse("conv_f16:n2c64h56w56k128r3s3p1u2");
  EXPECT_EQ(q.out_h(), 28);
  EXPECT_EQ(q.flops(), 2.0 * 2 * 128 * 28 * 28 * 64 * 9);
  EXPECT_TRUE(ConvProblem::parse("conv_f16:n1c32h9w9k64r3s3p1u1g32").depthwise());   // multiplier 2
  EXPECT_FALSE(ConvProblem::parse("conv_f16:n1c32h9w9k32r3s3p1u1g16").depthwise());
}

TEST(ConvProblemText, RejectsWhatIsInconsistent) {
  const auto error_of = [](const char* text) {
    try {
      ConvProblem::parse(text);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k6r3s3p1u1g4").find("groups = 4 must divide both C = 4 and K = 6"),
            std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h2w8k4r3s3p0u1").find("output size"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3p1pt1u1").find("both for all sides and per side"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3pt1pl1u1").find("pb is missing"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3p1u0").find("strides"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3p1u1d0").find("dilations"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k0r3s3p1u1").find("every dimension"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3p1u1").find("missing s"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3p1u1_x").find("unknown flag"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3p1u1q2").find("unknown field q"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1c4h8w8k4r3s3p1.5u1").find("integer"), std::string::npos);
  EXPECT_NE(error_of("conv_f16:n1000c1000h1000w1000k4r3s3p1u1").find("2^31"), std::string::npos);
  EXPECT_NE(error_of("gemm_f32:m1n1k1").find("not conv_f16"), std::string::npos);
}

// ONNX semantics on a case small enough to work by hand: X = 1..16 (4 x 4), W = [1 0; 0 -1] (2 x 2), stride 2,
// pads top 1, left 0, bottom 0, right 1, so the output is 2 x 2 with the top row half in the padding.
TEST(ConvReference, MatchesHandComputedOnnxCase) {
  ConvProblem p = ConvProblem::parse("conv_f16:n1c1h4w4k1r2s2pt1pl0pb0pr1u2");
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[std::size_t(i)] = float(i + 1);
  const std::vector<float> w{1, 0, 0, -1};
  // Output (oy, ox) reads X rows 2 oy - 1 .. 2 oy, columns 2 ox .. 2 ox + 1: y = X[2oy-1][2ox] - X[2oy][2ox+1].
  // oy = 0: the first row is padding: y = -X[0][2ox+1] = -2, -4. oy = 1: X[1][0] - X[2][1] = 5 - 10, 7 - 12.
  const std::vector<float> want{-2, -4, -5, -5};
  reference::ConvRefEpilogue e;
  EXPECT_EQ(reference::conv2d_f16_ref(p, to_halves(x), to_halves(w), e), want);
  e.bias = {3.0f};
  e.activation = ConvEpilogue::Activation::relu;
  EXPECT_EQ(reference::conv2d_f16_ref(p, to_halves(x), to_halves(w), e), (std::vector<float>{1, 0, 0, 0}));
  e.activation = ConvEpilogue::Activation::clip;
  e.clip_min = -1.5f;
  e.clip_max = 0.5f;
  e.residual = to_halves(std::vector<float>{0, 0, 1, 2});
  EXPECT_EQ(reference::conv2d_f16_ref(p, to_halves(x), to_halves(w), e), (std::vector<float>{0.5f, -1, -1, -0}));
}

TEST(HalfBuffers, ConvertWholeSpansAndCheckSizes) {
  const std::vector<float> v{0.0f, 1.0f, -2.5f, 65504.0f, 1e6f, 1e-8f, std::nanf("")};
  const auto h = to_halves(v);
  EXPECT_EQ(h, (std::vector<std::uint16_t>{0x0000, 0x3c00, 0xc100, 0x7bff, 0x7c00, 0x0000, h[6]}));
  EXPECT_TRUE(std::isnan(half_to_float(h[6])));
  const auto back = to_floats(h);
  EXPECT_EQ(back[2], -2.5f);
  EXPECT_EQ(back[4], INFINITY);
  std::vector<std::uint16_t> too_short(2);
  EXPECT_THROW(floats_to_halves(v, too_short), InvalidArgument);
  std::vector<float> floats(3);
  EXPECT_THROW(halves_to_floats(h, floats), InvalidArgument);
}

TEST(ConvStaging, ShapesAndBytesFollowTheParams) {
  const ConvProblem p = ConvProblem::parse("conv_f16:n2c8h11w13k6r3s3p1u2g2");
  const ops::Params none = ops::Params::parse("VW=8 KPT=4 WPACK=0 XPAD=0");
  EXPECT_TRUE(ops::ConvImpl::staging_shapes(p, none).empty());
  EXPECT_EQ(ops::ConvImpl::staging_bytes(p, none), 0.0);
  const ops::Params both = ops::Params::parse("VW=8 KPT=4 WPACK=1 XPAD=1");
  const auto shapes = ops::ConvImpl::staging_shapes(p, both);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].kernel, "conv_f16_pack_weights");
  EXPECT_EQ(shapes[1].kernel, "conv_f16_pad_input");
  // Packed: 2 groups x 1 block of 4 channels (3 real, 1 zero) x 4 x 3 x 3 taps, written and read as floats.
  // Padded: 2 x 8 planes of ((6 - 1) * 2 + 3) rows x (8 * 2 + 2) columns (6 x 7 outputs, one 8-wide vector a row),
  // written and read as halves.
  EXPECT_EQ(ops::ConvImpl::staging_bytes(p, both), 8.0 * (2 * 4 * 36) + 2.0 * 2.0 * (2 * 8 * 13 * 18));
  EXPECT_EQ(ops::ConvImpl::staging_bytes(p, both, true), 8.0 * (2 * 4 * 36) + 2.0 * 4.0 * (2 * 8 * 13 * 18));
  EXPECT_EQ(shapes[1].global[1], 13u);   // the padded rows
}

TEST(ConvStaging, SubsamplingOnlyWhereStrided) {
  // 2 x 24 planes of 13 x 13 at stride 2: 7 x 7 used inputs each, written and read as halves (floats with fp32
  // storage); before the weight packing's shape.
  const ConvProblem strided = ConvProblem::parse("conv_f16:n2c24h13w13k40r1s1p0u2");
  const ops::Params sub = ops::Params::parse("VW=8 KPT=4 WPACK=1 XSUB=1");
  const auto shapes = ops::ConvImpl::staging_shapes(strided, sub);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].kernel, "conv_f16_pack_weights");
  EXPECT_EQ(shapes[1].kernel, "conv_f16_subsample_input");
  EXPECT_EQ(shapes[1].global[1], 7u);
  EXPECT_EQ(shapes[1].global[2], 48u);
  const ops::Params sub_only = ops::Params::parse("VW=8 KPT=4 WPACK=0 XSUB=1");
  EXPECT_EQ(ops::ConvImpl::staging_bytes(strided, sub_only), 2.0 * 2.0 * (48 * 49));
  EXPECT_EQ(ops::ConvImpl::staging_bytes(strided, sub_only, true), 2.0 * 4.0 * (48 * 49));
  // At stride 1 the pixels are contiguous already: no pass, no bytes, and the kernel is built without it.
  const ConvProblem dense = ConvProblem::parse("conv_f16:n2c24h13w13k40r1s1p0u1");
  EXPECT_TRUE(ops::ConvImpl::staging_shapes(dense, sub_only).empty());
  EXPECT_EQ(ops::ConvImpl::staging_bytes(dense, sub_only), 0.0);
  EXPECT_EQ(ops::ConvImpl::staged_params(dense, sub_only).get("XSUB"), 0);
  EXPECT_EQ(ops::ConvImpl::staged_params(strided, sub_only).get("XSUB"), 1);
}

TEST(ConvStaging, LocalTileLargerThan32KiBIsNotUsed) {
  // conv_f16_depthwise's LTILE: (LY RPT - 1) SU + (R - 1) DH + 1 rows x LX VW SV + (S - 1) DW columns of floats.
  const ConvProblem p = ConvProblem::parse("conv_f16:n1c8h64w64k8r3s3p1u1g8");
  const ops::Params small = ops::Params::parse("VW=16 LX=4 LY=2 RPT=8 LTILE=1");   // 18 x 66 x 4 bytes
  EXPECT_EQ(ops::ConvImpl::staged_params(p, small).get("LTILE"), 1);
  const ops::Params big = ops::Params::parse("VW=16 LX=16 LY=8 RPT=8 LTILE=1");    // 66 x 258 x 4 bytes
  EXPECT_EQ(ops::ConvImpl::staged_params(p, big).get("LTILE"), 0);
  // A wide dilation makes a small work-group's window large too.
  const ConvProblem dilated = ConvProblem::parse("conv_f16:n1c8h512w512k8r3s3p40u1d40g8");
  EXPECT_EQ(ops::ConvImpl::staged_params(dilated, small).get("LTILE"), 0);   // 96 x 144 x 4 bytes
}

TEST(ConvStaging, CopiesTooLargeToIndexAreNotMade) {
  // X has 2^27 elements, its padded copy 16 times as many (one output column per 16-wide vector): XPAD is dropped.
  const ConvProblem tall = ConvProblem::parse("conv_f16:n1c1h134217728w1k1r1s1p0u1");
  const ops::Params xpad = ops::Params::parse("VW=16 KPT=1 WPACK=0 XPAD=1");
  EXPECT_EQ(ops::ConvImpl::staged_params(tall, xpad).get("XPAD"), 0);
  EXPECT_TRUE(ops::ConvImpl::staging_shapes(tall, xpad).empty());
  EXPECT_EQ(ops::ConvImpl::staged_params(tall, ops::Params::parse("VW=1 KPT=1 WPACK=0 XPAD=1")).get("XPAD"), 1);
  // W has 2^28 elements; packed in blocks of 16 channels for groups of one, 2^32: WPACK is dropped.
  const ConvProblem wide = ConvProblem::parse("conv_f16:n1c268435456h1w1k8r1s1p0u1g8");
  EXPECT_EQ(ops::ConvImpl::staged_params(wide, ops::Params::parse("VW=1 KPT=16 WPACK=1 XPAD=0")).get("WPACK"), 0);
  EXPECT_EQ(ops::ConvImpl::staged_params(wide, ops::Params::parse("VW=1 KPT=1 WPACK=1 XPAD=0")).get("WPACK"), 1);
}

}  // namespace
}  // namespace ellesmere
