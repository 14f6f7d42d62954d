// CsrMatrix checks and conversions, row-length statistics, and the CSR builders (magnitude pruning, dense, COO)
// declared in include/ellesmere/sparse.hpp. Used by the sparse ops, the Matrix Market reader, tests and tools.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/sparse.hpp"

namespace ellesmere {

namespace {

// Every index, and row_ptr's last entry (nnz), must fit the kernels' int32.
constexpr std::int64_t kIndexLimit = std::int64_t{1} << 31;

std::string shape_problem(std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || rows >= kIndexLimit) return fmt::format("rows = {} is outside [0, 2^31)", rows);
  if (cols < 0 || cols >= kIndexLimit) return fmt::format("cols = {} is outside [0, 2^31)", cols);
  return "";
}

void check_shape(std::string_view who, std::int64_t rows, std::int64_t cols) {
  if (auto problem = shape_problem(rows, cols); !problem.empty()) {
    throw InvalidArgument(fmt::format("{}: {} (CSR indices are int32)", who, problem));
  }
}

void check_dense_size(std::string_view who, std::span<const float> dense, std::int64_t rows, std::int64_t cols) {
  check_shape(who, rows, cols);
  // rows and cols are below 2^31, so the product cannot overflow int64.
  if (std::uint64_t(dense.size()) != std::uint64_t(rows * cols)) {
    throw InvalidArgument(fmt::format("{}: dense matrix has {} values but {} x {} needs {}", who, dense.size(), rows,
                                      cols, rows * cols));
  }
}

void check_nnz(std::string_view who, std::int64_t nnz) {
  if (nnz >= kIndexLimit) {
    throw InvalidArgument(fmt::format("{}: {} nonzeros is more than CSR's int32 indices allow (at most 2^31 - 1)",
                                      who, nnz));
  }
}

// The rule both prune modes share: keep the `keep` largest |w| of a segment, ties going to the earlier position.
// Rather than sorting positions (8 bytes an entry), find the keep-th largest magnitude t with nth_element on a
// float copy; the segment then keeps every |w| > t and the first (keep - #{|w| > t}) entries with |w| == t.
struct KeepRule {
  float threshold = std::numeric_limits<float>::infinity();
  std::int64_t ties = 0;   // how many entries with |w| == threshold to keep, earliest first
  bool keep_all = false;
};

KeepRule keep_rule(std::span<const float> w, std::int64_t keep, std::vector<float>& scratch) {
  KeepRule rule;
  const auto n = std::int64_t(w.size());
  if (keep >= n) {
    rule.keep_all = true;
    return rule;
  }
  if (keep <= 0) return rule;   // threshold +inf with no ties keeps nothing, infinite weights included
  scratch.resize(w.size());
  std::transform(w.begin(), w.end(), scratch.begin(), [](float v) { return std::fabs(v); });
  const auto kth = scratch.begin() + (keep - 1);
  std::nth_element(scratch.begin(), kth, scratch.end(), std::greater<float>());
  rule.threshold = *kth;
  const auto greater = std::count_if(scratch.begin(), kth, [&](float m) { return m > rule.threshold; });
  rule.ties = keep - greater;
  return rule;
}

// Appends the entries of one row that the rule keeps (it carries its tie count across rows for global pruning).
void append_kept(std::span<const float> row, KeepRule& rule, CsrMatrix& out) {
  for (std::size_t c = 0; c < row.size(); ++c) {
    const float m = std::fabs(row[c]);
    bool keep = rule.keep_all || m > rule.threshold;
    if (!keep && m == rule.threshold && rule.ties > 0) {
      --rule.ties;
      keep = true;
    }
    if (keep) {
      out.col_idx.push_back(std::int32_t(c));
      out.values.push_back(row[c]);
    }
  }
}

std::int64_t rounded_count(double sparsity, std::int64_t total) {
  return std::llround((1.0 - sparsity) * double(total));
}

}  // namespace

double CsrMatrix::density() const {
  if (rows <= 0 || cols <= 0) return 0.0;
  return double(nnz()) / (double(rows) * double(cols));
}

std::string CsrMatrix::check() const {
  if (auto problem = shape_problem(rows, cols); !problem.empty()) return problem;
  if (std::int64_t(row_ptr.size()) != rows + 1) {
    return fmt::format("row_ptr has {} entries but rows + 1 = {}", row_ptr.size(), rows + 1);
  }
  if (col_idx.size() != values.size()) {
    return fmt::format("col_idx has {} entries but values has {}", col_idx.size(), values.size());
  }
  if (nnz() >= kIndexLimit) return fmt::format("nnz = {} is outside [0, 2^31)", nnz());
  if (row_ptr[0] != 0) return fmt::format("row_ptr[0] = {} is not 0", row_ptr[0]);
  for (std::int64_t r = 1; r <= rows; ++r) {
    if (row_ptr[r] < row_ptr[r - 1]) {
      return fmt::format("row_ptr[{}] = {} is less than row_ptr[{}] = {}", r, row_ptr[r], r - 1, row_ptr[r - 1]);
    }
  }
  if (row_ptr[rows] != nnz()) {
    return fmt::format("row_ptr[{}] = {} is not nnz = {} (the length of col_idx and values)", rows, row_ptr[rows],
                       nnz());
  }
  // Range before order, as documented: an out-of-range column is the more useful report when both are wrong.
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
      if (col_idx[k] < 0 || col_idx[k] >= cols) {
        return fmt::format("row {}: column {} at position {} is outside [0, {})", r, col_idx[k], k, cols);
      }
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = std::int64_t(row_ptr[r]) + 1; k < row_ptr[r + 1]; ++k) {
      if (col_idx[k] <= col_idx[k - 1]) {
        return fmt::format(
            "row {}: column {} at position {} is not greater than the previous column {} (columns must be sorted "
            "and unique within a row)",
            r, col_idx[k], k, col_idx[k - 1]);
      }
    }
  }
  return "";
}

void CsrMatrix::validate(std::string_view what) const {
  if (auto problem = check(); !problem.empty()) throw InvalidArgument(fmt::format("{}: {}", what, problem));
}

std::vector<float> CsrMatrix::to_dense() const {
  // Indices are written through unchecked below; an invalid matrix would write out of bounds.
  validate("CsrMatrix::to_dense");
  std::vector<float> dense(std::size_t(rows * cols), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) dense[std::size_t(r * cols + col_idx[k])] = values[k];
  }
  return dense;
}

CsrRowStats row_stats(const CsrMatrix& a) {
  a.validate("row_stats");
  CsrRowStats s;
  s.rows = a.rows;
  s.nnz = a.nnz();
  if (a.rows == 0) return s;
  s.mean = double(s.nnz) / double(a.rows);
  s.min = std::numeric_limits<std::int64_t>::max();
  double sum_sq = 0;
  for (std::int64_t r = 0; r < a.rows; ++r) {
    const std::int64_t len = a.row_ptr[r + 1] - a.row_ptr[r];
    s.min = std::min(s.min, len);
    s.max = std::max(s.max, len);
    if (len == 0) ++s.empty_rows;
    sum_sq += (double(len) - s.mean) * (double(len) - s.mean);
  }
  s.cv = s.mean > 0 ? std::sqrt(sum_sq / double(a.rows)) / s.mean : 0.0;
  return s;
}

const char* prune_mode_name(PruneMode m) noexcept {
  switch (m) {
    case PruneMode::global: return "global";
    case PruneMode::per_row: return "per_row";
  }
  return "?";
}

CsrMatrix prune_to_csr(std::span<const float> dense, std::int64_t rows, std::int64_t cols, double sparsity,
                       PruneMode mode) {
  constexpr std::string_view kWho = "prune_to_csr";
  check_dense_size(kWho, dense, rows, cols);
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
    throw InvalidArgument(fmt::format("{}: sparsity {} is outside [0, 1]", kWho, sparsity));
  }
  for (std::size_t i = 0; i < dense.size(); ++i) {
    if (std::isnan(dense[i])) {
      throw InvalidArgument(fmt::format("{}: weight at row {}, column {} is NaN (it has no magnitude to rank)", kWho,
                                        std::int64_t(i) / cols, std::int64_t(i) % cols));
    }
  }

  const std::int64_t keep_per_row = rounded_count(sparsity, cols);
  const std::int64_t keep_total =
      mode == PruneMode::global ? rounded_count(sparsity, rows * cols) : keep_per_row * rows;
  check_nnz(kWho, keep_total);

  CsrMatrix out;
  out.rows = rows;
  out.cols = cols;
  out.row_ptr.assign(std::size_t(rows + 1), 0);
  out.col_idx.reserve(std::size_t(keep_total));
  out.values.reserve(std::size_t(keep_total));
  std::vector<float> scratch;
  KeepRule rule;
  if (mode == PruneMode::global) rule = keep_rule(dense, keep_total, scratch);
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto row = dense.subspan(std::size_t(r * cols), std::size_t(cols));
    if (mode == PruneMode::per_row) rule = keep_rule(row, keep_per_row, scratch);
    append_kept(row, rule, out);
    out.row_ptr[std::size_t(r + 1)] = std::int32_t(out.col_idx.size());
  }
  return out;
}

CsrMatrix csr_from_dense(std::span<const float> dense, std::int64_t rows, std::int64_t cols) {
  constexpr std::string_view kWho = "csr_from_dense";
  check_dense_size(kWho, dense, rows, cols);
  // Counting first keeps an oversized result from being built before it is refused.
  check_nnz(kWho, std::count_if(dense.begin(), dense.end(), [](float v) { return v != 0.0f; }));
  CsrMatrix out;
  out.rows = rows;
  out.cols = cols;
  out.row_ptr.assign(std::size_t(rows + 1), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const float v = dense[std::size_t(r * cols + c)];
      if (v != 0.0f) {   // NaN compares unequal, so it is kept
        out.col_idx.push_back(std::int32_t(c));
        out.values.push_back(v);
      }
    }
    out.row_ptr[std::size_t(r + 1)] = std::int32_t(out.col_idx.size());
  }
  return out;
}

CsrMatrix csr_from_coo(std::int64_t rows, std::int64_t cols, std::span<const std::int64_t> row,
                       std::span<const std::int64_t> col, std::span<const float> values) {
  constexpr std::string_view kWho = "csr_from_coo";
  check_shape(kWho, rows, cols);
  if (row.size() != col.size() || row.size() != values.size()) {
    throw InvalidArgument(fmt::format("{}: {} rows, {} columns and {} values given; the counts must match", kWho,
                                      row.size(), col.size(), values.size()));
  }
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (row[i] < 0 || row[i] >= rows) {
      throw InvalidArgument(fmt::format("{}: triplet {}: row {} is outside [0, {})", kWho, i, row[i], rows));
    }
    if (col[i] < 0 || col[i] >= cols) {
      throw InvalidArgument(fmt::format("{}: triplet {}: column {} is outside [0, {})", kWho, i, col[i], cols));
    }
  }

  // Bucket the triplets by row (a counting sort, stable), then stable-sort each row by column so that duplicates
  // stay adjacent and in input order for summing.
  std::vector<std::int64_t> start(std::size_t(rows + 1), 0);
  for (const auto r : row) ++start[std::size_t(r + 1)];
  for (std::int64_t r = 0; r < rows; ++r) start[std::size_t(r + 1)] += start[std::size_t(r)];
  std::vector<std::size_t> order(row.size());
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < row.size(); ++i) order[std::size_t(next[std::size_t(row[i])]++)] = i;
  }

  CsrMatrix out;
  out.rows = rows;
  out.cols = cols;
  out.row_ptr.assign(std::size_t(rows + 1), 0);
  // Duplicates can only shrink the count, so the triplet count bounds the result; the check below is exact.
  out.col_idx.reserve(std::min<std::size_t>(row.size(), std::size_t(kIndexLimit - 1)));
  out.values.reserve(out.col_idx.capacity());
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto first = order.begin() + start[std::size_t(r)];
    const auto last = order.begin() + start[std::size_t(r + 1)];
    std::stable_sort(first, last, [&](std::size_t a, std::size_t b) { return col[a] < col[b]; });
    for (auto it = first; it != last;) {
      const std::int64_t c = col[*it];
      // Starting from the first value rather than 0 keeps a lone -0.0 negative.
      double sum = double(values[*it]);
      for (++it; it != last && col[*it] == c; ++it) sum += double(values[*it]);
      check_nnz(kWho, std::int64_t(out.col_idx.size()) + 1);
      out.col_idx.push_back(std::int32_t(c));
      out.values.push_back(float(sum));
    }
    out.row_ptr[std::size_t(r + 1)] = std::int32_t(out.col_idx.size());
  }
  return out;
}

}  // namespace ellesmere
