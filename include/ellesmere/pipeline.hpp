// ONNX models on the device: import, plain inference, and a plan (a kernel per layer for a target, predicted on
// the RX 580 model and on the device at hand) optionally executed on labelled data with every estimate beside its
// measurement. The `ellesmere plan` and `ellesmere run` commands are this API; the README's "Pipeline" section
// documents the targets, the cost model and the report.
//
// Thread safety: an OnnxModel is immutable after load() and may be shared by threads; each call takes a Context,
// which belongs to one thread at a time (device.hpp): give each thread its own, e.g. ctx.share(). Several threads
// may run() or plan_model() at once; the cost model's calibration file and the device profile are written to a
// temporary and renamed, so concurrent planners never read half a file (each may calibrate once).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ellesmere/device.hpp"
#include "ellesmere/tensor_io.hpp"

namespace ellesmere {

namespace pipeline {
struct Graph;
}

class OnnxModel {
 public:
  // Reads and checks a model. Throws FileError for an unreadable, empty, truncated or malformed file; NotSupported
  // listing every node whose op (or variant) ellesmere cannot run, or an unsupported opset; InvalidArgument for an
  // inconsistent graph (an input nothing provides, a duplicate output) or NaN/Inf weights, naming node and value.
  static OnnxModel load(const std::string& path);
  OnnxModel(OnnxModel&&) noexcept;
  OnnxModel& operator=(OnnxModel&&) noexcept;
  ~OnnxModel();

  const std::string& path() const { return path_; }
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  // Runs the model in fp32 (every layer in its reference numerics) on context's device. inputs: every graph input
  // by name, of its declared type and shape (symbolic dimensions free). Returns every output by name. Throws
  // InvalidArgument naming the input for a missing, extra or mis-shaped input.
  std::map<std::string, Tensor> run(Context& context, const std::map<std::string, Tensor>& inputs) const;

  const pipeline::Graph& graph() const { return *graph_; }   // the imported graph (internal type)

 private:
  OnnxModel() = default;
  std::string path_;
  std::unique_ptr<pipeline::Graph> graph_;
};

enum class PlanTarget { accuracy, balanced, speed, memory, extreme };

struct PlanRequest {
  PlanTarget target = PlanTarget::balanced;
  bool decide_by_rx580 = false;        // choose by the RX 580 model's predictions instead of this device's
  double max_accuracy_drop = -1;       // a fraction (0.01 = 1 point); < 0: the target's default
  std::uint64_t memory_budget = 0;     // bytes of weights; 0: none
  std::int64_t batch = 50;             // samples per run
  // Representative inputs (float32, samples first) and optional labels: int8 activation ranges and per-layer
  // sensitivities are measured on them. Without them, sensitivities are the weights' error.
  const Tensor* calibration = nullptr;
  const std::vector<std::int32_t>* calibration_labels = nullptr;
  // Given: the plan is verified (backed off while the accuracy drop exceeds the budget) and executed on this data,
  // and the report holds the measurements.
  const Tensor* evaluation = nullptr;
  const std::vector<std::int32_t>* evaluation_labels = nullptr;
};

struct PlanReport {
  std::string table;   // the readable report `ellesmere run` prints
  std::string json;    // schema "ellesmere-plan-report/1" (README)
  double predicted_speedup_rx580 = 0;     // model estimate
  double predicted_speedup_current = 0;
  double memory_reduction = 1;            // fp32 weight bytes / plan weight bytes
  double measured_speedup = std::numeric_limits<double>::quiet_NaN();   // after execution
  double fp32_accuracy = std::numeric_limits<double>::quiet_NaN();
  double plan_accuracy = std::numeric_limits<double>::quiet_NaN();
  double median_prediction_error = std::numeric_limits<double>::quiet_NaN();   // |pred - meas| / meas per layer
};

// Plans the model for request.target (and executes it when request.evaluation is given). Throws InvalidArgument
// for inconsistent data (shapes, label counts) or a memory budget that cannot be met within the accuracy budget.
PlanReport plan_model(Context& context, const OnnxModel& model, const PlanRequest& request);

}  // namespace ellesmere
