// The fp32 GEMM Impl interface and its ordered list (gemm_list.cpp). Each Impl file implements one variant.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ellesmere/ops.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::ops {

struct GemmArgs {
  cl_mem a = nullptr;
  cl_mem b = nullptr;
  cl_mem c = nullptr;
  float alpha = 1.0f;
  float beta = 0.0f;
};

class GemmF32Impl : public ImplBase {
 public:
  std::string op() const override { return "gemm_f32"; }
  // "" when this Impl can run the problem on the device, else the reason it cannot.
  virtual std::string applicable(const GemmProblem& problem, const DeviceInfo& device) const = 0;
  virtual Traffic traffic(const GemmProblem& problem) const;
  // Enqueues the problem (m, n > 0) with complete Params; returns the events of everything enqueued.
  virtual EventList launch(detail::ContextImpl& context, const GemmProblem& problem, const Params& params,
                           const GemmArgs& args) const = 0;
  virtual std::vector<LaunchShape> shapes(const GemmProblem& problem, const Params& params) const;
  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override;
  // Params' defines plus -DTRANS_A=1 / -DTRANS_B=1 for transposed problems.
  std::string build_options(std::string_view problem, const Params& params) const override;
  std::string build_options(const GemmProblem& problem, const Params& params) const;
};

// Minimum device-memory traffic and flops of a GEMM: read A and B once, write C once.
Traffic gemm_f32_traffic(const GemmProblem& problem);

// C = alpha*op(A)*op(B) + beta*C through CLBlast on context's queue; returns a marker and CLBlast's event (it
// reports only its last kernel's), so EventList::span_ns() covers the call. Used by the gemm_f32_clblast Impl and
// the peer_clblast_sgemm benchmark.
EventList clblast_sgemm(detail::ContextImpl& context, const GemmProblem& problem, const GemmArgs& args);

// The Impls in dispatch order: the first applicable one runs unless the caller names another.
const std::vector<std::unique_ptr<GemmF32Impl>>& gemm_f32_list();

std::unique_ptr<GemmF32Impl> make_gemm_f32_tile2d();
std::unique_ptr<GemmF32Impl> make_gemm_f32_clblast();

// Leading dimensions of the stored (row-major) operands.
inline int lda_of(const GemmProblem& p) { return int(p.trans_a ? p.m : p.k); }
inline int ldb_of(const GemmProblem& p) { return int(p.trans_b ? p.k : p.n); }

}  // namespace ellesmere::ops
