// The pipeline's subcommands of the `ellesmere` CLI: plan and run (pipeline_cmds.cpp).
#pragma once

#include <string>
#include <vector>

namespace ellesmere::cli {

struct PipelineArgs {
  std::string device;
  std::string model;
  std::string target;                 // accuracy | balanced | speed | memory | extreme ("" = default)
  std::string profile = "current";    // which predictions decide: current | rx580
  std::string json;                   // write the report as JSON here
  std::string data, labels;           // evaluation data (run)
  std::string calibration, calibration_labels;
  double max_accuracy_drop = -1;
  std::string memory_budget;          // bytes, or with K/M/G suffix
  long long batch = 50;
  bool verbose = false;
  std::vector<std::string> inputs;    // NAME=FILE (plain inference)
  std::string output_dir;
};

// `ellesmere plan MODEL.onnx --target T`: candidates, predictions and choices; no execution on data.
int cmd_plan(const PipelineArgs& args);
// `ellesmere run MODEL.onnx --target T --data X.npy --labels Y.npy`: plan, verify, execute, report; or, with
// --input NAME=FILE ... --output-dir DIR, plain inference writing every output as DIR/<output name>.npy.
int cmd_run(const PipelineArgs& args);

}  // namespace ellesmere::cli
