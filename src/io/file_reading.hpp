// Opening a tensor file for reading with the checks both readers (npy.cpp, onnx_tensor.cpp) need. Internal.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "ellesmere/error.hpp"

namespace ellesmere::io {

struct OpenedFile {
  std::ifstream stream;
  std::uint64_t size = 0;
};

// Throws FileError when the file cannot be opened, is a directory (which opens fine on Linux and only fails on
// reading, with a misleading error), or has no determinable size. The stream is positioned at the start.
inline OpenedFile open_for_reading(const std::string& path) {
  OpenedFile f;
  f.stream.open(path, std::ios::binary);
  if (!f.stream) throw FileError(path, fmt::format("cannot open for reading: {}", std::strerror(errno)));
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) throw FileError(path, "is a directory");
  f.stream.seekg(0, std::ios::end);
  const std::streamoff end = f.stream.tellg();
  if (end < 0) throw FileError(path, "cannot determine the file size");
  f.size = static_cast<std::uint64_t>(end);
  f.stream.seekg(0);
  return f;
}

}  // namespace ellesmere::io
