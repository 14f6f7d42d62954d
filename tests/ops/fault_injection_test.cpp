// Fault injection (issue 11): buffer allocation, program build and kernel enqueue failures injected through the
// runtime's test-only hook (src/runtime/fault_injection.hpp) into real ops, the SNN simulator, the pipeline and the
// `ellesmere` CLI; damaged program-cache entries, an unwritable cache directory, corrupt and unwritable tuning
// databases. Each must give a clear error or the documented fallback, no result made of partial output, and a
// Context that still computes the same bits afterwards. Run under ASan/LSan (preset "sanitize") for leaks.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/pipeline.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/snn.hpp"
#include "ellesmere/sparse.hpp"
#include "ellesmere/tensor_io.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "ops/impl_registry.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"
#include "runtime/fault_injection.hpp"
#include "runtime/hash.hpp"
#include "test_support.hpp"
#include "tile2d_check.hpp"
#include "tuning/tuning_db.hpp"
#if __has_include("tuner.hpp")
#include "tuner.hpp"
#define ELLESMERE_HAVE_TUNER 1
#endif

namespace ellesmere {
namespace {

namespace fs = std::filesystem;
namespace fault = runtime::fault;
using fault::Site;
using Bytes = std::vector<std::uint8_t>;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <class T>
Bytes bytes_of(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// ---- the operations under test: each makes every buffer it needs on ctx and returns its result's bytes ----------

Bytes run_gemm_f32(Context& ctx) {
  const GemmProblem p{.m = 19, .n = 23, .k = 37};
  const auto a = reference::random_floats(std::size_t(p.m * p.k), 1);
  const auto b = reference::random_floats(std::size_t(p.k * p.n), 2);
  Buffer<float> da(ctx, std::span<const float>(a), "A"), db(ctx, std::span<const float>(b), "B");
  Buffer<float> dc(ctx, std::size_t(p.m * p.n), "C");
  gemm_f32(ctx, p, da, db, dc).wait();
  return bytes_of(dc.to_vector());
}

Bytes run_gemm_i8(Context& ctx) {
  const GemmI8Problem p{.m = 3, .n = 40, .k = 64};
  const auto b = reference::random_bytes(std::size_t(p.k * p.n), 3);
  const PackedWeightsI8 packed = pack_weights_i8(ctx, b, p.k, p.n, WeightLayout::nk,
                                                 QuantParams::per_tensor(QuantType::i8, 0.05f, 0));
  Buffer<std::uint8_t> a(ctx, std::span<const std::uint8_t>(reference::random_bytes(std::size_t(p.m * p.k), 4)), "A");
  RawBuffer c(ctx, std::size_t(p.m * p.n) * 4, "C");
  gemm_i8(ctx, p, a.raw(), 3, packed, c).wait();
  std::vector<std::int32_t> out(std::size_t(p.m * p.n));
  c.download(out.data(), out.size() * 4);
  return bytes_of(out);
}

Bytes run_conv(Context& ctx) {
  ConvProblem p;
  p.c = 8;
  p.h = p.w = 10;
  p.k = 8;
  p.r = p.s = 3;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  Buffer<std::uint16_t> x(ctx, std::span<const std::uint16_t>(reference::random_halves(std::size_t(p.input_elements()), 5)), "X");
  Buffer<std::uint16_t> w(ctx, std::span<const std::uint16_t>(reference::random_halves(std::size_t(p.weight_elements()), 6)), "W");
  Buffer<std::uint16_t> y(ctx, std::size_t(p.output_elements()), "Y");
  conv2d_f16(ctx, p, x, w, y).wait();
  return bytes_of(y.to_vector());
}

Bytes run_spmm(Context& ctx, const std::string& impl) {
  const CsrMatrix a = reference::random_csr(50, 40, 0.1, 7);
  const DeviceCsr d = upload_csr(ctx, a);
  const std::int64_t n = 5;
  Buffer<float> x(ctx, std::span<const float>(reference::random_floats(std::size_t(40 * n), 8)), "X");
  Buffer<float> y(ctx, std::size_t(50 * n), "Y");
  spmm_csr(ctx, d, n, x, y, {.impl = impl}).wait();
  return bytes_of(y.to_vector());
}
Bytes run_spmm_row(Context& ctx) { return run_spmm(ctx, ""); }
// The balanced Impl allocates its partial sums itself (a site of its own).
Bytes run_spmm_balanced(Context& ctx) { return run_spmm(ctx, "spmm_csr_f32_balanced"); }

Bytes run_snn(Context& ctx) {
  static const snn::Network net = snn::load_network(std::string(ELLESMERE_TEST_DATA_DIR) + "/snn/small.json");
  const snn::SimulationResult r = snn::simulate(ctx, net);
  std::vector<std::int64_t> flat;
  for (const auto& s : r.spikes) flat.insert(flat.end(), {s.step, s.population, s.index});
  flat.insert(flat.end(), r.population_spikes.begin(), r.population_spikes.end());
  return bytes_of(flat);
}

const OnnxModel& mlp() {
  static const OnnxModel* m =
      new OnnxModel(OnnxModel::load(std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx"));
  return *m;
}
Tensor digits_input(std::int64_t batch) {
  const auto v = reference::random_floats(std::size_t(batch * 64), 9, 0.0f, 16.0f);
  return Tensor::from<float>({batch, 1, 8, 8}, v);
}
Bytes run_pipeline(Context& ctx) {
  const auto outputs = mlp().run(ctx, {{"input", digits_input(3)}});
  const Tensor& y = outputs.at("output");
  Bytes b(y.data.size());
  std::memcpy(b.data(), y.data.data(), b.size());
  return b;
}

struct NamedOp {
  const char* name;
  std::function<Bytes(Context&)> run;
};
const std::vector<NamedOp>& all_ops() {
  static const std::vector<NamedOp> ops = {
      {"gemm_f32", run_gemm_f32},          {"gemm_i8", run_gemm_i8}, {"conv_f16", run_conv},
      {"spmm_csr", run_spmm_row},          {"spmm_csr_f32_balanced", run_spmm_balanced},
      {"snn_simulate", run_snn},           {"pipeline_run", run_pipeline}};
  return ops;
}

// ---- the hook itself -----------------------------------------------------------------------------------------

TEST(FaultInjectionHook, ArmsCountsAndClears) {
  fault::Scope scope;
  EXPECT_EQ(fault::hit(Site::alloc), CL_SUCCESS) << "disarmed";
  fault::arm(Site::enqueue, 3, CL_OUT_OF_RESOURCES, 2);
  EXPECT_EQ(fault::hit(Site::enqueue), CL_SUCCESS);
  EXPECT_EQ(fault::hit(Site::alloc), CL_SUCCESS);
  EXPECT_EQ(fault::hit(Site::enqueue), CL_SUCCESS);
  EXPECT_EQ(fault::hit(Site::enqueue), CL_OUT_OF_RESOURCES);
  EXPECT_EQ(fault::hit(Site::enqueue), CL_OUT_OF_RESOURCES);
  EXPECT_EQ(fault::hit(Site::enqueue), CL_SUCCESS) << "times = 2";
  EXPECT_EQ(fault::reached(Site::enqueue), 5);
  EXPECT_EQ(fault::injected(Site::enqueue), 2);
  EXPECT_EQ(fault::reached(Site::alloc), 1) << "counted while another site is armed";
  fault::clear();
  EXPECT_EQ(fault::hit(Site::enqueue), CL_SUCCESS);
  EXPECT_EQ(fault::reached(Site::enqueue), 5) << "not counted once cleared";

  fault::arm_from_spec("alloc:2:CL_OUT_OF_HOST_MEMORY,build:1:x-1");
  EXPECT_EQ(fault::hit(Site::alloc), CL_SUCCESS);
  EXPECT_EQ(fault::hit(Site::alloc), CL_OUT_OF_HOST_MEMORY);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fault::hit(Site::build), CL_BUILD_PROGRAM_FAILURE) << "x-1: every build";
  fault::clear();
  fault::arm_from_spec("enqueue:1:-5");
  EXPECT_EQ(fault::hit(Site::enqueue), CL_OUT_OF_RESOURCES);
  for (const char* bad : {"disk:1", "alloc", "alloc:0", "alloc:x", "enqueue:1:CL_NO_SUCH_ERROR", "build:1:x0"}) {
    try {
      fault::arm_from_spec(bad);
      ADD_FAILURE() << bad << ": no exception";
    } catch (const InvalidArgument& e) {
      EXPECT_TRUE(contains(e.what(), "ELLESMERE_FAULT")) << e.what();
    }
  }
}

// ---- allocation and enqueue failures in every op: a sweep over the op's reaches of the site ----------------------

// Runs op on fresh shared Contexts (own kernels and scratch, programs already built) with the site failing at
// several of its reaches (the first, the last, and some between): each must throw ClError with code, one of calls,
// the device named, and the same Context must then give base's bits.
void sweep(const NamedOp& op, Site site, cl_int code, const std::set<std::string>& calls) {
  SCOPED_TRACE(fmt::format("{} with {} failing", op.name, fault::site_name(site)));
  fault::Scope scope;
  Context& base = testing::shared_context();
  const Bytes want = op.run(base);
  long reaches = 0;
  {
    Context fresh = base.share();
    fault::count();
    EXPECT_EQ(op.run(fresh), want) << "a shared Context computes the same bits";
    reaches = fault::reached(site);
    fault::clear();
  }
  ASSERT_GT(reaches, 0) << op.name << " never reaches the " << fault::site_name(site) << " site";
  std::set<long> points{1, reaches};
  for (long i = 1; i < 4; ++i) points.insert(1 + (reaches - 1) * i / 4);
  for (const long nth : points) {
    SCOPED_TRACE(fmt::format("reach {} of {}", nth, reaches));
    Context ctx = base.share();
    fault::arm(site, nth, code);
    try {
      const Bytes got = op.run(ctx);
      ADD_FAILURE() << "no exception; a result of " << got.size() << " bytes was returned";
    } catch (const ClError& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_TRUE(calls.count(e.call())) << e.what();
      EXPECT_TRUE(contains(e.what(), cl_error_name(code))) << e.what();
      EXPECT_TRUE(contains(e.context(), ctx.device().name)) << "names the device: " << e.what();
      EXPECT_FALSE(e.context().empty());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a ClError: " << e.what();
    }
    EXPECT_EQ(fault::injected(site), 1);
    fault::clear();
    EXPECT_EQ(op.run(ctx), want) << "the Context recovers once the fault is cleared";
  }
}

class FaultInjectionOps : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FaultInjectionOps, AllocationFailureIsAClErrorAndTheContextRecovers) {
  sweep(all_ops()[GetParam()], Site::alloc, CL_MEM_OBJECT_ALLOCATION_FAILURE, {"clCreateBuffer"});
}

TEST_P(FaultInjectionOps, OutOfResourcesAtAnyAllocationIsReportedAsSuch) {
  // CL_OUT_OF_RESOURCES is what some drivers return for an allocation they cannot back.
  sweep(all_ops()[GetParam()], Site::alloc, CL_OUT_OF_RESOURCES, {"clCreateBuffer"});
}

TEST_P(FaultInjectionOps, EnqueueFailureMidOperationIsAClErrorAndTheContextRecovers) {
  sweep(all_ops()[GetParam()], Site::enqueue, CL_OUT_OF_RESOURCES, {"clEnqueueNDRangeKernel", "clblast::Gemm"});
}

INSTANTIATE_TEST_SUITE_P(Each, FaultInjectionOps, ::testing::Range<std::size_t>(0, 7),
                         [](const auto& param_info) { return std::string(all_ops()[param_info.param].name); });

// ---- build failures: a fresh Context with the disk cache off, so programs are compiled from source ---------------

TEST(FaultInjectionBuild, BuildFailureIsABuildErrorAndALaterBuildSucceeds) {
  fault::Scope scope;
  testing::EnvGuard cache_off("ELLESMERE_CACHE", "0");
  Context& base = testing::shared_context();
  for (const NamedOp& op : all_ops()) {
    if (std::string(op.name) == "spmm_csr_f32_balanced") continue;   // same program file as spmm_csr's
    SCOPED_TRACE(op.name);
    const Bytes want = op.run(base);
    Context ctx;
    fault::arm(Site::build, 1);
    try {
      op.run(ctx);
      ADD_FAILURE() << "no exception";
    } catch (const BuildError& e) {
      EXPECT_FALSE(e.kernel_file().empty());
      EXPECT_TRUE(contains(e.what(), e.kernel_file())) << e.what();
      EXPECT_TRUE(contains(e.device(), ctx.device().name)) << e.what();
      EXPECT_TRUE(contains(e.log(), "fault injection")) << e.log();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a BuildError: " << e.what();
    }
    EXPECT_EQ(fault::injected(Site::build), 1);
    fault::clear();
    EXPECT_EQ(ctx.impl().programs.stats().builds, 0) << "a failed build is not cached";
    EXPECT_EQ(op.run(ctx), want) << "the same Context builds and computes once the fault is cleared";
  }
}

TEST(FaultInjectionBuild, DriverErrorDuringBuildIsAClErrorNamingClBuildProgram) {
  fault::Scope scope;
  testing::EnvGuard cache_off("ELLESMERE_CACHE", "0");
  Context ctx;
  fault::arm(Site::build, 1, CL_OUT_OF_HOST_MEMORY);
  try {
    run_gemm_f32(ctx);
    ADD_FAILURE() << "no exception";
  } catch (const ClError& e) {
    EXPECT_EQ(e.code(), CL_OUT_OF_HOST_MEMORY);
    EXPECT_EQ(e.call(), "clBuildProgram");
    EXPECT_TRUE(contains(e.context(), "gemm/")) << "names the kernel file: " << e.what();
  }
  fault::clear();
  EXPECT_EQ(run_gemm_f32(ctx), run_gemm_f32(testing::shared_context()));
}

// ---- the CLI: one clear error line, exit status 1, nothing written -----------------------------------------------

struct CliResult {
  int status = -1;
  std::string output;
};

CliResult run_cli(const std::string& args, const std::string& fault_spec, bool cache = true) {
#ifdef ELLESMERE_CLI_PATH
  testing::EnvGuard env("ELLESMERE_FAULT", fault_spec.empty() ? std::nullopt : std::optional(fault_spec));
  testing::EnvGuard cache_env("ELLESMERE_CACHE", cache ? std::nullopt : std::optional<std::string>("0"));
  testing::TempDir logs("cli-log");
  const fs::path log = logs.path() / "out.txt";
  const std::string cmd = fmt::format("\"{}\" {} > \"{}\" 2>&1", ELLESMERE_CLI_PATH, args, log.string());
  CliResult r;
  const int status = std::system(cmd.c_str());
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(log);
  r.output.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return r;
#else
  (void)args, (void)fault_spec, (void)cache;
  return {};
#endif
}

int count_of(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
  return n;
}

class FaultInjectionCli : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef ELLESMERE_CLI_PATH
    GTEST_SKIP() << "the ellesmere CLI is not built (ELLESMERE_BUILD_TOOLS=OFF)";
#endif
    write_npy((dir.path() / "x.npy").string(), digits_input(4));
  }
  std::string model() const { return std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx"; }
  std::string plain_args(const fs::path& out) const {
    return fmt::format("run \"{}\" --input \"input={}\" --output-dir \"{}\"", model(), (dir.path() / "x.npy").string(),
                       out.string());
  }
  testing::TempDir dir{"fault-cli"};
};

TEST_F(FaultInjectionCli, PlainInferenceWithoutAFaultWritesItsOutput) {
  const fs::path out = dir.path() / "ok";
  const CliResult r = run_cli(plain_args(out), "");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "output.npy")) << r.output;
}

TEST_F(FaultInjectionCli, FaultMidPipelineGivesOneErrorLineAndNoOutputFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"enqueue:1", "clEnqueueNDRangeKernel failed with CL_OUT_OF_RESOURCES"},
      {"enqueue:3", "failed with CL_OUT_OF_RESOURCES"},
      {"alloc:4", "clCreateBuffer failed with CL_MEM_OBJECT_ALLOCATION_FAILURE"},
      {"alloc:2:CL_OUT_OF_RESOURCES", "clCreateBuffer failed with CL_OUT_OF_RESOURCES"}};
  for (const auto& [spec, message] : cases) {
    SCOPED_TRACE(spec);
    const fs::path out = dir.path() / ("out-" + spec.substr(0, spec.find(':')) + std::to_string(spec.size()));
    const CliResult r = run_cli(plain_args(out), spec);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(count_of(r.output, "ellesmere: error: "), 1) << r.output;
    EXPECT_TRUE(contains(r.output, message)) << r.output;
    EXPECT_FALSE(contains(r.output, "internal error")) << r.output;
    EXPECT_FALSE(fs::exists(out / "output.npy")) << "no output file from a failed run";
    EXPECT_FALSE(contains(r.output, "-> ")) << "no output reported: " << r.output;
  }
}

TEST_F(FaultInjectionCli, BuildFailureGivesTheBuildErrorAndNoOutputFile) {
  const fs::path out = dir.path() / "build";
  const CliResult r = run_cli(plain_args(out), "build:1", /*cache=*/false);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(count_of(r.output, "ellesmere: error: "), 1) << r.output;
  EXPECT_TRUE(contains(r.output, "fault injection")) << "the build log is shown: " << r.output;
  EXPECT_FALSE(fs::exists(out / "output.npy"));
}

TEST_F(FaultInjectionCli, PlanAndEvaluateFailingPrintsNoReportAndWritesNoJson) {
  std::vector<std::int32_t> labels(4);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t(i);
  write_npy((dir.path() / "y.npy").string(), Tensor::from<std::int32_t>({4}, labels));
  const fs::path json = dir.path() / "report.json";
  const std::string args = fmt::format("run \"{}\" --data \"{}\" --labels \"{}\" --json \"{}\" --target accuracy",
                                       model(), (dir.path() / "x.npy").string(), (dir.path() / "y.npy").string(),
                                       json.string());
  const CliResult r = run_cli(args, "enqueue:1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(count_of(r.output, "ellesmere: error: "), 1) << r.output;
  EXPECT_TRUE(contains(r.output, "CL_OUT_OF_RESOURCES")) << r.output;
  EXPECT_FALSE(contains(r.output, "ellesmere plan:")) << "no report table: " << r.output;
  EXPECT_FALSE(fs::exists(json));
}

TEST_F(FaultInjectionCli, MalformedFaultSpecificationIsAClearError) {
  const CliResult r = run_cli(plain_args(dir.path() / "bad"), "enqueue:zero");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "ellesmere: error: ELLESMERE_FAULT item 'enqueue:zero'")) << r.output;
}

// ---- program-binary cache entries ------------------------------------------------------------------------------

constexpr const char* kCacheParams = "TM=32 TN=32 TK=8 WPT=4 VW=4";

// Runs gemm_f32_tile2d with kCacheParams on a new Context (so its program comes from the disk cache or a build) and
// checks the result against the reference; returns the cache statistics.
runtime::ProgramCacheStats tile2d_run() {
  return testing::run_tile2d_checked({.m = 21, .n = 17, .k = 9}, ops::Params::parse(kCacheParams));
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary | std::ios::trunc) << s; }

class FaultInjectionProgramCache : public ::testing::Test {
 protected:
  // The one cache file tile2d_run() leaves in a fresh cache directory.
  fs::path only_entry() {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir.path() / "programs")) files.push_back(e.path());
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? fs::path() : files[0];
  }
  testing::TempDir dir{"fault-cache"};
  testing::EnvGuard cache_dir{"ELLESMERE_CACHE_DIR", dir.str()};
  testing::EnvGuard cache_on{"ELLESMERE_CACHE", std::nullopt};
  testing::EnvGuard kernel_dir{"ELLESMERE_KERNEL_DIR", std::nullopt};
};

// The file layout (program_cache.cpp): magic line, u64 key size, key, u64 payload size, u64 FNV-1a of the payload,
// payload. Cuts inside each part, at each boundary, and one byte short of the end.
TEST_F(FaultInjectionProgramCache, EntryTruncatedAnywhereIsRebuilt) {
  tile2d_run();
  const fs::path entry = only_entry();
  const std::string good = read_all(entry);
  const std::size_t magic = std::string_view("ELLESMERE-PROGRAM-CACHE 1\n").size();
  ASSERT_GT(good.size(), magic + 8);
  std::uint64_t key_size = 0;
  for (int i = 0; i < 8; ++i) key_size |= std::uint64_t(static_cast<unsigned char>(good[magic + std::size_t(i)])) << (8 * i);
  const std::size_t key_end = magic + 8 + std::size_t(key_size);
  for (const std::size_t cut : {std::size_t(0), std::size_t(1), magic - 1, magic, magic + 3, magic + 8,
                                magic + 8 + std::size_t(key_size / 2), key_end, key_end + 5, key_end + 8,
                                key_end + 16, key_end + 17, good.size() - 1}) {
    SCOPED_TRACE(fmt::format("cut at {} of {} bytes", cut, good.size()));
    write_all(entry, good.substr(0, cut));
    const auto stats = tile2d_run();
    EXPECT_EQ(stats.disk_rejected, 1);
    EXPECT_EQ(stats.builds, 1);
    EXPECT_EQ(stats.disk_hits, 0);
  }
  const auto again = tile2d_run();
  EXPECT_EQ(again.disk_hits, 1) << "the rebuilt program was written back";
  EXPECT_EQ(again.disk_rejected, 0);
}

TEST_F(FaultInjectionProgramCache, ChecksumValidBinaryRefusedByTheDriverIsRebuilt) {
  tile2d_run();
  const fs::path entry = only_entry();
  const std::string good = read_all(entry);
  const std::size_t magic = std::string_view("ELLESMERE-PROGRAM-CACHE 1\n").size();
  std::uint64_t key_size = 0;
  for (int i = 0; i < 8; ++i) key_size |= std::uint64_t(static_cast<unsigned char>(good[magic + std::size_t(i)])) << (8 * i);
  const std::size_t key_end = magic + 8 + std::size_t(key_size);
  // The header and key kept; a payload of garbage with its correct size and checksum: only the driver can refuse it.
  std::string payload(3000, '\0');
  std::uint32_t x = 99;
  for (auto& c : payload) c = char((x = x * 1664525u + 1013904223u) >> 24);
  auto put_u64 = [](std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += char((v >> (8 * i)) & 0xff);
  };
  std::string file = good.substr(0, key_end);
  put_u64(file, payload.size());
  put_u64(file, runtime::Fnv1a64().add(payload.data(), payload.size()).value());
  file += payload;
  write_all(entry, file);
  ::testing::internal::CaptureStderr();
  const auto stats = tile2d_run();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(stats.disk_rejected, 1);
  EXPECT_EQ(stats.builds, 1);
  EXPECT_EQ(stats.disk_hits, 0);
  EXPECT_TRUE(err.empty()) << "a rejected entry is rebuilt silently (ELLESMERE_VERBOSE=cache says why): " << err;
  EXPECT_EQ(tile2d_run().disk_hits, 1);
}

TEST_F(FaultInjectionProgramCache, UnwritableCacheDirectoryWarnsOnceAndEveryOpStillRuns) {
  // A regular file where the directory should be: mkdir fails with ENOTDIR, for root too.
  const fs::path blocker = dir.path() / "a-file";
  write_all(blocker, "x");
  testing::EnvGuard env("ELLESMERE_CACHE_DIR", (blocker / "cache").string());
  Context& base = testing::shared_context();
  std::vector<Bytes> want;
  for (const auto& op : {run_gemm_f32, run_spmm_row}) want.push_back(op(base));
  ::testing::internal::CaptureStderr();
  Context ctx;
  std::vector<Bytes> got;
  for (const auto& op : {run_gemm_f32, run_spmm_row}) got.push_back(op(ctx));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(got, want);
  EXPECT_GE(ctx.impl().programs.stats().builds, 2);
  EXPECT_EQ(count_of(err, "cannot write the program cache"), 1) << err;
  EXPECT_TRUE(contains(err, "ELLESMERE_CACHE_DIR")) << err;
  EXPECT_EQ(read_all(blocker), "x");
}

// ---- the tuning database -----------------------------------------------------------------------------------------

class FaultInjectionTuningDb : public ::testing::Test {
 protected:
  testing::TempDir dir{"fault-tuning"};
};

TEST_F(FaultInjectionTuningDb, CorruptLinesAreSkippedNamingFileAndLineAndGoodLinesKept) {
  const std::string path = (dir.path() / "tuning.txt").string();
  const std::string key = testing::shared_context().device().key;
  std::string text;
  text += key + " gemm_f32_tile2d gemm_f32:m64n64k64 TM=32 TN=32 TK=8 WPT=4 VW=4 12.5\n";   // 1: good
  text += std::string("\x01\xff\xfe garbage \x80\x81 bytes\x7f", 20) + "\n";                // 2
  text += key + " gemm_f32_tile2d gemm_f32:m64n6\n";                                          // 3: truncated line
  text += "only two\n";                                                                        // 4: columns
  text += key + " gemm_f32_tile2d gemm_f32:m64n64k64 TM=32 fast\n";                           // 5: time not a number
  text += key + " gemm_f32_tile2d gemm_f32:m64n64k64 TM=32 1e999\n";                          // 6: time overflows
  text += key + " gemm_f32_tile2d gemm_f32:m64n64k64 TM=99999999999999999999 3\n";            // 7: param overflows
  text += key + " gemm_f32_tile2d gemm_f32:m99999999999999999999999n1k1 TM=32 3\n";           // 8: problem overflows
  text += key + " gemm_f32_tile2d gemm_f32:m64n64k64 TM=32 -4\n";                             // 9: negative time
  text += std::string(4096, 'z') + "\n";                                                       // 10: one huge token
  text += key + " gemm_f32_tile2d gemm_f32:m1n1k1 TM=32 TN=32 TK=8 WPT=4 VW=4 1";             // 11: good, no newline
  write_all(path, text);
  tuning::TuningDb db;
  db.load_file(path, tuning::Layer::user);
  const auto warnings = db.warnings();
  ASSERT_EQ(warnings.size(), 9u);
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    EXPECT_TRUE(contains(warnings[i], fmt::format("{}:{}: skipped: ", path, i + 2))) << warnings[i];
  }
  EXPECT_TRUE(contains(warnings[4], "1e999")) << warnings[4];
  EXPECT_TRUE(contains(warnings[6], "out of range")) << warnings[6];
  EXPECT_EQ(db.entries().size(), 2u);
  const auto lookup = db.lookup(testing::shared_context().device(), *ops::find_impl("gemm_f32_tile2d"),
                                "gemm_f32:m64n64k64");
  EXPECT_EQ(lookup.level, tuning::Level::exact);
}

TEST_F(FaultInjectionTuningDb, CorruptUserFileWarnsAndOpsRunOnTheOtherLayers) {
  const std::string path = (dir.path() / "tuning.txt").string();
  write_all(path, "garbage line\n\x01\x02\x03\n");
  Context& ctx = testing::shared_context();
  const Bytes want = run_gemm_f32(ctx);
  {
    testing::EnvGuard env("ELLESMERE_TUNING_DB", path);
    ::testing::internal::CaptureStderr();
    tuning::TuningDb::global().reload();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(err, "ellesmere: warning: tuning database: " + path + ":1: skipped:")) << err;
    EXPECT_TRUE(contains(err, path + ":2: skipped:")) << err;
    EXPECT_EQ(run_gemm_f32(ctx), want);
  }
  tuning::TuningDb::global().reload();
  EXPECT_TRUE(tuning::TuningDb::global().warnings().empty());
}

TEST_F(FaultInjectionTuningDb, DirectoryInPlaceOfTheFileIsAWarningNotAnEmptyDatabase) {
  tuning::TuningDb db;
  db.load_file(dir.str(), tuning::Layer::user);
  ASSERT_EQ(db.warnings().size(), 1u);
  EXPECT_TRUE(contains(db.warnings()[0], dir.str() + ": cannot be read")) << db.warnings()[0];
  EXPECT_TRUE(contains(db.warnings()[0], "directory")) << db.warnings()[0];
}

#ifdef ELLESMERE_HAVE_TUNER
tune::TuneResult tiny_result() {
  tune::TuneResult r;
  r.device = "pocl-test-1cu";
  r.impl = "gemm_f32_tile2d";
  r.problem = "gemm_f32:m8n8k8";
  r.strategy = "exhaustive";
  tune::Evaluation e;
  e.params = ops::Params::parse(kCacheParams);
  e.time.median_us = 7;
  r.evaluations.push_back(e);
  r.best = e;
  return r;
}

TEST_F(FaultInjectionTuningDb, SavingToAnUnwritableDatabaseIsAFileErrorAndChangesNothing) {
  // Root ignores permissions, so "unwritable" is a directory in the file's place, a path under a regular file, and a
  // full device.
  const fs::path blocker = dir.path() / "a-file";
  write_all(blocker, "x\n");
  for (const std::string& path : {dir.str(), (blocker / "tuning.txt").string(), std::string("/dev/full")}) {
    SCOPED_TRACE(path);
    try {
      tune::append_to_database(path, tiny_result());
      ADD_FAILURE() << "no exception";
    } catch (const FileError& e) {
      EXPECT_EQ(e.path(), path);
      EXPECT_TRUE(contains(e.what(), "tuning database")) << e.what();
    }
  }
  EXPECT_EQ(read_all(blocker), "x\n");
  // A writable one (without a final newline) gets whole lines appended after the user's last line.
  const fs::path good = dir.path() / "good.txt";
  write_all(good, "# mine\npocl-test-1cu gemm_f32_tile2d gemm_f32:m4n4k4 TM=32 TN=32 TK=8 WPT=4 VW=4 3");
  tune::append_to_database(good.string(), tiny_result());
  tuning::TuningDb db;
  db.load_file(good.string(), tuning::Layer::user);
  EXPECT_TRUE(db.warnings().empty()) << db.warnings()[0];
  EXPECT_EQ(db.entries().size(), 2u);
}
#endif

}  // namespace
}  // namespace ellesmere
