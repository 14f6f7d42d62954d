// conv_f16_igemm Impl: implicit GEMM straight from X, kernels/conv/conv_f16_igemm.cl. The general path: it runs
// every problem, and is the one a CPU device uses for most layers.
#include <fmt/format.h>

#include "ops/conv/conv_impl.hpp"

namespace ellesmere::ops {

namespace {

class ConvF16Igemm final : public ConvImpl {
 public:
  std::string name() const override { return "conv_f16_igemm"; }
  std::string kernel_file() const override { return "conv/conv_f16_igemm.cl"; }

  // Defaults for GCN: a lane per output column, 64 columns (one wavefront) per work-group, 4 channels per lane.
  ParamSpace space() const override {
    ParamSpace space{{
        {"VW", {1, 2, 4, 8, 16}, 1, "consecutive output columns per work-item (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"KPT", {1, 2, 4, 8, 16}, 4, "output channels per work-item: each input load feeds KPT multiply-adds"},
        {"LX", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-group items along the output columns"},
        {"LY", {1, 2, 4, 8, 16}, 1, "work-group items along the output rows"},
    }};
    for (auto& def : staging_params(true)) space.params.push_back(std::move(def));
    return space;
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    return check_work_group(p.get("LX"), p.get("LY"), device);
  }

  std::string applicable(const ConvProblem&, const DeviceInfo&) const override { return {}; }

  std::vector<LaunchShape> shapes(const ConvProblem& p, const Params& params) const override {
    const std::size_t vw = std::size_t(params.get("VW")), kpt = std::size_t(params.get("KPT"));
    const std::size_t lx = std::size_t(params.get("LX")), ly = std::size_t(params.get("LY"));
    const std::size_t blocks = (std::size_t(p.k_per_group()) + kpt - 1) / kpt;
    LaunchShape s;
    s.kernel = "conv_f16_igemm";
    s.dims = 3;
    s.local = {lx, ly, 1};
    s.global = {round_up((std::size_t(p.out_w()) + vw - 1) / vw, lx), round_up(std::size_t(p.n * p.out_h()), ly),
                std::size_t(p.groups) * blocks};
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

std::unique_ptr<ConvImpl> make_conv_f16_igemm() { return std::make_unique<ConvF16Igemm>(); }

}  // namespace ellesmere::ops
