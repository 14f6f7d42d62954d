// The `ellesmere` command-line tool: devices, calibrate, selfcheck, profile, first-call, quantize-report, snn, tune show, plan, run.
// Every ellesmere::Error becomes one "ellesmere: error: ..." message and exit status 1.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/profile.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/snn.hpp"
#include "pipeline_cmds.hpp"
#include "ellesmere/tensor_io.hpp"
#include "reference/reference.hpp"
#include "ops/impl_registry.hpp"
#include "ops/problem_text.hpp"
#include "ops/target_limits.hpp"
#include "runtime/context_impl.hpp"
#include "selfcheck.hpp"
#include "tuning/tuning_db.hpp"

namespace {

using namespace ellesmere;

std::string mib(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t(1) << 30)) return fmt::format("{:.1f} GiB", double(bytes) / double(1 << 30));
  if (bytes >= (std::uint64_t(1) << 20)) return fmt::format("{:.0f} MiB", double(bytes) / double(1 << 20));
  return fmt::format("{} KiB", bytes >> 10);
}

int cmd_devices(const std::string& selector, bool json) {
  const auto devices = list_devices();
  std::optional<int> chosen;
  std::string why_none;
  try {
    chosen = select_device(selector).index;
  } catch (const Error& e) {
    why_none = e.what();
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : devices) {
      out.push_back({{"index", d.index},
                     {"selected", chosen && *chosen == d.index},
                     {"key", d.key},
                     {"family", d.family},
                     {"platform", d.platform_name},
                     {"name", d.name},
                     {"board_name", d.board_name},
                     {"vendor", d.vendor},
                     {"type", device_type_name(d.type)},
                     {"driver_version", d.driver_version},
                     {"device_version", d.device_version},
                     {"opencl_c_version", d.opencl_c_version},
                     {"compute_units", d.compute_units},
                     {"max_clock_mhz", d.max_clock_mhz},
                     {"max_work_group_size", d.max_work_group_size},
                     {"local_mem_bytes", d.local_mem_bytes},
                     {"global_mem_bytes", d.global_mem_bytes},
                     {"max_alloc_bytes", d.max_alloc_bytes},
                     {"fp16", d.has_fp16},
                     {"fp64", d.has_fp64},
                     {"extensions", d.extensions}});
    }
    std::cout << out.dump(2) << '\n';
    if (!chosen) std::cerr << "ellesmere: error: " << why_none << '\n';
    return chosen ? 0 : 1;   // as in text mode: no usable device (or a selector matching none) is a failure
  }
  if (devices.empty()) {
    std::cout << "No OpenCL device found. Install an ICD (tools/install-deps.sh installs PoCL), or check "
                 "OCL_ICD_VENDORS.\n";
    return 1;
  }
  fmt::print("OpenCL devices ('*' = the one ellesmere uses; ELLESMERE_DEVICE or --device picks another by index or "
             "name):\n");
  for (const auto& d : devices) {
    const bool sel = chosen && *chosen == d.index;
    fmt::print("{} {}  {}\n", sel ? "*" : " ", d.index, d.key);
    fmt::print("      {} / {}{}\n", d.platform_name, d.name, d.board_name.empty() ? "" : " (" + d.board_name + ")");
    fmt::print("      {}, {} CUs @ {} MHz, work-group <= {}, local {}, global {}, {}, fp16 {}, driver {}\n",
               device_type_name(d.type), d.compute_units, d.max_clock_mhz, d.max_work_group_size,
               mib(d.local_mem_bytes), mib(d.global_mem_bytes), d.opencl_c_version, d.has_fp16 ? "yes" : "no",
               d.driver_version);
  }
  if (!chosen) fmt::print("No device selected: {}\n", why_none);
  return chosen ? 0 : 1;
}

void print_profile(const DeviceProfile& p) {
  fmt::print("{} ({}){}\n", p.name, p.key, p.model_estimate ? "  [MODEL ESTIMATE: spec sheet, not measured]" : "");
  if (!p.device.empty()) fmt::print("  device            {}\n", p.device);
  if (!p.driver.empty()) fmt::print("  driver            {}\n", p.driver);
  if (!p.date.empty()) fmt::print("  measured          {}\n", p.date);
  fmt::print("  copy bandwidth    {:10.2f} GB/s\n", p.bandwidth_gbps);
  fmt::print("  fp32 FMA rate     {:10.2f} GFLOP/s\n", p.fp32_gflops);
  if (p.fp16_gflops > 0) fmt::print("  fp16 rate         {:10.2f} GFLOP/s\n", p.fp16_gflops);
  fmt::print("  int8 MAC rate     {:10.2f} GOP/s\n", p.int8_gops);
  fmt::print("  launch overhead   {:10.2f} us\n", p.launch_overhead_us);
  for (const auto& s : p.sources) fmt::print("  source: {}\n", s);
}

int cmd_calibrate(const std::string& selector, bool quick, bool save, bool verbose) {
  Context ctx(selector);
  fmt::print("Calibrating {} ({}){}...\n", ctx.device().name, ctx.device().key, quick ? " (quick)" : "");
  DeviceProfile p = calibrate(ctx, CalibrateOptions{.quick = quick, .verbose = verbose});
  print_profile(p);
  if (save) fmt::print("Saved to {}\n", save_profile(p));
  return 0;
}

nlohmann::json profile_json(const DeviceProfile& p) {
  return {{"key", p.key},
          {"name", p.name},
          {"model_estimate", p.model_estimate},
          {"device", p.device},
          {"driver", p.driver},
          {"date", p.date},
          {"compute_units", p.compute_units},
          {"bandwidth_gbps", p.bandwidth_gbps},
          {"fp32_gflops", p.fp32_gflops},
          {"fp16_gflops", p.fp16_gflops},
          {"int8_gops", p.int8_gops},
          {"launch_overhead_us", p.launch_overhead_us},
          {"sources", p.sources}};
}

// json: one object (the profile) on stdout, for scripts (tools/bench-report.sh); no saved profile is an error then.
int cmd_profile_show(const std::string& selector, const std::string& which, bool json) {
  auto show = [json](const DeviceProfile& p) {
    if (json) {
      fmt::print("{}\n", profile_json(p).dump(2));
    } else {
      print_profile(p);
    }
    return 0;
  };
  if (!which.empty()) {
    if (auto saved = load_saved_profile(which)) return show(*saved);
    return show(builtin_profile(which));
  }
  const DeviceInfo dev = select_device(selector);
  if (auto saved = load_saved_profile(dev.key)) {
    if (json) return show(*saved);
    print_profile(*saved);
  } else {
    if (json) throw NotSupported(fmt::format("no saved profile for {} (run `ellesmere calibrate`)", dev.key));
    fmt::print("No saved profile for {} (run `ellesmere calibrate`).\n", dev.key);
  }
  for (const auto& name : builtin_profile_names()) fmt::print("Built-in: {}\n", name);
  return 0;
}

int cmd_selfcheck(const std::string& selector, std::uint64_t seed) {
  Context ctx(selector);
  fmt::print("Self-check on {} ({}, {}), seed {}: every Impl against the Eigen reference, outputs poisoned "
             "first.\n",
             ctx.device().name, ctx.device().key, ctx.device().platform_name, seed);
  auto rows = tools::run_selfcheck(ctx, seed);
  fmt::print("{:<10} {:<26} {:<22} {:<22} {:>10} {:>10} {:>8} {:>10} {:>10}  {}\n", "op", "impl", "problem",
             "device", "max|err|", "rel err", "tol", "first ms", "kernel ms", "result");
  int failures = 0, skipped = 0;
  for (const auto& r : rows) {
    const bool ran = r.status == "ok" || r.status.rfind("FAIL: element", 0) == 0 || r.status.rfind("FAIL: error", 0) == 0;
    if (r.status.rfind("FAIL", 0) == 0) ++failures;
    if (r.status.rfind("skipped", 0) == 0) ++skipped;
    if (ran) {
      fmt::print("{:<10} {:<26} {:<22} {:<22} {:>10.2e} {:>10.2e} {:>8.0e} {:>10.2f} {:>10.3f}  {}\n", r.op, r.impl,
                 r.problem, r.device, r.max_abs_error, r.rel_error, r.tolerance, r.first_ms, r.device_ms, r.status);
    } else {
      fmt::print("{:<10} {:<26} {:<22} {:<22} {:>10} {:>10} {:>8} {:>10} {:>10}  {}\n", r.op, r.impl, r.problem,
                 r.device, "-", "-", "-", "-", "-", r.status);
    }
  }
  fmt::print("{}: {} of {} checks failed, {} skipped (an Impl that cannot run here, with its reason above); times "
             "measured on {}\n",
             failures ? "FAILED" : "PASSED", failures, rows.size(), skipped, ctx.device().key);
  return failures ? 1 : 0;
}

// Wall time of this process's first fp32 GEMM: Context creation, then the first call (program build or cache
// load, launch, wait), then a second call. tools/measure-first-call.sh runs it cold and warm.
int cmd_first_call(const std::string& selector, const std::string& problem_text, const std::string& impl) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  const GemmProblem p = GemmProblem::parse(problem_text);
  const auto a = reference::random_floats(std::size_t(p.m * p.k), 1);
  const auto b = reference::random_floats(std::size_t(p.k * p.n), 2);
  const auto t0 = Clock::now();
  Context ctx(selector);
  const auto t1 = Clock::now();
  Buffer<float> da(ctx, std::span<const float>(a)), db(ctx, std::span<const float>(b));
  Buffer<float> dc(ctx, std::size_t(p.m * p.n));
  const auto t2 = Clock::now();
  gemm_f32(ctx, p, da, db, dc, {.impl = impl}).wait();
  const auto t3 = Clock::now();
  gemm_f32(ctx, p, da, db, dc, {.impl = impl}).wait();
  const auto t4 = Clock::now();
  const auto stats = ctx.impl().programs.stats();
  fmt::print("first-call device={} problem={} impl={} context_ms={:.2f} first_call_ms={:.2f} second_call_ms={:.2f} "
             "programs_built={} programs_from_disk={}\n",
             ctx.device().key, p.str(), impl.empty() ? "(dispatch)" : impl, ms(t0, t1), ms(t2, t3), ms(t3, t4),
             stats.builds, stats.disk_hits);
  return 0;
}

// Per-layer weight-only quantization error: each file one 2-D fp32 weight (N outputs x K inputs, as PyTorch Linear
// and ONNX Gemm transB=1 store it), quantized in each requested format by round-to-nearest and with the MSE clip
// search. Nothing runs on a device.
int cmd_quantize_report(const std::vector<std::string>& files, const std::vector<std::string>& formats, bool kn) {
  struct Fmt {
    std::string name;
    GroupQuantOptions options;
  };
  std::vector<Fmt> fmts;
  for (const std::string& f : formats) {
    Fmt x{f, {}};
    const auto bad = [&] {
      return InvalidArgument(fmt::format("--format {}: expected q4_0, q8_0 or q<4|8>g<32|64|128>[_z] (e.g. q4g128_z)",
                                         f));
    };
    if (f == "q4_0") {
      x.options = {.bits = 4, .group = 32};
    } else if (f == "q8_0") {
      x.options = {.bits = 8, .group = 32};
    } else {
      int bits = 0, group = 0;
      char z[3] = {};
      const int got = std::sscanf(f.c_str(), "q%dg%d%2s", &bits, &group, z);
      if (got < 2 || (got == 3 && std::string(z) != "_z")) throw bad();
      x.options = {.bits = bits, .group = group, .zero_points = got == 3};
    }
    fmts.push_back(x);
  }
  std::cout << "Weight-only quantization error per layer (NMSE = sum (w - deq)^2 / sum w^2; clip: MSE-optimal clip "
               "search)\n";
  std::cout << fmt::format("{:<40} {:>12} {:<10} {:>7} {:>11} {:>11} {:>11}\n", "tensor", "N x K", "format",
                           "bits/w", "NMSE", "NMSE clip", "max|err|");
  for (const std::string& file : files) {
    const bool npy = file.size() > 4 && file.substr(file.size() - 4) == ".npy";
    const Tensor t = npy ? read_npy(file) : read_onnx_tensor(file);
    if (t.dtype != DType::f32 || t.shape.size() != 2) {
      throw InvalidArgument(fmt::format("{}: expected a 2-D fp32 weight matrix, got {} of rank {}", file,
                                        dtype_name(t.dtype), t.shape.size()));
    }
    const std::int64_t n = kn ? t.shape[1] : t.shape[0], k = kn ? t.shape[0] : t.shape[1];
    const WeightLayout layout = kn ? WeightLayout::kn : WeightLayout::nk;
    const auto w = t.values<float>();
    for (const Fmt& f : fmts) {
      const GroupedWeights q = quantize_grouped(w, n, k, layout, f.options);
      GroupQuantOptions clip = f.options;
      clip.clip_search = true;
      const QuantError e = quantization_error(w, layout, q);
      const QuantError ec = quantization_error(w, layout, quantize_grouped(w, n, k, layout, clip));
      std::cout << fmt::format("{:<40} {:>12} {:<10} {:>7.2f} {:>11.3e} {:>11.3e} {:>11.3e}\n", file,
                               fmt::format("{} x {}", n, k), f.name, q.bits_per_weight(), e.nmse, ec.nmse,
                               e.max_abs);
    }
  }
  return 0;
}


// `ellesmere snn NET.json --out spikes.csv`: simulate a network description on the device, write the spikes, print a
// summary (rates, wall time per biological second, updates and synaptic events per second); --verify reruns it on
// the host reference and compares spike trains and the probes' membrane potentials.
int cmd_snn(const std::string& device, const std::string& path, const std::string& out, const std::string& probes_out,
            int steps_per_sync, bool verify, bool json, bool profile) {
  const snn::Network net = snn::load_network(path);
  Context ctx(device);
  snn::SimulationOptions options;
  options.steps_per_sync = steps_per_sync;
  options.profile = profile;
  const snn::SimulationResult r = snn::simulate(ctx, net, options);
  if (!out.empty()) {
    std::ofstream f(out);
    if (!f) throw FileError(out, "cannot open for writing");
    snn::write_spikes_csv(f, net, r);
    f.close();
    if (!f) throw FileError(out, "write failed");
  }
  if (!probes_out.empty()) {
    std::ofstream f(probes_out);
    if (!f) throw FileError(probes_out, "cannot open for writing");
    snn::write_probes_csv(f, net, r);
    f.close();
    if (!f) throw FileError(probes_out, "write failed");
  }
  const double bio_s = double(r.steps) * r.dt_ms * 1e-3;
  const std::int64_t neurons = net.neurons();
  nlohmann::json summary{{"network", path},
                         {"device", ctx.device().name},
                         {"device_key", ctx.device().key},
                         {"neurons", neurons},
                         {"steps", r.steps},
                         {"dt_ms", r.dt_ms},
                         {"steps_per_sync", r.steps_per_sync},
                         {"wall_s", r.wall_seconds},
                         {"wall_s_per_bio_s", bio_s > 0 ? r.wall_seconds / bio_s : 0.0},
                         {"neuron_updates_per_s", r.wall_seconds > 0 ? double(neurons) * double(r.steps) / r.wall_seconds : 0.0},
                         {"synaptic_events", r.synaptic_events},
                         {"synaptic_events_per_s", r.wall_seconds > 0 ? double(r.synaptic_events) / r.wall_seconds : 0.0},
                         {"recorded_spikes", r.spikes.size()}};
  nlohmann::json rates = nlohmann::json::object();
  for (std::size_t p = 0; p < net.populations.size(); ++p) rates[net.populations[p].name] = r.rate_hz(net, int(p));
  summary["rates_hz"] = rates;
  if (profile) {
    summary["profile"] = {{"update_s", r.update_seconds}, {"propagate_s", r.propagate_seconds},
                          {"probe_s", r.probe_seconds},
                          {"overhead_s", r.wall_seconds - r.update_seconds - r.propagate_seconds - r.probe_seconds}};
  }
  bool ok = true;
  if (verify) {
    const snn::SimulationResult ref = reference::snn_ref(net);
    const std::size_t mismatched = reference::snn_spike_mismatches(r.spikes, ref.spikes);
    double max_dv = 0;
    for (std::size_t k = 0; k < r.probes.size() && k < ref.probes.size(); ++k) {
      for (std::size_t e = 0; e < r.probes[k].values.size() && e < ref.probes[k].values.size(); ++e) {
        max_dv = std::max(max_dv, double(std::fabs(r.probes[k].values[e] - ref.probes[k].values[e])));
      }
    }
    ok = mismatched == 0 && max_dv <= reference::kSnnVoltageTolerance;
    summary["verify"] = {{"reference_spikes", ref.spikes.size()}, {"mismatched_spikes", mismatched},
                         {"max_probe_difference", max_dv}, {"reference_wall_s", ref.wall_seconds}, {"ok", ok}};
  }
  if (json) {
    std::cout << summary.dump(2) << '\n';
  } else {
    fmt::print("{}: {} neurons, {} steps of {} ms on {} ({})\n", path, neurons, r.steps, r.dt_ms, ctx.device().name,
               ctx.device().key);
    for (std::size_t p = 0; p < net.populations.size(); ++p) {
      fmt::print("  {:<16} {:>8} neurons {:>10} spikes {:>9.2f} Hz\n", net.populations[p].name, net.populations[p].size,
                 r.population_spikes[p], r.rate_hz(net, int(p)));
    }
    fmt::print("wall {:.3f} s ({:.3f} s per biological second, {} steps per host round trip), {:.3g} neuron "
               "updates/s, {} synaptic events ({:.3g}/s) [measured on {}]\n",
               r.wall_seconds, bio_s > 0 ? r.wall_seconds / bio_s : 0.0, r.steps_per_sync,
               summary["neuron_updates_per_s"].get<double>(), r.synaptic_events,
               summary["synaptic_events_per_s"].get<double>(), ctx.device().key);
    if (profile) {
      fmt::print("device time: update {:.3f} s, propagate {:.3f} s, probes {:.3f} s; launches and round trips {:.3f} s\n",
                 r.update_seconds, r.propagate_seconds, r.probe_seconds,
                 summary["profile"]["overhead_s"].get<double>());
    }
    if (!out.empty()) fmt::print("spikes: {} rows in {}\n", r.spikes.size(), out);
    if (verify) {
      fmt::print("verify: {} reference spikes, {} mismatched, max probe difference {:.3g} mV (bound {}): {}\n",
                 summary["verify"]["reference_spikes"].get<std::size_t>(),
                 summary["verify"]["mismatched_spikes"].get<std::size_t>(), summary["verify"]["max_probe_difference"].get<double>(),
                 reference::kSnnVoltageTolerance, ok ? "ok" : "MISMATCH");
    }
  }
  return ok ? 0 : 1;
}

// `ellesmere tune show PROBLEM`: for every Impl of the problem's op with tunables, the Params the lookup gives on this
// device (or the RX 580 target) and where they come from: the entry (file:line, layer) and its level in the hierarchy
// exact problem -> nearest problem -> device family -> Impl default, plus entries passed over and why.
int cmd_tune_show(const std::string& selector, const std::string& problem, const std::string& target) {
  const std::string op = ops::ProblemText::parse(problem).op;
  std::optional<Context> ctx;
  std::string key, family;
  DeviceInfo limits;
  if (target.empty()) {
    ctx.emplace(selector);
    limits = ctx->device();
    key = limits.key, family = limits.family;
  } else if (target == "rx580" || target == "polaris") {
    const ops::TargetLimits t = ops::polaris_limits();
    limits = t.as_device();
    key = t.device_key, family = t.device_family;
  } else {
    throw InvalidArgument(fmt::format("unknown target \"{}\" (known: rx580)", target));
  }
  auto& db = tuning::TuningDb::global();
  const auto entries = db.entries();
  std::size_t layers[3] = {0, 0, 0};
  for (const auto& e : entries) ++layers[int(e.layer)];
  const std::string device_class = tuning::class_of(family);
  std::cout << fmt::format("{} on {} (family {}{}){}\n", problem, key, family,
                           device_class.empty() ? "" : fmt::format(", class {}", device_class),
                           target.empty() ? "" : fmt::format(", limits of {}", ops::polaris_limits().name));
  std::cout << fmt::format("database: {} shipped entries, {} user entries ({}), {} runtime overrides\n", layers[0],
                           layers[1], tuning::TuningDb::user_file_path(), layers[2]);
  bool any = false;
  for (const ops::ImplBase* impl : ops::all_impls()) {
    if (impl->op() != op) continue;
    any = true;
    if (impl->space().params.empty()) {
      std::cout << fmt::format("  {:<24} no tunable parameters\n", impl->name());
      continue;
    }
    const tuning::Lookup l = db.lookup(key, family, limits, *impl, problem);
    std::cout << fmt::format("  {:<24} {}\n", impl->name(), l.params.str());
    std::cout << fmt::format("  {:<24} from: {}", "", tuning::level_name(l.level));
    if (l.entry) {
      std::cout << fmt::format(" ({} layer, {}: {} {} {:.1f} us)", tuning::layer_name(l.entry->layer), l.entry->origin,
                               l.entry->device, l.entry->problem, l.entry->time_us);
    }
    std::cout << '\n';
    if (!l.invalid.empty()) std::cout << fmt::format("  {:<24} the defaults do not fit: {}\n", "", l.invalid);
    for (const auto& s : l.skipped) std::cout << fmt::format("  {:<24} passed over: {}\n", "", s);
  }
  if (!any) throw InvalidArgument(fmt::format("no Impl runs op \"{}\"", op));
  for (const auto& w : db.warnings()) std::cout << "warning: " << w << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ellesmere: OpenCL kernels for AMD Polaris GPUs (RX 470/480/570/580/590)"};
  app.require_subcommand(1);
  std::string device;
  app.add_option("--device", device,
                 "Device to use: an index from `ellesmere devices` or a case-insensitive name substring "
                 "(default: ELLESMERE_DEVICE, else the first GPU, accelerator, then CPU)");

  bool json = false;
  auto* devices = app.add_subcommand("devices", "List OpenCL devices with their DeviceKey and limits");
  devices->add_flag("--json", json, "Print JSON");

  bool quick = false, no_save = false, verbose = false;
  auto* cal = app.add_subcommand("calibrate", "Measure bandwidth, fp32/int8 rates and launch overhead; save the "
                                              "device profile");
  cal->add_flag("--quick", quick, "Smaller sizes and fewer repetitions");
  cal->add_flag("--no-save", no_save, "Print only; do not write the profile");
  cal->add_flag("-v,--verbose", verbose, "Print every measurement");

  std::uint64_t seed = 2026;
  auto* self = app.add_subcommand("selfcheck", "Run every op's Impls on a small problem against the reference");
  self->add_option("--seed", seed, "Seed of the random inputs");

  std::string which;
  auto* profile = app.add_subcommand("profile", "Device profiles");
  profile->require_subcommand(1);
  auto* show = profile->add_subcommand("show", "Print a profile: a saved key, a built-in name (rx580), or the "
                                               "current device's");
  show->add_option("name", which, "Profile key or built-in name");
  show->add_flag("--json", json, "Print the profile as one JSON object");

  std::string fc_problem = "gemm_f32:m256n256k256", fc_impl;
  auto* first = app.add_subcommand("first-call", "Time this process's first fp32 GEMM (cache load or compile "
                                                 "included); see tools/measure-first-call.sh");
  first->add_option("--problem", fc_problem, "Problem to run");
  first->add_option("--impl", fc_impl, "Impl to force (default: dispatch's choice)");

  std::vector<std::string> qr_files, qr_formats{"q4_0", "q4g128_z", "q8_0"};
  bool qr_kn = false;
  auto* qreport = app.add_subcommand("quantize-report", "Per-layer error (NMSE) of weight-only INT4/INT8 quantization "
                                                        "of fp32 weight files (.npy or ONNX TensorProto .pb)");
  qreport->add_option("files", qr_files, "2-D fp32 weights, N x K (outputs x inputs)")->required();
  qreport->add_option("--format", qr_formats, "Formats: q4_0, q8_0, q<bits>g<group>[_z] (default q4_0 q4g128_z q8_0)");
  qreport->add_flag("--kn", qr_kn, "The files hold K x N (MatMul's B) instead of N x K");

  std::string snn_file, snn_out, snn_probes;
  int snn_sps = 0;
  bool snn_verify = false, snn_json = false, snn_profile = false;
  std::string ts_problem, ts_target;
  auto* tune_cmd = app.add_subcommand("tune", "The tuning database (ellesmere-tune writes it)");
  tune_cmd->require_subcommand(1);
  auto* tune_show = tune_cmd->add_subcommand("show", "Print which database entry (and which level of the lookup) each "
                                                      "Impl of a problem would use");
  tune_show->add_option("problem", ts_problem, "Canonical problem, e.g. gemm_i8:m1n4096k4096")->required();
  tune_show->add_option("--target", ts_target, "Look up for a target instead of this device: rx580");

  auto* snn_cmd = app.add_subcommand("snn", "Simulate a spiking network (JSON description) and write its spikes as "
                                            "time_ms,population,index rows; tools/snn-raster.py plots them");
  snn_cmd->add_option("network", snn_file, "Network description (.json)")->required();
  snn_cmd->add_option("--out", snn_out, "Spike CSV to write (time_ms,population,index)");
  snn_cmd->add_option("--probes", snn_probes, "Probe CSV to write (time_ms,population,variable,index,value)");
  snn_cmd->add_option("--steps-per-sync", snn_sps, "Steps enqueued per host round trip (default: tuned)");
  snn_cmd->add_flag("--verify", snn_verify, "Also run the host reference and compare spikes and probes");
  snn_cmd->add_flag("--json", snn_json, "Print the summary as JSON");
  snn_cmd->add_flag("--profile", snn_profile, "Time each kernel with OpenCL events (update, propagate, probes)");

  ellesmere::cli::PipelineArgs pl;
  auto add_plan_options = [&pl](CLI::App* cmd) {
    cmd->add_option("model", pl.model, "The model (.onnx)")->required();
    cmd->add_option("--target", pl.target, "accuracy | balanced | speed | memory | extreme (default balanced; "
                                           "plain inference: accuracy)");
    cmd->add_option("--profile", pl.profile, "Predictions that decide: current (this device, default) or rx580 "
                                             "(the RX 580 model)");
    cmd->add_option("--json", pl.json, "Also write the report as JSON (schema in the README)");
    cmd->add_option("--calibration", pl.calibration, "Calibration inputs (.npy, N x ...): activation ranges and "
                                                     "per-layer sensitivities");
    cmd->add_option("--calibration-labels", pl.calibration_labels, "Labels of the calibration inputs (.npy)");
    cmd->add_option("--max-accuracy-drop", pl.max_accuracy_drop, "Largest accepted accuracy drop, as a fraction "
                                                                 "(0.01 = 1 point); default per target");
    cmd->add_option("--memory-budget", pl.memory_budget, "Largest total weight size (bytes, or 512K, 2M, ...)");
    cmd->add_option("--batch", pl.batch, "Samples per run (default 50)");
    cmd->add_flag("-v,--verbose", pl.verbose, "Print calibration and sensitivity measurements");
  };
  auto* plan_cmd = app.add_subcommand("plan", "Plan an ONNX model: kernel candidates per layer, predicted time on "
                                              "the RX 580 model and this device, memory, choices (no execution)");
  add_plan_options(plan_cmd);
  auto* run_cmd = app.add_subcommand("run", "Run an ONNX model: plan, verify on labelled data and report "
                                            "estimated against measured (--data), or plain inference (--input)");
  add_plan_options(run_cmd);
  run_cmd->add_option("--data", pl.data, "Evaluation inputs (.npy, N x ...)");
  run_cmd->add_option("--labels", pl.labels, "Evaluation labels (.npy, N class indices)");
  run_cmd->add_option("--input", pl.inputs, "NAME=FILE: a graph input from a .npy or ONNX TensorProto .pb file "
                                            "(plain inference; repeat for each input)");
  run_cmd->add_option("--output-dir", pl.output_dir, "Plain inference: write every output as DIR/<output name>.npy");

  // A word that names no command: say so (CLI11 alone would only say that a subcommand is required).
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device") {
      ++i;   // its value
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), a) == names.end()) {
      std::cerr << fmt::format("ellesmere: error: unknown command \"{}\" (commands: {}; see ellesmere --help)\n", a,
                               fmt::join(names, ", "));
      return static_cast<int>(CLI::ExitCodes::ExtrasError);
    }
    break;
  }
  CLI11_PARSE(app, argc, argv);
  try {
    if (*devices) return cmd_devices(device, json);
    if (*cal) return cmd_calibrate(device, quick, !no_save, verbose);
    if (*self) return cmd_selfcheck(device, seed);
    if (*show) return cmd_profile_show(device, which, json);
    if (*first) return cmd_first_call(device, fc_problem, fc_impl);
    if (*tune_show) return cmd_tune_show(device, ts_problem, ts_target);
    if (*qreport) return cmd_quantize_report(qr_files, qr_formats, qr_kn);
    pl.device = device;
    if (*plan_cmd) return ellesmere::cli::cmd_plan(pl);
    if (*run_cmd) return ellesmere::cli::cmd_run(pl);
    if (*snn_cmd) return cmd_snn(device, snn_file, snn_out, snn_probes, snn_sps, snn_verify, snn_json, snn_profile);
  } catch (const ellesmere::Error& e) {
    std::cerr << "ellesmere: error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ellesmere: internal error: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
