// Spiking networks on the OpenCL device (snn::simulate) against the host reference (reference::snn_ref): identical
// spike trains and probe values on deterministic and Poisson-driven networks of every model, the same spikes for
// every launch geometry and across runs, Brian2's step order (delays, refractoriness, the analytic LIF rate), step
// currents, and the spike record's overflow report. Small shapes under the oclgrind harness (ELLESMERE_TEST_SMALL).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/snn.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

using testing::shared_context;
using testing::small_mode;
using namespace snn;

Population lif(const std::string& name, Model model, std::int64_t size, double i_ext) {
  Population p;
  p.name = name;
  p.model = model;
  p.size = size;
  p.params = {{"tau_m", 20}, {"v_thresh", -50}, {"v_reset", -60}, {"e_leak", -60}, {"t_ref", 2}, {"i_ext", i_ext}};
  if (model == Model::lif_coba) p.params.insert({{"e_exc", 0}, {"e_inh", -80}});
  if (model == Model::lif_adaptive) p.params.insert({{"tau_theta", 50}, {"theta_jump", 2}});
  p.init["v"] = InitValue::uniform(-60, -50);
  return p;
}

Projection proj(const std::string& pre, const std::string& post, const std::string& target, Connect c, double w,
                double p = 0, double delay = 0) {
  Projection q;
  q.pre = pre;
  q.post = post;
  q.target = target;
  q.connect = c;
  q.weight = w;
  q.p = p;
  q.delay_ms = delay;
  return q;
}

// Deterministic networks: constant and step currents, spike-time inputs, every neuron model, every connector, delays.
Network lif_exp_net(std::int64_t n) {
  Network net;
  net.duration_ms = 200;
  net.seed = 11;
  Population stim;
  stim.name = "stim";
  stim.model = Model::spike_times;
  stim.size = 3;
  stim.times_ms = {{1.0, 20.0, 20.5, 150.0}, {}, {5.0, 7.3, 100.0}};
  net.populations = {stim, lif("exc", Model::lif_exp, n, 10.5), lif("inh", Model::lif_exp, (n + 3) / 4, 9.0)};
  net.projections = {proj("stim", "exc", "exc", Connect::all_to_all, 3.0, 0, 1.5),
                     proj("exc", "exc", "exc", Connect::fixed_probability, 0.4, 0.1, 0.0),
                     proj("exc", "inh", "exc", Connect::fixed_probability, 0.5, 0.2, 0.7),
                     proj("inh", "exc", "inh", Connect::fixed_probability, -1.5, 0.2, 2.0),
                     proj("inh", "inh", "inh", Connect::all_to_all, -0.2)};
  net.projections.back().allow_self = false;
  net.currents = {{"exc", 4.0, 50.0, 120.0, 0, n / 2}};
  net.probes = {{"exc", "v", {0, 1, n - 1}, 1}, {"exc", "ge", {0, n / 2}, 3}, {"inh", "gi", {0}, 7}};
  return net;
}

Network coba_net(std::int64_t n, double duration_ms = 200) {
  Network net;
  net.duration_ms = duration_ms;
  net.seed = 7;
  const std::int64_t ne = n * 4 / 5;
  net.populations = {lif("exc", Model::lif_coba, ne, 20), lif("inh", Model::lif_coba, n - ne, 20)};
  for (auto& p : net.populations) p.params["t_ref"] = 5;
  // Fewer synapses than the benchmark's p = 0.02 of 4000, scaled for similar input per neuron.
  const double p = std::min(1.0, 80.0 / double(n));
  net.projections = {proj("exc", "exc", "exc", Connect::fixed_probability, 0.6, p),
                     proj("exc", "inh", "exc", Connect::fixed_probability, 0.6, p),
                     proj("inh", "exc", "inh", Connect::fixed_probability, 6.7, p),
                     proj("inh", "inh", "inh", Connect::fixed_probability, 6.7, p)};
  net.probes = {{"exc", "v", {0, ne - 1}, 1}, {"inh", "gi", {0}, 2}, {"exc", "ge", {1}, 1}};
  return net;
}

Network izhikevich_net(std::int64_t n) {
  Network net;
  net.duration_ms = 150;
  net.seed = 3;
  Population rs;
  rs.name = "rs";
  rs.model = Model::izhikevich;
  rs.size = n;
  rs.params = {{"i_ext", 4}, {"tau_e", 2}, {"tau_i", 4}};
  rs.init["v"] = InitValue::uniform(-70, -60);
  Population fs = rs;
  fs.name = "fs";
  fs.size = (n + 1) / 2;
  fs.params.insert({{"a", 0.1}, {"d", 2}, {"t_ref", 1}});
  net.populations = {rs, fs};
  net.projections = {proj("rs", "fs", "exc", Connect::fixed_probability, 3, 0.3, 1.0),
                     proj("fs", "rs", "inh", Connect::fixed_probability, -2, 0.3),
                     proj("rs", "rs", "exc", Connect::one_to_one, 0.5, 0, 3.0)};
  net.currents = {{"rs", 6.0, 30.0, 60.0, 0, -1}, {"fs", 8.0, 90.0, 1000.0, 1, 1}};
  net.probes = {{"rs", "v", {0, n - 1}, 1}, {"rs", "u", {0}, 1}, {"fs", "v", {0}, 2}};
  return net;
}

Network adaptive_poisson_net(std::int64_t n) {
  Network net;
  net.duration_ms = 200;
  net.seed = 99;
  Population noise;
  noise.name = "noise";
  noise.model = Model::poisson;
  noise.size = 50;
  noise.params = {{"rate_hz", 40}};
  net.populations = {noise, lif("ad", Model::lif_adaptive, n, 8.0)};
  net.projections = {proj("noise", "ad", "exc", Connect::fixed_probability, 4.0, 0.3, 0.3),
                     proj("ad", "ad", "inh", Connect::fixed_probability, -0.8, 0.1)};
  net.probes = {{"ad", "v", {0, n - 1}, 1}, {"ad", "theta", {0, 1}, 1}};
  return net;
}

// Device against reference: identical spikes, counts and events; probes within kSnnVoltageTolerance (the same
// samples: steps and count).
void expect_matches(const Network& net, const SimulationResult& dev, const SimulationResult& ref,
                    const std::string& what) {
  ASSERT_GT(ref.spikes.size(), 10u) << what << ": the reference network hardly spikes; the test would be vacuous";
  EXPECT_EQ(reference::snn_spike_mismatches(dev.spikes, ref.spikes), 0u)
      << what << ": " << dev.spikes.size() << " device spikes, " << ref.spikes.size() << " reference spikes";
  EXPECT_EQ(dev.population_spikes, ref.population_spikes) << what;
  EXPECT_EQ(dev.synaptic_events, ref.synaptic_events) << what;
  ASSERT_EQ(dev.probes.size(), net.probes.size()) << what;
  for (std::size_t k = 0; k < dev.probes.size(); ++k) {
    ASSERT_EQ(dev.probes[k].steps, ref.probes[k].steps) << what << " probe " << k;
    ASSERT_EQ(dev.probes[k].values.size(), ref.probes[k].values.size()) << what << " probe " << k;
    double worst = 0;
    for (std::size_t e = 0; e < dev.probes[k].values.size(); ++e) {
      ASSERT_TRUE(std::isfinite(dev.probes[k].values[e])) << what << " probe " << k << " sample " << e;
      worst = std::max(worst, double(std::fabs(dev.probes[k].values[e] - ref.probes[k].values[e])));
    }
    EXPECT_LE(worst, reference::kSnnVoltageTolerance) << what << " probe " << k << " (" << dev.probes[k].probe.variable
                                                      << ")";
  }
}

struct NetCase {
  std::string name;
  Network (*make)(std::int64_t);
  std::int64_t size;
  std::int64_t small_size;
};

void PrintTo(const NetCase& c, std::ostream* os) { *os << c.name; }

class SnnKernel : public ::testing::TestWithParam<NetCase> {};

// Every model and input against the reference, under the tuned Params and under both propagation variants with
// scalar and vector neuron lanes.
TEST_P(SnnKernel, MatchesReference) {
  const NetCase& c = GetParam();
  Network net = c.make(small_mode() ? c.small_size : c.size);
  if (small_mode()) net.duration_ms = std::min(net.duration_ms, 20.0);   // oclgrind: fewer steps
  const SimulationResult ref = reference::snn_ref(net);
  for (const char* params : {"", "VN=1 FUSE=0 LU=32 LP=32 PG=3", "VN=4 FUSE=1 LU=64", "VN=16 FUSE=0 LU=16 PG=64 LP=256"}) {
    SimulationOptions o;
    o.params = params;
    o.steps_per_sync = 37;   // batches that do not divide the steps
    const SimulationResult dev = simulate(shared_context(), net, o);
    expect_matches(net, dev, ref, fmt::format("{} [{}]", c.name, params));
  }
}

INSTANTIATE_TEST_SUITE_P(Networks, SnnKernel,
                         ::testing::Values(NetCase{"lif_exp_inputs", lif_exp_net, 301, 40},
                                           NetCase{"coba_small", [](std::int64_t n) { return coba_net(n); }, 257, 50},
                                           NetCase{"coba_1000", [](std::int64_t n) { return coba_net(n, 100); }, 1000, 64},
                                           NetCase{"izhikevich", izhikevich_net, 97, 20},
                                           NetCase{"adaptive_poisson", adaptive_poisson_net, 200, 33}),
                         [](const ::testing::TestParamInfo<NetCase>& i) { return i.param.name; });

// The same spikes, bit for bit, for work-group sizes 32, 64 and 256, any propagation layout and repeated runs.
TEST(SnnDeterminism, SameSpikesForEveryLaunchGeometryAndRun) {
  // Under oclgrind (small mode) fewer geometries and steps: there the point is races and bounds, and every
  // simulated step costs seconds.
  const bool small = small_mode();
  const Network net = coba_net(small ? 60 : 2000, small ? 20 : 300);
  const std::vector<int> groups = small ? std::vector<int>{32, 256} : std::vector<int>{32, 64, 256};
  const std::vector<const char*> variants =
      small ? std::vector<const char*>{"VN=1 FUSE=0 PG=3", "VN=8 FUSE=1"}
            : std::vector<const char*>{"VN=1 FUSE=0 PG=1", "VN=1 FUSE=0 PG=64", "VN=8 FUSE=1", "VN=16 FUSE=0 PG=7"};
  SimulationResult first;
  bool have_first = false;
  for (int lu : groups) {
    for (const char* variant : variants) {
      for (int run = 0; run < (small ? 1 : 2); ++run) {
        SimulationOptions o;
        o.params = variant;
        o.update_group = lu;
        o.propagate_group = lu;
        const SimulationResult r = simulate(shared_context(), net, o);
        if (!have_first) {
          first = r;
          have_first = true;
          ASSERT_GT(first.spikes.size(), small ? 10u : 100u);
          continue;
        }
        EXPECT_EQ(r.spikes, first.spikes) << "LU=LP=" << lu << " " << variant << " run " << run;
        for (std::size_t k = 0; k < r.probes.size(); ++k) {
          EXPECT_EQ(r.probes[k].values, first.probes[k].values) << "LU=LP=" << lu << " " << variant << " probe " << k;
        }
      }
    }
  }
}

// A single LIF neuron under constant drive fires with period t_ref + tau ln((RI + E_l - V_r) / (RI + E_l - V_th)):
// every interval within one step of it (the discrete threshold crossing comes up to one step early).
TEST(SnnLif, ConstantCurrentFiresAtTheAnalyticRate) {
  struct Case {
    double tau, i_ext, t_ref, e_leak, dt;
  };
  for (const Case c : {Case{20, 25, 2, -65, 0.1}, Case{10, 40, 0, -70, 0.1}, Case{30, 10.5, 5, -60, 0.05},
                       Case{5, 100, 1, -60, 0.025}}) {
    Network net;
    net.dt_ms = c.dt;
    net.duration_ms = 500;
    Population p;
    p.name = "one";
    p.model = Model::lif_exp;
    p.size = 1;
    p.params = {{"tau_m", c.tau}, {"v_thresh", -50}, {"v_reset", -60}, {"e_leak", c.e_leak}, {"t_ref", c.t_ref},
                {"i_ext", c.i_ext}};
    net.populations = {p};
    const double period = c.t_ref + c.tau * std::log((c.i_ext + c.e_leak + 60) / (c.i_ext + c.e_leak + 50));
    const SimulationResult r = simulate(shared_context(), net);
    const std::string what = fmt::format("tau {} I {} t_ref {} E_l {} dt {}: period {:.4f} ms", c.tau, c.i_ext, c.t_ref,
                                         c.e_leak, c.dt, period);
    ASSERT_GE(r.spikes.size(), 3u) << what;
    for (std::size_t k = 1; k < r.spikes.size(); ++k) {
      const double interval = double(r.spikes[k].step - r.spikes[k - 1].step) * c.dt;
      EXPECT_LE(std::fabs(interval - period), c.dt + 1e-9) << what << ", interval " << k << " = " << interval;
    }
    const double rate = r.rate_hz(net, 0);
    EXPECT_NEAR(rate, 1000.0 / period, 1000.0 / period * 0.05 + 1000.0 / net.duration_ms) << what;
  }
}

// Brian2's order: a spike at step s with delay d reaches its target's input at the end of step s + d, so the target
// responds in its update of step s + d + 1; the target is then refractory for t_ref.
TEST(SnnDelays, SpikesArriveAfterTheirDelayInSteps) {
  for (double delay_ms : {0.0, 0.1, 2.5, 7.0}) {
    Network net;
    net.duration_ms = small_mode() ? 20 : 30;
    Population src;
    src.name = "src";
    src.model = Model::spike_times;
    src.size = 2;
    src.times_ms = {{1.0}, {3.0, 12.0}};
    Population dst = lif("dst", Model::lif_exp, 2, 0);
    dst.init.clear();
    dst.params["t_ref"] = 4;
    dst.params["tau_e"] = 0.1;   // the input is gone long before the refractory period ends: one spike per input
    net.populations = {src, dst};
    net.projections = {proj("src", "dst", "exc", Connect::one_to_one, 20000.0, 0, delay_ms)};
    const SimulationResult r = simulate(shared_context(), net);
    const std::int64_t d = std::llround(delay_ms / net.dt_ms);
    std::vector<Spike> expected{{10, 0, 0}, {10 + d + 1, 1, 0}, {30, 0, 1}, {30 + d + 1, 1, 1},
                                {120, 0, 1}, {120 + d + 1, 1, 1}};
    std::erase_if(expected, [&](const Spike& s) { return s.step >= net.steps(); });
    std::sort(expected.begin(), expected.end(), [](const Spike& a, const Spike& b) {
      return std::tie(a.step, a.population, a.index) < std::tie(b.step, b.population, b.index);
    });
    EXPECT_EQ(r.spikes, expected) << "delay " << delay_ms << " ms";
    EXPECT_EQ(reference::snn_spike_mismatches(r.spikes, reference::snn_ref(net).spikes), 0u);
  }
}

// A step current drives a neuron only while it is on; the neurons outside its range stay silent.
TEST(SnnInputs, StepCurrentActsOnlyInItsWindowAndRange) {
  Network net;
  net.duration_ms = 300;
  Population p = lif("p", Model::lif_exp, 6, 5.0);   // 5 mV of drive: below threshold on its own
  p.init.clear();
  net.populations = {p};
  net.currents = {{"p", 12.0, 100.0, 200.0, 2, 3}};
  const SimulationResult r = simulate(shared_context(), net);
  ASSERT_FALSE(r.spikes.empty());
  for (const Spike& s : r.spikes) {
    EXPECT_GE(s.index, 2);
    EXPECT_LT(s.index, 5);
    EXPECT_GE(s.step, 1000);
    EXPECT_LT(s.step, 2000);
  }
  EXPECT_EQ(reference::snn_spike_mismatches(r.spikes, reference::snn_ref(net).spikes), 0u);
}

// Poisson sources: the rate within binomial bounds, the same spikes for the same seed whatever the launch, other
// spikes for another seed.
TEST(SnnPoisson, RateSeedAndLaunchIndependence) {
  Network net;
  net.duration_ms = small_mode() ? 100 : 1000;
  net.seed = 5;
  Population p;
  p.name = "poisson";
  p.model = Model::poisson;
  p.size = small_mode() ? 100 : 1000;
  p.params = {{"rate_hz", 50}};
  net.populations = {p};
  const SimulationResult a = simulate(shared_context(), net);
  const double trials = double(p.size) * double(net.steps());
  const double prob = 50 * net.dt_ms * 1e-3;
  const double mean = trials * prob, sd = std::sqrt(trials * prob * (1 - prob));
  EXPECT_NEAR(double(a.spikes.size()), mean, 5 * sd);
  SimulationOptions o;
  o.params = "VN=2 LU=256";
  EXPECT_EQ(simulate(shared_context(), net, o).spikes, a.spikes);
  EXPECT_EQ(reference::snn_ref(net).spikes, a.spikes);
  net.seed = 6;
  EXPECT_GT(reference::snn_spike_mismatches(simulate(shared_context(), net).spikes, a.spikes), a.spikes.size());
}

// The record never drops spikes silently: a capacity smaller than a batch's spikes is an error naming the steps.
TEST(SnnRecord, OverflowIsReportedNotDropped) {
  Network net = coba_net(small_mode() ? 50 : 300, 100);
  net.spike_capacity = 5;
  SimulationOptions o;
  o.steps_per_sync = 200;
  try {
    simulate(shared_context(), net, o);
    FAIL() << "no overflow reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the spike record overflowed"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("spike_capacity is 5"), std::string::npos) << e.what();
  }
  // Big enough for every batch: no error, and the same spikes as the default capacity.
  net.spike_capacity = 100000;
  const SimulationResult big = simulate(shared_context(), net, o);
  net.spike_capacity = 0;
  EXPECT_EQ(simulate(shared_context(), net, o).spikes, big.spikes);
}

TEST(SnnOptions, BadTunablesAreRejected) {
  const Network net = coba_net(40, 5);
  SimulationOptions o;
  o.params = "VN=3";
  EXPECT_THROW(simulate(shared_context(), net, o), InvalidArgument);
  o.params = "XYZ=1";
  EXPECT_THROW(simulate(shared_context(), net, o), InvalidArgument);
  Network bad = net;
  bad.populations[0].size = 0;
  EXPECT_THROW(simulate(shared_context(), bad), InvalidArgument);
}

// The CSV writer: header and one row per recorded spike, time with dt's precision.
TEST(SnnCsv, WritesTimePopulationIndexRows) {
  Network net = lif_exp_net(20);
  net.dt_ms = 0.05;
  net.populations[1].record = false;
  const SimulationResult r = simulate(shared_context(), net);
  std::ostringstream os;
  write_spikes_csv(os, net, r);
  const std::string text = os.str();
  ASSERT_EQ(text.rfind("time_ms,population,index\n", 0), 0u);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), std::ptrdiff_t(r.spikes.size() + 1));
  EXPECT_EQ(text.find(",exc,"), std::string::npos) << "an unrecorded population's spikes were written";
  EXPECT_NE(text.find("1.00,stim,0\n"), std::string::npos) << text.substr(0, 200);
}

}  // namespace
}  // namespace ellesmere
