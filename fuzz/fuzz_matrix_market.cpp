// Fuzz target: Matrix Market text (parse_matrix_market). A parsed matrix must be a valid CSR matrix, and writing it
// back and parsing again must give the same matrix bit for bit.
// Inputs that declare more than 2^22 rows are skipped: they are legal (an entry-less matrix of 2^31 - 1 rows is a
// valid file of 40 bytes), but parse_matrix_market then builds row_ptr and its row buckets for every declared row,
// gigabytes, which libFuzzer reports as out of memory. The skip asks parse_matrix_market_header, the reader's own
// banner and size-line parser, what the file declares: a text filter of its own once disagreed with the reader
// about which line is the size line (an indented '%' comment), and CI's run found a file it let through.
#include <cstring>
#include <optional>
#include <string>

#include "ellesmere/sparse.hpp"
#include "fuzz_common.hpp"

namespace {
constexpr std::int64_t kMaxFuzzedRows = std::int64_t{1} << 22;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ellesmere;
  const std::string_view text = fuzz::as_text(data, size);
  std::optional<MatrixMarketHeader> header;
  std::string header_error;
  try {
    header = parse_matrix_market_header(text, "fuzz.mtx");
  } catch (const Error& e) {
    header_error = e.what();
  }
  if (header && header->rows > kMaxFuzzedRows) return 0;
  fuzz::expect_value_or_error([&] {
    CsrMatrix a;
    try {
      a = parse_matrix_market(text, "fuzz.mtx");
    } catch (const Error& e) {
      // Both readers stop at the same bad banner or size line with the same message.
      if (!header) fuzz::fuzz_require(header_error == e.what(), "the header and the file errors differ", e.what());
      throw;
    }
    fuzz::fuzz_require(header.has_value(), "a file read whole whose header was refused", header_error);
    fuzz::fuzz_require(header->rows == a.rows && header->cols == a.cols, "the header and the matrix disagree on shape");
    fuzz::fuzz_require(a.check().empty(), "parse_matrix_market returned an invalid CSR matrix", a.check());
    std::string written;
    try {
      written = format_matrix_market(a);
    } catch (const Error&) {
      return;   // e.g. a non-finite value, which the writer refuses by design
    }
    const CsrMatrix b = parse_matrix_market(written, "fuzz.mtx (written back)");
    const bool same = a.rows == b.rows && a.cols == b.cols && a.row_ptr == b.row_ptr && a.col_idx == b.col_idx &&
                      a.values.size() == b.values.size() &&
                      (a.values.empty() ||
                       std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0);
    fuzz::fuzz_require(same, "write then read does not give the matrix back");
  });
  return 0;
}
