// The public fp32 GEMM entry point: argument checks, dispatch over gemm_f32_list(), tuned Params, launch.
#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "ops/operand_check.hpp"

namespace ellesmere {

EventList gemm_f32(Context& context, const GemmProblem& p, const Buffer<float>& a, const Buffer<float>& b,
                   Buffer<float>& c, const GemmOptions& options) {
  if (p.m < 0 || p.n < 0 || p.k < 0) {
    throw InvalidArgument(fmt::format("gemm_f32: negative dimension in m={} n={} k={}", p.m, p.n, p.k));
  }
  if (p.m > INT32_MAX || p.n > INT32_MAX || p.k > INT32_MAX) {
    throw InvalidArgument(fmt::format("{}: dimensions must be below 2^31", p.str()));
  }
  const std::string problem = p.str();
  auto dims = [](std::int64_t rows, std::int64_t cols) { return fmt::format("{} x {}", rows, cols); };
  const std::int64_t a_rows = p.trans_a ? p.k : p.m, a_cols = p.trans_a ? p.m : p.k;
  const std::int64_t b_rows = p.trans_b ? p.n : p.k, b_cols = p.trans_b ? p.k : p.n;
  ops::check_operand(context, problem, "A", a, std::uint64_t(p.m * p.k), dims(a_rows, a_cols));
  ops::check_operand(context, problem, "B", b, std::uint64_t(p.k * p.n), dims(b_rows, b_cols));
  ops::check_operand(context, problem, "C", c, std::uint64_t(p.m * p.n), dims(p.m, p.n));
  if (p.m == 0 || p.n == 0) return {};

  const DeviceInfo& device = context.device();
  auto [impl, params] = ops::choose_impl(ops::gemm_f32_list(), problem, device, options.impl,
                                         [&](const ops::GemmF32Impl& i) { return i.applicable(p, device); });
  return impl->launch(context.impl(), p, params,
                      ops::GemmArgs{a.handle(), b.handle(), c.handle(), options.alpha, options.beta});
}

std::vector<std::string> gemm_f32_impls() {
  std::vector<std::string> names;
  for (const auto& impl : ops::gemm_f32_list()) names.push_back(impl->name());
  return names;
}

}  // namespace ellesmere
