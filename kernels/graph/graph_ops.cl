// The model graph's auxiliary layers: elementwise (ReLU/Clip, broadcast Add, bias + activation, per-channel affine),
// pooling, softmax, layout changes (transpose, im2col for integer convolution), fp16 conversions and the integer
// requantization the QLinear ops need. Used by the pipeline's executor (src/pipeline/graph_kernels.cpp), which
// launches every kernel here over a 1-D range of outputs, one output element per work-item (guarded against the
// rounded-up global size), with no local memory: correct for any work-group size. Remainders are computed by
// subtraction from the quotient: the div/rem pairs clang turns into `freeze` are not supported by oclgrind 21.10. These layers move little data
// next to the GEMMs and convolutions; they are written for clarity, not tuned.
// Defines: ELEM, the element type of the typed kernels (float by default; uchar, char or int for the integer
// tensors of quantized models). Layouts are row-major (NCHW for images).
#pragma OPENCL FP_CONTRACT OFF

#ifndef ELEM
#define ELEM float   // element type of relu_clip, add_broadcast, max_pool (a problem define)
#endif
#ifndef ELEM_IS_FLOAT
#define ELEM_IS_FLOAT 1   // 1 when ELEM is float (clip bounds compare as float); 0 for the integer types
#endif

#define ACT_NONE 0
#define ACT_CLIP 1   // ReLU is clip(0, +inf)

// y = clip(x, lo, hi); NaN stays NaN (comparisons with NaN are false), as ONNX's Relu and Clip keep it.
__kernel void relu_clip(__global const ELEM* x, __global ELEM* y, int n, float lo, float hi) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const ELEM v = x[i];
#if ELEM_IS_FLOAT
  y[i] = v < lo ? lo : (v > hi ? hi : v);
#else
  const float f = (float)v;
  y[i] = f < lo ? (ELEM)lo : (f > hi ? (ELEM)hi : v);
#endif
}

// Output index i -> flat indices into a and b under numpy broadcasting. meta holds rank output dims, then rank
// strides of a, then rank strides of b (0 where that operand is broadcast along the dimension).
inline void broadcast_index(int i, int rank, __global const int* meta, int* ia, int* ib) {
  int a = 0, b = 0;
  for (int d = rank - 1; d >= 0; --d) {
    const int dim = meta[d];
    const int q = i / dim;
    const int idx = i - q * dim;
    i = q;
    a += idx * meta[rank + d];
    b += idx * meta[2 * rank + d];
  }
  *ia = a;
  *ib = b;
}

// y = a + b with numpy broadcasting (integer types wrap, as numpy's do).
__kernel void add_broadcast(__global const ELEM* a, __global const ELEM* b, __global ELEM* y, int n, int rank,
                            __global const int* meta) {
  const int i = get_global_id(0);
  if (i >= n) return;
  int ia, ib;
  broadcast_index(i, rank, meta, &ia, &ib);
  y[i] = a[ia] + b[ib];
}

// y = scale * c broadcast to y's shape (Gemm's beta * C before the product is accumulated onto it). meta as above,
// with c as operand a (operand b unused).
__kernel void broadcast_scaled(__global const float* c, __global float* y, int n, int rank, __global const int* meta,
                               float scale) {
  const int i = get_global_id(0);
  if (i >= n) return;
  int ic, unused;
  broadcast_index(i, rank, meta, &ic, &unused);
  y[i] = scale * c[ic];
}

// y[r, c] = act(y[r, c] + bias[c]) over rows x cols, in place: the epilogue of a GEMM without one of its own.
__kernel void bias_act_rows(__global float* y, __global const float* bias, int rows, int cols, int has_bias,
                            int act, float lo, float hi) {
  const int i = get_global_id(0);
  if (i >= rows * cols) return;
  float v = y[i];
  if (has_bias) v += bias[i - (i / cols) * cols];
  if (act == ACT_CLIP) v = v < lo ? lo : (v > hi ? hi : v);
  y[i] = v;
}

// y = x * scale[c] + shift[c], c = (i / inner) % channels: BatchNormalization that no Conv or Gemm absorbed.
__kernel void channel_affine(__global const float* x, __global float* y, __global const float* scale,
                             __global const float* shift, int n, int channels, int inner) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int line = i / inner;
  const int c = line - (line / channels) * channels;
  y[i] = x[i] * scale[c] + shift[c];
}

// 2-D max pooling over planes = N x C images of H x W (1-D pooling is H = 1). Padding never wins.
__kernel void max_pool(__global const ELEM* x, __global ELEM* y, int planes, int h, int w, int oh, int ow, int kh,
                       int kw, int sh, int sw, int pt, int pl, int dh, int dw) {
  const int i = get_global_id(0);
  if (i >= planes * oh * ow) return;
  const int row = i / ow, p = row / oh;
  const int ox = i - row * ow, oy = row - p * oh;
  const int y0 = oy * sh - pt, x0 = ox * sw - pl;
  __global const ELEM* plane = x + p * h * w;
  ELEM best = 0;
  int found = 0;
  for (int ky = 0; ky < kh; ++ky) {
    const int iy = y0 + ky * dh;
    if (iy < 0 || iy >= h) continue;
    for (int kx = 0; kx < kw; ++kx) {
      const int ix = x0 + kx * dw;
      if (ix < 0 || ix >= w) continue;
      const ELEM v = plane[iy * w + ix];
#if ELEM_IS_FLOAT
      // NaN propagates: the first NaN seen is kept (v > NaN and NaN > v are both false).
      if (!found || v > best || isnan(v)) {
        if (!(found && isnan(best))) best = v;
      }
#else
      if (!found || v > best) best = v;
#endif
      found = 1;
    }
  }
  y[i] = best;
}

// 2-D average pooling. The divisor counts the window's positions inside the input, or with count_include_pad also
// those in the explicit padding (never positions past it, which ceil_mode can add).
__kernel void average_pool(__global const float* x, __global float* y, int planes, int h, int w, int oh, int ow,
                           int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int count_include_pad) {
  const int i = get_global_id(0);
  if (i >= planes * oh * ow) return;
  const int row = i / ow, p = row / oh;
  const int ox = i - row * ow, oy = row - p * oh;
  const int y0 = oy * sh - pt, x0 = ox * sw - pl;
  __global const float* plane = x + p * h * w;
  float sum = 0.0f;
  int count = 0;
  for (int ky = 0; ky < kh; ++ky) {
    const int iy = y0 + ky;
    if (iy < -pt || iy >= h + pb) continue;
    for (int kx = 0; kx < kw; ++kx) {
      const int ix = x0 + kx;
      if (ix < -pl || ix >= w + pr) continue;
      const int inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
      if (inside) sum += plane[iy * w + ix];
      if (inside || count_include_pad) ++count;
    }
  }
  y[i] = count > 0 ? sum / (float)count : 0.0f;
}

// y[p] = mean of plane p (hw elements).
__kernel void global_average_pool(__global const float* x, __global float* y, int planes, int hw) {
  const int p = get_global_id(0);
  if (p >= planes) return;
  __global const float* plane = x + p * hw;
  float sum = 0.0f;
  for (int j = 0; j < hw; ++j) sum += plane[j];
  y[p] = sum / (float)hw;
}

// Softmax along an axis of length len: the tensor viewed as outer x len x inner, one work-item per (outer, inner)
// line. The maximum is subtracted first, so large inputs do not overflow.
__kernel void softmax_axis(__global const float* x, __global float* y, int outer, int len, int inner) {
  const int i = get_global_id(0);
  if (i >= outer * inner) return;
  const int o = i / inner, in = i - o * inner;
  __global const float* line = x + o * len * inner + in;
  __global float* out = y + o * len * inner + in;
  float m = line[0];
  for (int j = 1; j < len; ++j) m = fmax(m, line[j * inner]);
  float sum = 0.0f;
  for (int j = 0; j < len; ++j) sum += exp(line[j * inner] - m);
  for (int j = 0; j < len; ++j) out[j * inner] = exp(line[j * inner] - m) / sum;
}

// fp32 <-> fp16 storage (round to nearest even), for the FP16 convolution layers of a float graph.
__kernel void f32_to_f16(__global const float* x, __global half* y, int n) {
  const int i = get_global_id(0);
  if (i < n) vstore_half_rte(x[i], i, y);
}

__kernel void f16_to_f32(__global const half* x, __global float* y, int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = vload_half(i, x);
}

// y[b][c][r] = x[b][r][c] for batch planes of rows x cols 4-byte elements (float or int: bits are copied).
__kernel void transpose_planes(__global const uint* x, __global uint* y, int batch, int rows, int cols) {
  const int i = get_global_id(0);
  if (i >= batch * rows * cols) return;
  const int rc = i / rows, b = rc / cols;
  const int r = i - rc * rows, c = rc - b * cols;
  y[i] = x[(b * rows + r) * cols + c];
}

// Batched fp32 matmul for products of two computed tensors (MatMul without a constant operand): y[b] = a[b] x b[b],
// a[b] M x K at a_off[b], b[b] K x N at b_off[b] (offsets in elements, repeated for broadcast batches).
__kernel void matmul_batched(__global const float* a, __global const float* b, __global float* y, int batch, int m,
                             int n, int k, __global const int* a_off, __global const int* b_off) {
  const int i = get_global_id(0);
  if (i >= batch * m * n) return;
  const int rm = i / n, bi = rm / m;
  const int col = i - rm * n, row = rm - bi * m;
  __global const float* ar = a + a_off[bi] + row * k;
  __global const float* bc = b + b_off[bi] + col;
  float sum = 0.0f;
  for (int j = 0; j < k; ++j) sum += ar[j] * bc[j * n];
  y[i] = sum;
}

// im2col for integer convolution of one image and one group: col[p][(ci * kh + ky) * kw + kx] = x[c0 + ci][iy][ix],
// or pad where the window leaves the image (the input's zero point, which stands for 0.0). Bytes are copied as they
// are (u8 or i8). p = oy * ow + ox.
__kernel void im2col_bytes(__global const uchar* x, __global uchar* col, int x_offset, int c0, int cg, int h, int w,
                           int oh, int ow, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw, uchar pad) {
  const int i = get_global_id(0);
  const int kk = cg * kh * kw;
  if (i >= oh * ow * kk) return;
  const int p = i / kk, j = i - p * kk;
  const int jr = j / kw, ci = jr / kh;
  const int kx = j - jr * kw, ky = jr - ci * kh;
  const int oy = p / ow, ox = p - oy * ow;
  const int iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
  col[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[x_offset + ((c0 + ci) * h + iy) * w + ix] : pad;
}

// QLinearConv's output stage for one image and group: acc is P x KG int32 (output positions x channels of the
// group); y[y_offset + (k0 + k) * P + p] = saturate(rint((acc + bias[k0 + k]) * factor[k0 + k]) + zero_point), the
// sum exact (64-bit), the float steps in this order without contraction, as the host reference does. out_signed:
// int8 output, else uint8.
__kernel void requantize_to_planes(__global const int* acc, __global uchar* y, int y_offset, int p_count, int kg,
                                   int k0, __global const int* bias, int has_bias, __global const float* factor,
                                   int zero_point, int out_signed) {
  const int i = get_global_id(0);
  if (i >= p_count * kg) return;
  const int k = i / p_count, p = i - k * p_count;
  // The sum in 64 bits: ONNX gives the accumulator and the bias as int32, and an extreme bias takes their sum beyond
  // int32's range (undefined in C). Within that range, (float) of the long rounds exactly as (float) of the int.
  long v = (long)acc[p * kg + k];
  if (has_bias) v += (long)bias[k0 + k];
  const float r = rint((float)v * factor[k0 + k]) + (float)zero_point;
  const float lo = out_signed ? -128.0f : 0.0f, hi = out_signed ? 127.0f : 255.0f;
  const int q = (int)fmin(fmax(r, lo), hi);
  y[y_offset + (k0 + k) * p_count + p] = (uchar)(q & 0xff);
}

// ConvInteger's output stage: y[y_offset + (k0 + k) * P + p] = acc[p][k] (int32).
__kernel void int_to_planes(__global const int* acc, __global int* y, int y_offset, int p_count, int kg, int k0) {
  const int i = get_global_id(0);
  if (i >= p_count * kg) return;
  const int k = i / p_count, p = i - k * p_count;
  y[y_offset + (k0 + k) * p_count + p] = acc[p * kg + k];
}

// Converts a computed tensor between types: integers to float exactly (int32 rounds to nearest), float to int32
// truncating toward zero (saturating, as convert_int_sat_rtz does).
__kernel void cast_to_float(__global const ELEM* x, __global float* y, int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = (float)x[i];
}
