// spmm_csr_f32_row Impl: one work-item per (row, column block), kernels/spmm/spmm_csr_f32_row.cl. The fallback that
// suits every matrix, and the best choice for short, even rows.
#include <fmt/format.h>

#include "ops/spmm/spmm_impl.hpp"

namespace ellesmere::ops {

namespace {

class SpmmCsrF32Row final : public SpmmImpl {
 public:
  std::string name() const override { return "spmm_csr_f32_row"; }
  std::string kernel_file() const override { return "spmm/spmm_csr_f32_row.cl"; }

  // Defaults for GCN: a lane per row, 64 rows per work-group (one wavefront), scalar columns.
  ParamSpace space() const override {
    return {{
        {"VW", {1, 2, 4, 8, 16}, 1, "columns per vector (8-16 for a CPU's SIMD, 1 on GCN)"},
        {"WPT", {1, 2, 4}, 1, "vectors per work-item: a column block is VW * WPT columns"},
        {"UNR", {1, 2, 4, 8}, 1, "nonzeros in flight per step, each with its own accumulators"},
        {"NZV", {1, 4, 8}, 1, "nonzeros per vector step (one-column blocks only: VW = WPT = 1)"},
        {"LC", {1, 2, 4, 8, 16, 32, 64}, 1, "work-group items along the column blocks"},
        {"LR", {1, 2, 4, 8, 16, 32, 64, 128, 256}, 64, "work-group items along the rows"},
    }};
  }

  std::string check_params(const Params& p, const DeviceInfo& device) const override {
    if (auto why = check_vector_params(p); !why.empty()) return why;
    const int unr = p.get("UNR"), lc = p.get("LC"), lr = p.get("LR");
    if (unr != 1 && unr != 2 && unr != 4 && unr != 8) return fmt::format("UNR={} is not 1, 2, 4 or 8", unr);
    const int nzv = p.get("NZV");
    if (nzv != 1 && nzv != 4 && nzv != 8) return fmt::format("NZV={} is not 1, 4 or 8", nzv);
    if (nzv > 1 && p.get("VW") * p.get("WPT") != 1)
      return fmt::format("NZV={} needs a one-column block (VW=1, WPT=1), not VW={} WPT={}", nzv, p.get("VW"), p.get("WPT"));
    return check_work_group(lc, lr, device);
  }

  std::string suited(const SpmmProblem&, const DeviceInfo&) const override { return {}; }

  std::vector<LaunchShape> shapes(const SpmmProblem& p, const Params& params) const override {
    const std::size_t cpi = std::size_t(params.get("VW") * params.get("WPT"));
    const std::size_t lc = std::size_t(params.get("LC")), lr = std::size_t(params.get("LR"));
    const std::size_t blocks = (std::size_t(p.n) + cpi - 1) / cpi;
    LaunchShape s;
    s.kernel = "spmm_csr_f32_row";
    s.dims = 2;
    s.local = {lc, lr, 1};
    s.global = {round_up(blocks, lc), round_up(std::size_t(p.m), lr), 1};
    return {s};
  }

  EventList launch(detail::ContextImpl& ctx, const SpmmProblem& p, const Params& params,
                   const SpmmArgs& args) const override {
    return launch_row_kernel(ctx, p, params, args, shapes(p, params).front());
  }
};

}  // namespace

std::unique_ptr<SpmmImpl> make_spmm_csr_f32_row() { return std::make_unique<SpmmCsrF32Row>(); }

}  // namespace ellesmere::ops
