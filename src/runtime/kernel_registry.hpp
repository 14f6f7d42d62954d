// The kernel sources: compiled into the library (kernels/**), or read from ELLESMERE_KERNEL_DIR when set (for
// kernel development without rebuilding). `#include "x.h"` lines are expanded here, so the program-cache key
// covers included headers and no include path is needed at build time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ellesmere::runtime {

// Every kernel file (*.cl, not headers), sorted, as paths relative to the kernel root ("gemm/gemm_f32_tile2d.cl").
std::vector<std::string> kernel_files();

// The source of one kernel file with its includes expanded (and #line markers, so build logs name the right
// file). Throws Error naming the file when it, or something it includes, is missing.
std::string kernel_source(std::string_view file);

// Where sources come from now: "embedded" or the ELLESMERE_KERNEL_DIR path.
std::string kernel_source_origin();

}  // namespace ellesmere::runtime
