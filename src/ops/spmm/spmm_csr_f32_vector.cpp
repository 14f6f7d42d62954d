// spmm_csr_f32_vector Impl: one work-group per (row, column block) with a local-memory reduction,
// kernels/spmm/spmm_csr_f32_vector.cl. Chosen for long rows on a GPU.
#include <fmt/format.h>

#include "ops/spmm/spmm_impl.hpp"

namespace ellesmere::ops {

namespace {

class SpmmCsrF32Vector final : public SpmmImpl {
 public:
  std::string name() const override { return "spmm_csr_f32_vector"; }
  std::string kernel_file() const override { return "spmm/spmm_csr_f32_vector.cl"; }

  // Defaults for GCN: a 64-item wavefront per row, scalar columns (256 bytes of local memory).
  ParamSpace space() const override {
    return {{
        {"VW", {1, 2, 4, 8, 16}, 1, "columns per vector"},
        {"WPT", {1, 2, 4}, 1, "vectors per work-item: a column block is VW * WPT columns"},
        {"WGK", {2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-items per row, reduced in local memory (a power of 2)"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    const int wgk = p.get("WGK");
    if (wgk < 1 || (wgk & (wgk - 1)) != 0) return fmt::format("WGK={} is not a power of 2", wgk);
    if (std::size_t(wgk) > device.max_work_group_size || std::size_t(wgk) > device.max_work_item_sizes[0]) {
      return fmt::format("WGK={} exceeds the device's work-group limit {}", wgk, device.max_work_group_size);
    }
    const std::uint64_t local = std::uint64_t(wgk) * std::uint64_t(p.get("VW") * p.get("WPT")) * 4;
    if (local > device.local_mem_bytes) {
      return fmt::format("needs {} bytes of local memory, the device has {}", local, device.local_mem_bytes);
    }
    return {};
  }

  std::string suited(const SpmmProblem& p, const DeviceInfo& device) const override {
    if (device.type == DeviceType::cpu) {
      return "on a CPU device one work-item streams a long row as fast, without the reduction's barriers";
    }
    if (p.mean_row() < kSpmmLongRowMean) {
      return fmt::format("mean row length {:.1f} < {}: most of a work-group per row would idle", p.mean_row(),
                         kSpmmLongRowMean);
    }
    return {};
  }

  std::vector<LaunchShape> shapes(const SpmmProblem& p, const Params& params) const override {
    const std::size_t cpi = std::size_t(params.get("VW") * params.get("WPT"));
    const std::size_t wgk = std::size_t(params.get("WGK"));
    const std::size_t blocks = (std::size_t(p.n) + cpi - 1) / cpi;
    LaunchShape s;
    s.kernel = "spmm_csr_f32_vector";
    s.dims = 2;
    s.local = {wgk, 1, 1};
    s.global = {wgk, std::size_t(p.m) * blocks, 1};
    return {s};
  }

  EventList launch(detail::ContextImpl& ctx, const SpmmProblem& p, const Params& params,
                   const SpmmArgs& args) const override {
    return launch_row_kernel(ctx, p, params, args, shapes(p, params).front());
  }
};

}  // namespace

std::unique_ptr<SpmmImpl> make_spmm_csr_f32_vector() { return std::make_unique<SpmmCsrF32Vector>(); }

}  // namespace ellesmere::ops
