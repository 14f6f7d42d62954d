// Sparse CSR product reference on Eigen's SparseMatrix (RowMajor) in double, and the seeded random sparse matrices
// (uniform and R-MAT) that tests and benchmarks share.
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <algorithm>
#include <random>
#include <unordered_set>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "reference/reference.hpp"

namespace ellesmere::reference {

std::vector<float> spmm_csr_ref(const CsrMatrix& a, std::int64_t n, std::span<const float> x,
                                std::span<const float> bias, bool relu) {
  a.validate("spmm_csr_ref");
  if (n < 1 || x.size() != std::size_t(a.cols * n)) {
    throw InvalidArgument(fmt::format("spmm_csr_ref: X has {} values, expected {} x {}", x.size(), a.cols, n));
  }
  if (!bias.empty() && bias.size() != std::size_t(a.rows)) {
    throw InvalidArgument(fmt::format("spmm_csr_ref: bias has {} values, expected {}", bias.size(), a.rows));
  }
  using Sparse = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;
  using Dense = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::vector<Eigen::Triplet<double, std::int64_t>> triplets;
  triplets.reserve(std::size_t(a.nnz()));
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int32_t p = a.row_ptr[std::size_t(r)]; p < a.row_ptr[std::size_t(r) + 1]; ++p) {
      triplets.emplace_back(r, a.col_idx[std::size_t(p)], double(a.values[std::size_t(p)]));
    }
  }
  Sparse s(a.rows, a.cols);
  s.setFromTriplets(triplets.begin(), triplets.end());
  const Dense xd = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                       x.data(), a.cols, n).cast<double>();
  Dense y = s * xd;
  std::vector<float> out(std::size_t(a.rows * n));
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int64_t c = 0; c < n; ++c) {
      double v = y(r, c);
      if (!bias.empty()) v += double(bias[std::size_t(r)]);
      float f = float(v);
      if (relu) f = f <= 0.0f ? 0.0f : f;   // NaN kept, as the kernels' epilogue
      out[std::size_t(r * n + c)] = f;
    }
  }
  return out;
}

namespace {

std::vector<float> csr_values(std::size_t count, std::uint64_t seed) { return random_floats(count, seed, -1.0f, 1.0f); }

}  // namespace

CsrMatrix random_csr(std::int64_t rows, std::int64_t cols, double density, std::uint64_t seed) {
  const std::int64_t cells = rows * cols;
  const std::int64_t want = std::llround(std::clamp(density, 0.0, 1.0) * double(cells));
  CsrMatrix a;
  a.rows = rows;
  a.cols = cols;
  a.row_ptr.assign(std::size_t(rows) + 1, 0);
  a.col_idx.reserve(std::size_t(want));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // Knuth's selection sampling: cell i is taken with probability (still needed) / (cells left).
  std::int64_t needed = want;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols && needed > 0; ++c) {
      const std::int64_t left = cells - (r * cols + c);
      if (double(left) * u(rng) < double(needed)) {
        a.col_idx.push_back(std::int32_t(c));
        --needed;
      }
    }
    a.row_ptr[std::size_t(r) + 1] = std::int32_t(a.col_idx.size());
  }
  a.values = csr_values(a.col_idx.size(), seed ^ 0x5eed);
  return a;
}

CsrMatrix rmat_csr(std::int64_t rows, std::int64_t cols, std::int64_t nnz, std::uint64_t seed) {
  if (nnz < 0 || nnz > rows * cols) {
    throw InvalidArgument(fmt::format("rmat_csr: {} nonzeros do not fit {} x {}", nnz, rows, cols));
  }
  int levels = 0;
  while ((std::int64_t(1) << levels) < std::max(rows, cols)) ++levels;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::unordered_set<std::int64_t> cells;
  cells.reserve(std::size_t(nnz));
  // Each edge descends `levels` times into one of four quadrants with probabilities a, b, c, d. Duplicates and
  // cells outside a non-power-of-2 shape are drawn again; once most draws repeat (the dense corner is full), the
  // rest are placed uniformly so the count is reached in bounded time.
  const double a = 0.57, b = 0.19, c = 0.19;
  std::int64_t draws = 0;
  while (std::int64_t(cells.size()) < nnz) {
    std::int64_t r, col;
    if (draws++ < 64 * nnz) {
      r = 0;
      col = 0;
      for (int l = 0; l < levels; ++l) {
        const double x = u(rng);
        const int quadrant = x < a ? 0 : x < a + b ? 1 : x < a + b + c ? 2 : 3;
        r = 2 * r + (quadrant >= 2 ? 1 : 0);
        col = 2 * col + (quadrant == 1 || quadrant == 3 ? 1 : 0);
      }
      if (r >= rows || col >= cols) continue;
    } else {
      r = std::int64_t(u(rng) * double(rows));
      col = std::int64_t(u(rng) * double(cols));
    }
    cells.insert(r * cols + col);
  }
  std::vector<std::int64_t> sorted(cells.begin(), cells.end());
  std::sort(sorted.begin(), sorted.end());
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr.assign(std::size_t(rows) + 1, 0);
  m.col_idx.reserve(sorted.size());
  for (const std::int64_t cell : sorted) {
    m.row_ptr[std::size_t(cell / cols) + 1]++;
    m.col_idx.push_back(std::int32_t(cell % cols));
  }
  for (std::int64_t r = 0; r < rows; ++r) m.row_ptr[std::size_t(r) + 1] += m.row_ptr[std::size_t(r)];
  m.values = csr_values(m.col_idx.size(), seed ^ 0x5eed);
  return m;
}

CsrMatrix csr_for_problem(const SpmmProblem& p, std::uint64_t seed) {
  return p.skewed ? rmat_csr(p.m, p.k, p.nnz(), seed) : random_csr(p.m, p.k, p.density, seed);
}

}  // namespace ellesmere::reference
