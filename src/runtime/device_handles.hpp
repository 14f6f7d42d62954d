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
// select_device()'s rules, returning the handle as well.
DeviceHandle find_device(std::string_view selector);

}  // namespace ellesmere::runtime
