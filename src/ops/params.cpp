// Params text forms and ParamSpace defaults.
#include "ops/params.hpp"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "ellesmere/error.hpp"

namespace ellesmere::ops {

Params::Params(std::initializer_list<std::pair<std::string, int>> items) {
  for (const auto& [name, value] : items) set(name, value);
}

void Params::set(std::string_view name, int value) {
  for (auto& item : items_) {
    if (item.first == name) {
      item.second = value;
      return;
    }
  }
  items_.emplace_back(std::string(name), value);
}

std::optional<int> Params::find(std::string_view name) const {
  for (const auto& item : items_) {
    if (item.first == name) return item.second;
  }
  return std::nullopt;
}

int Params::get(std::string_view name) const {
  if (auto v = find(name)) return *v;
  throw InvalidArgument(fmt::format("parameter {} is not set (have: {})", name, str().empty() ? "none" : str()));
}

std::string Params::str() const {
  std::string out;
  for (const auto& [name, value] : items_) out += fmt::format("{}{}={}", out.empty() ? "" : " ", name, value);
  return out;
}

std::string Params::defines() const {
  std::string out;
  for (const auto& [name, value] : items_) out += fmt::format("{}-D{}={}", out.empty() ? "" : " ", name, value);
  return out;
}

Params Params::parse(std::string_view text) {
  Params p;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (std::isspace(static_cast<unsigned char>(text[pos])) || text[pos] == ',')) ++pos;
    if (pos >= text.size()) break;
    std::size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != ',') ++end;
    std::string_view item = text.substr(pos, end - pos);
    auto eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    bool name_ok = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (char c : name) name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    int value = 0;
    std::from_chars_result r{};
    if (eq != std::string_view::npos) r = std::from_chars(item.data() + eq + 1, item.data() + item.size(), value);
    if (eq == std::string_view::npos || !name_ok || r.ec != std::errc() || r.ptr != item.data() + item.size()) {
      throw InvalidArgument(fmt::format("bad parameter \"{}\" in \"{}\" (expected NAME=integer)", item, text));
    }
    if (p.find(name)) throw InvalidArgument(fmt::format("parameter {} given twice in \"{}\"", name, text));
    p.set(name, value);
    pos = end;
  }
  return p;
}

Params ParamSpace::defaults() const {
  Params p;
  for (const auto& d : params) p.set(d.name, d.default_value);
  return p;
}

const ParamDef* ParamSpace::find(std::string_view name) const {
  for (const auto& d : params) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

Params ParamSpace::complete(const Params& partial) const {
  for (const auto& [name, value] : partial.items()) {
    if (!find(name)) {
      std::string known;
      for (const auto& d : params) known += (known.empty() ? "" : " ") + d.name;
      throw InvalidArgument(fmt::format("unknown parameter {} (this Impl has: {})", name,
                                        known.empty() ? "no parameters" : known));
    }
  }
  Params out;
  for (const auto& d : params) out.set(d.name, partial.find(d.name).value_or(d.default_value));
  return out;
}

}  // namespace ellesmere::ops
