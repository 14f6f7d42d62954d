// The calibration kernels compute what they claim (so the rates built on them are real work), and a quick
// calibration gives a complete, plausible profile that is saved and read back. CalibrateKernels* also runs under
// oclgrind.
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include "ellesmere/profile.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

constexpr const char* kFile = "calibrate/calibrate.cl";

TEST(CalibrateKernels, CopyCopiesEveryElementForEachVectorWidth) {
  Context ctx;
  auto& impl = ctx.impl();
  for (int vw : {1, 4, 16}) {
    const int vectors = 37;   // not a multiple of the work-group size: the tail guard matters
    const auto src = reference::random_floats(std::size_t(vectors * vw), std::uint64_t(vw));
    Buffer<float> in(ctx, std::span<const float>(src)), out(ctx, src.size());
    out.fill(reference::poison_f32());
    cl::Kernel& k = impl.kernel(kFile, "calibrate_copy", fmt::format("-DVW={}", vw));
    detail::set_args(k, "calibrate_copy", in.handle(), out.handle(), cl_int(vectors));
    impl.launch(k, cl::NDRange(64), cl::NDRange(16), "calibrate_copy").wait();
    EXPECT_EQ(out.to_vector(), src) << "VW=" << vw;
  }
}

TEST(CalibrateKernels, FmaChainsComputeTheirRecurrence) {
  Context ctx;
  auto& impl = ctx.impl();
  const int vw = 4, chains = 8, iters = 5, items = 32;
  const float x = 0.25f, y = 0.5f;
  cl::Kernel& k = impl.kernel(kFile, "calibrate_fma_f32", fmt::format("-DVW={} -DCHAINS={}", vw, chains));
  Buffer<float> out(ctx, std::size_t(items * vw));
  out.fill(reference::poison_f32());
  detail::set_args(k, "calibrate_fma_f32", out.handle(), x, y, cl_int(iters));
  impl.launch(k, cl::NDRange(items), cl::NDRange(16), "calibrate_fma_f32").wait();
  double expect = 0;
  for (int c = 0; c < 8; ++c) {
    double a = x + c;
    if (c < chains) {
      for (int i = 0; i < iters; ++i) a = a * y + x * 0.5;
    }
    expect += a;
  }
  for (float v : out.to_vector()) EXPECT_NEAR(v, expect, 1e-4 * std::abs(expect));
}

TEST(CalibrateKernels, Int8MadIsExact) {
  Context ctx;
  auto& impl = ctx.impl();
  const int vw = 16, chains = 4, iters = 3, items = 16;
  const std::int8_t seed[16] = {3, -5, 7, -11, 13, -17, 19, -23, 29, -31, 37, -41, 43, -47, 53, -59};
  Buffer<std::int8_t> s(ctx, std::span<const std::int8_t>(seed, 16));
  Buffer<std::int32_t> out(ctx, std::size_t(items * vw));
  cl::Kernel& k = impl.kernel(kFile, "calibrate_mad_i8", fmt::format("-DVW={} -DCHAINS={}", vw, chains));
  detail::set_args(k, "calibrate_mad_i8", out.handle(), s.handle(), cl_int(iters));
  impl.launch(k, cl::NDRange(items), cl::NDRange(16), "calibrate_mad_i8").wait();
  const auto got = out.to_vector();
  for (int lane = 0; lane < vw; ++lane) {
    const std::int32_t b = seed[lane];
    std::int32_t sum = 0;
    for (int c = 0; c < 8; ++c) {
      std::int32_t a = b + c + 1;
      if (c < chains) {
        for (int i = 0; i < iters; ++i) a = (a & 0x7f) * b + a;
      }
      sum += a;
    }
    for (int item = 0; item < items; ++item) ASSERT_EQ(got[std::size_t(item * vw + lane)], sum) << "lane " << lane;
  }
}

TEST(Calibrate, QuickProfileIsCompleteAndRoundTrips) {
  testing::TempDir config("config");
  testing::EnvGuard env("ELLESMERE_CONFIG_DIR", config.str());
  Context ctx;
  const DeviceProfile p = calibrate(ctx, CalibrateOptions{.quick = true});
  EXPECT_EQ(p.key, ctx.device().key);
  EXPECT_FALSE(p.model_estimate);
  EXPECT_GT(p.bandwidth_gbps, 0.1);
  EXPECT_GT(p.fp32_gflops, 0.1);
  EXPECT_GT(p.int8_gops, 0.1);
  EXPECT_GT(p.launch_overhead_us, 0.0);
  EXPECT_FALSE(p.date.empty());
  EXPECT_FALSE(load_saved_profile(p.key).has_value());
  save_profile(p);
  const auto loaded = load_saved_profile(p.key);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_NEAR(loaded->fp32_gflops, p.fp32_gflops, 1e-3);
  EXPECT_NEAR(loaded->bandwidth_gbps, p.bandwidth_gbps, 1e-3);
  // device_profile() now reads the saved one instead of calibrating again.
  EXPECT_NEAR(device_profile(ctx).fp32_gflops, p.fp32_gflops, 1e-3);
}

}  // namespace
}  // namespace ellesmere
