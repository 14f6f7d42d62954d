// Limits of a target GPU and driver that every Impl must respect even where the device at hand allows more
// (PoCL accepts 4096-item work-groups and hundreds of KB of local memory; AMD's Polaris drivers do not).
// Used by the `polaris` test label and `ellesmere` listings.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "ellesmere/device.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::ops {

struct TargetLimits {
  std::string name;                  // "RX 580 under AMD's OpenCL drivers"
  std::string device_key;            // the key the tuning lookup is asked for ("amd-polaris-36cu")
  std::string device_family;
  std::size_t max_work_group_size = 0;
  std::array<std::size_t, 3> max_work_item_sizes{};
  std::uint64_t max_local_bytes = 0;
  int opencl_c_version = 11;         // Mesa Clover, one of the RX 580's drivers, is OpenCL C 1.1
  // A DeviceInfo with these limits, for Impl::check_params and applicable().
  DeviceInfo as_device() const;
};

// RX 580 (amd-polaris-36cu): work-groups of at most 256 items, 32 KB of local memory per work-group, OpenCL C 1.1,
// no extension assumed.
TargetLimits polaris_limits();

struct LimitReport {
  std::string impl;
  std::string problem;
  Params params;
  std::string params_from;              // which tuning level gave them
  std::vector<std::string> violations;  // empty: within the limits
  std::vector<std::string> notes;       // what was not checked and why
  std::size_t work_group_size = 0;      // largest over the Impl's launches
  std::uint64_t local_bytes = 0;        // largest static + dynamic local memory over its launches
};

// Builds impl's kernels for problem with params on build_on (the device at hand), as the target's OpenCL C
// version (-cl-std=CL1.1 for Polaris), and checks every launch it would make against limits: work-group size,
// per-dimension sizes, CL_KERNEL_LOCAL_MEM_SIZE plus dynamic local arguments, reqd_work_group_size agreement,
// required or unguarded extensions, and Params validity.
// With check_variants, also builds every variant_options() entry (as the target's OpenCL C).
LimitReport check_limits(detail::ContextImpl& build_on, const ImplBase& impl, const std::string& problem,
                         const Params& params, const TargetLimits& limits, bool check_variants = false);

// `#pragma OPENCL EXTENSION <ext> : enable` lines not inside an #if/#ifdef that names <ext>, as "line N: <ext>".
std::vector<std::string> unguarded_extensions(std::string_view source);

}  // namespace ellesmere::ops
