// ImplBase defaults: the device-limit checks every Impl shares.
#include "ops/impl.hpp"

#include <fmt/format.h>

namespace ellesmere::ops {

std::string ImplBase::check_params(const Params&, const DeviceInfo&) const { return {}; }

std::vector<LaunchShape> ImplBase::launch_shapes(std::string_view, const Params&) const { return {}; }

}  // namespace ellesmere::ops
