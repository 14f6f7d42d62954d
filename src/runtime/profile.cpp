// Device profiles: text format, built-in model profiles (src/runtime/profiles/*.txt, embedded), saved profiles.
#include "ellesmere/profile.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "runtime/embedded_files.hpp"
#include "runtime/env.hpp"
#include "runtime/files.hpp"

namespace ellesmere {

namespace fs = std::filesystem;

double DeviceProfile::roofline_seconds(double ops, double ops_per_second, double bytes) const {
  const double compute = ops_per_second > 0 ? ops / ops_per_second : 0.0;
  const double memory = bandwidth_gbps > 0 ? bytes / (bandwidth_gbps * 1e9) : 0.0;
  return std::max(compute, memory);
}

namespace {

// A control character (other than tab) in a line of profile text: the parser refuses it, the writer replaces it.
bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

// A text field as written: control characters become spaces, so a driver string holding a newline or a carriage
// return can neither break the line apart nor add a field, and the file reads back to what was written.
std::string text_field(const std::string& value) {
  std::string out = value;
  std::replace_if(out.begin(), out.end(), is_control, ' ');
  return out;
}

}  // namespace

std::string format_profile(const DeviceProfile& p) {
  std::string out = "# ellesmere device profile (plain text: name value; '#' starts a comment)\n";
  out += fmt::format("name {}\nkey {}\nmodel_estimate {}\n", text_field(p.name), text_field(p.key),
                     p.model_estimate ? 1 : 0);
  if (!p.device.empty()) out += fmt::format("device {}\n", text_field(p.device));
  if (!p.driver.empty()) out += fmt::format("driver {}\n", text_field(p.driver));
  if (!p.date.empty()) out += fmt::format("date {}\n", text_field(p.date));
  out += fmt::format("compute_units {}\n", p.compute_units);
  out += fmt::format("bandwidth_gbps {:.3f}\nfp32_gflops {:.3f}\nfp16_gflops {:.3f}\nint8_gops {:.3f}\n",
                     p.bandwidth_gbps, p.fp32_gflops, p.fp16_gflops, p.int8_gops);
  out += fmt::format("launch_overhead_us {:.3f}\n", p.launch_overhead_us);
  out += fmt::format("local_mem_bytes {}\nmax_work_group_size {}\nglobal_mem_bytes {}\n", p.local_mem_bytes,
                     p.max_work_group_size, p.global_mem_bytes);
  for (const auto& s : p.sources) out += fmt::format("source {}\n", text_field(s));
  return out;
}

DeviceProfile parse_profile(std::string_view text, const std::string& origin) {
  DeviceProfile p;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  bool have_key = false, have_bw = false, have_fp32 = false;
  while (std::getline(in, line)) {
    ++number;
    auto fail = [&](const std::string& why) { throw FileError(origin, fmt::format("line {}: {}", number, why)); };
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    if (auto bad = std::find_if(line.begin(), line.end(), is_control); bad != line.end()) {
      fail(fmt::format("control character 0x{:02x} at column {} (profiles are plain text)",
                       static_cast<unsigned>(static_cast<unsigned char>(*bad)), (bad - line.begin()) + 1));
    }
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto space = line.find_first_of(" \t", first);
    std::string name = line.substr(first, space == std::string::npos ? std::string::npos : space - first);
    std::string value;
    if (space != std::string::npos) {
      auto v = line.find_first_not_of(" \t", space);
      if (v != std::string::npos) value = line.substr(v);
    }
    // Text values keep '#' (device names may contain it); numeric values allow a trailing comment.
    auto number_of = [&]() {
      std::string v = value.substr(0, value.find('#'));
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
      double d = 0;
      auto r = std::from_chars(v.data(), v.data() + v.size(), d);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || !std::isfinite(d) || d < 0) {
        fail(fmt::format("{} needs a non-negative number, got \"{}\"", name, value));
      }
      return d;
    };
    // Counts and sizes: whole numbers up to max (a double beyond an integer type's range does not convert).
    auto whole_number_of = [&](double max) {
      const double d = number_of();
      if (d != std::floor(d) || d > max) {
        fail(fmt::format("{} needs a whole number from 0 to {:.0f}, got \"{}\"", name, max, value));
      }
      return d;
    };
    if (name == "name") {
      p.name = value;
    } else if (name == "key") {
      p.key = value;
      have_key = !value.empty();
    } else if (name == "model_estimate") {
      p.model_estimate = number_of() != 0;
    } else if (name == "device") {
      p.device = value;
    } else if (name == "driver") {
      p.driver = value;
    } else if (name == "date") {
      p.date = value;
    } else if (name == "compute_units") {
      p.compute_units = int(whole_number_of(1 << 20));
    } else if (name == "bandwidth_gbps") {
      p.bandwidth_gbps = number_of();
      have_bw = true;
    } else if (name == "fp32_gflops") {
      p.fp32_gflops = number_of();
      have_fp32 = true;
    } else if (name == "fp16_gflops") {
      p.fp16_gflops = number_of();
    } else if (name == "int8_gops") {
      p.int8_gops = number_of();
    } else if (name == "launch_overhead_us") {
      p.launch_overhead_us = number_of();
    } else if (name == "local_mem_bytes") {
      p.local_mem_bytes = std::uint64_t(whole_number_of(0x1p48));
    } else if (name == "max_work_group_size") {
      p.max_work_group_size = std::size_t(whole_number_of(0x1p31));
    } else if (name == "global_mem_bytes") {
      p.global_mem_bytes = std::uint64_t(whole_number_of(0x1p56));
    } else if (name == "source") {
      p.sources.push_back(value);
    } else {
      fail(fmt::format("unknown field \"{}\"", name));
    }
  }
  if (!have_key) throw FileError(origin, "no \"key\" line: not a device profile");
  if (!have_bw || !have_fp32) throw FileError(origin, "needs both bandwidth_gbps and fp32_gflops");
  if (p.name.empty()) p.name = p.key;
  return p;
}

std::string profile_dir() { return runtime::config_dir() + "/profiles"; }

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const auto& f : runtime::embedded_profiles()) {
    names.push_back(parse_profile(f.text, std::string("built-in ") + f.name).name);
  }
  return names;
}

DeviceProfile builtin_profile(std::string_view name_or_key) {
  std::string known;
  for (const auto& f : runtime::embedded_profiles()) {
    DeviceProfile p = parse_profile(f.text, std::string("built-in ") + f.name);
    if (p.name == name_or_key || p.key == name_or_key) return p;
    known += (known.empty() ? "" : ", ") + p.name + " (" + p.key + ")";
  }
  throw NotSupported(fmt::format("no built-in profile \"{}\" (built-in: {})", name_or_key, known));
}

std::optional<DeviceProfile> load_saved_profile(std::string_view key) {
  const fs::path path = fs::path(profile_dir()) / (std::string(key) + ".txt");
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string(), "cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  DeviceProfile p = parse_profile(s.str(), path.string());
  if (p.key != key) {
    throw FileError(path.string(), fmt::format("holds the profile of {}, not {}", p.key, key));
  }
  return p;
}

std::string save_profile(const DeviceProfile& profile) {
  const std::string path = (fs::path(profile_dir()) / (profile.key + ".txt")).string();
  runtime::write_file_atomically(path, format_profile(profile));
  return path;
}

DeviceProfile device_profile(Context& context) {
  if (auto saved = load_saved_profile(context.device().key)) return *saved;
  DeviceProfile p = calibrate(context, CalibrateOptions{.quick = true});
  try {
    save_profile(p);
  } catch (const FileError& e) {
    std::cerr << "ellesmere: warning: calibrated but could not save the profile: " << e.what() << '\n';
  }
  return p;
}

}  // namespace ellesmere
