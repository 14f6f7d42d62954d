// The ordered list of FP16 convolution Impls and what they share: traffic, defines, limits, the single-kernel
// launch. Adding a variant: one .cl, one Impl file, one line here.
#include <fmt/format.h>

#include "ops/conv/conv_impl.hpp"

namespace ellesmere::ops {

const std::vector<std::unique_ptr<ConvImpl>>& conv_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<ConvImpl>>();
    l->push_back(make_conv_f16_winograd4());   // 3x3, stride 1, no dilation, enough channels: 4x fewer multiplies
    l->push_back(make_conv_f16_winograd());    // the same layers when F(4x4)'s tiles would be mostly padding
    l->push_back(make_conv_f16_depthwise());   // one input channel per group (MobileNet)
    l->push_back(make_conv_f16_gemm1x1());     // 1x1, no padding: a plain GEMM per image
    l->push_back(make_conv_f16_direct());      // input tiles in local memory (GPUs)
    l->push_back(make_conv_f16_igemm());       // everything else: implicit GEMM straight from X
    return l;
  }();
  return *list;
}

cl_int ConvArgs::epilogue_flags() const {
  cl_int f = 0;
  if (bias != nullptr) f |= 1;
  if (residual != nullptr) f |= 2;
  if (activation == ConvEpilogue::Activation::relu) f |= 4;
  if (activation == ConvEpilogue::Activation::clip) f |= 8;
  return f;
}

Traffic ConvImpl::traffic(const ConvProblem& p) const {
  return {p.flops(), 2.0 * double(p.input_elements() + p.weight_elements() + p.output_elements())};
}

std::vector<LaunchShape> ConvImpl::launch_shapes(std::string_view problem, const Params& params) const {
  return shapes(ConvProblem::parse(problem), params);
}

std::string ConvImpl::window_defines(const ConvProblem& p) {
  return fmt::format(" -DR={} -DS={} -DSU={} -DSV={} -DDH={} -DDW={}", p.r, p.s, p.stride_h, p.stride_w, p.dilation_h,
                     p.dilation_w);
}

std::string ConvImpl::build_options(std::string_view problem, const Params& params) const {
  return params.defines() + window_defines(ConvProblem::parse(problem));
}

std::string ConvImpl::check_vector_params(const Params& p) {
  const int vw = p.get("VW");
  if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return fmt::format("VW={} is not 1, 2, 4, 8 or 16", vw);
  if (const auto kpt = p.find("KPT"); kpt && (*kpt < 1 || *kpt > 32)) return fmt::format("KPT={} is outside 1..32", *kpt);
  return {};
}

std::string ConvImpl::check_work_group(int lx, int ly, const DeviceInfo& device) {
  if (lx < 1 || ly < 1) return "LX and LY must be positive";
  const std::size_t items = std::size_t(lx) * std::size_t(ly);
  if (items > device.max_work_group_size) {
    return fmt::format("work-group {}x{} = {} items exceeds the device's {}", lx, ly, items, device.max_work_group_size);
  }
  if (std::size_t(lx) > device.max_work_item_sizes[0] || std::size_t(ly) > device.max_work_item_sizes[1]) {
    return fmt::format("work-group {}x{} exceeds the device's per-dimension limits", lx, ly);
  }
  return {};
}

EventList ConvImpl::launch_single(detail::ContextImpl& ctx, const ConvProblem& p, const Params& params,
                                  const ConvArgs& a, const LaunchShape& s) const {
  cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel, params.defines() + window_defines(p) + a.storage_defines());
  detail::set_args(k, name(), cl_int(p.n), cl_int(p.c), cl_int(p.h), cl_int(p.w), cl_int(p.k), cl_int(p.out_h()),
                   cl_int(p.out_w()), cl_int(p.pad_top), cl_int(p.pad_left), cl_int(p.groups), a.x, a.w, a.bias,
                   a.residual, a.epilogue_flags(), a.clip_min, a.clip_max, a.y);
  EventList events;
  detail::track(events, ctx.launch(k, cl::NDRange(s.global[0], s.global[1], s.global[2]),
                                   cl::NDRange(s.local[0], s.local[1], s.local[2]),
                                   fmt::format("{} {} [{}]", name(), p.str(), params.str())));
  return events;
}

}  // namespace ellesmere::ops
