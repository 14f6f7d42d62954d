// Sparse CSR product benchmarks: every spmm_csr Impl beside, on the same matrices and device, ViennaCL's CSR
// products (same OpenCL queue), Eigen's SparseMatrix<RowMajor> times a row-major dense matrix on the host (all
// host threads), and the dense fp32 GEMM the pruned layer replaces (CLBlast sgemm and our gemm_f32_tile2d).
// Problems tagged "bench" in tests/problems/spmm_csr.txt. Counters: GFLOPS (2 nnz N), GBps, pct_peak (roofline of
// the calibrated profile: values + indices + row_ptr + X + Y over the copy bandwidth, or the flops). A sparse
// product on Polaris, as here, is bound by those bytes; no sparse arithmetic is faster than fp32. Our rows add
// pct_roofline_now, the same roofline against the copy bandwidth measured just before and after the row
// (copy_GBps_now), since the profile's was measured on another day and a shared host's bandwidth drifts; the
// first and last rows, copy_bandwidth/256MiB_start and _end, record that drift over the run.
// After the runs, the crossover report: the density below which our sparse product beats the dense GEMM, for
// N = 1 and N = 64 (median of runs through the public dispatch), which the cost model uses.
// Run: build/bench/bench_spmm [--benchmark_format=json] [--no_crossover]
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/sparse.hpp"
#include "ops/dispatch.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "ops/spmm/spmm_impl.hpp"
#include "peer_viennacl.hpp"
#include "peers.hpp"
#include "reference/reference.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::bench {
namespace {

// The matrix of a problem (its N aside), made once: a 4096 x 4096 matrix at 50 % takes a second to generate.
const CsrMatrix& matrix_for(const SpmmProblem& p) {
  static std::map<std::string, CsrMatrix> cache;
  SpmmProblem shape = p;
  shape.n = 1;
  auto it = cache.find(shape.str());
  if (it == cache.end()) it = cache.emplace(shape.str(), reference::csr_for_problem(shape, 21)).first;
  return it->second;
}

ops::Traffic traffic_of(const CsrMatrix& a, std::int64_t n) {
  const double nnz = double(a.nnz());
  return {2.0 * nnz * double(n),
          8.0 * nnz + 4.0 * double(a.rows + 1) + 4.0 * double(a.cols * n) + 4.0 * double(a.rows * n)};
}

void register_impl(const ops::SpmmImpl& impl, const std::string& problem) {
  benchmark::RegisterBenchmark(
      (impl.name() + "/" + problem).c_str(),
      [&impl, problem](benchmark::State& state) {
        Context& ctx = env().context;
        const SpmmProblem p = SpmmProblem::parse(problem);
        const CsrMatrix& a = matrix_for(p);
        const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), impl, problem);
        if (!lookup.invalid.empty()) {
          state.SkipWithError(("default Params do not fit this device: " + lookup.invalid).c_str());
          return;
        }
        const CsrRowStats s = row_stats(a);
        state.SetLabel(fmt::format("{} | rows mean {:.0f} max {} cv {:.2f}", lookup.params.str(), s.mean, s.max, s.cv));
        const DeviceCsr d = upload_csr(ctx, a);
        Buffer<float> x(ctx, std::span<const float>(reference::random_floats(std::size_t(p.k * p.n), 2)), "X");
        Buffer<float> y(ctx, std::size_t(p.m * p.n), "Y");
        ops::SpmmArgs args;
        args.a = &d;
        args.x = x.handle();
        args.y = y.handle();
        time_device_with_copy(state, traffic_of(a, p.n), env().profile.fp32_gflops * 1e9,
                              [&] { return impl.launch(ctx.impl(), p, lookup.params, args); });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

using EigenSparse = Eigen::SparseMatrix<float, Eigen::RowMajor, int>;
EigenSparse to_eigen(const CsrMatrix& a) {
  return Eigen::Map<const EigenSparse>(a.rows, a.cols, a.nnz(), a.row_ptr.data(), a.col_idx.data(), a.values.data());
}

void register_peer_eigen_spmm(const std::string& label, const CsrMatrix& a, std::int64_t n) {
  benchmark::RegisterBenchmark(
      ("peer_eigen_spmm/" + label).c_str(),
      [&a, n](benchmark::State& state) {
        using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        const EigenSparse s = to_eigen(a);
        Eigen::setNbThreads(int(std::max(1u, std::thread::hardware_concurrency())));
        state.SetLabel(fmt::format("host CPU, Eigen {} thread(s), SparseMatrix<RowMajor> x {}", Eigen::nbThreads(),
                                   n == 1 ? "vector" : "row-major dense"));
        if (n == 1) {
          const Eigen::VectorXf x = Eigen::VectorXf::Random(a.cols);
          Eigen::VectorXf y(a.rows);
          time_host(state, traffic_of(a, n), env().profile.fp32_gflops * 1e9, [&] {
            y.noalias() = s * x;
            benchmark::DoNotOptimize(y.data());
          });
        } else {
          const RowMajor x = RowMajor::Random(a.cols, n);
          RowMajor y(a.rows, n);
          time_host(state, traffic_of(a, n), env().profile.fp32_gflops * 1e9, [&] {
            y.noalias() = s * x;
            benchmark::DoNotOptimize(y.data());
          });
        }
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// Our own dense fp32 GEMM on the shape the pruned layer replaces (the tuned gemm_f32_tile2d).
void register_dense_ours(const GemmProblem& g) {
  benchmark::RegisterBenchmark(
      ("gemm_f32_tile2d/" + g.str()).c_str(),
      [g](benchmark::State& state) {
        Context& ctx = env().context;
        Buffer<float> a(ctx, std::span<const float>(reference::random_floats(std::size_t(g.m * g.k), 1)), "A");
        Buffer<float> b(ctx, std::span<const float>(reference::random_floats(std::size_t(g.k * g.n), 2)), "B");
        Buffer<float> c(ctx, std::size_t(g.m * g.n), "C");
        state.SetLabel("dense fp32, the layer before pruning");
        time_device(state, ops::gemm_f32_traffic(g), env().profile.fp32_gflops * 1e9,
                    [&] { return gemm_f32(ctx, g, a, b, c, {.impl = "gemm_f32_tile2d"}); });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// ---- crossover: the density below which the sparse product beats the dense one ------------------------------

double median_ms(const std::function<EventList()>& run, int runs) {
  run().wait();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) ms.push_back(run().span_ns() * 1e-6);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void print_crossover() {
  Context& ctx = env().context;
  const std::int64_t m = 4096, k = 4096;
  const double densities[] = {1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01};
  std::cout << fmt::format("\nCrossover against dense fp32 GEMM, {} x {} times {} x N, on {} ({}), median of 9 "
                           "runs through the public dispatch\n",
                           m, k, k, env().profile.key, env().profile.device);
  for (std::int64_t n : {1, 64}) {
    const GemmProblem g{.m = m, .n = n, .k = k};
    Buffer<float> da(ctx, std::span<const float>(reference::random_floats(std::size_t(m * k), 1)), "A");
    Buffer<float> db(ctx, std::span<const float>(reference::random_floats(std::size_t(k * n), 2)), "B");
    Buffer<float> dc(ctx, std::size_t(m * n), "C");
    const double clblast_ms = median_ms(
        [&] { return ops::clblast_sgemm(ctx.impl(), g, {da.handle(), db.handle(), dc.handle(), 1.0f, 0.0f}); }, 9);
    // Our best dense path: gemm_f32_tile2d on Y = A X, or on the transposed form Y^T = X^T A^T (A read as an
    // N x K "B^T": the orientation our tuned GEMV-shaped entries cover), whichever is faster.
    const GemmProblem gt{.m = n, .n = m, .k = k, .trans_b = true};
    Buffer<float> dxt(ctx, std::span<const float>(reference::random_floats(std::size_t(k * n), 2)), "X^T");
    const double direct_ms = median_ms([&] { return gemm_f32(ctx, g, da, db, dc, {.impl = "gemm_f32_tile2d"}); }, 9);
    const double transposed_ms =
        median_ms([&] { return gemm_f32(ctx, gt, dxt, da, dc, {.impl = "gemm_f32_tile2d"}); }, 9);
    const double ours_dense_ms = std::min(direct_ms, transposed_ms);
    std::cout << fmt::format("N = {}: dense peer_clblast_sgemm {} {:.3f} ms; gemm_f32_tile2d {} {:.3f} ms, {} {:.3f} ms\n",
                             n, g.str(), clblast_ms, g.str(), direct_ms, gt.str(), transposed_ms);
    std::cout << fmt::format("  {:>9} {:>9} {:>22} {:>10} {:>10} {:>10}\n", "density", "sparsity", "Impl", "ms",
                             "vs clblast", "vs ours");
    std::vector<std::pair<double, double>> points;   // (density, ms)
    for (double d : densities) {
      const SpmmProblem p{.m = m, .k = k, .n = 1, .density = d};
      const CsrMatrix& a = matrix_for(p);
      const DeviceCsr dev = upload_csr(ctx, a);
      Buffer<float> x(ctx, std::span<const float>(reference::random_floats(std::size_t(k * n), 2)), "X");
      Buffer<float> y(ctx, std::size_t(m * n), "Y");
      const double ms = median_ms([&] { return spmm_csr(ctx, dev, n, x, y); }, 9);
      const auto chosen = ops::choose_spmm(dev.problem(n), ctx.device(), "").first->name();
      points.emplace_back(d, ms);
      std::cout << fmt::format("  {:>9.3f} {:>8.1f}% {:>22} {:>10.3f} {:>9.2f}x {:>9.2f}x\n", d, 100 * (1 - d), chosen,
                               ms, clblast_ms / ms, ours_dense_ms / ms);
    }
    // The density where the sparse time meets a dense time: log-log interpolation between neighbouring points.
    auto crossover = [&](double dense_ms) -> std::string {
      for (std::size_t i = 0; i < points.size(); ++i) {
        if (points[i].second <= dense_ms) {
          if (i == 0) return fmt::format("above {:.2f} (sparse already wins at the densest point)", points[0].first);
          const auto [d0, t0] = points[i - 1];
          const auto [d1, t1] = points[i];
          const double f = (std::log(dense_ms) - std::log(t0)) / (std::log(t1) - std::log(t0));
          const double d = std::exp(std::log(d0) + f * (std::log(d1) - std::log(d0)));
          return fmt::format("density {:.3f} (sparsity {:.1f} %)", d, 100 * (1 - d));
        }
      }
      return fmt::format("below {:.2f} (dense wins at every density measured)", points.back().first);
    };
    std::cout << fmt::format("  crossover N = {}: vs peer_clblast_sgemm at {}; vs our best dense path at {}\n", n,
                             crossover(clblast_ms), crossover(ours_dense_ms));
  }
}

}  // namespace
}  // namespace ellesmere::bench

int main(int argc, char** argv) {
  using namespace ellesmere;
  try {
    bool crossover = true;
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--no_crossover") == 0) {
        crossover = false;
        for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
        --argc;
        --i;
      }
    }
    const auto args = bench::parse_args(argc, argv, "spmm_csr");
    // First and last: the copy bandwidth of this run, which the SpMV rows' share of the roofline is read against.
    bench::register_copy_bandwidth(256, "start");
    std::set<std::string> dense_done;
    for (const auto& problem : bench::bench_problems(args)) {
      const SpmmProblem p = SpmmProblem::parse(problem);
      const std::string chosen = args.dispatch_only ? ops::dispatch_choice(select_device(), problem) : "";
      for (const auto& impl : ops::spmm_list()) {
        if (args.dispatch_only && impl->name() != chosen) continue;   // none if dispatch has none
        if (impl->applicable(p, select_device()).empty()) bench::register_impl(*impl, problem);
      }
      const CsrMatrix& a = bench::matrix_for(p);
      bench::register_peer_eigen_spmm(problem, a, p.n);
      bench::register_peer_viennacl_spmm(problem, a, p.n);
      const GemmProblem g{.m = p.m, .n = p.n, .k = p.k};
      if (dense_done.insert(g.str()).second) {
        bench::register_peer_clblast_sgemm(g.str(), g);
        bench::register_dense_ours(g);
      }
    }
    bench::register_copy_bandwidth(256, "end");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    bench::env();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (crossover) bench::print_crossover();
  } catch (const Error& e) {
    std::cerr << "bench_spmm: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
