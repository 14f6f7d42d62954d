// ViennaCL's CSR products (compressed_matrix times a dense row-major matrix, or a vector for N = 1) on our own
// OpenCL context and queue, benchmarked beside ours as peer_viennacl_spmm/<problem>. Optional (Debian
// libviennacl-dev): without it at build time, registering prints once that the peer is skipped.
#pragma once

#include <string>

#include "ellesmere/sparse.hpp"

namespace ellesmere::bench {

// a must stay alive until the benchmarks have run.
void register_peer_viennacl_spmm(const std::string& label, const CsrMatrix& a, std::int64_t n);

}  // namespace ellesmere::bench
