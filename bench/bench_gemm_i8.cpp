// INT8 GEMM benchmarks: every gemm_i8 Impl (u8 activations with a zero point, symmetric per-channel i8 weights
// packed once, int32 output) beside the fp32 peers on the same shapes (peer_clblast_sgemm on this OpenCL device,
// peer_eigen_sgemm on the host) and oneDNN's s8 matmul (peer_onednn_s8gemm, host, when built with oneDNN); plus
// the one-off packing cost (gemm_i8_pack). Problems tagged "bench" in tests/problems/gemm_i8.txt.
// Counters: GOPS (2*M*N*K), GBps, pct_peak (against the profile's int8 rate and bandwidth), and for our Impls
// weight_GBps (weight bytes / time) and pct_copy_bw (that against the calibrated copy bandwidth): batch-1 GEMV is
// bandwidth-bound, and moving 4x fewer bytes than fp32 is INT8's whole advantage on Polaris.
// Run: build/bench/bench_gemm_i8 [--benchmark_format=json]
#include <chrono>
#include <iostream>
#include <random>
#include <set>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "peers.hpp"
#include "reference/reference.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::bench {
namespace {

struct Inputs {
  std::vector<std::uint8_t> a, b;
  QuantParams params;
};

Inputs make_inputs(const GemmI8Problem& p) {
  Inputs in;
  std::mt19937_64 gen(7);
  in.a = reference::random_bytes(std::size_t(p.m * p.k), 8);
  in.b = reference::random_bytes(std::size_t(p.k * p.n), 9);
  std::vector<float> scales(std::size_t(p.n));
  for (auto& s : scales) s = 0.001f + float(gen() % 1000) * 1e-5f;
  in.params = QuantParams::per_channel(p.b_type, 0, scales, std::vector<std::int32_t>(std::size_t(p.n), 0));
  return in;
}

// defaults: time the Impl's default Params ("<impl>@default/<problem>") instead of the tuning lookup's, so one run
// shows what tuning gained on this device.
void register_impl(const ops::GemmI8Impl& impl, const std::string& problem, bool defaults = false) {
  benchmark::RegisterBenchmark(
      (impl.name() + (defaults ? "@default/" : "/") + problem).c_str(),
      [&impl, problem, defaults](benchmark::State& state) {
        Context& ctx = env().context;
        const GemmI8Problem p = GemmI8Problem::parse(problem);
        if (std::string why = impl.applicable(p, ctx.device()); !why.empty()) {
          state.SkipWithError(("not applicable: " + why).c_str());
          return;
        }
        auto lookup = tuning::TuningDb::global().lookup(ctx.device(), impl, problem);
        if (defaults) {
          lookup.params = impl.space().defaults();
          lookup.invalid = impl.check_params(lookup.params, ctx.device());
        }
        if (!lookup.invalid.empty()) {
          state.SkipWithError(("default Params do not fit this device: " + lookup.invalid).c_str());
          return;
        }
        state.SetLabel(lookup.params.str());
        const Inputs in = make_inputs(p);
        const PackedWeightsI8 b = pack_weights_i8(ctx, in.b, p.k, p.n, WeightLayout::nk, in.params);
        Buffer<std::uint8_t> a(ctx, std::span<const std::uint8_t>(in.a), "A");
        RawBuffer c(ctx, std::size_t(p.m * p.n) * 4, "C");
        ops::GemmI8Args args;
        args.a = a.handle();
        args.a_zero_point = 128;
        args.b = &b;
        args.c = c.handle();
        const double seconds = time_device(state, impl.traffic(p), env().profile.int8_gops * 1e9,
                                           [&] { return impl.launch(ctx.impl(), p, lookup.params, args); }, true);
        if (seconds > 0) {
          const double weight_gbps = double(p.k * p.n) / seconds * 1e-9;
          state.counters["weight_GBps"] = weight_gbps;
          state.counters["pct_copy_bw"] = 100.0 * weight_gbps / env().profile.bandwidth_gbps;
        }
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// The one-off cost of packing weights at load time: host transpose/pack/sums, then the upload.
void register_pack(const std::string& problem) {
  benchmark::RegisterBenchmark(
      ("gemm_i8_pack/" + problem).c_str(),
      [problem](benchmark::State& state) {
        const GemmI8Problem p = GemmI8Problem::parse(problem);
        const Inputs in = make_inputs(p);
        double pack_ms = 0, upload_ms = 0;
        for (auto _ : state) {
          const auto t0 = std::chrono::steady_clock::now();
          const PackedWeightsI8 b = pack_weights_i8(env().context, in.b, p.k, p.n, WeightLayout::nk, in.params);
          state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          pack_ms += b.pack_ms();
          upload_ms += b.upload_ms();
        }
        state.counters["pack_ms"] = pack_ms / double(state.iterations());
        state.counters["upload_ms"] = upload_ms / double(state.iterations());
        state.SetLabel("host pack + upload, once per model load");
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace ellesmere::bench

int main(int argc, char** argv) {
  using namespace ellesmere;
  try {
    const auto args = bench::parse_args(argc, argv, "gemm_i8");
    const auto tune_list = reference::problems_tagged(args.problems_file, "tune");
    const std::set<std::string> tuned(tune_list.begin(), tune_list.end());
    for (const auto& problem : bench::bench_problems(args)) {
      const GemmI8Problem p = GemmI8Problem::parse(problem);
      const std::string chosen = args.dispatch_only ? ops::dispatch_choice(select_device(), problem) : "";
      for (const auto& impl : ops::gemm_i8_list()) {
        if (!impl->applicable(p, select_device()).empty()) continue;
        if (args.dispatch_only && impl->name() != chosen) continue;   // none if dispatch has none
        bench::register_impl(*impl, problem);
        // Problems the tuner covers ("tune" tag): the Impl's defaults beside the tuned Params, same run.
        if (tuned.count(problem)) bench::register_impl(*impl, problem, true);
      }
      if (!args.dispatch_only) bench::register_pack(problem);
      const GemmProblem fp32{.m = p.m, .n = p.n, .k = p.k};
      bench::register_peer_clblast_sgemm(problem, fp32);
      bench::register_peer_eigen_sgemm(problem, fp32);
      bench::register_peer_onednn_s8gemm(problem, p);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    bench::env();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const Error& e) {
    std::cerr << "bench_gemm_i8: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
