// Spiking-network benchmarks: the COBA network (Vogels & Abbott 2005; examples/snn/coba.json) simulated for one
// biological second by every snn Impl beside Brian2's cython runtime (peer_brian2_coba, bench/peer_brian2_coba.py,
// run under Debian's /usr/bin/python3 when python3-brian is installed) on the same machine, at 4000 neurons
// (p = 0.02, as the benchmark defines it) and at 40,000 and 100,000 neurons with the same 80 synapses per neuron
// (p = 80 / N, so the dynamics and the rate stay the same and only the size grows). Plus the launch overhead: a
// one-neuron network for 10,000 steps at several steps per host round trip.
// Time is wall time of the whole run (host round trips included), reported per biological second; counters:
// rate_hz, neuron_updates_per_s, syn_events_per_s, and, from a profiled run, update_s / propagate_s (device time of
// the kernels) and overhead_s (the rest: launches and round trips). After the runs, the ratio to Brian2 per size.
// On Polaris, as here, the update is bound by memory traffic and launch overhead, never by arithmetic.
// Run: build/bench/bench_snn [--benchmark_format=json] [--sizes=4000,40000,100000] [--no_brian2]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_common.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/snn.hpp"
#include "ops/snn/snn_impl.hpp"
#include "snn/compiled.hpp"

namespace ellesmere::bench {
namespace {

constexpr double kSynapsesPerNeuron = 80;   // p = 0.02 of 4000

snn::Network coba(std::int64_t n) {
  snn::Network net = snn::load_network(std::string(ELLESMERE_SOURCE_DIR) + "/examples/snn/coba.json");
  const std::int64_t ne = n * 4 / 5;
  net.populations[0].size = ne;
  net.populations[1].size = n - ne;
  net.probes.clear();
  if (n != 4000) {
    for (auto& q : net.projections) q.p = kSynapsesPerNeuron / double(n);
  }
  return net;
}

double coba_p(std::int64_t n) { return n == 4000 ? 0.02 : kSynapsesPerNeuron / double(n); }

struct Measured {
  double ours_s = 0;
  double brian2_s = 0;
  std::string problem;
};
std::map<std::int64_t, Measured>& measured() {
  static std::map<std::int64_t, Measured> m;
  return m;
}

std::string problem_of(const snn::Network& net) { return snn::detail::problem_text(snn::detail::compile(net)); }

void register_ours(const ops::SnnImpl& impl, std::int64_t n) {
  const snn::Network net = coba(n);
  const std::string problem = problem_of(net);
  measured()[n].problem = problem;
  benchmark::RegisterBenchmark((impl.name() + "/" + problem).c_str(), [net, n](benchmark::State& state) {
    Context& ctx = env().context;
    const double bio_s = net.duration_ms * 1e-3;
    snn::SimulationOptions profiled;
    profiled.profile = true;
    const snn::SimulationResult p = snn::simulate(ctx, net, profiled);   // warm-up (builds), and the device split
    double total = 0;
    snn::SimulationResult r;
    for (auto _ : state) {
      r = snn::simulate(ctx, net);
      state.SetIterationTime(r.wall_seconds);
      total += r.wall_seconds;
    }
    const double wall = total / double(state.iterations());
    measured()[n].ours_s = wall / bio_s;
    double rate = 0;
    for (std::size_t k = 0; k < net.populations.size(); ++k) {
      rate += r.rate_hz(net, int(k)) * double(net.populations[k].size) / double(n);
    }
    state.counters["wall_per_bio_s"] = wall / bio_s;
    state.counters["rate_hz"] = rate;
    state.counters["neuron_updates_per_s"] = double(n) * double(r.steps) / wall;
    state.counters["syn_events_per_s"] = double(r.synaptic_events) / wall;
    state.counters["update_s"] = p.update_seconds / bio_s;
    state.counters["propagate_s"] = p.propagate_seconds / bio_s;
    state.counters["overhead_s"] = (p.wall_seconds - p.update_seconds - p.propagate_seconds) / bio_s;
    state.SetLabel(fmt::format("COBA N={} p={:.4g} SPS={} [measured on {}]", n, coba_p(n), r.steps_per_sync,
                               ctx.device().key));
  })->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(n <= 4000 ? 5 : 2);
}

// Brian2 through its script: one process per size; the script warms the cython cache, then times run().
void register_brian2(std::int64_t n) {
  const std::string problem = measured()[n].problem;
  benchmark::RegisterBenchmark(("peer_brian2_coba/" + problem).c_str(), [n](benchmark::State& state) {
    const std::string cmd = fmt::format("/usr/bin/python3 {}/bench/peer_brian2_coba.py --neurons {} --p {} 2>/dev/null",
                                        ELLESMERE_SOURCE_DIR, n, coba_p(n));
    double total = 0;
    nlohmann::json last;
    for (auto _ : state) {
      std::string out;
      if (FILE* f = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
        if (::pclose(f) != 0) out.clear();
      }
      const auto at = out.rfind("{\"peer\"");
      if (at == std::string::npos) {
        state.SkipWithError("Brian2 did not run: python3-brian (and cython3) under /usr/bin/python3 are needed");
        return;
      }
      last = nlohmann::json::parse(out.substr(at));
      const double wall = last.at("wall_s").get<double>();
      state.SetIterationTime(wall);
      total += wall;
    }
    const double bio_s = last.at("duration_ms").get<double>() * 1e-3;
    const double wall = total / double(state.iterations());
    measured()[n].brian2_s = wall / bio_s;
    state.counters["wall_per_bio_s"] = wall / bio_s;
    state.counters["rate_hz"] = last.at("rate_hz").get<double>();
    state.SetLabel(fmt::format("Brian2 {} {} runtime, COBA N={} p={:.4g}, {} synapses (host CPU, single thread)",
                               last.at("brian2").get<std::string>(), last.at("target").get<std::string>(), n,
                               coba_p(n), last.at("synapses").get<std::int64_t>()));
  })->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(n <= 4000 ? 3 : 1);
}

// Launch overhead: one neuron, 10,000 steps, SPS steps per host round trip (each step one launch, FUSE = 1, or two).
void register_overhead(int sps, const char* variant) {
  benchmark::RegisterBenchmark(fmt::format("snn_overhead/steps_per_sync:{}_{}", sps, variant).c_str(),
                               [sps, variant](benchmark::State& state) {
    snn::Network net;
    net.duration_ms = 1000;
    snn::Population p;
    p.name = "one";
    p.model = snn::Model::lif_exp;
    p.size = 1;
    p.params = {{"tau_m", 10}, {"v_thresh", -50}, {"v_reset", -70}, {"e_leak", -70}, {"i_ext", 25}, {"t_ref", 2}};
    net.populations = {p};
    snn::SimulationOptions o;
    o.steps_per_sync = sps;
    o.params = std::string(variant) == "fused" ? "FUSE=1" : "FUSE=0";
    snn::simulate(env().context, net, o);   // warm-up
    double total = 0;
    std::int64_t steps = 0;
    for (auto _ : state) {
      const snn::SimulationResult r = snn::simulate(env().context, net, o);
      state.SetIterationTime(r.wall_seconds);
      total += r.wall_seconds;
      steps = r.steps;
    }
    state.counters["us_per_step"] = total / double(state.iterations()) / double(steps) * 1e6;
    state.SetLabel(fmt::format("1 neuron, {} steps, {} launch(es) per step [measured on {}]", steps,
                               std::string(variant) == "fused" ? 1 : 2, env().context.device().key));
  })->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
}

void print_ratios() {
  std::cout << "\nCOBA, wall time per biological second (same run; ours on the OpenCL device, Brian2 on the host CPU)\n";
  for (const auto& [n, m] : measured()) {
    if (m.ours_s <= 0) continue;
    if (m.brian2_s > 0) {
      std::cout << fmt::format("  N={:<7} ours {:.3f} s  Brian2 {:.3f} s  ratio {:.2f} (goal <= 0.5 at N=4000): {}\n", n,
                               m.ours_s, m.brian2_s, m.ours_s / m.brian2_s,
                               m.ours_s / m.brian2_s <= 0.5 ? "met" : "not met");
    } else {
      std::cout << fmt::format("  N={:<7} ours {:.3f} s  (no Brian2 row)\n", n, m.ours_s);
    }
  }
}

}  // namespace
}  // namespace ellesmere::bench

int main(int argc, char** argv) {
  using namespace ellesmere;
  try {
    std::vector<std::int64_t> sizes{4000, 40000, 100000};
    bool brian2 = true;
    for (int i = 1; i < argc; ++i) {
      bool ours = false;
      if (std::strcmp(argv[i], "--no_brian2") == 0) {
        brian2 = false;
        ours = true;
      } else if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
        sizes.clear();
        std::string s = argv[i] + 8;
        for (std::size_t at = 0; at < s.size();) {
          const auto comma = s.find(',', at);
          sizes.push_back(std::stoll(s.substr(at, comma - at)));
          at = comma == std::string::npos ? s.size() : comma + 1;
        }
        ours = true;
      }
      if (ours) {
        for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
        --argc;
        --i;
      }
    }
    for (int sps : {1, 10, 100, 1000}) bench::register_overhead(sps, "fused");
    bench::register_overhead(100, "separate");
    for (std::int64_t n : sizes) {
      for (const auto& impl : ops::snn_list()) bench::register_ours(*impl, n);
      if (brian2) bench::register_brian2(n);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    bench::env();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    bench::print_ratios();
  } catch (const Error& e) {
    std::cerr << "bench_snn: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
