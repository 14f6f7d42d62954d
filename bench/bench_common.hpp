// What every benchmark binary shares: the device and its calibrated profile, problem lists, timing with OpenCL
// events (manual time) after a warm-up, the GFLOPS/GBps/pct_peak counters, and the run's context lines.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ellesmere/profile.hpp"
#include "ops/impl.hpp"

namespace ellesmere::bench {

struct BenchEnv {
  Context context;
  DeviceProfile profile;   // calibrated profile of context's device (calibrated now if none was saved)
};
// Created on first use; prints nothing. Adds device, driver and profile lines to the benchmark context.
BenchEnv& env();

// Parses and removes our own flags from argv before benchmark::Initialize:
//   --problems=FILE   problem file (default tests/problems/<op>.txt)
//   --tag=TAG         problems carrying this tag (default "bench")
struct BenchArgs {
  std::string problems_file;
  std::string tag = "bench";
};
BenchArgs parse_args(int& argc, char** argv, const std::string& op);
std::vector<std::string> bench_problems(const BenchArgs& args);

// Times run() with OpenCL events: one warm-up (program build or cache load, first touch), then one manual-time
// sample per iteration, from the first returned event's START to the last one's END (EventList::span_ns()); run()
// enqueues and returns the events of what it launched (a marker first where a peer hides kernels' events). Then sets the counters:
// GFLOPS (GOPS for integer ops), GBps, and pct_peak, the percentage of the roofline bound
// max(ops / peak_ops, bytes / bandwidth) from the device profile that the measured time reaches.
// Returns the mean seconds per iteration (0 if none ran), for callers that add counters of their own.
double time_device(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                   const std::function<EventList()>& run, bool integer_ops = false);
// The same for a function run on the host (peers such as Eigen), timed with a steady clock; pct_peak only when the
// OpenCL device is a CPU (PoCL on this host), since the profile describes the OpenCL device.
double time_host(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                 const std::function<void()>& run, bool integer_ops = false);

}  // namespace ellesmere::bench
