// Operand checks shared by the op entry points.
#include "ops/operand_check.hpp"

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "runtime/cl.hpp"

namespace ellesmere::ops {

void check_operand(const Context& context, std::string_view problem, std::string_view operand, cl_mem handle,
                   std::size_t have, std::uint64_t need, std::string_view what) {
  if (need == 0) return;
  if (handle == nullptr || have == 0) {
    throw InvalidArgument(fmt::format("{}: {} is an empty buffer (moved-from or never allocated) but needs {} = {}",
                                      problem, operand, what, need));
  }
  if (have < need) {
    throw InvalidArgument(fmt::format("{}: {} holds {} elements but needs {} = {}", problem, operand, have, what,
                                      need));
  }
  cl_context owner = nullptr;
  runtime::check(clGetMemObjectInfo(handle, CL_MEM_CONTEXT, sizeof owner, &owner, nullptr), "clGetMemObjectInfo",
                 fmt::format("{} operand {}", problem, operand));
  if (owner != context.cl_context_handle()) {
    throw InvalidArgument(fmt::format("{}: {} was allocated on another Context; buffers must belong to the Context "
                                      "the op runs on",
                                      problem, operand));
  }
}

}  // namespace ellesmere::ops
