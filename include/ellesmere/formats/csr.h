/* Compressed sparse row, as the sparse kernels (kernels/spmm/spmm_csr_f32_<strategy>.cl) read it and the host (include/ellesmere/sparse.hpp,
   src/ops/spmm/) uploads it. Plain C: valid C, C++ and OpenCL C 1.1.

   A is M x K with nnz nonzeros, three arrays:
     row_ptr  M + 1 int32: row r's nonzeros are positions row_ptr[r] .. row_ptr[r+1]-1; row_ptr[0] = 0,
              non-decreasing, row_ptr[M] = nnz.
     col_idx  nnz int32 in [0, K), strictly increasing within a row.
     values   nnz float32.
   The kernels trust these invariants (a column out of range would read out of bounds): CsrMatrix::validate()
   checks them on the host before anything is uploaded. Dense operands: X is K x N and Y is M x N, row-major with
   row stride N, so the N columns of one X row that a nonzero multiplies are contiguous (one vector load each). */
#ifndef ELLESMERE_FORMATS_CSR_H
#define ELLESMERE_FORMATS_CSR_H

/* Every index (row, column, position) is an int32: M, K and nnz stay below 2^31, and so do M * N and K * N. */
#define ELLESMERE_CSR_INDEX_LIMIT 2147483647

#ifdef __cplusplus
#include <cstdint>
static_assert(sizeof(std::int32_t) == 4, "CSR indices are int32");
#endif

#endif
