// Device discovery (every platform, every device), ELLESMERE_DEVICE selection and DeviceKey normalisation.
// Used by Context and by `ellesmere devices`.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/device.hpp"
#include "ellesmere/error.hpp"
#include "runtime/cl.hpp"
#include "runtime/device_handles.hpp"
#include "runtime/env.hpp"

namespace ellesmere {

const char* device_type_name(DeviceType t) noexcept {
  switch (t) {
    case DeviceType::gpu: return "gpu";
    case DeviceType::accelerator: return "accelerator";
    case DeviceType::cpu: return "cpu";
    default: return "other";
  }
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// Lower-case, "(R)"/"(TM)" dropped, every run of other characters one '-', at most 40 characters.
std::string slug(std::string_view s) {
  std::string text = lower(s);
  for (const char* mark : {"(r)", "(tm)", "(c)"}) {
    for (auto pos = text.find(mark); pos != std::string::npos; pos = text.find(mark)) text.erase(pos, strlen(mark));
  }
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c)) {
      out += char(c);
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 40) {
    out.resize(40);
    while (!out.empty() && out.back() == '-') out.pop_back();
  }
  return out.empty() ? "unknown" : out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The AMD chip family of a device, from whatever the driver calls it; empty if not recognised.
// gfx803 is shared by Fiji and Polaris: Fiji parts have 56 or 64 CUs, Polaris at most 36.
std::string amd_chip(const std::string& text, int compute_units) {
  static const std::regex polaris_names(
      R"((^|[^a-z0-9])(ellesmere|baffin|lexa|polaris ?1[012]|polaris ?[23]0|polaris|gfx804)([^a-z0-9]|$))");
  static const std::regex polaris_boards(R"(rx ?(4[6-8]0|5[4-9]0)x?([^0-9]|$))");
  static const std::regex fiji_names(R"((^|[^a-z0-9])(fiji|r9 fury|r9 nano)([^a-z0-9]|$))");
  static const std::regex gfx(R"(gfx[0-9a-f]{3,4})");
  if (contains(text, "gfx803")) return compute_units >= 56 ? "fiji" : "polaris";
  if (std::regex_search(text, fiji_names)) return "fiji";
  if (std::regex_search(text, polaris_names) || std::regex_search(text, polaris_boards)) return "polaris";
  std::smatch m;
  if (std::regex_search(text, m, gfx)) return m.str();
  return {};
}

// For an AMD chip amd_chip() does not know: Mesa's codename in parentheses ("(radeonsi, navi14, LLVM ...)" ->
// "navi14"), else the product name without the parenthesised part, which holds driver, LLVM and kernel
// versions that must never reach a key.
std::string amd_codename(std::string_view device_name) {
  static const std::regex codename(R"(^[a-z]+[0-9]+[a-z0-9]*$)");
  const auto open = device_name.find('(');
  if (open != std::string_view::npos) {
    std::string inside = lower(device_name.substr(open + 1));
    inside = inside.substr(0, inside.find(')'));
    std::istringstream parts(inside);
    for (std::string part; std::getline(parts, part, ',');) {
      part.erase(0, part.find_first_not_of(' '));
      part.erase(part.find_last_not_of(' ') + 1);
      if (std::regex_match(part, codename) && part.rfind("llvm", 0) != 0 && part.rfind("drm", 0) != 0) return part;
    }
  }
  std::string name = lower(device_name.substr(0, open));
  if (name.rfind("amd ", 0) == 0) name.erase(0, 4);
  return slug(name);
}

}  // namespace

DeviceKey make_device_key(std::string_view platform_name, std::string_view device_name, std::string_view board_name,
                          std::string_view vendor, int compute_units, DeviceType type) {
  const std::string platform = lower(platform_name);
  const std::string name = lower(device_name);
  const std::string all = name + " " + lower(board_name);
  const std::string vend = lower(vendor);
  std::string family;

  const bool amd_gpu = type == DeviceType::gpu && (contains(vend, "advanced micro devices") ||
                                                   contains(vend, "amd") || contains(all, "radeon") ||
                                                   contains(all, "gfx") || contains(vend, "mesa"));
  if (contains(platform, "oclgrind") || contains(name, "oclgrind")) {
    family = "oclgrind";
  } else if (contains(platform, "portable computing language") || contains(platform, "pocl")) {
    // PoCL names CPU devices "<driver>-<llvm cpu>-<host cpu brand>", e.g. "pthread-haswell-AMD EPYC 7B13":
    // keep the LLVM CPU name, which is what decides the generated code.
    std::string_view rest = device_name;
    for (std::string_view prefix : {"pthread-", "cpu-minimal-", "cpu-", "basic-", "tbb-"}) {
      if (rest.substr(0, prefix.size()) == prefix) {
        rest.remove_prefix(prefix.size());
        break;
      }
    }
    std::string arch;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (std::isupper(static_cast<unsigned char>(rest[i])) && (i == 0 || rest[i - 1] == '-')) break;
      arch += rest[i];
    }
    family = "pocl-" + std::string(device_type_name(type)) + "-" + slug(arch.empty() ? rest : arch);
  } else if (amd_gpu) {
    std::string chip = amd_chip(all, compute_units);
    if (chip.empty()) chip = amd_codename(device_name);
    family = "amd-" + chip;
  } else if (contains(vend, "nvidia")) {
    std::string n(device_name);
    for (std::string_view drop : {"NVIDIA ", "GeForce ", "Tesla "}) {
      if (auto pos = n.find(drop); pos != std::string::npos) n.erase(pos, drop.size());
    }
    family = "nvidia-" + slug(n);
  } else if (contains(vend, "intel")) {
    family = "intel-" + slug(device_name);
  } else {
    std::string v = slug(vendor);
    family = v.substr(0, v.find('-')) + "-" + slug(device_name);
  }
  return {fmt::format("{}-{}cu", family, compute_units), family};
}

bool DeviceInfo::has_extension(std::string_view ext) const {
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

int DeviceInfo::opencl_c_version_number() const {
  static const std::regex version(R"(OpenCL C ([0-9]+)\.([0-9]+))");
  std::smatch m;
  if (std::regex_search(opencl_c_version, m, version)) return std::stoi(m[1]) * 10 + std::stoi(m[2]);
  return 10;
}

namespace runtime {

namespace {

DeviceType to_type(cl_device_type t) {
  if (t & CL_DEVICE_TYPE_GPU) return DeviceType::gpu;
  if (t & CL_DEVICE_TYPE_ACCELERATOR) return DeviceType::accelerator;
  if (t & CL_DEVICE_TYPE_CPU) return DeviceType::cpu;
  return DeviceType::other;
}

std::string device_string(const cl::Device& d, cl_device_info param) {
  std::size_t size = 0;
  if (clGetDeviceInfo(d(), param, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  check(clGetDeviceInfo(d(), param, size, s.data(), nullptr), "clGetDeviceInfo", "reading a device string");
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

template <class T>
T device_value(const cl::Device& d, cl_device_info param, const char* what) {
  T value{};
  check(clGetDeviceInfo(d(), param, sizeof(T), &value, nullptr), "clGetDeviceInfo", what);
  return value;
}

DeviceInfo describe(const cl::Platform& p, const cl::Device& d, int index) {
  DeviceInfo info;
  info.index = index;
  info.platform_name = p.getInfo<CL_PLATFORM_NAME>();
  info.platform_version = p.getInfo<CL_PLATFORM_VERSION>();
  info.name = device_string(d, CL_DEVICE_NAME);
  info.vendor = device_string(d, CL_DEVICE_VENDOR);
  info.driver_version = device_string(d, CL_DRIVER_VERSION);
  info.device_version = device_string(d, CL_DEVICE_VERSION);
  info.opencl_c_version = device_string(d, CL_DEVICE_OPENCL_C_VERSION);
  info.type = to_type(device_value<cl_device_type>(d, CL_DEVICE_TYPE, "CL_DEVICE_TYPE"));
  info.compute_units = int(device_value<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS, "CL_DEVICE_MAX_COMPUTE_UNITS"));
  info.max_clock_mhz = int(device_value<cl_uint>(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, "CL_DEVICE_MAX_CLOCK_FREQUENCY"));
  info.max_work_group_size =
      device_value<std::size_t>(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, "CL_DEVICE_MAX_WORK_GROUP_SIZE");
  check(clGetDeviceInfo(d(), CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof(info.max_work_item_sizes),
                        info.max_work_item_sizes.data(), nullptr),
        "clGetDeviceInfo", "CL_DEVICE_MAX_WORK_ITEM_SIZES");
  info.local_mem_bytes = device_value<cl_ulong>(d, CL_DEVICE_LOCAL_MEM_SIZE, "CL_DEVICE_LOCAL_MEM_SIZE");
  info.global_mem_bytes = device_value<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE, "CL_DEVICE_GLOBAL_MEM_SIZE");
  info.max_alloc_bytes = device_value<cl_ulong>(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, "CL_DEVICE_MAX_MEM_ALLOC_SIZE");
  std::istringstream exts(device_string(d, CL_DEVICE_EXTENSIONS));
  for (std::string e; exts >> e;) info.extensions.push_back(e);
  info.has_fp16 = info.has_extension("cl_khr_fp16");
  info.has_fp64 = info.has_extension("cl_khr_fp64");
  const auto fp32 = device_value<cl_device_fp_config>(d, CL_DEVICE_SINGLE_FP_CONFIG, "CL_DEVICE_SINGLE_FP_CONFIG");
  info.has_fma = (fp32 & CL_FP_FMA) != 0;
  info.has_correct_divide = (fp32 & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
  if (info.has_extension("cl_amd_device_attribute_query")) {
    constexpr cl_device_info kBoardNameAmd = 0x4038;   // CL_DEVICE_BOARD_NAME_AMD
    info.board_name = device_string(d, kBoardNameAmd);
  }
  DeviceKey key = make_device_key(info.platform_name, info.name, info.board_name, info.vendor, info.compute_units,
                                  info.type);
  info.key = key.key;
  info.family = key.family;
  return info;
}

}  // namespace

std::vector<DeviceHandle> enumerate_devices() {
  std::vector<cl::Platform> platforms;
  cl_int err = cl::Platform::get(&platforms);
  if (err == CL_PLATFORM_NOT_FOUND_KHR) return {};
  check(err, "clGetPlatformIDs", "listing OpenCL platforms");
  std::vector<DeviceHandle> out;
  for (const auto& p : platforms) {
    std::vector<cl::Device> devices;
    err = p.getDevices(CL_DEVICE_TYPE_ALL, &devices);
    if (err == CL_DEVICE_NOT_FOUND) continue;
    check(err, "clGetDeviceIDs", "listing the devices of platform " + p.getInfo<CL_PLATFORM_NAME>());
    for (const auto& d : devices) out.push_back({d, describe(p, d, int(out.size()))});
  }
  return out;
}

std::size_t choose_device(const std::vector<DeviceInfo>& devices, std::string_view selector,
                          std::string_view origin) {
  if (devices.empty()) {
    throw NotSupported(
        "no OpenCL device found: no platform reported a device (is an ICD such as pocl-opencl-icd installed? "
        "OCL_ICD_VENDORS, if set, must name a directory holding its .icd file)");
  }
  auto listing = [&] {
    std::string s;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      s += fmt::format("\n  {}: {} / {} ({})", i, devices[i].platform_name, devices[i].name, devices[i].key);
    }
    return s;
  };
  if (selector.empty()) {
    for (DeviceType t : {DeviceType::gpu, DeviceType::accelerator, DeviceType::cpu}) {
      for (std::size_t i = 0; i < devices.size(); ++i) {
        if (devices[i].type == t) return i;
      }
    }
    return 0;
  }
  // All digits: an index (so "580" is index 580, not a name; use "rx 580" for that).
  if (std::all_of(selector.begin(), selector.end(), [](unsigned char c) { return std::isdigit(c); })) {
    std::size_t index = 0;
    auto r = std::from_chars(selector.data(), selector.data() + selector.size(), index);
    if (r.ec == std::errc() && index < devices.size()) return index;
    throw NotSupported(fmt::format("{}={}: there is no device {} (devices 0..{}):{}", origin, selector, selector,
                                   devices.size() - 1, listing()));
  }
  const std::string needle = lower(selector);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (contains(lower(devices[i].platform_name + " " + devices[i].name + " " + devices[i].key), needle)) return i;
  }
  throw NotSupported(fmt::format("{}=\"{}\" matches no device (an index, or a substring of platform, device "
                                 "name or key):{}",
                                 origin, selector, listing()));
}

DeviceHandle find_device(std::string_view selector) {
  auto devices = enumerate_devices();
  std::string sel(selector);
  std::string origin = "selector";
  if (sel.empty()) {
    if (auto e = env("ELLESMERE_DEVICE")) {
      sel = *e;
      origin = "ELLESMERE_DEVICE";
    }
  }
  std::vector<DeviceInfo> infos;
  for (const auto& d : devices) infos.push_back(d.info);
  return devices[choose_device(infos, sel, origin)];
}

}  // namespace runtime

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  for (auto& d : runtime::enumerate_devices()) out.push_back(std::move(d.info));
  return out;
}

DeviceInfo select_device(std::string_view selector) { return runtime::find_device(selector).info; }

}  // namespace ellesmere
