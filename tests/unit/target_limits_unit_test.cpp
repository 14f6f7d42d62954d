// Unit tests of the host-only parts of src/ops/target_limits.hpp: unguarded_extensions() on kernel source text, and
// the RX 580 target limits (polaris_limits() and the DeviceInfo it models).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ops/target_limits.hpp"

namespace ellesmere::ops {
namespace {

using Lines = std::vector<std::string>;

TEST(UnguardedExtensions, NoPragmaNothingReported) {
  EXPECT_TRUE(unguarded_extensions("").empty());
  EXPECT_TRUE(unguarded_extensions("kernel void k(global float* x) { x[0] = 1.0f; }\n").empty());
}

TEST(UnguardedExtensions, UnguardedPragmaReportedWithItsLine) {
  const std::string src =
      "// a kernel\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "kernel void k(global half* x) {}\n"
      "   #  pragma   OPENCL EXTENSION cl_khr_fp64:enable\n";
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 2: cl_khr_fp16", "line 4: cl_khr_fp64"}));
}

TEST(UnguardedExtensions, InsideIfdefNamingItIsFine) {
  const std::string src =
      "#ifdef cl_khr_fp16\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_TRUE(unguarded_extensions(src).empty());
}

TEST(UnguardedExtensions, InsideIfDefinedAndMoreIsFine) {
  const std::string src =
      "#if defined(cl_khr_fp16) && VW > 1\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n"
      "#if VW > 2 && defined(cl_khr_fp64)\n"
      "  #pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
      "#endif\n";
  EXPECT_TRUE(unguarded_extensions(src).empty());
}

TEST(UnguardedExtensions, InsideIfdefNamingAnotherExtensionIsReported) {
  const std::string src =
      "#ifdef cl_khr_fp64\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 2: cl_khr_fp16"}));
}

TEST(UnguardedExtensions, DisablePragmaIsNotReported) {
  const std::string src =
      "#pragma OPENCL EXTENSION cl_khr_fp16 : disable\n"
      "#pragma OPENCL EXTENSION cl_khr_fp64 : disable\n";
  EXPECT_TRUE(unguarded_extensions(src).empty());
}

TEST(UnguardedExtensions, AfterTheGuardClosesIsReported) {
  const std::string src =
      "#ifdef cl_khr_fp16\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n";
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 4: cl_khr_fp16"}));
}

TEST(UnguardedExtensions, NestedBlocks) {
  const std::string src =
      "#if VW > 1\n"                                          // 1
      "#ifdef cl_khr_fp16\n"                                  // 2
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"       // 3 guarded by the inner block
      "#endif\n"                                              // 4
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"       // 5 only inside "VW > 1"
      "#endif\n"                                              // 6
      "#ifdef cl_khr_fp64\n"                                  // 7
      "#if TM > 8\n"                                          // 8
      "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"       // 9 guarded by the outer block
      "#endif\n"                                              // 10
      "#endif\n"                                              // 11
      "#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable\n";   // 12
  EXPECT_EQ(unguarded_extensions(src),
            (Lines{"line 5: cl_khr_fp16", "line 12: cl_khr_int64_base_atomics"}));
}

TEST(UnguardedExtensions, ElifNamingItIsFine) {
  const std::string src =
      "#if VW == 1\n"
      "#define X 1\n"
      "#elif defined(cl_khr_fp16)\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_TRUE(unguarded_extensions(src).empty());
}

// The #else of "#ifdef cl_khr_fp16" is compiled exactly when the extension is absent: enabling it there is the
// opposite of a guard and must be reported (a driver without cl_khr_fp16, such as Clover on Polaris, rejects it).
TEST(UnguardedExtensions, InElseOfIfdefNamingItIsReported) {
  const std::string src =
      "#ifdef cl_khr_fp16\n"                                  // 1
      "#define HAVE_HALF 1\n"                                 // 2
      "#else\n"                                               // 3
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"       // 4
      "#endif\n";                                             // 5
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 4: cl_khr_fp16"}));
}

// Likewise "#ifndef cl_khr_fp16" names the extension but selects the devices without it.
TEST(UnguardedExtensions, InIfndefNamingItIsReported) {
  const std::string src =
      "#ifndef cl_khr_fp16\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 2: cl_khr_fp16"}));
}

TEST(UnguardedExtensions, InIfNotDefinedIsReported) {
  const std::string src =
      "#if !defined(cl_khr_fp16)\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 2: cl_khr_fp16"}));
}

TEST(UnguardedExtensions, InElseOfIfndefIsFine) {
  const std::string src =
      "#ifndef cl_khr_fp16\n"
      "#define half float\n"
      "#else\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_TRUE(unguarded_extensions(src).empty());
}

// An #elif branch runs only when the #ifdef before it failed, i.e. without the extension.
TEST(UnguardedExtensions, InElifAfterIfdefNamingItIsReported) {
  const std::string src =
      "#ifdef cl_khr_fp16\n"
      "#define HAVE_HALF 1\n"
      "#elif VW > 1\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#endif\n";
  EXPECT_EQ(unguarded_extensions(src), (Lines{"line 4: cl_khr_fp16"}));
}

TEST(UnguardedExtensions, IfdefBranchBeforeElseStillGuarded) {
  const std::string src =
      "#ifdef cl_khr_fp16\n"
      "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
      "#else\n"
      "#define half float\n"
      "#endif\n";
  EXPECT_TRUE(unguarded_extensions(src).empty());
}

TEST(UnguardedExtensions, ShippedKernelsAreClean) {
  // Every kernel we ship must be usable on Polaris drivers, which guarantee no extension.
  for (const char* kernel : {"kernels/gemm/gemm_f32_tile2d.cl", "kernels/calibrate/calibrate.cl"}) {
    SCOPED_TRACE(kernel);
    const std::string path = std::string(ELLESMERE_SOURCE_DIR) + "/" + kernel;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr) << path;
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    std::fclose(f);
    EXPECT_TRUE(unguarded_extensions(text).empty());
  }
}

// ---- the RX 580 target ----

TEST(PolarisLimits, Values) {
  const TargetLimits t = polaris_limits();
  EXPECT_EQ(t.device_key, "amd-polaris-36cu");
  EXPECT_EQ(t.device_family, "amd-polaris");
  EXPECT_EQ(t.max_work_group_size, 256u);
  EXPECT_EQ(t.max_local_bytes, 32768u);
  EXPECT_EQ(t.opencl_c_version, 11);
  EXPECT_EQ(t.max_work_item_sizes[0], 256u);
  for (std::size_t s : t.max_work_item_sizes) {
    EXPECT_GE(s, 1u);
    EXPECT_LE(s, t.max_work_group_size);
  }
  EXPECT_FALSE(t.name.empty());
}

TEST(PolarisLimits, AsDeviceCarriesTheLimits) {
  const TargetLimits t = polaris_limits();
  const DeviceInfo d = t.as_device();
  EXPECT_EQ(d.type, DeviceType::gpu);
  EXPECT_EQ(d.max_work_group_size, 256u);
  EXPECT_EQ(d.max_work_item_sizes, t.max_work_item_sizes);
  EXPECT_EQ(d.local_mem_bytes, 32768u);
  EXPECT_EQ(d.opencl_c_version_number(), 11);
  EXPECT_EQ(d.key, "amd-polaris-36cu");
  EXPECT_EQ(d.family, "amd-polaris");
  EXPECT_EQ(d.name, t.name);
  EXPECT_TRUE(d.extensions.empty());   // no extension assumed
  EXPECT_FALSE(d.has_fp16);
  EXPECT_FALSE(d.has_fp64);
}

TEST(PolarisLimits, AsDeviceFollowsTheFields) {
  TargetLimits t = polaris_limits();
  t.max_work_group_size = 64;
  t.max_local_bytes = 16384;
  t.opencl_c_version = 12;
  t.device_key = "amd-polaris-32cu";
  const DeviceInfo d = t.as_device();
  EXPECT_EQ(d.max_work_group_size, 64u);
  EXPECT_EQ(d.local_mem_bytes, 16384u);
  EXPECT_EQ(d.opencl_c_version_number(), 12);
  EXPECT_EQ(d.key, "amd-polaris-32cu");
}

}  // namespace
}  // namespace ellesmere::ops
