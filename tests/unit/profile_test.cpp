// Unit tests of device profiles (include/ellesmere/profile.hpp): the built-in RX 580 model, the text format and
// its errors, saving and loading under ELLESMERE_CONFIG_DIR, and the roofline time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <unistd.h>

#include "ellesmere/error.hpp"
#include "ellesmere/profile.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using ScopedEnv = ellesmere::testing::EnvGuard;
using TempDir = ellesmere::testing::TempDir;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A profile with every field set, values exact at 3 decimals.
DeviceProfile sample_profile() {
  DeviceProfile p;
  p.key = "pocl-cpu-haswell-2cu";
  p.name = "pocl-cpu-haswell-2cu";
  p.model_estimate = false;
  p.device = "pthread-haswell-AMD EPYC 7B13 #2";
  p.driver = "4.0+debian";
  p.date = "2024-06-11T10:20:30Z";
  p.compute_units = 2;
  p.bandwidth_gbps = 21.125;
  p.fp32_gflops = 137.5;
  p.fp16_gflops = 0.25;
  p.int8_gops = 96.875;
  p.launch_overhead_us = 3.5;
  p.local_mem_bytes = 4194304;
  p.max_work_group_size = 4096;
  p.global_mem_bytes = 17179869184ull;
  p.sources = {"measured by ellesmere calibrate", "second source line"};
  return p;
}

void expect_same(const DeviceProfile& a, const DeviceProfile& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.model_estimate, b.model_estimate);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.driver, b.driver);
  EXPECT_EQ(a.date, b.date);
  EXPECT_EQ(a.compute_units, b.compute_units);
  EXPECT_DOUBLE_EQ(a.bandwidth_gbps, b.bandwidth_gbps);
  EXPECT_DOUBLE_EQ(a.fp32_gflops, b.fp32_gflops);
  EXPECT_DOUBLE_EQ(a.fp16_gflops, b.fp16_gflops);
  EXPECT_DOUBLE_EQ(a.int8_gops, b.int8_gops);
  EXPECT_DOUBLE_EQ(a.launch_overhead_us, b.launch_overhead_us);
  EXPECT_EQ(a.local_mem_bytes, b.local_mem_bytes);
  EXPECT_EQ(a.max_work_group_size, b.max_work_group_size);
  EXPECT_EQ(a.global_mem_bytes, b.global_mem_bytes);
  EXPECT_EQ(a.sources, b.sources);
}

// parse_profile(text) must throw FileError whose what() names origin and every one of needles.
void expect_parse_error(const std::string& text, std::initializer_list<std::string> needles) {
  try {
    parse_profile(text, "origin.txt");
    ADD_FAILURE() << "no FileError for:\n" << text;
  } catch (const FileError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "origin.txt")) << what;
    EXPECT_EQ(e.path(), "origin.txt");
    for (const auto& n : needles) EXPECT_TRUE(contains(what, n)) << "\"" << n << "\" not in: " << what;
  }
}

// ---- built-in profile ----

TEST(BuiltinProfile, Rx580Model) {
  const DeviceProfile p = builtin_profile("rx580");
  EXPECT_EQ(p.name, "rx580");
  EXPECT_EQ(p.key, "amd-polaris-36cu");
  EXPECT_TRUE(p.model_estimate);
  EXPECT_EQ(p.compute_units, 36);
  EXPECT_DOUBLE_EQ(p.fp32_gflops, 6175);
  EXPECT_DOUBLE_EQ(p.fp16_gflops, p.fp32_gflops);   // no packed fp16 math on Polaris
  EXPECT_GT(p.int8_gops, 0);
  EXPECT_LE(p.int8_gops, p.fp32_gflops);            // no int8 dot instruction before gfx906
  EXPECT_GE(p.bandwidth_gbps, 170);
  EXPECT_LE(p.bandwidth_gbps, 190);
  EXPECT_EQ(p.local_mem_bytes, 32768u);
  EXPECT_EQ(p.max_work_group_size, 256u);
  EXPECT_GT(p.launch_overhead_us, 0);
  EXPECT_FALSE(p.sources.empty());
  EXPECT_TRUE(p.date.empty());   // a model, not a measurement
}

TEST(BuiltinProfile, FoundByKeyToo) {
  expect_same(builtin_profile("amd-polaris-36cu"), builtin_profile("rx580"));
}

TEST(BuiltinProfile, ListedByName) {
  const auto names = builtin_profile_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "rx580"), names.end());
}

TEST(BuiltinProfile, UnknownIsNotSupported) {
  try {
    builtin_profile("rx9999");
    ADD_FAILURE() << "no NotSupported";
  } catch (const NotSupported& e) {
    EXPECT_TRUE(contains(e.what(), "rx9999")) << e.what();
    EXPECT_TRUE(contains(e.what(), "rx580")) << e.what();   // lists what exists
  }
  EXPECT_THROW(builtin_profile("amd-polaris-32cu"), NotSupported);
  EXPECT_THROW(builtin_profile(""), NotSupported);
}

// ---- text format ----

TEST(ProfileText, FormatParseRoundTrip) {
  const DeviceProfile p = sample_profile();
  const DeviceProfile back = parse_profile(format_profile(p), "round-trip");
  expect_same(back, p);
  // Formatting again gives the same text.
  EXPECT_EQ(format_profile(back), format_profile(p));
}

TEST(ProfileText, BuiltinRoundTrips) {
  const DeviceProfile p = builtin_profile("rx580");
  expect_same(parse_profile(format_profile(p), "rx580 again"), p);
}

TEST(ProfileText, CommentsBlankLinesCrlfAndDefaultName) {
  const DeviceProfile p = parse_profile(
      "# a comment\r\n"
      "\r\n"
      "   # indented comment\n"
      "key test-dev-4cu\r\n"
      "bandwidth_gbps 12.5   # trailing comment on a number\n"
      "fp32_gflops\t40\n"
      "device Some GPU #7\n",
      "inline");
  EXPECT_EQ(p.key, "test-dev-4cu");
  EXPECT_EQ(p.name, "test-dev-4cu");   // defaults to the key
  EXPECT_DOUBLE_EQ(p.bandwidth_gbps, 12.5);
  EXPECT_DOUBLE_EQ(p.fp32_gflops, 40);
  EXPECT_EQ(p.device, "Some GPU #7");   // text values keep '#'
  EXPECT_FALSE(p.model_estimate);
}

TEST(ProfileText, ParseErrorsNameOriginAndLine) {
  const std::string head = "key test-dev-4cu\nbandwidth_gbps 10\nfp32_gflops 20\n";
  expect_parse_error(head + "flops 12\n", {"line 4", "flops"});                            // unknown field
  expect_parse_error(head + "# c\nint8_gops fast\n", {"line 5", "int8_gops", "fast"});      // not a number
  expect_parse_error("key k-1cu\nbandwidth_gbps -5\nfp32_gflops 1\n", {"line 2", "bandwidth_gbps"});   // negative
  expect_parse_error(head + "compute_units 12x\n", {"line 4", "compute_units"});
  expect_parse_error(head + "fp16_gflops nan\n", {"line 4", "fp16_gflops"});
  expect_parse_error(head + "launch_overhead_us\n", {"line 4", "launch_overhead_us"});   // no value
}

// Counts and sizes beyond their integer type, or fractional, are errors, never an out-of-range conversion (found by
// fuzz_device_profile: "local_mem_bytes 5242899...98" was undefined behaviour; fuzz/regressions/device_profile/).
TEST(ProfileText, CountsMustBeWholeNumbersInRange) {
  const std::string head = "key test-dev-4cu\nbandwidth_gbps 10\nfp32_gflops 20\n";
  expect_parse_error(head + "local_mem_bytes 1e300\n", {"line 4", "local_mem_bytes", "whole number"});
  expect_parse_error(head + "compute_units 3000000000\n", {"line 4", "compute_units", "whole number"});
  expect_parse_error(head + "max_work_group_size 64.5\n", {"line 4", "max_work_group_size", "whole number"});
  expect_parse_error(head + "global_mem_bytes 1e20\n", {"line 4", "global_mem_bytes", "whole number"});
  const DeviceProfile p = parse_profile(head + "compute_units 36\nlocal_mem_bytes 65536\n", "t");
  EXPECT_EQ(p.compute_units, 36);
  EXPECT_EQ(p.local_mem_bytes, 65536u);
}

// Control characters (other than tab) are refused on reading, and replaced by spaces on writing, so a written
// profile always reads back to what was written (found by fuzz_device_profile in CI: "source \r\r\n" parsed to the
// value "\r", which was written back as "source \r\n" and then read as ""; fuzz/regressions/device_profile/).
TEST(ProfileText, ControlCharactersRefusedOnReadReplacedOnWrite) {
  const std::string head = "key test-dev-4cu\nbandwidth_gbps 10\nfp32_gflops 20\n";
  expect_parse_error(head + "source \r\r\n", {"line 4", "control character 0x0d", "column 8"});
  expect_parse_error(head + "device GPU\x01 X\n", {"line 4", "control character 0x01", "column 11"});
  expect_parse_error(head + "driver a" + std::string(1, '\0') + "b\n", {"line 4", "0x00"});
  expect_parse_error(head + "date \x7f\n", {"line 4", "0x7f"});
  // A single CR before the newline (CRLF files) and tabs inside values are plain text.
  EXPECT_EQ(parse_profile(head + "device a\tb\r\n", "t").device, "a\tb");

  DeviceProfile p = sample_profile();
  p.device = "GPU\nfp32_gflops 99999";   // a driver string with a newline must not add a field
  p.driver = "v1\r";
  p.sources = {"line one\nline two", std::string("nul") + '\0' + "byte"};
  const std::string text = format_profile(p);
  const DeviceProfile back = parse_profile(text, "written");
  EXPECT_EQ(back.device, "GPU fp32_gflops 99999");
  EXPECT_DOUBLE_EQ(back.fp32_gflops, p.fp32_gflops);
  EXPECT_EQ(back.driver, "v1 ");
  ASSERT_EQ(back.sources.size(), 2u);
  EXPECT_EQ(back.sources[0], "line one line two");
  EXPECT_EQ(back.sources[1], "nul byte");
  EXPECT_EQ(format_profile(back), text);
}

TEST(ProfileText, MissingRequiredFields) {
  expect_parse_error("bandwidth_gbps 10\nfp32_gflops 20\n", {"key"});
  expect_parse_error("key\nbandwidth_gbps 10\nfp32_gflops 20\n", {"key"});   // empty key
  expect_parse_error("key k-1cu\nfp32_gflops 20\n", {"bandwidth_gbps"});
  expect_parse_error("key k-1cu\nbandwidth_gbps 10\n", {"fp32_gflops"});
  expect_parse_error("", {"key"});
}

// ---- saved profiles ----

TEST(SavedProfile, SaveLoadRoundTripUnderConfigDir) {
  TempDir dir;
  ScopedEnv env("ELLESMERE_CONFIG_DIR", dir.path().string());
  EXPECT_EQ(fs::path(profile_dir()), dir.path() / "profiles");
  const DeviceProfile p = sample_profile();
  const std::string path = save_profile(p);
  EXPECT_EQ(fs::path(path), dir.path() / "profiles" / (p.key + ".txt"));
  EXPECT_TRUE(fs::exists(path));
  // Nothing else (no temporary file) is left beside it.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path() / "profiles")) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  const auto loaded = load_saved_profile(p.key);
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, p);

  // Saving again replaces it.
  DeviceProfile q = p;
  q.fp32_gflops = 200;
  save_profile(q);
  EXPECT_DOUBLE_EQ(load_saved_profile(p.key)->fp32_gflops, 200);
}

TEST(SavedProfile, MissingIsNullopt) {
  TempDir dir;
  ScopedEnv env("ELLESMERE_CONFIG_DIR", dir.path().string());
  EXPECT_FALSE(load_saved_profile("amd-polaris-36cu").has_value());
  save_profile(sample_profile());
  EXPECT_FALSE(load_saved_profile("amd-polaris-36cu").has_value());
}

TEST(SavedProfile, FileForAnotherKeyIsFileError) {
  TempDir dir;
  ScopedEnv env("ELLESMERE_CONFIG_DIR", dir.path().string());
  const fs::path path = dir.path() / "profiles" / "amd-polaris-36cu.txt";
  write_file(path, format_profile(sample_profile()));   // holds pocl-cpu-haswell-2cu
  try {
    load_saved_profile("amd-polaris-36cu");
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), path.string())) << e.what();
    EXPECT_TRUE(contains(e.what(), "pocl-cpu-haswell-2cu")) << e.what();
  }
}

TEST(SavedProfile, CorruptFileIsFileError) {
  TempDir dir;
  ScopedEnv env("ELLESMERE_CONFIG_DIR", dir.path().string());
  const fs::path path = dir.path() / "profiles" / "test-dev-4cu.txt";
  write_file(path, "key test-dev-4cu\nbandwidth_gbps 10\nfp32_gflops twenty\n");
  try {
    load_saved_profile("test-dev-4cu");
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), path.string())) << e.what();
    EXPECT_TRUE(contains(e.what(), "line 3")) << e.what();
  }
}

TEST(SavedProfile, EnvironmentIsRestored) {
  const char* before = std::getenv("ELLESMERE_CONFIG_DIR");
  const std::string before_value = before ? before : "<unset>";
  {
    TempDir dir;
    ScopedEnv env("ELLESMERE_CONFIG_DIR", dir.path().string());
    EXPECT_EQ(std::string(std::getenv("ELLESMERE_CONFIG_DIR")), dir.path().string());
  }
  const char* after = std::getenv("ELLESMERE_CONFIG_DIR");
  EXPECT_EQ(after ? std::string(after) : std::string("<unset>"), before_value);
}

// ---- roofline ----

TEST(Roofline, PicksTheLargerOfComputeAndMemoryTime) {
  DeviceProfile p;
  p.bandwidth_gbps = 200;   // 2e11 bytes/s
  const double rate = 4e12;
  // Compute-bound: 8e12 ops take 2 s, 1e11 bytes take 0.5 s.
  EXPECT_DOUBLE_EQ(p.roofline_seconds(8e12, rate, 1e11), 2.0);
  // Memory-bound: 4e11 ops take 0.1 s, 6e11 bytes take 3 s.
  EXPECT_DOUBLE_EQ(p.roofline_seconds(4e11, rate, 6e11), 3.0);
  // No traffic at all.
  EXPECT_DOUBLE_EQ(p.roofline_seconds(0, rate, 0), 0.0);
  // The RX 580 model: a 1024^3 GEMM is compute-bound.
  const DeviceProfile rx = builtin_profile("rx580");
  const double flops = 2.0 * 1024 * 1024 * 1024;
  const double bytes = 4.0 * 3 * 1024 * 1024;
  EXPECT_DOUBLE_EQ(rx.roofline_seconds(flops, rx.fp32_gflops * 1e9, bytes), flops / (rx.fp32_gflops * 1e9));
}

}  // namespace
}  // namespace ellesmere
