// conv_f16_depthwise Impl: one input channel per group (MobileNet's 3x3 layers), kernels/conv/conv_f16_depthwise.cl.
#include <fmt/format.h>

#include "ops/conv/conv_impl.hpp"

namespace ellesmere::ops {

namespace {

class ConvF16Depthwise final : public ConvImpl {
 public:
  std::string name() const override { return "conv_f16_depthwise"; }
  std::string kernel_file() const override { return "conv/conv_f16_depthwise.cl"; }

  // Defaults for GCN: a lane per output column, 64 columns (one wavefront) per work-group.
  ParamSpace space() const override {
    ParamSpace space{{
        {"VW", {1, 2, 4, 8, 16}, 1, "consecutive output columns per work-item (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"LX", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-group items along the output columns"},
        {"LY", {1, 2, 4, 8, 16}, 1, "work-group items along the output rows"},
        {"RPT", {1, 2, 4, 8}, 1, "output rows per work-item (with XPAD, neighbouring rows share loads and weights)"},
    }};
    for (auto& def : staging_params(true)) space.params.push_back(std::move(def));
    space.params.push_back({"LTILE", {0, 1}, 0,
                            "1: each work-group stages its zero-padded input window in local memory (instead of XPAD)"});
    return space;
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    if (const int rpt = p.get("RPT"); rpt < 1 || rpt > 8) return fmt::format("RPT={} is outside 1..8", rpt);
    if (p.find("LTILE").value_or(0) != 0 && p.find("XPAD").value_or(0) != 0) {
      return "LTILE=1 stages the padded window itself: XPAD must be 0";
    }
    return check_work_group(p.get("LX"), p.get("LY"), device);
  }

  std::string applicable(const ConvProblem& p, const DeviceInfo&) const override {
    if (!p.depthwise()) {
      return fmt::format("not depthwise: groups = {} with C = {}, K = {} (needs groups = C > 1 and K a multiple of C)",
                         p.groups, p.c, p.k);
    }
    return {};
  }

  std::vector<LaunchShape> shapes(const ConvProblem& p, const Params& params) const override {
    const std::size_t vw = std::size_t(params.get("VW"));
    const std::size_t lx = std::size_t(params.get("LX")), ly = std::size_t(params.get("LY"));
    LaunchShape s;
    s.kernel = "conv_f16_depthwise";
    s.dims = 3;
    s.local = {lx, ly, 1};
    const std::size_t rpt = std::size_t(params.get("RPT"));
    if (staged_params(p, params).find("LTILE").value_or(0) != 0) {
      // Whole tiles of LX VW columns x LY RPT rows, per image (kernels/conv/conv_f16_depthwise.cl, LTILE).
      const std::size_t tiles_x = (std::size_t(p.out_w()) + lx * vw - 1) / (lx * vw);
      const std::size_t tiles_y = (std::size_t(p.out_h()) + ly * rpt - 1) / (ly * rpt);
      s.global = {tiles_x * lx, std::size_t(p.n) * tiles_y * ly, std::size_t(p.k)};
    } else {
      s.global = {round_up((std::size_t(p.out_w()) + vw - 1) / vw, lx),
                  round_up(std::size_t(p.n) * ((std::size_t(p.out_h()) + rpt - 1) / rpt), ly), std::size_t(p.k)};
    }
    std::vector<LaunchShape> all = staging_shapes(p, params);
    all.push_back(s);
    return all;
  }

  EventList launch(detail::ContextImpl& ctx, const ConvProblem& p, const Params& params,
                   const ConvArgs& args) const override {
    return launch_single(ctx, p, params, args, shapes(p, params).back());
  }
};

}  // namespace

std::unique_ptr<ConvImpl> make_conv_f16_depthwise() { return std::make_unique<ConvF16Depthwise>(); }

}  // namespace ellesmere::ops
