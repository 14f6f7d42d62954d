// `ellesmere selfcheck`: every op's every Impl on a small odd-sized problem against the Eigen reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"

namespace ellesmere::tools {

struct SelfcheckRow {
  std::string op;
  std::string impl;
  std::string problem;
  std::string device;
  double max_abs_error = 0;
  double rel_error = 0;
  double tolerance = 0;
  double first_ms = 0;    // wall time of the first call (program build or cache load included)
  double device_ms = 0;   // device time of a second call, from OpenCL events (first START to last END)
  std::string status;     // "ok", "FAIL: ...", "skipped: ..."
};

std::vector<SelfcheckRow> run_selfcheck(Context& context, std::uint64_t seed);

}  // namespace ellesmere::tools
