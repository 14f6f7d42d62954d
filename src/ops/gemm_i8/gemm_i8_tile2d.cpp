// gemm_i8_tile2d Impl: LDS-tiled INT8 GEMM (kernels/gemm/gemm_i8_tile2d.cl) over packed weights.
#include <fmt/format.h>

#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/tile2d.hpp"

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
    const std::uint64_t local = std::uint64_t(p.get("TK")) * std::uint64_t(p.get("TM") + 1 + p.get("TN"));
    return check_tile2d_params(p, device, local, 4);
  }

  std::string applicable(const GemmI8Problem& p, const DeviceInfo&) const override { return common_limits(p); }

  std::vector<LaunchShape> shapes(const GemmI8Problem& p, const Params& params) const override {
    return {tile2d_shape("gemm_i8_tile2d", p.m, p.n, params)};
  }
};

}  // namespace

std::unique_ptr<GemmI8Impl> make_gemm_i8_tile2d() { return std::make_unique<GemmI8Tile2d>(); }

}  // namespace ellesmere::ops
