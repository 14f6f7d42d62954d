// The cost model (cost_model.hpp): step work, roofline predictions, and the calibration of class efficiencies on
// synthetic problems, cached per device under the configuration directory.
#include "pipeline/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"
#include "ops/dispatch.hpp"
#include "ops/impl_registry.hpp"
#include "pipeline/host_ops.hpp"
#include "runtime/env.hpp"
#include "runtime/files.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::pipeline {

namespace {

constexpr int kCacheVersion = 6;

std::int64_t prod(const Shape& s) { return element_count(s); }

// The RX 580 model's efficiency per kernel family: assumed, not measured (no card here). GEMM-like kernels at 60 %
// of the fp32 peak (CLBlast's published SGEMM on Polaris reaches 60-75 %), bandwidth-bound GEMV and elementwise
// kernels at 80 % of the achievable copy bandwidth, convolutions at 50 %, sparse products at 40 % (gathers).
double rx580_efficiency(const std::string& family) {
  if (family == "gemm") return 0.60;
  if (family == "conv") return 0.50;
  if (family == "spmm") return 0.40;
  return 0.80;   // gemv, elementwise
}

std::string cache_file_for(const DeviceInfo& d) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : d.driver_version + "|" + d.name + "|" + d.platform_version) {
    h = (h ^ std::uint8_t(c)) * 1099511628211ull;
  }
  return (std::filesystem::path(runtime::config_dir()) / fmt::format("pipeline-cost-{}-{:08x}.txt", d.key,
                                                                      std::uint32_t(h)))
      .string();
}

}  // namespace

StepWork step_work(const Graph& graph, const Step& step, const LayerChoice& choice, const ShapeMap& shapes,
                   const DeviceInfo& device) {
  StepWork w;
  const std::string label = choice.label();
  if (step.kind == Step::Kind::dense) {
    const DenseLayer& d = step.dense;
    const Shape& x = shapes.at(step.inputs.at(0)).shape;
    const std::int64_t rows = prod(x) / d.k, n = d.n, k = d.k;
    const double rn = double(rows) * double(n), rk = double(rows) * double(k), nk = double(n) * double(k);
    w.ops = 2.0 * rn * double(k);
    w.family = rows <= 8 ? "gemv" : "gemm";
    const double bias = d.bias.empty() ? 0.0 : 4.0 * double(n);
    switch (choice.precision) {
      case Precision::fp32: {
        GemmProblem p;
        p.m = rows;
        p.n = n;
        p.k = k;
        p.trans_b = true;
        w.problem = p.str();
        w.bytes = 4.0 * (rk + nk + rn) + bias + ((!d.bias.empty() || d.act.on) ? 8.0 * rn : 0.0);
        w.kernels = 1 + ((!d.bias.empty() || d.act.on) ? 1 : 0);
        w.weight_bytes = std::uint64_t(4.0 * nk + bias);
        break;
      }
      case Precision::int8: {
        GemmI8Problem p;
        p.m = rows;
        p.n = n;
        p.k = k;
        w.problem = p.str();
        w.int8 = true;
        w.bytes = 4.0 * rk + rk + rk + nk + 4.0 * n + 4.0 * rn + bias;
        w.kernels = 2 + ((d.act.on && !d.act.relu()) ? 1 : 0);
        w.weight_bytes = std::uint64_t(nk + 4.0 * n + bias);
        break;
      }
      case Precision::int4: {
        GemmWqProblem p;
        p.m = rows;
        p.n = n;
        p.k = k;
        p.bits = 4;
        p.group = choice.group;
        w.problem = p.str();
        const double groups = std::ceil(double(k) / choice.group);
        const double wbytes = double(n) * groups * (choice.group / 2.0 + 2.0);
        w.bytes = 4.0 * rk + wbytes + 4.0 * rn + bias + (d.act.on ? 8.0 * rn : 0.0);
        w.kernels = 1 + (d.act.on ? 1 : 0);
        w.weight_bytes = std::uint64_t(wbytes + bias);
        break;
      }
      case Precision::csr: {
        const double nnz = std::round((1.0 - choice.sparsity) * nk);
        SpmmProblem p;
        p.m = n;
        p.k = k;
        p.n = rows;
        p.density = nk > 0 ? nnz / nk : 0;
        w.problem = p.str();
        w.ops = 2.0 * nnz * double(rows);
        w.family = "spmm";
        const double wbytes = 8.0 * nnz + 4.0 * double(n + 1);
        w.bytes = wbytes + 4.0 * rk + 4.0 * rn + bias + (rows > 1 ? 8.0 * rk + 8.0 * rn : 0.0);
        w.kernels = 1 + (rows > 1 ? 2 : 0) + ((d.act.on && !d.act.relu()) ? 1 : 0);
        w.weight_bytes = std::uint64_t(wbytes + bias);
        break;
      }
      case Precision::fp16: throw NotSupported("fp16 is offered for convolutions only");
    }
  } else if (step.kind == Step::Kind::conv) {
    const ConvLayer& c = step.conv;
    const Shape& xs = shapes.at(step.inputs.at(0)).shape;
    const Node& node = graph.nodes.at(step.nodes.front());
    const ConvProblem p = conv_problem_for(c.problem, node, xs);
    w.problem = p.str();
    w.family = "conv";
    const double xe = double(p.input_elements()), we = double(p.weight_elements()), ye = double(p.output_elements());
    const double re = c.residual.empty() ? 0.0 : ye;
    w.ops = p.flops();
    const double bias = c.bias.empty() ? 0.0 : 4.0 * double(p.k);
    if (choice.precision == Precision::fp32) {
      w.bytes = 4.0 * (xe + we + ye + re) + bias;
      w.kernels = 1;
      w.weight_bytes = std::uint64_t(4.0 * we + bias);
    } else {
      w.bytes = 6.0 * (xe + ye + re) + 2.0 * (xe + we + ye + re) + bias;
      w.kernels = 3 + (c.residual.empty() ? 0 : 1);
      w.weight_bytes = std::uint64_t(2.0 * we + bias);
    }
  } else {
    const Node& node = graph.nodes.at(step.nodes.front());
    const std::string& op = node.op;
    w.family = "elementwise";
    double in_bytes = 0, out_bytes = 0;
    for (const auto& in : step.inputs) {
      const ValueType& t = shapes.at(in);
      in_bytes += double(prod(t.shape)) * double(elem_size(t.type));
    }
    for (const auto& out : node.outputs) {
      const auto it = shapes.find(out);
      if (it != shapes.end()) out_bytes += double(prod(it->second.shape)) * double(elem_size(it->second.type));
    }
    const bool is_view = op == "Identity" || op == "Dropout" || op == "Flatten" || op == "Reshape" ||
                         (op == "Cast" && shapes.at(node.input(0)).type == shapes.at(node.outputs.at(0)).type);
    if (is_view) {
      w.cls = "view";
      w.kernels = 0;
      return w;
    }
    w.bytes = in_bytes + out_bytes;
    w.ops = out_bytes / 4.0;
    w.kernels = 1;
    w.cls = "node/" + op;
    if (op == "MaxPool" || op == "AveragePool") {
      const Shape& x = shapes.at(node.input(0)).shape;
      const ConvGeometry g = conv_geometry(node, x, 0, 0);
      w.ops = double(prod(shapes.at(node.outputs[0]).shape)) * double(g.kernel_h * g.kernel_w);
    }
    return w;
  }
  w.impl = ops::dispatch_choice(device, w.problem);
  // Efficiency depends on the reduction length (K of a GEMM, C/G x R x S of a convolution) as much as on size: the
  // class keeps it, to the nearest power of two.
  const double reduction = step.kind == Step::Kind::dense
                               ? double(step.dense.k)
                               : double(step.conv.problem.c / step.conv.problem.groups * step.conv.problem.r *
                                        step.conv.problem.s);
  const long bucket = 1L << std::lround(std::log2(std::max(1.0, reduction)));
  w.cls = fmt::format("{}/{}/{}/{}{}", step.kind == Step::Kind::dense ? "dense" : "conv", label, w.impl,
                      step.kind == Step::Kind::dense ? "k" : "crs", bucket);
  return w;
}

namespace {

// The power law through the points nearest to w in log space (at most four): log t = a + e log w.
ClassFit fit_points(std::vector<std::pair<double, double>> pts, double w) {
  ClassFit f;
  if (pts.empty()) return f;
  if (w > 0) {
    const double lw = std::log(w);
    std::sort(pts.begin(), pts.end(), [&](const auto& a, const auto& b) {
      return std::fabs(std::log(a.first) - lw) < std::fabs(std::log(b.first) - lw);
    });
    if (pts.size() > 4) pts.resize(4);
  }
  f.points = int(pts.size());
  f.min_w = INFINITY;
  f.max_w = 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [pw, t] : pts) {
    const double x = std::log(pw), y = std::log(t);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    f.min_w = std::min(f.min_w, pw);
    f.max_w = std::max(f.max_w, pw);
  }
  const double n = double(pts.size());
  const double var = sxx - sx * sx / n;
  // The exponent stays within [0.2, 1.2]: time never falls as the work grows, and never grows much faster than it.
  f.exponent = var > 1e-9 ? std::clamp((sxy - sx * sy / n) / var, 0.2, 1.2) : 1.0;
  f.log_scale = (sy - f.exponent * sx) / n;
  return f;
}

}  // namespace

// ---- CostModel ---------------------------------------------------------------------------------------------------

CostModel CostModel::rx580() {
  CostModel m;
  m.profile_ = builtin_profile("rx580");
  return m;
}

CostModel CostModel::current(Context& context) {
  CostModel m;
  m.profile_ = device_profile(context);
  m.cache_path_ = cache_file_for(context.device());
  std::ifstream in(m.cache_path_);
  std::string line;
  int version = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::sscanf(line.c_str(), "# ellesmere pipeline cost calibration v%d", &version);
      continue;
    }
    if (version != kCacheVersion) break;   // an older format: calibrate again
    std::istringstream ls(line);
    std::string cls;
    double roof = 0, meas = 0;
    if (ls >> cls >> roof >> meas && roof > 0 && meas > 0 && std::isfinite(roof) && std::isfinite(meas)) {
      m.points_[cls].emplace_back(roof, meas);
    }
  }
  for (const auto& [cls, pts] : m.points_) m.refit(cls);
  return m;
}

double CostModel::roofline_us(const StepWork& w) const {
  const double rate = (w.int8 ? profile_.int8_gops : profile_.fp32_gflops) * 1e9;
  return profile_.roofline_seconds(w.ops, rate > 0 ? rate : 1e9, w.bytes) * 1e6;
}

bool CostModel::calibrated(const std::string& cls) const {
  const auto it = fits_.find(cls);
  return it != fits_.end() && it->second.points > 0;
}

Prediction CostModel::predict(const StepWork& w) const {
  Prediction p;
  if (w.kernels == 0) {
    p.source = "no kernel (a view)";
    return p;
  }
  p.roofline_us = roofline_us(w);
  if (profile_.model_estimate) {
    const double eff = rx580_efficiency(w.family);
    p.us = p.roofline_us / eff + profile_.launch_overhead_us * w.kernels;
    p.source = fmt::format("{} model: roofline / {:.2f} ({}) + {} x {:g} us launch", profile_.name, eff, w.family,
                           w.kernels, profile_.launch_overhead_us);
    return p;
  }
  const auto it = fits_.find(w.cls);
  if (it != fits_.end() && it->second.points > 0) {
    const ClassFit& range = it->second;
    const ClassFit f = fit_points(points_.at(w.cls), p.roofline_us);
    p.us = f.time_us(p.roofline_us);
    const bool inside = p.roofline_us >= range.min_w && p.roofline_us <= range.max_w;
    p.source = fmt::format("calibrated: roofline / {:.4f} (efficiency at this size, from the {} nearest of {} "
                           "points; {} their range)",
                           p.roofline_us / std::max(p.us, 1e-9), f.points, range.points,
                           inside ? "within" : "outside");
  } else {
    // Not calibrated: the RX 580 model's family efficiency on this device's peaks.
    const double eff = rx580_efficiency(w.family);
    p.us = p.roofline_us / eff + profile_.launch_overhead_us * w.kernels;
    p.source = fmt::format("uncalibrated: roofline / {:.2f} + {} launches", eff, w.kernels);
  }
  // A measured time of the main kernel in the tuning database (ellesmere-tune wrote it) replaces that kernel's part.
  if (!w.impl.empty() && !w.problem.empty()) {
    if (const ops::ImplBase* impl = ops::find_impl(w.impl)) {
      DeviceInfo d;
      d.key = profile_.key;
      d.family = tuning::family_of(profile_.key);
      d.max_work_group_size = 1 << 30;
      d.max_work_item_sizes = {std::size_t(1) << 30, std::size_t(1) << 30, std::size_t(1) << 30};
      d.local_mem_bytes = std::uint64_t(1) << 40;
      try {
        const tuning::Lookup l = tuning::TuningDb::global().lookup(d.key, d.family, d, *impl, w.problem);
        if (l.level == tuning::Level::exact && l.entry && l.entry->time_us > 0) {
          p.us = l.entry->time_us + (w.kernels - 1) * profile_.launch_overhead_us;
          p.source = fmt::format("tuning db ({}): {:.1f} us measured + {} more launches", l.entry->origin,
                                 l.entry->time_us, w.kernels - 1);
        }
      } catch (const Error&) {
      }
    }
  }
  return p;
}


double ClassFit::time_us(double w) const { return std::exp(log_scale + exponent * std::log(std::max(w, 1e-6))); }

void CostModel::refit(const std::string& cls) {
  const auto& pts = points_[cls];
  if (pts.empty()) {
    fits_.erase(cls);
    return;
  }
  // The class's whole calibrated range (predict() fits locally, around each step's size).
  fits_[cls] = fit_points(pts, 0);
}

void CostModel::save() const {
  if (cache_path_.empty()) return;
  std::ostringstream out;
  out << "# ellesmere pipeline cost calibration v" << kCacheVersion << "\n";
  out << "# device " << profile_.key << " (" << profile_.device << ", driver " << profile_.driver << ")\n";
  out << "# class roofline_us measured_us: synthetic problems timed with OpenCL events (median of 3 runs, each the median of 5 back-to-back repetitions)\n";
  for (const auto& [cls, pts] : points_) {
    for (const auto& [w, t] : pts) out << fmt::format("{} {:.6g} {:.6g}\n", cls, w, t);
  }
  try {
    std::filesystem::create_directories(std::filesystem::path(cache_path_).parent_path());
    runtime::write_file_atomically(cache_path_, out.str());
  } catch (const Error&) {
    // An unwritable configuration directory costs a recalibration next time, nothing else.
  }
}

namespace {

// Synthetic graphs for calibration: one layer of the step's kind with random weights.
struct Synthetic {
  Graph graph;
  std::map<std::string, HostTensor> inputs;
};

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (auto& e : v) e = u(rng);
  return v;
}

void add_input(Synthetic& s, const std::string& name, const Shape& shape, std::mt19937& rng) {
  ValueSpec v;
  v.name = name;
  v.type = ElemType::f32;
  v.dims = shape;
  v.dim_names.assign(shape.size(), "");
  v.shape_known = true;
  s.graph.inputs.push_back(v);
  s.inputs[name] = HostTensor::floats(shape, random_floats(std::size_t(element_count(shape)), rng));
}

void finish(Synthetic& s, const std::string& out) {
  ValueSpec v;
  v.name = out;
  v.type = ElemType::f32;
  s.graph.outputs.push_back(v);
}

std::string add_activation(Synthetic& s, const Activation& act, const std::string& in) {
  if (!act.on) return in;
  Node n;
  n.name = "act";
  n.outputs = {"act_out"};
  if (act.relu()) {
    n.op = "Relu";
    n.inputs = {in};
  } else {
    n.op = "Clip";
    s.graph.constants["lo"] = HostTensor::floats({}, {act.lo});
    s.graph.constants["hi"] = HostTensor::floats({}, {act.hi});
    n.inputs = {in, "lo", "hi"};
  }
  s.graph.nodes.push_back(n);
  return "act_out";
}

std::int64_t scaled(std::int64_t v, double f, std::int64_t multiple = 1) {
  std::int64_t r = std::int64_t(std::llround(double(v) * f / double(multiple))) * multiple;
  return std::max(r, multiple);
}

// The synthetic problem for a step at scale f, or false when the step's kind is not calibrated this way.
bool synthesize(const CostModel::Request& req, double f, std::uint32_t seed, Synthetic& s) {
  std::mt19937 rng(seed);
  const Step& step = *req.step;
  s.graph.origin = "<calibration>";
  s.graph.opset = 13;
  if (step.kind == Step::Kind::dense) {
    const DenseLayer& d = step.dense;
    const Shape& x = req.shapes->at(step.inputs.at(0)).shape;
    const std::int64_t rows = element_count(x) / d.k;
    // Only the outputs scale: the reduction (K, its groups) and the rows stay those of the layer, so the kernels
    // run in the same regime.
    const std::int64_t n = scaled(d.n, f), k = d.k;
    add_input(s, "x", {rows, k}, rng);
    s.graph.constants["w"] = HostTensor::floats({n, k}, random_floats(std::size_t(n * k), rng, 0.1f));
    s.graph.constants["b"] = HostTensor::floats({n}, random_floats(std::size_t(n), rng, 0.1f));
    Node g;
    g.name = "dense";
    g.op = "Gemm";
    g.inputs = {"x", "w", "b"};
    g.outputs = {"y"};
    Attribute tb;
    tb.kind = Attribute::Kind::i;
    tb.i = 1;
    g.attrs["transB"] = tb;
    s.graph.nodes.push_back(g);
    finish(s, add_activation(s, d.act, "y"));
    return true;
  }
  if (step.kind == Step::Kind::conv) {
    const ConvLayer& c = step.conv;
    const Node& node = req.graph->nodes.at(step.nodes.front());
    const Shape& x = req.shapes->at(step.inputs.at(0)).shape;
    const bool depthwise = c.problem.groups > 1 && c.problem.groups == c.problem.c;
    std::int64_t groups = c.problem.groups, cin, kout;
    if (depthwise) {
      groups = scaled(c.problem.groups, f);
      cin = groups;
      kout = groups * (c.problem.k / c.problem.c);
    } else {
      // Only the output channels scale: the reduction (C x R x S) stays the layer's.
      cin = c.problem.c;
      kout = scaled(c.problem.k / groups, f) * groups;
    }
    Shape xs = x;
    xs[1] = cin;
    add_input(s, "x", xs, rng);
    Shape ws = {kout, cin / groups};
    if (x.size() == 4) ws.push_back(c.problem.r);
    ws.push_back(c.problem.s);
    s.graph.constants["w"] = HostTensor::floats(ws, random_floats(std::size_t(element_count(ws)), rng, 0.1f));
    Node conv = node;
    conv.name = "conv";
    conv.inputs = {"x", "w"};
    if (!c.bias.empty()) {
      s.graph.constants["b"] = HostTensor::floats({kout}, random_floats(std::size_t(kout), rng, 0.1f));
      conv.inputs.push_back("b");
    }
    conv.outputs = {"y"};
    conv.attrs["group"].kind = Attribute::Kind::i;
    conv.attrs["group"].i = groups;
    s.graph.nodes.push_back(conv);
    std::string out = "y";
    if (!c.residual.empty()) {
      Shape rs = req.shapes->at(c.residual).shape;
      rs[1] = kout;
      add_input(s, "res", rs, rng);
      Node add;
      add.name = "residual";
      add.op = "Add";
      add.inputs = {"y", "res"};
      add.outputs = {"sum"};
      s.graph.nodes.push_back(add);
      out = "sum";
    }
    finish(s, add_activation(s, c.act, out));
    return true;
  }
  const Node& node = req.graph->nodes.at(step.nodes.front());
  static const std::vector<std::string> calibrated_ops = {"MaxPool", "AveragePool", "GlobalAveragePool", "Softmax",
                                                          "Relu", "Clip", "Add", "QuantizeLinear",
                                                          "DequantizeLinear"};
  if (std::find(calibrated_ops.begin(), calibrated_ops.end(), node.op) == calibrated_ops.end()) return false;
  const ValueType& xt = req.shapes->at(node.input(0));
  if (xt.type != ElemType::f32 && node.op != "DequantizeLinear") return false;
  Shape xs = xt.shape;
  if (xs.empty()) return false;
  const std::size_t dim = xs.size() > 1 ? 1 : 0;
  xs[dim] = scaled(xs[dim], f);
  Node n = node;
  n.name = "node";
  n.outputs = {"y"};
  if (node.op == "DequantizeLinear") {
    ValueSpec v;
    v.name = "q";
    v.type = xt.type;
    v.dims = xs;
    v.dim_names.assign(xs.size(), "");
    v.shape_known = true;
    s.graph.inputs.push_back(v);
    HostTensor q = HostTensor::of(xt.type, xs);
    std::uniform_int_distribution<int> u(0, 255);
    for (auto& b : q.data) b = std::byte(u(rng));
    s.inputs["q"] = q;
    n.inputs[0] = "q";
  } else {
    add_input(s, "x", xs, rng);
    n.inputs[0] = "x";
  }
  for (std::size_t i = 1; i < n.inputs.size(); ++i) {
    const std::string& in = node.inputs[i];
    if (in.empty()) continue;
    if (req.graph->is_constant(in)) {
      const HostTensor& c = req.graph->constant(in);
      if (c.count() != 1 && node.op != "Add") return false;   // per-axis parameters: not scaled here
      if (node.op == "Add") {
        add_input(s, "x2", xs, rng);
        n.inputs[i] = "x2";
      } else {
        s.graph.constants["c" + std::to_string(i)] = c;
        n.inputs[i] = "c" + std::to_string(i);
      }
    } else if (node.op == "Add") {
      add_input(s, "x2", xs, rng);
      n.inputs[i] = "x2";
    } else {
      return false;
    }
  }
  s.graph.nodes.push_back(n);
  ValueSpec out;
  out.name = "y";
  out.type = node.op == "QuantizeLinear" ? req.shapes->at(node.outputs.at(0)).type : xt.type;
  if (node.op == "DequantizeLinear") out.type = ElemType::f32;
  s.graph.outputs.push_back(out);
  return true;
}

}  // namespace

std::vector<std::string> CostModel::calibrate(Context& context, const std::vector<Request>& requests, bool verbose) {
  std::vector<std::string> done;
  // A request needs points when its class has none, or none within a factor of 2 of its roofline time.
  auto covered = [&](const StepWork& w) {
    const auto it = fits_.find(w.cls);
    if (it == fits_.end() || it->second.points == 0) return false;
    const double r = roofline_us(w);
    return r >= it->second.min_w / 2 && r <= it->second.max_w * 2;
  };
  std::vector<std::pair<std::string, const Request*>> todo;
  for (const Request& r : requests) {
    const StepWork w = step_work(*r.graph, *r.step, r.choice, *r.shapes, context.device());
    if (w.kernels == 0) continue;
    todo.emplace_back(w.cls, &r);
  }
  std::uint32_t seed = 7;
  for (const auto& [cls, req] : todo) {
    if (covered(step_work(*req->graph, *req->step, req->choice, *req->shapes, context.device()))) continue;
    int added = 0;
    for (const double f : {0.5, 0.7, 1.4, 2.0}) {
      Synthetic s;
      if (!synthesize(*req, f, seed++, s)) break;
      try {
        fold_and_check(s.graph);
        std::vector<Step> steps = lower(s.graph);
        std::vector<LayerChoice> choices(steps.size());
        std::size_t main_step = 0;
        for (std::size_t i = 0; i < steps.size(); ++i) {
          if (steps[i].compute()) {
            choices[i] = req->choice;
            // The synthetic inputs lie in [-1, 1]: int8 timing does not depend on the exact range.
            if (choices[i].precision == Precision::int8 && !choices[i].act) {
              choices[i].act = params_from_range(-1.0f, 1.0f, QuantType::u8);
            }
            main_step = i;
          }
        }
        Executor exec(context, s.graph, steps, choices);
        exec.run(s.inputs);   // warm-up: packs weights, builds kernels
        exec.set_repeats(5);
        const StepWork sw = step_work(s.graph, exec.steps()[main_step], choices[main_step], exec.shapes(),
                                      context.device());
        if (sw.cls != cls) continue;   // dispatch picked another Impl at this size: not this class's point
        std::vector<double> times;
        for (int rep = 0; rep < 3; ++rep) {
          exec.run(s.inputs);
          double t = 0;
          for (const auto& st : exec.timings()) t += st.device_ms * 1000.0;
          times.push_back(t);
        }
        std::sort(times.begin(), times.end());
        const double measured = times[1];
        const double roof = roofline_us(sw);
        if (measured > 0 && roof > 0) {
          points_[cls].emplace_back(roof, measured);
          ++added;
          if (verbose) {
            std::fprintf(stderr, "[ellesmere:cost] %s x%.1f: roofline %.1f us, measured %.1f us\n", cls.c_str(), f,
                         roof, measured);
          }
        }
      } catch (const Error& e) {
        if (verbose) std::fprintf(stderr, "[ellesmere:cost] %s x%.1f skipped: %s\n", cls.c_str(), f, e.what());
      }
    }
    if (added > 0) {
      refit(cls);
      done.push_back(cls);
    }
  }
  if (!done.empty()) save();
  return done;
}

}  // namespace ellesmere::pipeline
