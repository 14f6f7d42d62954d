// Program cache: memory map per Context, plus validated binaries under cache_dir()/programs.
#include "runtime/program_cache.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "runtime/env.hpp"
#include "runtime/fault_injection.hpp"
#include "runtime/files.hpp"
#include "runtime/hash.hpp"
#include "runtime/kernel_registry.hpp"

namespace ellesmere::runtime {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "ELLESMERE-PROGRAM-CACHE 1\n";
constexpr std::size_t kMagicSize = sizeof(kMagic) - 1;

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += char((v >> (8 * i)) & 0xff);
}
bool get_u64(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  if (pos > in.size() || in.size() - pos < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  pos += 8;
  return true;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ProgramCache::ProgramCache(cl::Context context, cl::Device device, const DeviceInfo& info)
    : context_(std::move(context)), device_(std::move(device)), info_(info) {
  std_option_ = info_.opencl_c_version_number() >= 12 ? "-cl-std=CL1.2" : "-cl-std=CL1.1";
  if (info_.has_fma) device_defines_ = "-DELLESMERE_FAST_FMA=1";
}

ProgramCacheStats ProgramCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string ProgramCache::key_text(const std::string& name, const std::string& source,
                                   const std::string& options) const {
  // The whole source is part of the key, so a stored entry is compared byte for byte, never trusted on a hash.
  return fmt::format("kernel: {}\noptions: {}\nplatform: {} | {}\ndevice: {} | {} | {}\ndriver: {}\nsource:\n{}",
                     name, options, info_.platform_name, info_.platform_version, info_.name, info_.device_version,
                     info_.key, info_.driver_version, source);
}

const cl::Program& ProgramCache::get(const std::string& kernel_file, const std::string& options) {
  return get_source(kernel_file, kernel_source(kernel_file), options);
}

const cl::Program& ProgramCache::get_source(const std::string& name, const std::string& source,
                                            const std::string& extra_options) {
  // The device's -cl-std unless the caller chose one (the polaris check builds as CL1.1 on any device).
  std::string options = extra_options.find("-cl-std=") != std::string::npos ? "" : std_option_;
  auto append = [&options](const std::string& part) {
    if (!part.empty()) options += (options.empty() ? "" : " ") + part;
  };
  append(device_defines_);
  append(extra_options);
  const std::string key = key_text(name, source, options);
  std::lock_guard lock(mutex_);
  if (auto it = programs_.find(key); it != programs_.end()) {
    ++stats_.memory_hits;
    return it->second;
  }
  cl::Program program;
  std::string path;
  if (disk_cache_enabled()) {
    path = (fs::path(cache_dir()) / "programs" / (Fnv1a64().add(key).hex() + ".bin")).string();
    if (load_from_disk(path, key, name, options, program)) {
      ++stats_.disk_hits;
      return programs_.emplace(key, std::move(program)).first->second;
    }
  }
  program = build_from_source(name, source, options);
  ++stats_.builds;
  if (!path.empty()) store_to_disk(path, key, program);
  return programs_.emplace(key, std::move(program)).first->second;
}

cl::Program ProgramCache::build_from_source(const std::string& name, const std::string& source,
                                            const std::string& options) {
  auto t0 = std::chrono::steady_clock::now();
  cl_int err = CL_SUCCESS;
  cl::Program program(context_, source, false, &err);
  check(err, "clCreateProgramWithSource", name);
  std::string build_log;
  if (const cl_int injected = fault::hit(fault::Site::build); injected != CL_SUCCESS) {
    err = injected;   // the test-only hook stands in for the driver refusing to build
    build_log = fmt::format("(fault injection: clBuildProgram made to fail with {})", cl_error_name(injected));
  } else {
    err = program.build({device_}, options.c_str());
    program.getBuildInfo(device_, CL_PROGRAM_BUILD_LOG, &build_log);
  }
  while (!build_log.empty() && (build_log.back() == '\0' || build_log.back() == '\n')) build_log.pop_back();
  if (err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS || err == CL_COMPILE_PROGRAM_FAILURE) {
    throw BuildError(name, options, info_.name + " (" + info_.platform_name + ")", build_log);
  }
  check(err, "clBuildProgram",
        fmt::format("{} with options \"{}\"{}", name, options, build_log.empty() ? "" : "; build log:\n" + build_log));
  log("build", fmt::format("built {} [{}] from source in {:.1f} ms{}", name, options, ms_since(t0),
                           build_log.empty() ? "" : "; build log:\n" + build_log));
  return program;
}

CacheEntry parse_cache_entry(std::string_view file, std::string_view key) {
  CacheEntry entry;
  auto reject = [&](const char* why) {
    entry.rejected = why;
    return entry;
  };
  std::size_t pos = kMagicSize;
  std::uint64_t key_size = 0, payload_size = 0, payload_hash = 0;
  if (file.size() < kMagicSize || std::memcmp(file.data(), kMagic, kMagicSize) != 0) return reject("has no header");
  if (!get_u64(file, pos, key_size) || file.size() - pos < key_size) return reject("is truncated (key)");
  if (file.compare(pos, key_size, key) != 0) return reject("belongs to another source/options/driver (stale)");
  pos += key_size;
  if (!get_u64(file, pos, payload_size) || !get_u64(file, pos, payload_hash)) return reject("is truncated");
  if (file.size() - pos != payload_size) return reject("has the wrong size (truncated or corrupt)");
  if (payload_size == 0) return reject("holds an empty binary");
  entry.binary.assign(file.begin() + std::ptrdiff_t(pos), file.end());
  if (Fnv1a64().add(entry.binary.data(), entry.binary.size()).value() != payload_hash) {
    entry.binary.clear();
    return reject("fails its checksum");
  }
  return entry;
}

bool ProgramCache::load_from_disk(const std::string& path, const std::string& key, const std::string& name,
                                  const std::string& options, cl::Program& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  auto t0 = std::chrono::steady_clock::now();
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string file = buffer.str();
  auto reject = [&](const std::string& why) {
    ++stats_.disk_rejected;
    log("cache", fmt::format("rebuilding {}: cache file {} {}", name, path, why));
    return false;
  };
  CacheEntry entry = parse_cache_entry(file, key);
  if (!entry.rejected.empty()) return reject(entry.rejected);
  std::vector<unsigned char>& binary = entry.binary;

  cl_int err = CL_SUCCESS;
  cl::Program program(context_, {device_}, cl::Program::Binaries{binary}, nullptr, &err);
  if (err != CL_SUCCESS) return reject(fmt::format("was refused by the driver ({})", cl_error_name(err)));
  err = program.build({device_}, options.c_str());
  if (err != CL_SUCCESS) return reject(fmt::format("did not build from binary ({})", cl_error_name(err)));
  log("cache", fmt::format("loaded {} from {} in {:.1f} ms", name, path, ms_since(t0)));
  out = std::move(program);
  return true;
}

void ProgramCache::store_to_disk(const std::string& path, const std::string& key, const cl::Program& program) {
  std::vector<std::vector<unsigned char>> binaries;
  if (program.getInfo(CL_PROGRAM_BINARIES, &binaries) != CL_SUCCESS || binaries.size() != 1 ||
      binaries[0].empty()) {
    log("cache", "driver returned no program binary; not caching " + path);
    return;
  }
  const auto& binary = binaries[0];
  std::string file(kMagic, kMagicSize);
  put_u64(file, key.size());
  file += key;
  put_u64(file, binary.size());
  put_u64(file, Fnv1a64().add(binary.data(), binary.size()).value());
  file.append(reinterpret_cast<const char*>(binary.data()), binary.size());

  try {
    write_file_atomically(path, file);
  } catch (const FileError& e) {
    // Not fatal (the program is built and runs), but every later run would pay the compile again: say so once.
    if (!disk_warned_) {
      disk_warned_ = true;
      std::cerr << fmt::format("ellesmere: warning: cannot write the program cache: {}. Kernels will be compiled "
                               "again next run; set ELLESMERE_CACHE_DIR to a writable directory, or "
                               "ELLESMERE_CACHE=0 to turn the disk cache off.\n",
                               e.what());
    }
  }
}

}  // namespace ellesmere::runtime
