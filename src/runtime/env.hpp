// ELLESMERE_* environment variables and the directories derived from them. Internal to the library.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ellesmere::runtime {

// The variable's value, or nullopt when unset or empty.
std::optional<std::string> env(const char* name);

// True when ELLESMERE_VERBOSE names topic (comma-separated list, or "all"): dispatch, cache, build, tuning.
bool verbose(std::string_view topic);
// Prints "[ellesmere:<topic>] <message>" to stderr when verbose(topic).
void log(std::string_view topic, std::string_view message);

// $ELLESMERE_CACHE_DIR, else $XDG_CACHE_HOME/ellesmere, else ~/.cache/ellesmere.
std::string cache_dir();
// $ELLESMERE_CONFIG_DIR, else $XDG_CONFIG_HOME/ellesmere, else ~/.config/ellesmere.
std::string config_dir();
// False when ELLESMERE_CACHE=0 (disk program cache off).
bool disk_cache_enabled();

}  // namespace ellesmere::runtime
