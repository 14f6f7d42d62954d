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

Traffic ConvImpl::traffic(const ConvProblem& p, const Params& params) const {
  return {p.flops(), 2.0 * double(p.input_elements() + p.weight_elements() + p.output_elements()) +
                         staging_bytes(p, params)};
}

// ---- staging passes (kernels/conv/conv_staging.h) ---------------------------------------------------------------

namespace {

bool param_on(const Params& params, std::string_view name) {
  const auto v = params.find(name);
  return v && *v != 0;
}

// The packed weights' block (the Impl's KPT, 1 where it has none) and the number of blocks per group.
std::int64_t pack_block(const Params& params) { return params.find("KPT").value_or(1); }
std::int64_t pack_blocks(const ConvProblem& p, const Params& params) {
  return (p.k_per_group() + pack_block(params) - 1) / pack_block(params);
}
std::int64_t packed_weight_elements(const ConvProblem& p, const Params& params) {
  return p.groups * pack_blocks(p, params) * p.c_per_group() * p.r * p.s * pack_block(params);
}

// The padded copy's plane (kernels/conv/conv_staging.h says what it holds).
struct PaddedPlane {
  std::int64_t h, w;
};
// With RPT output rows per item (depthwise), the plane holds whole blocks of RPT rows.
PaddedPlane padded_plane(const ConvProblem& p, const Params& params) {
  const std::int64_t vw = params.get("VW"), rpt = params.find("RPT").value_or(1);
  return {((p.out_h() + rpt - 1) / rpt * rpt - 1) * p.stride_h + (p.r - 1) * p.dilation_h + 1,
          (p.out_w() + vw - 1) / vw * vw * p.stride_w + (p.s - 1) * p.dilation_w};
}

constexpr std::size_t kStagingItems = 64;   // work-group size of the staging passes: a wavefront; any size works
// The padded copy of X and the packed weights are indexed with 32-bit ints in the kernels.
constexpr double kIndexLimit = 2147483647.0;

// conv_f16_depthwise's LTILE=1 tile (kernels/conv/conv_f16_depthwise.cl: TR x TC inputs), in bytes at fp32 storage
// (the larger).
double local_tile_bytes(const ConvProblem& p, const Params& params) {
  const double lx = double(params.get("LX")), ly = double(params.get("LY")), vw = double(params.get("VW"));
  const double rpt = double(params.find("RPT").value_or(1));
  const double rows = (ly * rpt - 1) * double(p.stride_h) + double(p.r - 1) * double(p.dilation_h) + 1;
  // (At stride 2 the kernel keeps even and odd columns apart: one column more when their count is odd.)
  const double cols =
      lx * vw * double(p.stride_w) + double(p.s - 1) * double(p.dilation_w) + (p.stride_w == 2 ? 1.0 : 0.0);
  return rows * cols * 4.0;
}

// OpenCL 1.2 guarantees every device 32 KiB of local memory (GCN has 64 KiB per CU): a tile within it builds
// everywhere.
constexpr double kLocalTileLimit = 32768.0;

}  // namespace

std::vector<ParamDef> ConvImpl::staging_params(bool with_input_padding) {
  std::vector<ParamDef> defs = {
      {"WPACK", {0, 1}, 0, "1: weights from a per-call fp32 copy packed per channel block (devices converting half in software)"}};
  if (with_input_padding) {
    defs.push_back({"XPAD", {0, 1}, 0, "1: inputs from a per-call zero-padded copy of X: whole-vector loads, no edge tests"});
  }
  return defs;
}

Params ConvImpl::staged_params(const ConvProblem& p, const Params& params) {
  Params staged = params;
  // An input window too large for local memory (wide dilations or strides) is read from X instead.
  if (param_on(params, "LTILE") && local_tile_bytes(p, params) > kLocalTileLimit) staged.set("LTILE", 0);
  if (param_on(params, "WPACK") && double(packed_weight_elements(p, params)) >= kIndexLimit) staged.set("WPACK", 0);
  // A stride-1 layer's pixels are contiguous already (the subsampled copy is smaller than X: no index limit).
  if (param_on(params, "XSUB") && p.stride_h == 1 && p.stride_w == 1) staged.set("XSUB", 0);
  if (param_on(params, "XPAD")) {
    const PaddedPlane pp = padded_plane(p, params);
    if (double(p.n * p.c) * double(pp.h) * double(pp.w) >= kIndexLimit) staged.set("XPAD", 0);
  }
  return staged;
}

std::vector<LaunchShape> ConvImpl::staging_shapes(const ConvProblem& p, const Params& requested) {
  const Params params = staged_params(p, requested);
  std::vector<LaunchShape> shapes;
  if (param_on(params, "WPACK")) {
    // (16 taps of one padded output channel per item: PACK_TAPS in conv_staging.h.)
    const std::size_t tap_chunks = std::size_t(p.c_per_group() * p.r * p.s + 15) / 16;
    const std::size_t channels = std::size_t(p.groups * pack_blocks(p, params) * pack_block(params));
    shapes.push_back({"conv_f16_pack_weights", 2, {round_up(tap_chunks, 4), round_up(channels, 16), 1}, {4, 16, 1}});
  }
  if (param_on(params, "XSUB")) {
    shapes.push_back({"conv_f16_subsample_input", 3,
                      {round_up(std::size_t(p.out_w()), kStagingItems), std::size_t(p.out_h()), std::size_t(p.n * p.c)},
                      {kStagingItems, 1, 1}});
  }
  if (param_on(params, "XPAD")) {
    const PaddedPlane pp = padded_plane(p, params);
    shapes.push_back({"conv_f16_pad_input", 3,
                      {round_up(std::size_t(pp.w), kStagingItems), std::size_t(pp.h), std::size_t(p.n * p.c)},
                      {kStagingItems, 1, 1}});
  }
  return shapes;
}

double ConvImpl::staging_bytes(const ConvProblem& p, const Params& requested, bool f32_storage) {
  const Params params = staged_params(p, requested);
  const double element = f32_storage ? 4.0 : 2.0;
  double bytes = 0;
  if (param_on(params, "WPACK")) {
    // W read by the pack pass (X, W and Y's one read each are counted already), the fp32 copy written, then read
    // by the main kernel.
    bytes += 2.0 * 4.0 * double(packed_weight_elements(p, params));
  }
  if (param_on(params, "XSUB")) {
    bytes += element * 2.0 * double(p.n * p.c * p.out_h() * p.out_w());   // written, then read instead of X
  }
  if (param_on(params, "XPAD")) {
    const PaddedPlane pp = padded_plane(p, params);
    const double padded = double(p.n * p.c) * double(pp.h) * double(pp.w);
    bytes += element * 2.0 * padded;   // written, then read instead of X (X's one read is already counted)
  }
  return bytes;
}

std::vector<LaunchShape> ConvImpl::launch_shapes(std::string_view problem, const Params& params) const {
  return shapes(ConvProblem::parse(problem), params);
}

std::string ConvImpl::window_defines(const ConvProblem& p) {
  return fmt::format(" -DR={} -DS={} -DSU={} -DSV={} -DDH={} -DDW={}", p.r, p.s, p.stride_h, p.stride_w, p.dilation_h,
                     p.dilation_w);
}

// The program launch_single builds: the staged Params' defines (a tile or copy dropped by staged_params is not
// compiled in, so that limit checks see the kernel that runs).
std::string ConvImpl::build_options(std::string_view problem, const Params& params) const {
  const ConvProblem p = ConvProblem::parse(problem);
  return staged_params(p, params).defines() + window_defines(p);
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

EventList ConvImpl::launch_single(detail::ContextImpl& ctx, const ConvProblem& p, const Params& requested,
                                  const ConvArgs& a, const LaunchShape& s) const {
  const Params params = staged_params(p, requested);
  const std::string options = params.defines() + window_defines(p) + a.storage_defines();
  const std::string what = fmt::format("{} {} [{}]", name(), p.str(), params.str());
  EventList events;
  const auto run = [&](cl::Kernel& k, const LaunchShape& shape) {
    detail::track(events, ctx.launch(k, cl::NDRange(shape.global[0], shape.global[1], shape.global[2]),
                                     cl::NDRange(shape.local[0], shape.local[1], shape.local[2]),
                                     shape.kernel == s.kernel ? what : shape.kernel + " " + what));
  };
  // What the main kernel reads: X and W, or their staged copies (scratch buffers the Context keeps for the next
  // call; one call at a time per Context).
  cl_mem x = a.x, w = a.w;
  std::int64_t h = p.h, width = p.w, pad_top = p.pad_top, pad_left = p.pad_left;
  for (const LaunchShape& stage : staging_shapes(p, params)) {
    cl::Kernel& k = ctx.kernel(kernel_file(), stage.kernel, options);
    if (stage.kernel == "conv_f16_pack_weights") {
      cl::Buffer& packed = ctx.scratch("conv_f16 packed W",
                                       std::size_t(packed_weight_elements(p, params)) * sizeof(float));
      detail::set_args(k, name(), cl_int(p.k_per_group()), cl_int(p.c_per_group() * p.r * p.s), cl_int(p.groups),
                       a.w, packed());
      w = packed();
    } else if (stage.kernel == "conv_f16_subsample_input") {
      cl::Buffer& sub = ctx.scratch("conv_f16 subsampled X", std::size_t(p.n * p.c * p.out_h() * p.out_w()) *
                                                               (a.f32_storage ? sizeof(float) : sizeof(std::uint16_t)));
      detail::set_args(k, name(), cl_int(p.h), cl_int(p.w), cl_int(p.out_h()), cl_int(p.out_w()), cl_int(p.n * p.c),
                       a.x, sub());
      x = sub();
      h = p.out_h(), width = p.out_w();
    } else {
      const PaddedPlane pp = padded_plane(p, params);
      cl::Buffer& padded = ctx.scratch("conv_f16 padded X", std::size_t(p.n * p.c * pp.h * pp.w) *
                                                                 (a.f32_storage ? sizeof(float) : sizeof(std::uint16_t)));
      detail::set_args(k, name(), cl_int(p.h), cl_int(p.w), cl_int(pp.h), cl_int(pp.w), cl_int(p.pad_top),
                       cl_int(p.pad_left), cl_int(p.n * p.c), a.x, padded());
      x = padded();
      h = pp.h, width = pp.w, pad_top = 0, pad_left = 0;
    }
    run(k, stage);
  }
  cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel, options);
  detail::set_args(k, name(), cl_int(p.n), cl_int(p.c), cl_int(h), cl_int(width), cl_int(p.k), cl_int(p.out_h()),
                   cl_int(p.out_w()), cl_int(pad_top), cl_int(pad_left), cl_int(p.groups), x, w, a.bias, a.residual,
                   a.epilogue_flags(), a.clip_min, a.clip_max, a.y);
  run(k, s);
  return events;
}

}  // namespace ellesmere::ops
