// Launches of the model graph's auxiliary kernels (kernels/graph/graph_ops.cl): the one place their arguments are
// set. Each enqueues on the context's queue and returns the kernel's event; sizes are element counts and must fit
// the kernels' 32-bit indexing (checked: InvalidArgument naming the layer). Internal to the pipeline's executor.
#pragma once

#include <cstdint>
#include <string>

#include "ellesmere/device.hpp"
#include "pipeline/graph.hpp"

namespace ellesmere::pipeline::gk {

EventList relu_clip(Context& ctx, ElemType type, cl_mem x, cl_mem y, std::int64_t n, float lo, float hi);
// meta: rank dims of y, rank strides of a, rank strides of b (as broadcast_meta builds).
EventList add_broadcast(Context& ctx, ElemType type, cl_mem a, cl_mem b, cl_mem y, std::int64_t n, int rank,
                        cl_mem meta);
EventList broadcast_scaled(Context& ctx, cl_mem c, cl_mem y, std::int64_t n, int rank, cl_mem meta, float scale);
// The int32 meta array of add_broadcast for output shape y and operand shapes a, b (rank at least 1).
std::vector<std::int32_t> broadcast_meta(const Shape& y, const Shape& a, const Shape& b);
EventList bias_act_rows(Context& ctx, cl_mem y, cl_mem bias, std::int64_t rows, std::int64_t cols, bool clip,
                        float lo, float hi);
EventList channel_affine(Context& ctx, cl_mem x, cl_mem y, cl_mem scale, cl_mem shift, std::int64_t n,
                         std::int64_t channels, std::int64_t inner);
EventList max_pool(Context& ctx, ElemType type, cl_mem x, cl_mem y, std::int64_t planes, std::int64_t h,
                   std::int64_t w, const ConvGeometry& g);
EventList average_pool(Context& ctx, cl_mem x, cl_mem y, std::int64_t planes, std::int64_t h, std::int64_t w,
                       const ConvGeometry& g, bool count_include_pad);
EventList global_average_pool(Context& ctx, cl_mem x, cl_mem y, std::int64_t planes, std::int64_t hw);
EventList softmax(Context& ctx, cl_mem x, cl_mem y, std::int64_t outer, std::int64_t len, std::int64_t inner);
EventList f32_to_f16(Context& ctx, cl_mem x, cl_mem y, std::int64_t n);
EventList f16_to_f32(Context& ctx, cl_mem x, cl_mem y, std::int64_t n);
EventList transpose_planes(Context& ctx, cl_mem x, cl_mem y, std::int64_t batch, std::int64_t rows,
                           std::int64_t cols);
EventList matmul_batched(Context& ctx, cl_mem a, cl_mem b, cl_mem y, std::int64_t batch, std::int64_t m,
                         std::int64_t n, std::int64_t k, cl_mem a_off, cl_mem b_off);
EventList im2col_bytes(Context& ctx, cl_mem x, cl_mem col, std::int64_t x_offset, std::int64_t c0, std::int64_t cg,
                       std::int64_t h, std::int64_t w, const ConvGeometry& g, std::uint8_t pad);
EventList requantize_to_planes(Context& ctx, cl_mem acc, cl_mem y, std::int64_t y_offset, std::int64_t p_count,
                               std::int64_t kg, std::int64_t k0, cl_mem bias, cl_mem factor, std::int32_t zero_point,
                               bool out_signed);
EventList int_to_planes(Context& ctx, cl_mem acc, cl_mem y, std::int64_t y_offset, std::int64_t p_count,
                        std::int64_t kg, std::int64_t k0);
EventList cast_to_float(Context& ctx, ElemType from, cl_mem x, cl_mem y, std::int64_t n);

}  // namespace ellesmere::pipeline::gk
