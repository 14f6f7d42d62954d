// Unit tests of the tuning database (src/tuning/tuning_db.hpp): line parsing and formatting, corrupt-line warnings,
// the lookup hierarchy (exact -> nearest problem -> family exact -> family nearest -> Impl default) and the layers.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "ellesmere/tuning.hpp"
#include "ops/impl.hpp"
#include "ops/impl_registry.hpp"
#include "tuning/tuning_db.hpp"

namespace ellesmere::tuning {
namespace {

namespace fs = std::filesystem;

// A 2-parameter Impl: a TM x TN work-group that must fit the device's work-group limit, and TM x TN x 64 bytes of
// local memory that must fit the device's local memory.
class FakeImpl : public ops::ImplBase {
 public:
  std::string name() const override { return "gemm_f32_fake"; }
  std::string op() const override { return "gemm_f32"; }
  ops::ParamSpace space() const override {
    ops::ParamSpace s;
    s.params.push_back({"TM", {4, 8, 16, 32}, 8, "rows per work-group"});
    s.params.push_back({"TN", {4, 8, 16, 32}, 4, "columns per work-group"});
    return s;
  }
  std::string check_params(const ops::Params& p, const DeviceInfo& device) const override {
    const long items = long(p.get("TM")) * p.get("TN");
    if (items > long(device.max_work_group_size)) {
      return "work-group of " + std::to_string(items) + " items exceeds " +
             std::to_string(device.max_work_group_size);
    }
    if (std::uint64_t(items) * 64 > device.local_mem_bytes) return "local memory exceeds the device's";
    return {};
  }
};

DeviceInfo polaris_device() {
  DeviceInfo d;
  d.name = "Ellesmere";
  d.type = DeviceType::gpu;
  d.compute_units = 36;
  d.max_work_group_size = 256;
  d.local_mem_bytes = 32768;
  d.key = "amd-polaris-36cu";
  d.family = "amd-polaris";
  return d;
}

constexpr const char* kProblem = "gemm_f32:m1024n1024k1024";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// ---- family_of, parse_entry, format_entry ----

TEST(TuningFamily, StripsTheCuSuffixOnly) {
  EXPECT_EQ(family_of("amd-polaris-36cu"), "amd-polaris");
  EXPECT_EQ(family_of("amd-polaris"), "amd-polaris");
  EXPECT_EQ(family_of("pocl-cpu-skylake-avx512-40cu"), "pocl-cpu-skylake-avx512");
  EXPECT_EQ(family_of("oclgrind-1cu"), "oclgrind");
  EXPECT_EQ(family_of("nvidia-h100-80gb-hbm3-132cu"), "nvidia-h100-80gb-hbm3");
  EXPECT_EQ(family_of("amd-gfx906"), "amd-gfx906");
}

TEST(TuningEntryText, ParseFields) {
  const TuningEntry e = parse_entry("amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64_tb TM=16 TN=8 123.5");
  EXPECT_EQ(e.device, "amd-polaris-36cu");
  EXPECT_EQ(e.impl, "gemm_f32_fake");
  EXPECT_EQ(e.problem, "gemm_f32:m64n64k64_tb");
  EXPECT_EQ(e.params.str(), "TM=16 TN=8");
  EXPECT_DOUBLE_EQ(e.time_us, 123.5);

  // No params at all is a valid line (the Impl's defaults were timed).
  const TuningEntry bare = parse_entry("amd-polaris gemm_f32_fake gemm_f32:m8n8k8 7");
  EXPECT_TRUE(bare.params.empty());
  EXPECT_DOUBLE_EQ(bare.time_us, 7.0);
}

TEST(TuningEntryText, FormatParseRoundTrip) {
  TuningEntry e;
  e.device = "pocl-cpu-haswell-2cu";
  e.impl = "gemm_f32_fake";
  e.problem = "gemm_f32:m512n256k128_ta";
  e.params = ops::Params{{"TM", 32}, {"TN", 4}};
  e.time_us = 4096.5;
  const std::string line = format_entry(e);
  EXPECT_EQ(line, "pocl-cpu-haswell-2cu gemm_f32_fake gemm_f32:m512n256k128_ta TM=32 TN=4 4096.5");
  const TuningEntry back = parse_entry(line);
  EXPECT_EQ(back.device, e.device);
  EXPECT_EQ(back.impl, e.impl);
  EXPECT_EQ(back.problem, e.problem);
  EXPECT_EQ(back.params, e.params);
  EXPECT_DOUBLE_EQ(back.time_us, e.time_us);
}

TEST(TuningEntryText, ParseRejectsCorruptLines) {
  const char* bad[] = {
      "amd-polaris-36cu gemm_f32_fake 12.5",                               // too few fields
      "amd-polaris-36cu gemm_f32_fake gemm_f32m64 TM=8 12.5",              // bad problem
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=x 12.5",       // bad params
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 slow",       // bad time
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 -1",         // negative time
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 nan",        // NaN time
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 inf",        // infinite time
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 TN=4",       // time missing
  };
  for (const char* line : bad) EXPECT_THROW(parse_entry(line), InvalidArgument) << line;
}

// ---- loading ----

TEST(TuningDbLoad, CorruptLinesBecomeWarningsWithOriginAndLine) {
  TuningDb db;
  const std::string text =
      "# shipped entries for a test\n"                                                    // 1
      "\n"                                                                                // 2
      "amd-polaris-36cu gemm_f32_fake 12.5\n"                                            // 3 too few fields
      "amd-polaris-36cu gemm_f32_fake gemm_f32m64 TM=8 12.5\n"                           // 4 bad problem
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=x 12.5\n"                    // 5 bad params
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 TN=4 fast\n"               // 6 bad time
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 TN=4 -3\n"                 // 7 negative time
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 TN=4 nan\n"                // 8 NaN time
      "   \t \r\n"                                                                        // 9 blank
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=16 TN=8 10.0  # measured\n"  // 10 good
      "  # indented comment\n";                                                           // 11
  EXPECT_NO_THROW(db.load_text(text, "test.txt", Layer::shipped));
  const auto warnings = db.warnings();
  ASSERT_EQ(warnings.size(), 6u) << joined(warnings);
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(contains(warnings[i], "test.txt:" + std::to_string(i + 3) + ": ")) << warnings[i];
  }
  EXPECT_TRUE(contains(warnings[0], "field")) << warnings[0];
  EXPECT_TRUE(contains(warnings[1], "gemm_f32m64")) << warnings[1];
  EXPECT_TRUE(contains(warnings[2], "TM=x")) << warnings[2];
  EXPECT_TRUE(contains(warnings[3], "fast")) << warnings[3];
  const auto entries = db.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].params.str(), "TM=16 TN=8");
  EXPECT_EQ(entries[0].origin, "test.txt:10");
  EXPECT_EQ(entries[0].layer, Layer::shipped);
}

TEST(TuningDbLoad, CommentsAndBlankLinesOnly) {
  TuningDb db;
  db.load_text("# nothing here\n\n   \n# amd-polaris-36cu gemm_f32_fake gemm_f32:m8n8k8 TM=8 1.0\n", "c.txt",
               Layer::user);
  EXPECT_TRUE(db.entries().empty());
  EXPECT_TRUE(db.warnings().empty()) << joined(db.warnings());
}

TEST(TuningDbLoad, MissingFileIsSilent) {
  TuningDb db;
  const fs::path missing = fs::temp_directory_path() /
                           ("ellesmere_tuning_missing_" + std::to_string(::getpid()) + "/none/tuning.txt");
  ASSERT_FALSE(fs::exists(missing));
  EXPECT_NO_THROW(db.load_file(missing.string(), Layer::user));
  EXPECT_TRUE(db.entries().empty());
  EXPECT_TRUE(db.warnings().empty()) << joined(db.warnings());
}

TEST(TuningDbLoad, FileEntriesCarryPathAndLine) {
  const fs::path path = fs::temp_directory_path() / ("ellesmere_tuning_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(std::chrono::steady_clock::now()
                                                                        .time_since_epoch()
                                                                        .count()) +
                                                     ".txt");
  {
    std::ofstream out(path);
    out << "# user file\n"
        << "amd-polaris-36cu gemm_f32_fake " << kProblem << " TM=16 TN=16 50.0\n"
        << "amd-polaris-36cu gemm_f32_fake " << kProblem << " TM=16 TN=16\n";
  }
  TuningDb db;
  db.load_file(path.string(), Layer::user);
  fs::remove(path);
  const auto entries = db.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].origin, path.string() + ":2");
  EXPECT_EQ(entries[0].layer, Layer::user);
  const auto warnings = db.warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], path.string() + ":3: ")) << warnings[0];
}

// ---- lookup ----

TEST(TuningDbLookup, ExactEntryOnTheDevice) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TM=16 TN=16 80.0\n", "s.txt",
               Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::exact);
  EXPECT_EQ(r.params.str(), "TM=16 TN=16");
  ASSERT_TRUE(r.entry.has_value());
  EXPECT_EQ(r.entry->origin, "s.txt:1");
  EXPECT_TRUE(r.invalid.empty());
  EXPECT_TRUE(r.skipped.empty());
}

TEST(TuningDbLookup, PartialParamsAreCompletedWithDefaults) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TN=32 80.0\n", "s.txt",
               Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::exact);
  EXPECT_EQ(r.params.str(), "TM=8 TN=32");
}

TEST(TuningDbLookup, NearestProblemOnTheDeviceChoosesTheNearest) {
  TuningDb db;
  db.load_text(
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m64n64k64 TM=4 TN=4 1.0\n"
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m4096n4096k4096 TM=32 TN=8 9000.0\n"
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k512 TM=16 TN=8 300.0\n"   // nearest to m1024n1024k1024
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m256n256k256 TM=8 TN=8 20.0\n"
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k1024_ta TM=32 TN=4 500.0\n"   // other flags: never
      "amd-polaris-36cu gemm_f32_other gemm_f32:m1024n1024k1024 TM=4 TN=32 500.0\n",   // other Impl: never
      "s.txt", Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::nearest_problem);
  EXPECT_EQ(r.params.str(), "TM=16 TN=8");
  ASSERT_TRUE(r.entry.has_value());
  EXPECT_EQ(r.entry->problem, "gemm_f32:m1024n1024k512");
}

TEST(TuningDbLookup, FamilyExactThenFamilyNearest) {
  TuningDb db;
  // Another Polaris (RX 570, 32 CUs) and a family-wide entry; nothing for the 36-CU key itself.
  db.load_text(
      "amd-polaris-32cu gemm_f32_fake gemm_f32:m2048n2048k2048 TM=32 TN=4 100.0\n"
      "amd-polaris gemm_f32_fake gemm_f32:m1024n1024k1024 TM=4 TN=16 100.0\n"
      "amd-fiji-64cu gemm_f32_fake gemm_f32:m1024n1024k1024 TM=32 TN=8 100.0\n",   // another family: never
      "s.txt", Layer::shipped);
  Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::family_exact);
  EXPECT_EQ(r.params.str(), "TM=4 TN=16");

  r = db.lookup(polaris_device(), FakeImpl{}, "gemm_f32:m2048n2048k1024");
  EXPECT_EQ(r.level, Level::family_nearest);
  EXPECT_EQ(r.params.str(), "TM=32 TN=4");   // m2048n2048k2048 is nearer than m1024n1024k1024
}

TEST(TuningDbLookup, ClassOfPoclCpus) {
  EXPECT_EQ(class_of("pocl-cpu-haswell"), "pocl-cpu");
  EXPECT_EQ(class_of("pocl-cpu-skylake-avx512"), "pocl-cpu");
  EXPECT_EQ(class_of(family_of("pocl-cpu-znver3-16cu")), "pocl-cpu");
  EXPECT_EQ(class_of("pocl-cpu"), "");   // a class is not a family
  EXPECT_EQ(class_of("pocl-gpu-sm-80"), "");
  EXPECT_EQ(class_of("amd-polaris"), "");
  EXPECT_EQ(class_of("oclgrind"), "");
  EXPECT_EQ(class_of("nvidia-rtx-3090"), "");
}

TEST(TuningDbLookup, ClassExactThenClassNearestAfterTheFamily) {
  // A PoCL CPU device whose LLVM CPU has no entries takes another PoCL CPU's, after its own family's.
  DeviceInfo dev = polaris_device();
  dev.type = DeviceType::cpu;
  dev.max_work_group_size = 4096;
  dev.local_mem_bytes = 1 << 21;
  dev.key = "pocl-cpu-skylake-avx512-2cu";
  dev.family = "pocl-cpu-skylake-avx512";
  TuningDb db;
  db.load_text(
      "pocl-cpu-haswell-2cu gemm_f32_fake gemm_f32:m1024n1024k1024 TM=32 TN=16 100.0\n"
      "pocl-cpu-haswell-2cu gemm_f32_fake gemm_f32:m64n64k64 TM=4 TN=4 1.0\n"
      "pocl-cpu gemm_f32_fake gemm_f32:m2048n2048k2048 TM=16 TN=32 900.0\n"   // class-wide entry
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k1024 TM=8 TN=8 100.0\n"   // another class: never
      "pocl-gpu-sm-80-108cu gemm_f32_fake gemm_f32:m1024n1024k1024 TM=8 TN=32 100.0\n",   // not a CPU: never
      "s.txt", Layer::shipped);
  Lookup r = db.lookup(dev, FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::class_exact);
  EXPECT_EQ(r.params.str(), "TM=32 TN=16");
  r = db.lookup(dev, FakeImpl{}, "gemm_f32:m2048n2048k1024");
  EXPECT_EQ(r.level, Level::class_nearest);
  EXPECT_EQ(r.params.str(), "TM=16 TN=32");   // m2048n2048k2048 is nearer than m1024n1024k1024

  // The device's own family still comes first, however far its problem.
  db.load_text("pocl-cpu-skylake-avx512-4cu gemm_f32_fake gemm_f32:m64n64k64 TM=8 TN=16 1.0\n", "t.txt",
               Layer::shipped);
  r = db.lookup(dev, FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::family_nearest);
  EXPECT_EQ(r.params.str(), "TM=8 TN=16");

  // A GPU never takes a PoCL entry.
  r = db.lookup(polaris_device(), FakeImpl{}, "gemm_f32:m2048n2048k2048");
  EXPECT_EQ(r.level, Level::nearest_problem);   // the amd-polaris-36cu line
  EXPECT_EQ(r.params.str(), "TM=8 TN=8");
}

TEST(TuningDbLookup, ImplDefaultWhenNothingMatches) {
  TuningDb db;
  db.load_text(
      "amd-fiji-64cu gemm_f32_fake gemm_f32:m1024n1024k1024 TM=32 TN=8 100.0\n"
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k1024_tb TM=32 TN=8 100.0\n"
      "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024 TM=32 TN=8 100.0\n",
      "s.txt", Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::impl_default);
  EXPECT_EQ(r.params.str(), "TM=8 TN=4");
  EXPECT_FALSE(r.entry.has_value());
  EXPECT_TRUE(r.invalid.empty());
}

TEST(TuningDbLookup, MoreSpecificLevelBeatsHigherLayer) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TM=16 TN=16 80.0\n", "s.txt",
               Layer::shipped);
  db.load_text("amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k512 TM=4 TN=4 80.0\n", "u.txt", Layer::user);
  TuningEntry family_override;
  family_override.device = "amd-polaris";
  family_override.impl = "gemm_f32_fake";
  family_override.problem = kProblem;
  family_override.params = ops::Params{{"TM", 32}, {"TN", 8}};
  db.add_override(family_override);
  // shipped exact beats a user nearest-problem entry and a family override.
  Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::exact);
  EXPECT_EQ(r.params.str(), "TM=16 TN=16");
  EXPECT_EQ(r.entry->layer, Layer::shipped);

  // Without the exact entry, the user's nearest-problem entry beats the family override.
  TuningDb db2;
  db2.load_text("amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k512 TM=4 TN=4 80.0\n", "u.txt", Layer::user);
  db2.add_override(family_override);
  r = db2.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::nearest_problem);
  EXPECT_EQ(r.params.str(), "TM=4 TN=4");
  EXPECT_EQ(r.entry->layer, Layer::user);
}

TEST(TuningDbLookup, AtEqualLevelOverrideBeatsUserBeatsShipped) {
  const std::string line_tail = std::string(" gemm_f32_fake ") + kProblem;
  TuningDb db;
  db.load_text("amd-polaris-36cu" + line_tail + " TM=4 TN=4 80.0\n", "s.txt", Layer::shipped);
  db.load_text("amd-polaris-36cu" + line_tail + " TM=8 TN=8 80.0\n", "u.txt", Layer::user);
  db.load_text("amd-polaris-36cu" + line_tail + " TM=4 TN=8 80.0\n", "s2.txt", Layer::shipped);   // after user
  Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.params.str(), "TM=8 TN=8");
  EXPECT_EQ(r.entry->layer, Layer::user);

  TuningEntry o;
  o.device = "amd-polaris-36cu";
  o.impl = "gemm_f32_fake";
  o.problem = kProblem;
  o.params = ops::Params{{"TM", 16}, {"TN", 4}};
  db.add_override(o);
  r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.params.str(), "TM=16 TN=4");
  EXPECT_EQ(r.entry->layer, Layer::override_);
  EXPECT_EQ(r.entry->origin, "runtime override");

  db.clear_overrides();
  r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.params.str(), "TM=8 TN=8");
  EXPECT_EQ(r.entry->layer, Layer::user);
  for (const auto& e : db.entries()) EXPECT_NE(e.layer, Layer::override_);
  EXPECT_EQ(db.entries().size(), 3u);
}

TEST(TuningDbLookup, WithinALevelNearerProblemBeatsHigherLayer) {
  // Within a nearest-problem level the distance decides first: a user entry for a distant shape must not shadow a
  // shipped entry for a nearer one.
  TuningDb db;
  db.load_text("amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k512 TM=4 TN=4 1.0\n", "s.txt", Layer::shipped);
  db.load_text("amd-polaris-36cu gemm_f32_fake gemm_f32:m256n256k256 TM=8 TN=8 1.0\n", "u.txt", Layer::user);
  Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::nearest_problem);
  EXPECT_EQ(r.params.str(), "TM=4 TN=4");
  EXPECT_EQ(r.entry->origin, "s.txt:1");
  // At equal distance the higher layer is the overlay and wins.
  db.load_text("amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k512 TM=16 TN=8 1.0\n", "u2.txt", Layer::user);
  r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.params.str(), "TM=16 TN=8");
  EXPECT_EQ(r.entry->layer, Layer::user);
}

TEST(TuningDbLookup, LaterLineWinsWithinALayer) {
  // The tuner appends its newest result to the user's file: for the same device, Impl and problem the later line
  // must win (tuning_db.cpp: within a level the nearer problem, then the higher layer, then the later line).
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TM=4 TN=4 90.0\n" +
                   "amd-polaris-36cu gemm_f32_fake " + kProblem + " TM=16 TN=8 60.0\n",
               "u.txt", Layer::user);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.params.str(), "TM=16 TN=8");
  ASSERT_TRUE(r.entry.has_value());
  EXPECT_EQ(r.entry->origin, "u.txt:2");
}

TEST(TuningDbLookup, InvalidParamsAreSkippedAndTheNextCandidateUsed) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem +
                   " TM=32 TN=32 50.0\n"                                        // 1024 items > 256: invalid
                   "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k512 TM=32 TN=16 60.0\n"   // 512: invalid
                   "amd-polaris-36cu gemm_f32_fake gemm_f32:m512n512k512 TM=16 TN=16 70.0\n"     // 256: valid
                   "amd-polaris gemm_f32_fake " +
                   kProblem + " TM=4 TN=4 70.0\n",
               "s.txt", Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::nearest_problem);
  EXPECT_EQ(r.params.str(), "TM=16 TN=16");
  ASSERT_EQ(r.skipped.size(), 2u) << joined(r.skipped);
  EXPECT_TRUE(contains(r.skipped[0], "s.txt:1")) << r.skipped[0];
  EXPECT_TRUE(contains(r.skipped[0], "TM=32 TN=32")) << r.skipped[0];
  EXPECT_TRUE(contains(r.skipped[0], "1024 items")) << r.skipped[0];
  EXPECT_TRUE(contains(r.skipped[1], "s.txt:2")) << r.skipped[1];
  EXPECT_TRUE(r.invalid.empty());

  // A device with less local memory rejects TM=16 TN=16 too (256 * 64 bytes > 8192): the family entry is next.
  DeviceInfo small = polaris_device();
  small.local_mem_bytes = 8192;
  const Lookup s = db.lookup(small, FakeImpl{}, kProblem);
  EXPECT_EQ(s.level, Level::family_exact);
  EXPECT_EQ(s.params.str(), "TM=4 TN=4");
  EXPECT_EQ(s.skipped.size(), 3u) << joined(s.skipped);
}

TEST(TuningDbLookup, UnknownParameterNamesAreSkipped) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TM=16 WPT=4 50.0\n" +
                   "amd-polaris-36cu gemm_f32_fake gemm_f32:m1024n1024k2048 TM=16 TN=4 60.0\n",
               "s.txt", Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::nearest_problem);
  EXPECT_EQ(r.params.str(), "TM=16 TN=4");
  ASSERT_EQ(r.skipped.size(), 1u) << joined(r.skipped);
  EXPECT_TRUE(contains(r.skipped[0], "s.txt:1")) << r.skipped[0];
  EXPECT_TRUE(contains(r.skipped[0], "WPT")) << r.skipped[0];
}

TEST(TuningDbLookup, InvalidDefaultIsReported) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TM=8 TN=8 50.0\n", "s.txt",
               Layer::shipped);
  DeviceInfo tiny = polaris_device();
  tiny.max_work_group_size = 16;   // defaults TM=8 TN=4 need 32
  const Lookup r = db.lookup(tiny, FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::impl_default);
  EXPECT_EQ(r.params.str(), "TM=8 TN=4");
  EXPECT_FALSE(r.invalid.empty());
  EXPECT_TRUE(contains(r.invalid, "32 items")) << r.invalid;
  EXPECT_EQ(r.skipped.size(), 1u);
}

TEST(TuningDbLookup, ByKeyAndFamilyWithSeparateLimitsDevice) {
  // The polaris check asks for amd-polaris-36cu while checking Params against a limits model.
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_fake ") + kProblem + " TM=32 TN=8 50.0\n" +
                   "amd-polaris gemm_f32_fake " + kProblem + " TM=8 TN=8 50.0\n",
               "s.txt", Layer::shipped);
  DeviceInfo limits = polaris_device();
  limits.key = "something-else-1cu";
  limits.family = "something-else";
  Lookup r = db.lookup("amd-polaris-36cu", "amd-polaris", limits, FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::exact);
  EXPECT_EQ(r.params.str(), "TM=32 TN=8");
  limits.max_work_group_size = 128;
  r = db.lookup("amd-polaris-36cu", "amd-polaris", limits, FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::family_exact);
  EXPECT_EQ(r.params.str(), "TM=8 TN=8");
}

TEST(TuningDbLookup, EntriesForOtherImplsAreIgnored) {
  TuningDb db;
  db.load_text(std::string("amd-polaris-36cu gemm_f32_tile2d ") + kProblem + " TM=16 TN=16 50.0\n", "s.txt",
               Layer::shipped);
  const Lookup r = db.lookup(polaris_device(), FakeImpl{}, kProblem);
  EXPECT_EQ(r.level, Level::impl_default);
  EXPECT_TRUE(r.skipped.empty());
}

TEST(TuningDbNames, LayerAndLevelNames) {
  EXPECT_STREQ(layer_name(Layer::shipped), "shipped");
  EXPECT_STREQ(layer_name(Layer::user), "user");
  EXPECT_STREQ(layer_name(Layer::override_), "override");
  for (Level l : {Level::exact, Level::nearest_problem, Level::family_exact, Level::family_nearest,
                  Level::class_exact, Level::class_nearest, Level::impl_default}) {
    EXPECT_NE(std::string(level_name(l)), "");
  }
}


// The public functions (ellesmere/tuning.hpp) on the process-wide database: overrides above every file entry,
// reload of the user's file, warnings with file:line, and errors naming the bad argument.
TEST(TuningPublicApi, OverrideBeatsShippedAndIsCleared) {
  const ops::ImplBase& gemv = *ops::find_impl("gemm_i8_gemv");
  DeviceInfo dev = polaris_device();
  dev.max_work_item_sizes = {256, 256, 256};
  const std::string problem = "gemm_i8:m1n4096k4096";
  const Lookup shipped = TuningDb::global().lookup(dev, gemv, problem);
  ASSERT_TRUE(shipped.entry.has_value());   // src/tuning/db/polaris.txt
  EXPECT_EQ(shipped.entry->layer, Layer::shipped);
  set_override("amd-polaris-36cu", "gemm_i8_gemv", problem, "WGN=32 SPLITK=8");
  const Lookup over = TuningDb::global().lookup(dev, gemv, problem);
  ASSERT_TRUE(over.entry.has_value());
  EXPECT_EQ(over.entry->layer, Layer::override_);
  EXPECT_EQ(over.params.str(), "WGN=32 SPLITK=8 VW=1 MUL24=1");   // completed with the Impl's defaults
  reload_database();                                               // overrides survive a reload
  EXPECT_EQ(TuningDb::global().lookup(dev, gemv, problem).entry->layer, Layer::override_);
  clear_overrides();
  EXPECT_EQ(TuningDb::global().lookup(dev, gemv, problem).params, shipped.params);
}

TEST(TuningPublicApi, OverrideErrorsNameTheArgument) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_TRUE(contains(message([] { set_override("amd-polaris-36cu", "gemm_i8_nope", "gemm_i8:m1n8k8", "WGN=2"); }),
                       "no Impl named \"gemm_i8_nope\""));
  EXPECT_TRUE(contains(message([] { set_override("amd-polaris-36cu", "gemm_i8_gemv", "gemm_i8:m1n8k8", "TM=2"); }),
                       "unknown parameter TM"));
  EXPECT_TRUE(contains(message([] { set_override("amd-polaris-36cu", "gemm_i8_gemv", "gemm_i8:m1n8k8", "WGN=two"); }),
                       "WGN=two"));
  EXPECT_TRUE(contains(message([] { set_override("amd-polaris-36cu", "gemm_i8_gemv", "gemm_i8m1n8k8", "WGN=2"); }),
                       "gemm_i8m1n8k8"));
  EXPECT_TRUE(contains(message([] { set_override("amd-polaris-36cu", "gemm_i8_gemv", "gemm_f32:m1n8k8", "WGN=2"); }),
                       "runs gemm_i8 problems, not \"gemm_f32:m1n8k8\""));
  EXPECT_TRUE(contains(message([] { set_override("", "gemm_i8_gemv", "gemm_i8:m1n8k8", "WGN=2"); }), "device key"));
}

TEST(TuningPublicApi, ReloadReadsTheUserFileAndReportsCorruptLines) {
  const fs::path dir = fs::temp_directory_path() / ("ellesmere-tuning-api-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "tuning.txt";
  {
    std::ofstream out(file);
    out << "# a user's file\n"
        << "amd-polaris-36cu gemm_i8_gemv gemm_i8:m1n4096k4096 WGN=8 SPLITK=32 12.5\n"
        << "amd-polaris-36cu gemm_i8_gemv gemm_i8:m1n4096k4096 WGN=8 SPLITK=32\n";   // no time: corrupt
  }
  const char* old = std::getenv("ELLESMERE_TUNING_DB");
  const std::string saved = old ? old : "";
  ::setenv("ELLESMERE_TUNING_DB", file.c_str(), 1);
  reload_database();
  EXPECT_EQ(user_database_path(), file.string());
  DeviceInfo dev = polaris_device();
  dev.max_work_item_sizes = {256, 256, 256};
  const Lookup r = TuningDb::global().lookup(dev, *ops::find_impl("gemm_i8_gemv"), "gemm_i8:m1n4096k4096");
  ASSERT_TRUE(r.entry.has_value());
  EXPECT_EQ(r.entry->layer, Layer::user);
  EXPECT_EQ(r.entry->origin, file.string() + ":2");
  const auto warnings = database_warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], file.string() + ":3: skipped")) << warnings[0];
  if (old) {
    ::setenv("ELLESMERE_TUNING_DB", saved.c_str(), 1);
  } else {
    ::unsetenv("ELLESMERE_TUNING_DB");
  }
  reload_database();
  EXPECT_TRUE(database_warnings().empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ellesmere::tuning
