// ImplBase: one host-side description per kernel variant (name, kernel source, tunable space, launch geometry).
// It is the only place kernel arguments are set; dispatch, tuner, tests and benchmarks all go through Impls.
// Each op derives its own Impl interface (applicable / traffic / launch on that op's Problem) from it.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ellesmere/device.hpp"
#include "ops/params.hpp"

namespace ellesmere::ops {

// Work and memory traffic of one run, for GFLOP/s, GB/s and the roofline.
struct Traffic {
  double ops = 0;     // flops (or int ops) as conventionally counted, e.g. 2*M*N*K for GEMM
  double bytes = 0;   // minimum bytes to and from device memory
};

// One kernel launch an Impl makes for a problem, with the Params it was given.
struct LaunchShape {
  std::string kernel;                          // kernel function name
  int dims = 1;
  std::array<std::size_t, 3> global{1, 1, 1};
  std::array<std::size_t, 3> local{1, 1, 1};
  std::size_t dynamic_local_bytes = 0;         // __local kernel arguments, in bytes
  std::size_t work_group_size() const { return local[0] * local[1] * local[2]; }
};

class ImplBase {
 public:
  virtual ~ImplBase() = default;
  virtual std::string name() const = 0;   // "<op>_<dtype>_<strategy>", e.g. "gemm_f32_tile2d"
  virtual std::string op() const = 0;     // the problem kind it runs, e.g. "gemm_f32"
  // Our kernel file, relative to kernels/; empty when the kernels belong to a peer library (CLBlast).
  virtual std::string kernel_file() const { return {}; }
  virtual ParamSpace space() const { return {}; }
  // OpenCL extensions the kernel cannot run without (none for every Impl meant for Polaris).
  virtual std::vector<std::string> required_extensions() const { return {}; }
  // Rules a Params set must obey on a device (divisibility, work-group size, local memory); "" when valid.
  virtual std::string check_params(const Params& params, const DeviceInfo& device) const;
  // Build options for a problem (canonical text) and Params: the Params' -D defines plus any the problem implies
  // (e.g. transposes). The program cache adds -cl-std unless the options name one.
  virtual std::string build_options(std::string_view problem, const Params& params) const;
  // The extra defines a launch may add to build_options() beyond the problem's (epilogue choices, device-dependent
  // paths): one entry per program variant, "" for the plain one. The compile test and the polaris check build
  // every variant, so each is known to compile as OpenCL C 1.1.
  virtual std::vector<std::string> variant_options() const { return {""}; }
  // The launches it makes for a problem in canonical text form (empty when it launches none of ours).
  virtual std::vector<LaunchShape> launch_shapes(std::string_view problem, const Params& params) const;
};

// Launch rule shared by every 2-D Impl: global rounded up to whole work-groups.
inline std::size_t round_up(std::size_t value, std::size_t multiple) {
  return multiple == 0 ? value : (value + multiple - 1) / multiple * multiple;
}

}  // namespace ellesmere::ops
