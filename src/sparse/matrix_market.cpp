// Matrix Market (.mtx, NIST coordinate format) reading and writing for CsrMatrix (include/ellesmere/sparse.hpp):
// how sparse test matrices and pruned weights get in and out of tools, tests and benchmarks.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/sparse.hpp"
#include "io/file_reading.hpp"
#include "runtime/files.hpp"

namespace ellesmere {

namespace {

constexpr std::int64_t kMaxIndex = std::numeric_limits<std::int32_t>::max();   // CSR's int32 indices
// The size line is untrusted: reserve for at most this many entries up front and let the vectors grow past it.
constexpr std::int64_t kMaxReserve = std::int64_t{1} << 20;
constexpr std::size_t kMaxQuoted = 40;   // longest piece of a bad line echoed in an error
constexpr std::string_view kBanner = "%%MatrixMarket";
constexpr std::string_view kWhitespace = " \t\r\v\f";

using Field = MatrixMarketField;
using Symmetry = MatrixMarketSymmetry;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
         });
}

std::string quoted(std::string_view s) {
  if (s.size() <= kMaxQuoted) return fmt::format("\"{}\"", s);
  return fmt::format("\"{}...\"", s.substr(0, kMaxQuoted));
}

// Up to five words of a line (the banner has five); `count` keeps counting past them so that extra words can be
// reported.
struct Words {
  std::array<std::string_view, 5> word;
  std::size_t count = 0;
};

Words split_words(std::string_view line) {
  Words w;
  std::size_t pos = line.find_first_not_of(kWhitespace);
  while (pos != std::string_view::npos) {
    const std::size_t end = std::min(line.find_first_of(kWhitespace, pos), line.size());
    if (w.count < w.word.size()) w.word[w.count] = line.substr(pos, end - pos);
    ++w.count;
    pos = line.find_first_not_of(kWhitespace, end);
  }
  return w;
}

// An optional '-' and at least one digit: what parse_integer accepts, except for magnitude.
bool integer_syntax(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// The whole word as a decimal integer, or nothing (syntax error or out of int64).
std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits text into lines with their 1-based numbers; the line excludes its '\n' and any trailing whitespace
// (which covers CRLF files).
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    const std::size_t end = std::min(text_.find('\n', pos_), text_.size());
    line = text_.substr(pos_, end - pos_);
    const std::size_t last = line.find_last_not_of(kWhitespace);
    line = last == std::string_view::npos ? std::string_view{} : line.substr(0, last + 1);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  // The line last returned by next(); 1 before the first, so that an empty file's error names line 1.
  std::int64_t number() const { return std::max<std::int64_t>(number_, 1); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::int64_t number_ = 0;
};

bool is_blank_or_comment(std::string_view line) {
  const std::size_t first = line.find_first_not_of(kWhitespace);
  return first == std::string_view::npos || line[first] == '%';
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view name) : lines_(text), name_(name) {}

  // The banner and the size line only.
  MatrixMarketHeader parse_header() {
    parse_banner();
    parse_size_line();
    return {shape_rows_, shape_cols_, entries_, field_, symmetry_};
  }

  CsrMatrix parse() {
    parse_header();
    const std::int64_t mirrored = symmetry_ == Symmetry::general ? 1 : 2;
    const auto reserve = std::size_t(std::min(entries_ * mirrored, kMaxReserve));
    rows_.reserve(reserve);
    cols_.reserve(reserve);
    values_.reserve(reserve);

    std::string_view line;
    std::int64_t seen = 0;
    while (lines_.next(line)) {
      if (is_blank_or_comment(line)) continue;
      if (seen == entries_) {
        const char first = line[line.find_first_not_of(kWhitespace)];
        if (first >= '0' && first <= '9') {
          fail(fmt::format("more than the {} entries the size line promises", entries_));
        }
        fail(fmt::format("text after the last entry: {}", quoted(line)));
      }
      parse_entry(line);
      ++seen;
    }
    if (seen < entries_) {
      fail(fmt::format("end of file after {} of the {} entries the size line promises (too few entries)", seen,
                       entries_));
    }
    try {
      return csr_from_coo(shape_rows_, shape_cols_, rows_, cols_, values_);
    } catch (const InvalidArgument& e) {
      // Only the summed nonzero count can still be out of range here: entries were checked line by line.
      throw FileError(std::string(name_), e.what());
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FileError(fmt::format("{}:{}", name_, lines_.number()), what);
  }

  void parse_banner() {
    std::string_view line;
    if (!lines_.next(line)) fail("empty file (a Matrix Market file starts with a \"%%MatrixMarket\" banner)");
    const Words w = split_words(line);
    if (w.count == 0 || !iequals(w.word[0], kBanner)) {
      fail(fmt::format("missing banner: the first line is {}, expected \"%%MatrixMarket matrix coordinate <field> "
                       "<symmetry>\"",
                       quoted(line)));
    }
    if (w.count != 5) {
      fail(fmt::format("malformed banner {}: expected \"%%MatrixMarket matrix coordinate <field> <symmetry>\"",
                       quoted(line)));
    }
    const std::string_view object = w.word[1], format = w.word[2], field = w.word[3], symmetry = w.word[4];
    if (!iequals(object, "matrix")) fail(fmt::format("unsupported object {} (only \"matrix\")", quoted(object)));
    if (iequals(format, "array")) {
      fail("the \"array\" (dense) format is not supported; only \"coordinate\" (sparse) files can be read");
    }
    if (!iequals(format, "coordinate")) {
      fail(fmt::format("unknown format {} (expected \"coordinate\")", quoted(format)));
    }
    if (iequals(field, "real")) {
      field_ = Field::real;
    } else if (iequals(field, "integer")) {
      field_ = Field::integer;
    } else if (iequals(field, "pattern")) {
      field_ = Field::pattern;
    } else if (iequals(field, "complex")) {
      fail("the \"complex\" field is not supported (values are fp32 real)");
    } else {
      fail(fmt::format("unknown field {} (expected real, integer or pattern)", quoted(field)));
    }
    if (iequals(symmetry, "general")) {
      symmetry_ = Symmetry::general;
    } else if (iequals(symmetry, "symmetric")) {
      symmetry_ = Symmetry::symmetric;
    } else if (iequals(symmetry, "skew-symmetric")) {
      symmetry_ = Symmetry::skew_symmetric;
    } else if (iequals(symmetry, "hermitian")) {
      fail("the \"hermitian\" symmetry is not supported (it needs complex values)");
    } else {
      fail(fmt::format("unknown symmetry {} (expected general, symmetric or skew-symmetric)", quoted(symmetry)));
    }
    // The NIST format rules this combination out (mmio.c's mm_is_valid): a pattern has no sign to mirror.
    if (field_ == Field::pattern && symmetry_ == Symmetry::skew_symmetric) {
      fail("\"pattern skew-symmetric\" is not a valid combination (a pattern has no values to negate)");
    }
  }

  void parse_size_line() {
    std::string_view line;
    do {
      if (!lines_.next(line)) fail("end of file before the size line \"rows cols entries\"");
    } while (is_blank_or_comment(line));
    const Words w = split_words(line);
    if (w.count != 3) {
      fail(fmt::format("malformed size line {}: expected \"rows cols entries\" (three integers)", quoted(line)));
    }
    constexpr std::array<std::string_view, 3> kNames = {"rows", "cols", "entries"};
    std::array<std::int64_t, 3> size{};
    for (std::size_t i = 0; i < 3; ++i) {
      const std::string_view word = w.word[i];
      if (!integer_syntax(word)) {
        fail(fmt::format("malformed size line {}: {} {} is not an integer", quoted(line), kNames[i], quoted(word)));
      }
      const auto v = parse_integer(word);   // integer syntax, so nothing here means beyond int64
      if (word[0] == '-' && (!v || *v < 0)) {
        fail(fmt::format("negative size in the size line: {} = {}", kNames[i], word));
      }
      if (!v || *v > kMaxIndex) {
        fail(fmt::format("{} = {} is too large: CSR indices are int32 (at most 2^31 - 1 = {})", kNames[i],
                         word, kMaxIndex));
      }
      size[i] = *v;
    }
    shape_rows_ = size[0];
    shape_cols_ = size[1];
    entries_ = size[2];
    if (symmetry_ != Symmetry::general && shape_rows_ != shape_cols_) {
      fail(fmt::format("a {} matrix must be square, not {} x {}",
                       symmetry_ == Symmetry::symmetric ? "symmetric" : "skew-symmetric", shape_rows_,
                       shape_cols_));
    }
  }

  std::int64_t parse_index(std::string_view word, std::string_view what, std::int64_t size) const {
    if (!integer_syntax(word)) fail(fmt::format("{} {} is not an integer", what, quoted(word)));
    const auto v = parse_integer(word);
    if (!v || *v < 1 || *v > size) {
      fail(fmt::format("{} {} is outside [1, {}] (indices are 1-based)", what, word, size));
    }
    return *v - 1;
  }

  float parse_value(std::string_view word) const {
    // from_chars takes no '+', which some writers emit.
    if (word.size() > 1 && word[0] == '+' && word[1] != '-' && word[1] != '+') word.remove_prefix(1);
    if (field_ == Field::integer) {
      if (!integer_syntax(word)) {
        fail(fmt::format("value {} is not an integer (the file's field is \"integer\")", quoted(word)));
      }
      const auto v = parse_integer(word);
      if (!v) fail(fmt::format("integer value {} is out of range", quoted(word)));
      return float(*v);
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec == std::errc::result_out_of_range) fail(fmt::format("value {} is out of range", quoted(word)));
    if (ec != std::errc() || end != word.data() + word.size()) {
      fail(fmt::format("value {} is not a number", quoted(word)));
    }
    if (!std::isfinite(v)) fail(fmt::format("value {} is not finite", quoted(word)));
    const auto f = float(v);
    if (!std::isfinite(f)) fail(fmt::format("value {} is out of float32's range", quoted(word)));
    return f;
  }

  void parse_entry(std::string_view line) {
    const Words w = split_words(line);
    const std::size_t expected = field_ == Field::pattern ? 2 : 3;
    if (w.count < 2) {
      fail(fmt::format("malformed entry {}: expected \"row col{}\"", quoted(line),
                       field_ == Field::pattern ? "" : " value"));
    }
    const std::int64_t r = parse_index(w.word[0], "row", shape_rows_);
    const std::int64_t c = parse_index(w.word[1], "column", shape_cols_);
    if (w.count < expected) fail("missing value (entries of a real or integer file are \"row col value\")");
    if (w.count > expected) {
      if (field_ == Field::pattern) {
        fail(fmt::format("unexpected value {} in a pattern file (entries are \"row col\")", quoted(w.word[2])));
      }
      fail(fmt::format("unexpected text {} after the value", quoted(w.word[3])));
    }
    const float v = field_ == Field::pattern ? 1.0f : parse_value(w.word[2]);

    if (symmetry_ == Symmetry::symmetric && r < c) {
      fail(fmt::format("entry ({}, {}) is in the upper triangle; a symmetric file stores the lower triangle "
                       "(row >= column)",
                       r + 1, c + 1));
    }
    if (symmetry_ == Symmetry::skew_symmetric && r <= c) {
      if (r == c) {
        fail(fmt::format("diagonal entry ({}, {}) in a skew-symmetric file (its diagonal is zero and not stored)",
                         r + 1, c + 1));
      }
      fail(fmt::format("entry ({}, {}) is in the upper triangle; a skew-symmetric file stores the strict lower "
                       "triangle (row > column)",
                       r + 1, c + 1));
    }
    add(r, c, v);
    if (symmetry_ != Symmetry::general && r != c) add(c, r, symmetry_ == Symmetry::skew_symmetric ? -v : v);
  }

  void add(std::int64_t r, std::int64_t c, float v) {
    if (std::int64_t(rows_.size()) >= kMaxIndex) {
      fail(fmt::format("the expanded matrix has more than 2^31 - 1 = {} entries (CSR indices are int32)",
                       kMaxIndex));
    }
    rows_.push_back(r);
    cols_.push_back(c);
    values_.push_back(v);
  }

  LineReader lines_;
  std::string_view name_;
  Field field_ = Field::real;
  Symmetry symmetry_ = Symmetry::general;
  std::int64_t shape_rows_ = 0, shape_cols_ = 0, entries_ = 0;
  std::vector<std::int64_t> rows_, cols_;
  std::vector<float> values_;
};

}  // namespace

CsrMatrix parse_matrix_market(std::string_view text, std::string_view name) { return Parser(text, name).parse(); }

MatrixMarketHeader parse_matrix_market_header(std::string_view text, std::string_view name) {
  return Parser(text, name).parse_header();
}

CsrMatrix read_matrix_market(const std::string& path) {
  auto file = io::open_for_reading(path);
  std::string text(std::size_t(file.size), '\0');
  if (!file.stream.read(text.data(), std::streamsize(text.size()))) {
    throw FileError(path, fmt::format("read error after {} of {} bytes", file.stream.gcount(), file.size));
  }
  return parse_matrix_market(text, path);
}

std::string format_matrix_market(const CsrMatrix& a, std::string_view comment) {
  a.validate("format_matrix_market");
  // The reader refuses non-finite values (the format has no spelling for them), so refuse to write them.
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      if (!std::isfinite(a.values[k])) {
        throw InvalidArgument(fmt::format("format_matrix_market: value {} at row {}, column {} is not finite; Matrix "
                                          "Market files hold finite values only",
                                          a.values[k], r, a.col_idx[k]));
      }
    }
  }
  std::string out = "%%MatrixMarket matrix coordinate real general\n";
  // Every line of the comment becomes a '%' line, so that a newline in it cannot break the file.
  if (!comment.empty()) {
    std::size_t pos = 0;
    while (pos < comment.size()) {
      const std::size_t end = std::min(comment.find('\n', pos), comment.size());
      std::string_view line = comment.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      out += line.empty() ? "%\n" : fmt::format("% {}\n", line);
      pos = end + 1;
    }
  }
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{} {} {}\n", a.rows, a.cols, a.nnz());
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      fmt::format_to(it, "{} {} {:.9g}\n", r + 1, a.col_idx[k] + 1, a.values[k]);
    }
  }
  return out;
}

void write_matrix_market(const CsrMatrix& a, const std::string& path, std::string_view comment) {
  runtime::write_file_atomically(path, format_matrix_market(a, comment));
}

}  // namespace ellesmere
