// Every kernel file compiles as OpenCL C 1.1 and 1.2 (Mesa Clover, one of the RX 580's drivers, is 1.1) with its
// own defaults, and every Impl's kernel compiles with the Params the tuning lookup gives this device. Also run
// under oclgrind, whose compiler is a second opinion.
#include <gtest/gtest.h>

#include <set>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ops/impl_registry.hpp"
#include "runtime/cl.hpp"
#include "runtime/context_impl.hpp"
#include "runtime/kernel_registry.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

// Built directly (not through the program cache, which picks -cl-std itself) so the standard is exactly the one
// asked for.
std::string build_log_or_empty(Context& ctx, const std::string& file, const std::string& options) {
  auto& impl = ctx.impl();
  cl_int err = CL_SUCCESS;
  cl::Program program(impl.context, runtime::kernel_source(file), false, &err);
  if (err != CL_SUCCESS) return fmt::format("clCreateProgramWithSource: {}", cl_error_name(err));
  err = program.build({impl.device}, options.c_str());
  if (err == CL_SUCCESS) return {};
  std::string log;
  program.getBuildInfo(impl.device, CL_PROGRAM_BUILD_LOG, &log);
  return fmt::format("{} with \"{}\": {}\n{}", file, options, cl_error_name(err), log);
}

class KernelsCompile : public ::testing::TestWithParam<std::string> {};

TEST_P(KernelsCompile, AsOpenCl11And12WithDefaults) {
  Context ctx;
  for (const char* std_option : {"-cl-std=CL1.1", "-cl-std=CL1.2"}) {
    EXPECT_EQ(build_log_or_empty(ctx, GetParam(), std_option), "");
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKernelFile, KernelsCompile, ::testing::ValuesIn(runtime::kernel_files()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(KernelsCompileImpls, WithTunedParamsForThisDevice) {
  Context ctx;
  int built = 0;
  std::set<std::string> done;   // problems with the same Params and defines build the same program
  for (const ops::ImplBase* impl : ops::all_impls()) {
    if (impl->kernel_file().empty()) continue;
    // Every problem of the op's list: problems may add defines (transposes) of their own.
    for (const auto& problem : reference::problems_tagged(testing::problems_file(impl->op()),
                                                         testing::small_mode() ? "oclgrind" : "test")) {
      const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), *impl, problem);
      ASSERT_EQ(lookup.invalid, "") << impl->name() << " " << problem;
      // Every program variant a launch may build (epilogues, device-dependent paths).
      for (const std::string& variant : impl->variant_options()) {
        const std::string options = impl->build_options(problem, lookup.params) + variant;
        if (!done.insert(impl->kernel_file() + " " + options).second) continue;
        for (const char* std_option : {"-cl-std=CL1.1", "-cl-std=CL1.2"}) {
          EXPECT_EQ(build_log_or_empty(ctx, impl->kernel_file(), std::string(std_option) + " " + options), "")
              << impl->name() << " " << problem;
        }
      }
      ++built;
    }
  }
  EXPECT_GT(built, 0);
}

}  // namespace
}  // namespace ellesmere
