// conv_f16_direct Impl: tiled direct convolution through local memory, kernels/conv/conv_f16_direct.cl. The GPU
// path for windows the specialised Impls do not take.
#include <fmt/format.h>

#include "ops/conv/conv_impl.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::ops {

namespace {

class ConvF16Direct final : public ConvImpl {
 public:
  std::string name() const override { return "conv_f16_direct"; }
  std::string kernel_file() const override { return "conv/conv_f16_direct.cl"; }

  // Defaults for GCN: 16 x 4 items (one wavefront), a tile of 4 rows x 16 columns, 4 channels per item.
  ParamSpace space() const override {
    return {{
        {"VW", {1, 2, 4, 8, 16}, 1, "consecutive output columns per work-item (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"KPT", {1, 2, 4, 8, 16}, 4, "output channels per work-item (shared by the work-group)"},
        {"LX", {1, 2, 4, 8, 16, 32, 64}, 16, "work-group items along the output columns"},
        {"LY", {1, 2, 4, 8, 16}, 4, "work-group items along the output rows"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    return check_work_group(p.get("LX"), p.get("LY"), device);
  }

  // The kernel's local arrays for a problem and Params (kernels/conv/conv_f16_direct.cl: TR, TC).
  static std::size_t local_bytes(const ConvProblem& p, const Params& params) {
    const std::int64_t lx = params.get("LX"), ly = params.get("LY"), vw = params.get("VW"), kpt = params.get("KPT");
    const std::int64_t tr = (ly - 1) * p.stride_h + (p.r - 1) * p.dilation_h + 1;
    const std::int64_t tc = (lx * vw - 1) * p.stride_w + (p.s - 1) * p.dilation_w + 1;
    return std::size_t(tr * tc + kpt * p.r * p.s) * sizeof(float);
  }

  static std::string fits(const ConvProblem& p, const Params& params, const DeviceInfo& device) {
    const std::size_t need = local_bytes(p, params);
    if (need > device.local_mem_bytes) {
      return fmt::format("its tiles need {} bytes of local memory with [{}], the device has {}", need, params.str(),
                         device.local_mem_bytes);
    }
    return {};
  }

  std::string applicable(const ConvProblem& p, const DeviceInfo& device) const override {
    return fits(p, tuning::TuningDb::global().lookup(device, *this, p.str()).params, device);
  }

  std::string suited(const ConvProblem&, const DeviceInfo& device) const override {
    if (device.type == DeviceType::cpu) {
      return "on a CPU device the caches already serve the reuse that local memory buys a GPU, and the barriers cost: "
             "conv_f16_igemm is faster";
    }
    return {};
  }

  std::vector<LaunchShape> shapes(const ConvProblem& p, const Params& params) const override {
    const std::size_t vw = std::size_t(params.get("VW")), kpt = std::size_t(params.get("KPT"));
    const std::size_t lx = std::size_t(params.get("LX")), ly = std::size_t(params.get("LY"));
    const std::size_t blocks = (std::size_t(p.k_per_group()) + kpt - 1) / kpt;
    const std::size_t tiles_x = (std::size_t(p.out_w()) + lx * vw - 1) / (lx * vw);
    const std::size_t tiles_y = (std::size_t(p.out_h()) + ly - 1) / ly;
    LaunchShape s;
    s.kernel = "conv_f16_direct";
    s.dims = 3;
    s.local = {lx, ly, 1};
    s.global = {tiles_x * lx, std::size_t(p.n) * tiles_y * ly, std::size_t(p.groups) * blocks};
    return {s};
  }

  EventList launch(detail::ContextImpl& ctx, const ConvProblem& p, const Params& params,
                   const ConvArgs& args) const override {
    if (auto why = fits(p, params, ctx.info); !why.empty()) throw NotSupported(fmt::format("{} {}: {}", name(), p.str(), why));
    return launch_single(ctx, p, params, args, shapes(p, params).front());
  }
};

}  // namespace

std::unique_ptr<ConvImpl> make_conv_f16_direct() { return std::make_unique<ConvF16Direct>(); }

}  // namespace ellesmere::ops
