// Peer routines for the GEMM benchmarks: CLBlast sgemm (OpenCL device), Eigen sgemm and oneDNN s8 matmul (host).
#include "peers.hpp"

#include <Eigen/Dense>
#include <iostream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "reference/reference.hpp"

#ifdef ELLESMERE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace ellesmere::bench {

void register_peer_clblast_sgemm(const std::string& label, const GemmProblem& p) {
  benchmark::RegisterBenchmark(
      ("peer_clblast_sgemm/" + label).c_str(),
      [p](benchmark::State& state) {
        Context& ctx = env().context;
        const auto a = reference::random_floats(std::size_t(p.m * p.k), 1);
        const auto b = reference::random_floats(std::size_t(p.k * p.n), 2);
        Buffer<float> da(ctx, std::span<const float>(a), "A"), db(ctx, std::span<const float>(b), "B");
        Buffer<float> dc(ctx, std::size_t(p.m * p.n), "C");
        const ops::GemmArgs args{da.handle(), db.handle(), dc.handle(), 1.0f, 0.0f};
        state.SetLabel(fmt::format("fp32 {}", p.str()));
        time_device(state, ops::gemm_f32_traffic(p), env().profile.fp32_gflops * 1e9,
                    [&] { return ops::clblast_sgemm(ctx.impl(), p, args); });
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

void register_peer_eigen_sgemm(const std::string& label, const GemmProblem& p) {
  benchmark::RegisterBenchmark(
      ("peer_eigen_sgemm/" + label).c_str(),
      [p](benchmark::State& state) {
        using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        const RowMajor a = RowMajor::Random(p.trans_a ? p.k : p.m, p.trans_a ? p.m : p.k);
        const RowMajor b = RowMajor::Random(p.trans_b ? p.n : p.k, p.trans_b ? p.k : p.n);
        RowMajor c(p.m, p.n);
        Eigen::setNbThreads(int(std::max(1u, std::thread::hardware_concurrency())));
        state.SetLabel(fmt::format("host CPU, Eigen {} thread(s), fp32 {}", Eigen::nbThreads(), p.str()));
        auto run = [&] {
          if (p.trans_a && p.trans_b) {
            c.noalias() = a.transpose() * b.transpose();
          } else if (p.trans_a) {
            c.noalias() = a.transpose() * b;
          } else if (p.trans_b) {
            c.noalias() = a * b.transpose();
          } else {
            c.noalias() = a * b;
          }
          benchmark::DoNotOptimize(c.data());
        };
        time_host(state, ops::gemm_f32_traffic(p), env().profile.fp32_gflops * 1e9, run);
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

void register_peer_onednn_s8gemm(const std::string& label, const GemmI8Problem& p) {
#ifdef ELLESMERE_HAVE_DNNL
  benchmark::RegisterBenchmark(
      ("peer_onednn_s8gemm/" + label).c_str(),
      [p](benchmark::State& state) {
        using namespace dnnl;
        engine eng(engine::kind::cpu, 0);
        stream strm(eng);
        const memory::dims a_dims{p.m, p.k}, b_dims{p.k, p.n}, c_dims{p.m, p.n};
        const memory::desc a_md(a_dims, memory::data_type::u8, memory::format_tag::ab);
        const memory::desc b_any(b_dims, memory::data_type::s8, memory::format_tag::any);
        const memory::desc c_md(c_dims, memory::data_type::s32, memory::format_tag::ab);
        const matmul::primitive_desc pd(matmul::desc(a_md, b_any, c_md), eng);
        memory a_mem(a_md, eng), b_plain(memory::desc(b_dims, memory::data_type::s8, memory::format_tag::ab), eng);
        memory b_mem(pd.weights_desc(), eng), c_mem(c_md, eng);
        std::mt19937_64 gen(3);
        for (std::int64_t i = 0; i < p.m * p.k; ++i) static_cast<std::uint8_t*>(a_mem.get_data_handle())[i] = std::uint8_t(gen());
        for (std::int64_t i = 0; i < p.k * p.n; ++i) static_cast<std::int8_t*>(b_plain.get_data_handle())[i] = std::int8_t(gen());
        reorder(b_plain, b_mem).execute(strm, b_plain, b_mem);   // weights packed once, as ours are
        strm.wait();
        const matmul prim(pd);
        state.SetLabel(fmt::format("host CPU, oneDNN {}.{}, {} threads, u8 x s8 -> s32, no zero points",
                                   dnnl_version()->major, dnnl_version()->minor,
                                   std::max(1u, std::thread::hardware_concurrency())));
        auto run = [&] {
          prim.execute(strm, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
          strm.wait();
        };
        const ops::Traffic t{p.ops(), double(p.m * p.k + p.k * p.n) + 4.0 * double(p.m * p.n)};
        time_host(state, t, env().profile.int8_gops * 1e9, run, true);
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
#else
  static bool said = false;
  if (!said) std::cerr << "peer_onednn_s8gemm skipped: oneDNN (Debian libdnnl-dev) was not found at build time\n";
  said = true;
  (void)label;
  (void)p;
#endif
}

}  // namespace ellesmere::bench
