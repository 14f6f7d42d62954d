// Params (a flat NAME=int set passed to kernels as -D defines) and ParamSpace (each tunable's candidates and
// default). Used by Impls, the tuning database, tests, benchmarks and the tuner.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ellesmere::ops {

class Params {
 public:
  Params() = default;
  Params(std::initializer_list<std::pair<std::string, int>> items);

  void set(std::string_view name, int value);   // replaces an existing value, else appends
  std::optional<int> find(std::string_view name) const;
  int get(std::string_view name) const;          // throws InvalidArgument if absent
  bool empty() const { return items_.empty(); }
  const std::vector<std::pair<std::string, int>>& items() const { return items_; }

  std::string str() const;       // "TM=64 TN=64 TK=16"
  std::string defines() const;   // "-DTM=64 -DTN=64 -DTK=16"
  // Parses "TM=64 TN=64" (spaces or commas between items). Throws InvalidArgument naming the bad item.
  static Params parse(std::string_view text);

  friend bool operator==(const Params&, const Params&) = default;

 private:
  std::vector<std::pair<std::string, int>> items_;
};

struct ParamDef {
  std::string name;
  std::vector<int> values;   // candidates the tuner may try
  int default_value = 0;
  std::string doc;           // one line: what it controls
};

struct ParamSpace {
  std::vector<ParamDef> params;

  Params defaults() const;
  // partial's values over the defaults, in the space's order. Throws InvalidArgument on a name the space lacks.
  Params complete(const Params& partial) const;
  const ParamDef* find(std::string_view name) const;
};

}  // namespace ellesmere::ops
