// Devices with their OpenCL handles, for the runtime's own use (Context creation). Public code sees DeviceInfo.
#pragma once

#include <string_view>
#include <vector>

#include "ellesmere/device.hpp"
#include "runtime/cl.hpp"

namespace ellesmere::runtime {

struct DeviceHandle {
  cl::Device device;
  DeviceInfo info;
};

std::vector<DeviceHandle> enumerate_devices();
// The selection rule on its own, for testing without hardware: the index in devices that selector picks ("" =
// first GPU, else accelerator, else CPU, else the first device; all digits = an index; otherwise a
// case-insensitive substring of "platform name key"). origin names the selector's source in errors.
std::size_t choose_device(const std::vector<DeviceInfo>& devices, std::string_view selector,
                          std::string_view origin);
// select_device()'s rules, returning the handle as well.
DeviceHandle find_device(std::string_view selector);

}  // namespace ellesmere::runtime
