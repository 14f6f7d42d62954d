// Grouped weight-only quantization on the host (include/ellesmere/quant.hpp): fp16 conversions, the GroupedWeights
// layout (include/ellesmere/formats/grouped_weights.h) and its checks, round-to-nearest quantization with optional
// MSE-optimal clipping, quantization error, and llama.cpp Q4_0 / Q8_0 import, export, quantize and dequantize.
// Used by pack_weights_wq (src/ops/gemm_wq/), the CLI, tests and benchmarks.
#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <fp16/fp16.h>

#include "ellesmere/error.hpp"
#include "ellesmere/formats/grouped_weights.h"
#include "ellesmere/quant.hpp"
#include "quant/rounding.hpp"

// ggml's quantizers are reproduced bit for bit: float expressions evaluated in float, no contraction
// (-ffp-contract=off, CMakeLists.txt), no -ffast-math.
static_assert(FLT_EVAL_METHOD == 0, "float expressions must be evaluated in float (quantize_q4_0 is bit-exact)");
#ifdef __FAST_MATH__
#error "src/quant/grouped.cpp must not be built with -ffast-math: the llama.cpp quantizers must be bit-exact"
#endif

namespace ellesmere {

namespace {

using quant::round_half_even;

constexpr std::int64_t kChunk = ELLESMERE_WQ_CHUNK;
constexpr std::int64_t kAlign = ELLESMERE_WQ_GROUP_ALIGN;
constexpr std::size_t kQ4Block = sizeof(ellesmere_block_q4_0);
constexpr std::size_t kQ8Block = sizeof(ellesmere_block_q8_0);

bool supported_group(int g) { return g == 32 || g == 64 || g == 128; }

std::string options_error(int bits, int group, bool zero_points) {
  if (bits != 4 && bits != 8) return fmt::format("bits = {} is not supported (4 or 8)", bits);
  if (!supported_group(group)) return fmt::format("group size {} is not supported (32, 64 or 128)", group);
  if (bits == 8 && zero_points) {
    return "8-bit grouped weights are symmetric (llama.cpp Q8_0); zero points need bits = 4";
  }
  return {};
}

// Byte offset and shift of weight col in a row (the format header's chunk layout).
struct NibblePos {
  std::int64_t byte;
  int shift;
};
NibblePos nibble_pos(std::int64_t col) {
  const std::int64_t chunk = col / kChunk, j = col % kChunk;
  return {chunk * 16 + (j % 16), j < 16 ? 0 : 4};
}

void set_q(GroupedWeights& w, std::int64_t row, std::int64_t col, int q) {
  std::uint8_t* base = w.qs.data() + row * w.row_bytes();
  if (w.bits == 8) {
    base[col] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
  } else {
    const NibblePos p = nibble_pos(col);
    base[p.byte] = static_cast<std::uint8_t>((base[p.byte] & ~(0xF << p.shift)) | ((q & 0xF) << p.shift));
  }
}

// An empty GroupedWeights of the given shape and format with every weight (padding included) at its zero point.
GroupedWeights allocate(std::int64_t n, std::int64_t k, int bits, int group, bool zero_points) {
  GroupedWeights w;
  w.bits = bits;
  w.group = group;
  w.zero_points = zero_points;
  w.n = n;
  w.k = k;
  // Symmetric 4-bit zero is q = 8 in both nibbles (0x88); 8-bit and asymmetric (z = 0 until set) zero is 0.
  w.qs.assign(std::size_t(n * w.row_bytes()), bits == 4 && !zero_points ? 0x88 : 0x00);
  w.scales.assign(std::size_t(n * w.group_stride()), 0);
  if (zero_points) w.zeros.assign(std::size_t(n * w.group_stride()), 0);
  return w;
}

void check_shape(std::int64_t n, std::int64_t k, std::size_t have, const char* fn) {
  if (n < 1 || k < 1) throw InvalidArgument(fmt::format("{}: n = {} and k = {} must both be at least 1", fn, n, k));
  if (std::uint64_t(n) > std::uint64_t(std::numeric_limits<std::int64_t>::max()) / std::uint64_t(k) ||
      std::uint64_t(have) != std::uint64_t(n) * std::uint64_t(k)) {
    throw InvalidArgument(fmt::format("{}: w holds {} values but n x k = {} x {} needs {}", fn, have, n, k, n * k));
  }
}

// Row `row` of w (n x k in layout) as a contiguous vector.
void gather_row(std::span<const float> w, std::int64_t n, std::int64_t k, WeightLayout layout, std::int64_t row,
                std::vector<float>& out) {
  out.resize(std::size_t(k));
  if (layout == WeightLayout::nk) {
    std::copy_n(w.begin() + row * k, k, out.begin());
  } else {
    for (std::int64_t c = 0; c < k; ++c) out[std::size_t(c)] = w[std::size_t(c * n + row)];
  }
}

// One group's parameters and codes.
struct GroupCode {
  std::uint16_t scale = 0;   // binary16
  int zero = 0;              // z
  double sse = 0;            // sum of squared errors against the values
};

// Quantizes values (one group) for a range shrunk by clip (1 = the full range), writing codes to q. Throws
// InvalidArgument when the scale overflows fp16.
GroupCode quantize_group(std::span<const float> values, int bits, bool zero_points, double clip, int* q) {
  GroupCode code;
  double d = 0;    // the scale before rounding to fp16
  double lo = 0;   // asymmetric: the low end of the range
  if (bits == 4 && !zero_points) {
    // llama.cpp Q4_0's choice: the value of largest magnitude maps to q = 0 (-8 steps), so all 16 levels are used.
    float max = 0.0f, amax = 0.0f;
    for (float v : values) {
      if (amax < std::fabs(v)) {
        amax = std::fabs(v);
        max = v;
      }
    }
    d = double(max) * clip / -8.0;
    code.zero = ELLESMERE_WQ_SYMMETRIC_Z4;
  } else if (bits == 8) {
    float amax = 0.0f;
    for (float v : values) amax = std::max(amax, std::fabs(v));
    d = double(amax) * clip / 127.0;
  } else {
    double hi = 0;
    for (float v : values) {
      lo = std::min(lo, double(v));
      hi = std::max(hi, double(v));
    }
    lo *= clip;
    d = (hi * clip - lo) / 15.0;
  }
  code.scale = float_to_half(float(d));
  const float ds = half_to_float(code.scale);
  if (!std::isfinite(ds)) {
    throw InvalidArgument(fmt::format("its scale {:g} does not fit fp16 (largest finite 65504)", d));
  }
  if (bits == 4 && zero_points) code.zero = ds == 0.0f ? 0 : int(std::clamp(round_half_even(-lo / ds), 0.0, 15.0));
  const int qmin = bits == 8 ? -127 : 0, qmax = bits == 8 ? 127 : 15;
  for (std::size_t j = 0; j < values.size(); ++j) {
    // Rounded against the fp16 scale the kernels multiply by; a zero scale (an all-zero group) keeps q = z.
    const int v = ds == 0.0f ? code.zero
                             : int(std::clamp(round_half_even(double(values[j]) / double(ds)) + code.zero,
                                              double(qmin), double(qmax)));
    q[j] = v;
    const double err = double(values[j]) - double(ds) * double(v - code.zero);
    code.sse += err * err;
  }
  return code;
}

}  // namespace

// ---- fp16 ---------------------------------------------------------------------------------------------------

// Debian's libfp16 (the FP16 library PyTorch and XNNPACK use): round to nearest even, overflow to +-inf, NaN kept
// NaN with its sign.
std::uint16_t float_to_half(float value) noexcept { return fp16_ieee_from_fp32_value(value); }

float half_to_float(std::uint16_t half) noexcept { return fp16_ieee_to_fp32_value(half); }

void floats_to_halves(std::span<const float> in, std::span<std::uint16_t> out) {
  if (in.size() != out.size()) {
    throw InvalidArgument(fmt::format("floats_to_halves: {} floats into {} halves", in.size(), out.size()));
  }
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = fp16_ieee_from_fp32_value(in[i]);
}

void halves_to_floats(std::span<const std::uint16_t> in, std::span<float> out) {
  if (in.size() != out.size()) {
    throw InvalidArgument(fmt::format("halves_to_floats: {} halves into {} floats", in.size(), out.size()));
  }
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = fp16_ieee_to_fp32_value(in[i]);
}

std::vector<std::uint16_t> to_halves(std::span<const float> values) {
  std::vector<std::uint16_t> out(values.size());
  floats_to_halves(values, out);
  return out;
}

std::vector<float> to_floats(std::span<const std::uint16_t> halves) {
  std::vector<float> out(halves.size());
  halves_to_floats(halves, out);
  return out;
}

// ---- GroupedWeights -------------------------------------------------------------------------------------------

std::int64_t GroupedWeights::groups() const { return group > 0 ? (k + group - 1) / group : 0; }
std::int64_t GroupedWeights::group_stride() const { return (groups() + kAlign - 1) / kAlign * kAlign; }
std::int64_t GroupedWeights::padded_k() const { return groups() * group; }
std::int64_t GroupedWeights::row_bytes() const { return padded_k() * bits / 8; }

std::uint64_t GroupedWeights::bytes() const {
  return std::uint64_t(qs.size()) + std::uint64_t(scales.size()) * 2 + std::uint64_t(zeros.size());
}

double GroupedWeights::bits_per_weight() const {
  return n > 0 && k > 0 ? double(bytes()) * 8.0 / (double(n) * double(k)) : 0.0;
}

int GroupedWeights::q(std::int64_t row, std::int64_t col) const {
  const std::uint8_t* base = qs.data() + row * row_bytes();
  if (bits == 8) return static_cast<std::int8_t>(base[col]);
  const NibblePos p = nibble_pos(col);
  return (base[p.byte] >> p.shift) & 0xF;
}

int GroupedWeights::zero_point(std::int64_t row, std::int64_t g) const {
  if (zero_points) return zeros[std::size_t(row * group_stride() + g)];
  return bits == 4 ? ELLESMERE_WQ_SYMMETRIC_Z4 : 0;
}

float GroupedWeights::scale(std::int64_t row, std::int64_t g) const {
  return half_to_float(scales[std::size_t(row * group_stride() + g)]);
}

float GroupedWeights::weight(std::int64_t row, std::int64_t col) const {
  const std::int64_t g = col / group;
  // Exact: |q - z| <= 128 needs 8 bits, an fp16 scale 11, their product fits float's 24.
  return scale(row, g) * float(q(row, col) - zero_point(row, g));
}

std::vector<float> GroupedWeights::dequantize() const {
  std::vector<float> out(std::size_t(n * k));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < k; ++c) out[std::size_t(r * k + c)] = weight(r, c);
  }
  return out;
}

void GroupedWeights::validate(std::string_view what) const {
  if (std::string e = options_error(bits, group, zero_points); !e.empty()) {
    throw InvalidArgument(fmt::format("{}: {}", what, e));
  }
  if (n < 1 || k < 1) throw InvalidArgument(fmt::format("{}: n = {} and k = {} must both be at least 1", what, n, k));
  if (n > (std::int64_t(1) << 40) || k > (std::int64_t(1) << 40)) {
    throw InvalidArgument(fmt::format("{}: n = {}, k = {} is beyond any device", what, n, k));
  }
  auto check_size = [&](const char* array, std::size_t have, std::int64_t need, const std::string& how) {
    if (std::int64_t(have) != need) {
      throw InvalidArgument(fmt::format("{}: {} holds {} entries but n = {}, k = {}, {}-bit, group {} needs {} ({})",
                                        what, array, have, n, k, bits, group, need, how));
    }
  };
  check_size("qs", qs.size(), n * row_bytes(), fmt::format("{} bytes per row", row_bytes()));
  check_size("scales", scales.size(), n * group_stride(),
             fmt::format("{} per row: {} groups padded to a multiple of {}", group_stride(), groups(), kAlign));
  check_size("zeros", zeros.size(), zero_points ? n * group_stride() : 0,
             zero_points ? fmt::format("{} per row", group_stride()) : std::string("symmetric weights have none"));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t g = 0; g < group_stride(); ++g) {
      const std::uint16_t s = scales[std::size_t(r * group_stride() + g)];
      if (g >= groups()) {
        if (s != 0 || (zero_points && zeros[std::size_t(r * group_stride() + g)] != 0)) {
          throw InvalidArgument(fmt::format("{}: row {}: padding entry {} of the scales or zero points is not 0",
                                            what, r, g));
        }
        continue;
      }
      if ((s & 0x7c00u) == 0x7c00u) {
        throw InvalidArgument(fmt::format("{}: the scale of row {}, group {} is {} (fp16 0x{:04x}); scales must be "
                                          "finite",
                                          what, r, g, half_to_float(s), s));
      }
      if (zero_points && zeros[std::size_t(r * group_stride() + g)] > 15) {
        throw InvalidArgument(fmt::format("{}: the zero point of row {}, group {} is {}, above 15", what, r, g,
                                          zeros[std::size_t(r * group_stride() + g)]));
      }
    }
    for (std::int64_t c = k; c < padded_k(); ++c) {
      if (q(r, c) != zero_point(r, c / group)) {
        throw InvalidArgument(fmt::format("{}: row {}: padding weight {} (past k = {}) is not at its zero point", what,
                                          r, c, k));
      }
    }
  }
}

// ---- quantize ---------------------------------------------------------------------------------------------------

GroupedWeights quantize_grouped(std::span<const float> w, std::int64_t n, std::int64_t k, WeightLayout layout,
                                const GroupQuantOptions& options) {
  constexpr const char* fn = "quantize_grouped";
  if (std::string e = options_error(options.bits, options.group, options.zero_points); !e.empty()) {
    throw InvalidArgument(fmt::format("{}: {}", fn, e));
  }
  if (options.clip_search &&
      (options.clip_candidates < 1 || !(options.min_clip > 0.0f && options.min_clip <= 1.0f))) {
    throw InvalidArgument(fmt::format("{}: clip search needs clip_candidates >= 1 and min_clip in (0, 1] (got {} and "
                                      "{})",
                                      fn, options.clip_candidates, options.min_clip));
  }
  check_shape(n, k, w.size(), fn);
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      const std::size_t r = layout == WeightLayout::nk ? i / std::size_t(k) : i % std::size_t(n);
      const std::size_t c = layout == WeightLayout::nk ? i % std::size_t(k) : i / std::size_t(n);
      throw InvalidArgument(fmt::format("{}: weight [{}][{}] is {}", fn, r, c, w[i]));
    }
  }
  GroupedWeights out = allocate(n, k, options.bits, options.group, options.zero_points);
  const int candidates = options.clip_search ? options.clip_candidates : 1;
  std::vector<float> row;
  std::vector<int> codes(std::size_t(options.group)), best_codes(std::size_t(options.group));
  for (std::int64_t r = 0; r < n; ++r) {
    gather_row(w, n, k, layout, r, row);
    for (std::int64_t g = 0; g < out.groups(); ++g) {
      const std::int64_t c0 = g * options.group;
      const std::span<const float> values(row.data() + c0, std::size_t(std::min<std::int64_t>(options.group, k - c0)));
      GroupCode best;
      for (int i = 0; i < candidates; ++i) {
        // Clip factors from 1 down to min_clip; the full range first, so it wins ties.
        const double clip = candidates == 1 ? 1.0 : 1.0 - (1.0 - options.min_clip) * double(i) / (candidates - 1);
        GroupCode code;
        try {
          code = quantize_group(values, options.bits, options.zero_points, clip, codes.data());
        } catch (const InvalidArgument& e) {
          if (i > 0) continue;   // a clipped range is smaller: only the full range can overflow
          throw InvalidArgument(fmt::format("{}: row {}, group {}: {}", fn, r, g, e.what()));
        }
        if (i == 0 || code.sse < best.sse) {
          best = code;
          std::copy_n(codes.begin(), values.size(), best_codes.begin());
        }
      }
      out.scales[std::size_t(r * out.group_stride() + g)] = best.scale;
      if (options.zero_points) out.zeros[std::size_t(r * out.group_stride() + g)] = std::uint8_t(best.zero);
      for (std::size_t j = 0; j < values.size(); ++j) set_q(out, r, c0 + std::int64_t(j), best_codes[j]);
      // Padding past k stays at the zero point.
      for (std::int64_t c = c0 + std::int64_t(values.size()); c < c0 + options.group; ++c) set_q(out, r, c, best.zero);
    }
  }
  return out;
}

QuantError quantization_error(std::span<const float> w, WeightLayout layout, const GroupedWeights& q) {
  check_shape(q.n, q.k, w.size(), "quantization_error");
  QuantError e;
  double num = 0, den = 0;
  for (std::int64_t r = 0; r < q.n; ++r) {
    for (std::int64_t c = 0; c < q.k; ++c) {
      const double v = w[std::size_t(layout == WeightLayout::nk ? r * q.k + c : c * q.n + r)];
      const double diff = v - double(q.weight(r, c));
      num += diff * diff;
      den += v * v;
      e.max_abs = std::max(e.max_abs, std::fabs(diff));
    }
  }
  e.nmse = den > 0 ? num / den : (num > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  return e;
}

// ---- llama.cpp ------------------------------------------------------------------------------------------------

namespace {

void check_blocks(std::span<const std::uint8_t> blocks, std::int64_t n, std::int64_t k, std::size_t block_bytes,
                  const char* format, const char* fn) {
  if (n < 1 || k < 1) throw InvalidArgument(fmt::format("{}: n = {} and k = {} must both be at least 1", fn, n, k));
  if (k % kChunk != 0) {
    throw InvalidArgument(fmt::format("{}: k = {} is not a multiple of 32: {} stores whole blocks of 32 weights per "
                                      "row",
                                      fn, k, format));
  }
  const std::uint64_t need = std::uint64_t(n) * std::uint64_t(k / kChunk) * block_bytes;
  if (blocks.size() != need) {
    throw InvalidArgument(fmt::format("{}: the {} buffer holds {} bytes but {} x {} weights need {} ({} blocks of {} "
                                      "bytes){}",
                                      fn, format, blocks.size(), n, k, need, need / block_bytes, block_bytes,
                                      blocks.size() < need ? ": truncated" : ": too long"));
  }
}

std::uint16_t block_d(const std::uint8_t* block) {   // little-endian, as ggml writes it on every host it runs on
  return static_cast<std::uint16_t>(block[0] | (block[1] << 8));
}

void check_d(std::uint16_t d, std::int64_t row, std::int64_t block, const char* format, const char* fn) {
  if ((d & 0x7c00u) == 0x7c00u) {
    throw InvalidArgument(fmt::format("{}: {} block {} of row {} has scale d = {} (fp16 0x{:04x}); scales must be "
                                      "finite",
                                      fn, format, block, row, half_to_float(d), d));
  }
}

void put_d(std::uint8_t* block, std::uint16_t d) {
  block[0] = static_cast<std::uint8_t>(d & 0xff);
  block[1] = static_cast<std::uint8_t>(d >> 8);
}

void check_count(std::size_t count, const char* fn) {
  if (count % kChunk != 0) {
    throw InvalidArgument(fmt::format("{}: {} values is not a multiple of the block size 32", fn, count));
  }
}

}  // namespace

GroupedWeights import_q4_0(std::span<const std::uint8_t> blocks, std::int64_t n, std::int64_t k) {
  check_blocks(blocks, n, k, kQ4Block, "Q4_0", "import_q4_0");
  GroupedWeights w = allocate(n, k, 4, ELLESMERE_QK4_0, false);
  const std::int64_t per_row = k / kChunk;
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t b = 0; b < per_row; ++b) {
      const std::uint8_t* block = blocks.data() + std::size_t((r * per_row + b) * std::int64_t(kQ4Block));
      const std::uint16_t d = block_d(block);
      check_d(d, r, b, "Q4_0", "import_q4_0");
      w.scales[std::size_t(r * w.group_stride() + b)] = d;
      // Our 4-bit chunk is Q4_0's qs array, byte for byte.
      std::memcpy(w.qs.data() + r * w.row_bytes() + b * 16, block + 2, 16);
    }
  }
  return w;
}

GroupedWeights import_q8_0(std::span<const std::uint8_t> blocks, std::int64_t n, std::int64_t k) {
  check_blocks(blocks, n, k, kQ8Block, "Q8_0", "import_q8_0");
  GroupedWeights w = allocate(n, k, 8, ELLESMERE_QK8_0, false);
  const std::int64_t per_row = k / kChunk;
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t b = 0; b < per_row; ++b) {
      const std::uint8_t* block = blocks.data() + std::size_t((r * per_row + b) * std::int64_t(kQ8Block));
      const std::uint16_t d = block_d(block);
      check_d(d, r, b, "Q8_0", "import_q8_0");
      w.scales[std::size_t(r * w.group_stride() + b)] = d;
      std::memcpy(w.qs.data() + r * w.row_bytes() + b * 32, block + 2, 32);
    }
  }
  return w;
}

namespace {

void check_exportable(const GroupedWeights& w, int bits, const char* format, const char* fn) {
  w.validate(fn);
  if (w.bits != bits || w.group != 32 || w.zero_points || w.k % kChunk != 0) {
    throw InvalidArgument(fmt::format("{}: {} holds {}-bit symmetric weights in groups of 32 with k a multiple of 32; "
                                      "these are {}-bit{}, group {}, k = {}",
                                      fn, format, bits, w.bits, w.zero_points ? " with zero points" : "", w.group,
                                      w.k));
  }
}

}  // namespace

std::vector<std::uint8_t> export_q4_0(const GroupedWeights& w) {
  check_exportable(w, 4, "Q4_0", "export_q4_0");
  const std::int64_t per_row = w.k / kChunk;
  std::vector<std::uint8_t> out(std::size_t(w.n * per_row) * kQ4Block);
  for (std::int64_t r = 0; r < w.n; ++r) {
    for (std::int64_t b = 0; b < per_row; ++b) {
      std::uint8_t* block = out.data() + std::size_t((r * per_row + b) * std::int64_t(kQ4Block));
      put_d(block, w.scales[std::size_t(r * w.group_stride() + b)]);
      std::memcpy(block + 2, w.qs.data() + r * w.row_bytes() + b * 16, 16);
    }
  }
  return out;
}

std::vector<std::uint8_t> export_q8_0(const GroupedWeights& w) {
  check_exportable(w, 8, "Q8_0", "export_q8_0");
  const std::int64_t per_row = w.k / kChunk;
  std::vector<std::uint8_t> out(std::size_t(w.n * per_row) * kQ8Block);
  for (std::int64_t r = 0; r < w.n; ++r) {
    for (std::int64_t b = 0; b < per_row; ++b) {
      std::uint8_t* block = out.data() + std::size_t((r * per_row + b) * std::int64_t(kQ8Block));
      put_d(block, w.scales[std::size_t(r * w.group_stride() + b)]);
      std::memcpy(block + 2, w.qs.data() + r * w.row_bytes() + b * 32, 32);
    }
  }
  return out;
}

// ggml-quants.c quantize_row_q4_0_ref, statement for statement in float.
std::vector<std::uint8_t> quantize_q4_0(std::span<const float> w) {
  check_count(w.size(), "quantize_q4_0");
  const std::size_t nb = w.size() / kChunk;
  std::vector<std::uint8_t> out(nb * kQ4Block);
  for (std::size_t i = 0; i < nb; ++i) {
    const float* x = w.data() + i * kChunk;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kChunk; ++j) {
      if (!std::isfinite(x[j])) {
        throw InvalidArgument(fmt::format("quantize_q4_0: value {} is {}", i * kChunk + std::size_t(j), x[j]));
      }
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    // ggml's id = 1 / d overflows to inf when |d| < 1 / FLT_MAX (|max| below ~2.4e-38), and its int8 cast of
    // 0 * inf or inf is then undefined. Such a d rounds to an fp16 zero, so every weight of the block dequantizes
    // to 0 whatever q is: id = 0 makes q = 8 (the zero point), defined and what the block means.
    const float id = d != 0.0f && std::isfinite(1.0f / d) ? 1.0f / d : 0.0f;
    std::uint8_t* block = out.data() + i * kQ4Block;
    put_d(block, float_to_half(d));
    for (int j = 0; j < kChunk / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[kChunk / 2 + j] * id;
      const auto xi0 = static_cast<std::uint8_t>(std::min<int>(15, static_cast<std::int8_t>(x0 + 8.5f)));
      const auto xi1 = static_cast<std::uint8_t>(std::min<int>(15, static_cast<std::int8_t>(x1 + 8.5f)));
      block[2 + j] = static_cast<std::uint8_t>(xi0 | (xi1 << 4));
    }
  }
  return out;
}

// ggml-quants.c quantize_row_q8_0_ref: roundf (half away from zero).
std::vector<std::uint8_t> quantize_q8_0(std::span<const float> w) {
  check_count(w.size(), "quantize_q8_0");
  const std::size_t nb = w.size() / kChunk;
  std::vector<std::uint8_t> out(nb * kQ8Block);
  for (std::size_t i = 0; i < nb; ++i) {
    const float* x = w.data() + i * kChunk;
    float amax = 0.0f;
    for (int j = 0; j < kChunk; ++j) {
      if (!std::isfinite(x[j])) {
        throw InvalidArgument(fmt::format("quantize_q8_0: value {} is {}", i * kChunk + std::size_t(j), x[j]));
      }
      amax = std::max(amax, std::fabs(x[j]));
    }
    const float d = amax / ((1 << 7) - 1);
    // As in quantize_q4_0: where 1 / d overflows (amax below ~4.3e-37) d is an fp16 zero, and q = 0 is defined.
    const float id = d != 0.0f && std::isfinite(1.0f / d) ? 1.0f / d : 0.0f;
    std::uint8_t* block = out.data() + i * kQ8Block;
    put_d(block, float_to_half(d));
    for (int j = 0; j < kChunk; ++j) {
      block[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::round(x[j] * id)));
    }
  }
  return out;
}

// ggml-quants.c dequantize_row_q4_0: y = (q - 8) * d, int converted to float, times d as float.
std::vector<float> dequantize_q4_0(std::span<const std::uint8_t> blocks) {
  if (blocks.size() % kQ4Block != 0) {
    throw InvalidArgument(fmt::format("dequantize_q4_0: {} bytes is not a whole number of 18-byte blocks",
                                      blocks.size()));
  }
  const std::size_t nb = blocks.size() / kQ4Block;
  std::vector<float> y(nb * kChunk);
  for (std::size_t i = 0; i < nb; ++i) {
    const std::uint8_t* block = blocks.data() + i * kQ4Block;
    const float d = half_to_float(block_d(block));
    for (int j = 0; j < kChunk / 2; ++j) {
      const int x0 = (block[2 + j] & 0x0F) - 8;
      const int x1 = (block[2 + j] >> 4) - 8;
      y[i * kChunk + std::size_t(j)] = float(x0) * d;
      y[i * kChunk + std::size_t(j) + kChunk / 2] = float(x1) * d;
    }
  }
  return y;
}

std::vector<float> dequantize_q8_0(std::span<const std::uint8_t> blocks) {
  if (blocks.size() % kQ8Block != 0) {
    throw InvalidArgument(fmt::format("dequantize_q8_0: {} bytes is not a whole number of 34-byte blocks",
                                      blocks.size()));
  }
  const std::size_t nb = blocks.size() / kQ8Block;
  std::vector<float> y(nb * kChunk);
  for (std::size_t i = 0; i < nb; ++i) {
    const std::uint8_t* block = blocks.data() + i * kQ8Block;
    const float d = half_to_float(block_d(block));
    for (int j = 0; j < kChunk; ++j) y[i * kChunk + std::size_t(j)] = float(static_cast<std::int8_t>(block[2 + j])) * d;
  }
  return y;
}

}  // namespace ellesmere
