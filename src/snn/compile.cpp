// Flattening a Network into the arrays of compiled.hpp: connectivity builders (fixed probability from a Philox
// stream, one-to-one, all-to-all, explicit matrices), fixed-point weights, initial state and schedules.
#include <algorithm>
#include <climits>
#include <cmath>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/formats/snn.h"
#include "snn/compiled.hpp"

namespace ellesmere::snn::detail {

namespace {

double param_of(const Population& p, const std::string& name) {
  if (const auto it = p.params.find(name); it != p.params.end()) return it->second;
  for (const auto& q : model_params(p.model)) {
    if (q.name == name) return q.default_value.value_or(0.0);
  }
  return 0.0;
}

// Post-neuron lists of one projection, row by row (pre neuron local index), and the weight of each synapse.
struct Rows {
  std::vector<std::int64_t> ptr;   // npre + 1
  std::vector<std::int32_t> post;
  std::vector<double> weight;
};

// Fixed probability p without testing every pair: the gaps between successive connected columns of a row are
// geometric, drawn by inversion from Philox uniforms counted by (row, draw, stream, projection).
Rows fixed_probability(const Projection& q, std::int64_t npre, std::int64_t npost, bool same, int proj,
                       std::uint32_t k0, std::uint32_t k1) {
  Rows r;
  r.ptr.assign(std::size_t(npre) + 1, 0);
  const double w = *q.weight;
  for (std::int64_t i = 0; i < npre; ++i) {
    if (q.p >= 1) {
      for (std::int64_t j = 0; j < npost; ++j) {
        if (same && !q.allow_self && j == i) continue;
        r.post.push_back(std::int32_t(j));
      }
    } else if (q.p > 0) {
      const double log_q = std::log1p(-q.p);
      std::int64_t j = -1;
      for (std::uint32_t draw = 0;; ++draw) {
        const std::uint32_t bits = ellesmere_snn_philox(std::uint32_t(i), draw, ELLESMERE_SNN_STREAM_CONNECT,
                                                        std::uint32_t(proj), k0, k1);
        const double u = (double(bits) + 1.0) * (1.0 / 4294967296.0);   // (0, 1]
        const double gap = std::floor(std::log(u) / log_q);
        if (gap >= double(npost)) break;
        j += std::int64_t(gap) + 1;
        if (j >= npost) break;
        if (same && !q.allow_self && j == i) continue;
        r.post.push_back(std::int32_t(j));
      }
    }
    r.ptr[std::size_t(i) + 1] = std::int64_t(r.post.size());
  }
  r.weight.assign(r.post.size(), w);
  return r;
}

Rows rows_of(const Projection& q, std::int64_t npre, std::int64_t npost, bool same, int proj, std::uint32_t k0,
             std::uint32_t k1) {
  Rows r;
  switch (q.connect) {
    case Connect::fixed_probability: return fixed_probability(q, npre, npost, same, proj, k0, k1);
    case Connect::one_to_one:
      for (std::int64_t i = 0; i <= npre; ++i) r.ptr.push_back(i);
      for (std::int64_t i = 0; i < npre; ++i) r.post.push_back(std::int32_t(i));
      r.weight.assign(r.post.size(), *q.weight);
      return r;
    case Connect::all_to_all:
      r.ptr.push_back(0);
      for (std::int64_t i = 0; i < npre; ++i) {
        for (std::int64_t j = 0; j < npost; ++j) {
          if (same && !q.allow_self && j == i) continue;
          r.post.push_back(std::int32_t(j));
        }
        r.ptr.push_back(std::int64_t(r.post.size()));
      }
      r.weight.assign(r.post.size(), *q.weight);
      return r;
    case Connect::matrix:
      for (auto p : q.matrix.row_ptr) r.ptr.push_back(p);
      r.post = q.matrix.col_idx;
      for (float v : q.matrix.values) r.weight.push_back(q.weight ? *q.weight : double(v));
      return r;
  }
  return r;
}

}  // namespace

int CompiledNetwork::population_of(std::int64_t neuron) const {
  for (int p = n_pops - 1; p >= 0; --p) {
    if (neuron >= pop_int[std::size_t(p) * ELLESMERE_SNN_POP_INTS + ELLESMERE_SNN_PI_START]) return p;
  }
  return 0;
}

std::int64_t CompiledNetwork::start_of(int population) const {
  return pop_int[std::size_t(population) * ELLESMERE_SNN_POP_INTS + ELLESMERE_SNN_PI_START];
}

int variable_slot(const std::string& variable) {
  if (variable == "v") return 0;
  if (variable == "ge") return 1;
  if (variable == "gi") return 2;
  return 3;   // u, theta
}

bool CompiledNetwork::is_padding(std::int64_t neuron) const {
  const std::int32_t* pi = &pop_int[std::size_t(population_of(neuron)) * ELLESMERE_SNN_POP_INTS];
  return neuron >= std::int64_t(pi[ELLESMERE_SNN_PI_START]) + pi[ELLESMERE_SNN_PI_SIZE];
}

std::string problem_text(const CompiledNetwork& c) { return fmt::format("snn:n{}y{}", c.n_neurons, c.synapses()); }

CompiledNetwork compile(const Network& net) {
  net.validate();
  CompiledNetwork c;
  c.n_pops = int(net.populations.size());
  c.n_neurons = net.neurons();
  c.steps = net.steps();
  c.seed_lo = std::uint32_t(net.seed & 0xffffffffu);
  c.seed_hi = std::uint32_t(net.seed >> 32);
  const double dt = net.dt_ms;
  // Populations start at multiples of ELLESMERE_SNN_ALIGN (snn.h): a kernel's vector of neurons has one model.
  const auto aligned = [](std::int64_t v) { return (v + ELLESMERE_SNN_ALIGN - 1) / ELLESMERE_SNN_ALIGN * ELLESMERE_SNN_ALIGN; };
  std::vector<std::int64_t> start(net.populations.size());
  std::int64_t next = 0;
  for (std::size_t p = 0; p < net.populations.size(); ++p) {
    start[p] = next;
    next = aligned(next + net.populations[p].size);
  }
  c.n_total = next;
  if (c.n_total >= (std::int64_t(1) << 30)) throw InvalidArgument("network: more than 2^30 neurons with padding");
  const std::size_t n = std::size_t(c.n_total);

  // ---- connectivity, merged into one CSR over global pre neurons ----
  int max_delay = 0;
  std::vector<Rows> rows(net.projections.size());
  std::vector<int> delay_steps(net.projections.size());
  // Largest possible one-step input of each (neuron, target): the sum of |w| over its incoming synapses.
  std::vector<double> in_abs(2 * n, 0.0);
  for (std::size_t k = 0; k < net.projections.size(); ++k) {
    const Projection& q = net.projections[k];
    const int pre = net.population_index(q.pre), post = net.population_index(q.post);
    rows[k] = rows_of(q, net.populations[std::size_t(pre)].size, net.populations[std::size_t(post)].size,
                      pre == post, int(k), c.seed_lo, c.seed_hi);
    if (rows[k].post.size() > std::size_t(INT32_MAX)) {
      throw InvalidArgument(fmt::format("network: projections[{}]: {} synapses, more than 2^31", k, rows[k].post.size()));
    }
    delay_steps[k] = int(std::llround(q.delay_ms / dt));
    max_delay = std::max(max_delay, delay_steps[k]);
    const std::size_t base = (q.target == "inh" ? n : 0) + std::size_t(start[std::size_t(post)]);
    for (std::size_t s = 0; s < rows[k].post.size(); ++s) in_abs[base + std::size_t(rows[k].post[s])] += std::fabs(rows[k].weight[s]);
  }
  c.ring = max_delay + 2;

  // Fixed point per (population, target): F = floor(log2(2^30 / max input)), at most 30, so that the integer sum
  // of a step's input stays below 2^30 (with room for the rounding of each weight) whatever spikes.
  c.fixed_bits_e.assign(net.populations.size(), 30);
  c.fixed_bits_i.assign(net.populations.size(), 30);
  for (std::size_t p = 0; p < net.populations.size(); ++p) {
    for (int t = 0; t < 2; ++t) {
      double m = 0;
      for (std::int64_t i = 0; i < net.populations[p].size; ++i) {
        m = std::max(m, in_abs[std::size_t(t) * n + std::size_t(start[p] + i)]);
      }
      int bits = 30;
      if (m > 0) bits = std::min(30, int(std::floor(std::log2(double(1 << 30) / m))));
      if (bits < -30) {
        throw InvalidArgument(fmt::format("network: population \"{}\": its {} input can reach {:g} per step, beyond "
                                          "what the fixed-point accumulator holds", net.populations[p].name,
                                          t == 0 ? "excitatory" : "inhibitory", m));
      }
      (t == 0 ? c.fixed_bits_e : c.fixed_bits_i)[p] = bits;
    }
  }

  std::vector<std::int64_t> count(n + 1, 0);
  for (std::size_t k = 0; k < net.projections.size(); ++k) {
    const std::int64_t s0 = start[std::size_t(net.population_index(net.projections[k].pre))];
    for (std::size_t i = 0; i + 1 < rows[k].ptr.size(); ++i) count[std::size_t(s0) + i + 1] += rows[k].ptr[i + 1] - rows[k].ptr[i];
  }
  for (std::size_t i = 0; i < n; ++i) count[i + 1] += count[i];
  if (count[n] > INT32_MAX) throw InvalidArgument(fmt::format("network: {} synapses in all, more than 2^31", count[n]));
  c.row_ptr.assign(count.begin(), count.end());
  c.dest.resize(std::size_t(count[n]));
  c.weight_q.resize(std::size_t(count[n]));
  c.delay.resize(std::size_t(count[n]));
  std::vector<std::int64_t> fill(count.begin(), count.end() - 1);
  for (std::size_t k = 0; k < net.projections.size(); ++k) {
    const Projection& q = net.projections[k];
    const std::size_t pre = std::size_t(net.population_index(q.pre)), post = std::size_t(net.population_index(q.post));
    const bool inh = q.target == "inh";
    const int bits = (inh ? c.fixed_bits_i : c.fixed_bits_e)[post];
    const double scale = std::ldexp(1.0, bits);
    for (std::size_t i = 0; i + 1 < rows[k].ptr.size(); ++i) {
      const std::size_t g = std::size_t(start[pre]) + i;
      for (std::int64_t s = rows[k].ptr[i]; s < rows[k].ptr[i + 1]; ++s) {
        const std::size_t at = std::size_t(fill[g]++);
        c.dest[at] = std::int32_t((inh ? n : 0) + std::size_t(start[post]) + std::size_t(rows[k].post[std::size_t(s)]));
        c.weight_q[at] = std::int32_t(std::llround(rows[k].weight[std::size_t(s)] * scale));
        c.delay[at] = delay_steps[k];
      }
    }
  }

  // ---- populations: constants and initial state ----
  c.pop_int.assign(std::size_t(c.n_pops) * ELLESMERE_SNN_POP_INTS, 0);
  c.pop_f.assign(std::size_t(c.n_pops) * ELLESMERE_SNN_POP_FLOATS, 0.0f);
  c.v.assign(n, 0.0f);
  c.ge.assign(n, 0.0f);
  c.gi.assign(n, 0.0f);
  c.x.assign(n, 0.0f);
  c.last_spike.assign(n, kNeverSpiked);
  c.cursor.assign(n, 0);
  c.sched_ptr.assign(n + 1, 0);
  for (std::size_t p = 0; p < net.populations.size(); ++p) {
    const Population& pop = net.populations[p];
    std::int32_t* pi = &c.pop_int[p * ELLESMERE_SNN_POP_INTS];
    float* pf = &c.pop_f[p * ELLESMERE_SNN_POP_FLOATS];
    pi[ELLESMERE_SNN_PI_START] = std::int32_t(start[p]);
    pi[ELLESMERE_SNN_PI_SIZE] = std::int32_t(pop.size);
    pi[ELLESMERE_SNN_PI_RECORD] = pop.record ? 1 : 0;
    if (pop.record) c.recorded_neurons += pop.size;
    const auto P = [&](const char* name) { return param_of(pop, name); };
    const auto decay = [&](double tau) { return float(std::exp(-dt / tau)); };
    // Capped at 2^30 steps: a never-spiked neuron (last spike kNeverSpiked = -2^30) must be out of its refractory
    // period at step 0, and a longer t_ref (to "never again") would not fit int32 (it wrapped to a wrong period).
    pi[ELLESMERE_SNN_PI_REF_STEPS] =
        is_source(pop.model) ? 0 : std::int32_t(std::llround(std::min(P("t_ref") / dt, double(1 << 30))));
    pf[ELLESMERE_SNN_PF_DT] = float(dt);
    pf[ELLESMERE_SNN_PF_SCALE_E] = float(std::ldexp(1.0, -c.fixed_bits_e[p]));
    pf[ELLESMERE_SNN_PF_SCALE_I] = float(std::ldexp(1.0, -c.fixed_bits_i[p]));
    double v0 = 0, x0 = 0;
    switch (pop.model) {
      case Model::lif_exp:
      case Model::lif_coba:
      case Model::lif_adaptive:
        pi[ELLESMERE_SNN_PI_MODEL] = pop.model == Model::lif_exp    ? ELLESMERE_SNN_LIF_EXP
                                     : pop.model == Model::lif_coba ? ELLESMERE_SNN_LIF_COBA
                                                                    : ELLESMERE_SNN_LIF_ADAPTIVE;
        pf[ELLESMERE_SNN_PF_V_THRESH] = float(P("v_thresh"));
        pf[ELLESMERE_SNN_PF_V_RESET] = float(P("v_reset"));
        pf[ELLESMERE_SNN_PF_E_LEAK] = float(P("e_leak"));
        pf[ELLESMERE_SNN_PF_I_EXT] = float(P("i_ext"));
        pf[ELLESMERE_SNN_PF_DECAY_M] = decay(P("tau_m"));
        pf[ELLESMERE_SNN_PF_DT_TAU_M] = float(dt / P("tau_m"));
        pf[ELLESMERE_SNN_PF_DECAY_E] = decay(P("tau_e"));
        pf[ELLESMERE_SNN_PF_DECAY_I] = decay(P("tau_i"));
        if (pop.model == Model::lif_coba) {
          pf[ELLESMERE_SNN_PF_E_EXC] = float(P("e_exc"));
          pf[ELLESMERE_SNN_PF_E_INH] = float(P("e_inh"));
        }
        if (pop.model == Model::lif_adaptive) {
          pf[ELLESMERE_SNN_PF_D] = float(P("theta_jump"));
          pf[ELLESMERE_SNN_PF_DECAY_X] = decay(P("tau_theta"));
        }
        v0 = P("e_leak");
        break;
      case Model::izhikevich:
        pi[ELLESMERE_SNN_PI_MODEL] = ELLESMERE_SNN_IZHIKEVICH;
        pf[ELLESMERE_SNN_PF_V_THRESH] = float(P("v_peak"));
        pf[ELLESMERE_SNN_PF_V_RESET] = float(P("c"));
        pf[ELLESMERE_SNN_PF_I_EXT] = float(P("i_ext"));
        pf[ELLESMERE_SNN_PF_A] = float(P("a"));
        pf[ELLESMERE_SNN_PF_B] = float(P("b"));
        pf[ELLESMERE_SNN_PF_D] = float(P("d"));
        pf[ELLESMERE_SNN_PF_DECAY_E] = decay(P("tau_e"));
        pf[ELLESMERE_SNN_PF_DECAY_I] = decay(P("tau_i"));
        v0 = P("c");
        x0 = P("b") * v0;
        break;
      case Model::poisson:
        pi[ELLESMERE_SNN_PI_MODEL] = ELLESMERE_SNN_POISSON;
        pf[ELLESMERE_SNN_PF_P_SPIKE] = float(P("rate_hz") * dt * 1e-3);
        break;
      case Model::spike_times:
        pi[ELLESMERE_SNN_PI_MODEL] = ELLESMERE_SNN_SPIKE_TIMES;
        break;
    }
    // Initial values: defaults, then "init" (x's default follows an initialised v for Izhikevich: u = b v).
    const auto draw = [&](const InitValue& iv, std::int64_t i, std::uint32_t var) {
      if (iv.hi == iv.lo) return float(iv.lo);
      const float u = ellesmere_snn_uniform(c.seed_lo, c.seed_hi, std::uint32_t(start[p] + i), var,
                                            ELLESMERE_SNN_STREAM_INIT);
      return float(iv.lo + (iv.hi - iv.lo) * double(u));
    };
    const std::vector<std::pair<const char*, std::vector<float>*>> vars{
        {"v", &c.v}, {"ge", &c.ge}, {"gi", &c.gi}, {pop.model == Model::izhikevich ? "u" : "theta", &c.x}};
    for (std::int64_t i = 0; i < pop.size; ++i) {
      const std::size_t g = std::size_t(start[p] + i);
      c.v[g] = float(v0);
      c.x[g] = float(x0);
      for (std::uint32_t k = 0; k < vars.size(); ++k) {
        if (const auto it = pop.init.find(vars[k].first); it != pop.init.end()) (*vars[k].second)[g] = draw(it->second, i, k);
      }
      if (pop.model == Model::izhikevich && !pop.init.contains("u")) c.x[g] = float(P("b") * double(c.v[g]));
    }
  }
  // Spike-time schedules.
  for (std::size_t p = 0; p < net.populations.size(); ++p) {
    const Population& pop = net.populations[p];
    for (std::int64_t i = 0; i < pop.size; ++i) {
      const std::size_t g = std::size_t(start[p] + i);
      std::vector<std::int32_t> steps;
      if (pop.model == Model::spike_times) {
        for (double t : pop.times_ms[std::size_t(i)]) {
          const std::int64_t s = std::llround(t / dt);
          if (s < c.steps) steps.push_back(std::int32_t(s));
        }
        std::sort(steps.begin(), steps.end());
      }
      c.sched_step.insert(c.sched_step.end(), steps.begin(), steps.end());
      c.sched_ptr[g + 1] = std::int32_t(c.sched_step.size());
      c.cursor[g] = c.sched_ptr[g];
    }
  }
  // Step currents.
  for (const StepCurrent& cur : net.currents) {
    const std::size_t p = std::size_t(net.population_index(cur.population));
    const std::int64_t cnt = cur.count < 0 ? net.populations[p].size - cur.first : cur.count;
    const double stop = std::min(cur.stop_ms / dt, 2e9);
    c.cur_int.push_back(std::int32_t(std::llround(cur.start_ms / dt)));
    c.cur_int.push_back(std::int32_t(std::llround(stop)));
    c.cur_int.push_back(std::int32_t(start[p] + cur.first));
    c.cur_int.push_back(std::int32_t(start[p] + cur.first + cnt));
    c.cur_amp.push_back(float(cur.amplitude));
    ++c.n_currents;
  }
  return c;
}

}  // namespace ellesmere::snn::detail
