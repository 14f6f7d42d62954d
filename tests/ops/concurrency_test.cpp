// Concurrency (issue 11): host threads, each with its own Context (made with share() from one OpenCL context, or
// independent), running a mix of ops and the pipeline at once must give the bits of a serial run; the tuning
// database's reload() must never expose a half-read database. The rules tested are in device.hpp's top comment.
// Also the test to run under ThreadSanitizer (tools/sanitize/tsan.supp, notes in the README).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"
#include "ellesmere/pipeline.hpp"
#include "ellesmere/quant.hpp"
#include "ellesmere/sparse.hpp"
#include "ellesmere/tensor_io.hpp"
#include "ops/impl_registry.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"
#include "test_support.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere {
namespace {

using Bytes = std::vector<std::uint8_t>;

template <class T>
Bytes bytes_of(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Inputs made once on the host; every thread uploads its own copy unless it is given device inputs.
struct HostInputs {
  GemmProblem gemm{.m = 33, .n = 47, .k = 65};
  std::vector<float> a = reference::random_floats(std::size_t(33 * 65), 1);
  std::vector<float> b = reference::random_floats(std::size_t(65 * 47), 2);
  GemmI8Problem gemm_i8{.m = 5, .n = 70, .k = 96};
  std::vector<std::uint8_t> a8 = reference::random_bytes(std::size_t(5 * 96), 3);
  std::vector<std::uint8_t> b8 = reference::random_bytes(std::size_t(96 * 70), 4);
  CsrMatrix csr = reference::random_csr(120, 90, 0.08, 5);
  std::vector<float> x = reference::random_floats(std::size_t(90 * 6), 6);
  ConvProblem conv = ConvProblem::parse("conv_f16:n1c8h12w12k16r3s3p1u1");
  std::vector<std::uint16_t> cx = reference::random_halves(std::size_t(8 * 12 * 12), 7);
  std::vector<std::uint16_t> cw = reference::random_halves(std::size_t(16 * 8 * 9), 8);
  OnnxModel model = OnnxModel::load(std::string(ELLESMERE_SOURCE_DIR) + "/examples/models/digits_mlp.onnx");
  Tensor digits = Tensor::from<float>({5, 1, 8, 8}, reference::random_floats(5 * 64, 9, 0.0f, 16.0f));
};

const HostInputs& inputs() {
  static const HostInputs* in = new HostInputs();
  return *in;
}

// Read-only device inputs made on one Context and used by kernels on others (one OpenCL context).
struct DeviceInputs {
  explicit DeviceInputs(Context& ctx)
      : a(ctx, std::span<const float>(inputs().a), "A"),
        b(ctx, std::span<const float>(inputs().b), "B"),
        packed(pack_weights_i8(ctx, inputs().b8, inputs().gemm_i8.k, inputs().gemm_i8.n, WeightLayout::nk,
                               QuantParams::per_tensor(QuantType::i8, 0.05f, 0))) {}
  Buffer<float> a, b;
  PackedWeightsI8 packed;
};

// One round of the mix on ctx; every output downloaded (the download waits for the kernels on ctx's queue).
std::vector<Bytes> mix(Context& ctx, const DeviceInputs* shared = nullptr) {
  const HostInputs& in = inputs();
  std::vector<Bytes> out;
  {
    std::optional<Buffer<float>> a, b;
    if (shared == nullptr) {
      a.emplace(ctx, std::span<const float>(in.a), "A");
      b.emplace(ctx, std::span<const float>(in.b), "B");
    }
    Buffer<float> c(ctx, std::size_t(in.gemm.m * in.gemm.n), "C");
    gemm_f32(ctx, in.gemm, shared ? shared->a : *a, shared ? shared->b : *b, c);
    out.push_back(bytes_of(c.to_vector()));
  }
  {
    std::optional<PackedWeightsI8> own;
    if (shared == nullptr) {
      own.emplace(pack_weights_i8(ctx, in.b8, in.gemm_i8.k, in.gemm_i8.n, WeightLayout::nk,
                                  QuantParams::per_tensor(QuantType::i8, 0.05f, 0)));
    }
    Buffer<std::uint8_t> a(ctx, std::span<const std::uint8_t>(in.a8), "A8");
    RawBuffer c(ctx, std::size_t(in.gemm_i8.m * in.gemm_i8.n) * 4, "C32");
    gemm_i8(ctx, in.gemm_i8, a.raw(), 7, shared ? shared->packed : *own, c);
    std::vector<std::int32_t> v(std::size_t(in.gemm_i8.m * in.gemm_i8.n));
    c.download(v.data(), v.size() * 4);
    out.push_back(bytes_of(v));
  }
  {
    const DeviceCsr d = upload_csr(ctx, in.csr);
    Buffer<float> x(ctx, std::span<const float>(in.x), "X");
    Buffer<float> y(ctx, std::size_t(120 * 6), "Y");
    spmm_csr(ctx, d, 6, x, y);
    out.push_back(bytes_of(y.to_vector()));
  }
  {
    Buffer<std::uint16_t> x(ctx, std::span<const std::uint16_t>(in.cx), "X16");
    Buffer<std::uint16_t> w(ctx, std::span<const std::uint16_t>(in.cw), "W16");
    Buffer<std::uint16_t> y(ctx, std::size_t(in.conv.output_elements()), "Y16");
    conv2d_f16(ctx, in.conv, x, w, y);
    out.push_back(bytes_of(y.to_vector()));
  }
  {
    const auto outputs = in.model.run(ctx, {{"input", in.digits}});
    const Tensor& y = outputs.at("output");
    Bytes b(y.data.size());
    std::memcpy(b.data(), y.data.data(), b.size());
    out.push_back(std::move(b));
  }
  return out;
}

const char* kMixNames[] = {"gemm_f32", "gemm_i8", "spmm_csr", "conv2d_f16", "pipeline (digits_mlp)"};

// Runs make_context() and rounds of mix() on each of threads threads, all started together; returns the failures.
template <class MakeContext>
std::vector<std::string> run_threads(int threads, int rounds, const std::vector<Bytes>& want, MakeContext make_context,
                                     const DeviceInputs* shared = nullptr) {
  std::mutex mutex;
  std::vector<std::string> failures;
  std::latch start(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        Context ctx = make_context();
        start.arrive_and_wait();
        for (int r = 0; r < rounds; ++r) {
          const std::vector<Bytes> got = mix(ctx, shared);
          for (std::size_t i = 0; i < want.size(); ++i) {
            if (got[i] != want[i]) {
              std::lock_guard lock(mutex);
              failures.push_back(fmt::format("thread {} round {}: {} differs from the serial run", t, r, kMixNames[i]));
            }
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(fmt::format("thread {}: {}", t, e.what()));
      }
    });
  }
  for (auto& th : pool) th.join();
  return failures;
}

TEST(Concurrency, ThreadsOnSharedContextsMatchASerialRun) {
  Context& serial = testing::shared_context();
  const std::vector<Bytes> want = mix(serial);
  ASSERT_EQ(mix(serial), want) << "a serial run repeats itself bit for bit";
  // A fresh root: its program cache is empty, so the threads' first calls race to build (or load) the programs.
  Context root;
  const auto failures = run_threads(4, 3, want, [&] { return root.share(); });
  for (const auto& f : failures) ADD_FAILURE() << f;
  const auto stats = root.impl().programs.stats();
  EXPECT_GT(stats.memory_hits, 0) << "the threads shared one program cache";
  EXPECT_EQ(mix(root), want) << "the root Context is unaffected";
}

TEST(Concurrency, SharedContextsReadOneSetOfDeviceInputs) {
  Context& serial = testing::shared_context();
  const std::vector<Bytes> want = mix(serial);
  Context root;
  const DeviceInputs shared(root);   // uploaded (blocking) before the threads start; never written again
  const auto failures = run_threads(4, 2, want, [&] { return root.share(); }, &shared);
  for (const auto& f : failures) ADD_FAILURE() << f;
}

TEST(Concurrency, ThreadsWithIndependentContextsMatchASerialRun) {
  Context& serial = testing::shared_context();
  const std::vector<Bytes> want = mix(serial);
  const auto failures = run_threads(3, 2, want, [] { return Context(); });
  for (const auto& f : failures) ADD_FAILURE() << f;
}

TEST(Concurrency, SharedContextOutlivesItsRootAndBuffersCrossContexts) {
  std::optional<Context> root(std::in_place);
  Context other = root->share();
  Buffer<float> made_on_root(*root, std::span<const float>(inputs().a), "A");
  root.reset();   // the shared OpenCL context and program cache stay alive with `other`
  Buffer<float> b(other, std::span<const float>(inputs().b), "B");
  Buffer<float> c(other, std::size_t(33 * 47), "C");
  gemm_f32(other, inputs().gemm, made_on_root, b, c).wait();
  Context& serial = testing::shared_context();
  EXPECT_EQ(bytes_of(c.to_vector()), mix(serial)[0]);
  EXPECT_EQ(other.cl_context_handle(), other.share().cl_context_handle());
  EXPECT_NE(other.cl_queue_handle(), other.share().cl_queue_handle()) << "each shared Context has its own queue";
}

TEST(Concurrency, TuningDatabaseReloadNeverShowsAHalfReadDatabase) {
  Context& ctx = testing::shared_context();
  testing::TempDir dir("tsan-tuning");
  const std::string path = (dir.path() / "tuning.txt").string();
  {
    std::string text;
    // Many lines, so that a reader catching the database half-read is likely if reload() allowed it.
    for (int i = 1; i <= 400; ++i) {
      text += fmt::format("{} gemm_f32_tile2d gemm_f32:m{}n64k64 TM=32 TN=32 TK=8 WPT=4 VW=4 {}\n", ctx.device().key,
                          i, i);
    }
    std::ofstream(path) << text;
  }
  const ops::ImplBase& impl = *ops::find_impl("gemm_f32_tile2d");
  std::atomic<bool> stop{false};
  std::atomic<int> lookups{0}, wrong{0};
  {
    testing::EnvGuard env("ELLESMERE_TUNING_DB", path);   // set before the threads start: setenv is not thread-safe
    tuning::TuningDb& db = tuning::TuningDb::global();
    db.reload();
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&, t] {
        while (!stop.load()) {
          const auto l = db.lookup(ctx.device(), impl, fmt::format("gemm_f32:m{}n64k64", 400 - t));
          ++lookups;
          if (l.level != tuning::Level::exact || !l.entry || l.entry->layer != tuning::Layer::user) ++wrong;
        }
      });
    }
    for (int r = 0; r < 20; ++r) db.reload();
    stop = true;
    for (auto& th : readers) th.join();
  }
  tuning::TuningDb::global().reload();
  EXPECT_GT(lookups.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "of " << lookups.load() << " lookups during reload()";
}

}  // namespace
}  // namespace ellesmere
