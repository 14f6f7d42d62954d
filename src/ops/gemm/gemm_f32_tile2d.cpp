// gemm_f32_tile2d Impl: LDS-tiled fp32 GEMM (kernels/gemm/gemm_f32_tile2d.cl), row-major, transposes as defines.
#include <fmt/format.h>

#include "ops/gemm/gemm_impl.hpp"
#include "ops/tile2d.hpp"

namespace ellesmere::ops {

namespace {

constexpr std::int64_t kMaxIndex = std::int64_t(1) << 31;   // the kernel indexes with 32-bit ints

class GemmF32Tile2d final : public GemmF32Impl {
 public:
  std::string name() const override { return "gemm_f32_tile2d"; }
  std::string kernel_file() const override { return "gemm/gemm_f32_tile2d.cl"; }

  ParamSpace space() const override {
    return {{
        {"TM", {16, 32, 64, 128}, 64, "rows of C per work-group"},
        {"TN", {16, 32, 64, 128}, 64, "columns of C per work-group"},
        {"TK", {4, 8, 16, 32}, 16, "depth of the K step staged in local memory"},
        {"WPT", {1, 2, 4, 8, 16}, 8, "rows of C per work-item"},
        {"VW", {1, 2, 4, 8, 16}, 4, "columns of C per work-item, as one float vector"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    return check_tile2d_params(p, device, local_bytes(p));
  }

  std::string applicable(const GemmProblem& p, const DeviceInfo&) const override {
    if (p.m * p.k >= kMaxIndex || p.k * p.n >= kMaxIndex || p.m * p.n >= kMaxIndex) {
      return "an operand has 2^31 or more elements (the kernel indexes with 32-bit ints)";
    }
    return {};
  }

  std::vector<LaunchShape> shapes(const GemmProblem& p, const Params& params) const override {
    return {tile2d_shape("gemm_f32_tile2d", p.m, p.n, params)};
  }

  EventList launch(detail::ContextImpl& ctx, const GemmProblem& p, const Params& params,
                   const GemmArgs& args) const override {
    const LaunchShape s = shapes(p, params).front();
    cl::Kernel& k = ctx.kernel(kernel_file(), s.kernel, build_options(p, params));
    const cl_int m = cl_int(p.m), n = cl_int(p.n), kk = cl_int(p.k);
    const cl_int lda = lda_of(p), ldb = ldb_of(p), ldc = cl_int(p.n);
    detail::set_args(k, name(), m, n, kk, args.alpha, args.beta, args.a, lda, args.b, ldb, args.c, ldc);
    EventList events;
    detail::track(events, ctx.launch(k, cl::NDRange(s.global[0], s.global[1]), cl::NDRange(s.local[0], s.local[1]),
                                     fmt::format("{} {} [{}]", name(), p.str(), params.str())));
    return events;
  }

 private:
  static std::uint64_t local_bytes(const Params& p) {
    const std::uint64_t tm = std::uint64_t(p.get("TM")), tn = std::uint64_t(p.get("TN"));
    const std::uint64_t tk = std::uint64_t(p.get("TK"));
    return 4 * tk * (tm + 1 + tn);
  }
};

}  // namespace

std::unique_ptr<GemmF32Impl> make_gemm_f32_tile2d() { return std::make_unique<GemmF32Tile2d>(); }

}  // namespace ellesmere::ops
