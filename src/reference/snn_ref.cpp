// snn_ref: the spiking-network reference, a plain host loop over the compiled network (src/snn/compiled.hpp) with
// the update formulas of include/ellesmere/snn.hpp, written independently of the kernels (same operations, same
// order; compiled without contraction like the rest of the reference).
#include <algorithm>
#include <chrono>

#include "ellesmere/formats/snn.h"
#include "reference/reference.hpp"
#include "snn/compiled.hpp"

namespace ellesmere::reference {

snn::SimulationResult snn_ref(const snn::Network& net) {
  snn::detail::CompiledNetwork c = snn::detail::compile(net);
  const std::size_t n = std::size_t(c.n_total);
  const int ring = c.ring;
  std::vector<std::int32_t> acc(std::size_t(ring) * 2 * n, 0);
  std::vector<std::int32_t> totals(n, 0);
  snn::SimulationResult r;
  r.dt_ms = net.dt_ms;
  r.steps = c.steps;
  r.steps_per_sync = 1;
  for (const auto& q : net.probes) r.probes.push_back({q, {}, {}});
  std::vector<std::size_t> pop_of(n);
  std::vector<char> padding(n);
  for (std::size_t g = 0; g < n; ++g) {
    pop_of[g] = std::size_t(c.population_of(std::int64_t(g)));
    padding[g] = c.is_padding(std::int64_t(g));
  }
  std::vector<std::int32_t> spiked;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t s = 0; s < c.steps; ++s) {
    const int step = int(s);
    const std::size_t in_slot = std::size_t((step + ring - 1) % ring) * 2 * n;
    // Probes: state at the start of the step, ge / gi with the input delivered at the end of the previous one.
    for (std::size_t k = 0; k < net.probes.size(); ++k) {
      const snn::Probe& q = net.probes[k];
      if (s % q.every != 0) continue;
      const int p = net.population_index(q.population);
      const float* pf = &c.pop_f[std::size_t(p) * ELLESMERE_SNN_POP_FLOATS];
      const int slot = snn::detail::variable_slot(q.variable);
      for (auto i : q.neurons) {
        const std::size_t g = std::size_t(c.start_of(p) + i);
        float value = slot == 0 ? c.v[g] : slot == 1 ? c.ge[g] : slot == 2 ? c.gi[g] : c.x[g];
        if (slot == 1) value = value + float(acc[in_slot + g]) * pf[ELLESMERE_SNN_PF_SCALE_E];
        if (slot == 2) value = value + float(acc[in_slot + n + g]) * pf[ELLESMERE_SNN_PF_SCALE_I];
        r.probes[k].values.push_back(value);
      }
      r.probes[k].steps.push_back(s);
    }
    spiked.clear();
    for (std::size_t g = 0; g < n; ++g) {
      if (padding[g]) continue;
      const std::int32_t* pi = &c.pop_int[pop_of[g] * ELLESMERE_SNN_POP_INTS];
      const float* pf = &c.pop_f[pop_of[g] * ELLESMERE_SNN_POP_FLOATS];
      const int model = pi[ELLESMERE_SNN_PI_MODEL];
      bool spike = false;
      if (model == ELLESMERE_SNN_POISSON) {
        spike = ellesmere_snn_uniform(c.seed_lo, c.seed_hi, std::uint32_t(g), std::uint32_t(step),
                                      ELLESMERE_SNN_STREAM_POISSON) < pf[ELLESMERE_SNN_PF_P_SPIKE];
      } else if (model == ELLESMERE_SNN_SPIKE_TIMES) {
        if (c.cursor[g] < c.sched_ptr[g + 1] && c.sched_step[std::size_t(c.cursor[g])] == step) {
          spike = true;
          ++c.cursor[g];
        }
      } else {
        const float e0 = c.ge[g] + float(acc[in_slot + g]) * pf[ELLESMERE_SNN_PF_SCALE_E];
        const float i0 = c.gi[g] + float(acc[in_slot + n + g]) * pf[ELLESMERE_SNN_PF_SCALE_I];
        acc[in_slot + g] = 0;
        acc[in_slot + n + g] = 0;
        float current = 0.0f;
        for (int k = 0; k < c.n_currents; ++k) {
          const std::int32_t* ci = &c.cur_int[std::size_t(k) * ELLESMERE_SNN_CUR_INTS];
          if (step >= ci[ELLESMERE_SNN_CI_START] && step < ci[ELLESMERE_SNN_CI_STOP] &&
              std::int64_t(g) >= ci[ELLESMERE_SNN_CI_LO] && std::int64_t(g) < ci[ELLESMERE_SNN_CI_HI]) {
            current += c.cur_amp[std::size_t(k)];
          }
        }
        const float input = pf[ELLESMERE_SNN_PF_I_EXT] + current;
        const bool refractory = step - c.last_spike[g] < pi[ELLESMERE_SNN_PI_REF_STEPS];
        float v = c.v[g], x = c.x[g];
        float thresh = pf[ELLESMERE_SNN_PF_V_THRESH];
        switch (model) {
          case ELLESMERE_SNN_IZHIKEVICH: {
            const float dt = pf[ELLESMERE_SNN_PF_DT];
            const float dv = 0.04f * v * v + 5.0f * v + 140.0f - x + (input + e0 + i0);
            const float du = pf[ELLESMERE_SNN_PF_A] * (pf[ELLESMERE_SNN_PF_B] * v - x);
            if (!refractory) v = v + dt * dv;
            x = x + dt * du;
            break;
          }
          case ELLESMERE_SNN_LIF_COBA: {
            const float gt = 1.0f + e0 + i0;
            const float vinf =
                (e0 * pf[ELLESMERE_SNN_PF_E_EXC] + i0 * pf[ELLESMERE_SNN_PF_E_INH] + pf[ELLESMERE_SNN_PF_E_LEAK] + input) /
                gt;
            if (!refractory) v = vinf + (v - vinf) * ellesmere_snn_exp(-gt * pf[ELLESMERE_SNN_PF_DT_TAU_M]);
            break;
          }
          default: {   // lif_exp, lif_adaptive
            const float vinf = pf[ELLESMERE_SNN_PF_E_LEAK] + input + e0 + i0;
            if (!refractory) v = vinf + (v - vinf) * pf[ELLESMERE_SNN_PF_DECAY_M];
            if (model == ELLESMERE_SNN_LIF_ADAPTIVE) {
              x = x * pf[ELLESMERE_SNN_PF_DECAY_X];
              thresh = thresh + x;
            }
          }
        }
        c.ge[g] = e0 * pf[ELLESMERE_SNN_PF_DECAY_E];
        c.gi[g] = i0 * pf[ELLESMERE_SNN_PF_DECAY_I];
        if (!refractory && v > thresh) {
          spike = true;
          v = pf[ELLESMERE_SNN_PF_V_RESET];
          c.last_spike[g] = step;
          if (model == ELLESMERE_SNN_IZHIKEVICH || model == ELLESMERE_SNN_LIF_ADAPTIVE) x = x + pf[ELLESMERE_SNN_PF_D];
        }
        c.v[g] = v;
        c.x[g] = x;
      }
      if (spike) {
        spiked.push_back(std::int32_t(g));
        ++totals[g];
        if (c.pop_int[pop_of[g] * ELLESMERE_SNN_POP_INTS + ELLESMERE_SNN_PI_RECORD]) {
          const int p = int(pop_of[g]);
          r.spikes.push_back({s, p, std::int64_t(g) - c.start_of(p)});
        }
      }
    }
    for (std::int32_t pre : spiked) {
      for (std::int32_t q = c.row_ptr[std::size_t(pre)]; q < c.row_ptr[std::size_t(pre) + 1]; ++q) {
        const std::size_t slot = std::size_t((step + c.delay[std::size_t(q)]) % ring);
        acc[slot * 2 * n + std::size_t(c.dest[std::size_t(q)])] += c.weight_q[std::size_t(q)];
      }
    }
  }
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(r.spikes.begin(), r.spikes.end(), [](const snn::Spike& a, const snn::Spike& b) {
    return std::tie(a.step, a.population, a.index) < std::tie(b.step, b.population, b.index);
  });
  r.population_spikes.assign(std::size_t(c.n_pops), 0);
  for (std::size_t g = 0; g < n; ++g) {
    r.population_spikes[pop_of[g]] += totals[g];
    r.synaptic_events += std::int64_t(totals[g]) * (c.row_ptr[g + 1] - c.row_ptr[g]);
  }
  return r;
}

std::size_t snn_spike_mismatches(const std::vector<snn::Spike>& a, const std::vector<snn::Spike>& b) {
  const auto less = [](const snn::Spike& x, const snn::Spike& y) {
    return std::tie(x.step, x.population, x.index) < std::tie(y.step, y.population, y.index);
  };
  std::size_t i = 0, j = 0, bad = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && less(a[i], b[j]))) {
      ++bad, ++i;
    } else if (i == a.size() || less(b[j], a[i])) {
      ++bad, ++j;
    } else {
      ++i, ++j;
    }
  }
  return bad;
}

}  // namespace ellesmere::reference
