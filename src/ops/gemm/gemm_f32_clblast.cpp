// gemm_f32_clblast Impl: fp32 GEMM through CLBlast (Debian libclblast), the fp32 path every other kernel is
// compared with and the pipeline falls back to. Runs transposed operands too; CLBlast tunes its own kernels.
#include "ops/gemm/gemm_impl.hpp"   // first: it fixes the OpenCL version before clblast.h includes CL/cl.h

#include <clblast.h>

#include <fmt/format.h>

#include "runtime/fault_injection.hpp"

namespace ellesmere::ops {

namespace {

class GemmF32Clblast final : public GemmF32Impl {
 public:
  std::string name() const override { return "gemm_f32_clblast"; }

  std::string applicable(const GemmProblem& p, const DeviceInfo&) const override {
    // CLBlast rejects zero dimensions (kInvalidDimension); BLAS defines K = 0 as C = beta*C.
    if (p.k == 0) return "K = 0 (CLBlast rejects zero dimensions)";
    return {};
  }

  EventList launch(detail::ContextImpl& ctx, const GemmProblem& p, const Params&,
                   const GemmArgs& args) const override {
    return clblast_sgemm(ctx, p, args);
  }
};

}  // namespace

EventList clblast_sgemm(detail::ContextImpl& ctx, const GemmProblem& p, const GemmArgs& args) {
  cl_command_queue queue = ctx.queue();
  EventList events;
  // CLBlast may run several kernels (padding, transposes, then the GEMM) and returns only the last one's event:
  // the marker before it makes span_ns() cover them all.
  events.add(ctx.marker());
  cl_event event = nullptr;
  if (const cl_int injected = runtime::fault::hit(runtime::fault::Site::enqueue); injected != CL_SUCCESS) {
    throw ClError(injected, "clblast::Gemm", fmt::format("{} on {}", p.str(), ctx.info.name));
  }
  auto status = clblast::Gemm<float>(
      clblast::Layout::kRowMajor, p.trans_a ? clblast::Transpose::kYes : clblast::Transpose::kNo,
      p.trans_b ? clblast::Transpose::kYes : clblast::Transpose::kNo, std::size_t(p.m), std::size_t(p.n),
      std::size_t(p.k), args.alpha, args.a, 0, std::size_t(lda_of(p)), args.b, 0, std::size_t(ldb_of(p)),
      args.beta, args.c, 0, std::size_t(p.n), &queue, &event);
  if (status != clblast::StatusCode::kSuccess) {
    if (event) clReleaseEvent(event);
    throw ClError(int(status), "clblast::Gemm", p.str());
  }
  events.add(event);
  return events;
}

std::unique_ptr<GemmF32Impl> make_gemm_f32_clblast() { return std::make_unique<GemmF32Clblast>(); }

}  // namespace ellesmere::ops
