// The program cache on the OpenCL device: disk hits across Contexts, and every way a cache file can be wrong
// (corrupt, truncated, stale, garbage, unwritable directory) leading to a rebuild, never to a trusted bad binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ellesmere/device.hpp"
#include "ellesmere/ops.hpp"
#include "ops/gemm/gemm_impl.hpp"
#include "reference/reference.hpp"
#include "runtime/context_impl.hpp"
#include "test_support.hpp"
#include "tile2d_check.hpp"

namespace ellesmere {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFile = "gemm/gemm_f32_tile2d.cl";
constexpr const char* kOptions = "-DTM=32 -DTN=32 -DTK=8 -DWPT=4 -DVW=4";

// Runs a GEMM with exactly the program kOptions names (through the Impl, with those Params), so a broken or
// mismatched binary loaded from disk shows as a wrong result; returns the cache statistics.
runtime::ProgramCacheStats build_and_run(const std::string& options = kOptions) {
  std::string params_text = options;   // "-DTM=32 -DTN=32 ..." -> "TM=32 TN=32 ..."
  for (auto pos = params_text.find("-D"); pos != std::string::npos; pos = params_text.find("-D")) {
    params_text.erase(pos, 2);
  }
  return testing::run_tile2d_checked({.m = 19, .n = 23, .k = 7}, ops::Params::parse(params_text), options);
}

std::vector<fs::path> cache_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir / "programs")) return out;
  for (const auto& e : fs::directory_iterator(dir / "programs")) out.push_back(e.path());
  return out;
}

class ProgramCacheTest : public ::testing::Test {
 protected:
  testing::TempDir dir{"cache"};
  testing::EnvGuard cache_dir{"ELLESMERE_CACHE_DIR", dir.str()};
  testing::EnvGuard cache_on{"ELLESMERE_CACHE", std::nullopt};
  testing::EnvGuard kernel_dir{"ELLESMERE_KERNEL_DIR", std::nullopt};
};

TEST_F(ProgramCacheTest, SecondContextLoadsFromDisk) {
  auto first = build_and_run();
  EXPECT_GE(first.builds, 1);
  EXPECT_EQ(first.disk_hits, 0);
  const auto files = cache_files(dir.path());
  ASSERT_FALSE(files.empty());
  auto second = build_and_run();
  EXPECT_EQ(second.builds, 0);
  EXPECT_GE(second.disk_hits, 1);
  EXPECT_EQ(second.disk_rejected, 0);
}

TEST_F(ProgramCacheTest, MemoryHitWithinOneContext) {
  Context ctx;
  ctx.impl().programs.get(kFile, kOptions);
  ctx.impl().programs.get(kFile, kOptions);
  EXPECT_EQ(ctx.impl().programs.stats().memory_hits, 1);
}

TEST_F(ProgramCacheTest, DifferentOptionsAreDifferentEntries) {
  build_and_run(kOptions);
  const auto n = cache_files(dir.path()).size();
  Context ctx;
  ctx.impl().programs.get(kFile, "-DTM=16 -DTN=16 -DTK=4 -DWPT=1 -DVW=1");
  EXPECT_EQ(ctx.impl().programs.stats().builds, 1);
  EXPECT_EQ(cache_files(dir.path()).size(), n + 1);
}

// Damages every cache file with f, then checks the next Context rejects it, rebuilds, computes correctly, and
// leaves a good file behind (the Context after that loads from disk again).
template <class Damage>
void expect_rebuilt_after(const fs::path& dir, Damage damage) {
  build_and_run();
  auto files = cache_files(dir);
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) damage(f);
  auto stats = build_and_run();
  EXPECT_GE(stats.disk_rejected, 1);
  EXPECT_GE(stats.builds, 1);
  auto again = build_and_run();
  EXPECT_EQ(again.builds, 0) << "the rebuilt program was written back";
  EXPECT_EQ(again.disk_rejected, 0);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

TEST_F(ProgramCacheTest, CorruptPayloadIsRebuilt) {
  expect_rebuilt_after(dir.path(), [](const fs::path& f) {
    std::string s = read_all(f);
    for (std::size_t i = s.size() / 2; i < s.size() / 2 + 64 && i < s.size(); ++i) s[i] = char(s[i] ^ 0x5a);
    write_all(f, s);
  });
}

TEST_F(ProgramCacheTest, TruncatedFileIsRebuilt) {
  expect_rebuilt_after(dir.path(), [](const fs::path& f) {
    std::string s = read_all(f);
    write_all(f, s.substr(0, s.size() * 2 / 3));
  });
}

TEST_F(ProgramCacheTest, GarbageFileIsRebuilt) {
  expect_rebuilt_after(dir.path(), [](const fs::path& f) {
    std::string s(4096, '\0');
    std::uint32_t x = 12345;
    for (auto& c : s) c = char((x = x * 1103515245u + 12345u) >> 24);
    write_all(f, s);
  });
}

TEST_F(ProgramCacheTest, EmptyFileIsRebuilt) {
  expect_rebuilt_after(dir.path(), [](const fs::path& f) { write_all(f, ""); });
}

TEST_F(ProgramCacheTest, StaleEntryForOtherSourceIsRebuilt) {
  // A valid cache file of another program placed under this program's name: its stored key differs.
  Context ctx;
  ctx.impl().programs.get(kFile, "-DTM=16 -DTN=16 -DTK=4 -DWPT=1 -DVW=1");
  const auto other = cache_files(dir.path());
  ASSERT_EQ(other.size(), 1u);
  const std::string other_bytes = read_all(other[0]);
  expect_rebuilt_after(dir.path(), [&](const fs::path& f) {
    if (f != other[0]) write_all(f, other_bytes);
  });
}

TEST_F(ProgramCacheTest, ChangedKernelSourceIsANewEntry) {
  build_and_run();
  const auto before = cache_files(dir.path()).size();
  // The same kernel with one extra comment line, through ELLESMERE_KERNEL_DIR: the source hash changes.
  testing::TempDir kernels("kernels");
  fs::copy(fs::path(ELLESMERE_SOURCE_DIR) / "kernels", kernels.path(), fs::copy_options::recursive);
  {
    std::ofstream out(kernels.path() / kFile, std::ios::app);
    out << "\n// edited\n";
  }
  testing::EnvGuard env("ELLESMERE_KERNEL_DIR", kernels.str());
  auto stats = build_and_run();
  EXPECT_GE(stats.builds, 1);
  EXPECT_EQ(stats.disk_hits, 0);
  EXPECT_GT(cache_files(dir.path()).size(), before);
}

TEST_F(ProgramCacheTest, DisabledCacheWritesNothing) {
  testing::EnvGuard off("ELLESMERE_CACHE", "0");
  build_and_run();
  auto stats = build_and_run();
  EXPECT_GE(stats.builds, 1);
  EXPECT_EQ(stats.disk_hits, 0);
  EXPECT_TRUE(cache_files(dir.path()).empty());
}

TEST_F(ProgramCacheTest, UnwritableCacheDirectoryWarnsOnceAndStillRuns) {
  // A regular file where the cache directory should be: no directory can be created under it (root included).
  const fs::path blocker = dir.path() / "not-a-directory";
  write_all(blocker, "x");
  testing::EnvGuard env("ELLESMERE_CACHE_DIR", (blocker / "cache").string());
  ::testing::internal::CaptureStderr();
  auto stats = build_and_run();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_GE(stats.builds, 1);
  EXPECT_NE(err.find("cannot write the program cache"), std::string::npos) << err;
  EXPECT_NE(err.find("ELLESMERE_CACHE_DIR"), std::string::npos) << "says how to fix it: " << err;
}

}  // namespace
}  // namespace ellesmere
