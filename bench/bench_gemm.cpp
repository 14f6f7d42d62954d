// fp32 GEMM benchmarks: every gemm_f32 Impl (with the Params the tuning lookup gives this device) beside
// peer_clblast_sgemm (CLBlast called directly, not through dispatch) and peer_eigen_sgemm (Eigen on the host CPU,
// all cores), on the problems tagged "bench" in tests/problems/gemm_f32.txt.
// Run: build/bench/bench_gemm [--benchmark_format=json]
#include <iostream>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "peers.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "reference/reference.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::bench {
namespace {

struct Operands {
  GemmProblem problem;
  std::vector<float> a, b;
  Buffer<float> da, db, dc;
};

Operands make_operands(const std::string& text) {
  Operands o;
  o.problem = GemmProblem::parse(text);
  const GemmProblem& p = o.problem;
  o.a = reference::random_floats(std::size_t(p.m * p.k), 1);
  o.b = reference::random_floats(std::size_t(p.k * p.n), 2);
  Context& ctx = env().context;
  o.da = Buffer<float>(ctx, std::span<const float>(o.a), "A");
  o.db = Buffer<float>(ctx, std::span<const float>(o.b), "B");
  o.dc = Buffer<float>(ctx, std::size_t(p.m * p.n), "C");
  return o;
}

void register_impl(const ops::GemmF32Impl& impl, const std::string& problem) {
  benchmark::RegisterBenchmark(
      (impl.name() + "/" + problem).c_str(),
      [&impl, problem](benchmark::State& state) {
        Context& ctx = env().context;
        const GemmProblem p = GemmProblem::parse(problem);
        if (std::string why = impl.applicable(p, ctx.device()); !why.empty()) {
          state.SkipWithError(("not applicable: " + why).c_str());
          return;
        }
        const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), impl, problem);
        if (!lookup.invalid.empty()) {
          state.SkipWithError(("default Params do not fit this device: " + lookup.invalid).c_str());
          return;
        }
        state.SetLabel(lookup.params.str());
        Operands o = make_operands(problem);
        const ops::GemmArgs args{o.da.handle(), o.db.handle(), o.dc.handle(), 1.0f, 0.0f};
        time_device(state, impl.traffic(p), env().profile.fp32_gflops * 1e9,
                    [&] { return impl.launch(ctx.impl(), p, lookup.params, args); });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace ellesmere::bench

int main(int argc, char** argv) {
  using namespace ellesmere;
  try {
    const auto args = bench::parse_args(argc, argv, "gemm_f32");
    for (const auto& problem : bench::bench_problems(args)) {
      const std::string chosen = args.dispatch_only ? ops::dispatch_choice(select_device(), problem) : "";
      for (const auto& impl : ops::gemm_f32_list()) {
        // --dispatch_only: no row of ours where dispatch has no Impl (the peers still run)
        if (!args.dispatch_only || impl->name() == chosen) bench::register_impl(*impl, problem);
      }
      bench::register_peer_clblast_sgemm(problem, GemmProblem::parse(problem));
      bench::register_peer_eigen_sgemm(problem, GemmProblem::parse(problem));
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    bench::env();   // device and profile before the first benchmark, so calibration is not timed
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const Error& e) {
    std::cerr << "bench_gemm: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
