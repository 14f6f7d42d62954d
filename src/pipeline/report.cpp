// The plan/run report (report.hpp).
#include "pipeline/report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace ellesmere::pipeline {

namespace {

std::uint64_t value_bytes(const Plan& plan, const std::string& v) {
  const auto it = plan.shapes.find(v);
  if (it == plan.shapes.end()) return 0;
  return std::uint64_t(element_count(it->second.shape)) * elem_size(it->second.type);
}

// Bytes a step allocates for itself beyond its inputs and output (quantized activations, half copies, transposes).
std::uint64_t temporaries(const Plan& plan, std::size_t s, const LayerChoice& c) {
  const Step& step = plan.steps[s];
  if (step.kind == Step::Kind::dense) {
    const std::uint64_t in = value_bytes(plan, step.inputs[0]), out = value_bytes(plan, step.output);
    if (c.precision == Precision::int8) return in / 4;
    if (c.precision == Precision::csr && in / 4 / std::uint64_t(step.dense.k) > 1) return in + out;
  } else if (step.kind == Step::Kind::conv && c.precision == Precision::fp16) {
    std::uint64_t b = value_bytes(plan, step.inputs[0]) + value_bytes(plan, step.output);
    if (!step.conv.residual.empty()) b += value_bytes(plan, step.conv.residual);
    return b / 2;
  }
  return 0;
}

// Peak of the live activations (graph values written and not yet read for the last time, views sharing their
// source's buffer) plus the running step's temporaries.
std::uint64_t peak_activations(const Plan& plan, const std::vector<LayerChoice>& choices) {
  std::map<std::string, std::size_t> last_use;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    for (const auto& in : plan.steps[s].inputs) last_use[in] = s;
  }
  std::map<std::string, std::uint64_t> live;
  std::uint64_t peak = 0;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    for (const auto& in : step.inputs) {
      if (!live.count(in)) live[in] = value_bytes(plan, in);   // graph inputs
    }
    const bool view = plan.node_work.size() > s && !step.compute() && plan.node_work[s].cls == "view";
    for (const auto& out : step.outputs) {
      if (!out.empty()) live[out] = view ? 0 : value_bytes(plan, out);
    }
    std::uint64_t now = temporaries(plan, s, choices[s]);
    for (const auto& [v, b] : live) now += b;
    peak = std::max(peak, now);
    for (const auto& in : step.inputs) {
      if (last_use[in] == s) live.erase(in);
    }
  }
  return peak;
}

const Prediction& pred(const Plan& plan, std::size_t s, bool rx580, const LayerChoice* override_choice = nullptr) {
  for (const auto& lp : plan.layers) {
    if (lp.step != s) continue;
    std::size_t ci = lp.chosen;
    if (override_choice != nullptr) {
      for (std::size_t i = 0; i < lp.candidates.size(); ++i) {
        if (lp.candidates[i].choice.precision == override_choice->precision &&
            lp.candidates[i].choice.label() == override_choice->label()) {
          ci = i;
        }
      }
    }
    return rx580 ? lp.candidates[ci].rx580 : lp.candidates[ci].current;
  }
  return rx580 ? plan.node_rx580[s] : plan.node_current[s];
}

const LayerPlan* layer_of(const Plan& plan, std::size_t s) {
  for (const auto& lp : plan.layers) {
    if (lp.step == s) return &lp;
  }
  return nullptr;
}

bool has_kernels(const Plan& plan, std::size_t s) {
  const LayerPlan* lp = layer_of(plan, s);
  if (lp != nullptr) return true;
  return plan.node_work[s].kernels > 0;
}

std::string bytes_text(double b) {
  if (b >= 1048576) return fmt::format("{:.2f} MiB", b / 1048576);
  if (b >= 1024) return fmt::format("{:.1f} KiB", b / 1024);
  return fmt::format("{:.0f} B", b);
}

std::string shape_of(const Plan& plan, const std::string& v) {
  const auto it = plan.shapes.find(v);
  return it == plan.shapes.end() ? "?" : shape_text(it->second.shape);
}

}  // namespace

ReportTotals report_totals(const Plan& plan) {
  ReportTotals t;
  const LayerChoice fp32;
  std::vector<double> errors;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    t.rx580_fp32_us += pred(plan, s, true, &fp32).us;
    t.rx580_plan_us += pred(plan, s, true).us;
    t.current_fp32_us += pred(plan, s, false, &fp32).us;
    t.current_plan_us += pred(plan, s, false).us;
    if (const LayerPlan* lp = layer_of(plan, s)) {
      t.weights_fp32 += lp->candidates[0].weight_bytes;
      t.weights_plan += lp->candidates[lp->chosen].weight_bytes;
    }
    if (plan.executed && has_kernels(plan, s)) {
      const double m = plan.results[s].measured_us;
      t.measured_plan_us += std::isnan(m) ? 0 : m;
      const double f = plan.results[s].fp32_measured_us;
      t.measured_fp32_us += std::isnan(f) ? 0 : f;
      if (m > 0) {
        const double e = std::fabs(pred(plan, s, false).us - m) / m;
        errors.push_back(e);
        if (e > t.worst_prediction_error) {
          t.worst_prediction_error = e;
          t.worst_step = plan.steps[s].name;
        }
      }
    }
  }
  t.compared_steps = int(errors.size());
  if (!errors.empty()) {
    std::sort(errors.begin(), errors.end());
    const std::size_t n = errors.size();
    t.median_prediction_error = n % 2 ? errors[n / 2] : 0.5 * (errors[n / 2 - 1] + errors[n / 2]);
  }
  t.peak_activations_fp32 = peak_activations(plan, std::vector<LayerChoice>(plan.steps.size()));
  t.peak_activations_plan = peak_activations(plan, plan.choices());
  return t;
}

std::string format_report(const Plan& plan) {
  std::ostringstream o;
  const ReportTotals t = report_totals(plan);
  o << fmt::format("ellesmere plan: {} | target {} | batch {} | decided by {} predictions\n", plan.model,
                   target_name(plan.options.target), plan.options.batch,
                   plan.options.rx580_profile ? "RX 580 model" : "this device's");
  o << fmt::format("device: {} (measured); RX 580 columns are model estimates (built-in profile rx580)\n",
                   plan.device);
  if (!plan.calibration.empty()) o << fmt::format("sensitivities measured on: {}\n", plan.calibration);
  o << '\n';
  o << fmt::format("{:<3} {:<28} {:<22} {:<17} {:<12} {:>9} {:>9} {:>9} {:>6} {:>10} {:>10} {:>9}\n", "#", "layer",
                   "op", "output", "kernel", "rx580 us", "pred us", "meas us", "err", "weights", "activ.",
                   "vs fp32");
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    if (!has_kernels(plan, s)) continue;
    const LayerPlan* lp = layer_of(plan, s);
    const std::string kernel = lp ? lp->candidates[lp->chosen].choice.label() : "graph";
    const double p_rx = pred(plan, s, true).us, p_cur = pred(plan, s, false).us;
    std::string meas = "-", err = "-", rel = "-";
    if (plan.executed) {
      const double m = plan.results[s].measured_us;
      meas = std::isnan(m) ? "-" : fmt::format("{:.1f}", m);
      if (m > 0) err = fmt::format("{:+.0f}%", 100.0 * (p_cur - m) / m);
      const double r = plan.results[s].output_rel_error;
      rel = std::isnan(r) ? "-" : fmt::format("{:.1e}", r);
    }
    std::string name = step.name.size() > 28 ? "..." + step.name.substr(step.name.size() - 25) : step.name;
    std::string op = step.op_text();
    if (op.size() > 22) op = op.substr(0, 19) + "...";
    o << fmt::format("{:<3} {:<28} {:<22} {:<17} {:<12} {:>9.1f} {:>9.1f} {:>9} {:>6} {:>10} {:>10} {:>9}\n", s, name,
                     op, shape_of(plan, step.output), kernel, p_rx, p_cur, meas, err,
                     lp ? bytes_text(double(lp->candidates[lp->chosen].weight_bytes)) : "-",
                     bytes_text(double(value_bytes(plan, step.output))), rel);
  }
  o << '\n';
  o << fmt::format("predicted, RX 580 model:  fp32 {:.1f} us -> plan {:.1f} us: {:.2f}x (model estimate)\n",
                   t.rx580_fp32_us, t.rx580_plan_us, t.rx580_fp32_us / std::max(t.rx580_plan_us, 1e-9));
  o << fmt::format("predicted, this device:   fp32 {:.1f} us -> plan {:.1f} us: {:.2f}x\n", t.current_fp32_us,
                   t.current_plan_us, t.current_fp32_us / std::max(t.current_plan_us, 1e-9));
  if (plan.executed) {
    o << fmt::format("measured, this device:    fp32 {:.1f} us -> plan {:.1f} us: {:.2f}x (median per step over full "
                     "batches)\n",
                     t.measured_fp32_us, t.measured_plan_us, t.measured_fp32_us / std::max(t.measured_plan_us, 1e-9));
    o << fmt::format("prediction error, this device: median {:.1f}%, worst {:.1f}% ('{}') over {} steps\n",
                     100 * t.median_prediction_error, 100 * t.worst_prediction_error, t.worst_step, t.compared_steps);
  }
  o << fmt::format("weights: fp32 {} -> plan {}: {:.2f}x smaller\n", bytes_text(double(t.weights_fp32)),
                   bytes_text(double(t.weights_plan)),
                   double(t.weights_fp32) / double(std::max<std::uint64_t>(t.weights_plan, 1)));
  o << fmt::format("peak activations (batch {}): fp32 {} -> plan {}\n", plan.options.batch,
                   bytes_text(double(t.peak_activations_fp32)), bytes_text(double(t.peak_activations_plan)));
  if (plan.executed) {
    if (std::isnan(plan.fp32_accuracy)) {
      o << fmt::format("evaluated on {} samples of {} (no labels: no accuracy)\n", plan.evaluated, plan.evaluation);
    } else {
      o << fmt::format("accuracy on {} samples of {}: fp32 {:.4f}, plan {:.4f}, drop {:.2f} points (budget {:.2f})\n",
                       plan.evaluated, plan.evaluation, plan.fp32_accuracy, plan.plan_accuracy,
                       100 * (plan.fp32_accuracy - plan.plan_accuracy),
                       100 * (plan.options.max_accuracy_drop >= 0 ? plan.options.max_accuracy_drop
                                                                  : default_max_accuracy_drop(plan.options.target)));
    }
  }
  o << "\ndecisions:\n";
  for (const auto& lp : plan.layers) {
    o << fmt::format("  {} '{}': {}\n", lp.step, plan.steps[lp.step].name, lp.reason);
    for (std::size_t ci = 1; ci < lp.candidates.size(); ++ci) {
      const Candidate& c = lp.candidates[ci];
      if (!c.refused.empty()) {
        o << fmt::format("      {:<10} refused: {}\n", c.choice.label(), c.refused);
      } else if (ci != lp.chosen) {
        const std::string sens = std::isnan(c.accuracy_drop)
                                     ? fmt::format("weight nmse {:.2g}", c.weight_nmse)
                                     : fmt::format("accuracy drop {:+.2f} pt", 100 * c.accuracy_drop);
        o << fmt::format("      {:<10} not chosen: rx580 {:.1f} us, here {:.1f} us, weights {}, {}\n",
                         c.choice.label(), c.rx580.us, c.current.us, bytes_text(double(c.weight_bytes)), sens);
      }
    }
  }
  for (const auto& line : plan.log) o << "note: " << line << '\n';
  return o.str();
}

nlohmann::json report_json(const Plan& plan) {
  using nlohmann::json;
  const ReportTotals t = report_totals(plan);
  auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  json j;
  j["schema"] = "ellesmere-plan-report/1";
  j["model"] = plan.model;
  j["target"] = target_name(plan.options.target);
  j["batch"] = plan.options.batch;
  j["decided_by"] = plan.options.rx580_profile ? "rx580" : "current";
  j["device"] = plan.device;
  j["rx580_is_model_estimate"] = true;
  j["calibration_data"] = plan.calibration;
  j["max_accuracy_drop"] = plan.options.max_accuracy_drop >= 0 ? plan.options.max_accuracy_drop
                                                               : default_max_accuracy_drop(plan.options.target);
  j["memory_budget_bytes"] = plan.options.memory_budget;
  json steps = json::array();
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    json e;
    e["index"] = s;
    e["name"] = step.name;
    e["op"] = step.op_text();
    json ins = json::array();
    for (const auto& in : step.inputs) ins.push_back({{"name", in}, {"shape", plan.shapes.count(in) ? plan.shapes.at(in).shape : Shape{}}});
    e["inputs"] = ins;
    e["output"] = {{"name", step.output}, {"shape", plan.shapes.count(step.output) ? plan.shapes.at(step.output).shape : Shape{}}};
    e["activation_bytes"] = value_bytes(plan, step.output);
    e["launches_kernels"] = has_kernels(plan, s);
    const LayerPlan* lp = layer_of(plan, s);
    const Prediction& prx = pred(plan, s, true);
    const Prediction& pcur = pred(plan, s, false);
    e["predicted_us"] = {{"rx580", prx.us}, {"current", pcur.us}};
    e["prediction_source"] = {{"rx580", prx.source}, {"current", pcur.source}};
    if (plan.executed) {
      e["measured_us"] = num(plan.results[s].measured_us);
      e["fp32_measured_us"] = num(plan.results[s].fp32_measured_us);
      e["error_vs_fp32"] = num(plan.results[s].output_rel_error);
    }
    if (lp != nullptr) {
      const Candidate& c = lp->candidates[lp->chosen];
      e["kernel"] = c.choice.label();
      e["impl"] = c.work.impl;
      e["problem"] = c.work.problem;
      e["params"] = c.params;
      e["weight_bytes"] = c.weight_bytes;
      e["fp32_weight_bytes"] = lp->candidates[0].weight_bytes;
      e["reason"] = lp->reason;
      json cands = json::array();
      for (const Candidate& k : lp->candidates) {
        json cj;
        cj["kernel"] = k.choice.label();
        if (!k.refused.empty()) {
          cj["refused"] = k.refused;
        } else {
          cj["impl"] = k.work.impl;
          cj["params"] = k.params;
          cj["predicted_us"] = {{"rx580", k.rx580.us}, {"current", k.current.us}};
          cj["weight_bytes"] = k.weight_bytes;
          cj["accuracy_drop"] = num(k.accuracy_drop);
          cj["output_nmse"] = num(k.output_nmse);
          cj["weight_nmse"] = k.weight_nmse;
        }
        cands.push_back(cj);
      }
      e["candidates"] = cands;
    } else {
      e["kernel"] = has_kernels(plan, s) ? "graph" : "view";
    }
    steps.push_back(e);
  }
  j["steps"] = steps;
  json totals;
  totals["predicted_us"] = {{"rx580", {{"fp32", t.rx580_fp32_us}, {"plan", t.rx580_plan_us}}},
                            {"current", {{"fp32", t.current_fp32_us}, {"plan", t.current_plan_us}}}};
  totals["predicted_speedup"] = {{"rx580", t.rx580_fp32_us / std::max(t.rx580_plan_us, 1e-9)},
                                 {"current", t.current_fp32_us / std::max(t.current_plan_us, 1e-9)}};
  totals["weight_bytes"] = {{"fp32", t.weights_fp32}, {"plan", t.weights_plan}};
  totals["memory_reduction"] = double(t.weights_fp32) / double(std::max<std::uint64_t>(t.weights_plan, 1));
  totals["peak_activation_bytes"] = {{"fp32", t.peak_activations_fp32}, {"plan", t.peak_activations_plan}};
  if (plan.executed) {
    totals["measured_us"] = {{"fp32", t.measured_fp32_us}, {"plan", t.measured_plan_us}};
    totals["measured_speedup"] = t.measured_fp32_us / std::max(t.measured_plan_us, 1e-9);
    totals["prediction_error"] = {{"median", t.median_prediction_error},
                                  {"worst", t.worst_prediction_error},
                                  {"worst_step", t.worst_step},
                                  {"steps", t.compared_steps}};
    totals["evaluation"] = {{"data", plan.evaluation},
                            {"samples", plan.evaluated},
                            {"fp32_accuracy", num(plan.fp32_accuracy)},
                            {"plan_accuracy", num(plan.plan_accuracy)},
                            {"accuracy_drop", num(plan.fp32_accuracy - plan.plan_accuracy)}};
  }
  j["totals"] = totals;
  j["notes"] = plan.log;
  return j;
}

}  // namespace ellesmere::pipeline
