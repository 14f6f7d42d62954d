// `ellesmere calibrate`: measures a device's copy bandwidth, fp32 FMA rate, int8 multiply-add rate and launch
// overhead with kernels/calibrate/calibrate.cl. Each rate is the best of several vector widths and repetitions,
// because a profile states what the device can reach, and a peak is an upper bound.
#include <chrono>
#include <ctime>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/profile.hpp"
#include "runtime/context_impl.hpp"
#include "runtime/fault_injection.hpp"

namespace ellesmere {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kFile = "calibrate/calibrate.cl";

double seconds_of(const cl::Event& e) {
  runtime::check(e.wait(), "clWaitForEvents", "calibration kernel");
  cl_ulong start = 0, end = 0;
  runtime::check(e.getProfilingInfo(CL_PROFILING_COMMAND_START, &start), "clGetEventProfilingInfo");
  runtime::check(e.getProfilingInfo(CL_PROFILING_COMMAND_END, &end), "clGetEventProfilingInfo");
  return double(end - start) * 1e-9;
}

struct Calibrator {
  detail::ContextImpl& ctx;
  const CalibrateOptions& options;
  int reps;

  void say(const std::string& line) const {
    if (options.verbose) std::cerr << "  " << line << '\n';
  }

  std::size_t local_size() const { return std::min<std::size_t>(64, ctx.info.max_work_group_size); }

  // A calibration buffer; a failed allocation (or an injected one) throws ClError naming what it was for.
  cl::Buffer make_buffer(cl_mem_flags flags, std::size_t bytes, void* host, const std::string& what) const {
    cl_int err = runtime::fault::hit(runtime::fault::Site::alloc);
    cl::Buffer buffer;
    if (err == CL_SUCCESS) buffer = cl::Buffer(ctx.context, flags, bytes, host, &err);
    runtime::check(err, "clCreateBuffer", fmt::format("{} ({} bytes on {})", what, bytes, ctx.info.name));
    return buffer;
  }

  // Best time of reps runs (after one warm-up) of a kernel whose arguments are already set.
  double best_seconds(cl::Kernel& k, std::size_t global, const std::string& what) {
    const cl::NDRange g(global), l(local_size());
    seconds_of(ctx.launch(k, g, l, what));   // warm-up
    double best = 1e30;
    for (int r = 0; r < reps; ++r) best = std::min(best, seconds_of(ctx.launch(k, g, l, what)));
    return best;
  }

  double bandwidth_gbps() {
    // Each buffer well past any last-level cache (32 MiB L3 on the EPYC CI machines, 2 MB L2 on Polaris), or the
    // figure is cache bandwidth.
    const std::size_t target = options.quick ? (std::size_t(64) << 20) : (std::size_t(256) << 20);
    const std::size_t bytes = std::min<std::size_t>(target, ctx.info.max_alloc_bytes / 2) / 64 * 64;
    cl::Buffer src = make_buffer(CL_MEM_READ_WRITE, bytes, nullptr, "calibration copy source");
    cl::Buffer dst = make_buffer(CL_MEM_READ_WRITE, bytes, nullptr, "calibration copy destination");
    // Written from the host (clEnqueueFillBuffer is OpenCL 1.2; Clover is 1.1) so no kernel reads undefined data.
    const std::vector<float> zeros(bytes / sizeof(float), 0.0f);
    runtime::check(ctx.queue.enqueueWriteBuffer(src, CL_TRUE, 0, bytes, zeros.data()), "clEnqueueWriteBuffer");
    double best = 0;
    for (int vw : {1, 4, 16}) {
      cl::Kernel& k = ctx.kernel(kFile, "calibrate_copy", fmt::format("-DVW={}", vw));
      const cl_int n = cl_int(bytes / sizeof(float) / std::size_t(vw));
      runtime::check(k.setArg(0, src), "clSetKernelArg");
      runtime::check(k.setArg(1, dst), "clSetKernelArg");
      runtime::check(k.setArg(2, n), "clSetKernelArg");
      const std::size_t global = (std::size_t(n) + local_size() - 1) / local_size() * local_size();
      double gbps = 2.0 * double(bytes) / best_seconds(k, global, "calibrate_copy") * 1e-9;
      say(fmt::format("copy VW={:<2}  {:8.2f} GB/s", vw, gbps));
      best = std::max(best, gbps);
    }
    return best;
  }

  // Runs kernel_name for every (VW, CHAINS) pair, growing iters until one run takes min_seconds; returns the
  // best rate in G(fl)ops/s.
  template <class SetArgs>
  double compute_rate(const char* kernel_name, const char* unit, SetArgs set_args) {
    const double min_seconds = options.quick ? 0.02 : 0.1;
    const std::size_t global = std::size_t(std::max(1, ctx.info.compute_units)) * 16 * local_size();
    double best = 0;
    for (int vw : {4, 16}) {
      for (int chains : {4, 8}) {
        cl::Kernel& k = ctx.kernel(kFile, kernel_name, fmt::format("-DVW={} -DCHAINS={}", vw, chains));
        cl::Buffer out = make_buffer(CL_MEM_READ_WRITE, global * std::size_t(vw) * 4, nullptr,
                                     fmt::format("{} output", kernel_name));
        cl_int iters = 64;
        double t = 0;
        for (;;) {
          set_args(k, out, iters);
          t = best_seconds(k, global, kernel_name);
          if (t >= min_seconds || iters >= (1 << 24)) break;
          iters = cl_int(std::min<double>(double(1 << 24), iters * std::max(2.0, 1.2 * min_seconds / t)));
        }
        const double rate = 2.0 * vw * chains * double(iters) * double(global) / t * 1e-9;
        say(fmt::format("{} VW={:<2} CHAINS={}  {:8.1f} {}", kernel_name, vw, chains, rate, unit));
        best = std::max(best, rate);
      }
    }
    return best;
  }

  double launch_overhead_us() {
    cl::Buffer out = make_buffer(CL_MEM_READ_WRITE, 64, nullptr, "calibrate_empty output");
    cl::Kernel& k = ctx.kernel(kFile, "calibrate_empty", "");
    runtime::check(k.setArg(0, out), "clSetKernelArg");
    const int launches = options.quick ? 100 : 500;
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
      ctx.launch(k, cl::NDRange(1), cl::NDRange(1), "calibrate_empty");
      runtime::check(ctx.queue.finish(), "clFinish");
      auto t0 = Clock::now();
      for (int i = 0; i < launches; ++i) {
        cl_int err = runtime::fault::hit(runtime::fault::Site::enqueue);
        if (err == CL_SUCCESS) err = ctx.queue.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(1), cl::NDRange(1));
        runtime::check(err, "clEnqueueNDRangeKernel", "calibrate_empty on " + ctx.info.name);
      }
      runtime::check(ctx.queue.finish(), "clFinish");
      best = std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / launches);
    }
    say(fmt::format("launch overhead  {:.2f} us per back-to-back launch", best));
    return best;
  }
};

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

DeviceProfile calibrate(Context& context, const CalibrateOptions& options) {
  detail::ContextImpl& ctx = context.impl();
  const DeviceInfo& info = ctx.info;
  Calibrator c{ctx, options, options.quick ? 3 : 7};

  DeviceProfile p;
  p.key = info.key;
  p.name = info.key;
  p.device = info.name;
  p.driver = info.driver_version;
  p.date = now_iso8601();
  p.compute_units = info.compute_units;
  p.local_mem_bytes = info.local_mem_bytes;
  p.max_work_group_size = info.max_work_group_size;
  p.global_mem_bytes = info.global_mem_bytes;

  p.bandwidth_gbps = c.bandwidth_gbps();
  p.fp32_gflops = c.compute_rate("calibrate_fma_f32", "GFLOP/s", [](cl::Kernel& k, cl::Buffer& out, cl_int iters) {
    runtime::check(k.setArg(0, out), "clSetKernelArg");
    runtime::check(k.setArg(1, 1.0f), "clSetKernelArg");
    runtime::check(k.setArg(2, 0.999f), "clSetKernelArg");
    runtime::check(k.setArg(3, iters), "clSetKernelArg");
  });
  const cl_char seed_values[16] = {3, -5, 7, -11, 13, -17, 19, -23, 29, -31, 37, -41, 43, -47, 53, -59};
  cl::Buffer seed = c.make_buffer(CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof seed_values,
                                  const_cast<cl_char*>(seed_values), "calibration seed");
  p.int8_gops = c.compute_rate("calibrate_mad_i8", "GOP/s", [&](cl::Kernel& k, cl::Buffer& out, cl_int iters) {
    runtime::check(k.setArg(0, out), "clSetKernelArg");
    runtime::check(k.setArg(1, seed), "clSetKernelArg");
    runtime::check(k.setArg(2, iters), "clSetKernelArg");
  });
  p.launch_overhead_us = c.launch_overhead_us();
  p.sources.push_back(fmt::format("measured by ellesmere calibrate{} on {} ({}, driver {})",
                                  options.quick ? " --quick" : "", info.name, info.platform_name,
                                  info.driver_version));
  return p;
}

}  // namespace ellesmere
