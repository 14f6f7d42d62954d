// The public fp32 GEMM entry point: argument checks, dispatch over gemm_f32_list(), tuned Params, launch.
#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm/gemm_impl.hpp"

namespace ellesmere {

namespace {

void check_operand(const GemmProblem& p, const char* name, std::size_t have, std::int64_t rows, std::int64_t cols) {
  const std::size_t need = std::size_t(rows) * std::size_t(cols);
  if (have < need) {
    throw InvalidArgument(fmt::format("{}: {} holds {} floats but needs {} x {} = {}", p.str(), name, have, rows,
                                      cols, need));
  }
}

}  // namespace

EventList gemm_f32(Context& context, const GemmProblem& p, const Buffer<float>& a, const Buffer<float>& b,
                   Buffer<float>& c, const GemmOptions& options) {
  if (p.m < 0 || p.n < 0 || p.k < 0) {
    throw InvalidArgument(fmt::format("gemm_f32: negative dimension in m={} n={} k={}", p.m, p.n, p.k));
  }
  if (p.m > INT32_MAX || p.n > INT32_MAX || p.k > INT32_MAX) {
    throw InvalidArgument(fmt::format("{}: dimensions must be below 2^31", p.str()));
  }
  check_operand(p, "A", a.size(), p.trans_a ? p.k : p.m, p.trans_a ? p.m : p.k);
  check_operand(p, "B", b.size(), p.trans_b ? p.n : p.k, p.trans_b ? p.k : p.n);
  check_operand(p, "C", c.size(), p.m, p.n);
  if (p.m == 0 || p.n == 0) return {};

  const DeviceInfo& device = context.device();
  const std::string problem = p.str();
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
