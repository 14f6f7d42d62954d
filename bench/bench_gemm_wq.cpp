// Weight-only quantized GEMM benchmarks (INT4 groups, llama.cpp Q4_0 / Q8_0): every gemm_wq Impl beside, on the
// same shapes and device, CLBlast's fp32 sgemv (M = 1) or sgemm (M > 1), our INT8 GEMV (u8 x i8, one byte per
// weight), and Eigen's fp32 product on the host. Problems tagged "bench" in tests/problems/gemm_wq.txt.
// Counters: GFLOPS, GBps, pct_peak (roofline of the calibrated profile), and for ours weight_GBps (bytes of qs +
// scales + zeros / time) and pct_copy_bw (that against the calibrated copy bandwidth; the GEMV target is
// >= 80 %). At batch 1 the product is bound by reading the weights: 4.5 bits per weight (Q4_0) instead of 32 is
// the whole advantage on Polaris, whose arithmetic is no faster for 4-bit weights.
// After the runs, a LLaMA-7B decode-step projection (its linear layers, from measured per-shape times) for the
// device at hand and, as a model estimate, for the built-in RX 580 profile.
// Run: build/bench/bench_gemm_wq [--benchmark_format=json] [--no_projection]
#include <clblast.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "peers.hpp"
#include "reference/reference.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::bench {
namespace {

// Quantized weights for a problem, made once per shape and format (quantizing 45 M weights takes seconds).
const GroupedWeights& weights_for(const GemmWqProblem& p) {
  static std::map<std::string, GroupedWeights> cache;
  const std::string key = fmt::format("{}x{}q{}g{}{}", p.n, p.k, p.bits, p.group, p.zero_points ? "z" : "");
  auto it = cache.find(key);
  if (it == cache.end()) {
    const auto w = reference::random_floats(std::size_t(p.n * p.k), 11, -0.05f, 0.05f);
    it = cache.emplace(key, quantize_grouped(w, p.n, p.k, WeightLayout::nk,
                                             {.bits = p.bits, .group = p.group, .zero_points = p.zero_points}))
             .first;
  }
  return it->second;
}

RawBuffer activations(Context& ctx, const GemmWqProblem& p) {
  const auto x = reference::random_floats(std::size_t(p.m * p.k), 12);
  if (!p.half_activations) {
    RawBuffer b(ctx, x.size() * 4, "X");
    b.upload(x.data(), x.size() * 4);
    return b;
  }
  std::vector<std::uint16_t> h(x.size());
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(x[i]);
  RawBuffer b(ctx, h.size() * 2, "X");
  b.upload(h.data(), h.size() * 2);
  return b;
}

// defaults: time the Impl's default Params ("<impl>@default/<problem>") instead of the tuning lookup's, so one run
// shows what tuning gained on this device.
void register_impl(const ops::GemmWqImpl& impl, const std::string& problem, bool defaults = false) {
  benchmark::RegisterBenchmark(
      (impl.name() + (defaults ? "@default/" : "/") + problem).c_str(),
      [&impl, problem, defaults](benchmark::State& state) {
        Context& ctx = env().context;
        const GemmWqProblem p = GemmWqProblem::parse(problem);
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
        const PackedWeightsWq w = pack_weights_wq(ctx, weights_for(p));
        RawBuffer x = activations(ctx, p);
        Buffer<float> y(ctx, std::size_t(p.m * p.n), "Y");
        ops::GemmWqArgs args;
        args.x = x.handle();
        args.w = &w;
        args.y = y.handle();
        const double seconds = time_device(state, impl.traffic(p), env().profile.fp32_gflops * 1e9,
                                           [&] { return impl.launch(ctx.impl(), p, lookup.params, args); });
        if (seconds > 0) {
          const double weight_gbps = double(w.bytes()) / seconds * 1e-9;
          state.counters["weight_GBps"] = weight_gbps;
          state.counters["pct_copy_bw"] = 100.0 * weight_gbps / env().profile.bandwidth_gbps;
          state.counters["bits_per_weight"] = double(w.bytes()) * 8.0 / double(p.n * p.k);
        }
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// CLBlast's fp32 matrix-vector product y = W x (W row-major N x K), the fp32 baseline of batch-1 decoding.
void register_peer_clblast_sgemv(const std::string& label, std::int64_t n, std::int64_t k) {
  benchmark::RegisterBenchmark(
      ("peer_clblast_sgemv/" + label).c_str(),
      [n, k](benchmark::State& state) {
        Context& ctx = env().context;
        const auto w = reference::random_floats(std::size_t(n * k), 1);
        const auto x = reference::random_floats(std::size_t(k), 2);
        Buffer<float> dw(ctx, std::span<const float>(w), "W"), dx(ctx, std::span<const float>(x), "x");
        Buffer<float> dy(ctx, std::size_t(n), "y");
        state.SetLabel(fmt::format("fp32 W {} x {}", n, k));
        const ops::Traffic t{2.0 * double(n) * double(k), 4.0 * double(n * k + k + n)};
        const double seconds = time_device(state, t, env().profile.fp32_gflops * 1e9, [&] {
          EventList events;
          events.add(ctx.impl().marker());   // CLBlast may run more than one kernel; its event is the last
          cl_command_queue queue = ctx.impl().queue();
          cl_event event = nullptr;
          const auto status = clblast::Gemv<float>(clblast::Layout::kRowMajor, clblast::Transpose::kNo,
                                                   std::size_t(n), std::size_t(k), 1.0f, dw.handle(), 0,
                                                   std::size_t(k), dx.handle(), 0, 1, 0.0f, dy.handle(), 0, 1,
                                                   &queue, &event);
          if (status != clblast::StatusCode::kSuccess) {
            if (event) clReleaseEvent(event);
            throw ClError(int(status), "clblast::Gemv", fmt::format("{} x {}", n, k));
          }
          events.add(event);
          return events;
        });
        if (seconds > 0) {
          const double weight_gbps = 4.0 * double(n * k) / seconds * 1e-9;
          state.counters["weight_GBps"] = weight_gbps;
          state.counters["pct_copy_bw"] = 100.0 * weight_gbps / env().profile.bandwidth_gbps;
        }
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// Our INT8 GEMM/GEMV (issue 3) on the same shape: u8 activations, symmetric per-channel i8 weights, int32 out.
void register_int8(const std::string& label, const GemmWqProblem& wq) {
  benchmark::RegisterBenchmark(
      ("ours_int8_gemm_i8/" + label).c_str(),
      [wq](benchmark::State& state) {
        Context& ctx = env().context;
        const GemmI8Problem p{.m = wq.m, .n = wq.n, .k = wq.k};
        const auto b = reference::random_bytes(std::size_t(p.n * p.k), 9);
        const auto a = reference::random_bytes(std::size_t(p.m * p.k), 8);
        const PackedWeightsI8 packed =
            pack_weights_i8(ctx, b, p.k, p.n, WeightLayout::nk,
                            QuantParams::per_channel(QuantType::i8, 0, std::vector<float>(std::size_t(p.n), 0.01f),
                                                     std::vector<std::int32_t>(std::size_t(p.n), 0)));
        Buffer<std::uint8_t> da(ctx, std::span<const std::uint8_t>(a), "A");
        RawBuffer c(ctx, std::size_t(p.m * p.n) * 4, "C");
        state.SetLabel(fmt::format("gemm_i8 dispatch, {}", p.str()));
        const ops::Traffic t{p.ops(), double(p.n * p.k + p.m * p.k + 4 * p.m * p.n)};
        const double seconds = time_device(state, t, env().profile.int8_gops * 1e9,
                                           [&] { return gemm_i8(ctx, p, da.raw(), 128, packed, c); }, true);
        if (seconds > 0) {
          const double weight_gbps = double(p.n * p.k) / seconds * 1e-9;
          state.counters["weight_GBps"] = weight_gbps;
          state.counters["pct_copy_bw"] = 100.0 * weight_gbps / env().profile.bandwidth_gbps;
        }
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// ---- LLaMA-7B decode-step projection ----------------------------------------------------------------------------

// The linear layers of one LLaMA-7B decode step (batch 1): per layer q, k, v, o (4096 x 4096), gate and up
// (11008 x 4096), down (4096 x 11008); 32 layers; then the output head (32000 x 4096).
struct LinearShape {
  const char* name;
  std::int64_t n, k;
  int per_step;
};
constexpr LinearShape kLlama7b[] = {{"attn q/k/v/o", 4096, 4096, 4 * 32},
                                    {"mlp gate/up", 11008, 4096, 2 * 32},
                                    {"mlp down", 4096, 11008, 32},
                                    {"lm_head", 32000, 4096, 1}};

// Median of runs timed with events, through the public dispatch (what an application gets).
double median_ms(Context& ctx, const GemmWqProblem& p, int runs) {
  const PackedWeightsWq w = pack_weights_wq(ctx, weights_for(p));
  RawBuffer x = activations(ctx, p);
  Buffer<float> y(ctx, std::size_t(p.m * p.n), "Y");
  gemm_wq(ctx, p, x, w, y).wait();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) ms.push_back(gemm_wq(ctx, p, x, w, y).span_ns() * 1e-6);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void print_projection(int bits, int group, bool zero_points) {
  Context& ctx = env().context;
  const DeviceProfile& here = env().profile;
  const DeviceProfile rx580 = builtin_profile("rx580");
  const char* format = bits == 8 ? "Q8_0" : group == 32 && !zero_points ? "Q4_0" : "";
  std::cout << fmt::format("\nLLaMA-7B decode step, linear layers only, batch 1, {}-bit G = {}{}{}\n", bits, group,
                           zero_points ? " with zero points" : "", *format ? fmt::format(" ({})", format) : "");
  std::cout << fmt::format("{:<14} {:>6} {:>12} {:>10} {:>11} {:>12} {:>14}\n", "layer", "count", "MB each",
                           "ms each", "GB/s", "step ms", "RX 580 est ms");
  double step_ms = 0, bound_ms = 0, rx_ms = 0, rx_target_ms = 0, bytes = 0;
  for (const LinearShape& s : kLlama7b) {
    const GemmWqProblem p{.m = 1, .n = s.n, .k = s.k, .bits = bits, .group = group, .zero_points = zero_points};
    const double b = double(ops::wq_weight_bytes(p)) + 4.0 * double(s.k + s.n);
    const double ms = median_ms(ctx, p, 9);
    // RX 580 (model estimate): bytes at the profile's bandwidth, plus one launch.
    const double rx = b / (rx580.bandwidth_gbps * 1e9) * 1e3 + rx580.launch_overhead_us * 1e-3;
    step_ms += ms * s.per_step;
    bound_ms += (b / (here.bandwidth_gbps * 1e9) * 1e3 + here.launch_overhead_us * 1e-3) * s.per_step;
    rx_ms += rx * s.per_step;
    rx_target_ms += (b / (0.75 * rx580.bandwidth_gbps * 1e9) * 1e3 + rx580.launch_overhead_us * 1e-3) * s.per_step;
    bytes += b * s.per_step;
    std::cout << fmt::format("{:<14} {:>6} {:>12.2f} {:>10.3f} {:>11.1f} {:>12.1f} {:>14.3f}\n", s.name, s.per_step,
                             b * 1e-6, ms, b / (ms * 1e-3) * 1e-9, ms * s.per_step, rx);
  }
  std::cout << fmt::format("weights read per step: {:.2f} GB\n", bytes * 1e-9);
  std::cout << fmt::format(
      "{} (measured here, {}): {:.1f} ms per step = {:.2f} tokens/s; its calibrated copy bandwidth ({:.1f} GB/s) "
      "would allow {:.1f} ms = {:.2f} tokens/s\n",
      here.key, here.device, step_ms, 1e3 / step_ms, here.bandwidth_gbps, bound_ms, 1e3 / bound_ms);
  std::cout << fmt::format(
      "RX 580 (MODEL ESTIMATE from the built-in profile, not measured: {:.0f} GB/s, {:.0f} us per launch): "
      "{:.1f} ms = {:.1f} tokens/s at 100 % of bandwidth, {:.1f} ms = {:.1f} tokens/s at the 75 % design target\n",
      rx580.bandwidth_gbps, rx580.launch_overhead_us, rx_ms, 1e3 / rx_ms, rx_target_ms, 1e3 / rx_target_ms);
}

}  // namespace
}  // namespace ellesmere::bench

int main(int argc, char** argv) {
  using namespace ellesmere;
  try {
    bool projection = true;
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--no_projection") == 0) {
        projection = false;
        for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
        --argc;
        --i;
      }
    }
    const auto args = bench::parse_args(argc, argv, "gemm_wq");
    const auto tune_list = reference::problems_tagged(args.problems_file, "tune");
    const std::set<std::string> tuned(tune_list.begin(), tune_list.end());
    for (const auto& problem : bench::bench_problems(args)) {
      const GemmWqProblem p = GemmWqProblem::parse(problem);
      const std::string chosen = args.dispatch_only ? ops::dispatch_choice(select_device(), problem) : "";
      for (const auto& impl : ops::gemm_wq_list()) {
        if (!impl->applicable(p, select_device()).empty()) continue;
        if (args.dispatch_only && impl->name() != chosen) continue;   // none if dispatch has none
        bench::register_impl(*impl, problem);
        // Problems the tuner covers ("tune" tag): the Impl's defaults beside the tuned Params, same run.
        if (tuned.count(problem)) bench::register_impl(*impl, problem, true);
      }
      // Peers once per shape (they do not depend on the quantization format): beside the Q4_0 rows.
      if (p.bits == 4 && p.group == 32 && !p.zero_points) {
        if (p.m == 1) {
          bench::register_peer_clblast_sgemv(problem, p.n, p.k);
        } else {
          bench::register_peer_clblast_sgemm(problem, GemmProblem{.m = p.m, .n = p.n, .k = p.k, .trans_b = true});
        }
        bench::register_int8(problem, p);
        bench::register_peer_eigen_sgemm(problem, GemmProblem{.m = p.m, .n = p.n, .k = p.k, .trans_b = true});
      }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    bench::env();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (projection && !args.dispatch_only) {
      bench::print_projection(4, 32, false);
      bench::print_projection(4, 128, true);
    }
  } catch (const Error& e) {
    std::cerr << "bench_gemm_wq: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
