// Fuzz target: Matrix Market text (parse_matrix_market). A parsed matrix must be a valid CSR matrix, and writing it
// back and parsing again must give the same matrix bit for bit.
// Inputs whose size line declares more than 2^22 rows or columns are skipped: they are legal (an empty matrix of 2^31
// rows is a valid file of 40 bytes), but row_ptr alone then needs gigabytes, which libFuzzer reports as out of memory
// (found by the first campaign; the reader's memory grows with the declared rows by design).
#include <algorithm>
#include <cstring>
#include <sstream>

#include "ellesmere/sparse.hpp"
#include "fuzz_common.hpp"

namespace {
// The first line after the banner and comments, read as "rows cols ...": true when it declares a huge matrix.
bool declares_huge_matrix(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '%') continue;
    std::istringstream in{std::string(line)};
    double rows = 0, cols = 0;
    in >> rows >> cols;
    return rows > double(1 << 22) || cols > double(1 << 22);
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  if (declares_huge_matrix(fuzz::as_text(data, size))) return 0;
  fuzz::expect_value_or_error([&] {
    const CsrMatrix a = parse_matrix_market(fuzz::as_text(data, size), "fuzz.mtx");
    fuzz::fuzz_require(a.check().empty(), "parse_matrix_market returned an invalid CSR matrix", a.check());
    std::string text;
    try {
      text = format_matrix_market(a);
    } catch (const Error&) {
      return;   // e.g. a non-finite value, which the writer refuses by design
    }
    const CsrMatrix b = parse_matrix_market(text, "fuzz.mtx (written back)");
    const bool same = a.rows == b.rows && a.cols == b.cols && a.row_ptr == b.row_ptr && a.col_idx == b.col_idx &&
                      a.values.size() == b.values.size() &&
                      (a.values.empty() ||
                       std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0);
    fuzz::fuzz_require(same, "write then read does not give the matrix back");
  });
  return 0;
}
