// Calibration observers (include/ellesmere/quant.hpp): running min/max, and a power-of-two-aligned histogram from
// which the percentile and MSE observers choose a clipping range. Used by calibration in tools and by tests.
//
// The histogram. Bins have width w = 2^e and edges at integer multiples of w; the window is the B bins starting at
// floor(min / w) * w, and e is the smallest exponent whose window covers [min, max] of everything seen, but never
// below the ulp of the largest magnitude seen, 2^(ilogb(max(|min|, |max|)) - 23). Finer bins could not separate
// distinct floats, and the floor keeps the window's edges k * w and (k + B) * w exact in double (|k| <= 2^24; a
// single repeated value would otherwise get w = 2^-149, and hist_lo_ + B * w would round back to hist_lo_). When new
// data fall outside, e grows (each step doubles the width and merges bins pairwise) and the window is re-anchored.
// Because grids with power-of-two widths aligned at zero nest, every old bin lies inside exactly one new bin, so
// merging loses nothing against binning the data on the new grid directly; and both e and the anchor depend only on
// the running min and max, which grow monotonically. Hence the histogram, and with it range(), is a function of the
// multiset of observed values alone: batch split and batch order make no difference at all, bit for bit.
// B >= 2 is what makes the covering condition monotone in e (a window that covers at 2^e also covers at 2^(e+1)).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "ellesmere/quant.hpp"

namespace ellesmere {

namespace {

constexpr int kMaxHistogramBins = 1 << 24;   // bin indices and window edges stay exact in double
constexpr int kMaxMseCandidates = 1 << 16;   // the MSE search is candidates * (bins + 256 log bins)
constexpr int kMinBinExponent = -149;        // the smallest subnormal float's ulp
constexpr double kLevels = 255.0;            // steps of a 256-level grid: u8, and i8 with a zero point

// Smallest bin exponent allowed for data whose largest magnitude is mag (see the file comment).
int exponent_floor(double mag) { return mag > 0.0 ? std::max(kMinBinExponent, std::ilogb(mag) - 23) : kMinBinExponent; }

// True when the bins*2^e window anchored at floor(lo / 2^e) * 2^e covers [lo, hi] (its top edge is open).
bool window_covers(int e, double lo, double hi, int bins) {
  const double w = std::ldexp(1.0, e);
  return (std::floor(lo / w) + bins) * w > hi;
}

// One bin as the percentile and MSE computations see it: count values spread uniformly over [lo, hi]. The first and
// last occupied bins are cut to [min, max], which are known exactly; a bin can then have lo == hi (a point mass).
struct BinSpan {
  double lo;
  double hi;
  double count;
};

// integral_a^b (x - t)^2 dx, with B^3 - A^3 factored so that a narrow interval far from t does not cancel.
double squared_distance_integral(double a, double b, double t) {
  const double pa = a - t, pb = b - t;
  return (b - a) * (pa * pa + pa * pb + pb * pb) / 3.0;
}

// integral_0^y (z - round(z))^2 dz: 1/12 per whole period plus the cubic of the part past the last grid point.
double rounding_integral(double y) {
  const double m = std::floor(y + 0.5);
  const double f = y - m;
  return m / 12.0 + f * f * f / 3.0;
}

// Expected squared error, summed over the values of one bin, of quantizing to the grid {k * step} clipped to
// [lo, hi] (lo and hi grid points): distance to the nearer end outside, to the nearest grid point inside.
double bin_error(const BinSpan& b, double step, double lo, double hi) {
  if (b.hi <= b.lo) {   // point mass
    const double x = b.lo;
    const double d = x < lo ? x - lo : x > hi ? x - hi : x - step * std::floor(x / step + 0.5);
    return b.count * d * d;
  }
  double sum = 0.0;
  if (b.lo < lo) sum += squared_distance_integral(b.lo, std::min(b.hi, lo), lo);
  if (b.hi > hi) sum += squared_distance_integral(std::max(b.lo, hi), b.hi, hi);
  const double a = std::max(b.lo, lo), z = std::min(b.hi, hi);
  if (z > a) sum += step * step * step * (rounding_integral(z / step) - rounding_integral(a / step));
  return sum * b.count / (b.hi - b.lo);
}

// The MSE observer's search; spans are the occupied bins in order, [min_neg, max_pos] the
// zero-widened data range (min_neg < max_pos). Candidates are the grids params_from_range can produce: C scales
// s_k = float((max_pos - min_neg) * k / C / 255) (k = C is min_max's own scale) and, for each, the zero points zp
// whose 256-level grid [-zp * s, (255 - zp) * s] reaches at most one step past the data at either end (more would
// only waste levels; with no data below 0 that leaves zp = 0). Each is scored exactly under the histogram: values
// spread uniformly within each bin, clipped values saturate at the grid's end, the others round to the nearest
// multiple of s (zero is a grid point). Widths are tried widest first and ties keep the earlier candidate.
//
// Not the common step^2 / 12 shortcut for values inside: it is right only when the density is smooth across a step,
// and badly wrong when a few outliers make the step wider than the bulk of the data (N(0, 1) plus one value at
// -800 and one at 1000: step^2 / 12 = 4.2, the true error 1.0, since the bulk rounds to 0), where the shortcut
// prefers a clipped range whose true error is higher than min_max's.
//
// Cost: per scale, one pass over the bins (prefix sums of the per-bin rounding error and of count, sum x and
// sum x^2, from which the clipping error of all bins beyond an end follows in O(1)), then per zero point two binary
// searches and the two bins cut by the ends. C * (bins + 256 log bins) in all.
std::pair<double, double> mse_search(const std::vector<BinSpan>& spans, double min_neg, double max_pos,
                                     int candidates) {
  const std::size_t n = spans.size();
  // Prefix sums over whole bins: count, first and second moments (uniform within the bin).
  std::vector<double> m0(n + 1, 0.0), m1(n + 1, 0.0), m2(n + 1, 0.0), rounding(n + 1, 0.0);
  std::vector<double> bin_lo(n), bin_hi(n);
  for (std::size_t j = 0; j < n; ++j) {
    const BinSpan& b = spans[j];
    m0[j + 1] = m0[j] + b.count;
    m1[j + 1] = m1[j] + b.count * (b.lo + b.hi) / 2.0;
    m2[j + 1] = m2[j] + b.count * (b.lo * b.lo + b.lo * b.hi + b.hi * b.hi) / 3.0;
    bin_lo[j] = b.lo;
    bin_hi[j] = b.hi;
  }
  // Clipping error of bins [first, last) against end t: sum of count * E[(x - t)^2].
  const auto clipped = [&](std::size_t first, std::size_t last, double t) {
    if (first >= last) return 0.0;
    const double c = m0[last] - m0[first], s1 = m1[last] - m1[first], s2 = m2[last] - m2[first];
    return std::max(0.0, s2 - 2.0 * t * s1 + t * t * c);
  };

  const double width = max_pos - min_neg;
  double best = std::numeric_limits<double>::infinity();
  std::pair<double, double> best_range{min_neg, max_pos};
  for (int k = candidates; k >= 1; --k) {
    const double step = static_cast<float>(width * k / candidates / kLevels);
    if (!(step > 0.0)) continue;
    for (std::size_t j = 0; j < n; ++j) {
      rounding[j + 1] = rounding[j] + bin_error(spans[j], step, -std::numeric_limits<double>::infinity(),
                                                std::numeric_limits<double>::infinity());
    }
    const double zp_max = std::min(kLevels, std::ceil(-min_neg / step));
    const double zp_min = std::max(0.0, kLevels - std::ceil(max_pos / step));
    for (double zp = zp_min; zp <= zp_max; zp += 1.0) {
      const double lo = -zp * step, hi = (kLevels - zp) * step;
      // Bins [0, first) lie wholly below lo, [last, n) wholly above hi; first and last - 1 may be cut by an end.
      const auto first = static_cast<std::size_t>(std::upper_bound(bin_hi.begin(), bin_hi.end(), lo) - bin_hi.begin());
      const auto last = static_cast<std::size_t>(std::lower_bound(bin_lo.begin(), bin_lo.end(), hi) - bin_lo.begin());
      double err = clipped(0, first, lo) + clipped(std::max(first, last), n, hi);
      if (first < last) {
        err += bin_error(spans[first], step, lo, hi);
        if (last - 1 > first) {
          err += bin_error(spans[last - 1], step, lo, hi);
          err += rounding[last - 1] - rounding[first + 1];
        }
      }
      if (err < best) {
        best = err;
        best_range = {lo, hi};
      }
    }
  }
  return best_range;
}

}  // namespace

const char* observer_kind_name(ObserverKind k) noexcept {
  switch (k) {
    case ObserverKind::min_max: return "min_max";
    case ObserverKind::percentile: return "percentile";
    case ObserverKind::mse: return "mse";
  }
  return "?";
}

Observer::Observer(ObserverKind kind, ObserverOptions options) : kind_(kind), options_(options) {
  if (kind != ObserverKind::min_max && kind != ObserverKind::percentile && kind != ObserverKind::mse) {
    throw InvalidArgument(fmt::format("Observer: kind = {} is not an ObserverKind", static_cast<int>(kind)));
  }
  if (!(options.percentile > 50.0 && options.percentile <= 100.0)) {
    throw InvalidArgument(fmt::format("Observer: options.percentile = {} is outside (50, 100]", options.percentile));
  }
  if (options.histogram_bins < 2 || options.histogram_bins > kMaxHistogramBins) {
    throw InvalidArgument(fmt::format("Observer: options.histogram_bins = {} is outside [2, {}]",
                                      options.histogram_bins, kMaxHistogramBins));
  }
  if (options.mse_candidates < 1 || options.mse_candidates > kMaxMseCandidates) {
    throw InvalidArgument(fmt::format("Observer: options.mse_candidates = {} is outside [1, {}]",
                                      options.mse_candidates, kMaxMseCandidates));
  }
}

void Observer::observe(std::span<const float> values) {
  // Check the whole batch before touching any state, so a throw leaves the observer as it was.
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  std::uint64_t nans = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (std::isnan(v)) {
      ++nans;
      continue;
    }
    if (std::isinf(v)) {
      throw InvalidArgument(fmt::format("Observer({}).observe: values[{}] = {} (of {}); no finite range holds an "
                                        "infinity",
                                        observer_kind_name(kind_), i, v, values.size()));
    }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  nan_count_ += nans;
  const std::uint64_t finite = values.size() - nans;
  if (finite == 0) return;
  const float new_min = count_ == 0 ? lo : std::min(min_, lo);
  const float new_max = count_ == 0 ? hi : std::max(max_, hi);

  if (kind_ != ObserverKind::min_max) {   // min_max needs no histogram
    grow_histogram(new_min, new_max);
    const auto bins = static_cast<std::int64_t>(histogram_.size());
    const double w = (hist_hi_ - hist_lo_) / static_cast<double>(bins);   // exact: both edges are multiples of w
    const double first = hist_lo_ / w;
    for (const float v : values) {
      if (std::isnan(v)) continue;
      // v / w only rescales by a power of two, so the bin index is exact.
      const auto j = static_cast<std::int64_t>(std::floor(static_cast<double>(v) / w) - first);
      histogram_[static_cast<std::size_t>(std::clamp<std::int64_t>(j, 0, bins - 1))] += 1.0;
    }
  }
  min_ = new_min;
  max_ = new_max;
  count_ += finite;
}

void Observer::grow_histogram(float lo, float hi) {
  const int bins = options_.histogram_bins;
  const double dlo = lo, dhi = hi;
  const bool empty = histogram_.empty();
  const int old_e = empty ? kMinBinExponent : std::ilogb((hist_hi_ - hist_lo_) / bins);
  int e = std::max(old_e, exponent_floor(std::max(std::fabs(dlo), std::fabs(dhi))));
  while (!window_covers(e, dlo, dhi, bins)) ++e;
  const double w = std::ldexp(1.0, e);
  const double new_lo = std::floor(dlo / w) * w;
  if (!empty && new_lo == hist_lo_ && e == old_e) return;

  std::vector<double> grown(static_cast<std::size_t>(bins), 0.0);
  if (!empty) {
    const double old_w = std::ldexp(1.0, old_e);
    for (std::size_t j = 0; j < histogram_.size(); ++j) {
      if (histogram_[j] == 0.0) continue;   // an empty bin may fall outside the new window; an occupied one cannot
      const double edge = hist_lo_ + static_cast<double>(j) * old_w;
      const auto k = static_cast<std::int64_t>(std::floor(edge / w) - new_lo / w);
      grown[static_cast<std::size_t>(std::clamp<std::int64_t>(k, 0, bins - 1))] += histogram_[j];
    }
  }
  histogram_ = std::move(grown);
  hist_lo_ = new_lo;
  hist_hi_ = new_lo + bins * w;
}

std::pair<float, float> Observer::range() const {
  if (count_ == 0) {
    throw InvalidArgument(fmt::format("Observer({}).range: nothing observed yet ({} NaNs, which are ignored)",
                                      observer_kind_name(kind_), nan_count_));
  }
  const float zero_lo = std::min(min_, 0.0f);
  const float zero_hi = std::max(max_, 0.0f);
  if (kind_ == ObserverKind::min_max || min_ == max_) return {zero_lo, zero_hi};

  // The occupied bins, cut to [min, max].
  const double w = (hist_hi_ - hist_lo_) / static_cast<double>(histogram_.size());
  std::vector<BinSpan> spans;
  for (std::size_t j = 0; j < histogram_.size(); ++j) {
    if (histogram_[j] == 0.0) continue;
    const double edge = hist_lo_ + static_cast<double>(j) * w;
    spans.push_back({std::max(edge, static_cast<double>(min_)), std::min(edge + w, static_cast<double>(max_)),
                     histogram_[j]});
  }
  const auto total = static_cast<double>(count_);

  if (kind_ == ObserverKind::percentile) {
    // The value below which a fraction q of the data lie, interpolating linearly inside the bin that holds it.
    // q = 0 gives min and q = 1 gives max exactly.
    const auto quantile = [&](double q) {
      const double target = q * total;
      double below = 0.0;
      for (const BinSpan& b : spans) {
        if (below + b.count >= target) {
          const double f = std::clamp((target - below) / b.count, 0.0, 1.0);
          return b.lo + f * (b.hi - b.lo);
        }
        below += b.count;
      }
      return spans.back().hi;
    };
    const double p = options_.percentile / 100.0;
    const auto lo = std::clamp(static_cast<float>(quantile(1.0 - p)), min_, max_);
    const auto hi = std::clamp(static_cast<float>(quantile(p)), min_, max_);
    return {std::min(lo, 0.0f), std::max(hi, 0.0f)};
  }

  const auto [lo, hi] = mse_search(spans, zero_lo, zero_hi, options_.mse_candidates);
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

QuantParams Observer::params(QuantType type, bool symmetric) const {
  const auto [lo, hi] = range();
  return params_from_range(lo, hi, type, symmetric);
}

}  // namespace ellesmere
