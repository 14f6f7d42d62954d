// FP16 convolution benchmarks: every Impl that can run a problem, and the Impl dispatch chooses ("conv_f16"), on
// every distinct convolution of ResNet-18 and MobileNetV2 at batch 1 (tests/problems/conv_f16.txt, tag bench), beside
// CLBlast's fp32 Convgemm on the same OpenCL device and OpenCV DNN's fp32 convolution (CPU target, and its OpenCL
// target) on the same run; conv_f32storage/<problem> runs the chosen Impl with fp32 tensors, to measure what half
// storage saves. Counters: GFLOPS, GBps of the tensors (plus an Impl's own intermediate passes), bytes_f16 and
// bytes_f32 (what X, W and Y take in fp16 and in fp32), pct_peak, step<i>_ms (each kernel of a multi-kernel Impl).
#include <fmt/format.h>

#include <iostream>

#include "bench_common.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/quant.hpp"
#include "ops/conv/conv_impl.hpp"
#include "peer_conv.hpp"
#include "reference/reference.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::bench {
namespace {

struct Tensors {
  Buffer<std::uint16_t> x, w, y;
};

Tensors tensors_for(Context& ctx, const ConvProblem& p) {
  Tensors t;
  t.x = Buffer<std::uint16_t>(ctx, std::span<const std::uint16_t>(reference::random_halves(std::size_t(p.input_elements()), 1)), "X");
  t.w = Buffer<std::uint16_t>(ctx, std::span<const std::uint16_t>(reference::random_halves(std::size_t(p.weight_elements()), 2)), "W");
  t.y = Buffer<std::uint16_t>(ctx, std::size_t(p.output_elements()), "Y");
  return t;
}

void add_byte_counters(benchmark::State& state, const ConvProblem& p) {
  const double elements = double(p.input_elements() + p.weight_elements() + p.output_elements());
  state.counters["bytes_f16"] = 2.0 * elements;
  state.counters["bytes_f32"] = 4.0 * elements;
}

// impl: one Impl with its looked-up Params, or nullptr for conv2d_f16's own choice.
void register_ours(const ops::ConvImpl* impl, const std::string& problem) {
  const std::string name = impl != nullptr ? impl->name() : "conv_f16";
  benchmark::RegisterBenchmark((name + "/" + problem).c_str(), [impl, problem](benchmark::State& state) {
    Context& ctx = env().context;
    const ConvProblem p = ConvProblem::parse(problem);
    const auto [chosen, params] = ops::choose_conv(p, ctx.device(), impl != nullptr ? impl->name() : "");
    state.SetLabel(fmt::format("{} {}", chosen->name(), params.str()));
    Tensors t = tensors_for(ctx, p);
    ops::ConvArgs args;
    args.x = t.x.handle();
    args.w = t.w.handle();
    args.y = t.y.handle();
    time_device(state, chosen->traffic(p, params), env().profile.fp32_gflops * 1e9,
                [&, chosen = chosen, params = params] { return chosen->launch(ctx.impl(), p, params, args); });
    add_byte_counters(state, p);
  })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// The dispatch's Impl and Params with fp32 X, W and Y (kernels built with -DCONV_STORE_F32): the same arithmetic
// moving twice the tensor bytes, beside conv_f16/<problem> in the same run, to measure what half storage saves.
void register_f32_storage(const std::string& problem) {
  benchmark::RegisterBenchmark(("conv_f32storage/" + problem).c_str(), [problem](benchmark::State& state) {
    Context& ctx = env().context;
    const ConvProblem p = ConvProblem::parse(problem);
    const auto [chosen, params] = ops::choose_conv(p, ctx.device(), "");
    state.SetLabel(fmt::format("{} {} with fp32 X, W, Y", chosen->name(), params.str()));
    Buffer<float> x(ctx, std::span<const float>(to_floats(reference::random_halves(std::size_t(p.input_elements()), 1))), "X");
    Buffer<float> w(ctx, std::span<const float>(to_floats(reference::random_halves(std::size_t(p.weight_elements()), 2))), "W");
    Buffer<float> y(ctx, std::size_t(p.output_elements()), "Y");
    ops::ConvArgs args;
    args.x = x.handle();
    args.w = w.handle();
    args.y = y.handle();
    args.f32_storage = true;
    // The half tensors' bytes, doubled (2 more bytes per element), and the staging copies' in fp32.
    ops::Traffic traffic = chosen->traffic(p, params);
    traffic.bytes += 2.0 * double(p.input_elements() + p.weight_elements() + p.output_elements()) +
                     ops::ConvImpl::staging_bytes(p, params, true) - ops::ConvImpl::staging_bytes(p, params);
    time_device(state, traffic, env().profile.fp32_gflops * 1e9,
                [&, chosen = chosen, params = params] { return chosen->launch(ctx.impl(), p, params, args); });
    add_byte_counters(state, p);
  })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace ellesmere::bench

int main(int argc, char** argv) {
  using namespace ellesmere;
  try {
    const auto args = bench::parse_args(argc, argv, "conv_f16");
    for (const auto& problem : bench::bench_problems(args)) {
      const ConvProblem p = ConvProblem::parse(problem);
      bench::register_ours(nullptr, problem);
      bench::register_f32_storage(problem);
      for (const auto& impl : ops::conv_list()) {
        if (args.dispatch_only) break;   // conv_f16/<problem> is dispatch's choice
        if (impl->applicable(p, bench::env().context.device()).empty()) bench::register_ours(impl.get(), problem);
      }
      bench::register_peer_clblast_convgemm(problem, p);
      bench::register_peer_opencv_conv(problem, p);
      bench::register_peer_opencv_conv_ocl(problem, p);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    bench::env();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const Error& e) {
    std::cerr << "bench_conv: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
