// The tuning database as a program using ellesmere sees it. Every op launches its kernels with the Params the
// database gives for (device, Impl, problem): entries shipped with the library, then the user's file (written by
// ellesmere-tune), then runtime overrides set here, each layer over the one before. The database is read when the
// first Context is created; `ellesmere tune show PROBLEM` prints which entry a problem uses.
// Thread safety: every function here may be called from any thread; a change applies to launches that start after it.
// reload_database() reads the files first and then replaces the entries at once: a concurrent launch uses the old
// or the new database, never part of one. The ELLESMERE_* environment variables are read as the library runs: set
// them before starting threads (setenv is not thread-safe).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ellesmere::tuning {

// The user's database file: ELLESMERE_TUNING_DB, else <config dir>/tuning.txt (XDG_CONFIG_HOME or ~/.config).
std::string user_database_path();

// What reading the database reported: corrupt lines ("file:line: skipped: why") and unreadable files. The same
// lines are printed to stderr once, when the database is first read.
std::vector<std::string> database_warnings();

// Reads the shipped entries and the user's file again (after ellesmere-tune wrote it, or ELLESMERE_TUNING_DB
// changed). Overrides are kept.
void reload_database();

// Makes impl run with params ("WGN=2 VW=16"; missing tunables keep the Impl's defaults) on problem (canonical text)
// on devices with key device_key (e.g. "amd-polaris-36cu", see `ellesmere devices`) or family ("amd-polaris"), above
// every file entry. Throws InvalidArgument naming what is wrong: an unknown Impl, a malformed problem, a parameter
// the Impl does not have. Params that do not fit the device are skipped at lookup, as a file entry's would be.
void set_override(std::string_view device_key, std::string_view impl, std::string_view problem,
                  std::string_view params);
void clear_overrides();

}  // namespace ellesmere::tuning
