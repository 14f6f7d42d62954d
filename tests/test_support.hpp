// Helpers shared by the device, oclgrind and polaris tests: environment guards, temporary directories, the
// small-shape switch the oclgrind harness sets, problem-file paths, and the (Impl, problem, Params) cases of the
// parameterised kernel tests.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "ellesmere/device.hpp"
#include "ops/params.hpp"
#include "reference/reference.hpp"

namespace ellesmere::testing {

// The message of the E that f throws. Another exception, or none, is a test failure (and returns a text saying so,
// which no expected message contains).
template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected " << typeid(E).name() << ", got another exception: " << e.what();
    return std::string("WRONG EXCEPTION TYPE: ") + e.what();
  }
  ADD_FAILURE() << "expected " << typeid(E).name() << ", nothing was thrown";
  return "NO ERROR";
}

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

// One case of a parameterised kernel test: an Impl, a problem (canonical text) and the Params to run it with;
// index is its position in the list (tests use it to rotate through variants, and it keeps names unique).
struct KernelCase {
  std::string impl;
  std::string problem;
  ops::Params params;
  std::size_t index = 0;
};
inline void PrintTo(const KernelCase& c, std::ostream* os) {
  *os << c.impl << " " << c.problem << " [" << c.params.str() << "]";
}

// Every (Impl of impls, Params of param_sets(impl name), problem of the op's problem file) for which
// keep(impl name, problem) holds; the problems tagged "test", or "oclgrind" in small mode.
template <class ImplList, class ParamSets, class Keep>
std::vector<KernelCase> kernel_cases(const std::string& op, const ImplList& impls, ParamSets param_sets, Keep keep) {
  std::vector<KernelCase> cases;
  const auto problems = reference::problems_tagged(problems_file(op), small_mode() ? "oclgrind" : "test");
  for (const auto& impl : impls) {
    for (const auto& params : param_sets(impl->name())) {
      for (const auto& problem : problems) {
        if (keep(impl->name(), problem)) cases.push_back({impl->name(), problem, params, cases.size()});
      }
    }
  }
  return cases;
}

// The test name of a case: impl_problem_params_index, every character that is not alphanumeric as '_'.
inline std::string kernel_case_name(const ::testing::TestParamInfo<KernelCase>& info) {
  std::string n = info.param.impl + "_" + info.param.problem + "_" + info.param.params.str();
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n + "_" + std::to_string(info.index);
}

}  // namespace ellesmere::testing
