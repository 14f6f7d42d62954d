// The public pipeline API (include/ellesmere/pipeline.hpp) over the internal graph, executor, planner and report.
#include "ellesmere/pipeline.hpp"

#include <optional>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "pipeline/executor.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/lower.hpp"
#include "pipeline/planner.hpp"
#include "pipeline/report.hpp"

namespace ellesmere {

static_assert(int(PlanTarget::accuracy) == int(pipeline::Target::accuracy) &&
                  int(PlanTarget::balanced) == int(pipeline::Target::balanced) &&
                  int(PlanTarget::speed) == int(pipeline::Target::speed) &&
                  int(PlanTarget::memory) == int(pipeline::Target::memory) &&
                  int(PlanTarget::extreme) == int(pipeline::Target::extreme),
              "PlanTarget mirrors pipeline::Target");

OnnxModel OnnxModel::load(const std::string& path) {
  OnnxModel m;
  m.path_ = path;
  m.graph_ = std::make_unique<pipeline::Graph>(pipeline::import_onnx(path));
  return m;
}

OnnxModel::OnnxModel(OnnxModel&&) noexcept = default;
OnnxModel& OnnxModel::operator=(OnnxModel&&) noexcept = default;
OnnxModel::~OnnxModel() = default;

std::vector<std::string> OnnxModel::input_names() const {
  std::vector<std::string> out;
  for (const auto& v : graph_->inputs) out.push_back(v.name);
  return out;
}

std::vector<std::string> OnnxModel::output_names() const {
  std::vector<std::string> out;
  for (const auto& v : graph_->outputs) out.push_back(v.name);
  return out;
}

std::map<std::string, Tensor> OnnxModel::run(Context& context, const std::map<std::string, Tensor>& inputs) const {
  std::map<std::string, pipeline::HostTensor> in;
  for (const auto& [name, t] : inputs) in[name] = pipeline::HostTensor::from(t);
  pipeline::Executor ex(context, *graph_, pipeline::lower(*graph_));
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : ex.run(in)) out[name] = t.to_tensor();
  return out;
}

namespace {

pipeline::Dataset dataset_of(const Tensor* x, const std::vector<std::int32_t>* labels, const char* what) {
  pipeline::Dataset d;
  d.x = pipeline::HostTensor::from(*x);
  d.origin = what;
  if (d.x.type != pipeline::ElemType::f32 || d.x.shape.empty() || d.x.shape[0] < 1) {
    throw InvalidArgument(fmt::format("{} data must be float32 with a sample dimension first, got {} {}", what,
                                      pipeline::elem_type_name(d.x.type), shape_string(d.x.shape)));
  }
  if (labels != nullptr) {
    if (std::int64_t(labels->size()) != d.size()) {
      throw InvalidArgument(fmt::format("{} data has {} samples but {} labels", what, d.size(), labels->size()));
    }
    d.labels = *labels;
  }
  d.check_values();
  return d;
}

}  // namespace

PlanReport plan_model(Context& context, const OnnxModel& model, const PlanRequest& request) {
  pipeline::PlanOptions o;
  o.target = pipeline::Target(int(request.target));
  o.rx580_profile = request.decide_by_rx580;
  o.max_accuracy_drop = request.max_accuracy_drop;
  o.memory_budget = request.memory_budget;
  o.batch = request.batch;
  std::optional<pipeline::Dataset> calib;
  if (request.calibration != nullptr) {
    calib = dataset_of(request.calibration, request.calibration_labels, "calibration");
  }
  pipeline::Plan plan = pipeline::make_plan(context, model.graph(), model.path(), o, calib ? &*calib : nullptr);
  if (request.evaluation != nullptr) {
    const pipeline::Dataset eval = dataset_of(request.evaluation, request.evaluation_labels, "evaluation");
    pipeline::execute_plan(context, model.graph(), plan, eval);
  }
  const pipeline::ReportTotals t = pipeline::report_totals(plan);
  PlanReport r;
  r.table = pipeline::format_report(plan);
  r.json = pipeline::report_json(plan).dump(1);
  r.predicted_speedup_rx580 = t.rx580_fp32_us / std::max(t.rx580_plan_us, 1e-9);
  r.predicted_speedup_current = t.current_fp32_us / std::max(t.current_plan_us, 1e-9);
  r.memory_reduction = double(t.weights_fp32) / double(std::max<std::uint64_t>(t.weights_plan, 1));
  if (plan.executed) {
    r.measured_speedup = t.measured_fp32_us / std::max(t.measured_plan_us, 1e-9);
    r.fp32_accuracy = plan.fp32_accuracy;
    r.plan_accuracy = plan.plan_accuracy;
    r.median_prediction_error = t.median_prediction_error;
  }
  return r;
}

}  // namespace ellesmere
