// The ordered list of weight-only quantized GEMM Impls and what they share: traffic, defines, the launch. Adding a
// variant: one .cl, one Impl file, one line here.
#include <fmt/format.h>

#include "ops/gemm_wq/gemm_wq_impl.hpp"

namespace ellesmere::ops {

const std::vector<std::unique_ptr<GemmWqImpl>>& gemm_wq_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<GemmWqImpl>>();
    l->push_back(make_gemm_wq_gemv());     // M <= 8: bandwidth-bound streaming of the weights
    l->push_back(make_gemm_wq_tile2d());   // everything else: dequantize a tile into LDS, then an fp32 tile GEMM
    return l;
  }();
  return *list;
}

std::uint64_t wq_weight_bytes(const GemmWqProblem& p) {
  const std::uint64_t groups = std::uint64_t((p.k + p.group - 1) / p.group);
  const std::uint64_t stride = (groups + ELLESMERE_WQ_GROUP_ALIGN - 1) / ELLESMERE_WQ_GROUP_ALIGN *
                               ELLESMERE_WQ_GROUP_ALIGN;
  const std::uint64_t n = std::uint64_t(p.n);
  return n * groups * std::uint64_t(p.group) * std::uint64_t(p.bits) / 8 + n * stride * 2 +
         (p.zero_points ? n * stride : 0);
}

Traffic GemmWqImpl::traffic(const GemmWqProblem& p) const {
  const double m = double(p.m), n = double(p.n), k = double(p.k);
  return {2.0 * m * n * k, double(wq_weight_bytes(p)) + m * k * (p.half_activations ? 2.0 : 4.0) + 4.0 * m * n};
}

std::string GemmWqImpl::common_limits(const GemmWqProblem& p) {
  if (p.bits != 4 && p.bits != 8) return fmt::format("bits = {} is not supported (4 or 8)", p.bits);
  if (p.group != 32 && p.group != 64 && p.group != 128) {
    return fmt::format("group size {} is not supported (32, 64 or 128)", p.group);
  }
  if (p.bits == 8 && p.zero_points) return "8-bit weights are symmetric: zero points need bits = 4";
  const std::int64_t limit = std::int64_t(1) << 31;
  const std::int64_t padded_k = (p.k + p.group - 1) / p.group * p.group;
  if (p.m * p.k >= limit || p.m * p.n >= limit || p.n * padded_k >= limit) {
    return "an operand has 2^31 or more elements (the kernels index with 32-bit ints)";
  }
  return {};
}

std::vector<LaunchShape> GemmWqImpl::launch_shapes(std::string_view problem, const Params& params) const {
  return shapes(GemmWqProblem::parse(problem), params);
}

std::string GemmWqImpl::build_options(std::string_view problem, const Params& params) const {
  return build_options(GemmWqProblem::parse(problem), params);
}

std::string GemmWqImpl::build_options(const GemmWqProblem& p, const Params& params) const {
  return fmt::format("{} -DBITS={} -DGROUP={} -DHAS_ZP={} -DHALF_X={}{}", params.defines(), p.bits, p.group,
                     p.zero_points ? 1 : 0, p.half_activations ? 1 : 0, extra_options(p));
}

std::vector<std::string> GemmWqImpl::variant_options() const { return {" -DHAS_BIAS=0", " -DHAS_BIAS=1"}; }

EventList GemmWqImpl::launch(detail::ContextImpl& ctx, const GemmWqProblem& p, const Params& params,
                             const GemmWqArgs& args) const {
  const LaunchShape s = shapes(p, params).front();
  cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel,
                             build_options(p, params) + fmt::format(" -DHAS_BIAS={}", args.bias ? 1 : 0));
  const PackedWeightsWq& w = *args.w;
  // Symmetric weights have no zero points and a bias is optional: those arguments are NULL (which OpenCL 1.1
  // allows for buffer arguments); the kernels do not read them then (HAS_ZP=0, HAS_BIAS=0).
  detail::set_args(k, name(), cl_int(p.m), cl_int(p.n), cl_int(p.k), args.x, w.qs().handle(), w.scales().handle(),
                   w.zeros().handle(), args.bias, args.y);
  EventList events;
  detail::track(events, ctx.launch(k, cl::NDRange(s.global[0], s.global[1]), cl::NDRange(s.local[0], s.local[1]),
                                   fmt::format("{} {} [{}]", name(), p.str(), params.str())));
  return events;
}

}  // namespace ellesmere::ops
