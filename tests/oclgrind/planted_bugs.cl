// Deliberately broken kernels: the oclgrind harness must report every one of them (tests/CMakeLists.txt,
// oclgrind.planted_bugs_*). Never part of the library. Work-group size 16.

// Reads a neighbour's local slot with no barrier between the write and the read: a data race.
__kernel void planted_race(__global float* out) {
  __local float slots[16];
  const int l = get_local_id(0);
  slots[l] = (float)l;
  out[get_global_id(0)] = slots[(l + 1) % 16];
}

// The last work-item writes one element past the end of out.
__kernel void planted_oob_write(__global float* out) {
  out[get_global_id(0) + 1] = 1.0f;
}

// The last work-item reads one element past the end of in.
__kernel void planted_oob_read(__global const float* in, __global float* out) {
  out[get_global_id(0)] = in[get_global_id(0) + 1];
}

// Only even slots are written, then every item reads its odd/even partner: half the reads are uninitialised.
// The indices depend on the work-item so the compiler cannot fold the read away.
__kernel void planted_uninitialized(__global float* out) {
  __local float slots[16];
  const int l = get_local_id(0);
  if ((l & 1) == 0) slots[l] = (float)l;
  barrier(CLK_LOCAL_MEM_FENCE);
  out[get_global_id(0)] = slots[l ^ 1];
}
