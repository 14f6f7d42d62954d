// Params rules and launch geometry of the LDS-tiled GEMM Impls (src/ops/tile2d.hpp).
#include "ops/tile2d.hpp"

#include <fmt/format.h>

namespace ellesmere::ops {

std::string check_tile2d_params(const Params& p, const DeviceInfo& device, std::uint64_t local_bytes,
                                int tk_multiple) {
  const int tm = p.get("TM"), tn = p.get("TN"), tk = p.get("TK"), wpt = p.get("WPT"), vw = p.get("VW");
  if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return fmt::format("VW={} is not 1, 2, 4, 8 or 16", vw);
  if (tm <= 0 || tn <= 0 || tk <= 0 || wpt <= 0) return "TM, TN, TK and WPT must be positive";
  if (tk % tk_multiple != 0) return fmt::format("TK={} is not a multiple of {}", tk, tk_multiple);
  if (tn % vw != 0) return fmt::format("TN={} is not a multiple of VW={}", tn, vw);
  if (tm % wpt != 0) return fmt::format("TM={} is not a multiple of WPT={}", tm, wpt);
  const std::size_t rx = std::size_t(tn / vw), ry = std::size_t(tm / wpt);
  if (rx * ry > device.max_work_group_size) {
    return fmt::format("work-group {}x{} = {} items exceeds the device's {}", rx, ry, rx * ry,
                       device.max_work_group_size);
  }
  if (rx > device.max_work_item_sizes[0] || ry > device.max_work_item_sizes[1]) {
    return fmt::format("work-group {}x{} exceeds the device's per-dimension limits {}x{}", rx, ry,
                       device.max_work_item_sizes[0], device.max_work_item_sizes[1]);
  }
  if (local_bytes > device.local_mem_bytes) {
    return fmt::format("needs {} bytes of local memory, the device has {}", local_bytes, device.local_mem_bytes);
  }
  return {};
}

LaunchShape tile2d_shape(const std::string& kernel, std::int64_t m, std::int64_t n, const Params& params) {
  const std::size_t tm = std::size_t(params.get("TM")), tn = std::size_t(params.get("TN"));
  const std::size_t rx = tn / std::size_t(params.get("VW")), ry = tm / std::size_t(params.get("WPT"));
  LaunchShape s;
  s.kernel = kernel;
  s.dims = 2;
  s.local = {rx, ry, 1};
  s.global = {(std::size_t(n) + tn - 1) / tn * rx, (std::size_t(m) + tm - 1) / tm * ry, 1};
  return s;
}

}  // namespace ellesmere::ops
