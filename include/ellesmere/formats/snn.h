/* Spiking networks: the layout the SNN kernels (kernels/snn/snn_f32_event.cl) read and the host (src/snn/) builds,
   and the arithmetic both sides must do identically: the counter-based random numbers (Philox4x32-10), the
   exponential used by the conductance-based update, and the fixed-point synaptic accumulation. Plain C: valid C,
   C++ and OpenCL C 1.1. The host reference (src/reference/snn_ref.cpp) calls these same functions, so on a device
   with IEEE single precision (no fused multiply-add contraction, correctly rounded division) device and host agree
   bit for bit.

   Neurons of every population are numbered globally (population after population, in the network's order); a
   population is a range [start, start + size) of that numbering, and start is a multiple of ELLESMERE_SNN_ALIGN, so
   that a kernel's vector of up to that many neurons never straddles two populations. The numbers between one
   population's end and the next one's start are padding: updated like their population's neurons, but never
   spiking and never targeted by a synapse. State is structure-of-arrays over the global
   numbering: v, ge, gi, x (float), last_spike (int, the step of the last spike), cursor (int, spike-time sources).
   What ge, gi and x mean depends on the model (ELLESMERE_SNN_<MODEL> below).

   Synaptic input is accumulated in fixed point, acc[slot][target][neuron] as int32, with integer atomics: integer
   addition is associative, so the sum does not depend on the order in which spikes are propagated, and the result
   is the same bit for bit for any launch geometry and any run (float atomics would not be). A weight w reaching
   (population, target) is stored as round(w * 2^F) with F chosen per (population, target) so that the largest
   possible input of one step cannot overflow (src/snn/compile.cpp); the update adds float(acc) * 2^-F. */
#ifndef ELLESMERE_FORMATS_SNN_H
#define ELLESMERE_FORMATS_SNN_H

#define ELLESMERE_SNN_ALIGN 16         /* population starts (and the padded total) are multiples of this */

/* Models (pop_int[SNN_PI_MODEL]). */
#define ELLESMERE_SNN_LIF_EXP 0        /* v; ge, gi: exponentially decaying currents (mV); x unused */
#define ELLESMERE_SNN_LIF_COBA 1       /* v; ge, gi: conductances in units of the leak conductance; x unused */
#define ELLESMERE_SNN_IZHIKEVICH 2     /* v; ge, gi: currents (mV/ms units of the v equation); x = u */
#define ELLESMERE_SNN_LIF_ADAPTIVE 3   /* lif_exp with x = theta, the adaptive threshold offset (mV) */
#define ELLESMERE_SNN_POISSON 4        /* source: spikes with probability rate * dt each step */
#define ELLESMERE_SNN_SPIKE_TIMES 5    /* source: spikes at given steps; cursor = next entry of its schedule */

/* Integer fields of a population (pop_int[p * ELLESMERE_SNN_POP_INTS + field]). */
#define ELLESMERE_SNN_PI_START 0       /* first global neuron index */
#define ELLESMERE_SNN_PI_SIZE 1
#define ELLESMERE_SNN_PI_MODEL 2
#define ELLESMERE_SNN_PI_RECORD 3      /* 1: its spikes go to the spike record */
#define ELLESMERE_SNN_PI_REF_STEPS 4   /* absolute refractory period in steps */
#define ELLESMERE_SNN_POP_INTS 8

/* Float fields of a population (pop_f[p * ELLESMERE_SNN_POP_FLOATS + field]); constants derived on the host in
   double and rounded once to float, so the kernels need no division or exponential of parameters. */
#define ELLESMERE_SNN_PF_V_THRESH 0    /* threshold (mV); Izhikevich: the spike peak */
#define ELLESMERE_SNN_PF_V_RESET 1     /* reset (mV); Izhikevich: c */
#define ELLESMERE_SNN_PF_E_LEAK 2      /* resting / leak reversal potential (mV) */
#define ELLESMERE_SNN_PF_I_EXT 3       /* constant input (mV: R*I for the LIF models; Izhikevich: I) */
#define ELLESMERE_SNN_PF_DECAY_M 4     /* exp(-dt / tau_m) */
#define ELLESMERE_SNN_PF_DT_TAU_M 5    /* dt / tau_m */
#define ELLESMERE_SNN_PF_DECAY_E 6     /* exp(-dt / tau_e) */
#define ELLESMERE_SNN_PF_DECAY_I 7     /* exp(-dt / tau_i) */
#define ELLESMERE_SNN_PF_E_EXC 8       /* excitatory reversal potential (mV) */
#define ELLESMERE_SNN_PF_E_INH 9       /* inhibitory reversal potential (mV) */
#define ELLESMERE_SNN_PF_A 10          /* Izhikevich a (1/ms) */
#define ELLESMERE_SNN_PF_B 11          /* Izhikevich b */
#define ELLESMERE_SNN_PF_D 12          /* Izhikevich d; adaptive: the threshold jump (mV) */
#define ELLESMERE_SNN_PF_DT 13         /* dt (ms) */
#define ELLESMERE_SNN_PF_DECAY_X 14    /* adaptive: exp(-dt / tau_theta) */
#define ELLESMERE_SNN_PF_P_SPIKE 15    /* Poisson: rate * dt */
#define ELLESMERE_SNN_PF_SCALE_E 16    /* 2^-F of the excitatory fixed-point input */
#define ELLESMERE_SNN_PF_SCALE_I 17    /* 2^-F of the inhibitory fixed-point input */
#define ELLESMERE_SNN_POP_FLOATS 20

/* Step currents (cur_int[c * ELLESMERE_SNN_CUR_INTS + field], amplitude cur_amp[c]): added to the input of global
   neurons [lo, hi) during steps [start, stop). */
#define ELLESMERE_SNN_CI_START 0
#define ELLESMERE_SNN_CI_STOP 1
#define ELLESMERE_SNN_CI_LO 2
#define ELLESMERE_SNN_CI_HI 3
#define ELLESMERE_SNN_CUR_INTS 4

/* Philox streams: independent random sequences drawn from the same (seed, counter) space. */
#define ELLESMERE_SNN_STREAM_POISSON 0u
#define ELLESMERE_SNN_STREAM_INIT 1u
#define ELLESMERE_SNN_STREAM_CONNECT 2u

#ifndef __cplusplus
#define ELLESMERE_SNN_FN
typedef uint ellesmere_snn_u32;
#define ELLESMERE_SNN_MULHI(a, b) mul_hi((a), (b))
#define ELLESMERE_SNN_FLOOR(x) floor(x)
#define ELLESMERE_SNN_AS_FLOAT(i) as_float(i)
#else
#include <bit>
#include <cmath>
#include <cstdint>
#define ELLESMERE_SNN_FN inline
typedef std::uint32_t ellesmere_snn_u32;
#define ELLESMERE_SNN_MULHI(a, b) ((ellesmere_snn_u32)(((std::uint64_t)(a) * (std::uint64_t)(b)) >> 32))
#define ELLESMERE_SNN_FLOOR(x) std::floor(x)
#define ELLESMERE_SNN_AS_FLOAT(i) std::bit_cast<float>((std::int32_t)(i))
#endif

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): 10 rounds over a 128-bit
   counter with a 64-bit key. Returns the first 32-bit word of the output block, which is all we use. */
ELLESMERE_SNN_FN ellesmere_snn_u32 ellesmere_snn_philox(ellesmere_snn_u32 c0, ellesmere_snn_u32 c1,
                                                        ellesmere_snn_u32 c2, ellesmere_snn_u32 c3,
                                                        ellesmere_snn_u32 k0, ellesmere_snn_u32 k1) {
  for (int r = 0; r < 10; ++r) {
    const ellesmere_snn_u32 hi0 = ELLESMERE_SNN_MULHI(0xD2511F53u, c0);
    const ellesmere_snn_u32 lo0 = 0xD2511F53u * c0;
    const ellesmere_snn_u32 hi1 = ELLESMERE_SNN_MULHI(0xCD9E8D57u, c2);
    const ellesmere_snn_u32 lo1 = 0xCD9E8D57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c0;
}

/* A uniform float in [0, 1) with 24 random bits (exactly representable, so host and device agree), keyed by the
   network seed and counted by (a, b, stream): for Poisson sources a = global neuron, b = step. */
ELLESMERE_SNN_FN float ellesmere_snn_uniform(ellesmere_snn_u32 seed_lo, ellesmere_snn_u32 seed_hi,
                                             ellesmere_snn_u32 a, ellesmere_snn_u32 b, ellesmere_snn_u32 stream) {
  return (float)(ellesmere_snn_philox(a, b, stream, 0x5eedu, seed_lo, seed_hi) >> 8) * (1.0f / 16777216.0f);
}

/* e^x for x <= 0 from basic float operations only (no library exp, whose last bits differ between drivers):
   x = n ln2 + r with |r| <= ln2 / 2, e^r by its degree-7 Taylor polynomial (relative error below 2e-7), times 2^n
   built in the exponent bits. x > 0 is taken as 0 (only decays are needed); for x < -86 (e^x < 5e-38) the result is
   0, so it never produces a subnormal, which some devices flush. ELLESMERE_SNN_DEFINE_EXP defines it for a float
   type T (float, or floatN in a kernel) with its int conversion, bit cast and select; every lane does exactly the
   scalar function's operations. */
#define ELLESMERE_SNN_DEFINE_EXP(NAME, T, TO_INT, AS_FLOAT, SELECT)                      \
  ELLESMERE_SNN_FN T NAME(T x) {                                                          \
    const T xc = ELLESMERE_SNN_FMIN(ELLESMERE_SNN_FMAX(x, (T)(-86.0f)), (T)(0.0f));      \
    const T n = ELLESMERE_SNN_FLOOR(xc * 1.44269504f + 0.5f);                             \
    T r = xc - n * 0.693145751953125f; /* ln2's high part: n * it is exact */             \
    r = r - n * 1.42860677e-6f;        /* ln2's low part */                               \
    T p = (T)(0.000198412698f);        /* 1/7!, then Horner down to 1/0! */              \
    p = 0.00138888889f + r * p;                                                           \
    p = 0.00833333333f + r * p;                                                           \
    p = 0.0416666667f + r * p;                                                            \
    p = 0.166666667f + r * p;                                                             \
    p = 0.5f + r * p;                                                                     \
    p = 1.0f + r * p;                                                                     \
    p = 1.0f + r * p;                                                                     \
    return SELECT(p * AS_FLOAT((TO_INT(n) + 127) << 23), (T)(0.0f), x < -86.0f);         \
  }

#ifndef __cplusplus
#define ELLESMERE_SNN_FMIN(a, b) fmin(a, b)
#define ELLESMERE_SNN_FMAX(a, b) fmax(a, b)
#define ELLESMERE_SNN_SELECT_SCALAR(a, b, c) select(a, b, c)
#define ELLESMERE_SNN_TO_INT(x) convert_int(x)
#else
#define ELLESMERE_SNN_FMIN(a, b) std::fmin(a, b)
#define ELLESMERE_SNN_FMAX(a, b) std::fmax(a, b)
#define ELLESMERE_SNN_SELECT_SCALAR(a, b, c) ((c) ? (b) : (a))
#define ELLESMERE_SNN_TO_INT(x) ((int)(x))
#endif
ELLESMERE_SNN_DEFINE_EXP(ellesmere_snn_exp, float, ELLESMERE_SNN_TO_INT, ELLESMERE_SNN_AS_FLOAT,
                         ELLESMERE_SNN_SELECT_SCALAR)

#ifdef __cplusplus
static_assert(sizeof(ellesmere_snn_u32) == 4, "Philox works on 32-bit words");
#endif

#endif
