// Exceptions thrown by ellesmere. Every failure carries what failed and why, so that a caller (or the CLI)
// can print one clear message. All derive from ellesmere::Error (a std::runtime_error).
#pragma once

#include <stdexcept>
#include <string>

namespace ellesmere {

// Base of everything ellesmere throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An OpenCL (or CLBlast) call returned an error code.
// what() reads like "clEnqueueNDRangeKernel failed with CL_INVALID_WORK_GROUP_SIZE (-54): gemm_f32_tile2d ...".
class ClError : public Error {
 public:
  ClError(int code, std::string call, std::string context);
  int code() const noexcept { return code_; }
  // The API function that failed, e.g. "clCreateBuffer" or "clblast::Gemm".
  const std::string& call() const noexcept { return call_; }
  // What ellesmere was doing, e.g. "allocating 64 MiB for gemm_f32 operand A".
  const std::string& context() const noexcept { return context_; }

 private:
  int code_;
  std::string call_;
  std::string context_;
};

// clBuildProgram failed: carries the device's full build log and the options used.
class BuildError : public Error {
 public:
  BuildError(std::string kernel_file, std::string options, std::string device, std::string log);
  const std::string& kernel_file() const noexcept { return kernel_file_; }
  const std::string& options() const noexcept { return options_; }
  const std::string& device() const noexcept { return device_; }
  const std::string& log() const noexcept { return log_; }

 private:
  std::string kernel_file_;
  std::string options_;
  std::string device_;
  std::string log_;
};

// A caller passed something invalid: a wrong shape, a too-small buffer, a malformed problem string.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file could not be read or is malformed; what() names the path and, where known, the byte offset or line.
class FileError : public Error {
 public:
  FileError(std::string path, std::string detail);
  const std::string& path() const noexcept { return path_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string path_;
  std::string detail_;
};

// The request is valid but nothing here can run it (no applicable Impl, no OpenCL device, missing feature).
class NotSupported : public Error {
 public:
  using Error::Error;
};

// The symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), or "CL_UNKNOWN_ERROR".
const char* cl_error_name(int code) noexcept;

}  // namespace ellesmere
