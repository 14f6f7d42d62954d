// conv_f16_gemm1x1 Impl: a 1x1 unpadded convolution (any stride) as a GEMM per image and group,
// kernels/conv/conv_f16_gemm1x1.cl (ResNet's and MobileNetV2's pointwise layers, ResNet's stride-2 shortcuts).
#include <fmt/format.h>

#include "ops/conv/conv_impl.hpp"

namespace ellesmere::ops {

namespace {

class ConvF16Gemm1x1 final : public ConvImpl {
 public:
  std::string name() const override { return "conv_f16_gemm1x1"; }
  std::string kernel_file() const override { return "conv/conv_f16_gemm1x1.cl"; }

  // Defaults for GCN: a lane per pixel, 64 pixels (one wavefront) per work-group, 4 channels per lane.
  ParamSpace space() const override {
    ParamSpace space{{
        {"VW", {1, 2, 4, 8, 16}, 1, "consecutive pixels per work-item (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"KPT", {1, 2, 4, 8, 16}, 4, "output channels per work-item: each input load feeds KPT multiply-adds"},
        {"LX", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-group items along the pixels"},
    }};
    for (auto& def : staging_params(false)) space.params.push_back(std::move(def));   // unpadded: no XPAD
    space.params.push_back({"XSUB", {0, 1}, 0,
                            "1: a strided layer's used inputs copied into contiguous planes first (whole-vector loads)"});
    return space;
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    return check_work_group(p.get("LX"), 1, device);
  }

  std::string applicable(const ConvProblem& p, const DeviceInfo&) const override {
    if (p.r != 1 || p.s != 1) return fmt::format("the window is {}x{}, not 1x1", p.r, p.s);
    if (p.pad_top != 0 || p.pad_left != 0 || p.pad_bottom != 0 || p.pad_right != 0) return "padded";
    return {};
  }

  std::vector<LaunchShape> shapes(const ConvProblem& p, const Params& params) const override {
    const std::size_t vw = std::size_t(params.get("VW")), kpt = std::size_t(params.get("KPT"));
    const std::size_t lx = std::size_t(params.get("LX"));
    const std::size_t blocks = (std::size_t(p.k_per_group()) + kpt - 1) / kpt;
    LaunchShape s;
    s.kernel = "conv_f16_gemm1x1";
    s.dims = 3;
    s.local = {lx, 1, 1};
    s.global = {round_up((std::size_t(p.out_h() * p.out_w()) + vw - 1) / vw, lx), std::size_t(p.n),
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

std::unique_ptr<ConvImpl> make_conv_f16_gemm1x1() { return std::make_unique<ConvF16Gemm1x1>(); }

}  // namespace ellesmere::ops
