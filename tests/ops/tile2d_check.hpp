// Shared by the program-cache tests (program_cache_test.cpp, fault_injection_test.cpp): one gemm_f32_tile2d run on a
// new Context, whose program therefore comes from the disk cache or a fresh build, checked against the reference.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ellesmere/ops.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::testing {

// Runs gemm_f32_tile2d with params on p (fresh random A and B, C poisoned first), checks that every element was
// written and matches the reference, and returns the new Context's program-cache statistics. With expected_options,
// also checks that these are the build options of the program the run used.
inline runtime::ProgramCacheStats run_tile2d_checked(const GemmProblem& p, const ops::Params& params,
                                                     const std::string& expected_options = {}) {
  Context ctx;
  const ops::GemmF32Impl* impl = nullptr;
  for (const auto& i : ops::gemm_f32_list()) {
    if (i->name() == "gemm_f32_tile2d") impl = i.get();
  }
  EXPECT_NE(impl, nullptr);
  if (impl == nullptr) return ctx.impl().programs.stats();
  if (!expected_options.empty()) {
    EXPECT_EQ(impl->build_options(p, params), expected_options) << "the GEMM must use the program under test";
  }
  const auto a = reference::random_floats(std::size_t(p.m * p.k), 1);
  const auto b = reference::random_floats(std::size_t(p.k * p.n), 2);
  std::vector<float> ref(std::size_t(p.m * p.n));
  reference::gemm_f32_ref(p, a, b, ref);
  Buffer<float> da(ctx, std::span<const float>(a)), db(ctx, std::span<const float>(b)), dc(ctx, ref.size());
  dc.fill(reference::poison_f32());
  impl->launch(ctx.impl(), p, params, {da.handle(), db.handle(), dc.handle(), 1.0f, 0.0f}).wait();
  const auto out = dc.to_vector();
  EXPECT_EQ(reference::first_poisoned(out), -1);
  EXPECT_LE(reference::relative_error(out, ref), reference::kGemmF32Tolerance);
  return ctx.impl().programs.stats();
}

}  // namespace ellesmere::testing
