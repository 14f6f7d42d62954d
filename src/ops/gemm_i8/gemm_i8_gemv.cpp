// gemm_i8_gemv Impl: split-K INT8 GEMV for M <= 8 (kernels/gemm/gemm_i8_gemv.cl) over packed weights.
#include <fmt/format.h>

#include "ops/gemm_i8/gemm_i8_impl.hpp"

namespace ellesmere::ops {

namespace {

constexpr std::int64_t kMaxRows = 8;

class GemmI8Gemv final : public GemmI8Impl {
 public:
  std::string name() const override { return "gemm_i8_gemv"; }
  std::string kernel_file() const override { return "gemm/gemm_i8_gemv.cl"; }

  // Defaults for GCN: 64 x 4 = 256 work-items, one column each (a wavefront reads 64 neighbouring words = 256
  // bytes of one packed row), 1 KB of LDS; N = 4096 gives 64 groups, ~7 wavefronts per CU of an RX 580.
  ParamSpace space() const override {
    return {{
        {"WGN", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-items along N (1-8 suit CPUs: one long vector stream each)"},
        {"SPLITK", {1, 2, 4, 8, 16}, 4, "work-items along K, reduced in local memory (a power of 2)"},
        {"VW", {1, 2, 4, 8, 16}, 1, "columns per work-item, as one vector"},
        {"MUL24", {0, 1}, 1, "1: mad24 (full rate on GCN); 0: 32-bit multiply-add"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    const int wgn = p.get("WGN"), splitk = p.get("SPLITK"), vw = p.get("VW");
    if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return fmt::format("VW={} is not 1, 2, 4, 8 or 16", vw);
    if (wgn <= 0) return "WGN must be positive";
    if (splitk <= 0 || (splitk & (splitk - 1)) != 0) return fmt::format("SPLITK={} is not a power of 2", splitk);
    const std::size_t items = std::size_t(wgn) * std::size_t(splitk);
    if (items > device.max_work_group_size) {
      return fmt::format("work-group {}x{} = {} items exceeds the device's {}", wgn, splitk, items,
                         device.max_work_group_size);
    }
    if (std::size_t(wgn) > device.max_work_item_sizes[0] || std::size_t(splitk) > device.max_work_item_sizes[1]) {
      return fmt::format("work-group {}x{} exceeds the device's per-dimension limits", wgn, splitk);
    }
    const std::uint64_t local = std::uint64_t(splitk) * std::uint64_t(wgn) * std::uint64_t(vw) * 4 + 4 * splitk;
    if (local > device.local_mem_bytes) {
      return fmt::format("needs {} bytes of local memory, the device has {}", local, device.local_mem_bytes);
    }
    return {};
  }

  std::string applicable(const GemmI8Problem& p, const DeviceInfo&) const override {
    if (p.m > kMaxRows) return fmt::format("M = {} > {} (a GEMV Impl; gemm_i8_tile2d runs larger M)", p.m, kMaxRows);
    return common_limits(p);
  }

  std::string build_options(const GemmI8Problem& p, const Params& params) const override {
    return GemmI8Impl::build_options(p, params) + fmt::format(" -DMROWS={}", std::max<std::int64_t>(p.m, 1));
  }

  std::vector<LaunchShape> shapes(const GemmI8Problem& p, const Params& params) const override {
    const std::size_t wgn = std::size_t(params.get("WGN")), splitk = std::size_t(params.get("SPLITK"));
    const std::size_t cols_per_group = wgn * std::size_t(params.get("VW"));
    LaunchShape s;
    s.kernel = "gemm_i8_gemv";
    s.dims = 2;
    s.local = {wgn, splitk, 1};
    s.global = {(std::size_t(p.n) + cols_per_group - 1) / cols_per_group * wgn, splitk, 1};
    return {s};
  }
};

}  // namespace

std::unique_ptr<GemmI8Impl> make_gemm_i8_gemv() { return std::make_unique<GemmI8Gemv>(); }

}  // namespace ellesmere::ops
