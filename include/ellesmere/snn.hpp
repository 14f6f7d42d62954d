// Spiking neural networks: the network description (C++ structs and a JSON file format), the device simulator and
// the spike/probe records it returns. Semantics follow Brian2 (its equations, its step order and its
// exponential_euler / euler integration), so results can be compared with it; every update formula is written out
// beside its model below.
//
// Units: time in ms, voltages in mV, rates in Hz. Conductances (lif_coba) are in units of the leak conductance;
// currents are given as the voltage they drive (R * I, mV), as in Brian2's COBA/CUBA examples.
//
// One simulation step s (t = s * dt), in Brian2's default schedule order:
//   1. synaptic input delivered at the end of step s - 1 is added to each neuron's ge / gi;
//   2. state update from t to t + dt (refractory neurons keep v, as Brian2's "(unless refractory)"); every
//      variable's update reads the values before the step;
//   3. threshold: neurons that are not refractory and whose new v is above threshold spike at time t;
//   4. propagation: each spike adds its synapses' weights to the targets' input due at the end of step s + delay
//      (a delay of 0 acts before step s + 1, as Brian2's zero-delay on_pre);
//   5. reset: v = v_reset (Izhikevich: v = c, u += d; adaptive: theta += theta_jump), last spike = s.
// Refractory: a neuron that spiked at step s' is refractory while s - s' < round(t_ref / dt) (capped at 2^30 steps).
//
// Numerics: NaN and Inf are rejected where the network is checked (Network::check, so also at load): every
// parameter, initial value, weight and current amplitude must be finite and within float32's range (the device
// holds them as floats), spike times, delays and current start times finite. Inputs too large for the fixed-point
// synaptic accumulator are an error naming the population. The state then evolves in float32 with IEEE semantics,
// operation for operation as in the reference: an unstable parameter set may drive v to Inf (which spikes and
// resets) or NaN (which never passes v > threshold). Subnormal intermediates may be flushed on devices without
// CL_FP_DENORM (within kSnnVoltageTolerance).
//
// Models ("model" in JSON; parameters in brackets have defaults):
//   lif_exp       LIF with exponential current synapses. dv/dt = (e_leak - v + i_ext + ge + gi) / tau_m,
//                 dge/dt = -ge / tau_e, dgi/dt = -gi / tau_i. Excitatory spikes add w to ge, inhibitory ones add w
//                 to gi (give inhibitory weights a negative sign). Update (exponential Euler, exact for the
//                 decays): vinf = e_leak + i_ext + ge + gi; v' = vinf + (v - vinf) * exp(-dt / tau_m);
//                 ge' = ge * exp(-dt / tau_e); gi' = gi * exp(-dt / tau_i).
//                 Params: tau_m, v_thresh, v_reset, e_leak, [tau_e 5, tau_i 10, t_ref 0, i_ext 0].
//   lif_coba      Conductance-based LIF (Vogels & Abbott 2005, Brian2's COBA example):
//                 dv/dt = (ge (e_exc - v) + gi (e_inh - v) + (e_leak - v) + i_ext) / tau_m; ge, gi decay as above.
//                 Update (Brian2's exponential_euler: v's equation is linear in v with the conductances held over
//                 the step): gt = 1 + ge + gi; vinf = (ge e_exc + gi e_inh + e_leak + i_ext) / gt;
//                 v' = vinf + (v - vinf) * exp(-gt dt / tau_m).
//                 Params: tau_m, v_thresh, v_reset, e_leak, [tau_e 5, tau_i 10, e_exc 0, e_inh -80, t_ref 0,
//                 i_ext 0].
//   izhikevich    dv/dt = 0.04 v^2 + 5 v + 140 - u + i_ext + ge + gi, du/dt = a (b v - u) (per ms), current
//                 synapses decaying as in lif_exp. Update: forward Euler (Brian2's "euler"), spike when v > v_peak,
//                 then v = c, u += d. Params: [a 0.02, b 0.2, c -65, d 8, v_peak 30, tau_e 5, tau_i 10, t_ref 0,
//                 i_ext 0]. Initial v defaults to c and u to b * v.
//   lif_adaptive  lif_exp with a homeostatic threshold: spike when v > v_thresh + theta; each spike adds
//                 theta_jump to theta, which relaxes to 0: theta' = theta * exp(-dt / tau_theta).
//                 Params: lif_exp's plus tau_theta, theta_jump.
//   poisson       Source: neuron i spikes at step s when uniform(seed, i, s) < rate_hz * dt (Brian2's
//                 PoissonGroup), uniform from Philox4x32-10 keyed by the seed and counted by (neuron, step): the
//                 same spikes for any launch geometry. Params: rate_hz.
//   spike_times   Source: neuron i spikes at the given times (ms), each at step round(t / dt); two spikes of one
//                 neuron in one step are an error (as in Brian2's SpikeGeneratorGroup).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ellesmere/device.hpp"
#include "ellesmere/sparse.hpp"

namespace ellesmere::snn {

enum class Model { lif_exp, lif_coba, izhikevich, lif_adaptive, poisson, spike_times };
const char* model_name(Model m) noexcept;                       // "lif_exp", ...
std::optional<Model> model_from_name(std::string_view name);   // nullopt for an unknown name
bool is_source(Model m) noexcept;                                // poisson, spike_times: no state, no input

// A model's parameters: name, default (none: required) and meaning.
struct ParamInfo {
  std::string name;
  std::optional<double> default_value;
  std::string doc;
};
const std::vector<ParamInfo>& model_params(Model m);
// The state variables a probe may read and an "init" may set: v, ge, gi for the neuron models, plus u
// (izhikevich) or theta (lif_adaptive); none for sources.
std::vector<std::string> model_variables(Model m);

// An initial value: a constant, or uniform in [lo, hi) drawn from Philox keyed by the seed and counted by
// (global neuron, variable): reproducible, and the same for the device and the reference.
struct InitValue {
  double lo = 0;
  double hi = 0;   // hi == lo: the constant lo
  static InitValue constant(double v) { return {v, v}; }
  static InitValue uniform(double lo, double hi) { return {lo, hi}; }
};

struct Population {
  std::string name;
  Model model = Model::lif_exp;
  std::int64_t size = 0;
  std::map<std::string, double> params;      // by model_params(model) name; missing ones take their defaults
  std::map<std::string, InitValue> init;     // by state variable name
  std::vector<std::vector<double>> times_ms; // spike_times only: one list per neuron (size lists)
  bool record = true;                        // its spikes go to the spike record
};

enum class Connect { fixed_probability, one_to_one, all_to_all, matrix };
const char* connect_name(Connect c) noexcept;

// Synapses from every neuron of pre to neurons of post, each adding weight to the post neuron's ge ("exc") or gi
// ("inh") after delay_ms (rounded to whole steps).
struct Projection {
  std::string name;                // defaults to "<pre>-><post>"
  std::string pre;
  std::string post;
  std::string target = "exc";      // "exc" or "inh"
  Connect connect = Connect::fixed_probability;
  double p = 0;                    // fixed_probability: each (pre, post) pair independently, drawn from Philox
  bool allow_self = true;          // fixed_probability / all_to_all within one population: may i connect to i
  CsrMatrix matrix;                // matrix: pre.size x post.size connectivity (values are weights)
  std::string file;                // matrix read from a Matrix Market file (JSON "file"; relative to the JSON)
  std::optional<double> weight;    // every synapse's weight; for a matrix, replaces its values when given
  double delay_ms = 0;
};

// A step current: amplitude (mV, as i_ext) added to neurons [first, first + count) of a population (count -1:
// all) during [start_ms, stop_ms).
struct StepCurrent {
  std::string population;
  double amplitude = 0;
  double start_ms = 0;
  double stop_ms = std::numeric_limits<double>::infinity();
  std::int64_t first = 0;
  std::int64_t count = -1;
};

// Records variable of the given neurons (indices within the population) every `every` steps, starting at step 0.
struct Probe {
  std::string population;
  std::string variable = "v";
  std::vector<std::int64_t> neurons;
  int every = 1;
};

struct Network {
  double dt_ms = 0.1;
  double duration_ms = 0;                       // at most 2^30 steps of dt_ms
  std::uint64_t seed = 0;
  std::vector<Population> populations;
  std::vector<Projection> projections;
  std::vector<StepCurrent> currents;
  std::vector<Probe> probes;
  // Spikes the device record holds between two reads by the host; 0: enough for every recorded neuron to spike
  // at every step of a read interval, so it cannot overflow. A smaller capacity that overflows is an error
  // naming the steps and counts (never a silent drop).
  std::int64_t spike_capacity = 0;

  std::int64_t steps() const;                    // round(duration_ms / dt_ms)
  std::int64_t neurons() const;                  // over all populations
  int population_index(std::string_view name) const;   // -1 when absent
  // "" when valid, else the first problem naming the field, e.g. "populations[1] (\"inh\").size: must be at
  // least 1, got 0" or "projections[0].pre: no population named \"ex\"".
  std::string check() const;
  void validate() const;   // throws InvalidArgument with check()'s message
};

// The JSON form (documented in README "Spiking networks"): {"dt_ms", "duration_ms", "seed", "populations": [...],
// "projections": [...], "currents": [...], "probes": [...], "spike_capacity"}. Unknown keys are errors (a
// misspelt parameter would otherwise be ignored). Throws FileError "<name>: <json path>: <what>" for malformed or
// invalid content. base_dir resolves relative matrix file names. A "connect": "matrix" projection reads its "file"
// (resolved against base_dir) with read_matrix_market, or with read_matrix when given: text from an untrusted
// source should come with a read_matrix that confines or refuses file access (the fuzz target refuses all).
using MatrixFileReader = std::function<CsrMatrix(const std::string& resolved_path)>;
Network parse_network_json(std::string_view text, std::string_view name = "<json>", const std::string& base_dir = "",
                           const MatrixFileReader& read_matrix = {});
Network load_network(const std::string& path);

struct Spike {
  std::int64_t step = 0;
  std::int32_t population = 0;
  std::int64_t index = 0;   // within the population
  friend bool operator==(const Spike&, const Spike&) = default;
};

struct ProbeTrace {
  Probe probe;
  std::vector<std::int64_t> steps;   // the steps sampled
  std::vector<float> values;         // steps.size() x probe.neurons.size(), row-major
};

struct SimulationResult {
  double dt_ms = 0;
  std::int64_t steps = 0;
  std::vector<Spike> spikes;                        // recorded populations' spikes, sorted (step, population, index)
  std::vector<ProbeTrace> probes;
  std::vector<std::int64_t> population_spikes;      // every population's spike count (recorded or not)
  std::int64_t synaptic_events = 0;                 // synapses reached by a spike
  double wall_seconds = 0;                          // the step loop, host round trips included
  int steps_per_sync = 0;                           // steps enqueued between two reads of the record
  // With SimulationOptions::profile: the kernels' summed device time (OpenCL events), so that wall_seconds minus
  // their sum is the launch and round-trip overhead.
  double update_seconds = 0;
  double propagate_seconds = 0;
  double probe_seconds = 0;

  // Mean firing rate of population p over the run (Hz).
  double rate_hz(const Network& net, int p) const;
};

struct SimulationOptions {
  // Steps enqueued between two host round trips (reading the spike record); 0: the tuned default.
  int steps_per_sync = 0;
  // Work-group sizes of the update and propagation kernels (0: tuned); results do not depend on them.
  int update_group = 0;
  int propagate_group = 0;
  // Kernel tunables over the tuned ones, "VN=16 FUSE=1" (see `ellesmere` tuning docs); results do not depend on
  // them. Throws InvalidArgument for an unknown name or a value the device cannot run.
  std::string params;
  // Time every launch with an OpenCL event (SimulationResult::update_seconds ...); costs a little per launch.
  bool profile = false;
};

// Runs the network on context's device. Throws InvalidArgument for an invalid network, Error when the spike
// record overflows (naming the steps, the count and the capacity).
SimulationResult simulate(Context& context, const Network& net, const SimulationOptions& options = {});

// "time_ms,population,index" rows (a header line, then one row per spike, times with dt's precision).
void write_spikes_csv(std::ostream& out, const Network& net, const SimulationResult& result);
// "time_ms,population,variable,index,value" rows, one per probed neuron and sample.
void write_probes_csv(std::ostream& out, const Network& net, const SimulationResult& result);

}  // namespace ellesmere::snn
