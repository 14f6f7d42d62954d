// dispatch_choice (ops/dispatch.hpp): the Impl an op's dispatch would run for a problem, without running it. The
// tuner tunes that Impl; the pipeline's cost model predicts with its calibration.
#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/conv/conv_impl.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/problem_text.hpp"
#include "ops/quant/quantize_impl.hpp"
#include "ops/spmm/spmm_impl.hpp"

namespace ellesmere::ops {

std::string dispatch_choice(const DeviceInfo& d, const std::string& problem) {
  const std::string op = ProblemText::parse(problem).op;
  auto first = [&](const auto& list, const auto& p) -> std::string {
    for (const auto& i : list) {
      if (i->applicable(p, d).empty()) return i->name();
    }
    return {};
  };
  try {
    if (op == "gemm_f32") return first(gemm_f32_list(), GemmProblem::parse(problem));
    if (op == "gemm_i8") return first(gemm_i8_list(), GemmI8Problem::parse(problem));
    if (op == "gemm_wq") return first(gemm_wq_list(), GemmWqProblem::parse(problem));
    if (op == "spmm_csr") return choose_spmm(SpmmProblem::parse(problem), d, "").first->name();
    if (op == "conv_f16") return choose_conv(ConvProblem::parse(problem), d, "").first->name();
    if (op == "quantize_linear") return quantize_linear_list().front()->name();
    if (op == "dequantize_linear") return dequantize_linear_list().front()->name();
  } catch (const NotSupported&) {
    return {};
  }
  throw NotSupported(fmt::format("{}: no dispatch for {} problems", problem, op));
}

}  // namespace ellesmere::ops
