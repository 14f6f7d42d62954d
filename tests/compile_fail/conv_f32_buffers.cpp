// Compiled, never linked, by the tests unit.compile_fail_conv_f32_buffers (must fail with conv2d_f16's message) and
// unit.compile_fail_conv_f32_buffers_control (ELLESMERE_CONTROL: the same call on halves, must compile), so that the
// first fails for the reason it claims.
#include <cstdint>

#include "ellesmere/ops.hpp"

namespace ellesmere {

EventList call(Context& ctx, const ConvProblem& p) {
#ifdef ELLESMERE_CONTROL
  Buffer<std::uint16_t> x(ctx, 1), w(ctx, 1), y(ctx, 1);
#else
  Buffer<float> x(ctx, 1), w(ctx, 1), y(ctx, 1);   // fp32 data passed where halves are expected
#endif
  return conv2d_f16(ctx, p, x, w, y);
}

}  // namespace ellesmere
