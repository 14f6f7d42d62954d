// gemm_f32_tile2d Impl: LDS-tiled fp32 GEMM (kernels/gemm/gemm_f32_tile2d.cl), row-major, transposes as defines.
#include <fmt/format.h>

#include "ops/gemm/gemm_impl.hpp"

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
    const int tm = p.get("TM"), tn = p.get("TN"), tk = p.get("TK"), wpt = p.get("WPT"), vw = p.get("VW");
    if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return fmt::format("VW={} is not 1, 2, 4, 8 or 16", vw);
    if (tm <= 0 || tn <= 0 || tk <= 0 || wpt <= 0) return "TM, TN, TK and WPT must be positive";
    if (tn % vw != 0) return fmt::format("TN={} is not a multiple of VW={}", tn, vw);
    if (tm % wpt != 0) return fmt::format("TM={} is not a multiple of WPT={}", tm, wpt);
    const std::size_t rx = std::size_t(tn / vw), ry = std::size_t(tm / wpt);
    if (rx * ry > device.max_work_group_size) {
      return fmt::format("work-group {}x{} = {} items exceeds the device's {}", rx, ry, rx * ry,
                         device.max_work_group_size);
    }
    if (rx > device.max_work_item_sizes[0] || ry > device.max_work_item_sizes[1]) {
      return fmt::format("work-group {}x{} exceeds the device's per-dimension limits {}x{}", rx, ry,
                         device.max_work_item_sizes[0], device.max_work_item_sizes[1]);
    }
    const std::uint64_t local = local_bytes(p);
    if (local > device.local_mem_bytes) {
      return fmt::format("needs {} bytes of local memory, the device has {}", local, device.local_mem_bytes);
    }
    return {};
  }

  std::string applicable(const GemmProblem& p, const DeviceInfo&) const override {
    if (p.m * p.k >= kMaxIndex || p.k * p.n >= kMaxIndex || p.m * p.n >= kMaxIndex) {
      return "an operand has 2^31 or more elements (the kernel indexes with 32-bit ints)";
    }
    return {};
  }

  std::vector<LaunchShape> shapes(const GemmProblem& p, const Params& params) const override {
    const std::size_t tm = std::size_t(params.get("TM")), tn = std::size_t(params.get("TN"));
    const std::size_t rx = tn / std::size_t(params.get("VW")), ry = tm / std::size_t(params.get("WPT"));
    LaunchShape s;
    s.kernel = "gemm_f32_tile2d";
    s.dims = 2;
    s.local = {rx, ry, 1};
    s.global = {(std::size_t(p.n) + tn - 1) / tn * rx, (std::size_t(p.m) + tm - 1) / tm * ry, 1};
    return {s};
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
