// The spiking-network description (include/ellesmere/snn.hpp): model tables, validation naming the first bad field,
// and the JSON file format. Used by the simulator, the reference, the CLI (`ellesmere snn`) and the tests.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ellesmere/error.hpp"
#include "ellesmere/snn.hpp"
#include "io/file_reading.hpp"

namespace ellesmere::snn {

namespace {

const std::vector<ParamInfo>& lif_common() {
  static const std::vector<ParamInfo> p{
      {"tau_m", std::nullopt, "membrane time constant (ms)"},
      {"v_thresh", std::nullopt, "spike threshold (mV)"},
      {"v_reset", std::nullopt, "reset potential (mV)"},
      {"e_leak", std::nullopt, "resting (leak reversal) potential (mV)"},
      {"tau_e", 5.0, "excitatory synaptic time constant (ms)"},
      {"tau_i", 10.0, "inhibitory synaptic time constant (ms)"},
      {"t_ref", 0.0, "absolute refractory period (ms)"},
      {"i_ext", 0.0, "constant input, as the voltage it drives (mV)"},
  };
  return p;
}

std::vector<ParamInfo> with(std::vector<ParamInfo> base, std::initializer_list<ParamInfo> extra) {
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

constexpr double kMaxDelayMs = 1000;   // ring buffer of delay slots: keep it bounded

std::string quoted_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const char* model_name(Model m) noexcept {
  switch (m) {
    case Model::lif_exp: return "lif_exp";
    case Model::lif_coba: return "lif_coba";
    case Model::izhikevich: return "izhikevich";
    case Model::lif_adaptive: return "lif_adaptive";
    case Model::poisson: return "poisson";
    case Model::spike_times: return "spike_times";
  }
  return "?";
}

std::optional<Model> model_from_name(std::string_view name) {
  for (Model m : {Model::lif_exp, Model::lif_coba, Model::izhikevich, Model::lif_adaptive, Model::poisson,
                  Model::spike_times}) {
    if (name == model_name(m)) return m;
  }
  return std::nullopt;
}

bool is_source(Model m) noexcept { return m == Model::poisson || m == Model::spike_times; }

const char* connect_name(Connect c) noexcept {
  switch (c) {
    case Connect::fixed_probability: return "fixed_probability";
    case Connect::one_to_one: return "one_to_one";
    case Connect::all_to_all: return "all_to_all";
    case Connect::matrix: return "matrix";
  }
  return "?";
}

const std::vector<ParamInfo>& model_params(Model m) {
  static const std::vector<ParamInfo> lif_exp = lif_common();
  static const std::vector<ParamInfo> lif_coba =
      with(lif_common(), {{"e_exc", 0.0, "excitatory reversal potential (mV)"},
                          {"e_inh", -80.0, "inhibitory reversal potential (mV)"}});
  static const std::vector<ParamInfo> izhikevich{
      {"a", 0.02, "recovery time scale (1/ms)"},
      {"b", 0.2, "recovery sensitivity to v"},
      {"c", -65.0, "reset potential (mV)"},
      {"d", 8.0, "recovery jump at a spike"},
      {"v_peak", 30.0, "spike cut-off (mV)"},
      {"tau_e", 5.0, "excitatory synaptic time constant (ms)"},
      {"tau_i", 10.0, "inhibitory synaptic time constant (ms)"},
      {"t_ref", 0.0, "absolute refractory period (ms)"},
      {"i_ext", 0.0, "constant input current (mV/ms units of the v equation)"},
  };
  static const std::vector<ParamInfo> lif_adaptive =
      with(lif_common(), {{"tau_theta", std::nullopt, "threshold relaxation time constant (ms)"},
                          {"theta_jump", std::nullopt, "threshold increase per spike (mV)"}});
  static const std::vector<ParamInfo> poisson{{"rate_hz", std::nullopt, "firing rate (Hz)"}};
  static const std::vector<ParamInfo> none;
  switch (m) {
    case Model::lif_exp: return lif_exp;
    case Model::lif_coba: return lif_coba;
    case Model::izhikevich: return izhikevich;
    case Model::lif_adaptive: return lif_adaptive;
    case Model::poisson: return poisson;
    case Model::spike_times: return none;
  }
  return none;
}

std::vector<std::string> model_variables(Model m) {
  switch (m) {
    case Model::lif_exp:
    case Model::lif_coba: return {"v", "ge", "gi"};
    case Model::izhikevich: return {"v", "ge", "gi", "u"};
    case Model::lif_adaptive: return {"v", "ge", "gi", "theta"};
    case Model::poisson:
    case Model::spike_times: return {};
  }
  return {};
}

std::int64_t Network::steps() const { return std::llround(duration_ms / dt_ms); }

std::int64_t Network::neurons() const {
  std::int64_t n = 0;
  for (const auto& p : populations) n += p.size;
  return n;
}

int Network::population_index(std::string_view name) const {
  for (std::size_t i = 0; i < populations.size(); ++i) {
    if (populations[i].name == name) return int(i);
  }
  return -1;
}

double SimulationResult::rate_hz(const Network& net, int p) const {
  if (p < 0 || std::size_t(p) >= population_spikes.size() || steps == 0) return 0;
  const double seconds = double(steps) * dt_ms * 1e-3;
  return double(population_spikes[std::size_t(p)]) / (double(net.populations[std::size_t(p)].size) * seconds);
}

std::string Network::check() const {
  const auto finite = [](double v) { return std::isfinite(v); };
  // Values the device holds as float32 must fit it: a double beyond FLT_MAX would become Inf there.
  const auto fits_float = [](double v) { return std::isfinite(v) && std::fabs(v) <= double(FLT_MAX); };
  if (!(finite(dt_ms) && dt_ms > 0)) return fmt::format("dt_ms: must be a positive number, got {}", dt_ms);
  if (!(finite(duration_ms) && duration_ms >= 0)) {
    return fmt::format("duration_ms: must be a number >= 0, got {}", duration_ms);
  }
  // At most 2^30 steps: the refractory test computes step - last spike in int32, and a neuron that never spiked has
  // last spike -2^30 (snn/compiled.hpp), so step + 2^30 must stay below 2^31.
  if (duration_ms / dt_ms > double(1 << 30)) {
    return fmt::format("duration_ms: {} ms is more than 2^30 steps of {} ms (at most {} ms)", duration_ms, dt_ms,
                       double(1 << 30) * dt_ms);
  }
  if (populations.empty()) return "populations: at least one population is needed";
  if (spike_capacity < 0) return fmt::format("spike_capacity: must be >= 0, got {}", spike_capacity);
  std::set<std::string> names;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < populations.size(); ++i) {
    const Population& p = populations[i];
    const std::string at = fmt::format("populations[{}] (\"{}\")", i, p.name);
    if (p.name.empty()) return fmt::format("populations[{}].name: must not be empty", i);
    if (!names.insert(p.name).second) return fmt::format("{}.name: a second population named \"{}\"", at, p.name);
    if (p.size < 1) return fmt::format("{}.size: must be at least 1, got {}", at, p.size);
    total += p.size;
    if (total >= (std::int64_t(1) << 30)) return fmt::format("{}.size: more than 2^30 neurons in all", at);
    const auto& known = model_params(p.model);
    for (const auto& [k, v] : p.params) {
      const std::string& name = k;   // clang 14 cannot capture a structured binding
      const bool ok = std::any_of(known.begin(), known.end(), [&](const ParamInfo& q) { return q.name == name; });
      if (!ok) {
        std::vector<std::string> n;
        for (const auto& q : known) n.push_back(q.name);
        return fmt::format("{}.params.{}: {} has no parameter {} (it has: {})", at, k, model_name(p.model), k,
                           n.empty() ? "none" : quoted_names(n));
      }
      if (!fits_float(v)) {
        return fmt::format("{}.params.{}: must be a finite number within float32's range, got {}", at, k, v);
      }
    }
    for (const auto& q : known) {
      if (!q.default_value && !p.params.contains(q.name)) {
        return fmt::format("{}.params.{}: missing (required by {}: {})", at, q.name, model_name(p.model), q.doc);
      }
    }
    const auto param = [&](const std::string& k) {
      const auto it = p.params.find(k);
      if (it != p.params.end()) return it->second;
      for (const auto& q : known) {
        if (q.name == k) return q.default_value.value_or(0.0);
      }
      return 0.0;
    };
    for (const char* tau : {"tau_m", "tau_e", "tau_i", "tau_theta"}) {
      const bool has = std::any_of(known.begin(), known.end(), [&](const ParamInfo& q) { return q.name == tau; });
      if (has && !(param(tau) > 0)) return fmt::format("{}.params.{}: must be > 0 ms, got {}", at, tau, param(tau));
    }
    if (p.params.contains("t_ref") && param("t_ref") < 0) {
      return fmt::format("{}.params.t_ref: must be >= 0 ms, got {}", at, param("t_ref"));
    }
    if (p.model == Model::poisson) {
      const double r = param("rate_hz");
      if (r < 0) return fmt::format("{}.params.rate_hz: must be >= 0, got {}", at, r);
      if (r * dt_ms * 1e-3 > 1) {
        return fmt::format("{}.params.rate_hz: {} Hz is more than one spike per step of {} ms", at, r, dt_ms);
      }
    }
    const auto vars = model_variables(p.model);
    for (const auto& [k, v] : p.init) {
      if (std::find(vars.begin(), vars.end(), k) == vars.end()) {
        return fmt::format("{}.init.{}: {} has no state variable {} (it has: {})", at, k, model_name(p.model), k,
                           vars.empty() ? "none" : quoted_names(vars));
      }
      if (!fits_float(v.lo) || !fits_float(v.hi) || v.hi < v.lo) {
        return fmt::format("{}.init.{}: needs finite bounds with lo <= hi, got [{}, {}]", at, k, v.lo, v.hi);
      }
    }
    if (p.model == Model::spike_times) {
      if (std::int64_t(p.times_ms.size()) != p.size) {
        return fmt::format("{}.times_ms: needs one list per neuron ({}), got {}", at, p.size, p.times_ms.size());
      }
      for (std::size_t n = 0; n < p.times_ms.size(); ++n) {
        std::vector<std::int64_t> steps;
        for (double t : p.times_ms[n]) {
          if (!(finite(t) && t >= 0)) return fmt::format("{}.times_ms[{}]: time {} is not a number >= 0", at, n, t);
          steps.push_back(std::llround(t / dt_ms));
        }
        std::sort(steps.begin(), steps.end());
        for (std::size_t k = 1; k < steps.size(); ++k) {
          if (steps[k] == steps[k - 1]) {
            return fmt::format("{}.times_ms[{}]: two spikes in step {} (t = {} ms; dt = {} ms)", at, n, steps[k],
                               double(steps[k]) * dt_ms, dt_ms);
          }
        }
      }
    } else if (!p.times_ms.empty()) {
      return fmt::format("{}.times_ms: only spike_times populations take spike times", at);
    }
  }
  for (std::size_t i = 0; i < projections.size(); ++i) {
    const Projection& q = projections[i];
    const std::string at = fmt::format("projections[{}]{}", i, q.name.empty() ? "" : " (\"" + q.name + "\")");
    const int pre = population_index(q.pre);
    const int post = population_index(q.post);
    if (pre < 0) return fmt::format("{}.pre: no population named \"{}\"", at, q.pre);
    if (post < 0) return fmt::format("{}.post: no population named \"{}\"", at, q.post);
    const Population& pp = populations[std::size_t(post)];
    if (is_source(pp.model)) {
      return fmt::format("{}.post: \"{}\" is a {} source, which takes no synaptic input", at, q.post,
                         model_name(pp.model));
    }
    if (q.target != "exc" && q.target != "inh") {
      return fmt::format("{}.target: must be \"exc\" or \"inh\", got \"{}\"", at, q.target);
    }
    if (!(finite(q.delay_ms) && q.delay_ms >= 0)) {
      return fmt::format("{}.delay_ms: must be >= 0, got {}", at, q.delay_ms);
    }
    if (q.delay_ms > kMaxDelayMs) return fmt::format("{}.delay_ms: {} ms is above the {} ms supported", at, q.delay_ms, kMaxDelayMs);
    if (q.weight && !finite(*q.weight)) return fmt::format("{}.weight: must be a finite number", at);
    const std::int64_t npre = populations[std::size_t(pre)].size;
    const std::int64_t npost = pp.size;
    switch (q.connect) {
      case Connect::fixed_probability:
        if (!(q.p >= 0 && q.p <= 1)) return fmt::format("{}.p: must be in [0, 1], got {}", at, q.p);
        [[fallthrough]];
      case Connect::all_to_all:
        if (!q.weight) return fmt::format("{}.weight: missing", at);
        if (q.connect == Connect::all_to_all && double(npre) * double(npost) > 2e9) {
          return fmt::format("{}.connect: all_to_all makes {} x {} synapses, more than 2^31", at, npre, npost);
        }
        break;
      case Connect::one_to_one:
        if (!q.weight) return fmt::format("{}.weight: missing", at);
        if (npre != npost) {
          return fmt::format("{}.connect: one_to_one needs equal sizes, got {} (\"{}\") and {} (\"{}\")", at, npre,
                             q.pre, npost, q.post);
        }
        break;
      case Connect::matrix: {
        if (std::string why = q.matrix.check(); !why.empty()) return fmt::format("{}.matrix: {}", at, why);
        if (q.matrix.rows != npre || q.matrix.cols != npost) {
          return fmt::format("{}.matrix: is {} x {}, the projection needs pre x post = {} x {}", at, q.matrix.rows,
                             q.matrix.cols, npre, npost);
        }
        for (float w : q.matrix.values) {
          if (!std::isfinite(w)) return fmt::format("{}.matrix: a weight is not finite", at);
        }
        break;
      }
    }
  }
  for (std::size_t i = 0; i < currents.size(); ++i) {
    const StepCurrent& c = currents[i];
    const std::string at = fmt::format("currents[{}]", i);
    const int p = population_index(c.population);
    if (p < 0) return fmt::format("{}.population: no population named \"{}\"", at, c.population);
    const Population& pop = populations[std::size_t(p)];
    if (is_source(pop.model)) return fmt::format("{}.population: \"{}\" is a source, which takes no current", at, c.population);
    if (!fits_float(c.amplitude)) return fmt::format("{}.amplitude: must be a finite number", at);
    if (!(finite(c.start_ms) && c.start_ms >= 0) || std::isnan(c.stop_ms) || c.stop_ms < c.start_ms) {
      return fmt::format("{}: needs 0 <= start_ms <= stop_ms, got [{}, {})", at, c.start_ms, c.stop_ms);
    }
    const std::int64_t count = c.count < 0 ? pop.size - c.first : c.count;
    if (c.first < 0 || c.first >= pop.size || count < 0 || c.first + count > pop.size || c.count < -1) {
      return fmt::format("{}: neurons [{}, {}) are outside \"{}\" (size {})", at, c.first, c.first + count,
                         c.population, pop.size);
    }
  }
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const Probe& q = probes[i];
    const std::string at = fmt::format("probes[{}]", i);
    const int p = population_index(q.population);
    if (p < 0) return fmt::format("{}.population: no population named \"{}\"", at, q.population);
    const Population& pop = populations[std::size_t(p)];
    const auto vars = model_variables(pop.model);
    if (std::find(vars.begin(), vars.end(), q.variable) == vars.end()) {
      return fmt::format("{}.variable: {} has no state variable {} (it has: {})", at, model_name(pop.model),
                         q.variable, vars.empty() ? "none" : quoted_names(vars));
    }
    if (q.neurons.empty()) return fmt::format("{}.neurons: at least one neuron is needed", at);
    for (std::int64_t n : q.neurons) {
      if (n < 0 || n >= pop.size) return fmt::format("{}.neurons: {} is outside [0, {})", at, n, pop.size);
    }
    if (q.every < 1) return fmt::format("{}.every: must be at least 1 step, got {}", at, q.every);
  }
  return {};
}

void Network::validate() const {
  if (std::string why = check(); !why.empty()) throw InvalidArgument("network: " + why);
}

// ---- JSON --------------------------------------------------------------------------------------------------------

namespace {

using nlohmann::json;

// A JSON value with its path ("projections[2].weight") for errors.
struct Node {
  const json& j;
  std::string path;
  std::string_view file;

  [[noreturn]] void fail(const std::string& what) const {
    throw FileError(std::string(file), fmt::format("{}: {}", path.empty() ? "(top level)" : path, what));
  }
  Node at(const std::string& key) const {
    return {j.at(key), path.empty() ? key : path + "." + key, file};
  }
  Node at(std::size_t i) const { return {j.at(i), fmt::format("{}[{}]", path, i), file}; }
  bool has(const std::string& key) const { return j.contains(key); }
  const char* kind() const { return j.type_name(); }

  void object(std::initializer_list<std::string_view> allowed) const {
    if (!j.is_object()) fail(fmt::format("must be an object, got {}", kind()));
    for (const auto& [k, v] : j.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::string names;
        for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        fail(fmt::format("unknown key \"{}\" (known: {})", k, names));
      }
    }
  }
  void require(const std::string& key) const {
    if (!has(key)) fail(fmt::format("missing \"{}\"", key));
  }
  double number() const {
    if (!j.is_number()) fail(fmt::format("must be a number, got {}", kind()));
    return j.get<double>();
  }
  std::int64_t integer() const {
    if (!j.is_number_integer()) {
      if (j.is_number_float()) {
        const double d = j.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return std::int64_t(d);
      }
      fail(fmt::format("must be an integer, got {}", j.is_number() ? j.dump() : kind()));
    }
    return j.get<std::int64_t>();
  }
  std::string string() const {
    if (!j.is_string()) fail(fmt::format("must be a string, got {}", kind()));
    return j.get<std::string>();
  }
  bool boolean() const {
    if (!j.is_boolean()) fail(fmt::format("must be true or false, got {}", kind()));
    return j.get<bool>();
  }
  std::size_t array() const {
    if (!j.is_array()) fail(fmt::format("must be an array, got {}", kind()));
    return j.size();
  }
};

InitValue parse_init(const Node& n) {
  if (n.j.is_number()) return InitValue::constant(n.number());
  n.object({"uniform"});
  const Node u = n.at("uniform");
  if (u.array() != 2) u.fail("must be [lo, hi]");
  return InitValue::uniform(u.at(0).number(), u.at(1).number());
}

Population parse_population(const Node& n) {
  n.object({"name", "model", "size", "params", "init", "times_ms", "record"});
  Population p;
  n.require("name");
  p.name = n.at("name").string();
  n.require("model");
  const Node m = n.at("model");
  const std::string model = m.string();
  const auto model_id = model_from_name(model);
  if (!model_id) {
    m.fail(fmt::format("unknown model \"{}\" (known: lif_exp, lif_coba, izhikevich, lif_adaptive, poisson, "
                       "spike_times)", model));
  }
  p.model = *model_id;
  if (n.has("times_ms")) {
    const Node t = n.at("times_ms");
    const std::size_t count = t.array();
    for (std::size_t i = 0; i < count; ++i) {
      const Node row = t.at(i);
      std::vector<double> times;
      for (std::size_t k = 0, e = row.array(); k < e; ++k) times.push_back(row.at(k).number());
      p.times_ms.push_back(std::move(times));
    }
  }
  if (n.has("size")) {
    p.size = n.at("size").integer();
  } else if (p.model == Model::spike_times) {
    p.size = std::int64_t(p.times_ms.size());
  } else {
    n.fail("missing \"size\"");
  }
  if (n.has("params")) {
    const Node ps = n.at("params");
    if (!ps.j.is_object()) ps.fail(fmt::format("must be an object, got {}", ps.kind()));
    for (const auto& [k, v] : ps.j.items()) p.params[k] = ps.at(k).number();
  }
  if (n.has("init")) {
    const Node in = n.at("init");
    if (!in.j.is_object()) in.fail(fmt::format("must be an object, got {}", in.kind()));
    for (const auto& [k, v] : in.j.items()) p.init[k] = parse_init(in.at(k));
  }
  if (n.has("record")) p.record = n.at("record").boolean();
  return p;
}

Projection parse_projection(const Node& n, const std::string& base_dir, const MatrixFileReader& read_matrix) {
  n.object({"name", "pre", "post", "target", "connect", "p", "allow_self", "file", "weight", "delay_ms"});
  Projection q;
  for (const char* k : {"pre", "post", "connect"}) n.require(k);
  q.pre = n.at("pre").string();
  q.post = n.at("post").string();
  q.name = n.has("name") ? n.at("name").string() : q.pre + "->" + q.post;
  if (n.has("target")) q.target = n.at("target").string();
  const Node c = n.at("connect");
  const std::string connect = c.string();
  if (connect == "fixed_probability") {
    q.connect = Connect::fixed_probability;
    n.require("p");
    q.p = n.at("p").number();
  } else if (connect == "one_to_one") {
    q.connect = Connect::one_to_one;
  } else if (connect == "all_to_all") {
    q.connect = Connect::all_to_all;
  } else if (connect == "matrix") {
    q.connect = Connect::matrix;
    n.require("file");
  } else {
    c.fail(fmt::format("unknown connect \"{}\" (known: fixed_probability, one_to_one, all_to_all, matrix)", connect));
  }
  if (n.has("p") && q.connect != Connect::fixed_probability) n.at("p").fail("only fixed_probability takes p");
  if (n.has("file") && q.connect != Connect::matrix) n.at("file").fail("only matrix takes a file");
  if (n.has("allow_self")) q.allow_self = n.at("allow_self").boolean();
  if (n.has("weight")) q.weight = n.at("weight").number();
  if (n.has("delay_ms")) q.delay_ms = n.at("delay_ms").number();
  if (q.connect == Connect::matrix) {
    const Node f = n.at("file");
    q.file = f.string();
    std::filesystem::path path(q.file);
    if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
    try {
      q.matrix = read_matrix ? read_matrix(path.string()) : read_matrix_market(path.string());
    } catch (const Error& e) {
      f.fail(e.what());
    }
  }
  return q;
}

}  // namespace

Network parse_network_json(std::string_view text, std::string_view name, const std::string& base_dir,
                           const MatrixFileReader& read_matrix) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {   // parse_error, and out_of_range for a number beyond double (1e400)
    throw FileError(std::string(name), fmt::format("not valid JSON: {}", e.what()));
  }
  const Node root{doc, "", name};
  root.object({"dt_ms", "duration_ms", "seed", "populations", "projections", "currents", "probes", "spike_capacity",
               "description"});
  Network net;
  if (root.has("dt_ms")) net.dt_ms = root.at("dt_ms").number();
  root.require("duration_ms");
  net.duration_ms = root.at("duration_ms").number();
  if (root.has("seed")) {
    const std::int64_t s = root.at("seed").integer();
    if (s < 0) root.at("seed").fail("must be >= 0");
    net.seed = std::uint64_t(s);
  }
  if (root.has("spike_capacity")) net.spike_capacity = root.at("spike_capacity").integer();
  if (root.has("description")) (void)root.at("description").string();
  root.require("populations");
  {
    const Node ps = root.at("populations");
    for (std::size_t i = 0, e = ps.array(); i < e; ++i) net.populations.push_back(parse_population(ps.at(i)));
  }
  if (root.has("projections")) {
    const Node ps = root.at("projections");
    for (std::size_t i = 0, e = ps.array(); i < e; ++i) {
      net.projections.push_back(parse_projection(ps.at(i), base_dir, read_matrix));
    }
  }
  if (root.has("currents")) {
    const Node cs = root.at("currents");
    for (std::size_t i = 0, e = cs.array(); i < e; ++i) {
      const Node n = cs.at(i);
      n.object({"population", "amplitude", "start_ms", "stop_ms", "first", "count"});
      StepCurrent c;
      n.require("population");
      n.require("amplitude");
      c.population = n.at("population").string();
      c.amplitude = n.at("amplitude").number();
      if (n.has("start_ms")) c.start_ms = n.at("start_ms").number();
      if (n.has("stop_ms")) c.stop_ms = n.at("stop_ms").number();
      if (n.has("first")) c.first = n.at("first").integer();
      if (n.has("count")) c.count = n.at("count").integer();
      net.currents.push_back(c);
    }
  }
  if (root.has("probes")) {
    const Node ps = root.at("probes");
    for (std::size_t i = 0, e = ps.array(); i < e; ++i) {
      const Node n = ps.at(i);
      n.object({"population", "variable", "neurons", "every"});
      Probe q;
      n.require("population");
      n.require("neurons");
      q.population = n.at("population").string();
      if (n.has("variable")) q.variable = n.at("variable").string();
      const Node ns = n.at("neurons");
      for (std::size_t k = 0, e2 = ns.array(); k < e2; ++k) q.neurons.push_back(ns.at(k).integer());
      if (n.has("every")) {
        const std::int64_t every = n.at("every").integer();
        if (every < 1 || every > (std::int64_t(1) << 30)) n.at("every").fail("must be in [1, 2^30] steps");
        q.every = int(every);
      }
      net.probes.push_back(std::move(q));
    }
  }
  if (std::string why = net.check(); !why.empty()) throw FileError(std::string(name), why);
  return net;
}

Network load_network(const std::string& path) {
  auto file = io::open_for_reading(path);
  std::string text(std::size_t(file.size), '\0');
  if (!file.stream.read(text.data(), std::streamsize(text.size()))) {
    throw FileError(path, fmt::format("read error after {} of {} bytes", file.stream.gcount(), file.size));
  }
  return parse_network_json(text, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace ellesmere::snn
