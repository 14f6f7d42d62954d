// Program cache: memory map per Context, plus validated binaries under cache_dir()/programs.
#include "runtime/program_cache.hpp"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "runtime/env.hpp"
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
bool get_u64(const std::string& in, std::size_t& pos, std::uint64_t& v) {
  if (in.size() < pos + 8) return false;
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
}

ProgramCacheStats ProgramCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string ProgramCache::key_text(const std::string& name, const std::string& source,
                                   const std::string& options) const {
  return fmt::format(
      "kernel: {}\nsource-fnv1a64: {}\nsource-bytes: {}\noptions: {}\nplatform: {} | {}\ndevice: {} | {} | {}\n"
      "driver: {}\n",
      name, Fnv1a64().add(source).hex(), source.size(), options, info_.platform_name, info_.platform_version,
      info_.name, info_.device_version, info_.key, info_.driver_version);
}

const cl::Program& ProgramCache::get(const std::string& kernel_file, const std::string& options) {
  return get_source(kernel_file, kernel_source(kernel_file), options);
}

const cl::Program& ProgramCache::get_source(const std::string& name, const std::string& source,
                                            const std::string& extra_options) {
  const std::string options = extra_options.empty() ? std_option_ : std_option_ + " " + extra_options;
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
  err = program.build({device_}, options.c_str());
  std::string build_log;
  program.getBuildInfo(device_, CL_PROGRAM_BUILD_LOG, &build_log);
  while (!build_log.empty() && (build_log.back() == '\0' || build_log.back() == '\n')) build_log.pop_back();
  if (err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS || err == CL_COMPILE_PROGRAM_FAILURE) {
    throw BuildError(name, options, info_.name + " (" + info_.platform_name + ")", build_log);
  }
  check(err, "clBuildProgram", fmt::format("{} with options \"{}\"", name, options));
  log("build", fmt::format("built {} [{}] from source in {:.1f} ms{}", name, options, ms_since(t0),
                           build_log.empty() ? "" : "; build log:\n" + build_log));
  return program;
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
  std::size_t pos = kMagicSize;
  std::uint64_t key_size = 0, payload_size = 0, payload_hash = 0;
  if (file.size() < kMagicSize || std::memcmp(file.data(), kMagic, kMagicSize) != 0) return reject("has no header");
  if (!get_u64(file, pos, key_size) || file.size() - pos < key_size) return reject("is truncated (key)");
  if (file.compare(pos, key_size, key) != 0) return reject("belongs to another source/options/driver (stale)");
  pos += key_size;
  if (!get_u64(file, pos, payload_size) || !get_u64(file, pos, payload_hash)) return reject("is truncated");
  if (file.size() - pos != payload_size) return reject("has the wrong size (truncated or corrupt)");
  std::vector<unsigned char> binary(file.begin() + std::ptrdiff_t(pos), file.end());
  if (Fnv1a64().add(binary.data(), binary.size()).value() != payload_hash) return reject("fails its checksum");

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

  // Write a private temporary file and rename it, so a concurrent reader never sees half a file.
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (f) f.write(file.data(), std::streamsize(file.size()));
    if (!f || !f.flush()) {
      fs::remove(tmp, ec);
      // Not fatal (the program is built and runs), but every later run would pay the compile again: say so once.
      if (!disk_warned_) {
        disk_warned_ = true;
        std::cerr << fmt::format("ellesmere: warning: cannot write the program cache under {} ({}); kernels will "
                                 "be compiled again next run. Set ELLESMERE_CACHE_DIR to a writable directory, or "
                                 "ELLESMERE_CACHE=0 to turn the disk cache off.\n",
                                 fs::path(path).parent_path().string(), std::strerror(errno));
      }
      return;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    log("cache", "cannot rename " + tmp + ": " + ec.message());
  }
}

}  // namespace ellesmere::runtime
