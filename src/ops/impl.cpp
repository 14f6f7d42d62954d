// ImplBase defaults, for Impls without tunables, launch geometry of their own or problem-dependent defines.
#include "ops/impl.hpp"

namespace ellesmere::ops {

std::string ImplBase::check_params(const Params&, const DeviceInfo&) const { return {}; }

std::vector<LaunchShape> ImplBase::launch_shapes(std::string_view, const Params&) const { return {}; }

std::string ImplBase::build_options(std::string_view, const Params& params) const { return params.defines(); }

}  // namespace ellesmere::ops
