// Canonical problem text parsing, the nearest-problem distance, and GemmProblem's text form.
#include "ops/problem_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/ops.hpp"

namespace ellesmere {

namespace ops {

ProblemText ProblemText::parse(std::string_view text) {
  ProblemText p;
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw InvalidArgument(fmt::format("problem \"{}\" is not of the form <op>:<fields> (e.g. gemm_f32:m64n64k64)",
                                      text));
  }
  p.op = std::string(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  std::size_t pos = 0;
  while (pos < rest.size()) {
    if (rest[pos] == '_') {   // separates flags: "k64_ta_tb"
      ++pos;
      continue;
    }
    std::size_t start = pos;
    while (pos < rest.size() && std::isalpha(static_cast<unsigned char>(rest[pos]))) ++pos;
    std::string name(rest.substr(start, pos - start));
    if (name.empty()) {
      throw InvalidArgument(fmt::format("problem \"{}\": expected a field name at \"{}\"", text, rest.substr(pos)));
    }
    std::size_t num_start = pos;
    while (pos < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[pos])) || rest[pos] == '.')) ++pos;
    if (num_start == pos) {
      if (!p.flags.insert(name).second) {
        throw InvalidArgument(fmt::format("problem \"{}\": flag {} given twice", text, name));
      }
      continue;
    }
    double value = 0;
    auto r = std::from_chars(rest.data() + num_start, rest.data() + pos, value);
    if (r.ec != std::errc() || r.ptr != rest.data() + pos) {
      throw InvalidArgument(fmt::format("problem \"{}\": bad number for field {}", text, name));
    }
    if (!p.fields.emplace(name, value).second) {
      throw InvalidArgument(fmt::format("problem \"{}\": field {} given twice", text, name));
    }
  }
  return p;
}

ProblemText ProblemText::parse_op(std::string_view text, std::string_view op) {
  ProblemText p = parse(text);
  if (p.op != op) throw InvalidArgument(fmt::format("problem \"{}\" is a {} problem, not {}", text, p.op, op));
  return p;
}

std::int64_t ProblemText::integer(std::string_view text, const std::string& name) const {
  auto it = fields.find(name);
  if (it == fields.end()) throw InvalidArgument(fmt::format("problem \"{}\": missing {}", text, name));
  const double v = it->second;
  if (v < 0 || v != std::floor(v) || v >= 2147483648.0) {
    throw InvalidArgument(fmt::format("problem \"{}\": {} must be an integer in [0, 2^31)", text, name));
  }
  return std::int64_t(v);
}

void ProblemText::expect_only(std::string_view text, std::initializer_list<std::string_view> names) const {
  for (const auto& [name, v] : fields) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      throw InvalidArgument(fmt::format("problem \"{}\": unknown field {}", text, name));
    }
  }
}

double problem_distance(const ProblemText& a, const ProblemText& b) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (a.op != b.op || a.flags != b.flags || a.fields.size() != b.fields.size()) return kInf;
  double d = 0;
  for (const auto& [name, va] : a.fields) {
    auto it = b.fields.find(name);
    if (it == b.fields.end()) return kInf;
    d += std::abs(std::log2(va + 1) - std::log2(it->second + 1));
  }
  return d;
}

}  // namespace ops

std::string GemmProblem::str() const {
  return fmt::format("gemm_f32:m{}n{}k{}{}{}", m, n, k, trans_a ? "_ta" : "", trans_b ? "_tb" : "");
}

GemmProblem GemmProblem::parse(std::string_view text) {
  const auto p = ops::ProblemText::parse_op(text, "gemm_f32");
  GemmProblem g;
  g.m = p.integer(text, "m");
  g.n = p.integer(text, "n");
  g.k = p.integer(text, "k");
  p.expect_only(text, {"m", "n", "k"});
  for (const auto& f : p.flags) {
    if (f == "ta") {
      g.trans_a = true;
    } else if (f == "tb") {
      g.trans_b = true;
    } else {
      throw InvalidArgument(fmt::format("problem \"{}\": unknown flag {} (gemm_f32 knows ta, tb)", text, f));
    }
  }
  return g;
}

}  // namespace ellesmere
