// Tuning database: parsing, layering, and the lookup hierarchy (exact -> nearest bucket -> family -> class ->
// default).
#include "tuning/tuning_db.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ops/problem_text.hpp"
#include "runtime/embedded_files.hpp"
#include "runtime/env.hpp"

namespace ellesmere::tuning {

const char* layer_name(Layer layer) noexcept {
  switch (layer) {
    case Layer::shipped: return "shipped";
    case Layer::user: return "user";
    default: return "override";
  }
}

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::exact: return "exact problem on this device";
    case Level::nearest_problem: return "nearest problem on this device";
    case Level::family_exact: return "exact problem on the device family";
    case Level::family_nearest: return "nearest problem on the device family";
    case Level::class_exact: return "exact problem on the device class";
    case Level::class_nearest: return "nearest problem on the device class";
    default: return "Impl default";
  }
}

std::string family_of(std::string_view key) {
  static const std::regex cu_suffix(R"(^(.*)-[0-9]+cu$)");
  std::string s(key);
  std::smatch m;
  if (std::regex_match(s, m, cu_suffix)) return m[1];
  return s;
}

std::string class_of(std::string_view family) {
  constexpr std::string_view kPoclCpu = "pocl-cpu";
  if (family.size() > kPoclCpu.size() + 1 && family.substr(0, kPoclCpu.size() + 1) == "pocl-cpu-") {
    return std::string(kPoclCpu);
  }
  return {};
}

TuningEntry parse_entry(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> tokens;
  for (std::string t; in >> t;) tokens.push_back(t);
  if (tokens.size() < 4) {
    throw InvalidArgument(fmt::format("expected \"device impl problem params... time_us\", got {} field(s)",
                                      tokens.size()));
  }
  TuningEntry e;
  e.device = tokens[0];
  e.impl = tokens[1];
  e.problem = tokens[2];
  // Validates the problem's form; a dimension no kernel can index (2^31 or more) is as corrupt as a malformed one.
  for (const auto& [field, value] : ops::ProblemText::parse(e.problem).fields) {
    if (!(value >= 0 && value < 2147483648.0)) {
      throw InvalidArgument(fmt::format("problem \"{}\": {} is out of range [0, 2^31)", e.problem, field));
    }
  }
  const std::string& time = tokens.back();
  auto r = std::from_chars(time.data(), time.data() + time.size(), e.time_us);
  if (r.ec != std::errc() || r.ptr != time.data() + time.size() || !std::isfinite(e.time_us) || e.time_us < 0) {
    throw InvalidArgument(fmt::format("time_us \"{}\" is not a non-negative number", time));
  }
  std::string params;
  for (std::size_t i = 3; i + 1 < tokens.size(); ++i) params += tokens[i] + " ";
  e.params = ops::Params::parse(params);
  return e;
}

std::string format_entry(const TuningEntry& e) {
  return fmt::format("{} {} {} {} {:.1f}", e.device, e.impl, e.problem, e.params.str(), e.time_us);
}

namespace {
void load_shipped_and_user(TuningDb& d) {
  for (const auto& f : runtime::embedded_tuning_db()) {
    d.load_text(f.text, std::string("src/tuning/db/") + f.name, Layer::shipped);
  }
  d.load_file(TuningDb::user_file_path(), Layer::user);
  for (const auto& w : d.warnings()) std::cerr << "ellesmere: warning: tuning database: " << w << '\n';
  const auto entries = d.entries();
  const auto user = std::count_if(entries.begin(), entries.end(), [](const TuningEntry& e) { return e.layer == Layer::user; });
  runtime::log("tuning", fmt::format("database: {} shipped entries, {} from {}", entries.size() - std::size_t(user), user,
                                     TuningDb::user_file_path()));
}
}  // namespace

TuningDb& TuningDb::global() {
  static TuningDb* db = [] {
    auto* d = new TuningDb();   // never destroyed: lookups may run during static destruction of other objects
    load_shipped_and_user(*d);
    return d;
  }();
  return *db;
}

void TuningDb::reload() {
  // Read into a fresh database, then swap under the lock: a lookup on another thread sees the old entries or the
  // new ones, never a half-read file.
  TuningDb fresh;
  load_shipped_and_user(fresh);
  std::lock_guard lock(mutex_);
  for (auto& e : entries_) {
    if (e.layer == Layer::override_) fresh.entries_.push_back(std::move(e));
  }
  entries_ = std::move(fresh.entries_);
  warnings_ = std::move(fresh.warnings_);
}

std::string TuningDb::user_file_path() {
  if (auto p = runtime::env("ELLESMERE_TUNING_DB")) return *p;
  return runtime::config_dir() + "/tuning.txt";
}

void TuningDb::load_text(std::string_view text, const std::string& origin, Layer layer) {
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  std::lock_guard lock(mutex_);
  while (std::getline(in, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      TuningEntry e = parse_entry(line);
      e.layer = layer;
      e.origin = fmt::format("{}:{}", origin, number);
      entries_.push_back(std::move(e));
    } catch (const Error& err) {
      warnings_.push_back(fmt::format("{}:{}: skipped: {}", origin, number, err.what()));
    }
  }
}

void TuningDb::load_file(const std::string& path, Layer layer) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  if (std::filesystem::is_directory(path, ec)) {
    // Reading a directory "succeeds" with no bytes on Linux: say so rather than load an empty layer silently.
    std::lock_guard lock(mutex_);
    warnings_.push_back(fmt::format("{}: cannot be read (it is a directory); using the other layers", path));
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (in) s << in.rdbuf();
  if (!in || in.bad()) {
    std::lock_guard lock(mutex_);
    warnings_.push_back(fmt::format("{}: cannot be read; using the other layers", path));
    return;
  }
  load_text(s.str(), path, layer);
}

void TuningDb::add_override(TuningEntry entry) {
  ops::ProblemText::parse(entry.problem);   // a malformed problem would make every later lookup throw
  entry.layer = Layer::override_;
  if (entry.origin.empty()) entry.origin = "runtime override";
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
}

void TuningDb::clear_overrides() {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [](const TuningEntry& e) { return e.layer == Layer::override_; });
}

std::vector<TuningEntry> TuningDb::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::vector<std::string> TuningDb::warnings() const {
  std::lock_guard lock(mutex_);
  return warnings_;
}

Lookup TuningDb::lookup(const DeviceInfo& device, const ops::ImplBase& impl, std::string_view problem) const {
  return lookup(device.key, device.family, device, impl, problem);
}

Lookup TuningDb::lookup(std::string_view device_key, std::string_view device_family,
                        const DeviceInfo& limits_device, const ops::ImplBase& impl,
                        std::string_view problem) const {
  const ops::ParamSpace space = impl.space();
  const ops::ProblemText wanted = ops::ProblemText::parse(problem);
  Lookup result;

  // Candidates per level; within a level the nearer problem wins (a user's entry for a distant shape must not
  // shadow a shipped entry for this one), then the higher layer (override > user > shipped: at equal distance,
  // which includes the exact levels, that is the overlay), then the later line (a line appended to a file
  // overrides an earlier one, as a re-tune would).
  struct Candidate {
    const TuningEntry* entry;
    Level level;
    double distance;
    std::size_t index;
  };
  std::vector<Candidate> candidates;
  const std::string device_class = class_of(device_family);
  std::lock_guard lock(mutex_);
  for (std::size_t index = 0; index < entries_.size(); ++index) {
    const TuningEntry& e = entries_[index];
    if (e.impl != impl.name()) continue;
    const bool same_device = e.device == device_key;
    const std::string entry_family = family_of(e.device);
    const bool same_family = !same_device && (e.device == device_family || entry_family == device_family);
    const bool same_class = !same_device && !same_family && !device_class.empty() &&
                            (e.device == device_class || class_of(entry_family) == device_class);
    if (!same_device && !same_family && !same_class) continue;
    double d = 0;
    if (e.problem != problem) {
      d = ops::problem_distance(wanted, ops::ProblemText::parse(e.problem));
      if (!std::isfinite(d)) continue;
    }
    const Level level = same_device   ? (d == 0 ? Level::exact : Level::nearest_problem)
                        : same_family ? (d == 0 ? Level::family_exact : Level::family_nearest)
                                      : (d == 0 ? Level::class_exact : Level::class_nearest);
    candidates.push_back({&e, level, d, index});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.level != b.level) return a.level < b.level;
    if (a.distance != b.distance) return a.distance < b.distance;
    if (a.entry->layer != b.entry->layer) return a.entry->layer > b.entry->layer;
    return a.index > b.index;
  });
  for (const auto& c : candidates) {
    ops::Params params;
    try {
      params = space.complete(c.entry->params);
    } catch (const Error& err) {
      result.skipped.push_back(fmt::format("{}: {}", c.entry->origin, err.what()));
      continue;
    }
    if (std::string why = impl.check_params(params, limits_device); !why.empty()) {
      result.skipped.push_back(fmt::format("{}: {} invalid on {}: {}", c.entry->origin, params.str(),
                                           limits_device.name, why));
      continue;
    }
    result.params = std::move(params);
    result.level = c.level;
    result.entry = *c.entry;
    return result;
  }
  result.params = space.defaults();
  result.level = Level::impl_default;
  result.invalid = impl.check_params(result.params, limits_device);
  return result;
}

}  // namespace ellesmere::tuning
