// MULADD(a, b, c) = a*b + c with defined accuracy: fma() (one rounding) where the device has it in hardware
// (FP_FAST_FMAF, or ELLESMERE_FAST_FMA, which the runtime defines from CL_FP_FMA: GCN, x86 with FMA3), else a
// separate multiply and add (two roundings). Never mad(), whose accuracy OpenCL 1.x leaves to the driver.
// Included by kernels/**/*.cl.
#ifndef ELLESMERE_COMMON_MULADD_H
#define ELLESMERE_COMMON_MULADD_H

#if defined(FP_FAST_FMAF) || defined(ELLESMERE_FAST_FMA)
#define MULADD(a, b, c) fma((a), (b), (c))
#else
#define MULADD(a, b, c) ((a) * (b) + (c))
#endif

#endif
