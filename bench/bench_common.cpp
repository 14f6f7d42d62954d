// Shared benchmark machinery: device, profile, arguments, timing and counters.
#include "bench_common.hpp"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::bench {

BenchEnv& env() {
  static BenchEnv* e = [] {
    auto* b = new BenchEnv{Context(), {}};
    b->profile = device_profile(b->context);
    const DeviceInfo& d = b->context.device();
    benchmark::AddCustomContext("ellesmere_device", fmt::format("{} ({} / {})", d.key, d.platform_name, d.name));
    benchmark::AddCustomContext("ellesmere_driver", d.driver_version);
    benchmark::AddCustomContext(
        "ellesmere_profile",
        fmt::format("{} {}: {:.1f} GB/s, {:.1f} GFLOP/s fp32, {:.1f} GOP/s int8, {:.1f} us launch",
                    b->profile.model_estimate ? "model" : "calibrated", b->profile.date, b->profile.bandwidth_gbps,
                    b->profile.fp32_gflops, b->profile.int8_gops, b->profile.launch_overhead_us));
    return b;
  }();
  return *e;
}

BenchArgs parse_args(int& argc, char** argv, const std::string& op) {
  BenchArgs args;
  args.problems_file = std::string(ELLESMERE_PROBLEMS_DIR) + "/" + op + ".txt";
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--problems=", 11) == 0) {
      args.problems_file = argv[i] + 11;
    } else if (std::strncmp(argv[i], "--tag=", 6) == 0) {
      args.tag = argv[i] + 6;
    } else if (std::strcmp(argv[i], "--dispatch_only") == 0) {
      args.dispatch_only = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return args;
}

std::vector<std::string> bench_problems(const BenchArgs& args) {
  return reference::problems_tagged(args.problems_file, args.tag);
}

namespace {

// pct_peak needs a peak of the hardware that ran: for host peers only meaningful when the OpenCL device is this
// same CPU (PoCL); pass with_pct_peak = false otherwise.
void set_counters(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                  bool integer_ops, double total_seconds, bool with_pct_peak = true) {
  using benchmark::Counter;
  const double iterations = double(state.iterations());
  if (iterations == 0 || total_seconds <= 0) return;
  state.counters[integer_ops ? "GOPS" : "GFLOPS"] = Counter(traffic.ops * iterations * 1e-9, Counter::kIsRate);
  state.counters["GBps"] = Counter(traffic.bytes * iterations * 1e-9, Counter::kIsRate);
  if (!with_pct_peak) return;
  const double bound = env().profile.roofline_seconds(traffic.ops, peak_ops_per_second, traffic.bytes);
  state.counters["pct_peak"] = 100.0 * bound / (total_seconds / iterations);
}

}  // namespace

double time_device(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                   const std::function<EventList()>& run, bool integer_ops) {
  run().wait();
  double total = 0;
  std::vector<double> steps;   // each event's busy time, summed over the iterations (operations of several kernels)
  for (auto _ : state) {
    const EventList events = run();
    const double seconds = events.span_ns() * 1e-9;
    state.SetIterationTime(seconds);
    total += seconds;
    if (events.size() > 1) {
      steps.resize(std::max(steps.size(), events.size()), 0.0);
      for (std::size_t i = 0; i < events.size(); ++i) {
        cl_ulong start = 0, end = 0;
        clGetEventProfilingInfo(events.handles()[i], CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr);
        clGetEventProfilingInfo(events.handles()[i], CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr);
        steps[i] += double(end - start) * 1e-6;
      }
    }
  }
  // step<i>_ms: the i-th kernel's mean time, in launch order (the Impl's shapes() order), to see where it goes.
  for (std::size_t i = 0; i < steps.size() && state.iterations() > 0; ++i) {
    state.counters[fmt::format("step{}_ms", i)] = steps[i] / double(state.iterations());
  }
  set_counters(state, traffic, peak_ops_per_second, integer_ops, total);
  return state.iterations() > 0 ? total / double(state.iterations()) : 0.0;
}

double time_host(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                 const std::function<void()>& run, bool integer_ops) {
  run();
  double total = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(seconds);
    total += seconds;
  }
  set_counters(state, traffic, peak_ops_per_second, integer_ops, total,
               env().context.device().type == DeviceType::cpu);
  return state.iterations() > 0 ? total / double(state.iterations()) : 0.0;
}

namespace {

// Two buffers of mib MiB and the copy kernel over them; run() launches one copy.
struct CopyRun {
  static constexpr int kVw = 16;
  std::size_t bytes;
  Buffer<float> src, dst;
  cl::Kernel* kernel = nullptr;
  std::size_t global = 0, local = 0;

  explicit CopyRun(std::size_t mib)
      : bytes(mib << 20),
        src(env().context, std::span<const float>(std::vector<float>(bytes / sizeof(float), 1.0f)), "copy source"),
        dst(env().context, bytes / sizeof(float), "copy destination") {
    detail::ContextImpl& impl = env().context.impl();
    kernel = &impl.kernel("calibrate/calibrate.cl", "calibrate_copy", fmt::format("-DVW={}", kVw));
    const cl_int n = cl_int(bytes / sizeof(float) / kVw);
    detail::set_args(*kernel, "calibrate_copy", src.handle(), dst.handle(), n);
    local = std::min<std::size_t>(64, env().context.device().max_work_group_size);
    global = (std::size_t(n) + local - 1) / local * local;
  }
  EventList run() {
    EventList events;
    detail::track(events, env().context.impl().launch(*kernel, cl::NDRange(global), cl::NDRange(local),
                                                      "calibrate_copy"));
    return events;
  }
};

}  // namespace

double copy_gbps_now(std::size_t mib, int runs) {
  CopyRun copy(mib);
  copy.run().wait();
  std::vector<double> gbps;
  for (int i = 0; i < std::max(1, runs); ++i) gbps.push_back(2.0 * double(copy.bytes) / double(copy.run().span_ns()));
  std::sort(gbps.begin(), gbps.end());
  return gbps[gbps.size() / 2];
}

double time_device_with_copy(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                             const std::function<EventList()>& run) {
  const double before = copy_gbps_now();
  const double seconds = time_device(state, traffic, peak_ops_per_second, run);
  const double copy = std::max(before, copy_gbps_now());
  if (seconds > 0 && copy > 0) {
    const double bound = std::max(traffic.ops / peak_ops_per_second, traffic.bytes / (copy * 1e9));
    state.counters["pct_roofline_now"] = 100.0 * bound / seconds;
    state.counters["copy_GBps_now"] = copy;
  }
  return seconds;
}

void register_copy_bandwidth(std::size_t mib, const std::string& when) {
  benchmark::RegisterBenchmark(
      fmt::format("copy_bandwidth/{}MiB_{}", mib, when).c_str(),
      [mib](benchmark::State& state) {
        CopyRun copy(mib);
        state.SetLabel(fmt::format("calibrate_copy VW={}, the same run's copy bandwidth", CopyRun::kVw));
        time_device(state, {0.0, 2.0 * double(copy.bytes)}, env().profile.fp32_gflops * 1e9,
                    [&] { return copy.run(); });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace ellesmere::bench
