// Checks every op entry point makes on its device buffers before launching: large enough, not empty or
// moved-from, and allocated on the Context the op runs on (a foreign cl_mem is undefined behaviour in OpenCL).
#pragma once

#include <cstdint>
#include <string_view>

#include "ellesmere/device.hpp"

namespace ellesmere::ops {

// Throws InvalidArgument naming problem and operand when buffer cannot hold need elements or is not context's.
void check_operand(const Context& context, std::string_view problem, std::string_view operand, cl_mem handle,
                   std::size_t have, std::uint64_t need, std::string_view what);

template <class T>
void check_operand(const Context& context, std::string_view problem, std::string_view operand,
                   const Buffer<T>& buffer, std::uint64_t need, std::string_view what) {
  check_operand(context, problem, operand, buffer.handle(), buffer.size(), need, what);
}

}  // namespace ellesmere::ops
