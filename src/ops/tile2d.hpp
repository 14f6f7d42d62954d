// What the LDS-tiled GEMM Impls share (gemm_f32_tile2d, gemm_i8_tile2d, gemm_wq_tile2d): the rules their
// TM/TN/TK/WPT/VW Params obey and their launch geometry, a (TN/VW) x (TM/WPT) work-group per TM x TN tile of C.
#pragma once

#include <cstdint>
#include <string>

#include "ops/impl.hpp"

namespace ellesmere::ops {

// "" when p's TM, TN, TK, WPT and VW are valid on device for a kernel using local_bytes of local memory, else why
// not. tk_multiple: TK must be a multiple of it (the kernel's k unit: 4 packed bytes, a 32-weight chunk).
std::string check_tile2d_params(const Params& p, const DeviceInfo& device, std::uint64_t local_bytes,
                                int tk_multiple = 1);

// One launch of kernel covering an m x n C.
LaunchShape tile2d_shape(const std::string& kernel, std::int64_t m, std::int64_t n, const Params& params);

}  // namespace ellesmere::ops
