// write_file_atomically: temporary file beside the target, then rename.
#include "runtime/files.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "ellesmere/error.hpp"

namespace ellesmere::runtime {

namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, std::string_view bytes) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw FileError(path, "cannot create its directory: " + ec.message());
  }
  const std::string tmp = fmt::format("{}.tmp.{}.{:x}.{}", path, ::getpid(),
                                      std::hash<std::thread::id>{}(std::this_thread::get_id()), counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (out) out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out || !out.flush()) {
      const std::string why = std::strerror(errno);
      fs::remove(tmp, ec);
      throw FileError(path, "cannot be written: " + why);
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw FileError(path, "cannot be written (rename failed): " + ec.message());
  }
}

}  // namespace ellesmere::runtime
