// The planner (planner.hpp): candidates, predictions, sensitivities, selection by target, verification with
// back-off, and the measured columns of the report.
#include "pipeline/planner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/sparse.hpp"
#include "ops/impl_registry.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::pipeline {

const char* target_name(Target t) noexcept {
  switch (t) {
    case Target::accuracy: return "accuracy";
    case Target::balanced: return "balanced";
    case Target::speed: return "speed";
    case Target::memory: return "memory";
    case Target::extreme: return "extreme";
  }
  return "?";
}

Target parse_target(const std::string& text) {
  for (const Target t : {Target::accuracy, Target::balanced, Target::speed, Target::memory, Target::extreme}) {
    if (text == target_name(t)) return t;
  }
  throw InvalidArgument(fmt::format("unknown target '{}': use accuracy, balanced, speed, memory or extreme", text));
}

double default_max_accuracy_drop(Target t) noexcept {
  switch (t) {
    case Target::accuracy: return 0.0;
    case Target::balanced: return 0.005;
    case Target::speed: return 0.01;
    case Target::memory: return 0.01;
    case Target::extreme: return 0.03;
  }
  return 0.01;
}

// ---- Dataset -------------------------------------------------------------------------------------------------------

HostTensor Dataset::rows(std::int64_t begin, std::int64_t end) const {
  HostTensor t;
  t.type = x.type;
  t.shape = x.shape;
  t.shape[0] = end - begin;
  const std::size_t row = std::size_t(element_count(x.shape) / std::max<std::int64_t>(size(), 1)) * elem_size(x.type);
  t.data.assign(x.data.begin() + std::ptrdiff_t(std::size_t(begin) * row),
                x.data.begin() + std::ptrdiff_t(std::size_t(end) * row));
  return t;
}

Dataset Dataset::head(std::int64_t n, const std::string& note) const {
  Dataset d;
  n = std::min(n, size());
  d.x = rows(0, n);
  if (!labels.empty()) d.labels.assign(labels.begin(), labels.begin() + n);
  d.origin = note;
  return d;
}

Dataset Dataset::load(const std::string& x_path, const std::string& labels_path) {
  Dataset d;
  d.x = HostTensor::from(read_npy(x_path));
  d.origin = x_path;
  if (d.x.type != ElemType::f32) {
    throw InvalidArgument(fmt::format("{}: the data must be float32, not {}", x_path, elem_type_name(d.x.type)));
  }
  if (d.x.shape.empty() || d.x.shape[0] < 1) {
    throw InvalidArgument(fmt::format("{}: the data needs a first (sample) dimension with at least one sample, got "
                                      "shape {}",
                                      x_path, shape_text(d.x.shape)));
  }
  if (!labels_path.empty()) {
    const HostTensor l = HostTensor::from(read_npy(labels_path));
    if (l.shape.size() != 1 || l.shape[0] != d.size()) {
      throw InvalidArgument(fmt::format("{}: labels must have shape ({},) to match {} (got {})", labels_path,
                                        d.size(), x_path, shape_text(l.shape)));
    }
    if (l.type == ElemType::f32 || l.type == ElemType::f16) {
      throw InvalidArgument(fmt::format("{}: labels must be integers (int32, uint8 or int8), not {}", labels_path,
                                        elem_type_name(l.type)));
    }
    for (const std::int64_t v : l.to_int64s()) {
      if (v < 0) throw InvalidArgument(fmt::format("{}: negative label {}", labels_path, v));
      d.labels.push_back(std::int32_t(v));
    }
  }
  d.check_values();
  if (!labels_path.empty()) d.origin += " with labels " + labels_path;
  return d;
}

void Dataset::check_values() const {
  const auto v = x.as<float>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      throw InvalidArgument(fmt::format("{}: the data holds NaN or Inf ({} at flat index {})", origin, v[i], i));
    }
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) throw InvalidArgument(fmt::format("{}: negative label {} at index {}", origin, labels[i], i));
  }
}

std::vector<LayerChoice> Plan::choices() const {
  std::vector<LayerChoice> out(steps.size());
  for (const auto& l : layers) out[l.step] = l.candidates[l.chosen].choice;
  return out;
}

namespace {

// One pass over a dataset: the first output's rows, the accuracy, and per-step device times of the full batches.
struct Evaluation {
  std::vector<float> out;            // N x row
  std::int64_t row = 0;
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> step_us;   // per step: one time per full batch
  std::map<std::string, Observer>* observers = nullptr;
};

const std::string& single_input(const Graph& g) {
  if (g.inputs.size() != 1) {
    throw InvalidArgument(fmt::format("{}: the model has {} inputs; --data feeds models with exactly one (use --input "
                                      "NAME=FILE for plain inference)",
                                      g.origin, g.inputs.size()));
  }
  return g.inputs[0].name;
}

Evaluation evaluate(Executor& ex, const Graph& g, const Dataset& d, std::int64_t batch,
                    std::map<std::string, Observer>* observers = nullptr) {
  Evaluation e;
  const std::string& in = single_input(g);
  const std::string& out_name = g.outputs.at(0).name;
  e.step_us.resize(ex.steps().size());
  std::int64_t correct = 0;
  ex.keep_values(observers != nullptr);
  for (std::int64_t b = 0; b < d.size(); b += batch) {
    const std::int64_t end = std::min(d.size(), b + batch);
    std::map<std::string, HostTensor> inputs{{in, d.rows(b, end)}};
    const auto outs = ex.run(inputs);
    const HostTensor& o = outs.at(out_name);
    if (o.type != ElemType::f32 || o.shape.empty() || o.shape[0] != end - b) {
      throw InvalidArgument(fmt::format("{}: output '{}' has shape {} ({}); evaluation needs float32 (batch, "
                                        "classes) outputs",
                                        g.origin, out_name, shape_text(o.shape), elem_type_name(o.type)));
    }
    const auto v = o.as<float>();
    e.row = std::int64_t(v.size()) / (end - b);
    e.out.insert(e.out.end(), v.begin(), v.end());
    if (!d.labels.empty()) {
      for (std::int64_t r = 0; r < end - b; ++r) {
        const float* p = v.data() + r * e.row;
        const std::int64_t arg = std::max_element(p, p + e.row) - p;
        if (arg == d.labels[std::size_t(b + r)]) ++correct;
      }
    }
    if (end - b == batch || d.size() < batch) {
      for (std::size_t s = 0; s < ex.steps().size(); ++s) e.step_us[s].push_back(ex.timings()[s].device_ms * 1000.0);
    }
    if (observers != nullptr) {
      for (auto& [name, obs] : *observers) {
        const auto it = ex.kept_values().find(name);
        if (it != ex.kept_values().end()) {
          obs.observe(it->second.as<float>());
        } else if (name == in) {
          obs.observe(inputs.at(in).as<float>());
        }
      }
    }
  }
  ex.keep_values(false);
  if (!d.labels.empty()) e.accuracy = double(correct) / double(d.size());
  return e;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double nmse(const std::vector<float>& out, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < out.size() && i < ref.size(); ++i) {
    num += (double(out[i]) - ref[i]) * (double(out[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return den > 0 ? num / den : (num > 0 ? INFINITY : 0.0);
}

// How far a candidate moves the layer's weights (the sensitivity proxy without calibration data).
double weight_error(const Step& step, const LayerChoice& c) {
  const std::vector<float>& w = step.kind == Step::Kind::dense ? step.dense.w : step.conv.w;
  double num = 0, den = 0;
  for (const float v : w) den += double(v) * v;
  if (den == 0) return 0;
  switch (c.precision) {
    case Precision::fp32: return 0;
    case Precision::fp16:
      for (const float v : w) {
        const double d = double(half_to_float(float_to_half(v))) - v;
        num += d * d;
      }
      return num / den;
    case Precision::int8: {
      const DenseLayer& d = step.dense;
      for (std::int64_t n = 0; n < d.n; ++n) {
        const float s =
            int8_weight_scale(std::span<const float>(d.w).subspan(std::size_t(n * d.k), std::size_t(d.k)));
        for (std::int64_t k = 0; k < d.k; ++k) {
          const float v = d.w[std::size_t(n * d.k + k)];
          const double e = double(std::nearbyint(v / s)) * s - v;
          num += e * e;
        }
      }
      return num / den;
    }
    case Precision::int4: {
      GroupQuantOptions o;
      o.group = c.group;
      const GroupedWeights g = quantize_grouped(step.dense.w, step.dense.n, step.dense.k, WeightLayout::nk, o);
      return quantization_error(step.dense.w, WeightLayout::nk, g).nmse;
    }
    case Precision::csr: {
      const CsrMatrix a = prune_to_csr(step.dense.w, step.dense.n, step.dense.k, c.sparsity);
      double kept = 0;
      for (const float v : a.values) kept += double(v) * v;
      return (den - kept) / den;
    }
  }
  return 0;
}

std::string params_of(const StepWork& w, const DeviceInfo& device) {
  if (w.impl.empty()) return {};
  const ops::ImplBase* impl = ops::find_impl(w.impl);
  if (impl == nullptr) return {};
  try {
    return tuning::TuningDb::global().lookup(device, *impl, w.problem).params.str();
  } catch (const Error&) {
    return {};
  }
}

}  // namespace

void check_data_fits_input(const Graph& g, const Dataset& d) {
  const std::string& name = single_input(g);
  const ValueSpec& spec = g.inputs[0];
  if (!spec.shape_known || d.x.shape.empty()) return;
  const Shape sample(d.x.shape.begin() + 1, d.x.shape.end());
  auto fail = [&](const std::string& why) {
    throw InvalidArgument(fmt::format("{}: the data {} has shape {}, {} samples of shape {}, but input '{}' is "
                                      "declared {} (first dimension: the batch; -1: any): {}",
                                      g.origin, d.origin, shape_text(d.x.shape), d.x.shape[0], shape_text(sample),
                                      name, shape_text(spec.dims), why));
  };
  if (spec.dims.empty()) fail("the input is a scalar, with no batch dimension");
  if (sample.size() + 1 != spec.dims.size()) {
    fail(fmt::format("a sample needs rank {}, not {}", spec.dims.size() - 1, sample.size()));
  }
  for (std::size_t i = 0; i < sample.size(); ++i) {
    if (spec.dims[i + 1] >= 0 && spec.dims[i + 1] != sample[i]) {
      fail(fmt::format("sample dimension {} is {}, the model needs {}", i, sample[i], spec.dims[i + 1]));
    }
  }
}

Plan make_plan(Context& context, const Graph& graph, const std::string& model_path, const PlanOptions& options,
               const Dataset* calibration) {
  Plan plan;
  plan.model = model_path;
  plan.options = options;
  plan.device = fmt::format("{} ({})", context.device().key, context.device().name);
  plan.steps = lower(graph);
  if (options.batch < 1) throw InvalidArgument(fmt::format("--batch {} must be at least 1", options.batch));
  plan.shapes = infer_shapes(graph, default_input_shapes(graph, options.batch));
  if (calibration != nullptr && !calibration->x.shape.empty()) {
    // The data decides the input shape's fixed dimensions: check them now, with the plan's batch. A mismatch is
    // told in the data's own terms (its shape and one sample's), not in those of the batch made from it.
    check_data_fits_input(graph, *calibration);
    Shape s = calibration->x.shape;
    s[0] = options.batch;
    plan.shapes = infer_shapes(graph, {{single_input(graph), s}});
  }
  const DeviceInfo& device = context.device();
  CostModel current = CostModel::current(context);
  const CostModel rx = CostModel::rx580();

  // Candidates.
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    if (!step.compute()) continue;
    LayerPlan lp;
    lp.step = s;
    std::vector<std::pair<LayerChoice, std::string>> list;
    auto add = [&](LayerChoice c, std::string refused = {}) { list.emplace_back(std::move(c), std::move(refused)); };
    add(LayerChoice{});
    if (step.kind == Step::Kind::conv) {
      LayerChoice h;
      h.precision = Precision::fp16;
      add(h);
      LayerChoice i8;
      i8.precision = Precision::int8;
      add(i8, "no INT8 convolution kernel in ellesmere (INT8 GEMM only); QLinearConv nodes run through im2col + "
              "gemm_i8");
      LayerChoice i4;
      i4.precision = Precision::int4;
      add(i4, "no grouped-weight convolution kernel (gemm_wq is a GEMM)");
      LayerChoice sp;
      sp.precision = Precision::csr;
      sp.sparsity = 0.9;
      add(sp, "no sparse convolution kernel (spmm_csr is a matrix product)");
    } else {
      LayerChoice h;
      h.precision = Precision::fp16;
      add(h, "no fp16 GEMM kernel: fp16 storage is offered for convolutions only");
      LayerChoice i8;
      i8.precision = Precision::int8;
      add(i8, step.dense.k > 33025 ? fmt::format("K = {} is above gemm_i8's exact int32 limit of 33025",
                                                 step.dense.k)
                                   : std::string());
      for (const int g : {32, 64, 128}) {
        LayerChoice c;
        c.precision = Precision::int4;
        c.group = g;
        add(c, step.dense.k < g ? fmt::format("K = {} is smaller than one group of {}", step.dense.k, g)
                                : std::string());
      }
      for (const double sp : {0.5, 0.7, 0.9}) {
        LayerChoice c;
        c.precision = Precision::csr;
        c.sparsity = sp;
        add(c);
      }
    }
    for (auto& [choice, refused] : list) {
      Candidate c;
      c.choice = choice;
      c.refused = refused;
      if (c.refused.empty()) {
        try {
          c.work = step_work(graph, step, choice, plan.shapes, device);
          if (c.work.impl.empty()) {
            c.refused = fmt::format("no Impl of {} applies on this device", c.work.problem);
          }
        } catch (const Error& e) {
          c.refused = e.what();
        }
      }
      if (c.refused.empty()) c.weight_nmse = weight_error(step, choice);
      lp.candidates.push_back(std::move(c));
    }
    plan.layers.push_back(std::move(lp));
  }

  // Calibrate the cost model for every offered candidate and every node step.
  std::vector<CostModel::Request> requests;
  for (const auto& lp : plan.layers) {
    for (const auto& c : lp.candidates) {
      if (c.refused.empty()) requests.push_back({&graph, &plan.steps[lp.step], c.choice, &plan.shapes});
    }
  }
  for (const auto& step : plan.steps) {
    if (!step.compute()) requests.push_back({&graph, &step, LayerChoice{}, &plan.shapes});
  }
  current.calibrate(context, requests, options.verbose);
  for (auto& lp : plan.layers) {
    for (auto& c : lp.candidates) {
      if (!c.refused.empty()) continue;
      c.current = current.predict(c.work);
      c.rx580 = rx.predict(c.work);
      c.weight_bytes = c.work.weight_bytes;
      c.params = params_of(c.work, device);
    }
  }
  plan.node_work.resize(plan.steps.size());
  plan.node_current.resize(plan.steps.size());
  plan.node_rx580.resize(plan.steps.size());
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    if (plan.steps[s].compute()) continue;
    plan.node_work[s] = step_work(graph, plan.steps[s], LayerChoice{}, plan.shapes, device);
    plan.node_current[s] = current.predict(plan.node_work[s]);
    plan.node_rx580[s] = rx.predict(plan.node_work[s]);
  }

  // Sensitivities on calibration data, and the int8 activation ranges.
  // Target accuracy changes nothing, so it measures nothing.
  const bool measured = calibration != nullptr && calibration->size() > 0 && options.target != Target::accuracy;
  if (measured) {
    plan.calibration = calibration->origin;
    std::vector<LayerChoice> fp32(plan.steps.size());
    Executor ex(context, graph, plan.steps, fp32);
    std::map<std::string, Observer> observers;
    for (const auto& lp : plan.layers) {
      if (plan.steps[lp.step].kind == Step::Kind::dense) {
        observers.emplace(plan.steps[lp.step].inputs[0], Observer(ObserverKind::min_max));
      }
    }
    const Evaluation ref = evaluate(ex, graph, *calibration, options.batch, &observers);
    for (auto& lp : plan.layers) {
      for (auto& c : lp.candidates) {
        if (c.choice.precision == Precision::int8 && plan.steps[lp.step].kind == Step::Kind::dense) {
          c.choice.act = observers.at(plan.steps[lp.step].inputs[0]).params(QuantType::u8);
        }
      }
    }
    for (auto& lp : plan.layers) {
      for (auto& c : lp.candidates) {
        if (!c.refused.empty()) continue;
        if (c.choice.precision == Precision::fp32) {
          c.accuracy_drop = 0;
          c.output_nmse = 0;
          continue;
        }
        ex.set_choice(lp.step, c.choice);
        const Evaluation e = evaluate(ex, graph, *calibration, options.batch);
        c.accuracy_drop = calibration->labels.empty() ? 0.0 : ref.accuracy - e.accuracy;
        c.output_nmse = nmse(e.out, ref.out);
        if (options.verbose) {
          std::fprintf(stderr, "[ellesmere:plan] %s %s: accuracy drop %.4f, output nmse %.3g\n",
                       plan.steps[lp.step].name.c_str(), c.choice.label().c_str(), c.accuracy_drop, c.output_nmse);
        }
      }
      ex.set_choice(lp.step, LayerChoice{});
    }
  }

  // Selection.
  const double budget = options.max_accuracy_drop >= 0 ? options.max_accuracy_drop
                                                       : default_max_accuracy_drop(options.target);
  // Without calibration data the weights' NMSE stands in for the accuracy drop, with these limits per target.
  const double nmse_budget = options.target == Target::balanced ? 1e-3
                             : options.target == Target::extreme ? 5e-2 : 1e-2;
  const std::string by = options.rx580_profile ? "the RX 580 model" : "this device";
  auto time_of = [&](const Candidate& c) { return options.rx580_profile ? c.rx580.us : c.current.us; };
  auto sensitivity = [&](const Candidate& c) {
    return measured ? std::max(0.0, c.accuracy_drop) + 1e-3 * std::min(1.0, c.output_nmse) : c.weight_nmse;
  };
  const double limit = measured ? budget : nmse_budget;
  const char* sens_unit = measured ? "accuracy drop on calibration data" : "weight NMSE (no calibration data)";
  struct Pick {
    std::size_t layer, cand;
    double score, sens;
  };
  std::vector<Pick> picks;
  for (std::size_t li = 0; li < plan.layers.size(); ++li) {
    LayerPlan& lp = plan.layers[li];
    lp.chosen = 0;
    if (options.target == Target::accuracy) {
      lp.reason = "target accuracy keeps every layer in fp32";
      continue;
    }
    const Candidate& base = lp.candidates[0];
    std::optional<Pick> best;
    std::string why_none = "no candidate is predicted to gain";
    for (std::size_t ci = 1; ci < lp.candidates.size(); ++ci) {
      const Candidate& c = lp.candidates[ci];
      if (!c.refused.empty()) continue;
      const double dt = time_of(base) - time_of(c);
      const double dm = double(base.weight_bytes) - double(c.weight_bytes);
      const double sens = sensitivity(c);
      if (sens > limit) {
        why_none = fmt::format("every gaining candidate exceeds the budget on its own ({} {:.4g} > {:.4g})",
                               sens_unit, sens, limit);
        continue;
      }
      double score = 0;
      switch (options.target) {
        case Target::balanced:
          if (dt <= 0 || dm <= 0) continue;
          score = (dt / time_of(base) + dm / double(base.weight_bytes)) / (sens + 1e-4);
          break;
        case Target::speed:
          if (dt <= 0) continue;
          score = dt / (sens + 1e-4);
          break;
        case Target::memory:
          if (dm <= 0) continue;
          score = dm / (sens + 1e-4);
          break;
        case Target::extreme:
          if (dm <= 0) continue;
          score = dm - 1e-6 * sens;
          break;
        case Target::accuracy: break;
      }
      if (!best || score > best->score) best = Pick{li, ci, score, sens};
    }
    if (best) {
      picks.push_back(*best);
    } else {
      lp.reason = "fp32: " + why_none;
    }
  }
  std::sort(picks.begin(), picks.end(), [](const Pick& a, const Pick& b) { return a.score > b.score; });
  double used = 0;
  for (const Pick& p : picks) {
    LayerPlan& lp = plan.layers[p.layer];
    const Candidate& c = lp.candidates[p.cand];
    if (used + p.sens > limit) {
      lp.reason = fmt::format("fp32: {} would bring the summed {} to {:.4g}, over the budget {:.4g}",
                              c.choice.label(), sens_unit, used + p.sens, limit);
      continue;
    }
    used += p.sens;
    lp.chosen = p.cand;
    const double dt = time_of(lp.candidates[0]) - time_of(c);
    lp.reason = fmt::format("{}: predicted {} {:.1f} us on {}, weights {:.1f}x smaller, {} {:.4g}",
                            c.choice.label(), dt >= 0 ? "saves" : "costs", std::fabs(dt), by, double(lp.candidates[0].weight_bytes) / double(std::max<std::uint64_t>(
                                                                                 c.weight_bytes, 1)),
                            sens_unit, p.sens);
  }
  // Memory budget: compress further, most bytes saved per unit of sensitivity first, until the weights fit.
  if (options.memory_budget > 0) {
    auto total = [&] {
      std::uint64_t t = 0;
      for (const auto& lp : plan.layers) t += lp.candidates[lp.chosen].weight_bytes;
      return t;
    };
    while (total() > options.memory_budget) {
      std::optional<Pick> best;
      for (std::size_t li = 0; li < plan.layers.size(); ++li) {
        const LayerPlan& lp = plan.layers[li];
        const Candidate& cur = lp.candidates[lp.chosen];
        for (std::size_t ci = 0; ci < lp.candidates.size(); ++ci) {
          const Candidate& c = lp.candidates[ci];
          if (!c.refused.empty() || c.weight_bytes >= cur.weight_bytes) continue;
          const double extra = std::max(0.0, sensitivity(c) - sensitivity(cur));
          if (used + extra > limit) continue;
          const double score = double(cur.weight_bytes - c.weight_bytes) / (extra + 1e-4);
          if (!best || score > best->score) best = Pick{li, ci, score, extra};
        }
      }
      if (!best) {
        throw InvalidArgument(fmt::format("--memory-budget {} bytes cannot be met within an accuracy budget of {:.4g} "
                                          "({}): the smallest plan found needs {} bytes of weights",
                                          options.memory_budget, limit, sens_unit, total()));
      }
      LayerPlan& lp = plan.layers[best->layer];
      used += best->sens;
      lp.chosen = best->cand;
      lp.reason = fmt::format("{}: for --memory-budget ({} {:.4g})", lp.candidates[lp.chosen].choice.label(),
                              sens_unit, sensitivity(lp.candidates[lp.chosen]));
    }
  }
  if (!measured && options.target != Target::accuracy) {
    plan.log.push_back("no calibration data: sensitivities are the weights' quantization/pruning NMSE, not measured "
                       "accuracy; `ellesmere run --data` measures them");
  }
  return plan;
}

void execute_plan(Context& context, const Graph& graph, Plan& plan, const Dataset& evaluation) {
  const std::int64_t batch = plan.options.batch;
  std::vector<LayerChoice> fp32(plan.steps.size());
  Executor base(context, graph, plan.steps, fp32);
  const Evaluation ref = evaluate(base, graph, evaluation, batch);
  plan.fp32_accuracy = ref.accuracy;
  plan.evaluation = evaluation.origin;
  plan.evaluated = evaluation.size();
  const double budget = plan.options.max_accuracy_drop >= 0 ? plan.options.max_accuracy_drop
                                                            : default_max_accuracy_drop(plan.options.target);
  Executor ex(context, graph, plan.steps, plan.choices());
  Evaluation got = evaluate(ex, graph, evaluation, batch);
  // Back off while the measured drop breaks the constraint: revert the changed layer that bought the least per
  // unit of measured sensitivity.
  while (!evaluation.labels.empty() && ref.accuracy - got.accuracy > budget + 1e-12) {
    std::optional<std::size_t> worst;
    double worst_score = INFINITY;
    for (std::size_t li = 0; li < plan.layers.size(); ++li) {
      const LayerPlan& lp = plan.layers[li];
      if (lp.chosen == 0) continue;
      const Candidate& c = lp.candidates[lp.chosen];
      const double gain = std::max(0.0, double(lp.candidates[0].weight_bytes) - double(c.weight_bytes)) + 1.0;
      const double sens = std::isnan(c.accuracy_drop) ? c.weight_nmse : std::max(0.0, c.accuracy_drop) + 1e-6;
      const double score = gain / sens;
      if (score < worst_score) {
        worst_score = score;
        worst = li;
      }
    }
    if (!worst) break;
    LayerPlan& lp = plan.layers[*worst];
    plan.log.push_back(fmt::format("back-off: accuracy {:.4f} vs fp32 {:.4f} (drop {:.4f} > {:.4f}); layer '{}' "
                                   "reverted from {} to fp32",
                                   got.accuracy, ref.accuracy, ref.accuracy - got.accuracy, budget,
                                   plan.steps[lp.step].name, lp.candidates[lp.chosen].choice.label()));
    lp.reason = fmt::format("fp32: reverted from {} by the verification (full evaluation broke the budget)",
                            lp.candidates[lp.chosen].choice.label());
    lp.chosen = 0;
    ex.set_choice(lp.step, LayerChoice{});
    got = evaluate(ex, graph, evaluation, batch);
  }
  plan.plan_accuracy = got.accuracy;
  plan.executed = true;
  plan.results.assign(plan.steps.size(), LayerResult{});
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    plan.results[s].measured_us = median(got.step_us[s]);
    plan.results[s].fp32_measured_us = median(ref.step_us[s]);
  }
  // Per-layer error against fp32 on the first batch: every step's output, both runs.
  const Dataset first = evaluation.head(batch, "first batch");
  base.keep_values(true);
  ex.keep_values(true);
  const std::string& in = single_input(graph);
  base.run({{in, first.x}});
  ex.run({{in, first.x}});
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const std::string& out = plan.steps[s].output;
    const auto a = ex.kept_values().find(out), b = base.kept_values().find(out);
    if (a == ex.kept_values().end() || b == base.kept_values().end() || a->second.type != ElemType::f32) continue;
    const auto av = a->second.as<float>(), bv = b->second.as<float>();
    plan.results[s].output_rel_error = std::sqrt(nmse({av.begin(), av.end()}, {bv.begin(), bv.end()}));
  }
  base.keep_values(false);
  ex.keep_values(false);
}

}  // namespace ellesmere::pipeline
