// The one place the Khronos C++ bindings are included, with the versions ellesmere targets, plus check(), which
// turns a failed OpenCL call into an ellesmere::ClError. Internal: every src/ file that talks to OpenCL uses this.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
// clEnqueueMarker is the only marker on OpenCL 1.1 drivers (Mesa Clover); deprecated from 1.2 on.
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_HPP_TARGET_OPENCL_VERSION 120
#define CL_HPP_MINIMUM_OPENCL_VERSION 110
// Never use the bindings' getDefault() objects: they are statics released after the ICD's own thread-local state
// at exit, which crashes oclgrind (seen with oclgrind 21.10). Every handle here belongs to a Context.
#include <CL/opencl.hpp>

#include <string>
#include <string_view>

#include "ellesmere/error.hpp"

namespace ellesmere::runtime {

// Throws ClError(code, call, context) unless code is CL_SUCCESS.
inline void check(cl_int code, const char* call, std::string_view context = {}) {
  if (code != CL_SUCCESS) throw ClError(code, call, std::string(context));
}

}  // namespace ellesmere::runtime
