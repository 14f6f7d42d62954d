// Peer libraries' routines benchmarked beside ours, under the names peer_<library>_<routine>/<label>: CLBlast's
// sgemm on the same OpenCL device, Eigen's sgemm and oneDNN's s8 matmul on the host CPU. Shared by the GEMM
// benchmark binaries; label is the problem text of ours they stand beside.
#pragma once

#include <string>

#include "ellesmere/ops.hpp"

namespace ellesmere::bench {

void register_peer_clblast_sgemm(const std::string& label, const GemmProblem& shape);
void register_peer_eigen_sgemm(const std::string& label, const GemmProblem& shape);
// u8 x s8 -> s32 matmul (no zero points), all host threads. Without oneDNN (Debian libdnnl-dev) at build time,
// prints once that the peer is skipped and registers nothing.
void register_peer_onednn_s8gemm(const std::string& label, const GemmI8Problem& problem);

}  // namespace ellesmere::bench
