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

Context& shared_context() {
  static Context* ctx = new Context();
  return *ctx;
}

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
    ops::LimitReport r = ops::check_limits(shared_context().impl(), *impl, problem, lookup.params, limits);
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

// The check can fail: a planted configuration over both limits is reported on both counts.
TEST(PolarisCheck, PlantedOverLimitConfigurationIsCaught) {
  const ops::ImplBase* impl = ops::find_impl("gemm_f32_tile2d");
  ASSERT_NE(impl, nullptr);
  // 128/1 x 128/1 = 16384 work-items (PoCL's limit is 4096, the RX 580's 256): the build device rejects it too,
  // so use a 32x8 = 256-item group whose local memory is over: 4*32*(128+1+128) = 32896 > 32768 bytes.
  const ops::Params over_local = ops::Params::parse("TM=128 TN=128 TK=32 WPT=16 VW=4");
  auto r = ops::check_limits(shared_context().impl(), *impl, "gemm_f32:m256n256k256", over_local, ops::polaris_limits());
  bool local_reported = false;
  for (const auto& v : r.violations) local_reported = local_reported || v.find("local memory") != std::string::npos;
  EXPECT_TRUE(local_reported) << report(r);

  const ops::Params over_items = ops::Params::parse("TM=64 TN=64 TK=8 WPT=2 VW=2");   // 32 x 32 = 1024 items
  r = ops::check_limits(shared_context().impl(), *impl, "gemm_f32:m256n256k256", over_items, ops::polaris_limits());
  bool items_reported = false;
  for (const auto& v : r.violations) items_reported = items_reported || v.find("1024") != std::string::npos;
  EXPECT_TRUE(items_reported) << report(r);
}

}  // namespace
}  // namespace ellesmere
