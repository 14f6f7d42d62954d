// Vector-width helpers for kernels whose vector width VW is a tunable: the same kernel serves PoCL (VW=8/16, so
// the CPU gets SIMD code) and GCN (VW=1..4, each work-item being one SIMD lane). Included by kernels/**/*.cl.
#ifndef ELLESMERE_COMMON_VECTOR_H
#define ELLESMERE_COMMON_VECTOR_H

#define ELLESMERE_CAT_(a, b) a##b
#define ELLESMERE_CAT(a, b) ELLESMERE_CAT_(a, b)

// VEC(float, 4) -> float4; VEC(float, 1) -> float. VLOAD(VW) / VSTORE(VW) name vloadN / vstoreN.
#define VEC_1(t) t
#define VEC_2(t) ELLESMERE_CAT(t, 2)
#define VEC_4(t) ELLESMERE_CAT(t, 4)
#define VEC_8(t) ELLESMERE_CAT(t, 8)
#define VEC_16(t) ELLESMERE_CAT(t, 16)
#define VEC(t, n) ELLESMERE_CAT(VEC_, n)(t)
// CONVERT(int, 4)(x) -> convert_int4(x); CONVERT(int, 1)(x) -> convert_int(x).
#define CONVERT(t, n) ELLESMERE_CAT(convert_, VEC(t, n))

#define VLOAD_1(off, p) ((p)[off])
#define VLOAD_2(off, p) vload2(off, p)
#define VLOAD_4(off, p) vload4(off, p)
#define VLOAD_8(off, p) vload8(off, p)
#define VLOAD_16(off, p) vload16(off, p)
#define VLOAD(n) ELLESMERE_CAT(VLOAD_, n)

#define VSTORE_1(v, off, p) ((p)[off] = (v))
#define VSTORE_2(v, off, p) vstore2(v, off, p)
#define VSTORE_4(v, off, p) vstore4(v, off, p)
#define VSTORE_8(v, off, p) vstore8(v, off, p)
#define VSTORE_16(v, off, p) vstore16(v, off, p)
#define VSTORE(n) ELLESMERE_CAT(VSTORE_, n)

#endif
