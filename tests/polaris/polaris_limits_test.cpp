// The `polaris` label: every Impl, built with the Params the tuning lookup gives amd-polaris-36cu, fits an
// RX 580 under AMD's drivers (work-group <= 256 items, local memory <= 32 KB including dynamic local arguments,
// no required or unguarded extension). PoCL accepts far more, so without this nothing would catch a kernel that
// cannot launch on the card. Also proves the check itself fails on a planted over-limit configuration.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ops/impl_registry.hpp"
#include "ops/target_limits.hpp"
#include "runtime/kernel_registry.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

using testing::shared_context;

std::string report(const ops::LimitReport& r) {
  std::string s = fmt::format("{} {} [{}] (params: {})", r.impl, r.problem, r.params.str(), r.params_from);
  for (const auto& v : r.violations) s += "\n  violation: " + v;
  for (const auto& n : r.notes) s += "\n  note: " + n;
  return s;
}

class PolarisLimits : public ::testing::TestWithParam<std::string> {};

TEST_P(PolarisLimits, EveryProblemWithTunedParamsFits) {
  const ops::ImplBase* impl = ops::find_impl(GetParam());
  ASSERT_NE(impl, nullptr);
  const ops::TargetLimits limits = ops::polaris_limits();
  const auto problems = reference::problems_tagged(testing::problems_file(impl->op()), "test");
  ASSERT_FALSE(problems.empty()) << "no problems for " << impl->op();
  for (const auto& problem : problems) {
    const tuning::Lookup lookup = tuning::TuningDb::global().lookup(limits.device_key, limits.device_family,
                                                                    limits.as_device(), *impl, problem);
    EXPECT_EQ(lookup.invalid, "") << impl->name() << " " << problem << ": its default Params do not fit the RX 580";
    for (const auto& s : lookup.skipped) ADD_FAILURE() << "tuning entry unusable on the RX 580: " << s;
    // Program variants (epilogues, device paths) once per Impl: they change no limit, only what must compile.
    ops::LimitReport r = ops::check_limits(shared_context().impl(), *impl, problem, lookup.params, limits,
                                           problem == problems.front());
    r.params_from = tuning::level_name(lookup.level);
    EXPECT_TRUE(r.violations.empty()) << report(r);
    if (!impl->kernel_file().empty()) {
      EXPECT_GT(r.work_group_size, 0u) << report(r);
    }
  }
}

std::vector<std::string> impl_names() {
  std::vector<std::string> names;
  for (const ops::ImplBase* impl : ops::all_impls()) names.push_back(impl->name());
  return names;
}
INSTANTIATE_TEST_SUITE_P(EveryImpl, PolarisLimits, ::testing::ValuesIn(impl_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

// Every database entry aimed at Polaris (shipped, the user's file, overrides) must itself fit: the lookup would
// otherwise skip it silently and run something else.
TEST(PolarisTuningEntries, EveryPolarisEntryFits) {
  const ops::TargetLimits limits = ops::polaris_limits();
  for (const auto& w : tuning::TuningDb::global().warnings()) ADD_FAILURE() << "tuning database: " << w;
  for (const auto& e : tuning::TuningDb::global().entries()) {
    if (tuning::family_of(e.device) != limits.device_family) continue;
    const ops::ImplBase* impl = ops::find_impl(e.impl);
    if (impl == nullptr) {
      ADD_FAILURE() << e.origin << ": unknown Impl " << e.impl;
      continue;
    }
    ops::Params params;
    try {
      params = impl->space().complete(e.params);
    } catch (const Error& err) {
      ADD_FAILURE() << e.origin << ": " << err.what();
      continue;
    }
    ops::LimitReport r = ops::check_limits(shared_context().impl(), *impl, e.problem, params, limits);
    r.params_from = e.origin;
    EXPECT_TRUE(r.violations.empty()) << report(r);
  }
}

TEST(PolarisKernels, NoUnguardedExtensions) {
  for (const auto& file : runtime::kernel_files()) {
    EXPECT_EQ(ops::unguarded_extensions(runtime::kernel_source(file)), std::vector<std::string>{}) << file;
  }
}

bool any_contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines) {
    if (l.find(part) != std::string::npos) return true;
  }
  return false;
}

// The check can fail: a planted configuration over both limits is reported by the compiled-kernel checks (not
// only by the Impl's own check_params formula).
TEST(PolarisCheck, PlantedOverLimitConfigurationIsCaught) {
  const ops::ImplBase* impl = ops::find_impl("gemm_f32_tile2d");
  ASSERT_NE(impl, nullptr);
  // 128/4 x 128/16 = 256 work-items, local memory 4*32*(128+1+128) = 32896 > 32768 bytes.
  const ops::Params over_local = ops::Params::parse("TM=128 TN=128 TK=32 WPT=16 VW=4");
  auto r = ops::check_limits(shared_context().impl(), *impl, "gemm_f32:m256n256k256", over_local,
                             ops::polaris_limits());
  EXPECT_TRUE(any_contains(r.violations, "gemm_f32_tile2d: 32896 bytes of local memory (32896 static + 0 dynamic)"))
      << report(r);
  // 64/2 x 64/2 = 1024 work-items (PoCL accepts up to 4096).
  const ops::Params over_items = ops::Params::parse("TM=64 TN=64 TK=8 WPT=2 VW=2");
  r = ops::check_limits(shared_context().impl(), *impl, "gemm_f32:m256n256k256", over_items, ops::polaris_limits());
  EXPECT_TRUE(any_contains(r.violations, "gemm_f32_tile2d: work-group of 1024 items (32x32x1)")) << report(r);
}

// An Impl whose own formula misses local memory its kernel declares: only the compiled kernel's
// CL_KERNEL_LOCAL_MEM_SIZE can catch it.
class PlantedHiddenLocalImpl final : public ops::ImplBase {
 public:
  std::string name() const override { return "planted_hidden_local"; }
  std::string op() const override { return "gemm_f32"; }
  std::string kernel_file() const override { return "planted/hidden_local.cl"; }
  std::vector<ops::LaunchShape> launch_shapes(std::string_view, const ops::Params&) const override {
    ops::LaunchShape s;
    s.kernel = "hidden_local";
    s.global = {64, 1, 1};
    s.local = {64, 1, 1};
    s.dynamic_local_bytes = 1024;
    return {s};
  }
};

TEST(PolarisCheck, PlantedKernelWithHiddenLocalMemoryIsCaught) {
  testing::TempDir kernels("planted-kernels");
  kernels.write("planted/hidden_local.cl",
                "__kernel void hidden_local(__global float* out, __local float* scratch) {\n"
                "  __local float big[9000];   // 36000 bytes, more than the RX 580's 32 KB\n"
                "  big[get_local_id(0)] = 1.0f; scratch[get_local_id(0)] = 2.0f;\n"
                "  barrier(CLK_LOCAL_MEM_FENCE);\n"
                "  out[get_global_id(0)] = big[63 - get_local_id(0)] + scratch[0];\n"
                "}\n");
  testing::EnvGuard dir("ELLESMERE_KERNEL_DIR", kernels.str());
  const PlantedHiddenLocalImpl impl;
  const auto r = ops::check_limits(shared_context().impl(), impl, "gemm_f32:m64n64k64", {}, ops::polaris_limits());
  EXPECT_TRUE(any_contains(r.violations, "hidden_local: 37024 bytes of local memory (36000 static + 1024 dynamic)"))
      << report(r);
}

}  // namespace
}  // namespace ellesmere
