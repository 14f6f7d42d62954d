// ELLESMERE_* environment variables: verbosity topics and the cache and configuration directories.
#include "runtime/env.hpp"

#include <cstdlib>
#include <iostream>

namespace ellesmere::runtime {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

bool verbose(std::string_view topic) {
  auto v = env("ELLESMERE_VERBOSE");
  if (!v) return false;
  std::string_view list = *v;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    if (item == topic || item == "all" || item == "1") return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void log(std::string_view topic, std::string_view message) {
  if (verbose(topic)) std::cerr << "[ellesmere:" << topic << "] " << message << '\n';
}

namespace {
std::string xdg_dir(const char* own_var, const char* xdg_var, const char* home_suffix) {
  if (auto own = env(own_var)) return *own;
  if (auto xdg = env(xdg_var)) return *xdg + "/ellesmere";
  if (auto home = env("HOME")) return *home + home_suffix;
  return std::string("/tmp/ellesmere") + home_suffix;
}
}  // namespace

std::string cache_dir() { return xdg_dir("ELLESMERE_CACHE_DIR", "XDG_CACHE_HOME", "/.cache/ellesmere"); }
std::string config_dir() { return xdg_dir("ELLESMERE_CONFIG_DIR", "XDG_CONFIG_HOME", "/.config/ellesmere"); }

bool disk_cache_enabled() {
  auto v = env("ELLESMERE_CACHE");
  return !(v && (*v == "0" || *v == "off" || *v == "false"));
}

}  // namespace ellesmere::runtime
