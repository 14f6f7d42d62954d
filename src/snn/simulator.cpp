// The device simulation loop (snn::simulate): compiles the network, uploads it, enqueues SPS steps (update, then
// event-driven propagation, plus probes) between host round trips, and drains the spike record after each batch.
// Launch overhead dominates small networks at dt = 0.1 ms (10,000 steps per biological second), so a step is just
// two launches and the host waits only once per batch; bench_snn measures the per-step overhead.
#include <algorithm>
#include <chrono>
#include <ostream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/formats/snn.h"
#include "ellesmere/snn.hpp"
#include "ops/snn/snn_impl.hpp"
#include "runtime/context_impl.hpp"
#include "runtime/fault_injection.hpp"
#include "snn/compiled.hpp"

namespace ellesmere::snn {

namespace {

// Spikes the record may hold by default: 16 Mi (128 MiB of (step, neuron) pairs). SPS shrinks to fit when every
// recorded neuron spiking at every step of a batch would need more.
constexpr std::int64_t kMaxDefaultCapacity = std::int64_t(16) << 20;

template <class T>
Buffer<T> upload(Context& ctx, const std::vector<T>& v, const char* what) {
  // OpenCL has no empty buffers: an empty array gets one unused element.
  if (v.empty()) {
    const std::vector<T> one(1, T{});
    return Buffer<T>(ctx, std::span<const T>(one), what);
  }
  return Buffer<T>(ctx, std::span<const T>(v), what);
}

template <class T>
Buffer<T> zeros(Context& ctx, std::size_t count, const char* what) {
  return upload(ctx, std::vector<T>(std::max<std::size_t>(count, 1), T{}), what);
}

// Enqueues k; with events, keeps its event for the profile.
void enqueue(ellesmere::detail::ContextImpl& ctx, cl::Kernel& k, std::size_t global, std::size_t local, const char* what,
             std::vector<cl::Event>* events) {
  cl::Event e;
  cl_int err = runtime::fault::hit(runtime::fault::Site::enqueue);
  if (err == CL_SUCCESS) {
    err = ctx.queue.enqueueNDRangeKernel(k, cl::NullRange, cl::NDRange(global), cl::NDRange(local), nullptr,
                                         events != nullptr ? &e : nullptr);
  }
  runtime::check(err, "clEnqueueNDRangeKernel", fmt::format("{} (global {}, local {}, device {})", what, global,
                                                            local, ctx.info.name));
  if (events != nullptr) events->push_back(std::move(e));
}

double event_seconds(std::vector<cl::Event>& events) {
  double ns = 0;
  for (auto& e : events) {
    ns += double(e.getProfilingInfo<CL_PROFILING_COMMAND_END>() - e.getProfilingInfo<CL_PROFILING_COMMAND_START>());
  }
  events.clear();
  return ns * 1e-9;
}

}  // namespace

SimulationResult simulate(Context& context, const Network& net, const SimulationOptions& options) {
  const detail::CompiledNetwork c = detail::compile(net);
  const std::string problem = detail::problem_text(c);
  auto [impl, params] = ops::choose_snn(problem, context.device(), "");
  if (!options.params.empty()) {
    const ops::Params extra = ops::Params::parse(options.params);
    for (const auto& [k, val] : extra.items()) {
      if (impl->space().find(k) == nullptr) {
        throw InvalidArgument(fmt::format("{}: {} has no tunable {} (options.params \"{}\")", problem, impl->name(), k,
                                          options.params));
      }
      params.set(k, val);
    }
  }
  if (options.update_group > 0) params.set("LU", options.update_group);
  if (options.propagate_group > 0) params.set("LP", options.propagate_group);
  if (options.steps_per_sync > 0) params.set("SPS", options.steps_per_sync);
  if (std::string why = impl->check_params(params, context.device()); !why.empty()) {
    throw InvalidArgument(fmt::format("{}: {} [{}]: {}", problem, impl->name(), params.str(), why));
  }
  const std::size_t n = std::size_t(c.n_total);
  const int lu = params.get("LU"), lp = params.get("LP"), pg = params.get("PG"), vn = params.get("VN");
  const bool fused = params.get("FUSE") != 0;
  int sps = params.get("SPS");
  std::int64_t capacity = net.spike_capacity;
  if (capacity == 0) {
    const std::int64_t rec = std::max<std::int64_t>(c.recorded_neurons, 1);
    sps = int(std::max<std::int64_t>(1, std::min<std::int64_t>(sps, kMaxDefaultCapacity / rec)));
    capacity = std::int64_t(sps) * rec;
  }

  ellesmere::detail::ContextImpl& ctx = context.impl();
  std::string options_text = impl->build_options(problem, params) + ops::SnnImpl::launch_options(params);
  if (context.device().has_correct_divide) options_text += " -cl-fp32-correctly-rounded-divide-sqrt";
  cl::Kernel& update = ctx.kernel(impl->kernel_file(), "snn_update", options_text);
  cl::Kernel& propagate = ctx.kernel(impl->kernel_file(), "snn_propagate", options_text);
  cl::Kernel& probe_k = ctx.kernel(impl->kernel_file(), "snn_probe", options_text);

  auto pop_int = upload(context, c.pop_int, "snn populations");
  auto pop_f = upload(context, c.pop_f, "snn population constants");
  auto v = upload(context, c.v, "snn v");
  auto ge = upload(context, c.ge, "snn ge");
  auto gi = upload(context, c.gi, "snn gi");
  auto x = upload(context, c.x, "snn x");
  auto last_spike = upload(context, c.last_spike, "snn last_spike");
  auto cursor = upload(context, c.cursor, "snn cursor");
  auto sched_ptr = upload(context, c.sched_ptr, "snn schedule pointers");
  auto sched_step = upload(context, c.sched_step, "snn schedule");
  auto row_ptr = upload(context, c.row_ptr, "snn synapse row_ptr");
  auto dest = upload(context, c.dest, "snn synapse targets");
  auto weight_q = upload(context, c.weight_q, "snn synapse weights");
  auto delay = upload(context, c.delay, "snn synapse delays");
  auto cur_int = upload(context, c.cur_int, "snn currents");
  auto cur_amp = upload(context, c.cur_amp, "snn current amplitudes");
  auto acc = zeros<std::int32_t>(context, std::size_t(c.ring) * 2 * n, "snn input accumulator");
  auto spike_list = zeros<std::int32_t>(context, 2 * n, "snn spike list");
  auto spike_count = zeros<std::int32_t>(context, 2, "snn spike counts");
  auto rec = zeros<std::int32_t>(context, std::size_t(capacity) * 2, "snn spike record");
  auto rec_count = zeros<std::int32_t>(context, 1, "snn spike record count");
  auto spike_total = zeros<std::int32_t>(context, n, "snn spike totals");

  const std::string what_u = fmt::format("snn_update ({})", problem);
  const std::string what_p = fmt::format("snn_propagate ({})", problem);
  ellesmere::detail::set_args(update, what_u, 0, std::int32_t(n), std::int32_t(c.n_pops), std::int32_t(c.ring), pop_int.handle(),
                   pop_f.handle(), v.handle(), ge.handle(), gi.handle(), x.handle(), last_spike.handle(),
                   cursor.handle(), sched_ptr.handle(), sched_step.handle(), acc.handle(), std::int32_t(c.n_currents),
                   cur_int.handle(), cur_amp.handle(), row_ptr.handle(), dest.handle(), weight_q.handle(),
                   delay.handle(), spike_list.handle(), spike_count.handle(), rec.handle(),
                   rec_count.handle(), std::int32_t(capacity), spike_total.handle(), cl_uint(c.seed_lo),
                   cl_uint(c.seed_hi));
  ellesmere::detail::set_args(propagate, what_p, 0, std::int32_t(n), std::int32_t(c.ring), spike_list.handle(),
                   spike_count.handle(), row_ptr.handle(), dest.handle(), weight_q.handle(), delay.handle(),
                   acc.handle());

  // Probes: their global neuron indices, and room for the samples of one batch.
  struct DeviceProbe {
    Buffer<std::int32_t> neurons;
    Buffer<float> out;
    cl_mem var = nullptr;
    int count = 0;
    int acc_target = -1;   // 0 ge, 1 gi: add the pending input; -1 none
    float scale = 0;
    std::size_t global = 0;
  };
  SimulationResult result;
  result.dt_ms = net.dt_ms;
  result.steps = c.steps;
  result.steps_per_sync = sps;
  std::vector<DeviceProbe> probes;
  for (const Probe& q : net.probes) {
    const int p = net.population_index(q.population);
    std::vector<std::int32_t> g;
    for (auto i : q.neurons) g.push_back(std::int32_t(c.start_of(p) + i));
    DeviceProbe d;
    d.count = int(g.size());
    d.neurons = upload(context, g, "snn probe neurons");
    d.out = zeros<float>(context, (std::size_t(sps) / std::size_t(q.every) + 2) * g.size(), "snn probe samples");
    const int slot = detail::variable_slot(q.variable);
    d.var = slot == 0 ? v.handle() : slot == 1 ? ge.handle() : slot == 2 ? gi.handle() : x.handle();
    d.acc_target = slot == 1 ? 0 : slot == 2 ? 1 : -1;
    d.scale = c.pop_f[std::size_t(p) * ELLESMERE_SNN_POP_FLOATS +
                      (slot == 2 ? ELLESMERE_SNN_PF_SCALE_I : ELLESMERE_SNN_PF_SCALE_E)];
    d.global = ops::round_up(g.size(), std::size_t(lu));
    probes.push_back(std::move(d));
    result.probes.push_back(ProbeTrace{q, {}, {}});
  }

  // Warm-up: PoCL compiles a kernel for its work-group size at the first launch; do that outside the timed loop
  // with launches that touch nothing (n_total = 0: every item leaves at once; step -1 reads and clears the
  // parity-1 spike counter, which is 0 before step 0 anyway; a probe of 0 neurons).
  {
    ellesmere::detail::set_arg(update, 0, what_u, std::int32_t(-1));
    ellesmere::detail::set_arg(update, 1, what_u, std::int32_t(0));
    enqueue(ctx, update, std::size_t(lu), std::size_t(lu), what_u.c_str(), nullptr);
    ellesmere::detail::set_arg(update, 1, what_u, std::int32_t(n));
    if (!fused) {
      ellesmere::detail::set_arg(propagate, 0, what_p, std::int32_t(-1));
      enqueue(ctx, propagate, std::size_t(pg) * std::size_t(lp), std::size_t(lp), what_p.c_str(), nullptr);
    }
    if (!probes.empty()) {
      ellesmere::detail::set_args(probe_k, "snn_probe", probes[0].var, probes[0].neurons.handle(), std::int32_t(0),
                                  probes[0].out.handle(), std::int32_t(0), acc.handle(), std::int32_t(-1), 0.0f);
      enqueue(ctx, probe_k, std::size_t(lu), std::size_t(lu), "snn_probe", nullptr);
    }
    context.finish();
  }
  const std::size_t update_global = ops::round_up(n / std::size_t(vn), std::size_t(lu));   // n: a multiple of VN
  std::vector<cl::Event> ev_update, ev_propagate, ev_probe;
  const bool prof = options.profile;
  std::vector<std::int32_t> rec_host;
  const std::int32_t zero = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t s0 = 0; s0 < c.steps; s0 += sps) {
    const std::int64_t s1 = std::min<std::int64_t>(c.steps, s0 + sps);
    std::vector<int> rows(probes.size(), 0);
    for (std::int64_t s = s0; s < s1; ++s) {
      for (std::size_t k = 0; k < probes.size(); ++k) {
        if (s % net.probes[k].every != 0) continue;
        DeviceProbe& d = probes[k];
        const int acc_offset =
            d.acc_target < 0 ? -1
                             : int(((s + c.ring - 1) % c.ring) * 2 * std::int64_t(n) + d.acc_target * std::int64_t(n));
        ellesmere::detail::set_args(probe_k, "snn_probe", d.var, d.neurons.handle(), std::int32_t(d.count), d.out.handle(),
                         std::int32_t(rows[k] * d.count), acc.handle(), std::int32_t(acc_offset), d.scale);
        enqueue(ctx, probe_k, d.global, std::size_t(lu), "snn_probe", prof ? &ev_probe : nullptr);
        result.probes[k].steps.push_back(s);
        ++rows[k];
      }
      ellesmere::detail::set_arg(update, 0, what_u, std::int32_t(s));
      enqueue(ctx, update, update_global, std::size_t(lu), what_u.c_str(), prof ? &ev_update : nullptr);
      if (!fused) {
        ellesmere::detail::set_arg(propagate, 0, what_p, std::int32_t(s));
        enqueue(ctx, propagate, std::size_t(pg) * std::size_t(lp), std::size_t(lp), what_p.c_str(),
                prof ? &ev_propagate : nullptr);
      }
    }
    std::int32_t recorded = 0;
    rec_count.download(std::span<std::int32_t>(&recorded, 1));
    if (recorded > capacity) {
      throw Error(fmt::format("snn: the spike record overflowed: {} spikes in steps [{}, {}) (t = {} .. {} ms) but "
                              "spike_capacity is {}; raise spike_capacity (0 sizes it so that it cannot overflow)",
                              recorded, s0, s1, double(s0) * net.dt_ms, double(s1) * net.dt_ms, capacity));
    }
    if (recorded > 0) {
      rec_host.resize(std::size_t(recorded) * 2);
      rec.download(rec_host);
      rec_count.upload(std::span<const std::int32_t>(&zero, 1));
      for (std::int32_t r = 0; r < recorded; ++r) {
        const std::int64_t g = rec_host[2 * std::size_t(r) + 1];
        const int p = c.population_of(g);
        result.spikes.push_back({rec_host[2 * std::size_t(r)], p, g - c.start_of(p)});
      }
    }
    if (prof) {
      result.update_seconds += event_seconds(ev_update);
      result.propagate_seconds += event_seconds(ev_propagate);
      result.probe_seconds += event_seconds(ev_probe);
    }
    for (std::size_t k = 0; k < probes.size(); ++k) {
      if (rows[k] == 0) continue;
      std::vector<float> samples(std::size_t(rows[k]) * std::size_t(probes[k].count));
      probes[k].out.download(samples);
      result.probes[k].values.insert(result.probes[k].values.end(), samples.begin(), samples.end());
    }
  }
  context.finish();
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::sort(result.spikes.begin(), result.spikes.end(), [](const Spike& a, const Spike& b) {
    return std::tie(a.step, a.population, a.index) < std::tie(b.step, b.population, b.index);
  });
  const std::vector<std::int32_t> totals = spike_total.to_vector();
  result.population_spikes.assign(std::size_t(c.n_pops), 0);
  for (std::size_t g = 0; g < n; ++g) {
    result.population_spikes[std::size_t(c.population_of(std::int64_t(g)))] += totals[g];
    result.synaptic_events += std::int64_t(totals[g]) * (c.row_ptr[g + 1] - c.row_ptr[g]);
  }
  return result;
}

namespace {

// Enough decimals to tell steps apart: dt = 0.1 ms needs one, 0.025 ms three.
int time_decimals(double dt_ms) {
  int decimals = 0;
  for (double d = dt_ms; decimals < 9 && std::fabs(d - std::round(d)) > 1e-9; d *= 10) ++decimals;
  return decimals;
}

}  // namespace

void write_probes_csv(std::ostream& out, const Network& net, const SimulationResult& result) {
  const int decimals = time_decimals(net.dt_ms);
  out << "time_ms,population,variable,index,value\n";
  for (const ProbeTrace& t : result.probes) {
    const std::size_t k = t.probe.neurons.size();
    for (std::size_t s = 0; s < t.steps.size(); ++s) {
      for (std::size_t i = 0; i < k; ++i) {
        out << fmt::format("{:.{}f},{},{},{},{:.9g}\n", double(t.steps[s]) * net.dt_ms, decimals, t.probe.population,
                           t.probe.variable, t.probe.neurons[i], t.values[s * k + i]);
      }
    }
  }
}

void write_spikes_csv(std::ostream& out, const Network& net, const SimulationResult& result) {
  const int decimals = time_decimals(net.dt_ms);
  out << "time_ms,population,index\n";
  for (const Spike& s : result.spikes) {
    out << fmt::format("{:.{}f},{},{}\n", double(s.step) * net.dt_ms, decimals,
                       net.populations[std::size_t(s.population)].name, s.index);
  }
}

}  // namespace ellesmere::snn
