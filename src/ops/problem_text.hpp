// The canonical problem text "<op>:<fields>", e.g. "gemm_f32:m64n64k64_tb": parsing into named numeric fields
// and flags, and the distance between two problems that the tuning database uses to find the nearest bucket.
#pragma once

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
};

// Sum over fields of |log2(a+1) - log2(b+1)|; infinity when op, field names or flags differ.
double problem_distance(const ProblemText& a, const ProblemText& b);

}  // namespace ellesmere::ops
