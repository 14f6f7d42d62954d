// Unit tests of ellesmere::make_device_key: the strings real OpenCL drivers report (AMD APP/AMDGPU-PRO, ROCm, Mesa
// Clover and rusticl, PoCL, oclgrind, NVIDIA) must give stable, normalised keys; Polaris and Fiji never merge.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "runtime/device_handles.hpp"

namespace ellesmere {
namespace {

constexpr std::string_view kAmdApp = "AMD Accelerated Parallel Processing";
constexpr std::string_view kAmdVendor = "Advanced Micro Devices, Inc.";
constexpr std::string_view kRocmPolarisBoard = "Ellesmere [Radeon RX 470/480/570/570X/580/580X/590]";

// The properties every key must have, whatever the device.
void expect_well_formed(const DeviceKey& k) {
  ASSERT_FALSE(k.key.empty());
  for (char c : k.key) {
    EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
        << "character '" << c << "' in key " << k.key;
  }
  EXPECT_NE(k.key.front(), '-') << k.key;
  EXPECT_NE(k.key.back(), '-') << k.key;
  EXPECT_EQ(k.key.find("--"), std::string::npos) << k.key;
  // family == key without "-<N>cu".
  const auto dash = k.key.rfind('-');
  ASSERT_NE(dash, std::string::npos) << k.key;
  EXPECT_EQ(k.family, k.key.substr(0, dash)) << k.key;
  const std::string suffix = k.key.substr(dash + 1);
  ASSERT_GE(suffix.size(), 3u) << k.key;
  EXPECT_EQ(suffix.substr(suffix.size() - 2), "cu") << k.key;
  for (char c : suffix.substr(0, suffix.size() - 2)) EXPECT_TRUE(c >= '0' && c <= '9') << k.key;
}

// True when the key holds a fragment of a driver, LLVM, DRM or kernel version ("llvm", "drm", "15-0-6", ...).
bool mentions_versions(const std::string& key) {
  for (std::string_view frag : {"llvm", "drm", "mesa", "radeonsi", "generic", "amd64"}) {
    if (key.find(frag) != std::string::npos) return true;
  }
  return false;
}

TEST(DeviceKey, AmdAppRx580IsPolaris36) {
  DeviceKey k = make_device_key(kAmdApp, "Ellesmere", "Radeon RX 580 Series", kAmdVendor, 36, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-36cu");
  EXPECT_EQ(k.family, "amd-polaris");
  expect_well_formed(k);
}

TEST(DeviceKey, AmdAppRx570IsPolaris32) {
  DeviceKey k = make_device_key(kAmdApp, "Ellesmere", "Radeon RX 570 Series", kAmdVendor, 32, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-32cu");
  EXPECT_EQ(k.family, "amd-polaris");
  expect_well_formed(k);
}

TEST(DeviceKey, AmdAppWithoutBoardNameIsStillPolaris) {
  // Older AMD drivers without cl_amd_device_attribute_query give no board name.
  DeviceKey k = make_device_key(kAmdApp, "Ellesmere", "", kAmdVendor, 36, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-36cu");
}

TEST(DeviceKey, RocmGfx803WithPolarisBoardIsPolaris) {
  DeviceKey k = make_device_key(kAmdApp, "gfx803", kRocmPolarisBoard, kAmdVendor, 36, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-36cu");
  EXPECT_EQ(k.family, "amd-polaris");
  expect_well_formed(k);
}

TEST(DeviceKey, RocmGfx803With64CusIsFiji) {
  DeviceKey k = make_device_key(kAmdApp, "gfx803", "Fiji [Radeon R9 FURY / NANO Series]", kAmdVendor, 64,
                                DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-fiji-64cu");
  EXPECT_EQ(k.family, "amd-fiji");
  expect_well_formed(k);
  // Without a board name the CU count alone must still keep the two apart.
  EXPECT_EQ(make_device_key(kAmdApp, "gfx803", "", kAmdVendor, 64, DeviceType::gpu).key, "amd-fiji-64cu");
  EXPECT_EQ(make_device_key(kAmdApp, "gfx803", "", kAmdVendor, 36, DeviceType::gpu).key, "amd-polaris-36cu");
}

TEST(DeviceKey, PolarisAndFijiNeverShareAFamily) {
  const DeviceKey polaris_app =
      make_device_key(kAmdApp, "Ellesmere", "Radeon RX 580 Series", kAmdVendor, 36, DeviceType::gpu);
  const DeviceKey polaris_rocm = make_device_key(kAmdApp, "gfx803", kRocmPolarisBoard, kAmdVendor, 36, DeviceType::gpu);
  const DeviceKey fiji_rocm = make_device_key(kAmdApp, "gfx803", "", kAmdVendor, 64, DeviceType::gpu);
  const DeviceKey fiji_mesa = make_device_key(
      "Clover", "AMD Radeon R9 Fury Series (FIJI, DRM 3.40.0, 5.10.0, LLVM 11.0.1)", "", "AMD", 56, DeviceType::gpu);
  for (const DeviceKey* p : {&polaris_app, &polaris_rocm}) {
    for (const DeviceKey* f : {&fiji_rocm, &fiji_mesa}) {
      EXPECT_NE(p->family, f->family) << p->key << " vs " << f->key;
    }
  }
}

TEST(DeviceKey, MesaCloverRx580IsPolaris36) {
  DeviceKey k = make_device_key(
      "Clover", "AMD Radeon RX 580 Series (POLARIS10, DRM 3.42.0, 5.15.0-58-generic, LLVM 13.0.1)", "", "AMD", 36,
      DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-36cu");
  EXPECT_EQ(k.family, "amd-polaris");
  expect_well_formed(k);
}

TEST(DeviceKey, RusticlRx580IsPolaris36) {
  DeviceKey k = make_device_key(
      "rusticl", "AMD Radeon RX 580 Series (radeonsi, polaris10, LLVM 15.0.6, DRM 3.49, 6.1.0-18-amd64)", "", "AMD",
      36, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-36cu");
  expect_well_formed(k);
}

TEST(DeviceKey, MesaRx550IsPolaris8) {
  DeviceKey k = make_device_key(
      "Clover", "AMD Radeon RX 550 / 550 Series (radeonsi, polaris12, LLVM 17.0.6, DRM 3.54, 6.6.51)", "", "AMD", 8,
      DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-polaris-8cu");
  EXPECT_EQ(k.family, "amd-polaris");
  expect_well_formed(k);
}

TEST(DeviceKey, MesaFuryIsFiji56) {
  DeviceKey k = make_device_key("Clover", "AMD Radeon R9 Fury Series (FIJI, DRM 3.40.0, 5.10.0, LLVM 11.0.1)", "",
                                "AMD", 56, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-fiji-56cu");
  EXPECT_EQ(k.family, "amd-fiji");
  expect_well_formed(k);
}

TEST(DeviceKey, MesaNavi14IsNotPolaris) {
  // "RX 5500" starts like "RX 550": it must not be taken for the Polaris RX 550.
  DeviceKey k = make_device_key("rusticl", "AMD Radeon RX 5500 XT (navi14, LLVM 15.0.6, DRM 3.49, 6.1.0)", "", "AMD",
                                22, DeviceType::gpu);
  EXPECT_EQ(k.family.find("polaris"), std::string::npos) << k.key;
  EXPECT_EQ(k.family.find("fiji"), std::string::npos) << k.key;
  expect_well_formed(k);
}

TEST(DeviceKey, Vega20Gfx906KeepsTheGfxName) {
  DeviceKey k = make_device_key(kAmdApp, "gfx906", "Vega 20 [Radeon VII]", kAmdVendor, 60, DeviceType::gpu);
  EXPECT_EQ(k.key, "amd-gfx906-60cu");
  EXPECT_EQ(k.family, "amd-gfx906");
  expect_well_formed(k);
  // Newer ROCm appends target features to the name; the key must not change.
  EXPECT_EQ(make_device_key(kAmdApp, "gfx906:sramecc+:xnack-", "Vega 20 [Radeon VII]", kAmdVendor, 60,
                            DeviceType::gpu)
                .key,
            "amd-gfx906-60cu");
}

TEST(DeviceKey, PoclKeepsTheLlvmCpuName) {
  DeviceKey haswell = make_device_key("Portable Computing Language", "pthread-haswell-AMD EPYC", "", "AuthenticAMD", 2,
                                      DeviceType::cpu);
  EXPECT_EQ(haswell.key, "pocl-cpu-haswell-2cu");
  EXPECT_EQ(haswell.family, "pocl-cpu-haswell");
  expect_well_formed(haswell);

  DeviceKey skylake = make_device_key("Portable Computing Language",
                                      "cpu-skylake-avx512-Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "",
                                      "GenuineIntel", 40, DeviceType::cpu);
  EXPECT_EQ(skylake.key, "pocl-cpu-skylake-avx512-40cu");
  EXPECT_EQ(skylake.family, "pocl-cpu-skylake-avx512");
  expect_well_formed(skylake);
}

TEST(DeviceKey, OclgrindIsOneKeyWhateverItsType) {
  for (DeviceType t : {DeviceType::other, DeviceType::accelerator}) {
    DeviceKey k = make_device_key("Oclgrind", "Oclgrind Simulator", "", "University of Bristol", 1, t);
    EXPECT_EQ(k.key, "oclgrind-1cu") << device_type_name(t);
    EXPECT_EQ(k.family, "oclgrind");
    expect_well_formed(k);
  }
}

TEST(DeviceKey, NvidiaH100) {
  DeviceKey k = make_device_key("NVIDIA CUDA", "NVIDIA H100 80GB HBM3", "", "NVIDIA Corporation", 132,
                                DeviceType::gpu);
  EXPECT_EQ(k.key, "nvidia-h100-80gb-hbm3-132cu");
  EXPECT_EQ(k.family, "nvidia-h100-80gb-hbm3");
  expect_well_formed(k);
}

TEST(DeviceKey, CuCountOnlyChangesTheSuffix) {
  for (int cus : {1, 8, 32, 36, 64, 132}) {
    DeviceKey k = make_device_key(kAmdApp, "Ellesmere", "Radeon RX 580 Series", kAmdVendor, cus, DeviceType::gpu);
    EXPECT_EQ(k.family, "amd-polaris");
    EXPECT_EQ(k.key, "amd-polaris-" + std::to_string(cus) + "cu");
  }
}

TEST(DeviceKey, SameChipSameKeyAcrossDrivers) {
  const std::string app =
      make_device_key(kAmdApp, "Ellesmere", "Radeon RX 580 Series", kAmdVendor, 36, DeviceType::gpu).key;
  const std::string rocm = make_device_key(kAmdApp, "gfx803", kRocmPolarisBoard, kAmdVendor, 36, DeviceType::gpu).key;
  const std::string clover =
      make_device_key("Clover", "AMD Radeon RX 580 Series (POLARIS10, DRM 3.42.0, 5.15.0-58-generic, LLVM 13.0.1)",
                      "", "AMD", 36, DeviceType::gpu)
          .key;
  const std::string rusticl =
      make_device_key("rusticl", "AMD Radeon RX 580 Series (radeonsi, polaris10, LLVM 15.0.6, DRM 3.49, 6.1.0-18-amd64)",
                      "", "AMD", 36, DeviceType::gpu)
          .key;
  EXPECT_EQ(app, rocm);
  EXPECT_EQ(app, clover);
  EXPECT_EQ(app, rusticl);
}

// Keys are stored in tuning databases and profile file names: a driver or kernel update must not change them.
TEST(DeviceKey, MesaKeysIgnoreLlvmAndDrmVersions) {
  struct Pair {
    const char* before;
    const char* after;
    int cus;
  };
  const Pair pairs[] = {
      {"AMD Radeon RX 580 Series (radeonsi, polaris10, LLVM 15.0.6, DRM 3.49, 6.1.0-18-amd64)",
       "AMD Radeon RX 580 Series (radeonsi, polaris10, LLVM 17.0.6, DRM 3.57, 6.8.12-amd64)", 36},
      {"AMD Radeon R9 Fury Series (FIJI, DRM 3.40.0, 5.10.0, LLVM 11.0.1)",
       "AMD Radeon R9 Fury Series (FIJI, DRM 3.42.0, 5.15.0-58-generic, LLVM 13.0.1)", 56},
      // A chip the key code does not know by name must be just as stable.
      {"AMD Radeon RX 5500 XT (navi14, LLVM 15.0.6, DRM 3.49, 6.1.0)",
       "AMD Radeon RX 5500 XT (navi14, LLVM 17.0.6, DRM 3.57, 6.8.12)", 22},
  };
  for (const auto& p : pairs) {
    const DeviceKey a = make_device_key("rusticl", p.before, "", "AMD", p.cus, DeviceType::gpu);
    const DeviceKey b = make_device_key("rusticl", p.after, "", "AMD", p.cus, DeviceType::gpu);
    EXPECT_EQ(a.key, b.key) << p.before << " vs " << p.after;
    EXPECT_FALSE(mentions_versions(a.key)) << a.key;
    EXPECT_FALSE(mentions_versions(b.key)) << b.key;
    expect_well_formed(a);
  }
}

TEST(DeviceKey, AllKnownDriverStringsGiveWellFormedKeys) {
  struct Case {
    const char* platform;
    const char* name;
    const char* board;
    const char* vendor;
    int cus;
    DeviceType type;
  };
  const Case cases[] = {
      {"AMD Accelerated Parallel Processing", "Ellesmere", "Radeon RX 580 Series", "Advanced Micro Devices, Inc.", 36,
       DeviceType::gpu},
      {"AMD Accelerated Parallel Processing", "Baffin", "Radeon RX 560 Series", "Advanced Micro Devices, Inc.", 16,
       DeviceType::gpu},
      {"Clover", "AMD Radeon RX 580 Series (POLARIS10, DRM 3.42.0, 5.15.0-58-generic, LLVM 13.0.1)", "", "AMD", 36,
       DeviceType::gpu},
      {"Portable Computing Language", "pthread-haswell-AMD EPYC", "", "AuthenticAMD", 2, DeviceType::cpu},
      {"Oclgrind", "Oclgrind Simulator", "", "University of Bristol", 1, DeviceType::other},
      {"NVIDIA CUDA", "NVIDIA H100 80GB HBM3", "", "NVIDIA Corporation", 132, DeviceType::gpu},
      {"Intel(R) OpenCL HD Graphics", "Intel(R) UHD Graphics 630 [0x3e92]", "", "Intel(R) Corporation", 24,
       DeviceType::gpu},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expect_well_formed(make_device_key(c.platform, c.name, c.board, c.vendor, c.cus, c.type));
  }
}

}  // namespace
}  // namespace ellesmere

// The selection rule (select_device, ELLESMERE_DEVICE) on synthetic device lists: CI has a single device, so the
// device tests alone could not tell a working rule from one that ignores its selector.
namespace ellesmere::runtime {
namespace {

DeviceInfo fake(const std::string& platform, const std::string& name, DeviceType type) {
  DeviceInfo d;
  d.platform_name = platform;
  d.name = name;
  d.type = type;
  d.compute_units = 4;
  d.key = make_device_key(platform, name, "", "vendor", 4, type).key;
  return d;
}

const std::vector<DeviceInfo> kMixed = {
    fake("Portable Computing Language", "pthread-haswell-AMD EPYC", DeviceType::cpu),
    fake("Oclgrind", "Oclgrind Simulator", DeviceType::accelerator),
    fake("AMD Accelerated Parallel Processing", "Ellesmere", DeviceType::gpu),
    fake("Clover", "AMD Radeon RX 580 Series (POLARIS10, DRM 3.42.0, LLVM 13.0.1)", DeviceType::gpu),
};

TEST(ChooseDevice, DefaultPrefersFirstGpuThenAcceleratorThenCpu) {
  EXPECT_EQ(choose_device(kMixed, "", "x"), 2u);
  EXPECT_EQ(choose_device({kMixed[0], kMixed[1]}, "", "x"), 1u);
  EXPECT_EQ(choose_device({kMixed[0]}, "", "x"), 0u);
  DeviceInfo other = kMixed[0];
  other.type = DeviceType::other;
  EXPECT_EQ(choose_device({other}, "", "x"), 0u);
}

TEST(ChooseDevice, IndexAndCaseInsensitiveSubstring) {
  EXPECT_EQ(choose_device(kMixed, "3", "x"), 3u);
  EXPECT_EQ(choose_device(kMixed, "0", "x"), 0u);
  EXPECT_EQ(choose_device(kMixed, "clover", "x"), 3u);
  EXPECT_EQ(choose_device(kMixed, "OCLGRIND", "x"), 1u);
  EXPECT_EQ(choose_device(kMixed, "ellesmere", "x"), 2u);
  EXPECT_EQ(choose_device(kMixed, "pocl-cpu", "x"), 0u);     // the key
  EXPECT_EQ(choose_device(kMixed, "rx 580", "x"), 3u);
}

TEST(ChooseDevice, ErrorsNameTheSelectorAndListDevices) {
  try {
    choose_device(kMixed, "4", "ELLESMERE_DEVICE");
    FAIL() << "no exception";
  } catch (const NotSupported& e) {
    EXPECT_NE(std::string(e.what()).find("ELLESMERE_DEVICE=4: there is no device 4 (devices 0..3)"),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3: Clover"), std::string::npos) << e.what();
  }
  EXPECT_THROW(choose_device(kMixed, "99999999999999999999999999", "x"), NotSupported);   // no overflow crash
  EXPECT_THROW(choose_device(kMixed, "nvidia", "x"), NotSupported);
  EXPECT_THROW(choose_device({}, "", "x"), NotSupported);
}

}  // namespace
}  // namespace ellesmere::runtime
