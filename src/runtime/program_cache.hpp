// Built OpenCL programs, cached in memory per Context and on disk across processes. A disk entry is named by a hash
// of its key (the expanded source, the build options, the platform/device/driver identity) and stores the whole key
// and a checksum of the binary: a stale, corrupt or truncated file is rebuilt from source, never trusted.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ellesmere/device.hpp"
#include "runtime/cl.hpp"

namespace ellesmere::runtime {

struct ProgramCacheStats {
  int memory_hits = 0;
  int disk_hits = 0;
  int builds = 0;
  int disk_rejected = 0;   // disk entries found but not trusted (stale, corrupt, truncated, refused by the driver)
};

// A disk cache file's content checked against the key it must hold: binary is the program binary when the file is
// whole and belongs to key; otherwise rejected says why ("is truncated", "fails its checksum", ...) and binary is
// empty. Never throws for any bytes (the fuzz target fuzz_program_cache checks that).
struct CacheEntry {
  std::vector<unsigned char> binary;
  std::string rejected;
};
CacheEntry parse_cache_entry(std::string_view file, std::string_view key);

class ProgramCache {
 public:
  ProgramCache(cl::Context context, cl::Device device, const DeviceInfo& info);

  // The program for kernel_file built with options; std_option() is added unless options hold a -cl-std flag.
  // Throws BuildError with the build log on a compile failure.
  const cl::Program& get(const std::string& kernel_file, const std::string& options);
  // Same, for source that is not in the kernel registry (tests' planted kernels, calibration). name labels errors.
  const cl::Program& get_source(const std::string& name, const std::string& source, const std::string& options);

  ProgramCacheStats stats() const;
  // The -cl-std option used for this device: CL1.2 where the device's OpenCL C allows it, else CL1.1.
  const std::string& std_option() const { return std_option_; }
  // Defines every build on this device gets, describing the device to the kernels: -DELLESMERE_FAST_FMA=1 where
  // single-precision FMA is in hardware (PoCL does not define FP_FAST_FMAF although its CPUs have FMA).
  const std::string& device_defines() const { return device_defines_; }

 private:
  std::string key_text(const std::string& name, const std::string& source, const std::string& options) const;
  bool load_from_disk(const std::string& path, const std::string& key, const std::string& name,
                      const std::string& options, cl::Program& out);
  void store_to_disk(const std::string& path, const std::string& key, const cl::Program& program);
  cl::Program build_from_source(const std::string& name, const std::string& source, const std::string& options);

  cl::Context context_;
  cl::Device device_;
  DeviceInfo info_;
  std::string std_option_;
  std::string device_defines_;
  mutable std::mutex mutex_;
  std::map<std::string, cl::Program> programs_;
  ProgramCacheStats stats_;
  bool disk_warned_ = false;
};

}  // namespace ellesmere::runtime
