// The target-limits check (RX 580 under AMD's drivers) run by the `polaris` test label.
#include "ops/target_limits.hpp"

#include <cctype>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/profile.hpp"
#include "runtime/kernel_registry.hpp"

namespace ellesmere::ops {

DeviceInfo TargetLimits::as_device() const {
  DeviceInfo d;
  d.name = name;
  d.platform_name = "(target model)";
  d.type = DeviceType::gpu;
  d.max_work_group_size = max_work_group_size;
  d.max_work_item_sizes = max_work_item_sizes;
  d.local_mem_bytes = max_local_bytes;
  d.opencl_c_version = fmt::format("OpenCL C {}.{}", opencl_c_version / 10, opencl_c_version % 10);
  d.key = device_key;
  d.family = device_family;
  return d;
}

TargetLimits polaris_limits() {
  const DeviceProfile rx580 = builtin_profile("rx580");
  TargetLimits t;
  t.name = "RX 580 under AMD's OpenCL drivers";
  t.device_key = rx580.key;
  t.device_family = "amd-polaris";
  t.max_work_group_size = rx580.max_work_group_size;
  t.max_work_item_sizes = {rx580.max_work_group_size, rx580.max_work_group_size, rx580.max_work_group_size};
  t.max_local_bytes = rx580.local_mem_bytes;
  return t;
}

namespace {

// How cond mentions ext: +1 for a positive test (ext, defined(ext)), -1 for a negated one (!defined(ext)), 0 not.
int mention(const std::string& cond, const std::string& ext) {
  for (auto pos = cond.find(ext); pos != std::string::npos; pos = cond.find(ext, pos + 1)) {
    const auto after = pos + ext.size();
    const bool word_start = pos == 0 || !(std::isalnum(static_cast<unsigned char>(cond[pos - 1])) || cond[pos - 1] == '_');
    const bool word_end = after >= cond.size() ||
                          !(std::isalnum(static_cast<unsigned char>(cond[after])) || cond[after] == '_');
    if (!word_start || !word_end) continue;
    // Walk back over spaces, '(' and the word "defined" to the operator before the test, if any.
    std::size_t i = pos;
    auto skip = [&] {
      while (i > 0 && (cond[i - 1] == ' ' || cond[i - 1] == '\t' || cond[i - 1] == '(')) --i;
    };
    skip();
    if (i >= 7 && cond.compare(i - 7, 7, "defined") == 0) {
      i -= 7;
      skip();
    }
    return (i > 0 && cond[i - 1] == '!') ? -1 : 1;
  }
  return 0;
}

}  // namespace

std::vector<std::string> unguarded_extensions(std::string_view source) {
  static const std::regex pragma(R"(^\s*#\s*pragma\s+OPENCL\s+EXTENSION\s+(\w+)\s*:\s*enable)");
  static const std::regex open_if(R"(^\s*#\s*(if|ifdef|ifndef)\b(.*))");
  static const std::regex elif(R"(^\s*#\s*elif\b(.*))");
  static const std::regex else_(R"(^\s*#\s*else\b)");
  static const std::regex endif(R"(^\s*#\s*endif\b)");
  // One frame per enclosing conditional: the branch we are in is guarded for ext when its condition holds only
  // if ext is defined (#ifdef ext, #if defined(ext), the #else of #ifndef ext or of #if !defined(ext)).
  struct Frame {
    std::string kind;   // "ifdef", "ifndef" or "if" (#elif becomes "if")
    std::string cond;
    bool in_else = false;
  };
  std::vector<Frame> frames;
  auto guarded = [&](const std::string& ext) {
    for (const auto& f : frames) {
      const int m = f.kind == "ifdef" ? (mention(f.cond, ext) != 0 ? 1 : 0)
                  : f.kind == "ifndef" ? (mention(f.cond, ext) != 0 ? -1 : 0)
                                       : mention(f.cond, ext);
      if ((m > 0 && !f.in_else) || (m < 0 && f.in_else)) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  std::istringstream in{std::string(source)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::smatch m;
    if (std::regex_search(line, m, open_if)) {
      frames.push_back({m[1], m[2], false});
    } else if (std::regex_search(line, m, elif)) {
      if (!frames.empty()) frames.back() = {"if", m[1], false};
    } else if (std::regex_search(line, else_)) {
      if (!frames.empty()) frames.back().in_else = true;
    } else if (std::regex_search(line, endif)) {
      if (!frames.empty()) frames.pop_back();
    } else if (std::regex_search(line, m, pragma)) {
      if (!guarded(m[1])) out.push_back(fmt::format("line {}: {}", number, m[1].str()));
    }
  }
  return out;
}

LimitReport check_limits(detail::ContextImpl& build_on, const ImplBase& impl, const std::string& problem,
                         const Params& params, const TargetLimits& limits, bool check_variants) {
  LimitReport r;
  r.impl = impl.name();
  r.problem = problem;
  r.params = params;
  for (const auto& ext : impl.required_extensions()) {
    r.violations.push_back(fmt::format("requires extension {}, which {} does not guarantee", ext, limits.name));
  }
  if (std::string why = impl.check_params(params, limits.as_device()); !why.empty()) {
    r.violations.push_back(fmt::format("Params [{}] invalid for {}: {}", params.str(), limits.name, why));
  }
  if (impl.kernel_file().empty()) {
    r.notes.push_back("its kernels belong to a peer library (not ours to check)");
    return r;
  }
  for (const auto& u : unguarded_extensions(runtime::kernel_source(impl.kernel_file()))) {
    r.violations.push_back(fmt::format("{} enables an extension without an #ifdef guard: {}", impl.kernel_file(), u));
  }
  // Built as the target's OpenCL C, whatever the build device would default to; every program variant a launch may
  // build (the limits below come from the plain one; the variants must compile).
  const std::string options = fmt::format("-cl-std=CL{}.{} {}", limits.opencl_c_version / 10,
                                          limits.opencl_c_version % 10, impl.build_options(problem, params));
  if (check_variants) {
    for (const std::string& variant : impl.variant_options()) {
      if (variant.empty()) continue;
      try {
        build_on.programs.get(impl.kernel_file(), options + variant);
      } catch (const BuildError& e) {
        r.violations.push_back(fmt::format("variant [{}] does not compile as OpenCL C {}.{}:\n{}", variant,
                                           limits.opencl_c_version / 10, limits.opencl_c_version % 10, e.log()));
      }
    }
  }
  for (const LaunchShape& s : impl.launch_shapes(problem, params)) {
    cl::Kernel* kernel = nullptr;
    try {
      kernel = &build_on.kernel(impl.kernel_file(), s.kernel, options);
    } catch (const BuildError& e) {
      r.violations.push_back(fmt::format("{} does not compile with [{}]:\n{}", s.kernel, params.str(), e.log()));
      continue;
    }
    cl_ulong static_local = 0;
    runtime::check(kernel->getWorkGroupInfo(build_on.device, CL_KERNEL_LOCAL_MEM_SIZE, &static_local),
                   "clGetKernelWorkGroupInfo", "CL_KERNEL_LOCAL_MEM_SIZE");
    const std::uint64_t local = static_local + s.dynamic_local_bytes;
    const std::size_t wg = s.work_group_size();
    r.work_group_size = std::max(r.work_group_size, wg);
    r.local_bytes = std::max(r.local_bytes, local);
    if (wg > limits.max_work_group_size) {
      r.violations.push_back(fmt::format("{}: work-group of {} items ({}x{}x{}) exceeds {}'s {}", s.kernel, wg,
                                         s.local[0], s.local[1], s.local[2], limits.name,
                                         limits.max_work_group_size));
    }
    for (int d = 0; d < 3; ++d) {
      if (s.local[d] > limits.max_work_item_sizes[d]) {
        r.violations.push_back(fmt::format("{}: local size {} in dimension {} exceeds {}", s.kernel, s.local[d], d,
                                           limits.max_work_item_sizes[d]));
      }
    }
    if (local > limits.max_local_bytes) {
      r.violations.push_back(fmt::format("{}: {} bytes of local memory ({} static + {} dynamic) exceed {}'s {}",
                                         s.kernel, local, static_local, s.dynamic_local_bytes, limits.name,
                                         limits.max_local_bytes));
    }
    std::array<std::size_t, 3> reqd{};
    runtime::check(clGetKernelWorkGroupInfo((*kernel)(), build_on.device(), CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
                                            sizeof reqd, reqd.data(), nullptr),
                   "clGetKernelWorkGroupInfo", "CL_KERNEL_COMPILE_WORK_GROUP_SIZE");
    if (reqd[0] != 0 && (reqd[0] != s.local[0] || reqd[1] != s.local[1] || reqd[2] != s.local[2])) {
      r.violations.push_back(fmt::format("{}: launched with local {}x{}x{} but reqd_work_group_size is {}x{}x{}",
                                         s.kernel, s.local[0], s.local[1], s.local[2], reqd[0], reqd[1], reqd[2]));
    }
  }
  return r;
}

}  // namespace ellesmere::ops
