// gemm_wq_gemv Impl: weight streaming GEMV for M <= 8 (kernels/gemm/gemm_wq_gemv.cl) over grouped weights.
#include <algorithm>

#include <fmt/format.h>

#include "ops/gemm_wq/gemm_wq_impl.hpp"

namespace ellesmere::ops {

namespace {

constexpr std::int64_t kMaxRows = 8;

class GemmWqGemv final : public GemmWqImpl {
 public:
  std::string name() const override { return "gemm_wq_gemv"; }
  std::string kernel_file() const override { return "gemm/gemm_wq_gemv.cl"; }

  // Defaults for GCN: a 64-item wavefront per row of W, each item one 16-byte chunk per step (the wavefront reads
  // 1 KB of contiguous weights per load), 4 rows per work-group = 256 items and 4 KB of LDS at M = 8.
  ParamSpace space() const override {
    return {{
        {"WGK", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64,
         "work-items per row along K, reduced in local memory (1: a whole row per item, for CPUs)"},
        {"ROWS", {1, 2, 4, 8, 16, 32, 64}, 4, "rows of W per work-group"},
        {"CPI", {1, 2, 4, 8}, 1, "consecutive 32-weight chunks per item per step (4-8 suit CPUs)"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    const int wgk = p.get("WGK"), rows = p.get("ROWS"), cpi = p.get("CPI");
    if (wgk <= 0 || (wgk & (wgk - 1)) != 0) return fmt::format("WGK={} is not a power of 2", wgk);
    if (rows <= 0) return "ROWS must be positive";
    if (cpi != 1 && cpi != 2 && cpi != 4 && cpi != 8) return fmt::format("CPI={} is not 1, 2, 4 or 8", cpi);
    const std::size_t items = std::size_t(wgk) * std::size_t(rows);
    if (items > device.max_work_group_size) {
      return fmt::format("work-group {}x{} = {} items exceeds the device's {}", wgk, rows, items,
                         device.max_work_group_size);
    }
    if (std::size_t(wgk) > device.max_work_item_sizes[0] || std::size_t(rows) > device.max_work_item_sizes[1]) {
      return fmt::format("work-group {}x{} exceeds the device's per-dimension limits", wgk, rows);
    }
    // The reduction's partial sums, at the largest M.
    const std::uint64_t local = wgk > 1 ? std::uint64_t(kMaxRows) * std::uint64_t(items) * 4 : 0;
    if (local > device.local_mem_bytes) {
      return fmt::format("needs {} bytes of local memory, the device has {}", local, device.local_mem_bytes);
    }
    return {};
  }

  std::string applicable(const GemmWqProblem& p, const DeviceInfo&) const override {
    if (p.m > kMaxRows) return fmt::format("M = {} > {} (a GEMV Impl; gemm_wq_tile2d runs larger M)", p.m, kMaxRows);
    return common_limits(p);
  }

  std::vector<LaunchShape> shapes(const GemmWqProblem& p, const Params& params) const override {
    const std::size_t wgk = std::size_t(params.get("WGK")), rows = std::size_t(params.get("ROWS"));
    LaunchShape s;
    s.kernel = "gemm_wq_gemv";
    s.dims = 2;
    s.local = {wgk, rows, 1};
    s.global = {wgk, (std::size_t(p.n) + rows - 1) / rows * rows, 1};
    return {s};
  }

 protected:
  std::string extra_options(const GemmWqProblem& p) const override {
    return fmt::format(" -DMROWS={}", std::clamp<std::int64_t>(p.m, 1, kMaxRows));
  }
};

}  // namespace

std::unique_ptr<GemmWqImpl> make_gemm_wq_gemv() { return std::make_unique<GemmWqGemv>(); }

}  // namespace ellesmere::ops
