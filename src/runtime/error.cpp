// Exception types from include/ellesmere/error.hpp and the OpenCL error-code names they print.
#include "ellesmere/error.hpp"

#include <fmt/format.h>

namespace ellesmere {

ClError::ClError(int code, std::string call, std::string context)
    : Error(fmt::format("{} failed with {} ({}){}{}", call, cl_error_name(code), code, context.empty() ? "" : ": ",
                        context)),
      code_(code),
      call_(std::move(call)),
      context_(std::move(context)) {}

BuildError::BuildError(std::string kernel_file, std::string options, std::string device, std::string log)
    : Error(fmt::format("building kernel {} for {} failed\n  options: {}\n  build log:\n{}", kernel_file, device,
                        options.empty() ? "(none)" : options, log.empty() ? "  (empty)" : log)),
      kernel_file_(std::move(kernel_file)),
      options_(std::move(options)),
      device_(std::move(device)),
      log_(std::move(log)) {}

FileError::FileError(std::string path, std::string detail)
    : Error(fmt::format("{}: {}", path, detail)), path_(std::move(path)), detail_(std::move(detail)) {}

const char* cl_error_name(int code) noexcept {
  switch (code) {
    case 0: return "CL_SUCCESS";
    case -1: return "CL_DEVICE_NOT_FOUND";
    case -2: return "CL_DEVICE_NOT_AVAILABLE";
    case -3: return "CL_COMPILER_NOT_AVAILABLE";
    case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case -5: return "CL_OUT_OF_RESOURCES";
    case -6: return "CL_OUT_OF_HOST_MEMORY";
    case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE";
    case -8: return "CL_MEM_COPY_OVERLAP";
    case -9: return "CL_IMAGE_FORMAT_MISMATCH";
    case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED";
    case -11: return "CL_BUILD_PROGRAM_FAILURE";
    case -12: return "CL_MAP_FAILURE";
    case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET";
    case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
    case -15: return "CL_COMPILE_PROGRAM_FAILURE";
    case -16: return "CL_LINKER_NOT_AVAILABLE";
    case -17: return "CL_LINK_PROGRAM_FAILURE";
    case -18: return "CL_DEVICE_PARTITION_FAILED";
    case -19: return "CL_KERNEL_ARG_INFO_NOT_AVAILABLE";
    case -30: return "CL_INVALID_VALUE";
    case -31: return "CL_INVALID_DEVICE_TYPE";
    case -32: return "CL_INVALID_PLATFORM";
    case -33: return "CL_INVALID_DEVICE";
    case -34: return "CL_INVALID_CONTEXT";
    case -35: return "CL_INVALID_QUEUE_PROPERTIES";
    case -36: return "CL_INVALID_COMMAND_QUEUE";
    case -37: return "CL_INVALID_HOST_PTR";
    case -38: return "CL_INVALID_MEM_OBJECT";
    case -39: return "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR";
    case -40: return "CL_INVALID_IMAGE_SIZE";
    case -41: return "CL_INVALID_SAMPLER";
    case -42: return "CL_INVALID_BINARY";
    case -43: return "CL_INVALID_BUILD_OPTIONS";
    case -44: return "CL_INVALID_PROGRAM";
    case -45: return "CL_INVALID_PROGRAM_EXECUTABLE";
    case -46: return "CL_INVALID_KERNEL_NAME";
    case -47: return "CL_INVALID_KERNEL_DEFINITION";
    case -48: return "CL_INVALID_KERNEL";
    case -49: return "CL_INVALID_ARG_INDEX";
    case -50: return "CL_INVALID_ARG_VALUE";
    case -51: return "CL_INVALID_ARG_SIZE";
    case -52: return "CL_INVALID_KERNEL_ARGS";
    case -53: return "CL_INVALID_WORK_DIMENSION";
    case -54: return "CL_INVALID_WORK_GROUP_SIZE";
    case -55: return "CL_INVALID_WORK_ITEM_SIZE";
    case -56: return "CL_INVALID_GLOBAL_OFFSET";
    case -57: return "CL_INVALID_EVENT_WAIT_LIST";
    case -58: return "CL_INVALID_EVENT";
    case -59: return "CL_INVALID_OPERATION";
    case -60: return "CL_INVALID_GL_OBJECT";
    case -61: return "CL_INVALID_BUFFER_SIZE";
    case -62: return "CL_INVALID_MIP_LEVEL";
    case -63: return "CL_INVALID_GLOBAL_WORK_SIZE";
    case -64: return "CL_INVALID_PROPERTY";
    case -65: return "CL_INVALID_IMAGE_DESCRIPTOR";
    case -66: return "CL_INVALID_COMPILER_OPTIONS";
    case -67: return "CL_INVALID_LINKER_OPTIONS";
    case -68: return "CL_INVALID_DEVICE_PARTITION_COUNT";
    case -69: return "CL_INVALID_PIPE_SIZE";
    case -70: return "CL_INVALID_DEVICE_QUEUE";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    // CLBlast's own status codes (clblast.h StatusCode), reported through the same exception.
    case -1024: return "CLBLAST_NOT_IMPLEMENTED";
    case -1022: return "CLBLAST_INVALID_MATRIX_A";
    case -1021: return "CLBLAST_INVALID_MATRIX_B";
    case -1020: return "CLBLAST_INVALID_MATRIX_C";
    case -1019: return "CLBLAST_INVALID_VECTOR_X";
    case -1018: return "CLBLAST_INVALID_VECTOR_Y";
    case -1017: return "CLBLAST_INVALID_DIMENSION";
    case -1016: return "CLBLAST_INVALID_LEAD_DIM_A";
    case -1015: return "CLBLAST_INVALID_LEAD_DIM_B";
    case -1014: return "CLBLAST_INVALID_LEAD_DIM_C";
    case -1013: return "CLBLAST_INVALID_INCREMENT_X";
    case -1012: return "CLBLAST_INVALID_INCREMENT_Y";
    case -1011: return "CLBLAST_INSUFFICIENT_MEMORY_A";
    case -1010: return "CLBLAST_INSUFFICIENT_MEMORY_B";
    case -1009: return "CLBLAST_INSUFFICIENT_MEMORY_C";
    case -1008: return "CLBLAST_INSUFFICIENT_MEMORY_X";
    case -1007: return "CLBLAST_INSUFFICIENT_MEMORY_Y";
    case -2050: return "CLBLAST_INSUFFICIENT_MEMORY_TEMP";
    case -2049: return "CLBLAST_INVALID_BATCH_COUNT";
    case -2048: return "CLBLAST_INVALID_OVERRIDE_KERNEL";
    case -2047: return "CLBLAST_MISSING_OVERRIDE_PARAMETER";
    case -2046: return "CLBLAST_INVALID_LOCAL_MEM_USAGE";
    case -2045: return "CLBLAST_NO_HALF_PRECISION";
    case -2044: return "CLBLAST_NO_DOUBLE_PRECISION";
    case -2043: return "CLBLAST_INVALID_VECTOR_SCALAR";
    case -2042: return "CLBLAST_INSUFFICIENT_MEMORY_SCALAR";
    case -2041: return "CLBLAST_DATABASE_ERROR";
    case -2040: return "CLBLAST_UNKNOWN_ERROR";
    case -2039: return "CLBLAST_UNEXPECTED_ERROR";
    default: return "CL_UNKNOWN_ERROR";
  }
}

}  // namespace ellesmere
