// Sparse matrices in CSR form on the host: the validated CsrMatrix type, builders (magnitude pruning of a dense
// matrix, COO triplets, dense), Matrix Market (.mtx) reading and writing, and the row-length statistics that choose
// a sparse kernel. Host-only; no OpenCL needed. The device products (SpMV / SpMM) live in ops.hpp.
//
// Values are fp32 only. fp16 values are not supported: a nonzero costs 4 index bytes plus its value, so fp16 would
// cut a CSR stream by 2 of 8 bytes (25%) at most, against a 2x saving for dense fp16; not worth a second format yet.
// On Polaris, as everywhere, sparse products are bound by the bytes they move (values, indices, gathered X), never
// by arithmetic: pruning wins only where it removes enough bytes to beat a dense GEMM.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ellesmere {

// Compressed sparse row: rows x cols, row r's nonzeros at positions [row_ptr[r], row_ptr[r+1]) of col_idx and
// values. Indices are int32 (the kernels index with 32-bit ints): rows, cols and nnz are each below 2^31.
// Policy: within a row, columns are strictly increasing (sorted, no duplicates). validate() rejects anything else;
// every builder here produces it (csr_from_coo sorts and sums duplicates). Explicit zeros are allowed and kept.
struct CsrMatrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::int32_t> row_ptr{0};   // rows + 1 entries
  std::vector<std::int32_t> col_idx;      // nnz entries
  std::vector<float> values;              // nnz entries

  std::int64_t nnz() const { return std::int64_t(col_idx.size()); }
  // nnz / (rows * cols); 0 for an empty shape.
  double density() const;
  // "" when the matrix is valid, else the first violation, e.g. "row_ptr[5] = 3 is less than row_ptr[4] = 7"
  // or "row 12: column 40 at position 97 is not greater than the previous column 40 (columns must be sorted and
  // unique within a row)". Checks, in this order: rows and cols in [0, 2^31), row_ptr has rows + 1 entries,
  // col_idx and values have the same count, row_ptr[0] = 0, row_ptr non-decreasing, row_ptr[rows] = nnz, every
  // column in [0, cols), columns strictly increasing within each row. Values may be any float, NaN included (the
  // products propagate them).
  std::string check() const;
  // Throws InvalidArgument "<what>: <check()>" when check() finds a violation.
  void validate(std::string_view what = "CSR matrix") const;
  // rows x cols row-major dense copy.
  std::vector<float> to_dense() const;
};

// Row-length statistics, for choosing an Impl: one work-item per row suits short even rows, a work-group per row
// long rows, a nonzero-balanced split skewed (power-law) rows.
struct CsrRowStats {
  std::int64_t rows = 0;
  std::int64_t nnz = 0;
  double mean = 0;                 // nnz / rows (0 when rows = 0)
  std::int64_t min = 0;            // shortest row
  std::int64_t max = 0;            // longest row
  double cv = 0;                   // coefficient of variation: population standard deviation / mean (0 if mean 0)
  std::int64_t empty_rows = 0;
};
CsrRowStats row_stats(const CsrMatrix& a);

// ---- builders ---------------------------------------------------------------------------------------------------

// Magnitude pruning of a dense rows x cols row-major matrix to a target sparsity in [0, 1] (the fraction of
// entries dropped).
enum class PruneMode {
  global,    // one threshold for the whole tensor: keeps the round((1 - sparsity) * rows * cols) largest |w|
  per_row,   // every row keeps its round((1 - sparsity) * cols) largest |w|: equal row lengths, which load-balances
};
const char* prune_mode_name(PruneMode m) noexcept;   // "global", "per_row"
// Ties in |w| are broken by position (the earlier entry is kept), so the result is deterministic; zeros are kept
// only when needed to reach the count. Throws InvalidArgument for a size mismatch, a sparsity outside [0, 1] or
// NaN, a NaN weight (no magnitude to rank), or a shape out of CSR's range.
CsrMatrix prune_to_csr(std::span<const float> dense, std::int64_t rows, std::int64_t cols, double sparsity,
                       PruneMode mode = PruneMode::global);

// The nonzero entries of a dense rows x cols row-major matrix (exact zeros dropped, -0.0 included).
CsrMatrix csr_from_dense(std::span<const float> dense, std::int64_t rows, std::int64_t cols);

// From COO triplets (0-based, any order): entries sorted into rows and columns, duplicates summed (in input order,
// in double, rounded once to float). Throws InvalidArgument naming the first bad triplet ("triplet 7: row 9 is
// outside [0, 8)"), mismatched array lengths, or a shape or count out of CSR's range.
CsrMatrix csr_from_coo(std::int64_t rows, std::int64_t cols, std::span<const std::int64_t> row,
                       std::span<const std::int64_t> col, std::span<const float> values);

// ---- Matrix Market ----------------------------------------------------------------------------------------------
// The NIST coordinate format: "%%MatrixMarket matrix coordinate <real|integer|pattern>
// <general|symmetric|skew-symmetric>", '%' comment lines, a size line "rows cols entries", then one 1-based
// "row col [value]" line per entry. Symmetric files store the lower triangle (i >= j; an upper-triangle entry is an
// error) and are expanded to both triangles; skew-symmetric files store the strict lower triangle (a diagonal
// entry is an error) and mirror with the opposite sign. Pattern entries get value 1. Duplicates are summed (as
// csr_from_coo). The "array" (dense) format, complex and hermitian fields are rejected as unsupported.
// Errors are FileError "<name>:<line>: <what>", e.g. "m.mtx:7: column 0 is outside [1, 5] (indices are 1-based)",
// for: a missing or malformed banner, unknown or unsupported qualifiers, a missing or malformed size line,
// negative or too-large sizes, a malformed or out-of-range entry, a non-integer value in an integer file, a value
// in a pattern file or a missing one in a real file, fewer or more entries than the size line promises, text after
// the last entry, non-finite values.
CsrMatrix read_matrix_market(const std::string& path);
// The same from text in memory; name stands for the file in errors.
CsrMatrix parse_matrix_market(std::string_view text, std::string_view name = "<text>");

// What a file's banner and size line declare, read without the entries: the declared shape and entry count
// (before a symmetric file's mirroring), field and symmetry. It checks the same things as parse_matrix_market up
// to and including the size line, with the same errors, and nothing after it. Use it to see what a file would
// cost before loading it: an entry-less file of 2^31 - 1 rows is valid and 40 bytes long, but its CSR needs 8 GiB
// for row_ptr alone (parse_matrix_market builds row_ptr for every declared row).
enum class MatrixMarketField { real, integer, pattern };
enum class MatrixMarketSymmetry { general, symmetric, skew_symmetric };
struct MatrixMarketHeader {
  std::int64_t rows = 0, cols = 0;
  std::int64_t entries = 0;   // the size line's count: entry lines in the file
  MatrixMarketField field = MatrixMarketField::real;
  MatrixMarketSymmetry symmetry = MatrixMarketSymmetry::general;
};
MatrixMarketHeader parse_matrix_market_header(std::string_view text, std::string_view name = "<text>");

// Writes a valid matrix as "coordinate real general", 1-based, values with 9 significant digits (which round-trip
// float32 exactly), and an optional comment line. Throws InvalidArgument for an invalid matrix, FileError if the
// file cannot be written.
void write_matrix_market(const CsrMatrix& a, const std::string& path, std::string_view comment = {});
std::string format_matrix_market(const CsrMatrix& a, std::string_view comment = {});

}  // namespace ellesmere
