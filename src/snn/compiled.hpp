// A validated Network flattened into the arrays the SNN kernels read (layout: include/ellesmere/formats/snn.h):
// global neuron numbering, per-population constants, initial state, the outgoing synapses of every neuron in one
// CSR, spike-time schedules and step currents. Built once on the host; the device simulator (simulator.cpp) uploads
// it and the reference (src/reference/snn_ref.cpp) steps the very same arrays, so both see identical connectivity,
// weights and initial state. Internal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ellesmere/snn.hpp"

namespace ellesmere::snn::detail {

// The step a neuron that never spiked is given as its last spike: far enough back for any refractory period.
inline constexpr std::int32_t kNeverSpiked = -(1 << 30);

struct CompiledNetwork {
  std::int64_t n_total = 0;              // global numbering, padding included (a multiple of ELLESMERE_SNN_ALIGN)
  std::int64_t n_neurons = 0;            // neurons of the network (no padding)
  int n_pops = 0;
  std::int64_t steps = 0;
  int ring = 2;                          // delay slots of the input accumulator: max delay in steps + 2
  std::uint32_t seed_lo = 0, seed_hi = 0;
  std::vector<std::int32_t> pop_int;     // n_pops x ELLESMERE_SNN_POP_INTS
  std::vector<float> pop_f;              // n_pops x ELLESMERE_SNN_POP_FLOATS
  std::vector<int> fixed_bits_e, fixed_bits_i;   // F of each population's fixed-point input (for reports)
  // State, n_total each.
  std::vector<float> v, ge, gi, x;
  std::vector<std::int32_t> last_spike, cursor;
  // Spike-time schedules: neuron i's spike steps are sched_step[sched_ptr[i] .. sched_ptr[i+1]), increasing.
  std::vector<std::int32_t> sched_ptr, sched_step;
  // Outgoing synapses: neuron i's are positions row_ptr[i] .. row_ptr[i+1] of dest (target * n_total + post
  // neuron), weight_q (fixed point of its destination) and delay (steps).
  std::vector<std::int32_t> row_ptr, dest, weight_q, delay;
  // Step currents: n_currents x ELLESMERE_SNN_CUR_INTS, amplitudes.
  std::vector<std::int32_t> cur_int;
  std::vector<float> cur_amp;
  int n_currents = 0;
  std::int64_t recorded_neurons = 0;     // in populations whose spikes are recorded

  std::int64_t synapses() const { return std::int64_t(dest.size()); }
  int population_of(std::int64_t neuron) const;   // the population whose range (padding included) holds it
  bool is_padding(std::int64_t neuron) const;
  std::int64_t start_of(int population) const;
};

// Validates net (InvalidArgument naming the field) and flattens it.
CompiledNetwork compile(const Network& net);

// The state array a probe reads: 0 v, 1 ge, 2 gi, 3 x (u or theta).
int variable_slot(const std::string& variable);

// The text form used in tuning lines and logs: "snn:n<neurons>y<synapses>" (neurons without padding).
std::string problem_text(const CompiledNetwork& c);

}  // namespace ellesmere::snn::detail
