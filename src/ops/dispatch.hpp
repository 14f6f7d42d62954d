// Dispatch shared by every op: pick the first applicable Impl of an op's list (or the one the caller named),
// logging each rejected Impl with its reason under ELLESMERE_VERBOSE=dispatch, and look up its Params.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ops/impl.hpp"
#include "runtime/env.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::ops {


// applicable(impl) returns "" or the reason impl cannot run the problem.
template <class ImplT, class Applicable>
std::pair<const ImplT*, Params> choose_impl(const std::vector<std::unique_ptr<ImplT>>& list,
                                            const std::string& problem, const DeviceInfo& device,
                                            const std::string& requested, Applicable applicable) {
  std::string reasons;
  bool found_requested = requested.empty();
  for (const auto& impl : list) {
    if (!requested.empty() && impl->name() != requested) continue;
    found_requested = true;
    std::string why = applicable(*impl);
    tuning::Lookup params;
    if (why.empty()) {
      params = tuning::TuningDb::global().lookup(device, *impl, problem);
      for (const auto& s : params.skipped) runtime::log("tuning", fmt::format("{} {}: skipped {}", impl->name(), problem, s));
      if (!params.invalid.empty()) why = "its default parameters do not fit this device: " + params.invalid;
    }
    if (why.empty()) {
      runtime::log("dispatch", fmt::format("{}: running {} [{}] ({}{})", problem, impl->name(), params.params.str(),
                                           tuning::level_name(params.level),
                                           params.entry ? ", " + params.entry->origin : ""));
      return {impl.get(), params.params};
    }
    runtime::log("dispatch", fmt::format("{}: rejected {}: {}", problem, impl->name(), why));
    reasons += fmt::format("\n  {}: {}", impl->name(), why);
  }
  if (!found_requested) {
    std::string names;
    for (const auto& impl : list) names += (names.empty() ? "" : ", ") + impl->name();
    throw InvalidArgument(fmt::format("{}: no Impl named \"{}\" (known: {})", problem, requested, names));
  }
  throw NotSupported(fmt::format("{}: no Impl can run this on {}:{}", problem, device.name, reasons));
}

// The Impl the op's dispatch would run for problem (canonical text) on device, without running it; "" when none
// applies. Throws NotSupported for an op without a dispatch here (snn).
std::string dispatch_choice(const DeviceInfo& device, const std::string& problem);

}  // namespace ellesmere::ops
