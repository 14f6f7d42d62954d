// The plan/run report: a readable table and a JSON document (schema in the README's "Pipeline" section) with, per
// step, the chosen kernel and Params, predictions on the RX 580 model and on this device, the measured time, the
// weight and activation bytes and the error against fp32; totals; the rejected candidates with their reasons.
// Internal to the pipeline.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/planner.hpp"

namespace ellesmere::pipeline {

struct ReportTotals {
  double rx580_fp32_us = 0, rx580_plan_us = 0;       // predicted, RX 580 model
  double current_fp32_us = 0, current_plan_us = 0;   // predicted, this device
  double measured_fp32_us = 0, measured_plan_us = 0; // measured, this device (when executed)
  std::uint64_t weights_fp32 = 0, weights_plan = 0;
  std::uint64_t peak_activations_fp32 = 0, peak_activations_plan = 0;
  double median_prediction_error = 0;                // |predicted - measured| / measured over steps with kernels
  double worst_prediction_error = 0;
  std::string worst_step;
  int compared_steps = 0;
};
ReportTotals report_totals(const Plan& plan);

std::string format_report(const Plan& plan);
nlohmann::json report_json(const Plan& plan);

}  // namespace ellesmere::pipeline
