// spmm_csr_f32_balanced Impl: the nonzeros split into equal chunks, two kernels (chunks, then the rows split between
// chunks), kernels/spmm/spmm_csr_f32_balanced.cl. Chosen for skewed (power-law) row lengths.
#include <algorithm>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "ops/spmm/spmm_impl.hpp"
#include "runtime/fault_injection.hpp"

namespace ellesmere::ops {

namespace {

class SpmmCsrF32Balanced final : public SpmmImpl {
 public:
  std::string name() const override { return "spmm_csr_f32_balanced"; }
  std::string kernel_file() const override { return "spmm/spmm_csr_f32_balanced.cl"; }

  // Defaults for GCN: 64 chunks (one wavefront) per work-group, 32 nonzeros per lane.
  ParamSpace space() const override {
    return {{
        {"VW", {1, 2, 4, 8, 16}, 1, "columns per vector (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"WPT", {1, 2, 4}, 1, "vectors per work-item: a column block is VW * WPT columns"},
        {"CH", {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}, 32, "nonzeros per work-item"},
        {"LC", {1, 2, 4, 8, 16, 32, 64}, 1, "work-group items along the column blocks"},
        {"LR", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-group items along the chunks / rows"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    const int ch = p.get("CH"), lc = p.get("LC"), lr = p.get("LR");
    if (ch < 1) return fmt::format("CH={} must be positive", ch);
    return check_work_group(lc, lr, device);
  }

  std::string suited(const SpmmProblem& p, const DeviceInfo& device) const override {
    if (device.type == DeviceType::cpu) {
      // Measured on pocl-cpu-haswell-2cu, R-MAT 4096 x 4096 at 10 %: 5.1 ms (row) vs 8.1 ms (this) at N = 64.
      return "on a CPU device cores take work-groups as they free up and a long row costs only its own work: one "
             "work-item per row is faster";
    }
    if (!p.skewed) {
      return fmt::format("row lengths are even (coefficient of variation <= {}): splitting rows buys nothing",
                         SpmmProblem::kSkewedRowsCv);
    }
    return {};
  }

  static std::int64_t chunks(std::int64_t nnz, int ch) { return std::max<std::int64_t>(1, (nnz + ch - 1) / ch); }

  std::vector<LaunchShape> shapes(const SpmmProblem& p, const Params& params) const override {
    return shapes(p, p.nnz(), params);
  }

  std::vector<LaunchShape> shapes(const SpmmProblem& p, std::int64_t nnz, const Params& params) const {
    const std::size_t cpi = std::size_t(params.get("VW") * params.get("WPT"));
    const std::size_t lc = std::size_t(params.get("LC")), lr = std::size_t(params.get("LR"));
    const std::size_t blocks = (std::size_t(p.n) + cpi - 1) / cpi;
    LaunchShape a;
    a.kernel = "spmm_csr_f32_balanced_chunks";
    a.dims = 2;
    a.local = {lc, lr, 1};
    a.global = {round_up(blocks, lc), round_up(std::size_t(chunks(nnz, params.get("CH"))), lr), 1};
    LaunchShape b = a;
    b.kernel = "spmm_csr_f32_balanced_rows";
    b.global[1] = round_up(std::size_t(p.m), lr);
    return {a, b};
  }

  EventList launch(detail::ContextImpl& ctx, const SpmmProblem& p, const Params& params,
                   const SpmmArgs& args) const override {
    const DeviceCsr& a = *args.a;
    const std::int64_t nchunks = chunks(a.nnz(), params.get("CH"));
    // The partials' rows are indexed with 32-bit ints.
    if (2 * nchunks * p.n > std::int64_t(ELLESMERE_CSR_INDEX_LIMIT)) {
      throw NotSupported(fmt::format("{}: {} needs {} x {} partial sums, 2^31 or more (raise CH)", p.str(), name(),
                                     2 * nchunks, p.n));
    }
    const auto shape = shapes(p, a.nnz(), params);
    const std::string options = params.defines() + epilogue_options(args);
    cl::Kernel& k1 = ctx.kernel(kernel_file(), shape[0].kernel, options);
    cl::Kernel& k2 = ctx.kernel(kernel_file(), shape[1].kernel, options);
    // The split rows' partials live in A's scratch, grown when a launch needs more. Zero-filled from the host
    // when allocated (once): nothing reads what kernel 1 did not write, but oclgrind 21.10 reports reads of a
    // never-initialised buffer that reuses freed memory as uninitialised even after a kernel wrote them.
    detail::CsrScratch& scratch = a.scratch();
    std::lock_guard<std::mutex> lock(scratch.mutex);
    const std::size_t bytes = std::size_t(2 * nchunks * p.n) * sizeof(float);
    if (scratch.bytes < bytes) {
      std::vector<float> zeros(bytes / sizeof(float), 0.0f);
      cl_int err = runtime::fault::hit(runtime::fault::Site::alloc);
      cl::Buffer grown;
      if (err == CL_SUCCESS) {
        grown = cl::Buffer(ctx.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, zeros.data(), &err);
      }
      runtime::check(err, "clCreateBuffer",
                     fmt::format("allocating {} bytes of partial sums for {} {} on {}", bytes, name(), p.str(),
                                 ctx.info.name));
      scratch.buffer = std::move(grown);
      scratch.bytes = bytes;
    }
    if (scratch.last_use() != nullptr && scratch.last_queue() != ctx.queue()) {
      runtime::check(scratch.last_use.wait(), "clWaitForEvents",
                     fmt::format("{}: waiting for another queue's use of the partial sums", name()));
    }
    cl_mem partials = scratch.buffer();
    detail::set_args(k1, name(), cl_int(p.m), cl_int(p.n), cl_int(a.nnz()), a.row_ptr().handle(),
                     a.col_idx().handle(), a.values().handle(), args.x, args.bias, args.y, partials);
    detail::set_args(k2, name(), cl_int(p.m), cl_int(p.n), a.row_ptr().handle(), args.bias, args.y, partials);
    EventList events;
    const std::string what = fmt::format("{} {} [{}]", name(), p.str(), params.str());
    detail::track(events, ctx.launch(k1, cl::NDRange(shape[0].global[0], shape[0].global[1]),
                                     cl::NDRange(shape[0].local[0], shape[0].local[1]), what));
    cl::Event last = ctx.launch(k2, cl::NDRange(shape[1].global[0], shape[1].global[1]),
                                cl::NDRange(shape[1].local[0], shape[1].local[1]), what);
    detail::track(events, last);
    scratch.last_use = std::move(last);
    scratch.last_queue = ctx.queue;
    return events;
  }
};

}  // namespace

std::unique_ptr<SpmmImpl> make_spmm_csr_f32_balanced() { return std::make_unique<SpmmCsrF32Balanced>(); }

}  // namespace ellesmere::ops
