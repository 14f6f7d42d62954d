// The pipeline's subcommands of the `ellesmere` CLI: plan and run (pipeline_cmds.cpp).
#pragma once

#include <string>
#include <vector>

namespace ellesmere::cli {

struct RunInferenceArgs {
  std::string device;
  std::string model;
  std::vector<std::string> inputs;   // NAME=FILE
  std::string output_dir;
};

// `ellesmere run MODEL.onnx --input NAME=FILE ... --output-dir DIR`: plain inference, fp32 on the device, every
// output written as DIR/<output name>.npy. Returns the exit status.
int cmd_run_inference(const RunInferenceArgs& args);

}  // namespace ellesmere::cli
