// The ordered list of sparse CSR product Impls and what they share: traffic, defines, limits. Adding a variant:
// one .cl, one Impl file, one line here.
#include <fmt/format.h>

#include "ops/spmm/spmm_impl.hpp"

namespace ellesmere::ops {

const std::vector<std::unique_ptr<SpmmImpl>>& spmm_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<SpmmImpl>>();
    l->push_back(make_spmm_csr_f32_balanced());   // skewed row lengths: split by nonzeros
    l->push_back(make_spmm_csr_f32_vector());     // long rows on a GPU: a work-group per row
    l->push_back(make_spmm_csr_f32_row());        // everything else: a work-item per row
    return l;
  }();
  return *list;
}

std::string SpmmImpl::applicable(const SpmmProblem& p, const DeviceInfo&) const {
  const std::int64_t limit = ELLESMERE_CSR_INDEX_LIMIT;
  if (p.m * p.n > limit || p.k * p.n > limit) {
    return "X or Y has 2^31 or more elements (the kernels index with 32-bit ints)";
  }
  return {};
}

Traffic SpmmImpl::traffic(const SpmmProblem& p) const {
  const double nnz = double(p.nnz()), m = double(p.m), k = double(p.k), n = double(p.n);
  return {2.0 * nnz * n, 8.0 * nnz + 4.0 * (m + 1) + 4.0 * k * n + 4.0 * m * n};
}

std::vector<LaunchShape> SpmmImpl::launch_shapes(std::string_view problem, const Params& params) const {
  return shapes(SpmmProblem::parse(problem), params);
}

std::string SpmmImpl::build_options(std::string_view, const Params& params) const { return params.defines(); }

std::vector<std::string> SpmmImpl::variant_options() const {
  return {" -DHAS_BIAS=0 -DRELU=0", " -DHAS_BIAS=1 -DRELU=0", " -DHAS_BIAS=0 -DRELU=1", " -DHAS_BIAS=1 -DRELU=1"};
}

std::string SpmmImpl::check_vector_params(const Params& params) {
  const int vw = params.get("VW"), wpt = params.get("WPT");
  if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return fmt::format("VW={} is not 1, 2, 4, 8 or 16", vw);
  if (wpt < 1 || wpt > 16) return fmt::format("WPT={} is outside 1..16", wpt);
  return {};
}

std::string SpmmImpl::epilogue_options(const SpmmArgs& args) {
  return fmt::format(" -DHAS_BIAS={} -DRELU={}", args.bias != nullptr ? 1 : 0, args.relu ? 1 : 0);
}

std::string SpmmImpl::check_work_group(int lc, int lr, const DeviceInfo& device) {
  if (lc < 1 || lr < 1) return "LC and LR must be positive";
  const std::size_t items = std::size_t(lc) * std::size_t(lr);
  if (items > device.max_work_group_size) {
    return fmt::format("work-group {}x{} = {} items exceeds the device's {}", lc, lr, items,
                       device.max_work_group_size);
  }
  if (std::size_t(lc) > device.max_work_item_sizes[0] || std::size_t(lr) > device.max_work_item_sizes[1]) {
    return fmt::format("work-group {}x{} exceeds the device's per-dimension limits", lc, lr);
  }
  return {};
}

EventList SpmmImpl::launch_row_kernel(detail::ContextImpl& ctx, const SpmmProblem& p, const Params& params,
                                      const SpmmArgs& args, const LaunchShape& s) const {
  cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel, params.defines() + epilogue_options(args));
  const DeviceCsr& a = *args.a;
  detail::set_args(k, name(), cl_int(p.m), cl_int(p.n), cl_int(p.k), a.row_ptr().handle(), a.col_idx().handle(),
                   a.values().handle(), args.x, args.bias, args.y);
  EventList events;
  detail::track(events, ctx.launch(k, cl::NDRange(s.global[0], s.global[1]), cl::NDRange(s.local[0], s.local[1]),
                                   fmt::format("{} {} [{}]", name(), p.str(), params.str())));
  return events;
}

}  // namespace ellesmere::ops
