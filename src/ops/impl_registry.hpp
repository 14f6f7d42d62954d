// Every Impl of every op, for the code that walks them all generically: the polaris limit check, the kernel
// compile test, the tuner and `ellesmere` listings. A new op adds its list in impl_registry.cpp.
#pragma once

#include <vector>

#include "ops/impl.hpp"

namespace ellesmere::ops {

std::vector<const ImplBase*> all_impls();
const ImplBase* find_impl(std::string_view name);   // nullptr if unknown

}  // namespace ellesmere::ops
