// `ellesmere selfcheck`: runs every Impl of every op on a small problem with poisoned outputs and compares
// with the Eigen reference. Adding an op adds one check function here.
#include "selfcheck.hpp"

#include <chrono>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "reference/reference.hpp"

namespace ellesmere::tools {

namespace {

void check_gemm_f32(Context& ctx, std::uint64_t seed, std::vector<SelfcheckRow>& rows) {
  // Odd sizes, so every Impl's edge handling runs.
  const GemmProblem p{.m = 67, .n = 45, .k = 33};
  const auto a = reference::random_floats(std::size_t(p.m * p.k), seed);
  const auto b = reference::random_floats(std::size_t(p.k * p.n), seed + 1);
  std::vector<float> ref(std::size_t(p.m * p.n));
  reference::gemm_f32_ref(p, a, b, ref);
  for (const std::string& impl : gemm_f32_impls()) {
    SelfcheckRow row{.op = "gemm_f32", .impl = impl, .problem = p.str(), .device = ctx.device().key,
                     .tolerance = reference::kGemmF32Tolerance};
    try {
      Buffer<float> da(ctx, std::span<const float>(a), "A"), db(ctx, std::span<const float>(b), "B");
      Buffer<float> dc(ctx, ref.size(), "C");
      dc.fill(reference::poison_f32());
      GemmOptions opts{.impl = impl};
      auto t0 = std::chrono::steady_clock::now();
      gemm_f32(ctx, p, da, db, dc, opts).wait();
      row.first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::vector<float> out = dc.to_vector();
      row.max_abs_error = reference::max_abs_error(out, ref);
      row.rel_error = reference::relative_error(out, ref);
      row.device_ms = gemm_f32(ctx, p, da, db, dc, opts).span_ns() * 1e-6;
      if (auto i = reference::first_poisoned(out); i >= 0) {
        row.status = fmt::format("FAIL: element {} never written", i);
      } else if (!(row.rel_error <= row.tolerance)) {
        row.status = "FAIL: error above tolerance";
      } else {
        row.status = "ok";
      }
    } catch (const NotSupported& e) {
      row.status = std::string("skipped: ") + e.what();
    } catch (const Error& e) {
      row.status = std::string("FAIL: ") + e.what();
    }
    rows.push_back(std::move(row));
  }
}

}  // namespace

std::vector<SelfcheckRow> run_selfcheck(Context& context, std::uint64_t seed) {
  std::vector<SelfcheckRow> rows;
  check_gemm_f32(context, seed, rows);
  return rows;
}

}  // namespace ellesmere::tools
