// The weight-only quantized GEMM Impl interface and its ordered list (gemm_wq_list.cpp). Each Impl file implements
// one variant; gemm_wq.cpp holds the public entry points, problem text and weight upload.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ellesmere/formats/grouped_weights.h"
#include "ellesmere/ops.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::ops {

// What a launch needs beyond the problem.
struct GemmWqArgs {
  cl_mem x = nullptr;                  // M x K, fp32 or fp16
  const PackedWeightsWq* w = nullptr;
  cl_mem y = nullptr;                  // M x N fp32
  cl_mem bias = nullptr;               // optional, N floats
};

class GemmWqImpl : public ImplBase {
 public:
  std::string op() const override { return "gemm_wq"; }
  // "" when this Impl can run the problem on the device, else why not.
  virtual std::string applicable(const GemmWqProblem& problem, const DeviceInfo& device) const = 0;
  // ops: 2*M*N*K; bytes: the weights (qs, scales, zeros) once, X, Y.
  Traffic traffic(const GemmWqProblem& problem) const;
  virtual std::vector<LaunchShape> shapes(const GemmWqProblem& problem, const Params& params) const = 0;
  // Enqueues the problem (m, n, k >= 1) with complete Params. Every kernel takes the same arguments:
  // (M, N, K, X, Q, S, Z, bias, Y).
  EventList launch(detail::ContextImpl& context, const GemmWqProblem& problem, const Params& params,
                   const GemmWqArgs& args) const;

  std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const override;
  // Params' defines plus the problem's (BITS, GROUP, HAS_ZP, HALF_X) and the Impl's own (extra_options).
  std::string build_options(std::string_view problem, const Params& params) const override;
  std::string build_options(const GemmWqProblem& problem, const Params& params) const;
  // HAS_BIAS=0 and HAS_BIAS=1.
  std::vector<std::string> variant_options() const override;

 protected:
  virtual std::string extra_options(const GemmWqProblem&) const { return {}; }
  // The limits every Impl shares: supported format, 32-bit indices.
  static std::string common_limits(const GemmWqProblem& problem);
};

const std::vector<std::unique_ptr<GemmWqImpl>>& gemm_wq_list();
std::unique_ptr<GemmWqImpl> make_gemm_wq_gemv();
std::unique_ptr<GemmWqImpl> make_gemm_wq_tile2d();

// Bytes of the weights as stored: qs, scales, zeros (what a GEMV must read).
std::uint64_t wq_weight_bytes(const GemmWqProblem& problem);

}  // namespace ellesmere::ops
