// Device profiles: the peak rates a device reaches (measured by `ellesmere calibrate`, or a built-in model such as
// the RX 580's), stored as plain text keyed by DeviceKey. Benchmarks (pct_peak) and the cost model read them.
#pragma once

#include "ellesmere/device.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ellesmere {

struct DeviceProfile {
  std::string key;                // DeviceKey::key ("amd-polaris-36cu", "pocl-cpu-haswell-2cu")
  std::string name;               // short name for built-ins ("rx580"); equals key for calibrated profiles
  bool model_estimate = false;    // true: spec sheet and published figures, not measured on this machine
  std::string device;             // device name as the driver reported it (or the product name for a model)
  std::string driver;             // driver version the figures were measured with
  std::string date;               // when it was measured (ISO 8601), empty for a model
  int compute_units = 0;
  double bandwidth_gbps = 0;      // device-memory copy bandwidth, (bytes read + bytes written) / s
  double fp32_gflops = 0;         // fp32 multiply-add rate, 2 flops per FMA
  double fp16_gflops = 0;         // half arithmetic rate (Polaris: the fp32 rate, no packed math); 0 if unknown
  double int8_gops = 0;           // int8 multiply-add rate, 2 ops per MAC (widened to 24/32-bit: no dot instruction)
  double launch_overhead_us = 0;  // per kernel, back-to-back launches on one in-order queue
  std::uint64_t local_mem_bytes = 0;        // per work-group
  std::size_t max_work_group_size = 0;
  std::uint64_t global_mem_bytes = 0;
  std::vector<std::string> sources;         // where the figures come from (comments for a model)

  // Roofline time in seconds: max(ops / rate, bytes / bandwidth), rate in ops/s picked by the caller.
  double roofline_seconds(double ops, double ops_per_second, double bytes) const;
};

// Plain-text form: "name value" lines, '#' comments, "source ..." lines. parse throws FileError with line numbers.
std::string format_profile(const DeviceProfile& profile);
DeviceProfile parse_profile(std::string_view text, const std::string& origin);

// Directory of saved profiles: $ELLESMERE_CONFIG_DIR/profiles, else $XDG_CONFIG_HOME/ellesmere/profiles, else
// ~/.config/ellesmere/profiles.
std::string profile_dir();

// Built-in model profiles shipped with the library (currently "rx580", key amd-polaris-36cu).
std::vector<std::string> builtin_profile_names();
DeviceProfile builtin_profile(std::string_view name_or_key);   // throws NotSupported if unknown

// A saved (calibrated) profile for key, if one exists; a corrupt file throws FileError.
std::optional<DeviceProfile> load_saved_profile(std::string_view key);
// Writes profile_dir()/<key>.txt atomically and returns the path; throws FileError if it cannot.
std::string save_profile(const DeviceProfile& profile);

struct CalibrateOptions {
  bool quick = false;   // fewer repetitions and smaller sizes (seconds instead of tens of seconds)
  bool verbose = false; // print each measurement as it is taken
};

// Measures copy bandwidth, fp32 FMA rate (explicitly vectorised: PoCL only reaches peak with wide vectors),
// int8 multiply-add rate and launch overhead on context's device.
DeviceProfile calibrate(Context& context, const CalibrateOptions& options = {});

// The saved profile of context's device, or (when there is none) a quick calibration, saved for next time.
DeviceProfile device_profile(Context& context);

}  // namespace ellesmere
