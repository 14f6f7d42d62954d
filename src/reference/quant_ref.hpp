// ellesmere_reference: ONNX QuantizeLinear / DequantizeLinear written as the plainest loop, for the tests of
// src/quant and of the device quantize/dequantize kernels. Independent of src/quant/quantize.cpp on purpose.
#pragma once

#include <cstdint>
#include <span>

#include "ellesmere/quant.hpp"

namespace ellesmere::reference {

// y[i] = saturate(rint(x[i] / scale[c]) + zero_point[c]), c = (i / inner) % channels (c = 0 per-tensor), inner =
// product of shape[axis+1:]; the division in float32, rint half to even (needs the default rounding mode, else
// throws Error). NaN -> zero point, +-inf -> the type's max/min. y holds raw bytes (i8 as two's complement).
// Checks only what would make the loop read or write out of bounds, or wrap channels silently; params are used
// as given (validate them with QuantParams::validate when that matters).
void quantize_ref(std::span<const float> x, std::span<const std::int64_t> shape, const QuantParams& params,
                  std::span<std::uint8_t> y);

// x[i] = (q[i] - zero_point[c]) * scale[c], with the product formed in double (exact: a 9-bit integer times a
// 24-bit scale) and rounded once to float32, which is what ONNX's float32 formula gives.
void dequantize_ref(std::span<const std::uint8_t> q, std::span<const std::int64_t> shape, const QuantParams& params,
                    std::span<float> x);

}  // namespace ellesmere::reference
