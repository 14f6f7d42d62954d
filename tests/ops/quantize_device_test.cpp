// Device QuantizeLinear / DequantizeLinear against the host library and the reference, bit for bit: per-tensor
// (the problems of tests/problems/quantize_linear.txt) and per-channel, both types, with rounding ties, values
// that saturate, NaN and infinities. QuantizeKernel* runs under oclgrind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ops/quant/quantize_impl.hpp"
#include "reference/quant_ref.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

using testing::shared_context;

// Values that exercise every rule: exact ties (k + 0.5) * scale for both parities, saturation far outside the
// range, zeros of both signs, NaN and infinities, and ordinary random values in between.
std::vector<float> hard_values(std::size_t n, float scale, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (gen() % 8) {
      case 0: v[i] = (float(std::int64_t(gen() % 512) - 256) + 0.5f) * scale; break;   // a tie
      case 1: v[i] = float(std::int64_t(gen() % 2001) - 1000) * scale * 10.0f; break;  // often saturates
      case 2: v[i] = (gen() & 1) ? 0.0f : -0.0f; break;
      case 3: {
        const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min()};
        v[i] = specials[gen() % 4];
        break;
      }
      default: v[i] = (float(gen() % 1000000) / 1000000.0f - 0.5f) * 300.0f * scale;
    }
  }
  return v;
}

void check_roundtrip(const std::vector<std::int64_t>& shape, const QuantParams& params, std::uint64_t seed) {
  SCOPED_TRACE(fmt::format("shape ({}) type {} axis {}", fmt::join(shape, ", "), quant_type_name(params.type),
                           params.axis));
  Context& ctx = shared_context();
  std::size_t n = 1;
  for (auto d : shape) n *= std::size_t(d);
  const auto x = hard_values(n, params.scales[0], seed);

  std::vector<std::uint8_t> host(n), ref(n), dev(n);
  quantize_linear(x, shape, params, host);
  reference::quantize_ref(x, shape, params, ref);
  ASSERT_EQ(host, ref) << "host library and reference disagree";
  Buffer<float> dx(ctx, std::span<const float>(x), "x");
  RawBuffer dq(ctx, std::max<std::size_t>(n, 1), "q");
  for (std::uint8_t poison : {std::uint8_t(0x00), std::uint8_t(0xff)}) {   // bytes: two poisons catch unwritten ones
    // Poisoned by upload, not clEnqueueFillBuffer: oclgrind 21.10 keeps filled memory marked uninitialised after
    // kernels overwrite it byte by byte, and would report the dequantize kernel reading it.
    const std::vector<std::uint8_t> fill(std::max<std::size_t>(n, 1), poison);
    dq.upload(fill.data(), fill.size());
    quantize_linear(ctx, dx, shape, params, dq).wait();
    dq.download(dev.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(dev[i], host[i]) << "element " << i << " x = " << x[i] << " poison " << int(poison);
    }
  }

  std::vector<float> host_x(n), ref_x(n);
  dequantize_linear(host, shape, params, host_x);
  reference::dequantize_ref(host, shape, params, ref_x);
  Buffer<float> dy(ctx, n);
  dy.fill(reference::poison_f32());
  dequantize_linear(ctx, dq, shape, params, dy).wait();
  const auto dev_x = dy.to_vector();
  ASSERT_EQ(std::memcmp(host_x.data(), ref_x.data(), n * 4), 0) << "host library and reference disagree";
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(std::memcmp(&dev_x[i], &host_x[i], 4), 0) << "element " << i << ": " << dev_x[i] << " vs " << host_x[i];
  }
}

class QuantizeKernel : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizeKernel, PerTensorMatchesHostBitForBit) {
  const auto q = ops::QuantizeProblem::parse(GetParam());
  for (float scale : {0.0375f, 1.0f, 3.0f}) {
    const std::int32_t zp = q.type == QuantType::u8 ? 131 : -7;
    check_roundtrip({q.n}, QuantParams::per_tensor(q.type, scale, zp), std::uint64_t(q.n) * 31 + std::uint64_t(scale * 1000));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Problems, QuantizeKernel,
    ::testing::ValuesIn(reference::problems_tagged(testing::problems_file("quantize_linear"),
                                                   testing::small_mode() ? "oclgrind" : "test")),
    [](const ::testing::TestParamInfo<std::string>& param_info) {
      std::string n = param_info.param;
      for (char& c : n) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

TEST(QuantizeKernelPerChannel, EveryAxisAndType) {
  for (QuantType t : {QuantType::u8, QuantType::i8}) {
    const std::vector<std::int64_t> shape{4, 3, 5};
    for (int axis : {0, 1, 2}) {
      const std::size_t c = std::size_t(shape[std::size_t(axis)]);
      std::vector<float> scales(c);
      std::vector<std::int32_t> zps(c);
      for (std::size_t i = 0; i < c; ++i) {
        scales[i] = 0.25f * float(i + 1);
        zps[i] = quant_min(t) + std::int32_t(37 * i % 200);
      }
      check_roundtrip(shape, QuantParams::per_channel(t, axis, scales, zps), 17 + std::uint64_t(axis));
    }
  }
}

// The path for devices without correctly rounded division (DIVIDE_IN_DOUBLE=1, a double quotient rounded to
// float), built here without the correct-rounding option so that it is what runs; needs fp64 on this device.
TEST(QuantizeKernelDoubleDivision, MatchesHostBitForBit) {
  Context& ctx = shared_context();
  ASSERT_TRUE(ctx.device().has_fp64) << "this test needs an fp64 device (PoCL has it)";
  const std::size_t n = 4096;
  const auto params = QuantParams::per_tensor(QuantType::i8, 0.0371f, -3);
  const auto x = hard_values(n, params.scales[0], 99);
  std::vector<std::uint8_t> want(n);
  const std::vector<std::int64_t> shape{std::int64_t(n)};
  quantize_linear(x, shape, params, want);
  Buffer<float> dx(ctx, std::span<const float>(x)), scales(ctx, std::span<const float>(params.scales));
  Buffer<std::int32_t> zps(ctx, std::span<const std::int32_t>(params.zero_points));
  RawBuffer dq(ctx, n, "q");
  auto& impl = ctx.impl();
  cl::Kernel& k = impl.kernel("quant/quantize_linear.cl", "quantize_linear", "-DQTYPE=1 -DDIVIDE_IN_DOUBLE=1");
  detail::set_args(k, "quantize_linear", dx.handle(), dq.handle(), cl_int(n), scales.handle(), zps.handle(),
                   cl_int(1), cl_int(n));
  impl.launch(k, cl::NDRange(n), cl::NDRange(64), "quantize_linear (double division)").wait();
  std::vector<std::uint8_t> got(n);
  dq.download(got.data(), n);
  EXPECT_EQ(got, want);
}

TEST(QuantizeDeviceErrors, ShapesAndParams) {
  Context& ctx = shared_context();
  Buffer<float> x(ctx, 12);
  RawBuffer y(ctx, 12, "y");
  const std::vector<std::int64_t> shape{3, 4};
  auto expect = [&](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no exception; expected " << needle;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect([&] { quantize_linear(ctx, x, std::vector<std::int64_t>{3, 5}, QuantParams{}, y); }, "x holds 12");
  expect([&] {
    quantize_linear(ctx, x, shape, QuantParams::per_channel(QuantType::u8, 1, {1, 1, 1}, {0, 0, 0}), y);
  }, "shape[1] = 4 (shape (3, 4)) but params hold 3 channels");
  QuantParams negative_scale;   // built field by field: the factories reject it themselves
  negative_scale.scales = {-1.0f};
  expect([&] { quantize_linear(ctx, x, shape, negative_scale, y); }, "quantize_linear params: scales[0] = -1");
  expect([&] { quantize_linear(ctx, x, std::vector<std::int64_t>{std::int64_t(1) << 32, std::int64_t(1) << 32},
                               QuantParams{}, y); }, "more elements than a size_t counts");
  expect([&] { quantize_linear(ctx, x, std::vector<std::int64_t>{std::int64_t(1) << 31, 2}, QuantParams{}, y); },
         "at most 2^31 - 1");
  expect([&] {
    quantize_linear(ctx, x, shape, QuantParams::per_channel(QuantType::u8, 2, {1, 1}, {0, 0}), y);
  }, "params.axis = 2 is out of range for shape (3, 4)");
}

}  // namespace
}  // namespace ellesmere
