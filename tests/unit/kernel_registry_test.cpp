// Unit tests of the kernel registry (src/runtime/kernel_registry.hpp): the embedded kernel list, `#include`
// expansion with #line markers, embedded text identical to kernels/, and the ELLESMERE_KERNEL_DIR override.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ellesmere/error.hpp"
#include "runtime/kernel_registry.hpp"
#include "test_support.hpp"

namespace ellesmere::runtime {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKernelDirVar = "ELLESMERE_KERNEL_DIR";

using KernelDirGuard = ellesmere::testing::EnvGuard;
using TempDir = ellesmere::testing::TempDir;

const fs::path kSourceKernels = fs::path(ELLESMERE_SOURCE_DIR) / "kernels";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// kernel_source(file) must throw Error whose what() holds every one of needles.
void expect_error(const std::string& file, std::initializer_list<std::string> needles) {
  try {
    (void)kernel_source(file);
    ADD_FAILURE() << "no Error for " << file;
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_TRUE(contains(e.what(), n)) << "\"" << n << "\" not in: " << e.what();
  }
}

// ---- embedded ----

TEST(KernelRegistry, EmbeddedListHasKernelsNotHeaders) {
  KernelDirGuard guard(kKernelDirVar, std::nullopt);
  const auto files = kernel_files();
  EXPECT_NE(std::find(files.begin(), files.end(), "gemm/gemm_f32_tile2d.cl"), files.end());
  EXPECT_NE(std::find(files.begin(), files.end(), "calibrate/calibrate.cl"), files.end());
  for (const auto& f : files) {
    EXPECT_TRUE(f.ends_with(".cl")) << f;
    EXPECT_FALSE(f.ends_with(".h")) << f;
    EXPECT_EQ(f.find('\\'), std::string::npos) << f;
  }
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  EXPECT_TRUE(contains(kernel_source_origin(), "embedded")) << kernel_source_origin();
}

TEST(KernelRegistry, EmbeddedSourceExpandsIncludes) {
  KernelDirGuard guard(kKernelDirVar, std::nullopt);
  const std::string file = "gemm/gemm_f32_tile2d.cl";
  const std::string src = kernel_source(file);
  EXPECT_TRUE(contains(src, "ELLESMERE_COMMON_VECTOR_H")) << "common/vector.h was not expanded";
  EXPECT_TRUE(contains(src, "#define VEC(t, n)"));
  EXPECT_FALSE(contains(src, "#include \"")) << src.substr(0, 2000);
  EXPECT_TRUE(src.starts_with("#line 1 \"" + file + "\"\n")) << src.substr(0, 200);
  EXPECT_TRUE(contains(src, "#line 1 \"common/vector.h\"\n"));
  // After the header the numbering resumes at the line after the #include in the including file.
  std::istringstream lines(read_file(kSourceKernels / file));
  int number = 0, include_line = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (contains(line, "#include \"common/vector.h\"")) include_line = number;
  }
  ASSERT_GT(include_line, 0) << "the test expects " << file << " to include common/vector.h";
  EXPECT_TRUE(contains(src, "#line " + std::to_string(include_line + 1) + " \"" + file + "\"\n"));
}

TEST(KernelRegistry, EmbeddedTextIsIdenticalToTheSourceTree) {
  // Every .cl and .h under kernels/: kernel_source() from the embedded table and from the files must agree byte
  // for byte (same bytes in, same expansion out).
  std::vector<std::string> all;
  for (const auto& entry : fs::recursive_directory_iterator(kSourceKernels)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".cl" || ext == ".h")) {
      all.push_back(entry.path().lexically_relative(kSourceKernels).generic_string());
    }
  }
  ASSERT_GE(all.size(), 3u);
  std::vector<std::string> embedded_list, dir_list;
  std::vector<std::string> embedded_text;
  {
    KernelDirGuard guard(kKernelDirVar, std::nullopt);
    embedded_list = kernel_files();
    for (const auto& f : all) embedded_text.push_back(kernel_source(f));
  }
  {
    KernelDirGuard guard(kKernelDirVar, kSourceKernels.string());
    dir_list = kernel_files();
    EXPECT_TRUE(contains(kernel_source_origin(), kSourceKernels.string())) << kernel_source_origin();
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(embedded_text[i], kernel_source(all[i])) << all[i] << ": embedded text differs from the file";
    }
  }
  EXPECT_EQ(embedded_list, dir_list);
  // A header holds no includes here, so its expansion is the file itself after one #line marker.
  const std::string header = read_file(kSourceKernels / "common/vector.h");
  const auto it = std::find(all.begin(), all.end(), "common/vector.h");
  ASSERT_NE(it, all.end());
  EXPECT_EQ(embedded_text[std::size_t(it - all.begin())],
            "#line 1 \"common/vector.h\"\n" + header + (header.ends_with('\n') ? "" : "\n"));
}

TEST(KernelRegistry, MissingEmbeddedKernelThrowsNamingIt) {
  KernelDirGuard guard(kKernelDirVar, std::nullopt);
  expect_error("gemm/gemm_f32_nonexistent.cl", {"gemm/gemm_f32_nonexistent.cl"});
}

// ---- ELLESMERE_KERNEL_DIR ----

TEST(KernelRegistryDir, FilesFoundRecursivelySortedWithoutHeaders) {
  TempDir dir;
  dir.write("top.cl", "kernel void top() {}\n");
  dir.write("x/y/deep.cl", "kernel void deep() {}\n");
  dir.write("b/second.cl", "kernel void second() {}\n");
  dir.write("common/shared.h", "#define SHARED 1\n");
  dir.write("notes.txt", "not a kernel\n");
  KernelDirGuard guard(kKernelDirVar, dir.path().string());
  EXPECT_EQ(kernel_files(), (std::vector<std::string>{"b/second.cl", "top.cl", "x/y/deep.cl"}));
  EXPECT_TRUE(contains(kernel_source_origin(), dir.path().string()));
  EXPECT_TRUE(contains(kernel_source("x/y/deep.cl"), "kernel void deep()"));
}

TEST(KernelRegistryDir, IncludesResolveRelativeToTheIncluderThenTheRoot) {
  TempDir dir;
  dir.write("a/main.cl", "// a\n#include \"inc.h\"\n#include \"common/shared.h\"\nkernel void a() {}\n");
  dir.write("a/inc.h", "#define INC_NEXT_TO_A 1\n");
  dir.write("inc.h", "#define INC_AT_ROOT 1\n");
  dir.write("b/main.cl", "#include \"inc.h\"\nkernel void b() {}\n");
  dir.write("common/shared.h", "#define SHARED_MARK 1\n");
  KernelDirGuard guard(kKernelDirVar, dir.path().string());

  const std::string a = kernel_source("a/main.cl");
  EXPECT_TRUE(contains(a, "INC_NEXT_TO_A"));
  EXPECT_FALSE(contains(a, "INC_AT_ROOT"));
  EXPECT_TRUE(contains(a, "SHARED_MARK"));
  EXPECT_TRUE(contains(a, "#line 1 \"a/inc.h\"\n"));
  EXPECT_TRUE(contains(a, "#line 1 \"common/shared.h\"\n"));
  EXPECT_TRUE(contains(a, "#line 3 \"a/main.cl\"\n"));
  EXPECT_TRUE(contains(a, "#line 4 \"a/main.cl\"\n"));
  EXPECT_FALSE(contains(a, "#include"));

  const std::string b = kernel_source("b/main.cl");
  EXPECT_TRUE(contains(b, "INC_AT_ROOT"));
  EXPECT_FALSE(contains(b, "INC_NEXT_TO_A"));
}

TEST(KernelRegistryDir, HeaderIncludedTwiceAppearsOnce) {
  TempDir dir;
  dir.write("k.cl",
            "#include \"common/shared.h\"\n"
            "#include \"common/other.h\"\n"
            "  #  include \"common/shared.h\"  // again\n"
            "kernel void k() {}\n");
  dir.write("common/shared.h", "#define SHARED_MARK 1\n");
  dir.write("common/other.h", "#include \"shared.h\"\n#define OTHER_MARK 1\n");   // same header, relative
  KernelDirGuard guard(kKernelDirVar, dir.path().string());
  const std::string src = kernel_source("k.cl");
  EXPECT_EQ(count(src, "SHARED_MARK"), 1u) << src;
  EXPECT_EQ(count(src, "OTHER_MARK"), 1u) << src;
  EXPECT_TRUE(contains(src, "kernel void k()"));
  EXPECT_FALSE(contains(src, "#include")) << src;
}

TEST(KernelRegistryDir, SameHeaderSpelledTwoWaysAppearsOnce) {
  // "../common/shared.h" from gemm/ and "common/shared.h" are one file; it must be expanded once.
  TempDir dir;
  dir.write("gemm/k.cl", "#include \"../common/shared.h\"\n#include \"common/shared.h\"\nkernel void k() {}\n");
  dir.write("common/shared.h", "#define SHARED_MARK 1\n");
  KernelDirGuard guard(kKernelDirVar, dir.path().string());
  const std::string src = kernel_source("gemm/k.cl");
  EXPECT_EQ(count(src, "SHARED_MARK"), 1u) << src;
}

TEST(KernelRegistryDir, IncludeCycleTerminates) {
  TempDir dir;
  dir.write("c.cl", "#include \"c1.h\"\nkernel void c() {}\n");
  dir.write("c1.h", "#define C1 1\n#include \"c2.h\"\n");
  dir.write("c2.h", "#define C2 1\n#include \"c1.h\"\n#include \"c.cl\"\n");
  dir.write("self.cl", "#include \"self.cl\"\nkernel void self_() {}\n");
  KernelDirGuard guard(kKernelDirVar, dir.path().string());
  std::string src;
  ASSERT_NO_THROW(src = kernel_source("c.cl"));
  EXPECT_EQ(count(src, "#define C1 1"), 1u) << src;
  EXPECT_EQ(count(src, "#define C2 1"), 1u) << src;
  EXPECT_EQ(count(src, "kernel void c()"), 1u) << src;
  ASSERT_NO_THROW(src = kernel_source("self.cl"));
  EXPECT_EQ(count(src, "kernel void self_()"), 1u) << src;
}

TEST(KernelRegistryDir, MissingIncludeThrowsNamingFileLineAndHeader) {
  TempDir dir;
  dir.write("m/k.cl", "// one\n// two\n#include \"nope.h\"\nkernel void k() {}\n");
  dir.write("m/h.cl", "#include \"mid.h\"\n");
  dir.write("mid.h", "\n#include \"deeper/gone.h\"\n");
  KernelDirGuard guard(kKernelDirVar, dir.path().string());
  expect_error("m/k.cl", {"m/k.cl:3", "nope.h"});
  expect_error("m/h.cl", {"mid.h:2", "deeper/gone.h"});
}

TEST(KernelRegistryDir, MissingKernelFileThrowsNamingIt) {
  TempDir dir;
  dir.write("present.cl", "kernel void p() {}\n");
  KernelDirGuard guard(kKernelDirVar, dir.path().string());
  expect_error("absent/gone.cl", {"absent/gone.cl", dir.path().string()});
  // The embedded kernels are not consulted when the override is set.
  expect_error("gemm/gemm_f32_tile2d.cl", {"gemm/gemm_f32_tile2d.cl"});
}

TEST(KernelRegistryDir, GuardRestoresTheEnvironment) {
  const char* before = std::getenv(kKernelDirVar);
  const std::string before_value = before ? before : "<unset>";
  {
    TempDir dir;
    KernelDirGuard guard(kKernelDirVar, dir.path().string());
    EXPECT_EQ(std::string(std::getenv(kKernelDirVar)), dir.path().string());
  }
  const char* after = std::getenv(kKernelDirVar);
  EXPECT_EQ(after ? std::string(after) : std::string("<unset>"), before_value);
}

}  // namespace
}  // namespace ellesmere::runtime
