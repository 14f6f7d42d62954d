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
//   --dispatch_only   per problem, only the Impl dispatch runs (ops::dispatch_choice; with its "@default" row where
//                     the binary has one) beside the peers: the rows of the performance report
//                     (tools/bench-report.sh), not every Impl; binaries also skip their extra reports
struct BenchArgs {
  std::string problems_file;
  std::string tag = "bench";
  bool dispatch_only = false;
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

// This run's copy bandwidth, GB/s = (bytes read + written) / time: the median of `runs` launches of the
// calibration's copy kernel (`ellesmere calibrate`, VW=16) over two buffers of `mib` MiB each (past the last-level
// cache). The profile's bandwidth was measured on another day, and a shared host's memory bandwidth drifts by tens
// of percent from hour to hour: ratios to a bandwidth are fair only when both are measured side by side.
double copy_gbps_now(std::size_t mib = 64, int runs = 5);

// Runs time_device between two copy_gbps_now() measurements and adds the counter pct_roofline_now: the share of
// the roofline max(ops / peak_ops, bytes / copy bandwidth) reached, with the higher of the two copy bandwidths
// (the stricter figure). pct_peak stays the share of the profile's roofline.
double time_device_with_copy(benchmark::State& state, const ops::Traffic& traffic, double peak_ops_per_second,
                             const std::function<EventList()>& run);

// Registers "copy_bandwidth/<MiB>MiB_<when>": copy_gbps_now's kernel timed like every other row, for the record
// of the bandwidth over a run (rows run in registration order: register one first and one last).
void register_copy_bandwidth(std::size_t mib, const std::string& when);

}  // namespace ellesmere::bench
