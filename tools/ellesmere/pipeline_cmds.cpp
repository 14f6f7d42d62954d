// `ellesmere run` and `ellesmere plan`: ONNX models on the device (pipeline_cmds.hpp).
#include "pipeline_cmds.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/tensor_io.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/host_ops.hpp"
#include "pipeline/lower.hpp"

namespace ellesmere::cli {

namespace fs = std::filesystem;
using namespace ellesmere::pipeline;

namespace {

// Output file name for a value name: characters a path cannot hold become '_'.
std::string file_name_for(const std::string& value) {
  std::string out = value;
  for (char& c : out) {
    if (c == '/' || c == '\\' || c == ':' || c == '\0') c = '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out + ".npy";
}

}  // namespace

int cmd_run_inference(const RunInferenceArgs& args) {
  Graph graph = import_onnx(args.model);
  std::map<std::string, HostTensor> values;
  std::map<std::string, HostTensor> shape_inputs;
  for (const std::string& spec : args.inputs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      throw InvalidArgument(fmt::format("--input '{}': expected NAME=FILE (a .npy or .pb file)", spec));
    }
    const std::string name = spec.substr(0, eq);
    if (values.count(name) || shape_inputs.count(name)) {
      throw InvalidArgument(fmt::format("--input '{}' is given twice", name));
    }
    HostTensor t = read_tensor_file(spec.substr(eq + 1));
    // int64 inputs hold shapes, and other inputs may set a node's parameters (scales, zero points, statistics):
    // they become constants of the graph before it runs.
    const std::vector<std::string> params = parameter_inputs(graph);
    if (t.type == ElemType::i64 || std::find(params.begin(), params.end(), name) != params.end()) {
      shape_inputs[name] = std::move(t);
    } else {
      values[name] = std::move(t);
    }
  }
  if (!shape_inputs.empty()) bind_constant_inputs(graph, shape_inputs);
  for (const ValueSpec& in : graph.inputs) {
    if (!values.count(in.name)) {
      throw InvalidArgument(fmt::format("{}: input '{}' ({} {}) is not given: add --input {}=FILE", args.model,
                                        in.name, elem_type_name(in.type), shape_text(in.dims), in.name));
    }
  }
  Context ctx(args.device);
  Executor exec(ctx, graph, lower(graph));
  const auto outputs = exec.run(values);
  std::error_code ec;
  fs::create_directories(args.output_dir, ec);
  if (ec) throw FileError(args.output_dir, fmt::format("cannot create the output directory: {}", ec.message()));
  for (const ValueSpec& out : graph.outputs) {
    const std::string path = (fs::path(args.output_dir) / file_name_for(out.name)).string();
    write_npy(path, outputs.at(out.name).to_tensor());
    std::cout << fmt::format("{}: {} {} -> {}\n", out.name, elem_type_name(outputs.at(out.name).type),
                             shape_text(outputs.at(out.name).shape), path);
  }
  return 0;
}

}  // namespace ellesmere::cli
