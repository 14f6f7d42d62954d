// Tests for src/sparse (sparse.hpp): CsrMatrix::check's catalogue of violations, row statistics, magnitude pruning
// against an independent sort, the dense and COO builders, and Matrix Market reading and writing, including the
// FileError (with its line number) for each malformed file. Host only; no OpenCL device.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ellesmere/error.hpp"
#include "ellesmere/sparse.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

namespace ellesmere {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- helpers ------------------------------------------------------------------------------------------------------

// The what() of the E that f throws ("" and a failure when it throws nothing).
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return "";
}

// Prints both strings on failure, which a bare find() comparison would not.
::testing::AssertionResult contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

CsrMatrix make_csr(std::int64_t rows, std::int64_t cols, std::vector<std::int32_t> row_ptr,
                   std::vector<std::int32_t> col_idx, std::vector<float> values) {
  CsrMatrix a;
  a.rows = rows;
  a.cols = cols;
  a.row_ptr = std::move(row_ptr);
  a.col_idx = std::move(col_idx);
  a.values = std::move(values);
  return a;
}

// Random values in [-2, 2), each entry zeroed with probability 1 - density.
std::vector<float> random_dense(std::int64_t rows, std::int64_t cols, double density, std::uint64_t seed) {
  const auto n = std::size_t(rows * cols);
  auto values = reference::random_floats(n, seed, -2.0f, 2.0f);
  const auto coin = reference::random_floats(n, seed ^ 0x5eed, 0.0f, 1.0f);
  for (std::size_t i = 0; i < n; ++i) {
    if (coin[i] >= density) values[i] = 0.0f;
  }
  return values;
}

// Random values rounded to multiples of 1/4 in [-1, 1]: most magnitudes tie, and a fifth are zero.
std::vector<float> tie_heavy_dense(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  auto values = reference::random_floats(std::size_t(rows * cols), seed, -1.0f, 1.0f);
  for (auto& v : values) v = std::round(v * 4.0f) / 4.0f;
  return values;
}

// Bit patterns, so that -0.0 and 0.0 (and NaN payloads) are told apart.
std::vector<std::uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<std::uint32_t> bits(values.size());
  std::transform(values.begin(), values.end(), bits.begin(), [](float v) { return std::bit_cast<std::uint32_t>(v); });
  return bits;
}

void expect_same_matrix(const CsrMatrix& got, const CsrMatrix& want) {
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.cols, want.cols);
  EXPECT_EQ(got.row_ptr, want.row_ptr);
  EXPECT_EQ(got.col_idx, want.col_idx);
  EXPECT_EQ(bits_of(got.values), bits_of(want.values));
}

// A valid 4 x 6 matrix with an empty row; the malformed cases below each break one thing in it.
CsrMatrix base_matrix() {
  return make_csr(4, 6, {0, 2, 2, 5, 6}, {0, 3, 1, 2, 5, 4}, reference::random_floats(6, 11));
}

// ---- CsrMatrix::check / validate ----------------------------------------------------------------------------------

TEST(CsrValidate, AcceptsValidEdgeCases) {
  const std::vector<std::pair<const char*, CsrMatrix>> cases = {
      {"default (0 x 0)", CsrMatrix{}},
      {"0 x 5", make_csr(0, 5, {0}, {}, {})},
      {"5 x 0", make_csr(5, 0, {0, 0, 0, 0, 0, 0}, {}, {})},
      {"1 x 1 with its entry", make_csr(1, 1, {0, 1}, {0}, {0.75f})},
      {"1 x 1 empty", make_csr(1, 1, {0, 0}, {}, {})},
      {"all rows empty", make_csr(3, 4, {0, 0, 0, 0}, {}, {})},
      {"empty first, middle and last rows", make_csr(5, 3, {0, 0, 2, 2, 3, 3}, {0, 2, 1}, {1.5f, -2.0f, 0.25f})},
      {"base", base_matrix()},
      {"explicit zeros, NaN and inf values", make_csr(2, 3, {0, 2, 3}, {0, 2, 1}, {0.0f, kNan, -kInf})},
      {"largest column", make_csr(1, std::int64_t{1} << 30, {0, 1}, {(1 << 30) - 1}, {3.0f})},
  };
  for (const auto& [name, a] : cases) {
    SCOPED_TRACE(name);
    EXPECT_EQ(a.check(), "");
    EXPECT_NO_THROW(a.validate());
  }
}

TEST(CsrValidate, NamesEachViolation) {
  struct Case {
    const char* name;
    CsrMatrix a;
    const char* message;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto change, const char* message) {
    CsrMatrix a = base_matrix();
    change(a);
    cases.push_back({name, std::move(a), message});
  };
  add("negative rows", [](CsrMatrix& a) { a.rows = -1; }, "rows = -1 is outside [0, 2^31)");
  add("negative cols", [](CsrMatrix& a) { a.cols = -3; }, "cols = -3 is outside [0, 2^31)");
  add("rows too large", [](CsrMatrix& a) { a.rows = std::int64_t{1} << 31; }, "rows = 2147483648 is outside");
  add("cols too large", [](CsrMatrix& a) { a.cols = std::int64_t{1} << 32; }, "cols = 4294967296 is outside");
  add("row_ptr too short", [](CsrMatrix& a) { a.row_ptr.pop_back(); }, "row_ptr has 4 entries but rows + 1 = 5");
  add("row_ptr too long", [](CsrMatrix& a) { a.row_ptr.push_back(6); }, "row_ptr has 6 entries but rows + 1 = 5");
  add("values shorter than col_idx", [](CsrMatrix& a) { a.values.pop_back(); },
      "col_idx has 6 entries but values has 5");
  add("col_idx shorter than values", [](CsrMatrix& a) { a.col_idx.pop_back(); },
      "col_idx has 5 entries but values has 6");
  add("row_ptr[0] not 0", [](CsrMatrix& a) { a.row_ptr[0] = 1; }, "row_ptr[0] = 1 is not 0");
  add("decreasing row_ptr", [](CsrMatrix& a) { a.row_ptr[2] = 1; }, "row_ptr[2] = 1 is less than row_ptr[1] = 2");
  add("row_ptr[rows] != nnz", [](CsrMatrix& a) { a.row_ptr[4] = 5; }, "row_ptr[4] = 5 is not nnz = 6");
  add("negative column", [](CsrMatrix& a) { a.col_idx[3] = -1; },
      "row 2: column -1 at position 3 is outside [0, 6)");
  add("column == cols", [](CsrMatrix& a) { a.col_idx[5] = 6; }, "row 3: column 6 at position 5 is outside [0, 6)");
  add("unsorted columns", [](CsrMatrix& a) { std::swap(a.col_idx[2], a.col_idx[3]); },
      "row 2: column 1 at position 3 is not greater than the previous column 2 (columns must be sorted and unique "
      "within a row)");
  add("duplicate column", [](CsrMatrix& a) { a.col_idx[1] = 0; },
      "row 0: column 0 at position 1 is not greater than the previous column 0");
  // Both an unsorted row and an out-of-range column later on: the range check comes first, as documented.
  add("range before order",
      [](CsrMatrix& a) {
        std::swap(a.col_idx[0], a.col_idx[1]);
        a.col_idx[5] = 9;
      },
      "row 3: column 9 at position 5 is outside [0, 6)");
  ASSERT_GE(cases.size(), 10u);

  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(contains(c.a.check(), c.message));
    const std::string what = message_of<InvalidArgument>([&] { c.a.validate("weights W"); });
    EXPECT_EQ(what.rfind("weights W: ", 0), 0u) << what;
    EXPECT_TRUE(contains(what, c.message));
  }
}

TEST(CsrMatrix, DensityAndToDense) {
  const CsrMatrix a = base_matrix();
  EXPECT_DOUBLE_EQ(a.density(), 6.0 / 24.0);
  EXPECT_EQ(CsrMatrix{}.density(), 0.0);
  EXPECT_EQ(make_csr(3, 0, {0, 0, 0, 0}, {}, {}).density(), 0.0);

  const auto dense = a.to_dense();
  ASSERT_EQ(dense.size(), 24u);
  std::vector<float> want(24, 0.0f);
  const std::int64_t entry_row[] = {0, 0, 2, 2, 2, 3};
  for (std::size_t k = 0; k < 6; ++k) want[std::size_t(entry_row[k] * 6 + a.col_idx[k])] = a.values[k];
  EXPECT_EQ(bits_of(dense), bits_of(want));

  CsrMatrix bad = a;
  bad.col_idx[0] = 6;
  EXPECT_THROW(bad.to_dense(), InvalidArgument);
}

// ---- row_stats ----------------------------------------------------------------------------------------------------

TEST(CsrRowStats, HandComputed) {
  // Row lengths 2, 0, 3, 1: mean 1.5, deviations 0.5, 1.5, 1.5, 0.5, population variance 5 / 4.
  const CsrRowStats s = row_stats(base_matrix());
  EXPECT_EQ(s.rows, 4);
  EXPECT_EQ(s.nnz, 6);
  EXPECT_DOUBLE_EQ(s.mean, 1.5);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.max, 3);
  EXPECT_DOUBLE_EQ(s.cv, std::sqrt(1.25) / 1.5);
  EXPECT_EQ(s.empty_rows, 1);
}

TEST(CsrRowStats, EvenRowsAndEmptyShapes) {
  const CsrRowStats even = row_stats(make_csr(3, 5, {0, 2, 4, 6}, {0, 1, 2, 3, 3, 4}, {1, 2, 3, 4, 5, 6}));
  EXPECT_DOUBLE_EQ(even.mean, 2.0);
  EXPECT_EQ(even.min, 2);
  EXPECT_EQ(even.max, 2);
  EXPECT_EQ(even.cv, 0.0);
  EXPECT_EQ(even.empty_rows, 0);

  const CsrRowStats none = row_stats(CsrMatrix{});
  EXPECT_EQ(none.rows, 0);
  EXPECT_EQ(none.mean, 0.0);
  EXPECT_EQ(none.cv, 0.0);

  const CsrRowStats all_empty = row_stats(make_csr(4, 7, {0, 0, 0, 0, 0}, {}, {}));
  EXPECT_EQ(all_empty.mean, 0.0);
  EXPECT_EQ(all_empty.cv, 0.0);
  EXPECT_EQ(all_empty.max, 0);
  EXPECT_EQ(all_empty.empty_rows, 4);

  CsrMatrix bad = base_matrix();
  bad.row_ptr[1] = 7;
  EXPECT_THROW(row_stats(bad), InvalidArgument);
}

// ---- prune_to_csr -------------------------------------------------------------------------------------------------

// Positions (row-major) of the `keep` largest |w| among dense[begin, end), ties to the earlier position: a plain sort
// of every position, independent of the library's threshold search.
std::vector<std::int64_t> largest_positions(const std::vector<float>& dense, std::int64_t begin, std::int64_t end,
                                            std::int64_t keep) {
  std::vector<std::int64_t> order(std::size_t(end - begin));
  std::iota(order.begin(), order.end(), begin);
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    const float ma = std::fabs(dense[std::size_t(a)]), mb = std::fabs(dense[std::size_t(b)]);
    return ma != mb ? ma > mb : a < b;
  });
  order.resize(std::size_t(keep));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<std::int64_t> kept_positions(const CsrMatrix& a) {
  std::vector<std::int64_t> positions;
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) positions.push_back(r * a.cols + a.col_idx[k]);
  }
  return positions;
}

// Every kept |w| is at least every dropped |w| of the same group (the whole tensor, or one row).
void expect_kept_dominate(const std::vector<float>& dense, const std::vector<std::int64_t>& kept, std::int64_t begin,
                          std::int64_t end) {
  std::vector<bool> is_kept(std::size_t(end - begin), false);
  for (const auto p : kept) {
    if (p >= begin && p < end) is_kept[std::size_t(p - begin)] = true;
  }
  float min_kept = kInf, max_dropped = -1.0f;
  for (std::int64_t p = begin; p < end; ++p) {
    const float m = std::fabs(dense[std::size_t(p)]);
    if (is_kept[std::size_t(p - begin)]) {
      min_kept = std::min(min_kept, m);
    } else {
      max_dropped = std::max(max_dropped, m);
    }
  }
  EXPECT_GE(min_kept, max_dropped) << "in positions [" << begin << ", " << end << ")";
}

TEST(PruneToCsr, KeepsExactlyTheLargestMagnitudes) {
  struct Shape {
    std::int64_t rows, cols;
  };
  const Shape shapes[] = {{7, 13}, {1, 1}, {33, 100}, {64, 1}, {1, 77}, {0, 5}};
  const double sparsities[] = {0.0, 0.5, 0.9, 0.999, 1.0};
  std::uint64_t seed = 100;
  for (const auto [rows, cols] : shapes) {
    // Distinct magnitudes (with some exact zeros), and a tie-heavy input where the position rule decides.
    const std::vector<std::vector<float>> inputs = {random_dense(rows, cols, 0.8, seed++),
                                                    tie_heavy_dense(rows, cols, seed++)};
    for (std::size_t input = 0; input < inputs.size(); ++input) {
      const auto& dense = inputs[input];
      for (const double sparsity : sparsities) {
        for (const PruneMode mode : {PruneMode::global, PruneMode::per_row}) {
          SCOPED_TRACE(fmt::format("{} x {}, input {}, sparsity {}, {}", rows, cols, input, sparsity,
                                   prune_mode_name(mode)));
          const CsrMatrix a = prune_to_csr(dense, rows, cols, sparsity, mode);
          ASSERT_EQ(a.check(), "");
          EXPECT_EQ(a.rows, rows);
          EXPECT_EQ(a.cols, cols);

          std::vector<std::int64_t> want;
          if (mode == PruneMode::global) {
            want = largest_positions(dense, 0, rows * cols, std::llround((1.0 - sparsity) * double(rows * cols)));
          } else {
            const std::int64_t per_row = std::llround((1.0 - sparsity) * double(cols));
            for (std::int64_t r = 0; r < rows; ++r) {
              const auto row = largest_positions(dense, r * cols, (r + 1) * cols, per_row);
              want.insert(want.end(), row.begin(), row.end());
              EXPECT_EQ(a.row_ptr[r + 1] - a.row_ptr[r], per_row) << "row " << r;
            }
          }
          const auto kept = kept_positions(a);
          EXPECT_EQ(a.nnz(), std::int64_t(want.size()));
          EXPECT_EQ(kept, want);

          if (mode == PruneMode::global) {
            expect_kept_dominate(dense, kept, 0, rows * cols);
          } else {
            for (std::int64_t r = 0; r < rows; ++r) expect_kept_dominate(dense, kept, r * cols, (r + 1) * cols);
          }
          for (std::size_t k = 0; k < kept.size(); ++k) {
            EXPECT_EQ(std::bit_cast<std::uint32_t>(a.values[k]),
                      std::bit_cast<std::uint32_t>(dense[std::size_t(kept[k])]));
          }
          // Deterministic: the same call gives the same matrix.
          expect_same_matrix(prune_to_csr(dense, rows, cols, sparsity, mode), a);
        }
      }
    }
  }
}

TEST(PruneToCsr, CountsFollowTheRoundingRule) {
  const auto dense = random_dense(7, 13, 1.0, 7);
  EXPECT_EQ(prune_to_csr(dense, 7, 13, 0.5).nnz(), 46);                       // round(45.5)
  EXPECT_EQ(prune_to_csr(dense, 7, 13, 0.5, PruneMode::per_row).nnz(), 49);   // 7 rows x round(6.5)
  EXPECT_EQ(prune_to_csr(dense, 7, 13, 0.999).nnz(), 0);                      // round(0.091)
  EXPECT_EQ(prune_to_csr(dense, 7, 13, 0.99).nnz(), 1);                       // round(0.91)
  EXPECT_EQ(prune_to_csr(dense, 7, 13, 0.0).nnz(), 91);
  EXPECT_EQ(prune_to_csr(dense, 7, 13, 1.0, PruneMode::per_row).nnz(), 0);
}

TEST(PruneToCsr, TiesGoToTheEarlierPosition) {
  // |w| = 0.5 five times; keeping 4 takes the 0.75 and the three earliest 0.5s (columns 0, 1, 3).
  const std::vector<float> row = {0.5f, -0.5f, 0.75f, 0.5f, -0.5f, 0.25f, 0.5f, 0.0f};
  const CsrMatrix one = prune_to_csr(row, 1, 8, 1.0 - 4.0 / 8.0, PruneMode::per_row);
  EXPECT_EQ(one.col_idx, (std::vector<std::int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(one.values, (std::vector<float>{0.5f, -0.5f, 0.75f, 0.5f}));

  // Globally the tie at the threshold spans rows: the earliest positions in row-major order win.
  const std::vector<float> grid = {0.25f, -0.5f, 0.5f,    // row 0
                                   -0.5f, 0.5f, 1.0f};    // row 1
  const CsrMatrix g = prune_to_csr(grid, 2, 3, 0.5);      // keeps 3: the 1.0, then the first two 0.5s
  EXPECT_EQ(g.row_ptr, (std::vector<std::int32_t>{0, 2, 3}));
  EXPECT_EQ(g.col_idx, (std::vector<std::int32_t>{1, 2, 2}));
  EXPECT_EQ(g.values, (std::vector<float>{-0.5f, 0.5f, 1.0f}));
}

TEST(PruneToCsr, KeepsZerosOnlyToReachTheCount) {
  const std::vector<float> dense = {0.0f, 3.0f, -0.0f, 0.0f, -1.0f, 0.0f};
  const CsrMatrix two = prune_to_csr(dense, 2, 3, 1.0 - 2.0 / 6.0);
  EXPECT_EQ(kept_positions(two), (std::vector<std::int64_t>{1, 4}));
  // Four kept: both nonzeros, then the two earliest zeros (explicit zeros in the result, -0.0 kept as it is).
  const CsrMatrix four = prune_to_csr(dense, 2, 3, 1.0 - 4.0 / 6.0);
  EXPECT_EQ(kept_positions(four), (std::vector<std::int64_t>{0, 1, 2, 4}));
  EXPECT_TRUE(std::signbit(four.values[2]));
}

TEST(PruneToCsr, InfinitiesRankFirst) {
  const std::vector<float> dense = {1.0f, -kInf, 2.0f, kInf};
  EXPECT_EQ(kept_positions(prune_to_csr(dense, 1, 4, 0.5)), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(prune_to_csr(dense, 1, 4, 1.0).nnz(), 0);
}

TEST(PruneToCsr, RejectsBadArguments) {
  const auto dense = random_dense(3, 4, 1.0, 3);
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { prune_to_csr(dense, 3, 5, 0.5); }),
                       "has 12 values but 3 x 5 needs 15"));
  for (const double bad : {-0.1, 1.5, std::nan(""), -std::numeric_limits<double>::infinity()}) {
    const std::string what = message_of<InvalidArgument>([&] { prune_to_csr(dense, 3, 4, bad); });
    EXPECT_TRUE(contains(what, "is outside [0, 1]"));
  }
  auto with_nan = dense;
  with_nan[6] = kNan;
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { prune_to_csr(with_nan, 3, 4, 0.5); }),
                       "weight at row 1, column 2 is NaN"));
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { prune_to_csr({}, -1, 4, 0.5); }), "rows = -1"));
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { prune_to_csr({}, 0, std::int64_t{1} << 31, 0.5); }),
                       "cols = 2147483648"));
}

TEST(PruneToCsr, ModeNames) {
  EXPECT_STREQ(prune_mode_name(PruneMode::global), "global");
  EXPECT_STREQ(prune_mode_name(PruneMode::per_row), "per_row");
}

// ---- csr_from_dense / csr_from_coo --------------------------------------------------------------------------------

TEST(CsrFromDense, RoundTripsThroughToDense) {
  struct Shape {
    std::int64_t rows, cols;
    double density;
  };
  std::uint64_t seed = 300;
  for (const auto [rows, cols, density] : {Shape{7, 13, 0.3}, Shape{1, 1, 1.0}, Shape{33, 100, 0.05},
                                           Shape{5, 0, 0.5}, Shape{16, 16, 1.0}}) {
    SCOPED_TRACE(fmt::format("{} x {}", rows, cols));
    const auto dense = random_dense(rows, cols, density, seed++);
    const CsrMatrix a = csr_from_dense(dense, rows, cols);
    ASSERT_EQ(a.check(), "");
    EXPECT_EQ(a.nnz(), std::count_if(dense.begin(), dense.end(), [](float v) { return v != 0.0f; }));
    EXPECT_EQ(bits_of(a.to_dense()), bits_of(dense));
  }
}

TEST(CsrFromDense, DropsBothZerosKeepsNan) {
  const std::vector<float> dense = {0.0f, -0.0f, kNan, 2.5f};
  const CsrMatrix a = csr_from_dense(dense, 2, 2);
  EXPECT_EQ(a.row_ptr, (std::vector<std::int32_t>{0, 0, 2}));
  EXPECT_EQ(a.col_idx, (std::vector<std::int32_t>{0, 1}));
  EXPECT_TRUE(std::isnan(a.values[0]));
  EXPECT_THROW(csr_from_dense(dense, 1, 3), InvalidArgument);
  EXPECT_THROW(csr_from_dense({}, 0, -2), InvalidArgument);
}

TEST(CsrFromCoo, SortsAndSumsDuplicates) {
  // Any order, and (1, 2) three times.
  const std::vector<std::int64_t> row = {2, 1, 0, 1, 0, 1, 2};
  const std::vector<std::int64_t> col = {0, 2, 3, 2, 0, 2, 1};
  const std::vector<float> val = {1.5f, 0.25f, -1.0f, 0.5f, 2.0f, -0.125f, 3.0f};
  const CsrMatrix a = csr_from_coo(3, 4, row, col, val);
  const CsrMatrix want = make_csr(3, 4, {0, 2, 3, 5}, {0, 3, 2, 0, 1}, {2.0f, -1.0f, 0.625f, 1.5f, 3.0f});
  expect_same_matrix(a, want);
}

TEST(CsrFromCoo, SumsInDoubleAndRoundsOnce) {
  // In float, 1 + 2^-24 rounds back to 1 twice over; in double the two halves add up to a representable 2^-23.
  const float tiny = std::ldexp(1.0f, -24);
  const std::vector<std::int64_t> row = {0, 0, 0}, col = {1, 1, 1};
  const CsrMatrix a = csr_from_coo(1, 2, row, col, std::vector<float>{1.0f, tiny, tiny});
  ASSERT_EQ(a.nnz(), 1);
  EXPECT_EQ(a.values[0], 1.0f + std::ldexp(1.0f, -23));
  // A single entry keeps its exact bits, -0.0 included, and an explicit zero is kept.
  const CsrMatrix z = csr_from_coo(1, 2, std::vector<std::int64_t>{0}, std::vector<std::int64_t>{0},
                                   std::vector<float>{-0.0f});
  ASSERT_EQ(z.nnz(), 1);
  EXPECT_TRUE(std::signbit(z.values[0]));
}

TEST(CsrFromCoo, MatchesDenseAccumulationOnRandomTriplets) {
  const std::int64_t rows = 9, cols = 17, count = 400;   // 400 triplets in 153 cells: many duplicates
  const auto r = reference::random_floats(count, 41, 0.0f, float(rows));
  const auto c = reference::random_floats(count, 42, 0.0f, float(cols));
  const auto values = reference::random_floats(count, 43, -1.0f, 1.0f);
  std::vector<std::int64_t> row(count), col(count);
  std::vector<double> sum(std::size_t(rows * cols), 0.0);
  std::vector<bool> present(sum.size(), false);
  for (std::int64_t i = 0; i < count; ++i) {
    row[std::size_t(i)] = std::int64_t(r[std::size_t(i)]);
    col[std::size_t(i)] = std::int64_t(c[std::size_t(i)]);
    const auto cell = std::size_t(row[std::size_t(i)] * cols + col[std::size_t(i)]);
    sum[cell] += values[std::size_t(i)];
    present[cell] = true;
  }
  const CsrMatrix a = csr_from_coo(rows, cols, row, col, values);
  ASSERT_EQ(a.check(), "");
  EXPECT_EQ(a.nnz(), std::count(present.begin(), present.end(), true));
  std::vector<float> want(sum.size());
  std::transform(sum.begin(), sum.end(), want.begin(), [](double s) { return float(s); });
  EXPECT_EQ(a.to_dense(), want);
}

TEST(CsrFromCoo, NamesTheFirstBadTriplet) {
  const std::vector<std::int64_t> row = {0, 3, 7, 9, 8}, col = {0, 1, 2, 1, 5};
  const std::vector<float> val = reference::random_floats(5, 5);
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { csr_from_coo(8, 4, row, col, val); }),
                       "triplet 3: row 9 is outside [0, 8)"));
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { csr_from_coo(10, 4, row, col, val); }),
                       "triplet 4: column 5 is outside [0, 4)"));
  const std::vector<std::int64_t> negative = {0, 0, -1, 0, 0};
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { csr_from_coo(10, 6, row, negative, val); }),
                       "triplet 2: column -1 is outside"));
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { csr_from_coo(10, 6, row, col, std::span(val).first(4)); }),
                       "the counts must match"));
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { csr_from_coo(-2, 6, {}, {}, {}); }), "rows = -2"));
}

// ---- Matrix Market ------------------------------------------------------------------------------------------------

TEST(MatrixMarket, RoundTripsRandomMatricesBitExactly) {
  struct Shape {
    std::int64_t rows, cols;
    double density;
  };
  testing::TempDir dir("mtx");
  std::uint64_t seed = 500;
  for (const auto [rows, cols, density] : {Shape{7, 13, 0.3}, Shape{1, 1, 1.0}, Shape{33, 100, 0.05},
                                           Shape{4, 0, 0.0}, Shape{0, 0, 0.0}, Shape{50, 3, 0.9}}) {
    SCOPED_TRACE(fmt::format("{} x {}", rows, cols));
    auto dense = random_dense(rows, cols, density, seed++);
    // Scale a spread of magnitudes in, so that the 9 significant digits matter at every exponent.
    const auto exponents = reference::random_floats(dense.size(), seed++, -40.0f, 40.0f);
    for (std::size_t i = 0; i < dense.size(); ++i) dense[i] = std::ldexp(dense[i], int(exponents[i]));
    const CsrMatrix a = csr_from_dense(dense, rows, cols);
    const std::string path = (dir.path() / fmt::format("m{}x{}.mtx", rows, cols)).string();
    write_matrix_market(a, path, "random test matrix");
    expect_same_matrix(read_matrix_market(path), a);
    expect_same_matrix(parse_matrix_market(format_matrix_market(a)), a);
  }
}

TEST(MatrixMarket, RoundTripsExtremeValues) {
  const std::vector<float> values = {std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                                     -std::numeric_limits<float>::min(), -0.0f, 0.1f, 1.0f / 3.0f, -16777217.0f,
                                     std::nextafter(1.0f, 2.0f)};
  const auto n = std::int32_t(values.size());
  std::vector<std::int32_t> row_ptr(std::size_t(n) + 1), col_idx(std::size_t(n), 0);
  std::iota(row_ptr.begin(), row_ptr.end(), 0);
  const CsrMatrix a = make_csr(n, 1, row_ptr, col_idx, values);
  expect_same_matrix(parse_matrix_market(format_matrix_market(a)), a);
}

TEST(MatrixMarket, FormatsTheDocumentedText) {
  const CsrMatrix a = make_csr(3, 4, {0, 2, 2, 3}, {1, 3, 0}, {0.1f, -2.0f, 1e-20f});
  EXPECT_EQ(format_matrix_market(a, "pruned W\nsparsity 0.9\r\n\nend"),
            "%%MatrixMarket matrix coordinate real general\n"
            "% pruned W\n"
            "% sparsity 0.9\n"
            "%\n"
            "% end\n"
            "3 4 3\n"
            "1 2 0.100000001\n"
            "1 4 -2\n"
            "3 1 9.99999968e-21\n");
  EXPECT_EQ(format_matrix_market(CsrMatrix{}), "%%MatrixMarket matrix coordinate real general\n0 0 0\n");
}

TEST(MatrixMarket, WriterRejectsInvalidMatricesAndUnwritablePaths) {
  CsrMatrix bad = base_matrix();
  bad.row_ptr[0] = 1;
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { format_matrix_market(bad); }), "row_ptr[0] = 1 is not 0"));
  const CsrMatrix with_nan = make_csr(1, 2, {0, 1}, {1}, {kNan});
  EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { format_matrix_market(with_nan); }), "not finite"));
  testing::TempDir dir("mtx");
  // The target is an existing directory: the final rename cannot replace it.
  EXPECT_THROW(write_matrix_market(base_matrix(), dir.str()), FileError);
}

TEST(MatrixMarket, ParsesEveryFieldAndSymmetry) {
  struct Case {
    const char* text;
    std::int64_t rows, cols;
    std::vector<float> dense;
  };
  const Case cases[] = {
      {"%%MatrixMarket matrix coordinate real general\n3 4 4\n1 1 1.5\n3 4 -2.25\n2 2 1e-3\n1 3 4\n", 3, 4,
       {1.5f, 0, 4, 0, /**/ 0, 1e-3f, 0, 0, /**/ 0, 0, 0, -2.25f}},
      {"%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 0.5\n3 1 -1.25\n3 2 2\n", 3, 3,
       {0.5f, 0, -1.25f, /**/ 0, 0, 2, /**/ -1.25f, 2, 0}},
      {"%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 0.75\n3 2 -3.5\n", 3, 3,
       {0, -0.75f, 0, /**/ 0.75f, 0, 3.5f, /**/ 0, -3.5f, 0}},
      {"%%MatrixMarket matrix coordinate integer general\n2 3 3\n2 3 -7\n1 1 12\n1 2 0\n", 2, 3,
       {12, 0, 0, /**/ 0, 0, -7}},
      {"%%MatrixMarket matrix coordinate integer symmetric\n3 3 3\n1 1 5\n3 1 -2\n3 2 7\n", 3, 3,
       {5, 0, -2, /**/ 0, 0, 7, /**/ -2, 7, 0}},
      {"%%MatrixMarket matrix coordinate integer skew-symmetric\n2 2 1\n2 1 9\n", 2, 2, {0, -9, /**/ 9, 0}},
      {"%%MatrixMarket matrix coordinate pattern general\n2 4 3\n1 4\n2 1\n2 2\n", 2, 4,
       {0, 0, 0, 1, /**/ 1, 1, 0, 0}},
      {"%%MatrixMarket matrix coordinate pattern symmetric\n3 3 3\n2 2\n3 1\n2 1\n", 3, 3,
       {0, 1, 1, /**/ 1, 1, 0, /**/ 1, 0, 0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const CsrMatrix a = parse_matrix_market(c.text, "case.mtx");
    ASSERT_EQ(a.check(), "");
    EXPECT_EQ(a.rows, c.rows);
    EXPECT_EQ(a.cols, c.cols);
    EXPECT_EQ(a.to_dense(), c.dense);
  }
}

TEST(MatrixMarket, ToleratesCommentsBlankLinesCaseAndLineEndings) {
  const CsrMatrix want = make_csr(2, 3, {0, 2, 3}, {0, 2, 1}, {1.5f, -2.0f, 0.25f});
  const std::string texts[] = {
      "%%MatrixMarket matrix coordinate real general\n% a comment\n%\n\n   \n2 3 3\n1 1 1.5\n\n% between\n"
      "1 3 -2\n2 2 0.25\n\n% trailing comment\n",
      "%%matrixmarket MATRIX Coordinate REAL General\n2 3 3\n1 1 1.5\n1 3 -2\n2 2 0.25",   // no final newline
      "%%MatrixMarket matrix coordinate real general\r\n% crlf\r\n2 3 3\r\n1 1 1.5\r\n1 3 -2\r\n2 2 0.25\r\n",
      "%%MatrixMarket  matrix\tcoordinate real general  \n 2  3\t3 \n\t1 1 +1.5 \n1 3 -2.0e0\t\n2 2 .25   \n",
      // Duplicates are summed: 1.5 = 1 + 0.5, -2 = -3 + 1.
      "%%MatrixMarket matrix coordinate real general\n2 3 5\n1 1 1\n1 3 -3\n2 2 0.25\n1 1 0.5\n1 3 1\n",
  };
  for (const auto& text : texts) {
    SCOPED_TRACE(text);
    expect_same_matrix(parse_matrix_market(text), want);
  }
}

TEST(MatrixMarket, RejectsMalformedFilesWithTheLine) {
  const std::string kReal = "%%MatrixMarket matrix coordinate real general\n";
  const std::string kInteger = "%%MatrixMarket matrix coordinate integer general\n";
  const std::string kPattern = "%%MatrixMarket matrix coordinate pattern general\n";
  const std::string kSymmetric = "%%MatrixMarket matrix coordinate real symmetric\n";
  const std::string kSkew = "%%MatrixMarket matrix coordinate real skew-symmetric\n";
  struct Case {
    std::string text;
    int line;
    const char* reason;
  };
  const Case cases[] = {
      {"", 1, "empty file"},
      {"\n\n", 1, "missing banner"},
      {"%MatrixMarket matrix coordinate real general\n1 1 0\n", 1, "missing banner"},
      {"3 3 1\n1 1 1.0\n", 1, "missing banner"},
      {"%%MatrixMarket matrix coordinate real\n1 1 0\n", 1, "malformed banner"},
      {"%%MatrixMarket matrix coordinate real general extra\n1 1 0\n", 1, "malformed banner"},
      {"%%MatrixMarket vector coordinate real general\n1 1 0\n", 1, "unsupported object \"vector\""},
      {"%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n", 1, "\"array\" (dense) format is not supported"},
      {"%%MatrixMarket matrix sparse real general\n1 1 0\n", 1, "unknown format \"sparse\""},
      {"%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", 1, "\"complex\" field is not supported"},
      {"%%MatrixMarket matrix coordinate double general\n1 1 0\n", 1, "unknown field \"double\""},
      {"%%MatrixMarket matrix coordinate real hermitian\n1 1 0\n", 1, "\"hermitian\" symmetry is not supported"},
      {"%%MatrixMarket matrix coordinate real upper\n1 1 0\n", 1, "unknown symmetry \"upper\""},
      {"%%MatrixMarket matrix coordinate pattern skew-symmetric\n2 2 1\n2 1\n", 1, "not a valid combination"},
      {kReal + "% only a comment\n\n", 3, "end of file before the size line"},
      {kReal, 1, "end of file before the size line"},
      {kReal + "3 3\n1 1 1.0\n", 2, "malformed size line \"3 3\""},
      {kReal + "3 3 1 1\n1 1 1.0\n", 2, "malformed size line"},
      {kReal + "3 x 1\n1 1 1.0\n", 2, "cols \"x\" is not an integer"},
      {kReal + "3 3 1.0\n1 1 1.0\n", 2, "entries \"1.0\" is not an integer"},
      {kReal + "-3 3 1\n1 1 1.0\n", 2, "negative size in the size line: rows = -3"},
      {kReal + "3 3 -1\n", 2, "negative size in the size line: entries = -1"},
      {kReal + "2147483648 1 0\n", 2, "rows = 2147483648 is too large"},
      {kReal + "1 99999999999999999999 0\n", 2, "cols = 99999999999999999999 is too large"},
      {kReal + "2 2 2147483648\n", 2, "entries = 2147483648 is too large"},
      {kSymmetric + "2 3 0\n", 2, "a symmetric matrix must be square, not 2 x 3"},
      {kReal + "% c\n3 5 2\n1 2 1.0\n1 0 1.5\n", 5, "column 0 is outside [1, 5] (indices are 1-based)"},
      {kReal + "3 5 1\n0 1 1.5\n", 3, "row 0 is outside [1, 3] (indices are 1-based)"},
      {kReal + "3 5 1\n4 1 1.5\n", 3, "row 4 is outside [1, 3]"},
      {kReal + "3 5 1\n1 6 1.5\n", 3, "column 6 is outside [1, 5]"},
      {kReal + "3 5 1\n-1 1 1.5\n", 3, "row -1 is outside [1, 3]"},
      {kReal + "3 5 1\n1.0 1 1.5\n", 3, "row \"1.0\" is not an integer"},
      {kReal + "3 5 1\n1\n", 3, "malformed entry \"1\""},
      {kReal + "3 5 1\n1 1 abc\n", 3, "value \"abc\" is not a number"},
      {kReal + "3 5 1\n1 1 1.5x\n", 3, "value \"1.5x\" is not a number"},
      {kInteger + "3 5 2\n1 1 2\n2 1 1.5\n", 4, "value \"1.5\" is not an integer"},
      {kInteger + "3 5 1\n1 1 1e3\n", 3, "value \"1e3\" is not an integer"},
      {kReal + "3 5 2\n1 1 1.0\n\n2 2\n", 5, "missing value"},
      {kInteger + "3 5 1\n1 1\n", 3, "missing value"},
      {kPattern + "3 5 1\n1 1 1.0\n", 3, "unexpected value \"1.0\" in a pattern file"},
      {kReal + "3 5 1\n1 1 1.0 2.0\n", 3, "unexpected text \"2.0\" after the value"},
      {kReal + "3 5 3\n1 1 1.0\n2 2 2.0\n", 4, "end of file after 2 of the 3 entries"},
      {kReal + "3 5 3\n1 1 1.0\n2 2 2.0\n\n% more?\n", 6, "end of file after 2 of the 3 entries"},
      {kReal + "3 5 2\n1 1 1.0\n2 2 2.0\n3 3 3.0\n", 5, "more than the 2 entries the size line promises"},
      {kReal + "3 5 1\n1 1 1.0\nthe end\n", 4, "text after the last entry: \"the end\""},
      {kSymmetric + "3 3 2\n1 1 1.0\n1 2 1.0\n", 4, "entry (1, 2) is in the upper triangle"},
      {kSkew + "3 3 2\n2 1 1.0\n2 2 1.0\n", 4, "diagonal entry (2, 2) in a skew-symmetric file"},
      {kSkew + "3 3 1\n1 3 1.0\n", 3, "entry (1, 3) is in the upper triangle; a skew-symmetric file"},
      {kReal + "3 5 1\n1 1 inf\n", 3, "value \"inf\" is not finite"},
      {kReal + "3 5 1\n1 1 -nan\n", 3, "value \"-nan\" is not finite"},
      {kReal + "3 5 1\n1 1 1e39\n", 3, "value \"1e39\" is out of float32's range"},
      {kReal + "3 5 1\n1 1 1e999\n", 3, "value \"1e999\" is out of range"},
      // CRLF and comments must not throw the line count off.
      {"%%MatrixMarket matrix coordinate real general\r\n%\r\n\r\n2 2 2\r\n1 1 1\r\n2 9 1\r\n", 6,
       "column 9 is outside [1, 2]"},
  };
  int checked = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string what = message_of<FileError>([&] { parse_matrix_market(c.text, "m.mtx"); });
    const std::string where = fmt::format("m.mtx:{}: ", c.line);
    EXPECT_EQ(what.rfind(where, 0), 0u) << what;
    EXPECT_TRUE(contains(what, c.reason));
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

TEST(MatrixMarket, AcceptsEmptyMatrices) {
  const CsrMatrix a = parse_matrix_market("%%MatrixMarket matrix coordinate real general\n3 5 0\n");
  EXPECT_EQ(a.rows, 3);
  EXPECT_EQ(a.cols, 5);
  EXPECT_EQ(a.nnz(), 0);
  EXPECT_EQ(parse_matrix_market("%%MatrixMarket matrix coordinate pattern symmetric\n0 0 0\n").rows, 0);
}

TEST(MatrixMarket, HeaderReadsTheDeclarationWithoutTheEntries) {
  struct Case {
    std::string text;
    MatrixMarketHeader want;
  };
  const Case cases[] = {
      {"%%MatrixMarket matrix coordinate real general\n3 5 2\n1 1 1.0\n2 2 2.0\n",
       {3, 5, 2, MatrixMarketField::real, MatrixMarketSymmetry::general}},
      {"%%MatrixMarket matrix coordinate integer symmetric\n% c\n\n7 7 1\n",   // entries not read
       {7, 7, 1, MatrixMarketField::integer, MatrixMarketSymmetry::symmetric}},
      {"%%MatrixMarket matrix coordinate pattern general\r\n  % indented comment\r\n\v\r\n 4\t9 0 \r\n",
       {4, 9, 0, MatrixMarketField::pattern, MatrixMarketSymmetry::general}},
      {"%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\nnot an entry\n",
       {2, 2, 1, MatrixMarketField::real, MatrixMarketSymmetry::skew_symmetric}},
      // The file that made the fuzz target run out of memory: valid, 2^31 - 1 empty rows behind an indented
      // comment (fuzz/regressions/matrix_market/).
      {"%%MatrixMarket matrix coordinate real general\n  % indented comment\n2147483647 1 0\n",
       {2147483647, 1, 0, MatrixMarketField::real, MatrixMarketSymmetry::general}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const MatrixMarketHeader h = parse_matrix_market_header(c.text, "h.mtx");
    EXPECT_EQ(h.rows, c.want.rows);
    EXPECT_EQ(h.cols, c.want.cols);
    EXPECT_EQ(h.entries, c.want.entries);
    EXPECT_EQ(h.field, c.want.field);
    EXPECT_EQ(h.symmetry, c.want.symmetry);
  }
  // The same shape as the whole read, where the whole read succeeds.
  const std::string small = "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 2\n2 1\n3 3\n";
  const CsrMatrix a = parse_matrix_market(small);
  const MatrixMarketHeader h = parse_matrix_market_header(small);
  EXPECT_EQ(h.rows, a.rows);
  EXPECT_EQ(h.cols, a.cols);
  EXPECT_EQ(h.entries, 2);
  EXPECT_EQ(a.nnz(), 3);   // mirrored
}

TEST(MatrixMarket, HeaderErrorsAreTheFileErrors) {
  const std::string kReal = "%%MatrixMarket matrix coordinate real general\n";
  const std::string bad[] = {
      "",
      "3 3 1\n1 1 1.0\n",
      "%%MatrixMarket matrix array real general\n2 2\n",
      "%%MatrixMarket matrix coordinate pattern skew-symmetric\n2 2 1\n2 1\n",
      kReal + "% only a comment\n",
      kReal + "3 3\n",
      kReal + "-3 3 1\n",
      kReal + "2147483648 1 0\n",
      "%%MatrixMarket matrix coordinate real symmetric\n2 3 0\n",
  };
  for (const auto& text : bad) {
    SCOPED_TRACE(text);
    const std::string header_error = message_of<FileError>([&] { parse_matrix_market_header(text, "m.mtx"); });
    EXPECT_EQ(header_error, message_of<FileError>([&] { parse_matrix_market(text, "m.mtx"); }));
    EXPECT_EQ(header_error.rfind("m.mtx:", 0), 0u) << header_error;
  }
  // Errors after the size line are not the header's business.
  EXPECT_EQ(parse_matrix_market_header(kReal + "3 5 1\n0 1 1.5\n").rows, 3);
}

TEST(MatrixMarket, ReadNamesThePath) {
  testing::TempDir dir("mtx");
  dir.write("bad.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n");
  const std::string bad = (dir.path() / "bad.mtx").string();
  const std::string what = message_of<FileError>([&] { read_matrix_market(bad); });
  EXPECT_TRUE(contains(what, bad + ":3: row 3 is outside [1, 2]"));

  dir.write("good.mtx", "%%MatrixMarket matrix coordinate pattern symmetric\n2 2 1\n2 1\n");
  EXPECT_EQ(read_matrix_market((dir.path() / "good.mtx").string()).to_dense(), (std::vector<float>{0, 1, 1, 0}));
}

TEST(MatrixMarket, ReadRejectsMissingFilesAndDirectories) {
  testing::TempDir dir("mtx");
  const std::string missing = (dir.path() / "missing.mtx").string();
  EXPECT_TRUE(contains(message_of<FileError>([&] { read_matrix_market(missing); }), missing));
  EXPECT_TRUE(contains(message_of<FileError>([&] { read_matrix_market(dir.str()); }), "is a directory"));
}

}  // namespace
}  // namespace ellesmere
