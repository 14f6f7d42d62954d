// The tuning database: text lines "device impl problem params time_us", from the entries shipped in
// src/tuning/db/*.txt, the user's file (ELLESMERE_TUNING_DB, default <config dir>/tuning.txt) and runtime
// overrides, in that order of precedence. Read by dispatch (every launch's Params), the tuner and the CLI.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ellesmere/device.hpp"
#include "ops/impl.hpp"
#include "ops/params.hpp"

namespace ellesmere::tuning {

enum class Layer { shipped = 0, user = 1, override_ = 2 };
const char* layer_name(Layer layer) noexcept;

struct TuningEntry {
  std::string device;      // a DeviceKey ("amd-polaris-36cu") or a family ("amd-polaris")
  std::string impl;
  std::string problem;     // canonical problem text
  ops::Params params;
  double time_us = 0;
  Layer layer = Layer::shipped;
  std::string origin;      // "file:line" or "runtime override"
};

// How specific the entry a lookup used is.
enum class Level { exact, nearest_problem, family_exact, family_nearest, class_exact, class_nearest, impl_default };
const char* level_name(Level level) noexcept;

struct Lookup {
  ops::Params params;                 // complete (every tunable of the Impl)
  Level level = Level::impl_default;
  std::optional<TuningEntry> entry;   // absent for impl_default
  std::string invalid;                // non-empty: even the Impl's default Params cannot run on this device
  std::vector<std::string> skipped;   // entries passed over (invalid for this device) and why
};

// "amd-polaris-36cu" -> "amd-polaris"; a string without a "-<N>cu" suffix is its own family.
std::string family_of(std::string_view device_key_or_family);
// The device class of a family, the last fallback before the Impl's default: families whose generated code differs
// but whose tuning carries over. PoCL's CPU devices, whatever the LLVM CPU ("pocl-cpu-haswell",
// "pocl-cpu-skylake-avx512" -> "pocl-cpu"): every one wants wide vectors where a GCN lane wants one item, and which
// LLVM CPU PoCL detects changes with the host the CI machine happens to get. Empty for every other family (a GPU's
// tuning does not carry over to another chip).
std::string class_of(std::string_view family);

class TuningDb {
 public:
  // The process-wide database: shipped entries plus the user's file, read on first use.
  static TuningDb& global();

  TuningDb() = default;
  // Adds the lines of text; corrupt lines are recorded in warnings() ("origin:line: why") and skipped.
  void load_text(std::string_view text, const std::string& origin, Layer layer);
  // Reads a file if it exists (a missing user file is not an error; an unreadable one is a warning).
  void load_file(const std::string& path, Layer layer);
  void add_override(TuningEntry entry);   // throws InvalidArgument on a malformed problem
  void clear_overrides();
  // global(): drops the shipped and user entries and warnings and reads them again; overrides stay.
  void reload();

  // The Params to use for impl on a problem: the most specific entry whose Params are valid on device, the
  // Impl's defaults when none is.
  Lookup lookup(const DeviceInfo& device, const ops::ImplBase& impl, std::string_view problem) const;
  // Same, for a device known only by key and family (the polaris check asks for amd-polaris-36cu here);
  // limits_device is what Params are checked against.
  Lookup lookup(std::string_view device_key, std::string_view device_family, const DeviceInfo& limits_device,
                const ops::ImplBase& impl, std::string_view problem) const;

  std::vector<TuningEntry> entries() const;
  std::vector<std::string> warnings() const;
  // Where the user's file is: ELLESMERE_TUNING_DB, else <config dir>/tuning.txt.
  static std::string user_file_path();

 private:
  mutable std::mutex mutex_;
  std::vector<TuningEntry> entries_;
  std::vector<std::string> warnings_;
};

// Parses one database line (without comment); throws InvalidArgument saying what is wrong.
TuningEntry parse_entry(std::string_view line);
std::string format_entry(const TuningEntry& entry);

}  // namespace ellesmere::tuning
