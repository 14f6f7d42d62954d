// `ellesmere run` and `ellesmere plan`: ONNX models on the device (pipeline_cmds.hpp).
#include "pipeline_cmds.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
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
#include "pipeline/planner.hpp"
#include "pipeline/report.hpp"

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

std::uint64_t parse_bytes(const std::string& text) {
  if (text.empty()) return 0;
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw InvalidArgument(fmt::format("--memory-budget '{}': expected bytes, e.g. 400000, 512K or 2M", text));
  }
  std::string unit = text.substr(pos);
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  double mult = 1;
  if (unit == "K" || unit == "KB" || unit == "KIB") mult = 1024;
  else if (unit == "M" || unit == "MB" || unit == "MIB") mult = 1048576;
  else if (unit == "G" || unit == "GB" || unit == "GIB") mult = 1073741824;
  else if (!unit.empty() && unit != "B") {
    throw InvalidArgument(fmt::format("--memory-budget '{}': unknown unit '{}' (B, K, M or G)", text, unit));
  }
  if (!(v > 0)) throw InvalidArgument(fmt::format("--memory-budget '{}' must be positive", text));
  return std::uint64_t(v * mult);
}

PlanOptions plan_options(const PipelineArgs& args, Target fallback) {
  PlanOptions o;
  o.target = args.target.empty() ? fallback : parse_target(args.target);
  if (args.profile != "current" && args.profile != "rx580") {
    throw InvalidArgument(fmt::format("--profile '{}': use current (this device) or rx580 (the RX 580 model)",
                                      args.profile));
  }
  o.rx580_profile = args.profile == "rx580";
  if (args.max_accuracy_drop >= 1.0) {
    throw InvalidArgument(fmt::format("--max-accuracy-drop {} is a fraction (0.01 = 1 point), must be below 1",
                                      args.max_accuracy_drop));
  }
  o.max_accuracy_drop = args.max_accuracy_drop;
  o.memory_budget = parse_bytes(args.memory_budget);
  if (args.batch < 1 || args.batch > 1 << 20) throw InvalidArgument(fmt::format("--batch {} is out of range", args.batch));
  o.batch = args.batch;
  o.verbose = args.verbose;
  return o;
}

void write_json(const std::string& path, const Plan& plan) {
  if (path.empty()) return;
  std::ofstream f(path);
  if (!f) throw FileError(path, "cannot open for writing");
  f << report_json(plan).dump(1) << '\n';
  if (!f) throw FileError(path, "write failed");
  std::cout << "report written to " << path << '\n';
}

int plain_inference(const PipelineArgs& args) {
  if (args.output_dir.empty()) throw InvalidArgument("run --input needs --output-dir DIR for the outputs");
  Graph graph = import_onnx(args.model);
  std::map<std::string, HostTensor> values;
  std::map<std::string, HostTensor> bound;
  const std::vector<std::string> params = parameter_inputs(graph);
  for (const std::string& spec : args.inputs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      throw InvalidArgument(fmt::format("--input '{}': expected NAME=FILE (a .npy or .pb file)", spec));
    }
    const std::string name = spec.substr(0, eq);
    if (values.count(name) || bound.count(name)) throw InvalidArgument(fmt::format("--input '{}' is given twice", name));
    HostTensor t = read_tensor_file(spec.substr(eq + 1));
    // int64 inputs hold shapes, and other inputs may set a node's parameters (scales, zero points, statistics):
    // they become constants of the graph before it runs.
    if (t.type == ElemType::i64 || std::find(params.begin(), params.end(), name) != params.end()) {
      bound[name] = std::move(t);
    } else {
      values[name] = std::move(t);
    }
  }
  if (!bound.empty()) bind_constant_inputs(graph, bound);
  for (const ValueSpec& in : graph.inputs) {
    if (!values.count(in.name)) {
      throw InvalidArgument(fmt::format("{}: input '{}' ({} {}) is not given: add --input {}=FILE", args.model,
                                        in.name, elem_type_name(in.type), shape_text(in.dims), in.name));
    }
  }
  Context ctx(args.device);
  const PlanOptions options = plan_options(args, Target::accuracy);
  std::vector<LayerChoice> choices;
  if (options.target != Target::accuracy) {
    if (args.calibration.empty()) {
      throw InvalidArgument(fmt::format("run --input with --target {}: give --calibration X.npy (representative "
                                        "inputs) so that activation ranges and sensitivities can be measured",
                                        target_name(options.target)));
    }
    const Dataset calib = Dataset::load(args.calibration, args.calibration_labels);
    const Plan plan = make_plan(ctx, graph, args.model, options, &calib);
    choices = plan.choices();
  }
  Executor exec(ctx, graph, lower(graph), choices);
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

}  // namespace

int cmd_plan(const PipelineArgs& args) {
  const Graph graph = import_onnx(args.model);
  Context ctx(args.device);
  const PlanOptions options = plan_options(args, Target::balanced);
  std::optional<Dataset> calib;
  if (!args.calibration.empty()) calib = Dataset::load(args.calibration, args.calibration_labels);
  const Plan plan = make_plan(ctx, graph, args.model, options, calib ? &*calib : nullptr);
  std::cout << format_report(plan);
  write_json(args.json, plan);
  return 0;
}

int cmd_run(const PipelineArgs& args) {
  if (!args.inputs.empty()) {
    if (!args.data.empty()) throw InvalidArgument("run: give either --input (plain inference) or --data, not both");
    return plain_inference(args);
  }
  if (args.data.empty()) {
    throw InvalidArgument("run: give --data X.npy [--labels Y.npy] to plan and evaluate, or --input NAME=FILE "
                          "--output-dir DIR for plain inference");
  }
  const Graph graph = import_onnx(args.model);
  Context ctx(args.device);
  const PlanOptions options = plan_options(args, Target::balanced);
  const Dataset eval = Dataset::load(args.data, args.labels);
  if (args.max_accuracy_drop >= 0 && eval.labels.empty()) {
    throw InvalidArgument("--max-accuracy-drop needs --labels: the drop is measured on labelled data");
  }
  check_data_fits_input(graph, eval);
  Dataset calib;
  if (!args.calibration.empty()) {
    calib = Dataset::load(args.calibration, args.calibration_labels);
    check_data_fits_input(graph, calib);
  } else {
    // No calibration set: the first fifth of the evaluation data (at most 1000 samples), said so in the report.
    const std::int64_t n = std::max<std::int64_t>(1, std::min<std::int64_t>(1000, eval.size() / 5));
    calib = eval.head(n, fmt::format("the first {} samples of {} (no --calibration given)", n, args.data));
  }
  Plan plan = make_plan(ctx, graph, args.model, options, &calib);
  execute_plan(ctx, graph, plan, eval);
  std::cout << format_report(plan);
  write_json(args.json, plan);
  return 0;
}

}  // namespace ellesmere::cli
