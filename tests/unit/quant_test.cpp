// Tests for src/quant (quant.hpp): QuantizeLinear / DequantizeLinear rounding, saturation and layouts, agreement
// with reference::quantize_ref bit for bit, ONNX's node tests from Debian's libonnx-testdata, QuantParams checks,
// params_from_range (including NumPy's float64 scale arithmetic) and the calibration observers.
#include <algorithm>
#include <bit>
#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/tensor_io.hpp"
#include "reference/quant_ref.hpp"
#include "reference/reference.hpp"

namespace ellesmere {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<std::int64_t>;

const fs::path kOnnxNodeDir = "/usr/share/libonnx-testdata/data/node";
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- helpers ------------------------------------------------------------------------------------------------------

std::vector<std::uint8_t> quantize(const std::vector<float>& x, const Shape& shape, const QuantParams& p) {
  std::vector<std::uint8_t> y(x.size());
  quantize_linear(x, shape, p, y);
  return y;
}

std::vector<float> dequantize(const std::vector<std::uint8_t>& q, const Shape& shape, const QuantParams& p) {
  std::vector<float> x(q.size());
  dequantize_linear(q, shape, p, x);
  return x;
}

// The integer a quantized byte stands for.
int value_of(QuantType t, std::uint8_t b) { return t == QuantType::i8 ? static_cast<std::int8_t>(b) : b; }

std::vector<int> values_of(QuantType t, const std::vector<std::uint8_t>& bytes) {
  std::vector<int> v;
  for (const auto b : bytes) v.push_back(value_of(t, b));
  return v;
}

std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// Expects f() to throw InvalidArgument whose message contains every needle.
void expect_invalid(const std::function<void()>& f, const std::vector<std::string>& needles,
                    std::source_location loc = std::source_location::current()) {
  ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()), "expect_invalid");
  try {
    f();
    ADD_FAILURE() << "no InvalidArgument thrown";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    for (const auto& needle : needles) {
      EXPECT_NE(what.find(needle), std::string::npos) << "message \"" << what << "\" lacks \"" << needle << "\"";
    }
  }
}

QuantParams raw_params(QuantType type, int axis, std::vector<float> scales, std::vector<std::int32_t> zps) {
  QuantParams p;   // no validation: validate() tests build invalid ones
  p.type = type;
  p.axis = axis;
  p.scales = std::move(scales);
  p.zero_points = std::move(zps);
  return p;
}

// ---- QuantType ----------------------------------------------------------------------------------------------------

TEST(QuantType, NamesAndRanges) {
  EXPECT_STREQ(quant_type_name(QuantType::u8), "u8");
  EXPECT_STREQ(quant_type_name(QuantType::i8), "i8");
  EXPECT_EQ(quant_min(QuantType::u8), 0);
  EXPECT_EQ(quant_max(QuantType::u8), 255);
  EXPECT_EQ(quant_min(QuantType::i8), -128);
  EXPECT_EQ(quant_max(QuantType::i8), 127);
}

// ---- quantize_linear / dequantize_linear ------------------------------------------------------------------------

TEST(QuantLinear, RoundsHalfToEven) {
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f, 0.49999997f, 0.50000006f};
  const std::vector<int> steps = {0, 2, 2, 4, 0, -2, -2, -4, 0, 1};
  for (const auto type : {QuantType::u8, QuantType::i8}) {
    const std::int32_t zp = type == QuantType::u8 ? 128 : 0;
    for (const float scale : {1.0f, 0.25f, 4.0f}) {   // powers of two: x * scale / scale is exact
      SCOPED_TRACE(fmt::format("{} scale {}", quant_type_name(type), scale));
      std::vector<float> scaled;
      for (const float v : x) scaled.push_back(v * scale);
      const auto q = values_of(type, quantize(scaled, {10}, QuantParams::per_tensor(type, scale, zp)));
      for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(q[i], zp + steps[i]) << "x / scale = " << x[i];
    }
  }
  // -0.5 rounds to -0, which is the zero point itself (not zp - 1) even at the bottom of the range.
  EXPECT_EQ(quantize({-0.5f}, {1}, QuantParams::per_tensor(QuantType::u8, 1.0f, 0))[0], 0);
  EXPECT_EQ(value_of(QuantType::i8, quantize({-0.5f}, {1}, QuantParams::per_tensor(QuantType::i8, 1.0f, -128))[0]),
            -128);
}

TEST(QuantLinear, RoundingIgnoresTheCurrentRoundingMode) {
  // std::nearbyint would follow fesetround; ONNX's rint is always half to even.
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.7f, -0.7f};
  const auto params = QuantParams::per_tensor(QuantType::i8, 1.0f, 0);
  const auto expected = quantize(x, {8}, params);
  ASSERT_EQ(std::fesetround(FE_UPWARD), 0);
  const auto upward = quantize(x, {8}, params);
  std::fesetround(FE_TONEAREST);
  EXPECT_EQ(upward, expected);
  EXPECT_EQ(values_of(QuantType::i8, expected), (std::vector<int>{0, 2, 2, 0, -2, -2, 1, -1}));
}

TEST(QuantLinear, SaturatesU8) {
  const auto p = QuantParams::per_tensor(QuantType::u8, 0.5f, 10);
  // x / 0.5 + 10: -5.25 -> -10.5 -> -10 -> 0 (tie to even), -5.5 -> -11 -> -1 -> 0 (clamped), 122.5 -> 245 -> 255,
  // 122.75 -> 245.5 -> 246 -> 256 -> 255 (clamped).
  const std::vector<float> x = {-5.25f, -5.5f, -6.0f, -1e30f, 122.5f, 122.75f, 123.0f, 1e30f, 0.0f};
  EXPECT_EQ(values_of(QuantType::u8, quantize(x, {9}, p)), (std::vector<int>{0, 0, 0, 0, 255, 255, 255, 255, 10}));
}

TEST(QuantLinear, SaturatesI8) {
  const auto p = QuantParams::per_tensor(QuantType::i8, 2.0f, -3);
  // x / 2 - 3: -250 -> -125 -> -128; -251 -> -125.5 -> -126 -> -129 -> -128; 260 -> 130 -> 127;
  // 261 -> 130.5 -> 130 -> 127; 262 -> 131 -> 128 -> 127 (clamped).
  const std::vector<float> x = {-250.0f, -251.0f, -252.0f, -3e38f, 260.0f, 261.0f, 262.0f, 3e38f, 6.0f};
  EXPECT_EQ(values_of(QuantType::i8, quantize(x, {9}, p)),
            (std::vector<int>{-128, -128, -128, -128, 127, 127, 127, 127, 0}));
  // The bytes are two's complement.
  EXPECT_EQ(quantize({-250.0f, -2.0f}, {2}, p), (std::vector<std::uint8_t>{0x80, 0xfc}));
}

TEST(QuantLinear, NanGivesZeroPointAndInfinitiesSaturate) {
  for (const auto type : {QuantType::u8, QuantType::i8}) {
    const std::int32_t zp = type == QuantType::u8 ? 77 : -5;
    const auto p = QuantParams::per_tensor(type, 0.125f, zp);
    const auto q = values_of(type, quantize({kNan, -kNan, kInf, -kInf, FLT_MAX, -FLT_MAX}, {6}, p));
    EXPECT_EQ(q, (std::vector<int>{zp, zp, quant_max(type), quant_min(type), quant_max(type), quant_min(type)}))
        << quant_type_name(type);
  }
  // A finite x whose quotient overflows to infinity saturates too.
  EXPECT_EQ(quantize({3e38f, -3e38f}, {2}, QuantParams::per_tensor(QuantType::u8, 1e-3f, 100)),
            (std::vector<std::uint8_t>{255, 0}));
}

TEST(QuantLinear, DividesInFloat32) {
  // Cases where x / scale is a tie in float32 but not in exact arithmetic: a double division (first three) or a
  // multiplication by a float32 reciprocal (last three) rounds to the other integer. Found with numpy.
  struct Case {
    float x, scale;
    int q;
  };
  const Case cases[] = {
      {0x1.064808p+3f, 0x1.e68d0ap-3f, 34},    // float32 quotient 34.5 -> 34; double 34.5000012 -> 35
      {0x1.3efc80p+6f, 0x1.9a5ab2p-1f, 100},   // 99.5 -> 100; double 99.4999983 -> 99
      {-0x1.8529d0p+5f, 0x1.2a47e8p-1f, -84},  // -83.5 -> -84; double -83.4999977 -> -83
      {0x1.2b29dcp+0f, 0x1.62906ep-4f, 13},    // 13.4999990 -> 13; x * (1 / scale) gives 14
      {0x1.5f0c00p+5f, 0x1.eb14fcp-2f, 92},    // 91.5 -> 92; reciprocal gives 91
      {0x1.054992p+6f, 0x1.79e83cp-1f, 88},    // 88.5 -> 88; reciprocal gives 89
  };
  for (const auto& c : cases) {
    const auto q = quantize({c.x}, {1}, QuantParams::per_tensor(QuantType::i8, c.scale, 0));
    EXPECT_EQ(value_of(QuantType::i8, q[0]), c.q) << fmt::format("x = {:a}, scale = {:a}", c.x, c.scale);
  }
}

TEST(QuantLinear, PerTensorShape7) {
  const auto p = QuantParams::per_tensor(QuantType::u8, 0.5f, 100);
  const std::vector<float> x = {0.0f, 1.0f, -1.0f, 10.25f, -50.0f, 77.5f, 0.75f};
  // x / 0.5 + 100 = 100, 102, 98, 120.5 -> 120, 0, 255 (clamped from 255), 101.5 -> 102.
  EXPECT_EQ(values_of(QuantType::u8, quantize(x, {7}, p)), (std::vector<int>{100, 102, 98, 120, 0, 255, 102}));
  EXPECT_EQ(dequantize(quantize(x, {7}, p), {7}, p),
            (std::vector<float>{0.0f, 1.0f, -1.0f, 10.0f, -50.0f, 77.5f, 1.0f}));
}

// x[i] = scale[c] * t(i) with t(i) = i % 7 - 3, so q[i] = t(i) + zp[c]: the output tells which channel was used.
// The channel of each element comes from nested loops over (outer, channel, inner), not from the library's formula.
void check_per_channel(const Shape& shape, int axis, QuantType type) {
  SCOPED_TRACE(fmt::format("shape {} axis {} {}", shape_string(shape), axis, quant_type_name(type)));
  const auto channels = static_cast<std::size_t>(shape[static_cast<std::size_t>(axis)]);
  std::vector<float> scales;
  std::vector<std::int32_t> zps;
  for (std::size_t c = 0; c < channels; ++c) {
    scales.push_back(0.25f * static_cast<float>(c + 1));
    zps.push_back(static_cast<std::int32_t>(10 * c) + (type == QuantType::i8 ? -20 : 20));
  }
  const auto p = QuantParams::per_channel(type, axis, scales, zps);
  std::size_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= static_cast<std::size_t>(shape[static_cast<std::size_t>(d)]);
  for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) {
    inner *= static_cast<std::size_t>(shape[d]);
  }
  std::vector<float> x;
  std::vector<int> expected;
  std::vector<float> expected_back;
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t k = 0; k < inner; ++k) {
        const int t = static_cast<int>(x.size() % 7) - 3;
        x.push_back(scales[c] * static_cast<float>(t));
        expected.push_back(t + zps[c]);
        expected_back.push_back(scales[c] * static_cast<float>(t));
      }
    }
  }
  const auto q = quantize(x, shape, p);
  EXPECT_EQ(values_of(type, q), expected);
  EXPECT_EQ(dequantize(q, shape, p), expected_back);
}

TEST(QuantLinear, PerChannelShapes) {
  for (const auto type : {QuantType::u8, QuantType::i8}) {
    check_per_channel({3, 5}, 0, type);
    check_per_channel({3, 5}, 1, type);
    check_per_channel({2, 3, 4}, 1, type);
    check_per_channel({2, 3, 4}, 0, type);
    check_per_channel({2, 3, 4}, 2, type);
    check_per_channel({7}, 0, type);
  }
}

TEST(QuantLinear, PerChannelUsesTheRightScaleAndZeroPointPerElement) {
  // (2, 3) along axis 1: the channel of element i is i % 3.
  const auto p = QuantParams::per_channel(QuantType::u8, 1, {1.0f, 2.0f, 4.0f}, {0, 10, 20});
  EXPECT_EQ(values_of(QuantType::u8, quantize({8, 8, 8, -4, -4, -4}, {2, 3}, p)),
            (std::vector<int>{8, 14, 22, 0, 8, 19}));
  // (3, 2) along axis 0: the channel of element i is i / 2.
  const auto p0 = QuantParams::per_channel(QuantType::u8, 0, {1.0f, 2.0f, 4.0f}, {0, 10, 20});
  EXPECT_EQ(values_of(QuantType::u8, quantize({8, 8, 8, -4, -4, -4}, {3, 2}, p0)),
            (std::vector<int>{8, 8, 14, 8, 19, 19}));
}

TEST(QuantLinear, ScalarAndEmptyShapes) {
  const auto p = QuantParams::per_tensor(QuantType::i8, 0.5f, 1);
  EXPECT_EQ(values_of(QuantType::i8, quantize({2.0f}, {}, p)), std::vector<int>{5});   // scalar: one element
  EXPECT_TRUE(quantize({}, {0, 4}, p).empty());
  EXPECT_TRUE(quantize({}, {0, 3}, QuantParams::per_channel(QuantType::u8, 1, {1, 2, 3}, {0, 0, 0})).empty());
}

TEST(QuantLinear, DequantizeIsScaleTimesOffsetInFloat32) {
  const auto p = QuantParams::per_tensor(QuantType::i8, 0.1f, -3);
  const std::vector<std::uint8_t> q = {0x80, 0xff, 0x00, 0x7f, 0xfd};   // -128, -1, 0, 127, -3
  const auto x = dequantize(q, {5}, p);
  const std::vector<float> expected = {-125.0f * 0.1f, 2.0f * 0.1f, 3.0f * 0.1f, 130.0f * 0.1f, 0.0f};
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(bits(x[i]), bits(expected[i])) << i;
  const auto pu = QuantParams::per_channel(QuantType::u8, 0, {2.0f, 0.5f}, {128, 0});
  EXPECT_EQ(dequantize({0, 255, 0, 255}, {2, 2}, pu), (std::vector<float>{-256.0f, 254.0f, 0.0f, 127.5f}));
}

TEST(QuantLinear, RoundTripWithinHalfAStep) {
  const auto x = reference::random_floats(4096, 11, -3.0f, 5.0f);
  for (const auto type : {QuantType::u8, QuantType::i8}) {
    const auto p = params_from_range(-3.0f, 5.0f, type);
    const auto back = dequantize(quantize(x, {4096}, p), {4096}, p);
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_LE(std::fabs(back[i] - x[i]), p.scales[0] * 0.5f * (1.0f + 1e-5f)) << i << " " << quant_type_name(type);
    }
  }
}

// ---- library vs reference, bit for bit --------------------------------------------------------------------------

// Values that exercise every branch: ties at the scale's multiples, saturation, specials, signed zeros, subnormals.
std::vector<float> awkward_values(std::size_t n, float scale, std::mt19937_64& gen) {
  std::uniform_int_distribution<int> kind(0, 9), step(-300, 300);
  std::uniform_real_distribution<float> frac(-1.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) {
    switch (kind(gen)) {
      case 0: v = (static_cast<float>(step(gen)) + 0.5f) * scale; break;   // a tie (or within an ulp of one)
      case 1: v = static_cast<float>(step(gen)) * scale; break;
      case 2: {
        const float specials[] = {kNan, kInf, -kInf, 0.0f, -0.0f, FLT_MAX, -FLT_MAX, FLT_TRUE_MIN, -FLT_MIN};
        v = specials[static_cast<std::size_t>(step(gen) + 300) % std::size(specials)];
        break;
      }
      default: v = (static_cast<float>(step(gen)) + frac(gen)) * scale; break;
    }
  }
  return x;
}

QuantParams random_params(QuantType type, int axis, std::size_t channels, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> log_scale(-12.0, 8.0);
  std::uniform_int_distribution<std::int32_t> zp(quant_min(type), quant_max(type));
  QuantParams p;
  p.type = type;
  p.axis = axis;
  p.scales.clear();
  p.zero_points.clear();
  for (std::size_t c = 0; c < channels; ++c) {
    p.scales.push_back(static_cast<float>(std::exp2(log_scale(gen))));
    p.zero_points.push_back(zp(gen));
  }
  return p;
}

TEST(QuantReference, LibraryMatchesReferenceBitForBit) {
  const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {3, 5}, {2, 3, 4}, {4, 1, 6}, {1, 3, 3, 2}, {2, 3, 4, 5},
                                     {64, 33}, {5, 0, 2}};
  std::mt19937_64 gen(20240607);
  int compared = 0;
  for (const auto& shape : shapes) {
    std::size_t n = 1;
    for (const auto d : shape) n *= static_cast<std::size_t>(d);
    for (const auto type : {QuantType::u8, QuantType::i8}) {
      for (int axis = -1; axis < static_cast<int>(shape.size()); ++axis) {
        const std::size_t channels = axis < 0 ? 1 : static_cast<std::size_t>(shape[static_cast<std::size_t>(axis)]);
        if (channels == 0) continue;   // per-channel params need at least one channel
        for (int trial = 0; trial < 4; ++trial) {
          SCOPED_TRACE(fmt::format("shape {} axis {} {} trial {}", shape_string(shape), axis, quant_type_name(type),
                                   trial));
          const auto p = random_params(type, axis, channels, gen);
          const auto x = awkward_values(n, p.scales[0], gen);
          std::vector<std::uint8_t> ref(n);
          reference::quantize_ref(x, shape, p, ref);
          ASSERT_EQ(quantize(x, shape, p), ref);

          std::vector<std::uint8_t> q(n);
          for (auto& b : q) b = static_cast<std::uint8_t>(gen());
          std::vector<float> back_ref(n);
          reference::dequantize_ref(q, shape, p, back_ref);
          const auto back = dequantize(q, shape, p);
          for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(bits(back[i]), bits(back_ref[i])) << i;
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 150);
}

TEST(QuantReference, ReferenceFollowsTheOnnxFormula) {
  // The reference itself, against hand-computed ONNX results (so a shared mistake cannot hide).
  const auto p = QuantParams::per_tensor(QuantType::u8, 2.0f, 128);
  std::vector<std::uint8_t> y(7);
  reference::quantize_ref(std::vector<float>{0, 2, 3, 1000, -254, -1000, 5}, Shape{7}, p, y);
  EXPECT_EQ(y, (std::vector<std::uint8_t>{128, 129, 130, 255, 1, 0, 130}));
  std::vector<float> x(3);
  reference::dequantize_ref(std::vector<std::uint8_t>{0, 128, 255}, Shape{3}, p, x);
  EXPECT_EQ(x, (std::vector<float>{-256.0f, 0.0f, 254.0f}));
}

// ---- ONNX node tests (Debian's libonnx-testdata) ----------------------------------------------------------------

fs::path onnx_case(const std::string& name) {
  const fs::path dir = kOnnxNodeDir / name;
  if (!fs::is_directory(dir / "test_data_set_0")) {
    ADD_FAILURE() << dir.string() << " is missing: install the Debian package libonnx-testdata";
  }
  return dir;
}

Tensor onnx_tensor(const fs::path& dir, const std::string& file) {
  return read_onnx_tensor((dir / "test_data_set_0" / file).string());
}

// The node's axis attribute, or ONNX's default 1; negative axes count from the end.
int onnx_axis(const fs::path& dir, std::size_t rank) {
  onnx::ModelProto model;
  std::ifstream in(dir / "model.onnx", std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&in)) << dir.string();
  EXPECT_EQ(model.graph().node_size(), 1);
  std::int64_t axis = 1;
  for (const auto& attr : model.graph().node(0).attribute()) {
    if (attr.name() == "axis") axis = attr.i();
  }
  return static_cast<int>(axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis);
}

std::vector<std::uint8_t> bytes_of(const Tensor& t) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(t.data.data());
  return {p, p + t.data.size()};
}

// QuantizeLinear / DequantizeLinear inputs: (x, scale, zero_point) -> params for x's shape.
QuantParams onnx_params(const fs::path& dir, const Tensor& x, const Tensor& scale, const Tensor& zp) {
  EXPECT_TRUE(zp.dtype == DType::u8 || zp.dtype == DType::i8) << dtype_name(zp.dtype);
  QuantParams p;
  p.type = zp.dtype == DType::i8 ? QuantType::i8 : QuantType::u8;
  const auto s = scale.values<float>();
  p.scales.assign(s.begin(), s.end());
  p.zero_points.clear();
  for (const auto b : bytes_of(zp)) p.zero_points.push_back(value_of(p.type, b));
  p.axis = scale.shape.empty() ? -1 : onnx_axis(dir, x.shape.size());
  return p;
}

void run_onnx_quantize(const std::string& name) {
  const auto dir = onnx_case(name);
  const auto x = onnx_tensor(dir, "input_0.pb");
  const auto p = onnx_params(dir, x, onnx_tensor(dir, "input_1.pb"), onnx_tensor(dir, "input_2.pb"));
  const auto expected = onnx_tensor(dir, "output_0.pb");
  EXPECT_EQ(expected.shape, x.shape);
  EXPECT_EQ(expected.dtype, p.type == QuantType::i8 ? DType::i8 : DType::u8);
  std::vector<std::uint8_t> y(static_cast<std::size_t>(x.element_count()));
  quantize_linear(x.values<float>(), x.shape, p, y);
  EXPECT_EQ(y, bytes_of(expected));
  std::vector<std::uint8_t> ref(y.size());
  reference::quantize_ref(x.values<float>(), x.shape, p, ref);
  EXPECT_EQ(ref, bytes_of(expected));
}

void run_onnx_dequantize(const std::string& name) {
  const auto dir = onnx_case(name);
  const auto q = onnx_tensor(dir, "input_0.pb");
  const auto p = onnx_params(dir, q, onnx_tensor(dir, "input_1.pb"), onnx_tensor(dir, "input_2.pb"));
  const auto expected = onnx_tensor(dir, "output_0.pb");
  ASSERT_EQ(expected.dtype, DType::f32);
  EXPECT_EQ(expected.shape, q.shape);
  std::vector<float> x(static_cast<std::size_t>(q.element_count()));
  dequantize_linear(bytes_of(q), q.shape, p, x);
  const auto want = expected.values<float>();
  ASSERT_EQ(x.size(), want.size());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(bits(x[i]), bits(want[i])) << i;
}

// DynamicQuantizeLinear = a min_max observer over x, u8 params, quantize_linear.
void run_onnx_dynamic_quantize(const std::string& name) {
  const auto dir = onnx_case(name);
  const auto x = onnx_tensor(dir, "input_0.pb");
  Observer observer(ObserverKind::min_max);
  observer.observe(x.values<float>());
  const auto p = observer.params(QuantType::u8);
  const auto y_scale = onnx_tensor(dir, "output_1.pb");
  const auto y_zp = onnx_tensor(dir, "output_2.pb");
  ASSERT_EQ(y_scale.element_count(), 1);
  ASSERT_EQ(y_zp.dtype, DType::u8);
  EXPECT_EQ(bits(p.scales[0]), bits(y_scale.values<float>()[0]))
      << fmt::format("{:a} vs {:a}", p.scales[0], y_scale.values<float>()[0]);
  EXPECT_EQ(p.zero_points[0], y_zp.values<std::uint8_t>()[0]);
  std::vector<std::uint8_t> y(static_cast<std::size_t>(x.element_count()));
  quantize_linear(x.values<float>(), x.shape, p, y);
  EXPECT_EQ(y, bytes_of(onnx_tensor(dir, "output_0.pb")));
}

TEST(OnnxQuantNode, QuantizeLinear) { run_onnx_quantize("test_quantizelinear"); }
TEST(OnnxQuantNode, QuantizeLinearAxis) { run_onnx_quantize("test_quantizelinear_axis"); }
TEST(OnnxQuantNode, DequantizeLinear) { run_onnx_dequantize("test_dequantizelinear"); }
TEST(OnnxQuantNode, DequantizeLinearAxis) { run_onnx_dequantize("test_dequantizelinear_axis"); }
TEST(OnnxQuantNode, DynamicQuantizeLinear) { run_onnx_dynamic_quantize("test_dynamicquantizelinear"); }
TEST(OnnxQuantNode, DynamicQuantizeLinearMaxAdjusted) {
  run_onnx_dynamic_quantize("test_dynamicquantizelinear_max_adjusted");
}
TEST(OnnxQuantNode, DynamicQuantizeLinearMinAdjusted) {
  run_onnx_dynamic_quantize("test_dynamicquantizelinear_min_adjusted");
}

// ---- QuantParams::validate and argument checks ------------------------------------------------------------------

TEST(QuantParams, ValidParamsPass) {
  EXPECT_NO_THROW(raw_params(QuantType::u8, -1, {1.0f}, {0}).validate("w"));
  EXPECT_NO_THROW(raw_params(QuantType::u8, 0, {FLT_MIN, FLT_MAX}, {0, 255}).validate("w"));
  // A subnormal scale is rejected: OpenCL devices may flush it to zero (AMD's do), dividing by zero there.
  try {
    raw_params(QuantType::u8, 0, {1.0f, FLT_TRUE_MIN}, {0, 0}).validate("w");
    ADD_FAILURE() << "a subnormal scale was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("w: scales[1]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("subnormal"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(raw_params(QuantType::i8, 3, {0.5f, 2.0f, 1.0f}, {-128, 127, 0}).validate("w"));
  EXPECT_NO_THROW(QuantParams{}.validate("default"));
  const auto p = QuantParams::per_channel(QuantType::i8, 1, {1.0f, 2.0f}, {0, -1});
  EXPECT_TRUE(p.per_channel());
  EXPECT_EQ(p.channels(), 2u);
  EXPECT_FALSE(QuantParams::per_tensor(QuantType::u8, 1.0f, 3).per_channel());
}

TEST(QuantParams, RejectsBadScalesNamingTheIndex) {
  const std::pair<float, const char*> bad[] = {{0.0f, "scales[2] = 0"}, {-1.5f, "scales[2] = -1.5"},
                                               {kNan, "scales[2] = nan"}, {kInf, "scales[2] = inf"},
                                               {-kInf, "scales[2] = -inf"}, {-0.0f, "scales[2] = -0"}};
  for (const auto& [scale, needle] : bad) {
    const auto p = raw_params(QuantType::u8, 0, {1.0f, 2.0f, scale, 4.0f}, {0, 0, 0, 0});
    expect_invalid([&] { p.validate("weights"); }, {"weights", needle});
  }
  expect_invalid([] { raw_params(QuantType::i8, -1, {0.0f}, {0}).validate("B"); }, {"B: ", "scales[0]"});
}

TEST(QuantParams, RejectsZeroPointsOutsideTheType) {
  expect_invalid([] { raw_params(QuantType::u8, 0, {1, 1}, {0, -1}).validate("A"); },
                 {"A", "zero_points[1] = -1", "u8", "[0, 255]"});
  expect_invalid([] { raw_params(QuantType::u8, 0, {1, 1, 1}, {0, 255, 256}).validate("A"); },
                 {"A", "zero_points[2] = 256", "u8"});
  expect_invalid([] { raw_params(QuantType::i8, 0, {1, 1}, {-129, 0}).validate("A"); },
                 {"A", "zero_points[0] = -129", "i8", "[-128, 127]"});
  expect_invalid([] { raw_params(QuantType::i8, -1, {1}, {128}).validate("A"); }, {"zero_points[0] = 128", "i8"});
  expect_invalid([] { raw_params(QuantType::i8, -1, {1}, {255}).validate("A"); }, {"zero_points[0] = 255"});
}

TEST(QuantParams, RejectsBadCountsAndAxes) {
  expect_invalid([] { raw_params(QuantType::u8, 0, {1, 1, 1}, {0, 0}).validate("C"); },
                 {"C", "3 scales", "2 zero_points"});
  expect_invalid([] { raw_params(QuantType::u8, 0, {}, {}).validate("C"); }, {"C", "no scales"});
  expect_invalid([] { raw_params(QuantType::u8, -1, {1, 2}, {0, 0}).validate("C"); }, {"C", "per-tensor", "hold 2"});
  expect_invalid([] { raw_params(QuantType::u8, -2, {1}, {0}).validate("C"); }, {"C", "axis = -2"});
  expect_invalid([] { raw_params(static_cast<QuantType>(7), -1, {1}, {0}).validate("C"); }, {"C", "type = 7"});
  expect_invalid([] { QuantParams::per_tensor(QuantType::u8, 0.0f, 0); }, {"per_tensor", "scales[0] = 0"});
  expect_invalid([] { QuantParams::per_tensor(QuantType::u8, 1.0f, 300); }, {"per_tensor", "zero_points[0] = 300"});
  expect_invalid([] { QuantParams::per_channel(QuantType::u8, -1, {1}, {0}); }, {"per_channel", "axis = -1"});
  expect_invalid([] { QuantParams::per_channel(QuantType::i8, 0, {1, 1}, {0}); }, {"per_channel", "2 scales"});
}

TEST(QuantParams, QuantizeChecksShapeAgainstParams) {
  const std::vector<float> x(15, 1.0f);
  std::vector<std::uint8_t> y(15);
  const auto p3 = QuantParams::per_channel(QuantType::u8, 0, {1, 1, 1}, {0, 0, 0});
  EXPECT_NO_THROW(quantize_linear(x, Shape{3, 5}, p3, y));
  auto axis2 = p3;
  axis2.axis = 2;
  expect_invalid([&] { quantize_linear(x, Shape{3, 5}, axis2, y); }, {"params.axis = 2", "(3, 5)", "rank 2"});
  auto axis1 = p3;
  axis1.axis = 1;
  expect_invalid([&] { quantize_linear(x, Shape{3, 5}, axis1, y); }, {"shape[1] = 5", "3 channels"});
  expect_invalid([&] { quantize_linear(x, Shape{3, 4}, p3, y); }, {"x has 15 elements", "(3, 4)", "12"});
  expect_invalid([&] { quantize_linear(x, Shape{3, 5}, p3, std::span(y).first(14)); }, {"y has 14 elements"});
  expect_invalid([&] { quantize_linear(x, Shape{-3, -5}, p3, y); }, {"shape[0] = -3"});
  expect_invalid([&] { quantize_linear(x, Shape{3, 5}, raw_params(QuantType::u8, -1, {-1}, {0}), y); },
                 {"quantize_linear params", "scales[0] = -1"});
  expect_invalid([&] { quantize_linear(x, Shape{15}, raw_params(QuantType::i8, -1, {1}, {200}), y); },
                 {"quantize_linear params", "zero_points[0] = 200"});
}

TEST(QuantParams, DequantizeChecksShapeAgainstParams) {
  const std::vector<std::uint8_t> q(6, 1);
  std::vector<float> x(6);
  const auto p = QuantParams::per_channel(QuantType::i8, 1, {1, 1}, {0, 0});
  EXPECT_NO_THROW(dequantize_linear(q, Shape{3, 2}, p, x));
  expect_invalid([&] { dequantize_linear(q, Shape{2, 3}, p, x); }, {"shape[1] = 3", "2 channels"});
  expect_invalid([&] { dequantize_linear(q, Shape{6}, p, x); }, {"params.axis = 1", "(6,)"});
  expect_invalid([&] { dequantize_linear(q, Shape{3, 2}, p, std::span(x).first(5)); }, {"x has 5 elements"});
  expect_invalid([&] { dequantize_linear(std::span(q).first(4), Shape{3, 2}, p, x); }, {"q has 4 elements"});
  expect_invalid([&] { dequantize_linear(q, Shape{3, 2}, raw_params(QuantType::i8, 1, {1, kNan}, {0, 0}), x); },
                 {"dequantize_linear params", "scales[1] = nan"});
}

// ---- params_from_range ------------------------------------------------------------------------------------------

TEST(QuantRange, U8FollowsDynamicQuantizeLinear) {
  // The examples in ONNX's dynamicquantizelinear.py.
  auto p = params_from_range(-3.0f, 2.0f, QuantType::u8);
  EXPECT_EQ(p.scales[0], static_cast<float>(5.0 / 255.0));
  EXPECT_EQ(p.zero_points[0], 153);
  EXPECT_EQ(p.axis, -1);
  p = params_from_range(-4.0f, -1.0f, QuantType::u8);   // hi widened to 0
  EXPECT_EQ(p.scales[0], static_cast<float>(4.0 / 255.0));
  EXPECT_EQ(p.zero_points[0], 255);
  p = params_from_range(1.0f, 4.0f, QuantType::u8);   // lo widened to 0
  EXPECT_EQ(p.scales[0], static_cast<float>(4.0 / 255.0));
  EXPECT_EQ(p.zero_points[0], 0);
}

TEST(QuantRange, ScaleAndZeroPointComputedInDoubleLikeNumpy1) {
  // Ranges where ONNX's reference (float64 under NumPy 1.x) and float32 arithmetic disagree; expected values
  // computed with Debian's numpy 1.24 and the exact expressions of dynamicquantizelinear.py.
  struct Case {
    float lo, hi, scale;
    int zp;
  };
  const Case cases[] = {
      {-0x1.9318bep-7f, 0x1.b69edep+4f, 0x1.b889cap-4f, 0},     // float32 scale: 0x1.b889ccp-4
      {-0x1.ecb246p-5f, 0x1.89c3e6p+5f, 0x1.8bcadep-3f, 0},     // float32 scale: 0x1.8bcadcp-3
      {-0x1.467024p-6f, 0x1.f21becp-1f, 0x1.fe4dbap-9f, 5},     // float32 scale: 0x1.fe4dbcp-9
      {-0x1.9336f6p-4f, 0x1.d07666p-4f, 0x1.b38a38p-11f, 119},  // float32 zero point: 118
      {-0x1.7b5d66p+5f, 0x1.93cef6p+7f, 0x1.f49aeap-1f, 49},    // float32 zero point: 48
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("lo {:a} hi {:a}", c.lo, c.hi));
    const auto p = params_from_range(c.lo, c.hi, QuantType::u8);
    EXPECT_EQ(bits(p.scales[0]), bits(c.scale)) << fmt::format("{:a}", p.scales[0]);
    EXPECT_EQ(p.zero_points[0], c.zp);
    // These cases do tell the two apart.
    const float scale32 = (c.hi - c.lo) / 255.0f;
    const float zp32 = std::nearbyint(-c.lo / scale32);
    EXPECT_TRUE(bits(scale32) != bits(c.scale) || static_cast<int>(zp32) != c.zp);
  }
}

TEST(QuantRange, I8IsU8ShiftedBy128) {
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<float> end(0.0f, 10.0f);
  for (int i = 0; i < 1000; ++i) {
    const float lo = -end(gen) * (i % 3 == 0 ? 0.0f : 1.0f), hi = end(gen) * (i % 5 == 0 ? 0.0f : 1.0f);
    const auto u = params_from_range(lo, hi, QuantType::u8);
    const auto s = params_from_range(lo, hi, QuantType::i8);
    ASSERT_EQ(bits(s.scales[0]), bits(u.scales[0])) << lo << " " << hi;
    ASSERT_EQ(s.zero_points[0], u.zero_points[0] - 128) << lo << " " << hi;
    ASSERT_EQ(s.type, QuantType::i8);
  }
  EXPECT_EQ(params_from_range(-1.0f, 0.0f, QuantType::i8).zero_points[0], 127);
  EXPECT_EQ(params_from_range(0.0f, 1.0f, QuantType::i8).zero_points[0], -128);
}

TEST(QuantRange, Symmetric) {
  auto p = params_from_range(-2.0f, 1.0f, QuantType::i8, true);
  EXPECT_EQ(p.scales[0], static_cast<float>(2.0 / 127.0));
  EXPECT_EQ(p.zero_points[0], 0);
  p = params_from_range(0.5f, 3.0f, QuantType::i8, true);
  EXPECT_EQ(p.scales[0], static_cast<float>(3.0 / 127.0));
  EXPECT_EQ(p.zero_points[0], 0);
  expect_invalid([] { params_from_range(-1.0f, 1.0f, QuantType::u8, true); }, {"symmetric", "u8"});
}

TEST(QuantRange, AllZeroRangeGivesScaleOne) {
  for (const auto& [type, symmetric, zp] : {std::tuple{QuantType::u8, false, 0}, std::tuple{QuantType::i8, false, -128},
                                           std::tuple{QuantType::i8, true, 0}}) {
    const auto p = params_from_range(0.0f, 0.0f, type, symmetric);
    EXPECT_EQ(p.scales[0], 1.0f);
    EXPECT_EQ(p.zero_points[0], zp);
    EXPECT_EQ(quantize({0.0f}, {1}, p)[0], static_cast<std::uint8_t>(zp));   // zero stays exact
  }
}

TEST(QuantRange, ExtremeRanges) {
  // A range too narrow for a normal scale gets FLT_MIN; one too wide for float32 arithmetic still works.
  auto p = params_from_range(0.0f, 1e-40f, QuantType::u8);
  EXPECT_EQ(p.scales[0], FLT_MIN);
  EXPECT_EQ(p.zero_points[0], 0);
  p = params_from_range(-FLT_MAX, FLT_MAX, QuantType::u8);
  EXPECT_TRUE(std::isfinite(p.scales[0]));
  EXPECT_EQ(p.scales[0], static_cast<float>(2.0 * FLT_MAX / 255.0));
  EXPECT_EQ(p.zero_points[0], 128);   // 127.5 rounds half to even
}

TEST(QuantRange, RejectsBadRanges) {
  expect_invalid([] { params_from_range(1.0f, -1.0f, QuantType::u8); }, {"lo = 1", "hi = -1"});
  expect_invalid([] { params_from_range(kNan, 1.0f, QuantType::u8); }, {"lo = nan", "finite"});
  expect_invalid([] { params_from_range(0.0f, kInf, QuantType::i8); }, {"hi = inf", "finite"});
}

// ---- observers ----------------------------------------------------------------------------------------------------

std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(normal(gen));
  return v;
}

// Mean squared error of quantize-then-dequantize of x with p.
double quantization_mse(const std::vector<float>& x, const QuantParams& p) {
  const Shape shape{static_cast<std::int64_t>(x.size())};
  const auto back = dequantize(quantize(x, shape, p), shape, p);
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += (double(back[i]) - x[i]) * (double(back[i]) - x[i]);
  return sum / static_cast<double>(x.size());
}

// The exact empirical quantile (linear between order statistics).
double exact_quantile(std::vector<float> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (pos - static_cast<double>(i)) * (double(v[i + 1]) - v[i]);
}

TEST(Observer, KindNames) {
  EXPECT_STREQ(observer_kind_name(ObserverKind::min_max), "min_max");
  EXPECT_STREQ(observer_kind_name(ObserverKind::percentile), "percentile");
  EXPECT_STREQ(observer_kind_name(ObserverKind::mse), "mse");
}

TEST(Observer, MinMaxIsExact) {
  Observer o(ObserverKind::min_max);
  o.observe(std::vector<float>{-3.5f, 2.0f, 0.25f});
  o.observe(std::vector<float>{7.75f, -1.0f});
  EXPECT_EQ(o.count(), 5u);
  EXPECT_EQ(o.min(), -3.5f);
  EXPECT_EQ(o.max(), 7.75f);
  EXPECT_EQ(o.range(), std::pair(-3.5f, 7.75f));
  const auto p = o.params(QuantType::u8);
  const auto q = params_from_range(-3.5f, 7.75f, QuantType::u8);
  EXPECT_EQ(p.scales, q.scales);
  EXPECT_EQ(p.zero_points, q.zero_points);

  Observer positive(ObserverKind::min_max);
  positive.observe(std::vector<float>{1.0f, 2.0f});
  EXPECT_EQ(positive.range(), std::pair(0.0f, 2.0f));   // widened to hold zero
  Observer negative(ObserverKind::min_max);
  negative.observe(std::vector<float>{-1.0f, -2.0f});
  EXPECT_EQ(negative.range(), std::pair(-2.0f, 0.0f));
}

TEST(Observer, ParamsUseTheRange) {
  const auto x = reference::random_floats(10000, 3, -2.0f, 6.0f);
  for (const auto kind : {ObserverKind::min_max, ObserverKind::percentile, ObserverKind::mse}) {
    Observer o(kind);
    o.observe(x);
    const auto [lo, hi] = o.range();
    for (const auto& [type, symmetric] : {std::pair{QuantType::u8, false}, std::pair{QuantType::i8, false},
                                         std::pair{QuantType::i8, true}}) {
      const auto p = o.params(type, symmetric);
      const auto want = params_from_range(lo, hi, type, symmetric);
      EXPECT_EQ(p.scales, want.scales) << observer_kind_name(kind);
      EXPECT_EQ(p.zero_points, want.zero_points) << observer_kind_name(kind);
    }
    expect_invalid([&] { o.params(QuantType::u8, true); }, {"symmetric"});
  }
}

TEST(Observer, NothingObservedThrows) {
  for (const auto kind : {ObserverKind::min_max, ObserverKind::percentile, ObserverKind::mse}) {
    Observer o(kind);
    expect_invalid([&] { o.range(); }, {observer_kind_name(kind), "nothing observed"});
    o.observe(std::vector<float>{});
    o.observe(std::vector<float>{kNan, kNan});
    expect_invalid([&] { o.params(QuantType::u8); }, {"nothing observed", "2 NaNs"});
  }
}

TEST(Observer, NansAreCountedAndSkipped) {
  for (const auto kind : {ObserverKind::min_max, ObserverKind::percentile, ObserverKind::mse}) {
    Observer o(kind, {.percentile = 100.0});
    o.observe(std::vector<float>{kNan, 1.0f, -kNan, -2.0f});
    o.observe(std::vector<float>{kNan});
    EXPECT_EQ(o.nan_count(), 3u);
    EXPECT_EQ(o.count(), 2u);
    if (kind != ObserverKind::mse) {
      EXPECT_EQ(o.range(), std::pair(-2.0f, 1.0f)) << observer_kind_name(kind);
    }
    EXPECT_LE(o.range().first, 0.0f);
    EXPECT_GE(o.range().second, 0.0f);
  }
}

TEST(Observer, InfinityThrowsNamingTheIndexAndChangesNothing) {
  for (const auto kind : {ObserverKind::min_max, ObserverKind::percentile, ObserverKind::mse}) {
    Observer o(kind, {.percentile = 100.0});
    o.observe(std::vector<float>{1.0f, -1.0f});
    expect_invalid([&] { o.observe(std::vector<float>{0.5f, kNan, 2.0f, kInf}); }, {"values[3]", "inf"});
    expect_invalid([&] { o.observe(std::vector<float>{-kInf, 100.0f}); }, {"values[0]", "-inf"});
    EXPECT_EQ(o.count(), 2u);
    EXPECT_EQ(o.nan_count(), 0u);
    EXPECT_EQ(o.min(), -1.0f);
    EXPECT_EQ(o.max(), 1.0f);
    if (kind != ObserverKind::mse) {
      EXPECT_EQ(o.range(), std::pair(-1.0f, 1.0f));
    }
  }
}

TEST(Observer, EmptyBatchIsFine) {
  Observer o(ObserverKind::percentile);
  o.observe(std::vector<float>{});
  EXPECT_EQ(o.count(), 0u);
  o.observe(std::vector<float>{2.0f});
  o.observe(std::vector<float>{});
  EXPECT_EQ(o.range(), std::pair(0.0f, 2.0f));
}

TEST(Observer, OptionsAreChecked) {
  expect_invalid([] { Observer o(ObserverKind::percentile, {.percentile = 50.0}); }, {"options.percentile = 50"});
  expect_invalid([] { Observer o(ObserverKind::percentile, {.percentile = 100.5}); }, {"options.percentile"});
  expect_invalid([] { Observer o(ObserverKind::percentile, {.percentile = std::nan("")}); }, {"options.percentile"});
  expect_invalid([] { Observer o(ObserverKind::mse, {.histogram_bins = 1}); }, {"options.histogram_bins = 1"});
  expect_invalid([] { Observer o(ObserverKind::mse, {.mse_candidates = 0}); }, {"options.mse_candidates = 0"});
  const ObserverOptions smallest{.percentile = 100.0, .histogram_bins = 2, .mse_candidates = 1};
  for (const auto kind : {ObserverKind::min_max, ObserverKind::percentile, ObserverKind::mse}) {
    Observer o(kind, smallest);   // the smallest settings still work
    o.observe(std::vector<float>{-1.0f, 0.5f, 3.0f});
    // mse's single candidate is min_max's grid, whose ends lie within a step (4 / 255) of min and max.
    const float tol = kind == ObserverKind::mse ? 4.0f / 255.0f : 0.0f;
    EXPECT_NEAR(o.range().first, -1.0f, tol) << observer_kind_name(kind);
    EXPECT_NEAR(o.range().second, 3.0f, tol) << observer_kind_name(kind);
  }
}

// 1e6 values uniform in [-1, 3): the histogram has 2048 bins of 2^-9 (the smallest power of two whose window from
// -1 covers 3). Uniform data make linear interpolation inside a bin exact up to the count noise of one bin (~490
// values, so ~5% of a bin), hence a quarter of a bin against the exact empirical percentile. Against the true
// percentile add the sampling error of the empirical one: sqrt(q (1 - q) / n) * 4 = 4e-5 for q = 0.9999.
TEST(Observer, PercentileOfUniformData) {
  const auto x = reference::random_floats(1'000'000, 42, -1.0f, 3.0f);
  Observer o(ObserverKind::percentile, {.percentile = 99.99});
  o.observe(x);
  const auto [lo, hi] = o.range();
  const double bin = std::ldexp(1.0, -9);
  EXPECT_NEAR(hi, exact_quantile(x, 0.9999), bin / 4);
  EXPECT_NEAR(lo, exact_quantile(x, 0.0001), bin / 4);
  EXPECT_NEAR(hi, 2.9996, bin / 4 + 5 * 4e-5);
  EXPECT_NEAR(lo, -0.9996, bin / 4 + 5 * 4e-5);
  EXPECT_LT(hi, o.max());
  EXPECT_GT(lo, o.min());

  Observer p90(ObserverKind::percentile, {.percentile = 90.0});
  p90.observe(x);
  EXPECT_NEAR(p90.range().second, exact_quantile(x, 0.9), bin / 4);   // about 2.6
  EXPECT_NEAR(p90.range().first, exact_quantile(x, 0.1), bin / 4);    // about -0.6
}

TEST(Observer, PercentileWidensToZeroAndHundredIsMinMax) {
  const auto x = reference::random_floats(50'000, 8, 1.0f, 2.0f);
  Observer o(ObserverKind::percentile, {.percentile = 99.0});
  o.observe(x);
  EXPECT_EQ(o.range().first, 0.0f);
  EXPECT_NEAR(o.range().second, exact_quantile(x, 0.99), 1.0 / 2048);
  Observer all(ObserverKind::percentile, {.percentile = 100.0});
  all.observe(x);
  const auto neg = reference::random_floats(1000, 9, -5.0f, -4.0f);
  all.observe(neg);
  EXPECT_EQ(all.range(), std::pair(all.min(), all.max()));
  EXPECT_EQ(all.min(), *std::min_element(neg.begin(), neg.end()));
}

// N(0, 1), 1e6 values, with one outlier each side, 300 and 250 sigma out. Keeping them makes the step 550 / 255 = 2.2
// and costs the bulk about 0.35 per value; clipping them to a few sigma would cost (296^2 + 246^2) / 1e6 = 0.15.
// The optimum lies between: a range R costs the bulk (R / 255)^2 / 12 per value, so it clips the two outliers
// to about [-55, 105] (error 0.11). Squared error weighs outliers heavily: clipping to a few sigma only pays when
// they are rarer than about 1 in 255^2 * 12 = 780,000.
TEST(Observer, MseClipsRareHugeOutliersAndMinMaxDoesNot) {
  auto x = gaussian(1'000'000, 17);
  x[1234] = 300.0f;
  x[777'777] = -250.0f;
  Observer mse(ObserverKind::mse), min_max(ObserverKind::min_max);
  mse.observe(x);
  min_max.observe(x);
  EXPECT_EQ(min_max.range(), std::pair(-250.0f, 300.0f));
  const auto [lo, hi] = mse.range();
  EXPECT_GT(lo, -125.0f);   // at least 2x narrower on both sides
  EXPECT_LT(hi, 150.0f);
  EXPECT_LT(lo, -2.0f);    // but it keeps the bulk
  EXPECT_GT(hi, 2.0f);
  const double err_mse = quantization_mse(x, mse.params(QuantType::u8));
  const double err_min_max = quantization_mse(x, min_max.params(QuantType::u8));
  EXPECT_LT(err_mse, 0.6 * err_min_max) << err_mse << " vs " << err_min_max;
}

// min_max's grid is one of the MSE observer's candidates and the error model is exact up to the histogram's
// uniform-within-bin assumption, so its choice is never worse than min_max's by more than that approximation
// (2% here), as long as bins resolve the bulk of the data. Includes the case where a step^2 / 12 model would clip
// wrongly: two outliers so far out that keeping them (the bulk rounds to 0, error 1) beats clipping them (1.6).
// There the default 2048 bins are 1 sigma wide, too coarse to see that (the uniform-within-bin model puts the
// bulk's error at 1.16, not 1.0), so that case uses 65536 bins.
TEST(Observer, MseIsNeverWorseThanMinMax) {
  std::vector<std::pair<std::string, std::vector<float>>> cases;
  cases.emplace_back("uniform", reference::random_floats(100'000, 1, -1.0f, 3.0f));
  cases.emplace_back("gaussian", gaussian(100'000, 2));
  auto far = gaussian(1'000'000, 3);
  far[10] = 1000.0f;
  far[20] = -800.0f;
  cases.emplace_back("gaussian + 2 far outliers (65536 bins)", far);
  auto many = gaussian(100'000, 4);
  for (std::size_t i = 0; i < 100; ++i) many[i * 1000] = 50.0f + static_cast<float>(i);
  cases.emplace_back("gaussian + 0.1% outliers", many);
  auto bimodal = reference::random_floats(100'000, 5, -0.1f, 0.1f);
  for (std::size_t i = 0; i < bimodal.size(); i += 2) bimodal[i] += 10.0f;
  cases.emplace_back("bimodal", bimodal);
  auto relu = gaussian(100'000, 6);
  for (auto& v : relu) v = std::max(v, 0.0f);
  cases.emplace_back("relu", relu);
  for (const auto& [name, data] : cases) {
    Observer mse(ObserverKind::mse, {.histogram_bins = name.find("65536") != std::string::npos ? 65536 : 2048});
    Observer min_max(ObserverKind::min_max);
    mse.observe(data);
    min_max.observe(data);
    for (const auto type : {QuantType::u8, QuantType::i8}) {
      const double err_mse = quantization_mse(data, mse.params(type));
      const double err_min_max = quantization_mse(data, min_max.params(type));
      EXPECT_LE(err_mse, 1.02 * err_min_max) << name << " " << quant_type_name(type);
    }
  }
}

// Uniform data have no tail worth clipping: the optimum trims each end by about width / (255 sqrt 6) = 0.16%, and
// the chosen grid reaches at most one step (0.4%) past the data; so the range is within 1% of the width of min/max.
TEST(Observer, MseKeepsTheRangeOfUniformData) {
  struct Case {
    float a, b;
  };
  for (const auto& c : {Case{-1.0f, 3.0f}, Case{0.5f, 2.0f}, Case{-3.0f, -1.0f}}) {
    const auto x = reference::random_floats(200'000, 23, c.a, c.b);
    Observer o(ObserverKind::mse);
    o.observe(x);
    const auto [lo, hi] = o.range();
    const float want_lo = std::min(c.a, 0.0f), want_hi = std::max(c.b, 0.0f);
    const float tol = 0.01f * (want_hi - want_lo);
    EXPECT_NEAR(lo, want_lo, tol) << c.a << " " << c.b;
    EXPECT_NEAR(hi, want_hi, tol) << c.a << " " << c.b;
    if (c.a >= 0) {
      EXPECT_EQ(lo, 0.0f);
    }
    if (c.b <= 0) {
      EXPECT_EQ(hi, 0.0f);
    }
  }
}

// Batches of growing range, [-2^k, 3 * 2^k) for k = 0..7, then one value and a much wider batch, force the histogram
// to grow (and re-anchor) many times.
// The power-of-two aligned histogram makes the result independent of the split, so the comparison is exact (the
// design promise is stronger than "within one bin width").
TEST(Observer, HistogramGrowthDoesNotDependOnBatches) {
  std::vector<std::vector<float>> batches;
  for (int k = 0; k < 8; ++k) {
    const auto scale = static_cast<float>(1 << k);
    batches.push_back(reference::random_floats(20'000, 100 + static_cast<std::uint64_t>(k), -scale, 3.0f * scale));
  }
  batches.push_back({1.0f});   // a single value, then a huge range
  batches.push_back(reference::random_floats(1000, 99, -5000.0f, 7000.0f));
  std::vector<float> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());

  for (const auto kind : {ObserverKind::percentile, ObserverKind::mse}) {
    SCOPED_TRACE(observer_kind_name(kind));
    const ObserverOptions options{.percentile = 99.9};
    Observer at_once(kind, options), growing(kind, options), shrinking(kind, options), single_first(kind, options),
        single_first_at_once(kind, options);
    at_once.observe(all);
    for (const auto& b : batches) growing.observe(b);
    for (auto it = batches.rbegin(); it != batches.rend(); ++it) shrinking.observe(*it);
    single_first.observe(std::vector<float>{1.0f});
    for (std::size_t i = 0; i < all.size(); i += 4999) {
      single_first.observe(std::span(all).subspan(i, std::min<std::size_t>(4999, all.size() - i)));
    }
    const auto want = at_once.range();
    EXPECT_EQ(growing.range(), want);
    EXPECT_EQ(shrinking.range(), want);
    std::vector<float> one_more = all;
    one_more.push_back(1.0f);
    single_first_at_once.observe(one_more);
    EXPECT_EQ(single_first.range(), single_first_at_once.range());
    EXPECT_EQ(single_first.count(), all.size() + 1);
    if (kind == ObserverKind::percentile) {
      // And the answer is right: within one bin (12000 / 2048 rounded up to a power of two = 8) of the exact one.
      EXPECT_NEAR(want.second, exact_quantile(all, 0.999), 8.0);
      EXPECT_NEAR(want.first, exact_quantile(all, 0.001), 8.0);
    }
  }
}

// Growth upwards only, with the minimum fixed at 0.3 (not a multiple of the coarser bin widths): the window must be
// re-anchored at floor(0.3 / w) * w as it would be for all the data at once, not kept where it was.
TEST(Observer, HistogramGrowingUpwardsReanchors) {
  std::vector<std::vector<float>> batches;
  for (const float top : {0.4f, 5.0f, 50.0f, 4000.0f}) {
    auto b = reference::random_floats(5000, static_cast<std::uint64_t>(top), 0.3f, top);
    b.push_back(0.3f);
    batches.push_back(std::move(b));
  }
  std::vector<float> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  for (const auto kind : {ObserverKind::percentile, ObserverKind::mse}) {
    const ObserverOptions options{.percentile = 60.0, .histogram_bins = 256};
    Observer at_once(kind, options), growing(kind, options);
    at_once.observe(all);
    for (const auto& b : batches) growing.observe(b);
    EXPECT_EQ(growing.range(), at_once.range()) << observer_kind_name(kind);
  }
}

TEST(Observer, GrowingHistogramKeepsEarlierCountsInPlace) {
  // 1000 values in [0, 1), then one at 1000 and one at -1000: the percentiles must still see the early values where
  // they were (a merge or re-anchoring that misplaces bins moves them by whole bins).
  Observer o(ObserverKind::percentile, {.percentile = 60.0, .histogram_bins = 64});
  const auto x = reference::random_floats(1000, 5, 0.0f, 1.0f);
  o.observe(x);
  o.observe(std::vector<float>{1000.0f});
  o.observe(std::vector<float>{-1000.0f});
  // 64 bins over [-1000, 1000] are 32 wide: every early value lies in the bin [0, 32), so the 40th and 60th
  // percentiles interpolate inside it.
  // Expected: 60th percentile at 0 + (0.6 * 1002 - 1) / 1000 * 32 = 19.2064; the 40th at 12.8, widened to 0.
  const auto [lo, hi] = o.range();
  EXPECT_EQ(lo, 0.0f);
  EXPECT_NEAR(hi, 19.2064, 1e-4);
}

}  // namespace
}  // namespace ellesmere
