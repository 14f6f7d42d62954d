// conv_f16_winograd and conv_f16_winograd4 Impls: Winograd F(2x2, 3x3) and F(4x4, 3x3) for 3x3, stride-1, undilated
// layers, kernels/conv/conv_f16_winograd.cl built with WINO_M = 2 or 4 (filter transform, input transform, 16 or 36
// products, output transform, all in each call and its time).
#include <fmt/format.h>

#include "ops/conv/conv_impl.hpp"
#include "runtime/cl.hpp"

namespace ellesmere::ops {

namespace {

class ConvF16Winograd final : public ConvImpl {
 public:
  // m: the output tile's side (2 or 4).
  explicit ConvF16Winograd(int m) : m_(m) {}

  // Work-group size of the three transforms (one tile or filter per item, no tuning of their own): a wavefront on
  // GCN; on PoCL, small groups (the product's LX) cost a work-group loop each (LX=4: 2.0 ms input transform
  // against ... ms at 64 on the 56x56x64 layer).
  static constexpr std::size_t kTransformItems = 64;

  std::string name() const override { return m_ == 2 ? "conv_f16_winograd" : "conv_f16_winograd4"; }
  std::string kernel_file() const override { return "conv/conv_f16_winograd.cl"; }

  // Defaults for GCN: a lane per tile, 64 tiles (one wavefront) per work-group, 4 channels per lane.
  ParamSpace space() const override {
    return {{
        {"VW", {1, 2, 4, 8, 16}, 1, "tiles per work-item in the product (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"KPT", {1, 2, 4, 8, 16}, 4, "output channels per work-item in the product"},
        {"LX", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-group items along the tiles"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    if (auto why = check_work_group(p.get("LX"), 1, device); !why.empty()) return why;
    return check_work_group(int(kTransformItems), 1, device);
  }

  std::string applicable(const ConvProblem& p, const DeviceInfo&) const override {
    if (p.r != 3 || p.s != 3) return fmt::format("the window is {}x{}, not 3x3", p.r, p.s);
    if (p.stride_h != 1 || p.stride_w != 1) return fmt::format("stride {}x{}, not 1", p.stride_h, p.stride_w);
    if (p.dilation_h != 1 || p.dilation_w != 1) return fmt::format("dilation {}x{}, not 1", p.dilation_h, p.dilation_w);
    const double limit = 2147483647.0;
    // U holds K rounded up to KPT (16 at most) per group.
    if (double(components()) * double(std::max(p.c, p.k + 15 * p.groups)) * double(std::max(tiles(p), p.c_per_group())) >= limit) {
      return "its transformed tiles would have 2^31 or more elements";
    }
    return {};
  }

  std::string suited(const ConvProblem& p, const DeviceInfo&) const override {
    if (p.c_per_group() < 16 || p.k_per_group() < 16) {
      return fmt::format("{} input and {} output channels per group: too few for the saved multiplies to pay for the "
                         "transforms",
                         p.c_per_group(), p.k_per_group());
    }
    // F(4x4): a 4x4 tile per VW-wide vector lane wastes lanes and its 36-value filter transform (per call, over
    // K x C) outweighs the saved multiplies on small images. Measured on PoCL (bench_conv, same run): 56x56x64
    // 2.7 vs 3.9 ms for F(2x2), 28x28x128 even, 14x14x256 9.8 vs 6.5 ms, 7x7x512 33 vs 12 ms.
    if (m_ == 4 && tiles_h(p) * tiles_w(p) < kMinTilesF4) {
      return fmt::format("{}x{} outputs per image: {} tiles of 4x4, fewer than {} (F(2x2) suits small images)",
                         p.out_h(), p.out_w(), tiles_h(p) * tiles_w(p), kMinTilesF4);
    }
    return {};
  }
  static constexpr std::int64_t kMinTilesF4 = 64;   // 32x32 outputs

  std::int64_t tiles_h(const ConvProblem& p) const { return (p.out_h() + m_ - 1) / m_; }
  std::int64_t tiles_w(const ConvProblem& p) const { return (p.out_w() + m_ - 1) / m_; }
  std::int64_t tiles(const ConvProblem& p) const { return p.n * tiles_h(p) * tiles_w(p); }
  // Transformed values per tile: (m + 2)^2.
  std::int64_t components() const { return (m_ + 2) * (m_ + 2); }

  // Beyond X, W and Y: U, V and M in fp32, each written once and read once.
  Traffic traffic(const ConvProblem& p, const Params& params) const override {
    Traffic t = ConvImpl::traffic(p, params);
    const double e = double(components());
    const double u = e * double(p.k * p.c_per_group()), v = e * double(p.c * tiles(p)), m = e * double(p.k * tiles(p));
    t.bytes += 2.0 * 4.0 * (u + v + m);
    return t;
  }

  std::vector<LaunchShape> shapes(const ConvProblem& p, const Params& params) const override {
    const std::size_t vw = std::size_t(params.get("VW")), kpt = std::size_t(params.get("KPT"));
    const std::size_t lx = std::size_t(params.get("LX")), tlx = kTransformItems;
    const std::size_t t = std::size_t(tiles(p)), blocks = (std::size_t(p.k_per_group()) + kpt - 1) / kpt;
    // The filter transform: VW input channels x each group's blocks of KPT output channels per item.
    const std::size_t channel_items = (std::size_t(p.c_per_group()) + vw - 1) / vw;
    LaunchShape filter{"conv_f16_winograd_filter", 2,
                       {round_up(channel_items, tlx), std::size_t(p.groups) * blocks, 1}, {tlx, 1, 1}};
    // The input and output transforms: VW tiles of one row of tiles per item.
    const std::size_t items = std::size_t(p.n * tiles_h(p)) * ((std::size_t(tiles_w(p)) + vw - 1) / vw);
    LaunchShape input{"conv_f16_winograd_input", 2, {round_up(items, tlx), std::size_t(p.c), 1}, {tlx, 1, 1}};
    LaunchShape product{"conv_f16_winograd_product", 3,
                        {round_up((t + vw - 1) / vw, lx), 1, std::size_t(components() * p.groups) * blocks},
                        {lx, 1, 1}};
    LaunchShape output{"conv_f16_winograd_output", 2, {round_up(items, tlx), std::size_t(p.k), 1}, {tlx, 1, 1}};
    return {filter, input, product, output};
  }

  EventList launch(detail::ContextImpl& ctx, const ConvProblem& p, const Params& params,
                   const ConvArgs& a) const override {
    const auto s = shapes(p, params);
    const std::string opts = build_options(p.str(), params) + a.storage_defines();
    const std::string what = fmt::format("{} {} [{}]", name(), p.str(), params.str());
    const std::int64_t t = tiles(p), cg = p.c_per_group();
    // Kept by the Context for the next call: allocating them per call costs more than small layers take.
    const std::int64_t kpt = params.get("KPT"), padded_k = p.groups * ((p.k_per_group() + kpt - 1) / kpt) * kpt;
    // (Both Impls share them: one call at a time per Context.)
    const std::int64_t e = components();
    cl::Buffer& u = ctx.scratch("conv_f16_winograd U", std::size_t(e * padded_k * cg) * sizeof(float));
    cl::Buffer& v = ctx.scratch("conv_f16_winograd V", std::size_t(e * p.c * t) * sizeof(float));
    cl::Buffer& m = ctx.scratch("conv_f16_winograd M", std::size_t(e * p.k * t) * sizeof(float));
    EventList events;
    const auto run = [&](const LaunchShape& shape, cl::Kernel& k) {
      detail::track(events, ctx.launch(k, cl::NDRange(shape.global[0], shape.global[1], shape.global[2]),
                                       cl::NDRange(shape.local[0], shape.local[1], shape.local[2]),
                                       shape.kernel + " " + what));
    };
    cl::Kernel& kf = ctx.kernel(kernel_file(), s[0].kernel, opts);
    detail::set_args(kf, name(), cl_int(p.k), cl_int(cg), cl_int(p.groups), a.w, u());
    run(s[0], kf);
    cl::Kernel& ki = ctx.kernel(kernel_file(), s[1].kernel, opts);
    detail::set_args(ki, name(), cl_int(p.n), cl_int(p.c), cl_int(p.h), cl_int(p.w), cl_int(tiles_h(p)),
                     cl_int(tiles_w(p)), cl_int(p.pad_top), cl_int(p.pad_left), a.x, v());
    run(s[1], ki);
    cl::Kernel& kp = ctx.kernel(kernel_file(), s[2].kernel, opts);
    detail::set_args(kp, name(), cl_int(p.k), cl_int(cg), cl_int(p.groups), cl_int(t), u(), v(), m());
    run(s[2], kp);
    cl::Kernel& ko = ctx.kernel(kernel_file(), s[3].kernel, opts);
    detail::set_args(ko, name(), cl_int(p.n), cl_int(p.k), cl_int(p.out_h()), cl_int(p.out_w()), cl_int(tiles_h(p)),
                     cl_int(tiles_w(p)), m(), a.bias, a.residual, a.epilogue_flags(), a.clip_min, a.clip_max, a.y);
    run(s[3], ko);
    return events;
  }

  // The problem adds no defines (the kernels are written for 3x3, stride 1); the tile size and the transforms'
  // work-group size do.
  std::string build_options(std::string_view, const Params& params) const override {
    return fmt::format("{} -DWINO_M={} -DTLX={}", params.defines(), m_, kTransformItems);
  }

 private:
  int m_;
};

}  // namespace

std::unique_ptr<ConvImpl> make_conv_f16_winograd() { return std::make_unique<ConvF16Winograd>(2); }
std::unique_ptr<ConvImpl> make_conv_f16_winograd4() { return std::make_unique<ConvF16Winograd>(4); }

}  // namespace ellesmere::ops
