// Comparison helpers shared by tests, benchmarks and tools: error norms, seeded inputs, poison, problem files.
#include <bit>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ops/problem_text.hpp"
#include "reference/reference.hpp"

namespace ellesmere::reference {

namespace {
constexpr std::uint32_t kPoisonBits = 0x7fc0dead;   // quiet NaN, payload "dead"
}

double relative_error(std::span<const float> out, std::span<const float> ref) {
  if (out.size() != ref.size()) {
    throw InvalidArgument(fmt::format("relative_error: sizes differ ({} vs {})", out.size(), ref.size()));
  }
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    const double d = double(out[i]) - double(ref[i]);
    diff += d * d;
    norm += double(ref[i]) * double(ref[i]);
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

double max_abs_error(std::span<const float> out, std::span<const float> ref) {
  if (out.size() != ref.size()) {
    throw InvalidArgument(fmt::format("max_abs_error: sizes differ ({} vs {})", out.size(), ref.size()));
  }
  double worst = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    worst = std::max(worst, std::abs(double(out[i]) - double(ref[i])));
  }
  return worst;
}

std::vector<float> random_floats(std::size_t count, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 gen(seed);
  // Built from raw generator output rather than std::uniform_real_distribution, whose results may differ between
  // standard libraries.
  std::vector<float> v(count);
  const double scale = (double(hi) - double(lo)) / 18446744073709551616.0;
  for (auto& x : v) {
    x = float(double(lo) + double(gen()) * scale);
    if (x >= hi) x = std::nextafter(hi, lo);   // rounding to float can reach hi; the range is half-open
  }
  return v;
}

std::vector<std::uint8_t> random_bytes(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<std::uint8_t> v(count);
  for (auto& x : v) x = std::uint8_t(gen() >> 56);
  return v;
}

float poison_f32() { return std::bit_cast<float>(kPoisonBits); }

std::int64_t first_poisoned(std::span<const float> values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(values[i]) == kPoisonBits) return std::int64_t(i);
  }
  return -1;
}

bool ProblemLine::has(std::string_view tag) const {
  for (const auto& t : tags) {
    if (t == tag) return true;
  }
  return false;
}

std::vector<ProblemLine> read_problem_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FileError(path, "cannot be opened");
  std::vector<ProblemLine> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    ProblemLine p;
    if (!(words >> p.problem)) continue;
    try {
      ops::ProblemText::parse(p.problem);
    } catch (const Error& e) {
      throw FileError(path, fmt::format("line {}: {}", number, e.what()));
    }
    for (std::string t; words >> t;) p.tags.push_back(t);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> problems_tagged(const std::string& path, std::string_view tag) {
  std::vector<std::string> out;
  for (const auto& p : read_problem_file(path)) {
    if (p.has(tag)) out.push_back(p.problem);
  }
  return out;
}

}  // namespace ellesmere::reference
