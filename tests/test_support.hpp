// Helpers shared by the device, oclgrind and polaris tests: environment guards, temporary directories, the
// small-shape switch the oclgrind harness sets, and problem-file paths.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "ellesmere/device.hpp"
#include "reference/reference.hpp"

namespace ellesmere::testing {

// Sets (or unsets, for nullopt) an environment variable for the guard's lifetime.
class EnvGuard {
 public:
  EnvGuard(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "tmp") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("ellesmere-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // Writes text to relative (creating its directories) inside the temporary directory.
  void write(const std::string& relative, const std::string& text) const {
    const auto p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

 private:
  std::filesystem::path path_;
};

// True under the oclgrind harness (ELLESMERE_TEST_SMALL=1): tests use their small shapes only.
inline bool small_mode() {
  const char* v = std::getenv("ELLESMERE_TEST_SMALL");
  return v != nullptr && std::string(v) == "1";
}

// One Context shared by a test binary: under oclgrind every program is compiled from source, and only once this
// way. Never destroyed (OpenCL objects must not be released from static destructors, see src/runtime/cl.hpp).
inline Context& shared_context() {
  static Context* context = new Context();
  return *context;
}

inline std::string problems_file(const std::string& op) {
  return std::string(ELLESMERE_PROBLEMS_DIR) + "/" + op + ".txt";
}

}  // namespace ellesmere::testing
