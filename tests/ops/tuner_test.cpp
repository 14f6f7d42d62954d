// ellesmere-tune's engine on the OpenCL device: planted wrong and unbuildable variants are rejected (never chosen),
// strategies stay within their budget, the log resumes a run without measuring again, and the result reaches the
// database where the lookup finds it.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/impl_registry.hpp"
#include "test_support.hpp"
#include "tuner.hpp"
#include "harness.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::testing {
namespace {

using tune::Status;

// gemm_i8_gemv's kernel behind a planted space: COVER=2 launches half the column groups (a launch-geometry bug that
// is also the fastest variant, since it does half the work), SPLITK=3 trips the kernel's power-of-2 #error. Its
// check_params admits everything, so only verification and the build can catch them.
class PlantedGemv final : public ops::GemmI8Impl {
 public:
  explicit PlantedGemv(std::vector<int> wgn = {1, 2}) : real_(ops::make_gemm_i8_gemv()), wgn_(std::move(wgn)) {}
  std::string name() const override { return "gemm_i8_gemv_planted"; }
  std::string kernel_file() const override { return real_->kernel_file(); }
  ops::ParamSpace space() const override {
    return {{
        {"WGN", wgn_, wgn_.front(), ""},
        {"SPLITK", {1, 3}, 1, "3 is not a power of 2: the kernel refuses to build"},
        {"VW", {16}, 16, ""},
        {"MUL24", {0}, 0, ""},
        {"COVER", {1, 2}, 1, "2: launch half the column groups (planted bug)"},
    }};
  }
  std::string check_params(const ops::Params&, const DeviceInfo&) const override { return {}; }
  std::string applicable(const GemmI8Problem& p, const DeviceInfo& d) const override { return real_->applicable(p, d); }
  std::string build_options(const GemmI8Problem& p, const ops::Params& params) const override {
    return real_->build_options(p, strip(params));
  }
  std::vector<ops::LaunchShape> shapes(const GemmI8Problem& p, const ops::Params& params) const override {
    auto s = real_->shapes(p, strip(params));
    if (params.get("COVER") == 2) {
      const std::size_t groups = s[0].global[0] / s[0].local[0];
      s[0].global[0] = std::max<std::size_t>(groups / 2, 1) * s[0].local[0];
    }
    return s;
  }

 private:
  static ops::Params strip(const ops::Params& p) {
    ops::Params out;
    for (const auto& [name, value] : p.items()) {
      if (name != "COVER") out.set(name, value);
    }
    return out;
  }
  std::unique_ptr<ops::GemmI8Impl> real_;
  std::vector<int> wgn_;
};

const tune::Evaluation* find(const tune::TuneResult& r, const std::string& params) {
  for (const auto& e : r.evaluations) {
    if (e.params.str() == params) return &e;
  }
  return nullptr;
}

TEST(Tuner, PlantedWrongAndUnbuildableVariantsAreRejectedWithTheirReason) {
  Context& ctx = shared_context();
  PlantedGemv impl;
  tune::TuneLog log;
  tune::Tuner tuner(ctx, {.strategy = tune::Strategy::exhaustive, .budget = 100, .repeats = 2}, log);
  const tune::TuneResult r = tuner.tune(impl, "gemm_i8:m2n1000k300");
  EXPECT_EQ(r.valid_size, 8u);
  EXPECT_EQ(r.evaluations.size(), 8u);   // exhaustive: every valid candidate
  EXPECT_EQ(r.verification_problem, "gemm_i8:m2n131k259");
  std::size_t wrong = 0, unbuildable = 0;
  for (const auto& e : r.evaluations) {
    SCOPED_TRACE(e.params.str());
    if (e.params.get("SPLITK") == 3) {
      EXPECT_EQ(e.status, Status::build_failed);
      EXPECT_NE(e.reason.find("power of 2"), std::string::npos) << e.reason;   // the build log's #error line
      ++unbuildable;
    } else if (e.params.get("COVER") == 2) {
      EXPECT_EQ(e.status, Status::wrong);
      EXPECT_NE(e.reason.find("never written"), std::string::npos) << e.reason;
      EXPECT_NE(e.reason.find("gemm_i8:m2n131k259"), std::string::npos) << e.reason;
      ++wrong;
    } else {
      EXPECT_EQ(e.status, Status::ok) << e.reason;
      EXPECT_GT(e.time.median_us, 0);
      EXPECT_GE(e.time.samples, 1);   // 2, or 1 when the first run was already 3x the best (cut short)
    }
  }
  EXPECT_EQ(unbuildable, 4u);
  EXPECT_EQ(wrong, 2u);
  ASSERT_TRUE(r.best.has_value());
  EXPECT_EQ(r.best->params.get("COVER"), 1);
  EXPECT_EQ(r.best->params.get("SPLITK"), 1);
  EXPECT_GT(r.confirm_baseline_us, 0);
  EXPECT_GT(r.confirm_best_us, 0);
}

// A variant right on the small verification problem but wrong at full size is caught by the full-size check before it
// is kept: with 16 x 16 columns per group, the small problem (131 columns) is one group, which COVER=2 still launches;
// the full one (1000 columns) is four, of which it launches two.
TEST(Tuner, VariantWrongOnlyAtFullSizeIsCaughtBeforeItIsKept) {
  Context& ctx = shared_context();
  PlantedGemv impl({16});
  tune::TuneLog log;
  tune::Tuner tuner(ctx, {.strategy = tune::Strategy::exhaustive, .repeats = 3}, log);
  const tune::TuneResult r = tuner.tune(impl, "gemm_i8:m2n1000k300");
  const tune::Evaluation* planted = find(r, "WGN=16 SPLITK=1 VW=16 MUL24=0 COVER=2");
  ASSERT_NE(planted, nullptr);
  EXPECT_EQ(planted->status, Status::wrong);
  EXPECT_NE(planted->reason.find("on the full problem gemm_i8:m2n1000k300"), std::string::npos) << planted->reason;
  ASSERT_TRUE(r.best.has_value());
  EXPECT_EQ(r.best->params.str(), "WGN=16 SPLITK=1 VW=16 MUL24=0 COVER=1");
}

TEST(Tuner, StrategiesStayWithinTheBudgetAndMeasureDistinctCandidates) {
  Context& ctx = shared_context();
  const ops::ImplBase& impl = *ops::gemm_wq_list().front();   // gemm_wq_gemv: 240+ valid candidates
  for (auto strategy : {tune::Strategy::random, tune::Strategy::anneal, tune::Strategy::automatic}) {
    SCOPED_TRACE(tune::strategy_name(strategy));
    tune::TuneLog log;
    tune::Tuner tuner(ctx, {.strategy = strategy, .budget = 6, .repeats = 1, .seed = 3}, log);
    const tune::TuneResult r = tuner.tune(impl, "gemm_wq:m1n300k512q4g32");
    EXPECT_EQ(r.evaluations.size(), 6u);
    std::set<std::string> distinct;
    for (const auto& e : r.evaluations) distinct.insert(e.params.str());
    EXPECT_EQ(distinct.size(), 6u);
    EXPECT_EQ(r.evaluations.front().params, impl.space().defaults());   // the baseline first
    ASSERT_TRUE(r.best.has_value());
    EXPECT_LE(r.best->time.median_us, r.evaluations.front().time.median_us);
  }
}

TEST(Tuner, LogResumesWithoutMeasuringAgain) {
  Context& ctx = shared_context();
  TempDir dir("tune-log");
  const std::string path = (dir.path() / "tune.log").string();
  const ops::ImplBase& impl = *ops::gemm_wq_list().front();
  const tune::TuneOptions options{.strategy = tune::Strategy::random, .budget = 5, .repeats = 1, .seed = 9};
  tune::TuneResult first;
  {
    tune::TuneLog log(path);
    log.load();
    first = tune::Tuner(ctx, options, log).tune(impl, "gemm_wq:m2n77k96q4g32");
  }
  auto lines = [&] {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string l; std::getline(in, l);) ++n;
    return n;
  };
  const std::size_t after_first = lines();
  EXPECT_EQ(after_first, 5u);
  tune::TuneLog log(path);
  log.load();
  EXPECT_TRUE(log.warnings().empty());
  EXPECT_EQ(log.size(), 5u);
  const tune::TuneResult second = tune::Tuner(ctx, options, log).tune(impl, "gemm_wq:m2n77k96q4g32");
  EXPECT_EQ(lines(), after_first);   // nothing measured again
  ASSERT_EQ(second.evaluations.size(), first.evaluations.size());
  for (std::size_t i = 0; i < first.evaluations.size(); ++i) {
    EXPECT_TRUE(second.evaluations[i].from_log);
    EXPECT_EQ(second.evaluations[i].params, first.evaluations[i].params);   // same seed, same path
    // Logged with "{:.1f}": the same formatting gives the expected value (std::round(x * 10) / 10 differs from
    // it on exact-looking halves such as 91.05, whose binary value lies below the half).
    EXPECT_DOUBLE_EQ(second.evaluations[i].time.median_us,
                     std::stod(fmt::format("{:.1f}", first.evaluations[i].time.median_us)));
  }
  // A larger budget continues from there: only the new candidates are measured.
  tune::TuneOptions more = options;
  more.budget = 7;
  const tune::TuneResult third = tune::Tuner(ctx, more, log).tune(impl, "gemm_wq:m2n77k96q4g32");
  EXPECT_EQ(third.evaluations.size(), 7u);
  EXPECT_EQ(lines(), after_first + 2);
}

TEST(Tuner, ResultIsAppendedToTheDatabaseAndFoundByTheLookup) {
  Context& ctx = shared_context();
  TempDir dir("tune-db");
  const std::string db = (dir.path() / "sub" / "tuning.txt").string();
  const ops::ImplBase& impl = *ops::gemm_wq_list().front();
  tune::TuneLog log;
  const tune::TuneResult r =
      tune::Tuner(ctx, {.strategy = tune::Strategy::random, .budget = 4, .repeats = 1}, log).tune(impl, "gemm_wq:m1n64k64q4g32");
  ASSERT_TRUE(r.best.has_value());
  tune::append_to_database(db, r);
  tuning::TuningDb tdb;
  tdb.load_file(db, tuning::Layer::user);
  EXPECT_TRUE(tdb.warnings().empty());
  const auto entries = tdb.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].device, ctx.device().key);
  const auto lookup = tdb.lookup(ctx.device(), impl, "gemm_wq:m1n64k64q4g32");
  EXPECT_EQ(lookup.level, tuning::Level::exact);
  EXPECT_EQ(lookup.params, r.best->params);
  std::ifstream in(db);
  std::string comment;
  std::getline(in, comment);
  EXPECT_EQ(comment.rfind("# ellesmere-tune ", 0), 0u) << comment;
}

TEST(Tuner, RefusesWhatItCannotTune) {
  Context& ctx = shared_context();
  tune::TuneLog log;
  tune::Tuner tuner(ctx, {.budget = 2}, log);
  const ops::ImplBase& gemv = *ops::gemm_wq_list().front();
  EXPECT_THROW(tuner.tune(gemv, "gemm_wq:m64n64k64q4g32"), NotSupported);   // M > 8: the GEMV's own reason
  EXPECT_THROW(tuner.tune(gemv, "gemm_i8:m1n64k64"), NotSupported);         // another op
  EXPECT_THROW(tune::make_harness(ctx, "snn:n100y1000", 1), NotSupported);  // no harness
}

TEST(Tuner, QuantizeLinearHarnessIsBitExact) {
  Context& ctx = shared_context();
  for (const char* problem : {"quantize_linear:n5000", "dequantize_linear:n5000_s"}) {
    SCOPED_TRACE(problem);
    const std::string impl_name = tune::dispatch_choice(ctx, problem);
    const ops::ImplBase* impl = ops::find_impl(impl_name);
    ASSERT_NE(impl, nullptr) << impl_name;
    tune::TuneLog log;
    const tune::TuneResult r = tune::Tuner(ctx, {.strategy = tune::Strategy::exhaustive, .repeats = 1}, log).tune(*impl, problem);
    EXPECT_EQ(r.verification_problem, std::string(problem).replace(std::string(problem).find("5000"), 4, "4099"));
    EXPECT_EQ(r.count(Status::ok), r.valid_size);
    EXPECT_TRUE(r.best.has_value());
  }
}

TEST(TunerHarness, DispatchChoiceIsWhatTheOpRuns) {
  Context& ctx = shared_context();
  EXPECT_EQ(tune::dispatch_choice(ctx, "gemm_i8:m1n64k64"), "gemm_i8_gemv");
  EXPECT_EQ(tune::dispatch_choice(ctx, "gemm_i8:m64n64k64"), "gemm_i8_tile2d");
  EXPECT_EQ(tune::dispatch_choice(ctx, "gemm_wq:m8n64k64q4g32"), "gemm_wq_gemv");
  EXPECT_EQ(tune::dispatch_choice(ctx, "gemm_wq:m9n64k64q4g32"), "gemm_wq_tile2d");
  EXPECT_EQ(tune::dispatch_choice(ctx, "conv_f16:n1c32h56w56k32r3s3p1u1g32"), "conv_f16_depthwise");
  EXPECT_THROW(tune::dispatch_choice(ctx, "snn:n10y10"), NotSupported);
}

TEST(TunerSpace, CandidatesObeyTheDeviceLimits) {
  const ops::ImplBase& impl = *ops::gemm_wq_list().front();
  DeviceInfo small = shared_context().device();
  small.max_work_group_size = 64;
  std::size_t total = 0;
  const auto candidates = tune::valid_candidates(impl, small, &total);
  EXPECT_EQ(total, 9u * 7u * 4u);
  EXPECT_LT(candidates.size(), total);
  for (const auto& p : candidates) EXPECT_LE(p.get("WGK") * p.get("ROWS"), 64) << p.str();
}

TEST(TunerLog, CorruptLinesAreReportedWithFileAndLine) {
  TempDir dir("tune-log-corrupt");
  const std::string path = (dir.path() / "tune.log").string();
  {
    std::ofstream out(path);
    out << "dev gemm_wq_gemv gemm_wq:m1n64k64q4g32 ok 10.0 9.0 11.0 3 WGK=1 ROWS=2 CPI=4\n"
        << "dev gemm_wq_gemv gemm_wq:m1n64k64q4g32 fast 10.0 9.0 11.0 3 WGK=1\n"
        << "dev gemm_wq_gemv not-a-problem ok 10.0 9.0 11.0 3 WGK=1\n"
        << "dev gemm_wq_gemv gemm_wq:m1n64k64q4g32 ok -1 9.0 11.0 3 WGK=1\n"
        << "truncated line\n"
        << "dev gemm_wq_gemv gemm_wq:m1n64k64q4g32 wrong 0.0 0.0 0.0 0 WGK=2 ROWS=2 CPI=4 # element 3 never written\n";
  }
  tune::TuneLog log(path);
  log.load();
  EXPECT_EQ(log.size(), 2u);
  ASSERT_EQ(log.warnings().size(), 4u);
  EXPECT_NE(log.warnings()[0].find(path + ":2:"), std::string::npos) << log.warnings()[0];
  EXPECT_NE(log.warnings()[3].find(path + ":5:"), std::string::npos) << log.warnings()[3];
  const auto* wrong = log.find("dev", "gemm_wq_gemv", "gemm_wq:m1n64k64q4g32", ops::Params::parse("WGK=2 ROWS=2 CPI=4"));
  ASSERT_NE(wrong, nullptr);
  EXPECT_EQ(wrong->status, Status::wrong);
  EXPECT_EQ(wrong->reason, "element 3 never written");
}

TEST(TunerHarness, VerificationProblemsAreSmallOddAndKeepTheFlags) {
  EXPECT_EQ(tune::verification_problem("gemm_i8:m1n4096k4096"), "gemm_i8:m1n131k259");
  EXPECT_EQ(tune::verification_problem("gemm_i8:m1024n1024k1024_sa"), "gemm_i8:m67n131k259_sa");
  EXPECT_EQ(tune::verification_problem("gemm_wq:m8n4096k4096q4g128_z"), "gemm_wq:m8n131k259q4g128_z");
  EXPECT_EQ(tune::verification_problem("gemm_f32:m1024n1024k1024_tb"), "gemm_f32:m67n131k259_tb");
  EXPECT_EQ(tune::verification_problem("gemm_f32:m3n5k7"), "gemm_f32:m3n5k7");
  EXPECT_EQ(tune::verification_problem("conv_f16:n1c64h56w56k64r3s3p1u1"), "conv_f16:n1c64h13w13k64r3s3p1u1");
  EXPECT_EQ(tune::verification_problem("conv_f16:n1c32h112w112k32r3s3p1u2g32"), "conv_f16:n1c32h25w25k32r3s3p1u2g32");
  const std::string spmm = tune::verification_problem("spmm_csr:m4096k4096n64d0.1");
  EXPECT_EQ(spmm.rfind("spmm_csr:m259k259n64d0.1", 0), 0u) << spmm;
}

}  // namespace
}  // namespace ellesmere::testing
