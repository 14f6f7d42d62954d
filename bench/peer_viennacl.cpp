// peer_viennacl_spmm: ViennaCL 1.7's compressed_matrix products on the OpenCL device and queue ellesmere uses, timed
// between two markers on that queue (ViennaCL does not hand out its kernels' events). Built only with ViennaCL.
#include "peer_viennacl.hpp"

#include <iostream>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"

#ifdef ELLESMERE_HAVE_VIENNACL
#include <viennacl/compressed_matrix.hpp>
#include <viennacl/linalg/sparse_matrix_operations.hpp>
#include <viennacl/linalg/prod.hpp>
#include <viennacl/matrix.hpp>
#include <viennacl/ocl/backend.hpp>
#include <viennacl/vector.hpp>
#endif

namespace ellesmere::bench {

#ifdef ELLESMERE_HAVE_VIENNACL
namespace {

// ViennaCL context 0 wraps our context, device and queue (once per process).
void use_our_context() {
  static bool done = false;
  if (done) return;
  Context& ctx = env().context;
  viennacl::ocl::setup_context(0, ctx.cl_context_handle(), ctx.cl_device_handle(), ctx.cl_queue_handle());
  viennacl::ocl::switch_context(0);
  done = true;
}

}  // namespace

void register_peer_viennacl_spmm(const std::string& label, const CsrMatrix& a, std::int64_t n) {
  benchmark::RegisterBenchmark(
      ("peer_viennacl_spmm/" + label).c_str(),
      [&a, n](benchmark::State& state) {
        use_our_context();
        Context& ctx = env().context;
        const std::vector<unsigned int> row_ptr(a.row_ptr.begin(), a.row_ptr.end());
        const std::vector<unsigned int> col_idx(a.col_idx.begin(), a.col_idx.end());
        viennacl::compressed_matrix<float> A;
        A.set(row_ptr.data(), col_idx.data(), a.values.data(), std::size_t(a.rows), std::size_t(a.cols),
              std::size_t(a.nnz()));
        const auto x = reference::random_floats(std::size_t(a.cols * n), 2);
        state.SetLabel(fmt::format("ViennaCL {} on the same OpenCL queue", n == 1 ? "CSR x vector" : "CSR x dense"));
        const double nnz = double(a.nnz());
        const ops::Traffic t{2.0 * nnz * double(n), 8.0 * nnz + 4.0 * double(a.rows + 1) +
                                                         4.0 * double(a.cols * n) + 4.0 * double(a.rows * n)};
        auto timed = [&](auto&& product) {
          time_device(state, t, env().profile.fp32_gflops * 1e9, [&] {
            EventList events;
            events.add(ctx.impl().marker());
            product();
            events.add(ctx.impl().marker());
            return events;
          });
        };
        if (n == 1) {
          viennacl::vector<float> vx(std::size_t(a.cols)), vy(std::size_t(a.rows));
          viennacl::copy(x.begin(), x.end(), vx.begin());
          timed([&] { vy = viennacl::linalg::prod(A, vx); });
        } else {
          std::vector<std::vector<float>> rows(std::size_t(a.cols), std::vector<float>(std::size_t(n)));
          for (std::int64_t r = 0; r < a.cols; ++r) {
            for (std::int64_t c = 0; c < n; ++c) rows[std::size_t(r)][std::size_t(c)] = x[std::size_t(r * n + c)];
          }
          viennacl::matrix<float, viennacl::row_major> X(std::size_t(a.cols), std::size_t(n));
          viennacl::matrix<float, viennacl::row_major> Y(std::size_t(a.rows), std::size_t(n));
          viennacl::copy(rows, X);
          // What "Y = prod(A, X)" runs; called directly because matrix.hpp's operator= names it before
          // sparse_matrix_operations.hpp can declare it (a GCC 12 two-phase lookup failure in ViennaCL 1.7.1).
          timed([&] { viennacl::linalg::prod_impl(A, X, Y); });
        }
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

#else

void register_peer_viennacl_spmm(const std::string&, const CsrMatrix&, std::int64_t) {
  static bool said = false;
  if (!said) std::cout << "peer_viennacl_spmm skipped: ViennaCL (Debian libviennacl-dev) was not found at build time\n";
  said = true;
}

#endif

}  // namespace ellesmere::bench
