// The canonical problem text "<op>:<fields>", e.g. "gemm_f32:m64n64k64_tb": parsing into named numeric fields
// and flags, and the distance between two problems that the tuning database uses to find the nearest bucket.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace ellesmere::ops {

struct ProblemText {
  std::string op;                        // "gemm_f32"
  std::map<std::string, double> fields;  // "m" -> 64
  std::set<std::string> flags;           // "tb"

  // Throws InvalidArgument naming the offending part.
  static ProblemText parse(std::string_view text);
  // parse(), and InvalidArgument unless the op is op.
  static ProblemText parse_op(std::string_view text, std::string_view op);

  // What the per-op parsers share; each throws InvalidArgument quoting text. The value of field name, an integer
  // in [0, 2^31) (missing, fractional or out of range: an error).
  std::int64_t integer(std::string_view text, const std::string& name) const;
  // Every field is one of names.
  void expect_only(std::string_view text, std::initializer_list<std::string_view> names) const;
};

// Sum over fields of |log2(a+1) - log2(b+1)|; infinity when op, field names or flags differ.
double problem_distance(const ProblemText& a, const ProblemText& b);

}  // namespace ellesmere::ops
