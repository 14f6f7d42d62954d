// INT8 GEMM on the OpenCL device against the reference, bit for bit: every Impl x problem of
// tests/problems/gemm_i8.txt x Params (work-groups of 64 and 256 items and others), all 80 variants (activation
// and weight types, both weight layouts, per-tensor and per-channel zero points, every epilogue) on one shape per
// Impl, bad input, and ONNX's MatMulInteger and QLinearMatMul node tests. GemmI8Kernel* runs under oclgrind.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/tensor_io.hpp"
#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/impl_registry.hpp"
#include "reference/reference.hpp"
#include "runtime/hash.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

namespace fs = std::filesystem;
using Kind = GemmI8Epilogue::Kind;
using testing::shared_context;

// How the weights' zero points look: per channel with a mix of zero and non-zero, one per tensor (non-zero), or
// all zero (symmetric weights, the common case, which compiles the kernels without row sums).
enum class ZeroPoints { per_channel_mixed, per_tensor, symmetric };
const char* zero_points_name(ZeroPoints z) {
  return z == ZeroPoints::per_channel_mixed ? "perchannel" : z == ZeroPoints::per_tensor ? "pertensor" : "symmetric";
}

struct Variant {
  QuantType a_type = QuantType::u8;
  QuantType b_type = QuantType::i8;
  WeightLayout layout = WeightLayout::nk;
  ZeroPoints zero_points = ZeroPoints::per_channel_mixed;
  Kind kind = Kind::int32;
  QuantType y_type = QuantType::u8;
  bool bias = false;
  bool relu = false;

  std::string str() const {
    std::string epi = kind == Kind::int32        ? "int32"
                      : kind == Kind::requantize ? std::string("requant_") + quant_type_name(y_type)
                                                 : std::string("dequant") + (bias ? "_bias" : "") + (relu ? "_relu" : "");
    return fmt::format("a{}_b{}_{}_{}_{}", quant_type_name(a_type), quant_type_name(b_type),
                       layout == WeightLayout::nk ? "nk" : "kn", zero_points_name(zero_points), epi);
  }
};

std::vector<Variant> all_variants() {
  std::vector<Variant> out;
  for (QuantType a : {QuantType::u8, QuantType::i8}) {
    for (QuantType b : {QuantType::i8, QuantType::u8}) {
      for (WeightLayout l : {WeightLayout::nk, WeightLayout::kn}) {
        for (ZeroPoints z : {ZeroPoints::per_channel_mixed, ZeroPoints::per_tensor, ZeroPoints::symmetric}) {
          const Variant base{a, b, l, z};
          std::vector<Variant> epilogues(7, base);
          epilogues[1].kind = Kind::requantize;
          epilogues[2].kind = Kind::requantize;
          epilogues[2].y_type = QuantType::i8;
          for (int i = 3; i < 7; ++i) {
            epilogues[std::size_t(i)].kind = Kind::dequantize;
            epilogues[std::size_t(i)].bias = i == 4 || i == 6;
            epilogues[std::size_t(i)].relu = i == 5 || i == 6;
          }
          out.insert(out.end(), epilogues.begin(), epilogues.end());
        }
      }
    }
  }
  return out;
}

std::int32_t random_zero_point(QuantType t, std::mt19937_64& gen) {
  return quant_min(t) + std::int32_t(gen() % std::uint64_t(quant_max(t) - quant_min(t) + 1));
}

float random_scale(std::mt19937_64& gen) { return 0.001f + float(gen() % 100000) * 1e-6f; }

// Runs one problem through one Impl with the given Params (a runtime tuning override, so the public dispatch path
// is the one tested) and compares every output bit with the reference. Byte outputs run twice, under two
// poison patterns: an element the kernel never writes cannot match the reference under both.
void check(Context& ctx, const std::string& impl, GemmI8Problem p, const ops::Params& params, const Variant& v,
           std::uint64_t seed) {
  SCOPED_TRACE(fmt::format("{} {} [{}] {}", impl, p.str(), params.str(), v.str()));
  p.a_type = v.a_type;
  p.b_type = v.b_type;
  std::mt19937_64 gen(seed);
  const auto a = reference::random_bytes(std::size_t(p.m * p.k), seed + 1);
  const auto b = reference::random_bytes(std::size_t(p.k * p.n), seed + 2);
  const std::int32_t a_zp = random_zero_point(p.a_type, gen);
  std::int32_t tensor_zp = random_zero_point(p.b_type, gen);
  if (tensor_zp == 0) tensor_zp = 1;   // a per-tensor zero point that is not 0, so the row sums are exercised
  QuantParams bp = QuantParams::per_tensor(p.b_type, random_scale(gen), tensor_zp);
  if (v.zero_points != ZeroPoints::per_tensor) {
    std::vector<float> scales(std::size_t(p.n));
    std::vector<std::int32_t> zps(std::size_t(p.n), 0);
    for (std::size_t j = 0; j < scales.size(); ++j) {
      scales[j] = random_scale(gen);
      if (v.zero_points == ZeroPoints::per_channel_mixed) zps[j] = j % 3 == 1 ? 0 : random_zero_point(p.b_type, gen);
    }
    if (v.zero_points == ZeroPoints::per_channel_mixed && zps[0] == 0) zps[0] = 1;   // never all zero, even at N = 1
    bp = QuantParams::per_channel(p.b_type, v.layout == WeightLayout::nk ? 0 : 1, scales, zps);
  }
  const PackedWeightsI8 packed = pack_weights_i8(ctx, b, p.k, p.n, v.layout, bp);
  EXPECT_EQ(packed.has_zero_points(), v.zero_points != ZeroPoints::symmetric) << "the variant's kernel path";
  const std::vector<std::int32_t> acc = reference::gemm_i8_ref(p, a, a_zp, b, v.layout, bp);

  GemmI8Epilogue epi;
  std::vector<std::uint8_t> expected;   // raw bytes of the output
  const float a_scale = random_scale(gen);
  std::vector<float> bias_values;
  Buffer<float> bias;
  if (v.kind == Kind::int32) {
    expected.resize(acc.size() * 4);
    std::memcpy(expected.data(), acc.data(), expected.size());
  } else if (v.kind == Kind::requantize) {
    const float y_scale = random_scale(gen) * 50.0f;
    const std::int32_t y_zp = random_zero_point(v.y_type, gen);
    epi = GemmI8Epilogue::requantize(a_scale, y_scale, y_zp, v.y_type);
    expected = reference::requantize_ref(acc, p.m, p.n, a_scale, bp, y_scale, y_zp, v.y_type);
  } else {
    if (v.bias) {
      bias_values = reference::random_floats(std::size_t(p.n), seed + 3, -2.0f, 2.0f);
      bias = Buffer<float>(ctx, std::span<const float>(bias_values), "bias");
    }
    epi = GemmI8Epilogue::dequantize(a_scale, v.bias ? &bias : nullptr, v.relu);
    const auto y = reference::dequantize_acc_ref(acc, p.m, p.n, a_scale, bp, bias_values, v.relu);
    expected.resize(y.size() * 4);
    std::memcpy(expected.data(), y.data(), expected.size());
  }

  tuning::TuningDb::global().add_override({ctx.device().key, impl, p.str(), params, 0.0});
  struct ClearOverrides {   // also when an assertion below returns early
    ~ClearOverrides() { tuning::TuningDb::global().clear_overrides(); }
  } clear_overrides;
  const auto* impl_ptr = ops::find_impl(impl);
  ASSERT_NE(impl_ptr, nullptr);
  const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), *impl_ptr, p.str());
  ASSERT_TRUE(lookup.entry && lookup.entry->layer == tuning::Layer::override_) << "the Params under test must be used";

  Buffer<std::uint8_t> A(ctx, std::span<const std::uint8_t>(a), "A");
  RawBuffer C(ctx, std::size_t(p.m * p.n) * epi.output_element_size(), "C");
  // Poisons no correct output equals: NaN for floats, 0x7fdead00 for int32 (|sum| <= K * 255 * 255, far smaller
  // for these K); for bytes, which can take every value, two runs under 0x00 and 0xff.
  const std::vector<std::uint8_t> poisons = epi.output_element_size() == 1 ? std::vector<std::uint8_t>{0x00, 0xff}
                                                                           : std::vector<std::uint8_t>{0xff};
  for (std::uint8_t poison : poisons) {
    std::vector<std::uint8_t> fill(epi.output_element_size(), poison);
    if (v.kind == Kind::dequantize) {
      const float nan = reference::poison_f32();
      std::memcpy(fill.data(), &nan, 4);
    } else if (v.kind == Kind::int32) {
      const std::int32_t unreachable = 0x7fdead00;
      std::memcpy(fill.data(), &unreachable, 4);
    }
    C.fill(fill.data(), fill.size());
    gemm_i8(ctx, p, A.raw(), a_zp, packed, C, epi, {.impl = impl}).wait();
    std::vector<std::uint8_t> out(expected.size());
    C.download(out.data(), out.size());
    const auto elem = epi.output_element_size();
    for (std::size_t i = 0; i < out.size(); i += elem) {
      if (std::memcmp(out.data() + i, expected.data() + i, elem) != 0) {
        const std::size_t e = i / elem;
        std::uint32_t got = 0, want = 0;
        std::memcpy(&got, out.data() + i, elem);
        std::memcpy(&want, expected.data() + i, elem);
        ADD_FAILURE() << fmt::format("element [{}][{}] (poison 0x{:02x}): got 0x{:x}, want 0x{:x}", e / p.n, e % p.n,
                                     poison, got, want);
        break;
      }
    }
  }
}

// Params beyond the defaults: work-groups of 64 items (and 256, the defaults), vector widths 1..16.
std::vector<ops::Params> param_sets(const std::string& impl) {
  if (impl == "gemm_i8_tile2d") {
    std::vector<ops::Params> s{ops::Params::parse("TM=64 TN=64 TK=32 WPT=4 VW=4 MUL24=1"),   // 16x16 = 256
                               ops::Params::parse("TM=32 TN=32 TK=16 WPT=4 VW=4 MUL24=0")};  // 8x8 = 64
    if (!testing::small_mode()) {
      s.push_back(ops::Params::parse("TM=16 TN=128 TK=64 WPT=2 VW=16 MUL24=1"));   // 8x8 = 64, 16-wide
      s.push_back(ops::Params::parse("TM=32 TN=16 TK=8 WPT=1 VW=1 MUL24=1"));      // 16x32 = 512 (PoCL)
    }
    return s;
  }
  std::vector<ops::Params> s{ops::Params::parse("WGN=64 SPLITK=4 VW=1 MUL24=1"),     // 256
                             ops::Params::parse("WGN=16 SPLITK=4 VW=4 MUL24=0")};    // 64
  if (!testing::small_mode()) {
    s.push_back(ops::Params::parse("WGN=16 SPLITK=16 VW=16 MUL24=1"));              // 256, 16-wide
    s.push_back(ops::Params::parse("WGN=32 SPLITK=1 VW=2 MUL24=1"));                // no split
  }
  return s;
}

using testing::KernelCase;

std::vector<KernelCase> kernel_cases() {
  return testing::kernel_cases("gemm_i8", ops::gemm_i8_list(), param_sets, [](const std::string& impl, const std::string& problem) {
    return impl != "gemm_i8_gemv" || GemmI8Problem::parse(problem).m <= 8;
  });
}

class GemmI8Kernel : public ::testing::TestWithParam<KernelCase> {};

// Two variants per case, rotating through all 80, so that every type, layout, zero-point mode and epilogue meets
// many shapes and Params.
TEST_P(GemmI8Kernel, MatchesReferenceBitForBit) {
  const KernelCase& c = GetParam();
  const auto variants = all_variants();
  const GemmI8Problem p = GemmI8Problem::parse(c.problem);
  for (std::size_t r : {c.index * 7, c.index * 7 + 41}) {
    Variant v = variants[r % variants.size()];
    v.a_type = p.a_type;   // the problem file chooses the types
    v.b_type = p.b_type;
    check(shared_context(), c.impl, p, c.params, v, runtime::Fnv1a64().add(c.problem).add(v.str()).value());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GemmI8Kernel, ::testing::ValuesIn(kernel_cases()),
                         testing::kernel_case_name);

class GemmI8Variants : public ::testing::TestWithParam<std::string> {};

TEST_P(GemmI8Variants, EveryVariantOnAnOddShape) {
  const std::string impl = GetParam();
  const GemmI8Problem p = impl == "gemm_i8_gemv" ? GemmI8Problem{.m = 5, .n = 37, .k = 45}
                                                 : GemmI8Problem{.m = 37, .n = 29, .k = 45};
  const auto* i = dynamic_cast<const ops::GemmI8Impl*>(ops::find_impl(impl));
  ASSERT_NE(i, nullptr);
  for (const Variant& v : all_variants()) {
    check(shared_context(), impl, p, i->space().defaults(), v, runtime::Fnv1a64().add(v.str()).value());
  }
}

INSTANTIATE_TEST_SUITE_P(Impls, GemmI8Variants, ::testing::ValuesIn(gemm_i8_impls()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

// ---- bad input ----

struct Fixture {
  Context& ctx = shared_context();
  GemmI8Problem p{.m = 4, .n = 6, .k = 8};
  std::vector<std::uint8_t> b_bytes = reference::random_bytes(48, 5);
  PackedWeightsI8 b = pack_weights_i8(ctx, b_bytes, 8, 6, WeightLayout::nk,
                                      QuantParams::per_tensor(QuantType::i8, 0.05f, 0));
  Buffer<std::uint8_t> a{ctx, std::span<const std::uint8_t>(reference::random_bytes(32, 6))};
  RawBuffer c{ctx, 4 * 6 * 4, "C"};
};

void expect_invalid(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning \"" << needle << "\"";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GemmI8Errors, ShapesTypesAndBuffers) {
  Fixture f;
  expect_invalid([&] { gemm_i8(f.ctx, {.m = 0, .n = 6, .k = 8}, f.a.raw(), 0, f.b, f.c); }, "every dimension");
  expect_invalid([&] { gemm_i8(f.ctx, {.m = 4, .n = 6, .k = 9}, f.a.raw(), 0, f.b, f.c); }, "B was packed for k = 8");
  expect_invalid([&] { gemm_i8(f.ctx, {.m = 4, .n = 6, .k = 8, .b_type = QuantType::u8}, f.a.raw(), 0, f.b, f.c); },
                 "B was packed as i8");
  expect_invalid([&] { gemm_i8(f.ctx, {.m = 5, .n = 6, .k = 8}, f.a.raw(), 0, f.b, f.c); }, "A holds 32");
  RawBuffer small(f.ctx, 10, "C");
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, small); }, "C holds 2");
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 256, f.b, f.c); }, "a_zero_point 256");
  expect_invalid([&] { gemm_i8(f.ctx, {.m = 4, .n = 6, .k = 8, .a_type = QuantType::i8}, f.a.raw(), -129, f.b, f.c); },
                 "a_zero_point -129");
  Context other;
  PackedWeightsI8 foreign = pack_weights_i8(other, f.b_bytes, 8, 6, WeightLayout::nk,
                                            QuantParams::per_tensor(QuantType::i8, 0.05f, 0));
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, foreign, f.c); }, "B was packed on another Context");
}

TEST(GemmI8Errors, Epilogues) {
  Fixture f;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float bad : {0.0f, -1.0f, nan, inf}) {
    expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, f.c, GemmI8Epilogue::dequantize(bad)); }, "a_scale");
    RawBuffer c8(f.ctx, 24, "C");
    expect_invalid(
        [&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, c8, GemmI8Epilogue::requantize(0.1f, bad, 0, QuantType::u8)); },
        "y_scale");
  }
  RawBuffer c8(f.ctx, 24, "C");
  expect_invalid(
      [&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, c8, GemmI8Epilogue::requantize(0.1f, 0.1f, 300, QuantType::u8)); },
      "y_zero_point 300");
  Buffer<float> short_bias(f.ctx, 5);
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, f.c, GemmI8Epilogue::dequantize(0.1f, &short_bias)); },
                 "bias holds 5");
  GemmI8Epilogue relu_int32;
  relu_int32.relu = true;
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, f.c, relu_int32); }, "ReLU needs");
}

TEST(GemmI8Errors, PackingAndImplChoice) {
  Fixture f;
  const auto bytes = reference::random_bytes(48, 9);
  expect_invalid([&] { pack_weights_i8(f.ctx, bytes, 8, 7, WeightLayout::nk, QuantParams{}); }, "B holds 48 bytes");
  expect_invalid([&] { pack_weights_i8(f.ctx, bytes, 0, 48, WeightLayout::nk, QuantParams{}); }, "at least 1");
  expect_invalid([&] { pack_weights_i8(f.ctx, std::vector<std::uint8_t>(33026), 33026, 1, WeightLayout::kn, QuantParams{}); },
                 "33025");
  expect_invalid([&] {
    pack_weights_i8(f.ctx, bytes, 8, 6, WeightLayout::nk,
                    QuantParams::per_channel(QuantType::i8, 1, std::vector<float>(8, 0.1f), std::vector<std::int32_t>(8, 0)));
  }, "per output channel");
  QuantParams zero_scale;   // built field by field: the factories reject a zero scale themselves
  zero_scale.type = QuantType::i8;
  zero_scale.scales = {0.0f};
  zero_scale.zero_points = {0};
  expect_invalid([&] { pack_weights_i8(f.ctx, bytes, 8, 6, WeightLayout::nk, zero_scale); }, "B: scales[0] = 0");
  Buffer<std::uint8_t> a9(f.ctx, 9 * 8);
  RawBuffer c9(f.ctx, 9 * 6 * 4, "C");
  try {
    gemm_i8(f.ctx, {.m = 9, .n = 6, .k = 8}, a9.raw(), 0, f.b, c9, {}, {.impl = "gemm_i8_gemv"});
    FAIL() << "no exception";
  } catch (const NotSupported& e) {
    EXPECT_NE(std::string(e.what()).find("M = 9 > 8"), std::string::npos) << e.what();
  }
}

TEST(GemmI8Errors, MovedFromWeightsAndOverflowingFactors) {
  Fixture f;
  PackedWeightsI8 taken = std::move(f.b);
  EXPECT_EQ(f.b.k(), 0);
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, f.b, f.c); }, "moved-from PackedWeightsI8");
  gemm_i8(f.ctx, f.p, f.a.raw(), 0, taken, f.c).wait();   // the moved-to object works
  const auto huge = pack_weights_i8(f.ctx, f.b_bytes, 8, 6, WeightLayout::nk,
                                    QuantParams::per_tensor(QuantType::i8, 1e30f, 0));
  RawBuffer c8(f.ctx, 24, "C");
  expect_invalid([&] {
    gemm_i8(f.ctx, f.p, f.a.raw(), 0, huge, c8, GemmI8Epilogue::requantize(1e30f, 1e-30f, 0, QuantType::u8));
  }, "a_scale * b_scale / y_scale");
  expect_invalid([&] { gemm_i8(f.ctx, f.p, f.a.raw(), 0, huge, f.c, GemmI8Epilogue::dequantize(1e30f)); },
                 "a_scale * b_scale");
}

// Rounding ties of the requantize epilogue: a_scale = b_scale = 1 and y_scale = 2 halve odd sums exactly onto
// .5, which must round half to even (ONNX Runtime's rint), not away from zero.
TEST(GemmI8Requantize, TiesRoundHalfToEven) {
  Context& ctx = shared_context();
  const GemmI8Problem p{.m = 1, .n = 8, .k = 1, .a_type = QuantType::i8, .b_type = QuantType::i8};
  const std::vector<std::int8_t> b_values{1, 3, 5, 7, -1, -3, -5, -7};   // sums 1 * b with a = 1
  std::vector<std::uint8_t> b_bytes(b_values.size());
  std::memcpy(b_bytes.data(), b_values.data(), b_bytes.size());
  const std::vector<std::uint8_t> a_bytes{1};
  // 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, -0.5 -> -0, -1.5 -> -2, -2.5 -> -2, -3.5 -> -4; plus y_zp 10.
  const std::vector<std::int8_t> want{10, 12, 12, 14, 10, 8, 8, 6};
  const auto packed = pack_weights_i8(ctx, b_bytes, 1, 8, WeightLayout::kn, QuantParams::per_tensor(QuantType::i8, 1.0f, 0));
  Buffer<std::uint8_t> A(ctx, std::span<const std::uint8_t>(a_bytes));
  for (const std::string& impl : gemm_i8_impls()) {
    RawBuffer C(ctx, 8, "C");
    gemm_i8(ctx, p, A.raw(), 0, packed, C, GemmI8Epilogue::requantize(1.0f, 2.0f, 10, QuantType::i8), {.impl = impl})
        .wait();
    std::vector<std::int8_t> out(8);
    C.download(out.data(), 8);
    EXPECT_EQ(out, want) << impl;
  }
}

TEST(GemmI8Dispatch, GemvForSmallMTileForTheRest) {
  Fixture f;
  testing::EnvGuard verbose("ELLESMERE_VERBOSE", "dispatch");
  ::testing::internal::CaptureStderr();
  gemm_i8(f.ctx, f.p, f.a.raw(), 3, f.b, f.c).wait();
  Buffer<std::uint8_t> a9(f.ctx, 9 * 8);
  RawBuffer c9(f.ctx, 9 * 6 * 4, "C");
  gemm_i8(f.ctx, {.m = 9, .n = 6, .k = 8}, a9.raw(), 0, f.b, c9).wait();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("gemm_i8:m4n6k8: running gemm_i8_gemv"), std::string::npos) << err;
  EXPECT_NE(err.find("gemm_i8:m9n6k8: rejected gemm_i8_gemv: M = 9 > 8"), std::string::npos) << err;
  EXPECT_NE(err.find("gemm_i8:m9n6k8: running gemm_i8_tile2d"), std::string::npos) << err;
}

// ---- ONNX MatMulInteger and QLinearMatMul node tests (Debian libonnx-testdata) ----

const fs::path kOnnxNodes = "/usr/share/libonnx-testdata/data/node";

std::vector<std::uint8_t> bytes_of(const Tensor& t) {
  std::vector<std::uint8_t> out(t.data.size());
  std::memcpy(out.data(), t.data.data(), out.size());
  return out;
}
QuantType type_of(const Tensor& t) { return t.dtype == DType::i8 ? QuantType::i8 : QuantType::u8; }
std::int32_t scalar_int(const Tensor& t) {
  return t.dtype == DType::i8 ? std::int32_t(t.values<std::int8_t>()[0]) : std::int32_t(t.values<std::uint8_t>()[0]);
}

Tensor input(const fs::path& dir, int i) {
  return read_onnx_tensor((dir / "test_data_set_0" / fmt::format("input_{}.pb", i)).string());
}

// ONNX's MatMulInteger node test (2-D) through every Impl.
TEST(OnnxI8Nodes, MatMulIntegerIsExact) {
  const fs::path dir = kOnnxNodes / "test_matmulinteger";
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: install Debian package libonnx-testdata";
  const Tensor a = input(dir, 0), b = input(dir, 1), azp = input(dir, 2), bzp = input(dir, 3);
  const Tensor y = read_onnx_tensor((dir / "test_data_set_0" / "output_0.pb").string());
  const GemmI8Problem p{.m = a.shape[0], .n = b.shape[1], .k = a.shape[1], .a_type = type_of(a), .b_type = type_of(b)};
  Context& ctx = shared_context();
  const PackedWeightsI8 packed = pack_weights_i8(ctx, bytes_of(b), p.k, p.n, WeightLayout::kn,
                                                 QuantParams::per_tensor(p.b_type, 1.0f, scalar_int(bzp)));
  Buffer<std::uint8_t> A(ctx, std::span<const std::uint8_t>(bytes_of(a)));
  for (const std::string& impl : gemm_i8_impls()) {
    Buffer<std::int32_t> C(ctx, std::size_t(p.m * p.n));
    C.fill(std::int32_t(0x7fdead00));   // no sum of these bytes is this large
    gemm_i8(ctx, p, A.raw(), scalar_int(azp), packed, C.raw(), {}, {.impl = impl}).wait();
    const auto want = y.values<std::int32_t>();
    EXPECT_EQ(C.to_vector(), std::vector<std::int32_t>(want.begin(), want.end())) << impl;
  }
}

class OnnxQLinearMatMul : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxQLinearMatMul, IsExact) {
  const fs::path dir = kOnnxNodes / GetParam();
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: install Debian package libonnx-testdata";
  const Tensor a = input(dir, 0), a_scale = input(dir, 1), a_zp = input(dir, 2), b = input(dir, 3),
               b_scale = input(dir, 4), b_zp = input(dir, 5), y_scale = input(dir, 6), y_zp = input(dir, 7);
  const Tensor y = read_onnx_tensor((dir / "test_data_set_0" / "output_0.pb").string());
  const std::size_t rank = a.shape.size();
  const std::int64_t batches = rank == 3 ? a.shape[0] : 1;
  const GemmI8Problem p{.m = a.shape[rank - 2], .n = b.shape[rank - 1], .k = a.shape[rank - 1],
                        .a_type = type_of(a), .b_type = type_of(b)};
  const auto a_bytes = bytes_of(a), b_bytes = bytes_of(b), y_bytes = bytes_of(y);
  Context& ctx = shared_context();
  for (const std::string& impl : gemm_i8_impls()) {
    for (std::int64_t batch = 0; batch < batches; ++batch) {
      const auto b_slice = std::span(b_bytes).subspan(std::size_t(batch * p.k * p.n), std::size_t(p.k * p.n));
      const PackedWeightsI8 packed = pack_weights_i8(
          ctx, b_slice, p.k, p.n, WeightLayout::kn,
          QuantParams::per_tensor(p.b_type, b_scale.values<float>()[0], scalar_int(b_zp)));
      Buffer<std::uint8_t> A(ctx, std::span(a_bytes).subspan(std::size_t(batch * p.m * p.k), std::size_t(p.m * p.k)));
      RawBuffer C(ctx, std::size_t(p.m * p.n), "C");
      const auto epi = GemmI8Epilogue::requantize(a_scale.values<float>()[0], y_scale.values<float>()[0],
                                                  scalar_int(y_zp), type_of(y));
      for (std::uint8_t poison : {std::uint8_t(0x00), std::uint8_t(0xff)}) {   // bytes: two poisons
        const std::vector<std::uint8_t> fill(std::size_t(p.m * p.n), poison);
        C.upload(fill.data(), fill.size());
        gemm_i8(ctx, p, A.raw(), scalar_int(a_zp), packed, C, epi, {.impl = impl}).wait();
        std::vector<std::uint8_t> out(std::size_t(p.m * p.n));
        C.download(out.data(), out.size());
        const auto want = std::span(y_bytes).subspan(std::size_t(batch * p.m * p.n), out.size());
        EXPECT_EQ(out, std::vector<std::uint8_t>(want.begin(), want.end())) << impl << " batch " << batch;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(LibonnxTestdata, OnnxQLinearMatMul,
                         ::testing::Values("test_qlinearmatmul_2D", "test_qlinearmatmul_3D"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

}  // namespace
}  // namespace ellesmere
