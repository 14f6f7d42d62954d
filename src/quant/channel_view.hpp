// The (outer, channels, inner) view of a tensor under QuantParams, with the checks every quantize/dequantize entry
// point makes (shape non-negative and without overflow, element counts, axis and channel count). Internal: used by
// the host quantize_linear (quantize.cpp) and the device one (src/ops/quant/quantize_ops.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ellesmere/quant.hpp"

namespace ellesmere::quant_detail {

struct ChannelView {
  std::size_t outer = 1;
  std::size_t channels = 1;   // 1 for per-tensor params
  std::size_t inner = 1;      // elements per channel slice; all elements for per-tensor params
};

// The product of shape; throws InvalidArgument (naming fn) on a negative dimension or overflow.
std::size_t element_count(const char* fn, std::span<const std::int64_t> shape);

// Validates params (errors say "<fn> params: ..."), checks that the input and output hold exactly the shape's
// element count, and returns the channel layout.
ChannelView channel_view(const char* fn, std::span<const std::int64_t> shape, const QuantParams& params,
                         std::size_t in_size, const char* in_name, std::size_t out_size, const char* out_name);

}  // namespace ellesmere::quant_detail
