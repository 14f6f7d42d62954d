// Launch wrappers of kernels/graph/graph_ops.cl (graph_kernels.hpp).
#include "pipeline/graph_kernels.hpp"

#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::pipeline::gk {

namespace {

constexpr const char* kFile = "graph/graph_ops.cl";
constexpr std::size_t kGroup = 64;   // one wavefront on GCN; any size is correct (every kernel is guarded)

cl_int i32(std::int64_t v, const char* kernel) {
  if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument(fmt::format("graph kernel {}: size {} does not fit 32-bit indexing", kernel, v));
  }
  return cl_int(v);
}

std::string elem_options(ElemType type) {
  switch (type) {
    case ElemType::f32: return "";
    case ElemType::u8: return "-DELEM=uchar -DELEM_IS_FLOAT=0";
    case ElemType::i8: return "-DELEM=char -DELEM_IS_FLOAT=0";
    case ElemType::i32: return "-DELEM=int -DELEM_IS_FLOAT=0";
    default: throw NotSupported(fmt::format("graph kernels: element type {} on the device", elem_type_name(type)));
  }
}

template <class... Args>
EventList launch(Context& ctx, const char* kernel, const std::string& options, std::int64_t items,
                 const Args&... args) {
  auto& impl = ctx.impl();
  cl::Kernel& k = impl.kernel(kFile, kernel, options);
  detail::set_args(k, kernel, args...);
  EventList events;
  if (items == 0) return events;
  const std::size_t global = (std::size_t(items) + kGroup - 1) / kGroup * kGroup;
  detail::track(events, impl.launch(k, cl::NDRange(global), cl::NDRange(kGroup), kernel));
  return events;
}

}  // namespace

EventList relu_clip(Context& ctx, ElemType type, cl_mem x, cl_mem y, std::int64_t n, float lo, float hi) {
  return launch(ctx, "relu_clip", elem_options(type), n, x, y, i32(n, "relu_clip"), lo, hi);
}

EventList add_broadcast(Context& ctx, ElemType type, cl_mem a, cl_mem b, cl_mem y, std::int64_t n, int rank,
                        cl_mem meta) {
  return launch(ctx, "add_broadcast", elem_options(type), n, a, b, y, i32(n, "add_broadcast"), cl_int(rank), meta);
}

EventList broadcast_scaled(Context& ctx, cl_mem c, cl_mem y, std::int64_t n, int rank, cl_mem meta, float scale) {
  return launch(ctx, "broadcast_scaled", "", n, c, y, i32(n, "broadcast_scaled"), cl_int(rank), meta, scale);
}

std::vector<std::int32_t> broadcast_meta(const Shape& y, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max<std::size_t>(y.size(), 1);
  std::vector<std::int32_t> meta(3 * rank, 0);
  auto strides = [&](const Shape& s, std::size_t at) {
    std::int64_t stride = 1;
    for (std::size_t d = rank; d-- > 0;) {
      const std::size_t off = rank - s.size();
      if (d < off) continue;   // a missing leading dimension broadcasts
      const std::int64_t dim = s[d - off];
      meta[at + d] = dim == 1 ? 0 : std::int32_t(stride);
      stride *= dim;
    }
  };
  for (std::size_t d = 0; d < rank; ++d) meta[d] = y.empty() ? 1 : std::int32_t(y[d]);
  strides(a, rank);
  strides(b, 2 * rank);
  return meta;
}

EventList bias_act_rows(Context& ctx, cl_mem y, cl_mem bias, std::int64_t rows, std::int64_t cols, bool clip,
                        float lo, float hi) {
  const std::int64_t n = rows * cols;
  i32(n, "bias_act_rows");
  return launch(ctx, "bias_act_rows", "", n, y, bias != nullptr ? bias : y, i32(rows, "bias_act_rows"),
                i32(cols, "bias_act_rows"), cl_int(bias != nullptr), cl_int(clip ? 1 : 0), lo, hi);
}

EventList channel_affine(Context& ctx, cl_mem x, cl_mem y, cl_mem scale, cl_mem shift, std::int64_t n,
                         std::int64_t channels, std::int64_t inner) {
  return launch(ctx, "channel_affine", "", n, x, y, scale, shift, i32(n, "channel_affine"),
                i32(channels, "channel_affine"), i32(inner, "channel_affine"));
}

EventList max_pool(Context& ctx, ElemType type, cl_mem x, cl_mem y, std::int64_t planes, std::int64_t h,
                   std::int64_t w, const ConvGeometry& g) {
  const std::int64_t n = planes * g.out_h * g.out_w;
  const char* k = "max_pool";
  i32(planes * h * w, k);
  return launch(ctx, k, elem_options(type), n, x, y, i32(planes, k), i32(h, k), i32(w, k), i32(g.out_h, k),
                i32(g.out_w, k), i32(g.kernel_h, k), i32(g.kernel_w, k), i32(g.stride_h, k), i32(g.stride_w, k),
                i32(g.pad_top, k), i32(g.pad_left, k), i32(g.dil_h, k), i32(g.dil_w, k));
}

EventList average_pool(Context& ctx, cl_mem x, cl_mem y, std::int64_t planes, std::int64_t h, std::int64_t w,
                       const ConvGeometry& g, bool count_include_pad) {
  const std::int64_t n = planes * g.out_h * g.out_w;
  const char* k = "average_pool";
  i32(planes * h * w, k);
  if (g.dil_h != 1 || g.dil_w != 1) throw NotSupported("AveragePool with dilations is not supported");
  return launch(ctx, k, "", n, x, y, i32(planes, k), i32(h, k), i32(w, k), i32(g.out_h, k), i32(g.out_w, k),
                i32(g.kernel_h, k), i32(g.kernel_w, k), i32(g.stride_h, k), i32(g.stride_w, k), i32(g.pad_top, k),
                i32(g.pad_left, k), i32(g.pad_bottom, k), i32(g.pad_right, k), cl_int(count_include_pad));
}

EventList global_average_pool(Context& ctx, cl_mem x, cl_mem y, std::int64_t planes, std::int64_t hw) {
  i32(planes * hw, "global_average_pool");
  return launch(ctx, "global_average_pool", "", planes, x, y, i32(planes, "global_average_pool"),
                i32(hw, "global_average_pool"));
}

EventList softmax(Context& ctx, cl_mem x, cl_mem y, std::int64_t outer, std::int64_t len, std::int64_t inner) {
  i32(outer * len * inner, "softmax_axis");
  return launch(ctx, "softmax_axis", "", outer * inner, x, y, i32(outer, "softmax_axis"), i32(len, "softmax_axis"),
                i32(inner, "softmax_axis"));
}

EventList f32_to_f16(Context& ctx, cl_mem x, cl_mem y, std::int64_t n) {
  return launch(ctx, "f32_to_f16", "", n, x, y, i32(n, "f32_to_f16"));
}

EventList f16_to_f32(Context& ctx, cl_mem x, cl_mem y, std::int64_t n) {
  return launch(ctx, "f16_to_f32", "", n, x, y, i32(n, "f16_to_f32"));
}

EventList transpose_planes(Context& ctx, cl_mem x, cl_mem y, std::int64_t batch, std::int64_t rows,
                           std::int64_t cols) {
  const std::int64_t n = batch * rows * cols;
  return launch(ctx, "transpose_planes", "", n, x, y, i32(batch, "transpose_planes"), i32(rows, "transpose_planes"),
                i32(cols, "transpose_planes"));
}

EventList matmul_batched(Context& ctx, cl_mem a, cl_mem b, cl_mem y, std::int64_t batch, std::int64_t m,
                         std::int64_t n, std::int64_t k, cl_mem a_off, cl_mem b_off) {
  const char* kn = "matmul_batched";
  i32(batch * m * n, kn);
  return launch(ctx, kn, "", batch * m * n, a, b, y, i32(batch, kn), i32(m, kn), i32(n, kn), i32(k, kn), a_off,
                b_off);
}

EventList im2col_bytes(Context& ctx, cl_mem x, cl_mem col, std::int64_t x_offset, std::int64_t c0, std::int64_t cg,
                       std::int64_t h, std::int64_t w, const ConvGeometry& g, std::uint8_t pad) {
  const char* k = "im2col_bytes";
  const std::int64_t n = g.out_h * g.out_w * cg * g.kernel_h * g.kernel_w;
  i32(n, k);
  return launch(ctx, k, "", n, x, col, i32(x_offset, k), i32(c0, k), i32(cg, k), i32(h, k), i32(w, k),
                i32(g.out_h, k), i32(g.out_w, k), i32(g.kernel_h, k), i32(g.kernel_w, k), i32(g.stride_h, k),
                i32(g.stride_w, k), i32(g.pad_top, k), i32(g.pad_left, k), i32(g.dil_h, k), i32(g.dil_w, k),
                cl_uchar(pad));
}

EventList requantize_to_planes(Context& ctx, cl_mem acc, cl_mem y, std::int64_t y_offset, std::int64_t p_count,
                               std::int64_t kg, std::int64_t k0, cl_mem bias, cl_mem factor, std::int32_t zero_point,
                               bool out_signed) {
  const char* k = "requantize_to_planes";
  return launch(ctx, k, "", p_count * kg, acc, y, i32(y_offset, k), i32(p_count, k), i32(kg, k), i32(k0, k),
                bias != nullptr ? bias : factor, cl_int(bias != nullptr), factor, cl_int(zero_point),
                cl_int(out_signed));
}

EventList int_to_planes(Context& ctx, cl_mem acc, cl_mem y, std::int64_t y_offset, std::int64_t p_count,
                        std::int64_t kg, std::int64_t k0) {
  const char* k = "int_to_planes";
  return launch(ctx, k, "", p_count * kg, acc, y, i32(y_offset, k), i32(p_count, k), i32(kg, k), i32(k0, k));
}

EventList cast_to_float(Context& ctx, ElemType from, cl_mem x, cl_mem y, std::int64_t n) {
  return launch(ctx, "cast_to_float", elem_options(from), n, x, y, i32(n, "cast_to_float"));
}

}  // namespace ellesmere::pipeline::gk
