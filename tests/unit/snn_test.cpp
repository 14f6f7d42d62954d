// Spiking-network description and compilation without a device: the JSON format's error catalogue (each names the
// field), the connectivity builders, the fixed-point input scale, and the shared arithmetic of
// include/ellesmere/formats/snn.h (Philox known answers, the exponential's accuracy).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/formats/snn.h"
#include "ellesmere/snn.hpp"
#include "snn/compiled.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

using namespace snn;

const char* kValid = R"({
  "dt_ms": 0.1, "duration_ms": 10, "seed": 1,
  "populations": [
    {"name": "src", "model": "spike_times", "times_ms": [[1.0, 2.0], [0.5]]},
    {"name": "exc", "model": "lif_coba", "size": 20,
     "params": {"tau_m": 20, "v_thresh": -50, "v_reset": -60, "e_leak": -60, "t_ref": 5},
     "init": {"v": {"uniform": [-60, -50]}, "ge": 0.1}},
    {"name": "noise", "model": "poisson", "size": 5, "params": {"rate_hz": 10}}
  ],
  "projections": [
    {"pre": "src", "post": "exc", "target": "exc", "connect": "all_to_all", "weight": 0.5, "delay_ms": 1.0},
    {"pre": "exc", "post": "exc", "target": "inh", "connect": "fixed_probability", "p": 0.2, "weight": 2.0},
    {"pre": "noise", "post": "exc", "connect": "fixed_probability", "p": 0.5, "weight": 0.1}
  ],
  "currents": [{"population": "exc", "amplitude": 3, "start_ms": 2, "stop_ms": 5, "first": 1, "count": 4}],
  "probes": [{"population": "exc", "variable": "v", "neurons": [0, 19], "every": 2}]
})";

TEST(SnnNetworkJson, ParsesAValidNetwork) {
  const Network net = parse_network_json(kValid, "valid.json");
  ASSERT_EQ(net.populations.size(), 3u);
  EXPECT_EQ(net.populations[0].size, 2);   // from times_ms
  EXPECT_EQ(net.populations[1].model, Model::lif_coba);
  EXPECT_EQ(net.populations[1].init.at("ge").lo, 0.1);
  EXPECT_EQ(net.projections[2].target, "exc");   // the default
  EXPECT_EQ(net.projections[0].name, "src->exc");
  EXPECT_EQ(net.steps(), 100);
  EXPECT_EQ(net.check(), "");
}

// One edit of the valid network per case: what the error must name.
struct BadCase {
  std::string edit;     // JSON text to replace ...
  std::string with;     // ... with this
  std::string expect;   // a piece of the message
};

TEST(SnnNetworkJson, BadFilesNameTheField) {
  const std::vector<BadCase> cases{
      {R"("model": "lif_coba")", R"("model": "lif_cuba")", "populations[1].model: unknown model \"lif_cuba\""},
      {R"("tau_m": 20, )", "", "populations[1] (\"exc\").params.tau_m: missing (required by lif_coba"},
      {R"("delay_ms": 1.0)", R"("delay_ms": -1.0)", "projections[0] (\"src->exc\").delay_ms: must be >= 0, got -1"},
      {R"("size": 20)", R"("size": 0)", "populations[1] (\"exc\").size: must be at least 1, got 0"},
      {R"("pre": "exc", "post": "exc")", R"("pre": "ex", "post": "exc")", "projections[1] (\"ex->exc\").pre: no population named \"ex\""},
      {R"("pre": "noise", "post": "exc")", R"("pre": "noise", "post": "out")", "projections[2] (\"noise->out\").post: no population named \"out\""},
      {R"("pre": "src", "post": "exc")", R"("pre": "exc", "post": "src")", "\"src\" is a spike_times source, which takes no synaptic input"},
      {R"("t_ref": 5})", R"("t_ref": 5, "tau_x": 1})", "params.tau_x: lif_coba has no parameter tau_x"},
      {R"("dt_ms": 0.1,)", R"("dt_ms": 0.1, "durration_ms": 5,)", "unknown key \"durration_ms\""},
      {R"("weight": 2.0})", R"("weight": "2"})", "projections[1].weight: must be a number, got string"},
      {R"("p": 0.2)", R"("p": 1.2)", "projections[1] (\"exc->exc\").p: must be in [0, 1], got 1.2"},
      {R"("target": "inh")", R"("target": "gaba")", "target: must be \"exc\" or \"inh\", got \"gaba\""},
      {R"("connect": "all_to_all")", R"("connect": "random")", "projections[0].connect: unknown connect \"random\""},
      {R"("variable": "v")", R"("variable": "u")", "probes[0].variable: lif_coba has no state variable u"},
      {R"("neurons": [0, 19])", R"("neurons": [0, 20])", "probes[0].neurons: 20 is outside [0, 20)"},
      {R"("rate_hz": 10)", R"("rate_hz": 20000)", "rate_hz: 20000 Hz is more than one spike per step"},
      {R"([[1.0, 2.0], [0.5]])", R"([[1.0, 1.04], [0.5]])", "times_ms[0]: two spikes in step 10"},
      {R"("first": 1, "count": 4)", R"("first": 18, "count": 4)", "currents[0]: neurons [18, 22) are outside \"exc\""},
      {R"("name": "noise")", R"("name": "exc")", "a second population named \"exc\""},
      {R"("weight": 0.5, )", "", "projections[0] (\"src->exc\").weight: missing"},
      {R"("duration_ms": 10,)", "", "missing \"duration_ms\""},
      {R"("init": {"v")", R"("init": {"w")", "init.w: lif_coba has no state variable w"},
      {R"({"uniform": [-60, -50]})", R"({"uniform": [-50, -60]})", "init.v: needs finite bounds with lo <= hi"},
      {R"("connect": "all_to_all", "weight": 0.5,)", R"("connect": "matrix", "file": "nope.mtx", "weight": 0.5,)",
       "projections[0].file: nope.mtx: cannot open"},
      {R"("dt_ms": 0.1)", R"("dt_ms": 0)", "dt_ms: must be a positive number"},
      {R"("every": 2)", R"("every": 0)", "probes[0].every: must be in [1, 2^30] steps"},
  };
  for (const BadCase& c : cases) {
    std::string text = kValid;
    const auto at = text.find(c.edit);
    ASSERT_NE(at, std::string::npos) << c.edit;
    text.replace(at, c.edit.size(), c.with);
    try {
      parse_network_json(text, "net.json");
      ADD_FAILURE() << "accepted: " << c.with << " (expected: " << c.expect << ")";
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << "got: " << e.what();
      EXPECT_EQ(e.path(), "net.json");
    }
  }
  EXPECT_THROW(parse_network_json("{\"dt_ms\": 0.1,", "broken.json"), FileError);
  EXPECT_THROW(parse_network_json("[]", "array.json"), FileError);
  EXPECT_THROW(load_network("/nonexistent/net.json"), FileError);
}

TEST(SnnNetworkJson, MatrixFileRelativeToTheJson) {
  testing::TempDir dir("snn-json");
  CsrMatrix m = csr_from_coo(2, 20, std::vector<std::int64_t>{0, 1, 1}, std::vector<std::int64_t>{3, 0, 19},
                             std::vector<float>{0.5f, 1.5f, -2.0f});
  write_matrix_market(m, (dir.path() / "w.mtx").string());
  std::string text = kValid;
  const std::string edit = R"("connect": "all_to_all", "weight": 0.5,)";
  text.replace(text.find(edit), edit.size(), R"("connect": "matrix", "file": "w.mtx",)");
  {
    std::ofstream f(dir.path() / "net.json");
    f << text;
  }
  const Network net = load_network((dir.path() / "net.json").string());
  ASSERT_EQ(net.projections[0].connect, Connect::matrix);
  const snn::detail::CompiledNetwork c = snn::detail::compile(net);
  // Source neuron 1 (global 1) has 2 synapses with weights 1.5 and -2 (fixed point of exc's excitatory input).
  ASSERT_EQ(c.row_ptr[2] - c.row_ptr[1], 2);
  const float scale = c.pop_f[1 * ELLESMERE_SNN_POP_FLOATS + ELLESMERE_SNN_PF_SCALE_E];
  EXPECT_EQ(float(c.weight_q[std::size_t(c.row_ptr[1])]) * scale, 1.5f);
  EXPECT_EQ(float(c.weight_q[std::size_t(c.row_ptr[1]) + 1]) * scale, -2.0f);
}

TEST(SnnCompile, ConnectorsAndPadding) {
  Network net;
  net.duration_ms = 1;
  net.seed = 42;
  Population a;
  a.name = "a";
  a.model = Model::lif_exp;
  a.size = 300;
  a.params = {{"tau_m", 10}, {"v_thresh", -50}, {"v_reset", -60}, {"e_leak", -60}};
  Population b = a;
  b.name = "b";
  b.size = 17;
  net.populations = {a, b};
  Projection fp;
  fp.pre = "a";
  fp.post = "a";
  fp.connect = Connect::fixed_probability;
  fp.p = 0.1;
  fp.weight = 1.0;
  fp.allow_self = false;
  Projection all = fp;
  all.pre = "b";
  all.post = "b";
  all.connect = Connect::all_to_all;
  Projection one = fp;
  one.pre = "b";
  one.post = "b";
  one.connect = Connect::one_to_one;
  one.target = "inh";
  one.delay_ms = 0.26;   // 3 steps (rounded)
  net.projections = {fp, all, one};
  const snn::detail::CompiledNetwork c = snn::detail::compile(net);
  EXPECT_EQ(c.start_of(0), 0);
  EXPECT_EQ(c.start_of(1), 304);   // aligned to ELLESMERE_SNN_ALIGN
  EXPECT_EQ(c.n_total, 304 + 32);
  EXPECT_TRUE(c.is_padding(300));
  EXPECT_FALSE(c.is_padding(320));
  EXPECT_TRUE(c.is_padding(321));
  EXPECT_EQ(c.n_neurons, 317);
  EXPECT_EQ(c.ring, 3 + 2);
  // fixed_probability: about p * 300 * 299 synapses (5 sd), no self-connection, sorted unique targets per row.
  std::int64_t fp_count = c.row_ptr[300];
  const double mean = 0.1 * 300 * 299, sd = std::sqrt(mean * 0.9);
  EXPECT_NEAR(double(fp_count), mean, 5 * sd);
  for (int i = 0; i < 300; ++i) {
    std::set<int> seen;
    for (int q = c.row_ptr[std::size_t(i)]; q < c.row_ptr[std::size_t(i) + 1]; ++q) {
      EXPECT_NE(c.dest[std::size_t(q)], i);
      EXPECT_TRUE(seen.insert(c.dest[std::size_t(q)]).second);
      EXPECT_LT(c.dest[std::size_t(q)], 300);
    }
  }
  // b: all-to-all without self (16 each) then one-to-one onto the inhibitory input with 3 steps of delay.
  for (int i = 0; i < 17; ++i) {
    const std::size_t g = std::size_t(304 + i);
    ASSERT_EQ(c.row_ptr[g + 1] - c.row_ptr[g], 17);
    const std::size_t last = std::size_t(c.row_ptr[g + 1]) - 1;
    EXPECT_EQ(c.dest[last], std::int32_t(c.n_total) + 304 + i);
    EXPECT_EQ(c.delay[last], 3);
  }
  EXPECT_EQ(snn::detail::problem_text(c), fmt::format("snn:n317y{}", fp_count + 17 * 17));
  // The same seed gives the same connectivity; another seed another.
  EXPECT_EQ(snn::detail::compile(net).dest, c.dest);
  net.seed = 43;
  EXPECT_NE(snn::detail::compile(net).dest, c.dest);
}

// The fixed point of a population's input: the largest possible one-step input (sum of |w| over all incoming
// synapses) stays below 2^30, with F as large as that allows (at most 30).
TEST(SnnCompile, FixedPointScaleFitsTheLargestInput) {
  Network net;
  net.duration_ms = 1;
  Population a;
  a.name = "a";
  a.model = Model::lif_coba;
  a.size = 100;
  a.params = {{"tau_m", 10}, {"v_thresh", -50}, {"v_reset", -60}, {"e_leak", -60}};
  net.populations = {a};
  Projection all;
  all.pre = "a";
  all.post = "a";
  all.connect = Connect::all_to_all;
  all.weight = 6.7;
  all.target = "inh";
  net.projections = {all};
  const snn::detail::CompiledNetwork c = snn::detail::compile(net);
  EXPECT_EQ(c.fixed_bits_e[0], 30);                                          // no excitatory input
  EXPECT_EQ(c.fixed_bits_i[0], int(std::floor(std::log2(double(1 << 30) / 670.0))));   // 100 * 6.7 = 670
  std::int64_t sum = 0;
  for (int q = 0; q < c.row_ptr[100]; ++q) sum += c.dest[std::size_t(q)] == std::int32_t(c.n_total) ? c.weight_q[std::size_t(q)] : 0;
  EXPECT_LT(sum, std::int64_t(1) << 30);
  EXPECT_GT(sum, std::int64_t(1) << 29);
}

// Philox4x32-10's published known answers (Random123 kat_vectors): counter 0, key 0 -> 6627e8d5 ...; counter and
// key all ones -> 408f276d ...; we use the first output word.
TEST(SnnArithmetic, PhiloxKnownAnswers) {
  EXPECT_EQ(ellesmere_snn_philox(0, 0, 0, 0, 0, 0), 0x6627e8d5u);
  EXPECT_EQ(ellesmere_snn_philox(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu),
            0x408f276du);
  EXPECT_EQ(ellesmere_snn_philox(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u),
            0xd16cfe09u);
  // uniform(): [0, 1) with 24 bits.
  for (std::uint32_t i = 0; i < 1000; ++i) {
    const float u = ellesmere_snn_uniform(1, 2, i, 7, 0);
    EXPECT_GE(u, 0.0f);
    EXPECT_LT(u, 1.0f);
    EXPECT_EQ(u * 16777216.0f, std::floor(u * 16777216.0f));
  }
}

TEST(SnnArithmetic, ExponentialIsAccurate) {
  double worst = 0;
  for (double x = -86.0; x <= 0.0; x += 0.001) {
    const float xf = float(x);
    const double exact = std::exp(double(xf));
    worst = std::max(worst, std::fabs(double(ellesmere_snn_exp(xf)) - exact) / exact);
  }
  EXPECT_LT(worst, 4e-7);   // a few ulp of float
  EXPECT_EQ(ellesmere_snn_exp(0.0f), 1.0f);
  EXPECT_EQ(ellesmere_snn_exp(1.0f), 1.0f);   // positive arguments are taken as 0
  EXPECT_EQ(ellesmere_snn_exp(-87.0f), 0.0f);
  EXPECT_EQ(ellesmere_snn_exp(-1e30f), 0.0f);
}

}  // namespace
}  // namespace ellesmere
