// The planner: candidates per compute layer (fp32, fp16, int8, int4 g32/64/128, CSR at 50/70/90 % pruning), their
// predicted time and memory on the RX 580 model and on the current device, their sensitivity measured on
// calibration data (the error when only that layer changes), selection for a target under constraints, and the
// full evaluation that verifies the plan and backs off when a constraint is broken. Internal to the pipeline; the
// CLI's plan and run print what it decides (report.hpp).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "pipeline/cost_model.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"

namespace ellesmere::pipeline {

// What a plan optimises (README "Pipeline" documents them):
//   accuracy  every layer fp32: the model's own numerics, nothing compressed
//   balanced  a layer changes only where it is predicted faster AND smaller, within a small accuracy budget
//             (default 0.5 point)
//   speed     the largest predicted time saving per unit of sensitivity, within the budget (default 1 point)
//   memory    the largest weight saving per unit of sensitivity, within the budget (default 1 point)
//   extreme   every layer as small as its own sensitivity allows, within the budget (default 3 points)
enum class Target { accuracy, balanced, speed, memory, extreme };
const char* target_name(Target t) noexcept;
Target parse_target(const std::string& text);   // InvalidArgument listing the targets
double default_max_accuracy_drop(Target t) noexcept;

// Labelled data: X (N, ...) float32 and labels (N,) as class indices.
struct Dataset {
  HostTensor x;
  std::vector<std::int32_t> labels;   // empty: unlabelled
  std::string origin;                 // for the report
  std::int64_t size() const { return x.shape.empty() ? 0 : x.shape[0]; }
  // Rows [begin, end) of X.
  HostTensor rows(std::int64_t begin, std::int64_t end) const;
  Dataset head(std::int64_t n, const std::string& note) const;
  static Dataset load(const std::string& x_path, const std::string& labels_path);   // FileError / InvalidArgument
  // InvalidArgument (naming origin) for a non-finite sample value or a negative label; load() calls it.
  void check_values() const;
};

// The samples of d (its first dimension) against the model's single input: the same rank after the batch dimension,
// and every fixed dimension equal. Throws InvalidArgument naming the data, its shape, one sample's and the declared
// one (make_plan checks its calibration data so; ellesmere run checks --data before anything runs).
void check_data_fits_input(const Graph& graph, const Dataset& d);

struct Candidate {
  LayerChoice choice;
  std::string refused;                    // "" when offered, else why not (the Impl's applicable() reason)
  StepWork work;                          // on the current device
  Prediction current;                     // predicted on the current device
  Prediction rx580;                       // predicted on the RX 580 model
  std::uint64_t weight_bytes = 0;
  std::string params;                     // the main Impl's Params from the tuning lookup ("TM=32 TN=32 ...")
  // Measured on calibration data with only this layer changed (NaN when not measured).
  double accuracy_drop = std::numeric_limits<double>::quiet_NaN();   // fraction (0.01 = 1 point)
  double output_nmse = std::numeric_limits<double>::quiet_NaN();     // of the model's output vs fp32
  double weight_nmse = 0;                 // of the layer's weights (what quantization or pruning changed)
};

struct LayerPlan {
  std::size_t step = 0;
  std::vector<Candidate> candidates;      // [0] is fp32
  std::size_t chosen = 0;
  std::string reason;                     // why the chosen one
};

struct PlanOptions {
  Target target = Target::balanced;
  bool rx580_profile = false;             // decide by the RX 580 model's predictions instead of the current device's
  double max_accuracy_drop = -1;          // < 0: the target's default
  std::uint64_t memory_budget = 0;        // bytes of weights; 0: none
  std::int64_t batch = 50;                // rows per run (the last batch of a dataset may be smaller)
  bool verbose = false;
};

struct LayerResult {
  double measured_us = std::numeric_limits<double>::quiet_NaN();   // median over full batches, current device
  double fp32_measured_us = std::numeric_limits<double>::quiet_NaN();
  double output_rel_error = std::numeric_limits<double>::quiet_NaN();   // ||out - out_fp32|| / ||out_fp32||
};

struct Plan {
  std::string model;
  PlanOptions options;
  std::string device;                     // current device's key and name
  std::vector<Step> steps;
  std::vector<LayerPlan> layers;          // one per compute step
  std::vector<StepWork> node_work;        // per step (compute steps: the chosen candidate's)
  std::vector<Prediction> node_current, node_rx580;
  ShapeMap shapes;                        // at options.batch
  std::string calibration;                // what the sensitivities were measured on ("" when not)
  std::vector<std::string> log;           // back-offs and notes, in order
  // After execution (ellesmere run with data):
  bool executed = false;
  std::vector<LayerResult> results;       // per step
  double fp32_accuracy = std::numeric_limits<double>::quiet_NaN();
  double plan_accuracy = std::numeric_limits<double>::quiet_NaN();
  std::string evaluation;                 // what the accuracies were measured on
  std::int64_t evaluated = 0;
  std::vector<LayerChoice> choices() const;   // per step
};

// Builds candidates and predictions for every compute layer and chooses by the target. With calibration data,
// measures each candidate's sensitivity on it; without, uses the weights' error as the sensitivity proxy (plan
// only; `run` always measures). Does not execute the plan on evaluation data.
Plan make_plan(Context& context, const Graph& graph, const std::string& model_path, const PlanOptions& options,
               const Dataset* calibration);

// Runs the plan and the fp32 baseline on the evaluation data; verifies the accuracy constraint and backs off
// (reverting the least worthwhile layer change, re-evaluating) until it holds; fills the measured columns.
void execute_plan(Context& context, const Graph& graph, Plan& plan, const Dataset& evaluation);

}  // namespace ellesmere::pipeline
