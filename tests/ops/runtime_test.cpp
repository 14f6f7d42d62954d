// The runtime on the OpenCL device: discovery and ELLESMERE_DEVICE selection, device info and key, buffers,
// event timings, and the errors OpenCL failures turn into. A missing device fails here (never skips).
#include <gtest/gtest.h>

#include <cstring>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "reference/reference.hpp"
#include "runtime/cl.hpp"
#include "runtime/context_impl.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Devices, AtLeastOneDeviceIsPresent) {
  const auto devices = list_devices();
  ASSERT_FALSE(devices.empty()) << "no OpenCL device: install pocl-opencl-icd (tools/install-deps.sh does)";
  for (std::size_t i = 0; i < devices.size(); ++i) EXPECT_EQ(devices[i].index, int(i));
}

TEST(Devices, InfoIsCompleteAndKeyIsNormalised) {
  const DeviceInfo d = select_device();
  EXPECT_FALSE(d.name.empty());
  EXPECT_FALSE(d.platform_name.empty());
  EXPECT_FALSE(d.driver_version.empty());
  EXPECT_GT(d.compute_units, 0);
  EXPECT_GT(d.max_work_group_size, 0u);
  EXPECT_GT(d.local_mem_bytes, 0u);
  EXPECT_GT(d.global_mem_bytes, 0u);
  EXPECT_GT(d.max_alloc_bytes, 0u);
  EXPECT_GE(d.opencl_c_version_number(), 11);
  const DeviceKey k = make_device_key(d.platform_name, d.name, d.board_name, d.vendor, d.compute_units, d.type);
  EXPECT_EQ(d.key, k.key);
  EXPECT_EQ(d.family, k.family);
  EXPECT_EQ(d.has_fp16, d.has_extension("cl_khr_fp16"));
  for (char c : d.key) EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) || std::isdigit(c) || c == '-') << d.key;
}

TEST(Devices, SelectionByIndexSubstringAndEnvironment) {
  const auto devices = list_devices();
  ASSERT_FALSE(devices.empty());
  const DeviceInfo& last = devices.back();
  EXPECT_EQ(select_device(std::to_string(last.index)).index, last.index);
  // Case-insensitive substring of the key and of the device name.
  std::string upper_key = last.key;
  for (char& c : upper_key) c = char(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(select_device(upper_key).key, last.key);
  {
    testing::EnvGuard env("ELLESMERE_DEVICE", std::to_string(last.index));
    EXPECT_EQ(select_device().index, last.index);
    EXPECT_EQ(Context().device().index, last.index);
  }
  try {
    select_device("no-such-device-anywhere");
    FAIL() << "no exception";
  } catch (const NotSupported& e) {
    EXPECT_TRUE(contains(e.what(), "matches no device")) << e.what();
    EXPECT_TRUE(contains(e.what(), last.key)) << "lists the devices that exist: " << e.what();
  }
  testing::EnvGuard env("ELLESMERE_DEVICE", "999");
  try {
    select_device();
    FAIL() << "no exception";
  } catch (const NotSupported& e) {
    EXPECT_TRUE(contains(e.what(), "ELLESMERE_DEVICE=999")) << e.what();
  }
}

TEST(Devices, ContextFromDeviceInfoUsesThatDevice) {
  const auto devices = list_devices();
  ASSERT_FALSE(devices.empty());
  Context ctx(devices.back());
  EXPECT_EQ(ctx.device().index, devices.back().index);
  EXPECT_EQ(ctx.device().key, devices.back().key);
  DeviceInfo gone = devices.back();
  gone.name = "a device that was unplugged";
  EXPECT_THROW(Context{gone}, NotSupported);
}

TEST(Buffers, RoundTripOffsetsAndFill) {
  Context ctx;
  const auto values = reference::random_floats(1000, 7);
  Buffer<float> buf(ctx, std::span<const float>(values));
  EXPECT_EQ(buf.size(), 1000u);
  EXPECT_EQ(buf.to_vector(), values);
  const auto part = reference::random_floats(10, 8);
  buf.upload(part, 990);
  std::vector<float> tail(10);
  buf.download(tail, 990);
  EXPECT_EQ(tail, part);
  buf.fill(-2.5f);
  for (float v : buf.to_vector()) ASSERT_EQ(v, -2.5f);
  Buffer<std::int8_t> bytes(ctx, 7);   // odd byte count
  bytes.fill(std::int8_t(-3));
  for (auto v : bytes.to_vector()) EXPECT_EQ(v, -3);
}

TEST(Buffers, FillWithPatternsTheDeviceCannotTake) {
  // clEnqueueFillBuffer takes 1..128-byte powers of two; a 12-byte pattern goes through the host.
  Context ctx;
  RawBuffer raw(ctx, 120, "pattern test");
  const unsigned char pattern[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  raw.fill(pattern, sizeof pattern);
  std::vector<unsigned char> out(120);
  raw.download(out.data(), out.size());
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], pattern[i % 12]) << i;
  EXPECT_THROW(raw.fill(pattern, 7), InvalidArgument);   // 120 is not a multiple of 7
}

TEST(Buffers, OutOfRangeCopiesAreInvalidArguments) {
  Context ctx;
  Buffer<float> buf(ctx, 16);
  std::vector<float> big(17);
  EXPECT_THROW(buf.upload(big), InvalidArgument);
  EXPECT_THROW(buf.download(big), InvalidArgument);
  std::vector<float> two(2);
  EXPECT_THROW(buf.upload(two, 15), InvalidArgument);
  EXPECT_NO_THROW(buf.upload(two, 14));
}

TEST(Buffers, EmptyAndMovedBuffersAreSafe) {
  Context ctx;
  Buffer<float> empty(ctx, 0);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(empty.to_vector().empty());
  empty.fill(1.0f);
  Buffer<float> a(ctx, std::span<const float>(reference::random_floats(8, 9)));
  const auto expect = a.to_vector();
  Buffer<float> b = std::move(a);
  EXPECT_EQ(b.to_vector(), expect);
  a = std::move(b);
  EXPECT_EQ(a.to_vector(), expect);
}

TEST(Buffers, OversizedAllocationNamesTheLimit) {
  Context ctx;
  const std::size_t too_big = ctx.device().max_alloc_bytes + 4096;
  try {
    RawBuffer r(ctx, too_big, "test operand");
    FAIL() << "no exception";
  } catch (const ClError& e) {
    EXPECT_EQ(e.code(), CL_INVALID_BUFFER_SIZE);
    EXPECT_TRUE(contains(e.what(), "CL_INVALID_BUFFER_SIZE")) << e.what();
    EXPECT_TRUE(contains(e.what(), "test operand")) << e.what();
    EXPECT_TRUE(contains(e.what(), "largest single allocation")) << e.what();
  }
}

TEST(Buffers, OutliveTheirContext) {
  std::optional<Buffer<float>> kept;
  {
    Context ctx;
    kept.emplace(ctx, std::span<const float>(reference::random_floats(4, 10)));
  }
  EXPECT_EQ(kept->to_vector(), reference::random_floats(4, 10));
}

TEST(Errors, ClErrorNamesCodeCallAndContext) {
  ClError e(CL_INVALID_WORK_GROUP_SIZE, "clEnqueueNDRangeKernel", "gemm_f32_tile2d gemm_f32:m4n4k4");
  EXPECT_STREQ(cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
  EXPECT_TRUE(contains(e.what(), "clEnqueueNDRangeKernel failed with CL_INVALID_WORK_GROUP_SIZE (-54)")) << e.what();
  EXPECT_TRUE(contains(e.what(), "gemm_f32_tile2d")) << e.what();
  EXPECT_STREQ(cl_error_name(-12345), "CL_UNKNOWN_ERROR");
  EXPECT_STREQ(cl_error_name(-2046), "CLBLAST_INVALID_LOCAL_MEM_USAGE");
}

TEST(Errors, BuildFailureCarriesLogOptionsAndFile) {
  Context ctx;
  const std::string source = "__kernel void broken(__global float* o) { o[0] = undeclared_name; }\n";
  try {
    ctx.impl().kernel_from_source("tests/broken.cl", source, "broken", "-DPLANTED=1");
    FAIL() << "no exception";
  } catch (const BuildError& e) {
    EXPECT_EQ(e.kernel_file(), "tests/broken.cl");
    EXPECT_TRUE(contains(e.options(), "-DPLANTED=1")) << e.options();
    EXPECT_TRUE(contains(e.options(), "-cl-std=")) << e.options();
    EXPECT_TRUE(contains(e.log(), "undeclared_name")) << e.log();
    EXPECT_TRUE(contains(e.what(), "build log")) << e.what();
  }
}

TEST(Errors, LaunchFailureNamesKernelAndGeometry) {
  Context ctx;
  auto& impl = ctx.impl();
  cl::Kernel& k = impl.kernel_from_source(
      "tests/fixed_wg.cl", "__kernel __attribute__((reqd_work_group_size(8, 1, 1))) void fixed(__global int* o) "
                           "{ o[get_global_id(0)] = 1; }\n",
      "fixed", "");
  Buffer<int> out(ctx, 16);
  detail::set_args(k, "fixed", out.handle());
  try {
    impl.launch(k, cl::NDRange(16), cl::NDRange(4), "fixed kernel");   // local 4 != reqd 8
    FAIL() << "no exception";
  } catch (const ClError& e) {
    EXPECT_TRUE(contains(e.what(), "clEnqueueNDRangeKernel")) << e.what();
    EXPECT_TRUE(contains(e.what(), "fixed kernel (global 16, local 4")) << e.what();
  }
}

}  // namespace
}  // namespace ellesmere
