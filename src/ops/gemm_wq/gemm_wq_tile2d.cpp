// gemm_wq_tile2d Impl: LDS-tiled GEMM over grouped weights for any M (kernels/gemm/gemm_wq_tile2d.cl): each K step
// dequantizes a TK x TN tile of W into local memory once, then runs a float tile product on it.
#include <fmt/format.h>

#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/tile2d.hpp"

namespace ellesmere::ops {

namespace {

class GemmWqTile2d final : public GemmWqImpl {
 public:
  std::string name() const override { return "gemm_wq_tile2d"; }
  std::string kernel_file() const override { return "gemm/gemm_wq_tile2d.cl"; }

  // Defaults for GCN: 16 x 16 = 256 work-items (four 64-wide wavefronts), 4 * 32 * (64 + 1 + 64) = 16.5 KB of LDS
  // per group (three groups per CU's 64 KB), 4 x 4 accumulators per item. TK is a multiple of the 32-weight chunk
  // so each staged chunk has one scale.
  ParamSpace space() const override {
    return {{
        {"TM", {16, 32, 64, 128}, 64, "rows of Y per work-group"},
        {"TN", {16, 32, 64, 128}, 64, "columns of Y (rows of W) per work-group"},
        {"TK", {32, 64, 128}, 32, "k values dequantized into local memory per step (a multiple of 32)"},
        {"WPT", {1, 2, 4, 8, 16}, 4, "rows of Y per work-item"},
        {"VW", {1, 2, 4, 8, 16}, 4, "columns of Y per work-item, as one float vector"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    const std::uint64_t local =
        4 * std::uint64_t(p.get("TK")) * std::uint64_t(p.get("TM") + 1 + p.get("TN"));
    return check_tile2d_params(p, device, local, ELLESMERE_WQ_CHUNK);
  }

  std::string applicable(const GemmWqProblem& p, const DeviceInfo&) const override { return common_limits(p); }

  std::vector<LaunchShape> shapes(const GemmWqProblem& p, const Params& params) const override {
    return {tile2d_shape("gemm_wq_tile2d", p.m, p.n, params)};
  }
};

}  // namespace

std::unique_ptr<GemmWqImpl> make_gemm_wq_tile2d() { return std::make_unique<GemmWqTile2d>(); }

}  // namespace ellesmere::ops
