// snn_f32_event: one simulation step of a spiking network: snn_update over every neuron, with event-driven
// propagation of the spikes either fused into it (FUSE = 1: the work-item that finds a spike walks that neuron's
// synapses) or in a second launch, snn_propagate (FUSE = 0); plus snn_probe for state recording. Used by the
// snn_f32_event Impl (src/ops/snn/snn_f32_event.cpp, driven by src/snn/simulator.cpp); the step order and each
// model's update formula are documented in include/ellesmere/snn.hpp, the arrays in include/ellesmere/formats/snn.h.
//
// Layout: state arrays over the global neuron numbering (populations aligned to ELLESMERE_SNN_ALIGN);
// acc[slot][target][neuron] (int32 fixed point) holds the synaptic input due at the end of step `slot` modulo ring;
// spike_list[parity][.] the neurons that spiked at a step of that parity, spike_count[parity] how many (FUSE = 0).
// Fusing is safe: a step reads (and clears) only slot step - 1 and adds only to slots step .. step + max delay,
// which differ because ring = max delay + 2.
// Tunables: VN neurons per work-item (vector width: 8-16 on a CPU, whose SIMD lanes then each take a neuron; 1 on
// GCN, where a work-item is a lane), LU update work-group size, FUSE, LP propagation work-group size and PG
// propagation work-groups (FUSE = 0: group w takes spikes w, w + PG, ..., its items that spike's synapses). Results
// do not depend on any of them: each neuron's update is its own, and input is summed with integer atomics
// (associative), never float ones.
// Polaris: the update is a few dozen flops per neuron and the propagation a scattered read-modify-write per
// synapse: bound by memory traffic and, for small networks, by launch overhead, never by arithmetic. On GCN a
// spiking lane walking a long row stalls its wavefront, hence FUSE = 0 there (the synapses of a spike spread over a
// work-group); on a CPU a work-item is a loop iteration and FUSE = 1 saves a launch per step.
#pragma OPENCL FP_CONTRACT OFF
#include "common/vector.h"
#include "ellesmere/formats/snn.h"

#ifndef VN
#define VN 1          // neurons per work-item (1, 2, 4, 8 or 16)
#endif
#ifndef LU
#define LU 64         // update work-group size
#endif
#ifndef LP
#define LP 64         // propagation work-group size
#endif
#ifndef FUSE
#define FUSE 0        // 1: propagate inside snn_update
#endif

#if VN != 1 && VN != 2 && VN != 4 && VN != 8 && VN != 16
#error "snn_f32_event: VN must be 1, 2, 4, 8 or 16"
#endif
#if VN > ELLESMERE_SNN_ALIGN
#error "snn_f32_event: VN must not exceed ELLESMERE_SNN_ALIGN"
#endif

typedef VEC(float, VN) floatv;
typedef VEC(int, VN) intv;
#define LOADV(p, g) VLOAD(VN)(0, (p) + (g))
#define STOREV(v, p, g) VSTORE(VN)(v, 0, (p) + (g))
#define TO_FLOATV(x) CONVERT(float, VN)(x)

// Lane offsets 0 .. VN-1, and "any lane set" of a comparison mask (scalar comparisons give 1, vector ones -1).
#if VN == 1
#define LANES 0
#define ANY(m) (m)
#else
#define ANY(m) any(m)
#if VN == 2
#define LANES ((int2)(0, 1))
#elif VN == 4
#define LANES ((int4)(0, 1, 2, 3))
#elif VN == 8
#define LANES ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
#else
#define LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif
// snn.h's exponential, lane by lane the same operations as the scalar one.
ELLESMERE_SNN_DEFINE_EXP(snn_exp_v, floatv, CONVERT(int, VN), ELLESMERE_CAT(as_float, VN), select)
#endif

#if VN == 1
#define EXPV(x) ellesmere_snn_exp(x)
#else
#define EXPV(x) snn_exp_v(x)
#endif

// Records spike g of step: the spike list (FUSE = 0) or its synapses' input (FUSE = 1), its count, the record.
void emit_spike(const int g, const int step, const int n_total, const int ring, const int record,
                __global const int* restrict row_ptr, __global const int* restrict dest,
                __global const int* restrict weight_q, __global const int* restrict delay, __global int* acc,
                __global int* restrict spike_list, __global int* restrict spike_count, __global int* restrict rec,
                __global int* restrict rec_count, const int rec_capacity, __global int* restrict spike_total) {
#if FUSE
  const int end = row_ptr[g + 1];
  for (int q = row_ptr[g]; q < end; ++q) {
    atomic_add(&acc[((step + delay[q]) % ring) * 2 * n_total + dest[q]], weight_q[q]);
  }
#else
  spike_list[(step & 1) * n_total + atomic_inc(&spike_count[step & 1])] = g;
#endif
  spike_total[g] += 1;
  if (record) {
    const int r = atomic_inc(rec_count);
    if (r < rec_capacity) {
      rec[2 * r] = step;
      rec[2 * r + 1] = g;
    }
  }
}

#define EMIT(g)                                                                                               \
  emit_spike(g, step, n_total, ring, pi[ELLESMERE_SNN_PI_RECORD], row_ptr, dest, weight_q, delay, acc,        \
             spike_list, spike_count, rec, rec_count, rec_capacity, spike_total)

__kernel __attribute__((reqd_work_group_size(LU, 1, 1)))
void snn_update(const int step, const int n_total, const int n_pops, const int ring,
                __global const int* restrict pop_int, __global const float* restrict pop_f,
                __global float* restrict v, __global float* restrict ge, __global float* restrict gi,
                __global float* restrict x, __global int* restrict last_spike, __global int* restrict cursor,
                __global const int* restrict sched_ptr, __global const int* restrict sched_step,
                __global int* acc, const int n_currents, __global const int* restrict cur_int,
                __global const float* restrict cur_amp, __global const int* restrict row_ptr,
                __global const int* restrict dest, __global const int* restrict weight_q,
                __global const int* restrict delay, __global int* restrict spike_list,
                __global int* restrict spike_count, __global int* restrict rec, __global int* restrict rec_count,
                const int rec_capacity, __global int* restrict spike_total, const uint seed_lo, const uint seed_hi) {
  const int g0 = get_global_id(0) * VN;
  // The counter of the next step's parity: the previous step's propagation, which read it, has finished (launches
  // run in order), and nothing of this step touches it.
  if (g0 == 0) spike_count[(step + 1) & 1] = 0;
  if (g0 >= n_total) return;
  int p = 0;
  while (p + 1 < n_pops && g0 >= pop_int[(p + 1) * ELLESMERE_SNN_POP_INTS + ELLESMERE_SNN_PI_START]) ++p;
  __global const int* pi = pop_int + p * ELLESMERE_SNN_POP_INTS;
  __global const float* pf = pop_f + p * ELLESMERE_SNN_POP_FLOATS;
  const int model = pi[ELLESMERE_SNN_PI_MODEL];
  const int end = pi[ELLESMERE_SNN_PI_START] + pi[ELLESMERE_SNN_PI_SIZE];   // padding from here on

  if (model == ELLESMERE_SNN_POISSON || model == ELLESMERE_SNN_SPIKE_TIMES) {
    // Sources: no state to vectorise; lane by lane.
    for (int j = 0; j < VN && g0 + j < end; ++j) {
      const int g = g0 + j;
      int spiked = 0;
      if (model == ELLESMERE_SNN_POISSON) {
        spiked = ellesmere_snn_uniform(seed_lo, seed_hi, (uint)g, (uint)step, ELLESMERE_SNN_STREAM_POISSON) <
                 pf[ELLESMERE_SNN_PF_P_SPIKE];
      } else {
        const int c = cursor[g];
        if (c < sched_ptr[g + 1] && sched_step[c] == step) {
          spiked = 1;
          cursor[g] = c + 1;
        }
      }
      if (spiked) EMIT(g);
    }
    return;
  }

  // 1. Input delivered at the end of the previous step (slot step - 1), then cleared for reuse.
  __global int* in = acc + ((step + ring - 1) % ring) * 2 * n_total;
  const intv qe = LOADV(in, g0);
  const intv qi = LOADV(in + n_total, g0);
  STOREV((intv)(0), in, g0);
  STOREV((intv)(0), in + n_total, g0);
  const floatv e = LOADV(ge, g0) + TO_FLOATV(qe) * pf[ELLESMERE_SNN_PF_SCALE_E];
  const floatv i = LOADV(gi, g0) + TO_FLOATV(qi) * pf[ELLESMERE_SNN_PF_SCALE_I];
  const floatv v0 = LOADV(v, g0);
  const floatv x0 = LOADV(x, g0);
  const intv last = LOADV(last_spike, g0);
  const intv lane = g0 + LANES;
  // Not refractory: its own comparison, never a negated one. oclgrind 21.10 evaluates (a < b) == 0 on vectors to 1
  // per true lane instead of -1 (seen with printf in this kernel), which select() and any() then read as false.
  const intv active = (step - last) >= pi[ELLESMERE_SNN_PI_REF_STEPS];
  floatv input = (floatv)(pf[ELLESMERE_SNN_PF_I_EXT]);
  for (int c = 0; c < n_currents; ++c) {
    __global const int* ci = cur_int + c * ELLESMERE_SNN_CUR_INTS;
    if (step >= ci[ELLESMERE_SNN_CI_START] && step < ci[ELLESMERE_SNN_CI_STOP]) {
      input = input + select((floatv)(0.0f), (floatv)(cur_amp[c]),
                             (lane >= ci[ELLESMERE_SNN_CI_LO]) & (lane < ci[ELLESMERE_SNN_CI_HI]));
    }
  }
  // 2. State update; every right-hand side reads the values before the step; refractory neurons keep v.
  floatv v1, x1 = x0;
  floatv thresh = (floatv)(pf[ELLESMERE_SNN_PF_V_THRESH]);
  if (model == ELLESMERE_SNN_IZHIKEVICH) {
    const float dt = pf[ELLESMERE_SNN_PF_DT];
    const floatv dv = 0.04f * v0 * v0 + 5.0f * v0 + 140.0f - x0 + (input + e + i);
    const floatv du = pf[ELLESMERE_SNN_PF_A] * (pf[ELLESMERE_SNN_PF_B] * v0 - x0);
    v1 = v0 + dt * dv;
    x1 = x0 + dt * du;
  } else if (model == ELLESMERE_SNN_LIF_COBA) {
    const floatv gt = 1.0f + e + i;
    const floatv vinf =
        (e * pf[ELLESMERE_SNN_PF_E_EXC] + i * pf[ELLESMERE_SNN_PF_E_INH] + pf[ELLESMERE_SNN_PF_E_LEAK] + input) / gt;
    v1 = vinf + (v0 - vinf) * EXPV(-gt * pf[ELLESMERE_SNN_PF_DT_TAU_M]);
  } else {   // lif_exp, lif_adaptive
    const floatv vinf = pf[ELLESMERE_SNN_PF_E_LEAK] + input + e + i;
    v1 = vinf + (v0 - vinf) * pf[ELLESMERE_SNN_PF_DECAY_M];
    if (model == ELLESMERE_SNN_LIF_ADAPTIVE) {
      x1 = x0 * pf[ELLESMERE_SNN_PF_DECAY_X];
      thresh = thresh + x1;
    }
  }
  v1 = select(v0, v1, active);
  STOREV(e * pf[ELLESMERE_SNN_PF_DECAY_E], ge, g0);
  STOREV(i * pf[ELLESMERE_SNN_PF_DECAY_I], gi, g0);
  // 3. Threshold (padding lanes never spike), 5. reset; 4. propagation in emit_spike or snn_propagate.
  const intv fire = active & (v1 > thresh) & (lane < end);
  STOREV(select(v1, (floatv)(pf[ELLESMERE_SNN_PF_V_RESET]), fire), v, g0);
  if (model == ELLESMERE_SNN_IZHIKEVICH || model == ELLESMERE_SNN_LIF_ADAPTIVE) {
    x1 = select(x1, x1 + pf[ELLESMERE_SNN_PF_D], fire);
  }
  STOREV(x1, x, g0);
  if (ANY(fire)) {
    STOREV(select(last, (intv)(step), fire), last_spike, g0);
    // Which lanes fired, read back from last_spike (just set to step for exactly those): cheaper on a CPU than
    // spilling the mask to a private array, and spikes are rare.
    for (int j = 0; j < VN; ++j) {
      if (last_spike[g0 + j] == step) EMIT(g0 + j);
    }
  }
}

// 4. Propagation of the spikes of step `step` (FUSE = 0): work-group w takes spikes w, w + PG, ...; its LP items
// walk that neuron's outgoing synapses, adding each fixed-point weight to its target's input due at the end of step
// step + delay. Integer atomics: the sums are exact and independent of the order.
__kernel __attribute__((reqd_work_group_size(LP, 1, 1)))
void snn_propagate(const int step, const int n_total, const int ring, __global const int* restrict spike_list,
                   __global const int* restrict spike_count, __global const int* restrict row_ptr,
                   __global const int* restrict dest, __global const int* restrict weight_q,
                   __global const int* restrict delay, __global int* restrict acc) {
  const int count = spike_count[step & 1];
  __global const int* spikes = spike_list + (step & 1) * n_total;
  for (int s = get_group_id(0); s < count; s += get_num_groups(0)) {
    const int pre = spikes[s];
    const int end = row_ptr[pre + 1];
    for (int q = row_ptr[pre] + get_local_id(0); q < end; q += LP) {
      atomic_add(&acc[((step + delay[q]) % ring) * 2 * n_total + dest[q]], weight_q[q]);
    }
  }
}

// State probe, sampled before the update of a step (Brian2's StateMonitor runs at the start of a step):
// out[offset + k] = var[neuron[k]], plus for ge / gi the input delivered at the end of the previous step (still in
// the accumulator at acc[acc_offset + neuron[k]], scale 2^-F; acc_offset < 0: none).
__kernel __attribute__((reqd_work_group_size(LU, 1, 1)))
void snn_probe(__global const float* restrict var, __global const int* restrict neuron, const int count,
               __global float* restrict out, const int offset, __global const int* restrict acc,
               const int acc_offset, const float scale) {
  const int k = get_global_id(0);
  if (k >= count) return;
  const int g = neuron[k];
  float value = var[g];
  if (acc_offset >= 0) value = value + (float)acc[acc_offset + g] * scale;
  out[offset + k] = value;
}
