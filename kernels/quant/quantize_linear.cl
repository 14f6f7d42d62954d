// quantize_linear / dequantize_linear: ONNX QuantizeLinear and DequantizeLinear, elementwise, per-tensor or
// per-channel. Used by the Impls in src/ops/quant/quantize_ops.cpp; bit-exact with the host's quantize_linear,
// whose x / scale is a correctly rounded float32 division: the Impl builds with
// -cl-fp32-correctly-rounded-divide-sqrt where the device supports it, else with DIVIDE_IN_DOUBLE=1 where it has
// fp64 (a double quotient rounded to float is the correctly rounded float quotient: 53 >= 2 * 24 + 2 bits makes
// the double rounding innocuous), else plain float division (OpenCL allows 2.5 ulp; the Impl warns).
// Layout: flat arrays of n elements; the channel of element i is (i / inner) % channels (channels = 1: per
// tensor). One element per work-item.
#pragma OPENCL FP_CONTRACT OFF

#include "ellesmere/formats/int8_gemm.h"

#ifndef QTYPE
#define QTYPE ELLESMERE_QTYPE_U8   // the quantized type (a problem define)
#endif
#ifndef DIVIDE_IN_DOUBLE
#define DIVIDE_IN_DOUBLE 0         // 1: x / scale in double, rounded to float (a device define, needs cl_khr_fp64)
#endif

#if DIVIDE_IN_DOUBLE
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#else
#error "DIVIDE_IN_DOUBLE needs cl_khr_fp64"
#endif
#endif

#if QTYPE == ELLESMERE_QTYPE_I8
#define QMIN (-128.0f)
#define QMAX 127.0f
#define QVALUE(byte) ((float)(char)(byte))
#define QBYTE(q) ((uchar)(char)(q))
#else
#define QMIN 0.0f
#define QMAX 255.0f
#define QVALUE(byte) ((float)(byte))
#define QBYTE(q) ((uchar)(q))
#endif

// q = saturate(rint(x / scale) + zero_point); NaN -> zero point; +-inf saturate (as the host's quantize_linear).
__kernel void quantize_linear(__global const float* restrict x, __global uchar* restrict y, const int n,
                              __global const float* restrict scales, __global const int* restrict zero_points,
                              const int channels, const int inner) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = channels == 1 ? 0 : (i / inner) % channels;
  const float v = x[i];
  const float zp = (float)zero_points[c];
#if DIVIDE_IN_DOUBLE
  const float quotient = (float)((double)v / (double)scales[c]);
#else
  const float quotient = v / scales[c];
#endif
  float q = isnan(v) ? zp : rint(quotient) + zp;
  q = clamp(q, QMIN, QMAX);
  y[i] = QBYTE(q);
}

// x = (float(q) - float(zero_point)) * scale.
__kernel void dequantize_linear(__global const uchar* restrict q, __global float* restrict x, const int n,
                                __global const float* restrict scales, __global const int* restrict zero_points,
                                const int channels, const int inner) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int c = channels == 1 ? 0 : (i / inner) % channels;
  x[i] = (QVALUE(q[i]) - (float)zero_points[c]) * scales[c];
}
