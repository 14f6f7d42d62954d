// gemm_i8_tile2d Impl: LDS-tiled INT8 GEMM (kernels/gemm/gemm_i8_tile2d.cl) over packed weights.
#include <fmt/format.h>

#include "ops/gemm_i8/gemm_i8_impl.hpp"

namespace ellesmere::ops {

namespace {

class GemmI8Tile2d final : public GemmI8Impl {
 public:
  std::string name() const override { return "gemm_i8_tile2d"; }
  std::string kernel_file() const override { return "gemm/gemm_i8_tile2d.cl"; }

  // Defaults for GCN: 16 x 16 = 256 work-items (four 64-wide wavefronts), 32 * (64 + 1 + 64) = 4128 bytes of LDS
  // per group (so many groups fit a CU's 64 KB), 4 x 4 accumulators per item.
  ParamSpace space() const override {
    return {{
        {"TM", {16, 32, 64, 128}, 64, "rows of C per work-group"},
        {"TN", {16, 32, 64, 128}, 64, "columns of C per work-group"},
        {"TK", {8, 16, 32, 64, 128}, 32, "k values staged in local memory per step (a multiple of 4)"},
        {"WPT", {1, 2, 4, 8, 16}, 4, "rows of C per work-item"},
        {"VW", {1, 2, 4, 8, 16}, 4, "columns of C per work-item, as one int vector"},
        {"MUL24", {0, 1}, 1, "1: mad24 (full rate on GCN); 0: 32-bit multiply-add"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    const int tm = p.get("TM"), tn = p.get("TN"), tk = p.get("TK"), wpt = p.get("WPT"), vw = p.get("VW");
    if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return fmt::format("VW={} is not 1, 2, 4, 8 or 16", vw);
    if (tm <= 0 || tn <= 0 || tk <= 0 || wpt <= 0) return "TM, TN, TK and WPT must be positive";
    if (tk % 4 != 0) return fmt::format("TK={} is not a multiple of 4", tk);
    if (tn % vw != 0) return fmt::format("TN={} is not a multiple of VW={}", tn, vw);
    if (tm % wpt != 0) return fmt::format("TM={} is not a multiple of WPT={}", tm, wpt);
    const std::size_t rx = std::size_t(tn / vw), ry = std::size_t(tm / wpt);
    if (rx * ry > device.max_work_group_size) {
      return fmt::format("work-group {}x{} = {} items exceeds the device's {}", rx, ry, rx * ry,
                         device.max_work_group_size);
    }
    if (rx > device.max_work_item_sizes[0] || ry > device.max_work_item_sizes[1]) {
      return fmt::format("work-group {}x{} exceeds the device's per-dimension limits", rx, ry);
    }
    const std::uint64_t local = std::uint64_t(tk) * std::uint64_t(tm + 1 + tn);
    if (local > device.local_mem_bytes) {
      return fmt::format("needs {} bytes of local memory, the device has {}", local, device.local_mem_bytes);
    }
    return {};
  }

  std::string applicable(const GemmI8Problem& p, const DeviceInfo&) const override { return common_limits(p); }

  std::vector<LaunchShape> shapes(const GemmI8Problem& p, const Params& params) const override {
    const std::size_t tm = std::size_t(params.get("TM")), tn = std::size_t(params.get("TN"));
    const std::size_t rx = tn / std::size_t(params.get("VW")), ry = tm / std::size_t(params.get("WPT"));
    LaunchShape s;
    s.kernel = "gemm_i8_tile2d";
    s.dims = 2;
    s.local = {rx, ry, 1};
    s.global = {(std::size_t(p.n) + tn - 1) / tn * rx, (std::size_t(p.m) + tm - 1) / tm * ry, 1};
    return {s};
  }
};

}  // namespace

std::unique_ptr<GemmI8Impl> make_gemm_i8_tile2d() { return std::make_unique<GemmI8Tile2d>(); }

}  // namespace ellesmere::ops
