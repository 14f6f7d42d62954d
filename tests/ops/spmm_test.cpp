// Sparse CSR products on the OpenCL device against Eigen's SparseMatrix reference: every Impl x problem of
// tests/problems/spmm_csr.txt (densities 0.1%..100%, N in {1, 3, 16, 64, 65, 256}, K = 100k, R-MAT) x Params
// (GCN work-groups of 64 and 256 items, CPU vector shapes, chunk sizes that split rows many ways), with and without
// the fused bias + ReLU, outputs poisoned first; hand-built structures (empty rows, nnz = 0, one dense row among
// empty ones, 1 x 1); determinism; the Impl choice; bad input. SpmmKernel* runs under oclgrind.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/sparse.hpp"
#include "ops/impl_registry.hpp"
#include "ops/spmm/spmm_impl.hpp"
#include "reference/reference.hpp"
#include "runtime/hash.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

using testing::shared_context;

struct ClearOverrides {   // also when an assertion returns early
  ~ClearOverrides() { tuning::TuningDb::global().clear_overrides(); }
};

// Runs A (n columns) through impl with params (a runtime tuning override, so the public dispatch path is the one
// tested) and compares with the reference: ||out - ref|| / ||ref|| <= kSpmmTolerance, every element written.
// Returns the output.
std::vector<float> check(Context& ctx, const std::string& impl, const CsrMatrix& a, std::int64_t n,
                         const ops::Params& params, bool epilogue, std::uint64_t seed) {
  const DeviceCsr d = upload_csr(ctx, a);
  const SpmmProblem p = d.problem(n);
  SCOPED_TRACE(fmt::format("{} {} nnz {} [{}]{}", impl, p.str(), a.nnz(), params.str(), epilogue ? " bias+relu" : ""));
  const auto x = reference::random_floats(std::size_t(a.cols * n), seed, -1.0f, 1.0f);
  std::vector<float> bias_values;
  Buffer<float> bias;
  if (epilogue) {
    bias_values = reference::random_floats(std::size_t(a.rows), seed + 1, -1.0f, 1.0f);
    bias = Buffer<float>(ctx, std::span<const float>(bias_values), "bias");
  }
  const std::vector<float> want = reference::spmm_csr_ref(a, n, x, bias_values, epilogue);

  ClearOverrides clear;
  if (!params.empty()) {
    tuning::TuningDb::global().add_override({ctx.device().key, impl, p.str(), params, 0.0});
    const auto lookup = tuning::TuningDb::global().lookup(ctx.device(), *ops::find_impl(impl), p.str());
    EXPECT_TRUE(lookup.entry && lookup.entry->layer == tuning::Layer::override_) << "the Params under test must be used";
  }
  Buffer<float> X(ctx, std::span<const float>(x), "X");
  Buffer<float> Y(ctx, std::size_t(a.rows * n), "Y");
  Y.upload(std::vector<float>(std::size_t(a.rows * n), reference::poison_f32()));
  spmm_csr(ctx, d, n, X, Y, {.bias = epilogue ? &bias : nullptr, .relu = epilogue, .impl = impl}).wait();
  const std::vector<float> out = Y.to_vector();
  const std::int64_t unwritten = reference::first_poisoned(out);
  EXPECT_EQ(unwritten, -1) << fmt::format("element [{}][{}] never written", unwritten / n, unwritten % n);
  const double err = reference::relative_error(out, want);
  EXPECT_LE(err, reference::kSpmmTolerance) << "max abs error " << reference::max_abs_error(out, want);
  if (err > reference::kSpmmTolerance && out.size() < 40) {
    for (std::size_t i = 0; i < out.size(); ++i) std::fprintf(stderr, "element %zu: out %.9g, reference %.9g\n", i, out[i], want[i]);
  }
  return out;
}

// Params beyond the defaults: GCN shapes (a lane per row or per column, work-groups of 64 and 256 items), the CPU
// vector shapes, and chunk sizes down to 8 nonzeros so that rows split across many chunks.
std::vector<ops::Params> param_sets(const std::string& impl) {
  std::vector<std::string> s;
  if (impl == "spmm_csr_f32_row") {
    // NZV > 1 (nonzeros per vector step) among the first three, so that the oclgrind run covers it too.
    s = {"VW=1 WPT=1 UNR=1 LC=1 LR=64", "VW=1 WPT=1 UNR=2 NZV=8 LC=4 LR=16", "VW=16 WPT=4 UNR=1 LC=1 LR=16",
         "VW=4 WPT=2 UNR=4 LC=2 LR=8", "VW=1 WPT=1 UNR=8 LC=1 LR=256", "VW=1 WPT=1 UNR=1 NZV=8 LC=1 LR=64",
         "VW=1 WPT=1 UNR=4 NZV=4 LC=64 LR=1", "VW=1 WPT=1 UNR=2 LC=64 LR=4"};
  } else if (impl == "spmm_csr_f32_vector") {
    s = {"VW=1 WPT=1 WGK=64", "VW=4 WPT=2 WGK=256", "VW=16 WPT=1 WGK=2", "VW=2 WPT=4 WGK=8"};
  } else {
    s = {"VW=1 WPT=1 CH=32 LC=1 LR=64", "VW=16 WPT=4 CH=256 LC=1 LR=16", "VW=1 WPT=1 CH=8 LC=64 LR=4",
         "VW=4 WPT=1 CH=1024 LC=2 LR=8", "VW=2 WPT=2 CH=16 LC=1 LR=256"};
  }
  if (testing::small_mode()) s.resize(3);
  std::vector<ops::Params> out;
  for (const auto& t : s) out.push_back(ops::Params::parse(t));
  return out;
}

using testing::KernelCase;

std::vector<KernelCase> kernel_cases() {
  return testing::kernel_cases(
      "spmm_csr", ops::spmm_list(), param_sets, [](const std::string&, const std::string&) { return true; });
}

class SpmmKernel : public ::testing::TestWithParam<KernelCase> {};

TEST_P(SpmmKernel, MatchesReference) {
  const KernelCase& c = GetParam();
  const SpmmProblem p = SpmmProblem::parse(c.problem);
  const std::uint64_t seed = runtime::Fnv1a64().add(c.problem).value();
  const CsrMatrix a = reference::csr_for_problem(p, seed);
  ASSERT_EQ(a.nnz(), p.nnz());
  for (bool epilogue : {false, true}) check(shared_context(), c.impl, a, p.n, c.params, epilogue, seed + 7);
}

INSTANTIATE_TEST_SUITE_P(Cases, SpmmKernel, ::testing::ValuesIn(kernel_cases()),
                         testing::kernel_case_name);

// Hand-built structures, through every Impl and its Params: the ones a random generator rarely makes.
CsrMatrix structure(const std::string& name, std::uint64_t seed) {
  if (name == "one_by_one") return csr_from_dense(std::vector<float>{-0.75f}, 1, 1);
  if (name == "all_rows_empty") {
    CsrMatrix a;
    a.rows = 9;
    a.cols = 5;
    a.row_ptr.assign(10, 0);
    return a;
  }
  if (name == "one_dense_row") {   // row 17 of 40 holds all 300 columns, every other row is empty
    std::vector<float> d(40 * 300, 0.0f);
    const auto v = reference::random_floats(300, seed, 0.1f, 1.0f);
    for (int c = 0; c < 300; ++c) d[17 * 300 + c] = v[std::size_t(c)];
    return csr_from_dense(d, 40, 300);
  }
  if (name == "empty_rows") {   // every third row empty, the first and the last too; rows of 1..30 nonzeros
    CsrMatrix a = reference::random_csr(61, 47, 0.3, seed);
    std::vector<float> d = a.to_dense();
    for (int r = 0; r < 61; ++r) {
      if (r % 3 == 0 || r == 60) std::fill(d.begin() + r * 47, d.begin() + (r + 1) * 47, 0.0f);
    }
    return csr_from_dense(d, 61, 47);
  }
  // "long_rows": K = 100k, one dense row among sparse ones and an empty one.
  CsrMatrix a = reference::random_csr(4, 100000, 0.01, seed);
  std::vector<float> d = a.to_dense();
  const auto v = reference::random_floats(100000, seed + 1, -1.0f, 1.0f);
  std::copy(v.begin(), v.end(), d.begin() + 100000);
  std::fill(d.begin() + 2 * 100000, d.begin() + 3 * 100000, 0.0f);
  return csr_from_dense(d, 4, 100000);
}

TEST(SpmmStructures, EveryImplAndParams) {
  std::vector<std::string> names{"one_by_one", "all_rows_empty", "one_dense_row", "empty_rows"};
  if (!testing::small_mode()) names.push_back("long_rows");
  for (const auto& name : names) {
    const CsrMatrix a = structure(name, 11);
    ASSERT_EQ(a.check(), "") << name;
    for (const auto& impl : ops::spmm_list()) {
      for (const auto& params : param_sets(impl->name())) {
        for (std::int64_t n : {1, 3, 17}) {
          SCOPED_TRACE(name);
          check(shared_context(), impl->name(), a, n, params, n == 3, 100 + std::uint64_t(n));
        }
      }
    }
  }
}

// The same Params give the same bits on every run; the balanced Impl's result does not depend on its work-group
// shape (LC, LR) either, since each row's pieces are added in chunk order.
TEST(SpmmDeterminism, SameBitsEveryRunAndWorkGroupShape) {
  Context& ctx = shared_context();
  const CsrMatrix a = reference::rmat_csr(300, 200, 6000, 5);
  for (const auto& impl : ops::spmm_list()) {
    for (const auto& params : param_sets(impl->name())) {
      const auto first = check(ctx, impl->name(), a, 5, params, false, 9);
      const auto second = check(ctx, impl->name(), a, 5, params, false, 9);
      EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * 4), 0) << impl->name() << " " << params.str();
    }
  }
  std::vector<float> base;
  for (const char* shape : {"LC=1 LR=64", "LC=4 LR=16", "LC=1 LR=1", "LC=2 LR=128"}) {
    auto params = ops::Params::parse(std::string("VW=1 WPT=1 CH=16 ") + shape);
    const auto out = check(ctx, "spmm_csr_f32_balanced", a, 5, params, false, 9);
    if (base.empty()) base = out;
    EXPECT_EQ(std::memcmp(base.data(), out.data(), out.size() * 4), 0) << shape;
  }
}

// Dispatch follows the row statistics on a GPU: skewed rows -> balanced, long even rows -> vector, short even rows ->
// row; a CPU device always gets row (measured faster there); a named Impl runs whatever the statistics say.
TEST(SpmmChoice, FollowsRowStatistics) {
  DeviceInfo cpu;
  cpu.type = DeviceType::cpu;
  cpu.max_work_group_size = 4096;
  cpu.max_work_item_sizes = {4096, 4096, 4096};
  cpu.local_mem_bytes = 1 << 19;
  cpu.key = "test-cpu";
  DeviceInfo gpu = cpu;
  gpu.type = DeviceType::gpu;
  gpu.max_work_group_size = 256;
  gpu.max_work_item_sizes = {256, 256, 256};
  gpu.local_mem_bytes = 32768;
  gpu.key = "amd-polaris-36cu";
  gpu.family = "amd-polaris";
  const auto skewed = SpmmProblem::of(row_stats(reference::rmat_csr(1000, 1000, 20000, 3)), 1000, 16);
  const auto even_short = SpmmProblem::of(row_stats(reference::random_csr(1000, 1000, 0.01, 3)), 1000, 16);
  const auto even_long = SpmmProblem::of(row_stats(reference::random_csr(200, 4000, 0.1, 3)), 4000, 1);
  ASSERT_TRUE(skewed.skewed) << "R-MAT rows must count as skewed: cv " << row_stats(reference::rmat_csr(1000, 1000, 20000, 3)).cv;
  ASSERT_FALSE(even_short.skewed);
  EXPECT_EQ(ops::choose_spmm(skewed, cpu, "").first->name(), "spmm_csr_f32_row");
  EXPECT_EQ(ops::choose_spmm(skewed, gpu, "").first->name(), "spmm_csr_f32_balanced");
  EXPECT_EQ(ops::choose_spmm(even_short, cpu, "").first->name(), "spmm_csr_f32_row");
  EXPECT_EQ(ops::choose_spmm(even_short, gpu, "").first->name(), "spmm_csr_f32_row");
  EXPECT_EQ(ops::choose_spmm(even_long, cpu, "").first->name(), "spmm_csr_f32_row");
  EXPECT_EQ(ops::choose_spmm(even_long, gpu, "").first->name(), "spmm_csr_f32_vector");
  EXPECT_EQ(ops::choose_spmm(even_short, cpu, "spmm_csr_f32_balanced").first->name(), "spmm_csr_f32_balanced");
}

// ---- bad input ----

void expect_invalid(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning \"" << needle << "\"";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(SpmmErrors, ShapesBuffersAndInvalidCsr) {
  Context& ctx = shared_context();
  const CsrMatrix a = reference::random_csr(6, 9, 0.4, 1);
  DeviceCsr d = upload_csr(ctx, a);
  Buffer<float> x(ctx, std::span<const float>(reference::random_floats(9 * 2, 2)), "X");
  Buffer<float> y(ctx, 12, "Y");
  expect_invalid([&] { spmm_csr(ctx, d, 0, x, y); }, "every dimension");
  expect_invalid([&] { spmm_csr(ctx, d, 3, x, y); }, "X");
  Buffer<float> small_y(ctx, 11, "Y");
  expect_invalid([&] { spmm_csr(ctx, d, 2, x, small_y); }, "Y");
  Buffer<float> short_bias(ctx, 5, "bias");
  expect_invalid([&] { spmm_csr(ctx, d, 2, x, y, {.bias = &short_bias}); }, "bias");
  expect_invalid([&] { spmm_csr(ctx, d, 2, x, y, {.impl = "spmm_csr_f32_magic"}); }, "no Impl named");
  Context other;
  const DeviceCsr foreign = upload_csr(other, a);
  expect_invalid([&] { spmm_csr(ctx, foreign, 2, x, y); }, "another Context");
  DeviceCsr taken = std::move(d);
  expect_invalid([&] { spmm_csr(ctx, d, 2, x, y); }, "moved-from");
  spmm_csr(ctx, taken, 2, x, y).wait();   // the moved-to object works
  CsrMatrix empty_shape;
  expect_invalid([&] { spmm_csr(ctx, upload_csr(ctx, empty_shape), 1, x, y); }, "every dimension");
  // Invalid CSR never reaches the device: upload_csr names the first violation.
  CsrMatrix bad = a;
  bad.col_idx[3] = 9;
  expect_invalid([&] { upload_csr(ctx, bad); }, "upload_csr");
  bad = a;
  bad.row_ptr[2] = bad.row_ptr[3] + 1;
  expect_invalid([&] { upload_csr(ctx, bad); }, "row_ptr");
}

// Params that cannot work are refused by name before any kernel is built.
TEST(SpmmErrors, ParamsOutsideTheSpace) {
  const DeviceInfo& device = shared_context().device();
  const ops::SpmmImpl* row = nullptr;
  for (const auto& impl : ops::spmm_list()) {
    if (impl->name() == "spmm_csr_f32_row") row = impl.get();
  }
  ASSERT_TRUE(row);
  const auto why = [&](const std::string& text) { return row->check_params(ops::Params::parse(text), device); };
  EXPECT_EQ(why("VW=1 WPT=1 UNR=2 NZV=8 LC=1 LR=64"), "");
  EXPECT_NE(why("VW=4 WPT=1 UNR=1 NZV=8 LC=1 LR=64").find("NZV=8 needs a one-column block"), std::string::npos);
  EXPECT_NE(why("VW=1 WPT=2 UNR=1 NZV=4 LC=1 LR=64").find("VW=1 WPT=2"), std::string::npos);
  EXPECT_NE(why("VW=1 WPT=1 UNR=1 NZV=3 LC=1 LR=64").find("NZV=3 is not 1, 4 or 8"), std::string::npos);
  EXPECT_NE(why("VW=1 WPT=1 UNR=1 NZV=16 LC=1 LR=64").find("NZV=16 is not 1, 4 or 8"), std::string::npos);
  EXPECT_NE(why("VW=1 WPT=1 UNR=3 NZV=1 LC=1 LR=64").find("UNR=3"), std::string::npos);
}

TEST(SpmmErrors, ProblemText) {
  EXPECT_EQ(SpmmProblem::parse("spmm_csr:m4096k4096n64d0.1").str(), "spmm_csr:m4096k4096n64d0.1");
  EXPECT_EQ(SpmmProblem::parse("spmm_csr:m10k20n1d0.00001667_p").str(), "spmm_csr:m10k20n1d0.00001667_p");
  EXPECT_EQ(SpmmProblem::parse("spmm_csr:m4096k4096n64d0.1").nnz(), 1677722);
  const CsrMatrix a = reference::random_csr(30, 40, 1e-3 * 7, 3);
  const SpmmProblem p = SpmmProblem::of(row_stats(a), 40, 3);
  EXPECT_EQ(SpmmProblem::parse(p.str()).nnz(), a.nnz()) << p.str();
  EXPECT_THROW(SpmmProblem::parse("spmm_csr:m4k4n1"), InvalidArgument);
  EXPECT_THROW(SpmmProblem::parse("spmm_csr:m4k4n1d1.5"), InvalidArgument);
  EXPECT_THROW(SpmmProblem::parse("spmm_csr:m4k4n1d0.5_q"), InvalidArgument);
  EXPECT_THROW(SpmmProblem::parse("gemm_f32:m4n4k4"), InvalidArgument);
}

}  // namespace
}  // namespace ellesmere
