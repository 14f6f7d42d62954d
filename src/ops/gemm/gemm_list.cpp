// The ordered list of fp32 GEMM Impls, and what every GEMM Impl shares (traffic, generic launch shapes).
// Adding a variant: one .cl, one Impl file, one line here.
#include "ops/gemm/gemm_impl.hpp"

namespace ellesmere::ops {

const std::vector<std::unique_ptr<GemmF32Impl>>& gemm_f32_list() {
  static const auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<GemmF32Impl>>();
    // Our kernel first: it runs every problem and loads from the disk program cache in milliseconds; CLBlast
    // compiles its kernels on every process's first call (seconds cold on PoCL, ~50 ms warm) and stays as the
    // reference fp32 path and fallback.
    l->push_back(make_gemm_f32_tile2d());
    l->push_back(make_gemm_f32_clblast());
    return l;
  }();
  return *list;
}

Traffic gemm_f32_traffic(const GemmProblem& p) {
  const double m = double(p.m), n = double(p.n), k = double(p.k);
  return {2.0 * m * n * k, 4.0 * (m * k + k * n + m * n)};
}

Traffic GemmF32Impl::traffic(const GemmProblem& p) const { return gemm_f32_traffic(p); }

std::string GemmF32Impl::build_options(std::string_view problem, const Params& params) const {
  return build_options(GemmProblem::parse(problem), params);
}

std::string GemmF32Impl::build_options(const GemmProblem& p, const Params& params) const {
  std::string options = params.defines();
  if (p.trans_a) options += " -DTRANS_A=1";
  if (p.trans_b) options += " -DTRANS_B=1";
  return options;
}

std::vector<LaunchShape> GemmF32Impl::shapes(const GemmProblem&, const Params&) const { return {}; }

std::vector<LaunchShape> GemmF32Impl::launch_shapes(std::string_view problem, const Params& params) const {
  return shapes(GemmProblem::parse(problem), params);
}

}  // namespace ellesmere::ops
