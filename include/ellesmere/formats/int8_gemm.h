/* INT8 GEMM formats, defined once for the C++ packer (src/ops/gemm_i8/) and the OpenCL kernels
   (kernels/gemm/gemm_i8_*.cl include it as "ellesmere/formats/int8_gemm.h"). Plain C: valid C, C++ and
   OpenCL C 1.1.

   Packed weights. B is K x N (logical: C = A * B, A is M x K). It is stored as 32-bit words, K padded with zero
   bytes to a multiple of 4: word (k4, n), at index k4 * N + n, holds B[4*k4 + j][n] in byte j (bits 8j..8j+7,
   j = 0..3). Neighbouring work-items (consecutive n) read neighbouring words, so GEMM tile loads and GEMV streams
   are both coalesced, and one 32-bit load brings four k values (GCN unpacks them with v_bfe). Column sums
   sum_k B[k][n] (raw values, int32) are computed once at packing time for the zero-point correction
       sum_k (a - za)(b - zb) = sum_k a*b - zb * sum_k a - za * sum_k b + K * za * zb.
   Padding bytes are 0 and contribute nothing to either sum. */
#ifndef ELLESMERE_FORMATS_INT8_GEMM_H
#define ELLESMERE_FORMATS_INT8_GEMM_H

#define ELLESMERE_I8_PACK_K 4 /* k values per packed word */

/* Quantized element types; the values of ellesmere::QuantType. */
#define ELLESMERE_QTYPE_U8 0
#define ELLESMERE_QTYPE_I8 1

/* Epilogues of the INT8 GEMM kernels; the values of ellesmere::GemmI8Epilogue::Kind. */
#define ELLESMERE_I8_EPILOGUE_INT32 0   /* C = the int32 accumulator (ONNX MatMulInteger) */
#define ELLESMERE_I8_EPILOGUE_REQUANT 1 /* C = saturate(rint(float(acc) * mult[n]) + y_zp) (QLinearMatMul) */
#define ELLESMERE_I8_EPILOGUE_DEQUANT 2 /* C = float(acc) * scale[n] (+ bias[n]) (, ReLU) (dynamic quant.) */

/* The largest K for which no int32 sum can overflow: K * 255 * 255 < 2^31. */
#define ELLESMERE_I8_MAX_K 33025

#ifdef __cplusplus
static_assert(ELLESMERE_I8_PACK_K * sizeof(unsigned char) == sizeof(unsigned int), "a packed word holds 4 bytes");
static_assert(ELLESMERE_I8_MAX_K * 255LL * 255LL < 2147483648LL, "ELLESMERE_I8_MAX_K keeps int32 sums exact");
static_assert((ELLESMERE_I8_MAX_K + 1) * 255LL * 255LL >= 2147483648LL, "ELLESMERE_I8_MAX_K is the largest such K");
#endif

#endif
