// ellesmere_reference: naive, obviously correct Eigen versions of every op (*_ref), plus the helpers tests,
// benchmarks and tools share to compare against them (seeded inputs, poisoning, error norms, problem lists).
// Never linked into the core library.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ellesmere/ops.hpp"
#include "ellesmere/snn.hpp"

namespace ellesmere::reference {

// fp32 GEMM: ||out - ref|| / ||ref|| bound for inputs in [-1, 1) and K <= 4096. fp32 accumulation of K products
// has a typical relative error of about sqrt(K) * 2^-24 (3.8e-6 at K = 4096); 1e-5 leaves headroom for summation
// order while still catching a single wrong element (which gives ~1/sqrt(M*N) or more).
inline constexpr double kGemmF32Tolerance = 1e-5;

// C = alpha * op(A) * op(B) + beta * C with A, B, C stored as GemmProblem describes. Accumulates in double, so the
// reference is more accurate than any fp32 kernel it checks. beta == 0 ignores C's old contents (NaN included).
void gemm_f32_ref(const GemmProblem& problem, std::span<const float> a, std::span<const float> b,
                  std::span<float> c, float alpha = 1.0f, float beta = 0.0f);

// INT8 GEMM, as three steps (the kernels fuse them): the exact int32 sum, then an epilogue.
// C[m][n] = sum_k (A[m][k] - a_zp) * (B[k][n] - zb[n]), on Eigen int64 matrices; throws InvalidArgument if a result
// does not fit int32. a: M x K bytes of p.a_type; b: raw bytes of p.b_type in layout (N x K or K x N); b_params
// per-tensor or per-output-channel.
std::vector<std::int32_t> gemm_i8_ref(const GemmI8Problem& p, std::span<const std::uint8_t> a, std::int32_t a_zp,
                                      std::span<const std::uint8_t> b, WeightLayout layout,
                                      const QuantParams& b_params);
// QLinearMatMul's requantization, in float32 and ONNX Runtime's order: mult = (a_scale * b_scale[n]) / y_scale,
// y = saturate(rint(float(acc) * mult) + y_zp). Returns raw bytes of y_type.
std::vector<std::uint8_t> requantize_ref(std::span<const std::int32_t> acc, std::int64_t m, std::int64_t n,
                                         float a_scale, const QuantParams& b_params, float y_scale,
                                         std::int32_t y_zp, QuantType y_type);
// Dynamic quantization's output: y = float(acc) * (a_scale * b_scale[n]) + bias[n] (bias may be empty), then
// ReLU as (y <= 0 ? 0 : y) (NaN kept). float32, no contraction.
std::vector<float> dequantize_acc_ref(std::span<const std::int32_t> acc, std::int64_t m, std::int64_t n,
                                      float a_scale, const QuantParams& b_params, std::span<const float> bias,
                                      bool relu);

// Weight-only quantized GEMM against its dequantized weights: ||out - ref|| / ||ref|| bound. The kernels compute
// exactly the reference's products (each weight is scale * (q - z), an fp16 times a small integer: exact in fp32)
// and differ from the double-accumulated reference only by fp32 summation over K, about sqrt(K) * 2^-24 (6e-6 at
// K = 11008 in the worst case, far less typically); fp16 activations are rounded identically on both sides.
inline constexpr double kGemmWqTolerance = 1e-5;

// Y = X * W^T (+ bias) with W dequantized (GroupedWeights::dequantize, the format's exact values) and the product
// accumulated in double. x: M x K floats (fp16 activations: pass the already-rounded values); bias: empty or N.
std::vector<float> gemm_wq_ref(std::int64_t m, std::span<const float> x, const GroupedWeights& w,
                               std::span<const float> bias = {});

// Sparse CSR products against Eigen's SparseMatrix (RowMajor) in double: ||out - ref|| / ||ref|| bound. A kernel
// sums a row's L products in fp32 (split into a few partial sums in a fixed order); the relative error of such a sum
// of random-sign terms grows like sqrt(L) * 2^-24 at worst-typical, 1.9e-5 at the longest rows we test (L = 100k,
// a single dense row) and under 1e-6 for the rest; 2e-5 still catches a single wrong element of any output we test
// (at most 65 x 4096 = 266k elements: one wrong element moves the norm by >= 1/sqrt(266k) = 2e-3).
inline constexpr double kSpmmTolerance = 2e-5;

// Y = A X (+ bias[r] on row r) (then ReLU as y <= 0 ? 0 : y, NaN kept) for X K x n row-major, via
// Eigen::SparseMatrix<double, RowMajor> times a dense double matrix. bias: empty or A.rows values.
std::vector<float> spmm_csr_ref(const CsrMatrix& a, std::int64_t n, std::span<const float> x,
                                std::span<const float> bias = {}, bool relu = false);

// Random sparse matrices for tests and benchmarks (values uniform in [-1, 1), seeded):
// exactly round(density * rows * cols) nonzeros at uniformly random positions (selection sampling over all cells);
CsrMatrix random_csr(std::int64_t rows, std::int64_t cols, double density, std::uint64_t seed);
// exactly nnz distinct nonzeros placed by R-MAT (Chakrabarti et al. 2004) with Graph500's quadrant probabilities
// (0.57, 0.19, 0.19, 0.05): power-law row and column lengths, a few rows nearly dense. Throws InvalidArgument if nnz
// exceeds rows * cols.
CsrMatrix rmat_csr(std::int64_t rows, std::int64_t cols, std::int64_t nnz, std::uint64_t seed);
// The matrix a problem stands for: rmat_csr when it is skewed ("_p"), else random_csr, with p.nnz() nonzeros.
CsrMatrix csr_for_problem(const SpmmProblem& p, std::uint64_t seed);

// FP16 convolution against Eigen in fp32, from the fp16 inputs and weights (exact as floats). The kernels accumulate
// in fp32 too (L = Cg R S products, at most 4608 in the catalogue: error ~ sqrt(L) 2^-24 < 1e-5) and then round each
// output to half once (relative error <= 2^-11 = 4.9e-4 per element, so at most 4.9e-4 in the norm, about 2.8e-4 for
// uniformly spread rounding errors). 1e-3 holds that with room for the accumulation, and still catches one wrong
// element among the up to 200k outputs of a test shape when it is off by more than ~0.5 of the output norm / sqrt(200k).
// Winograd keeps its transformed tiles in fp32. F(2x2, 3x3)'s transforms add a few fp32 roundings each, with
// entries of at most 1 in magnitude (the filter transform's halves are exact). F(4x4, 3x3)'s matrices have entries up
// to 8 (A), 5 (B) and 1/6, 1/24 (G, not exact in binary): the usual error analysis (Lavin & Gray; Barabasz et al.
// 2020) puts its fp32 error one to two orders above F(2x2)'s, ~1e-6 to 1e-5 relative, still far below the half
// rounding of the output, so the same 1e-3 bound holds for both (the fp32-storage test, whose output is not rounded
// to half, sees that error alone).
inline constexpr double kConvF16Tolerance = 1e-3;

// The epilogue of conv2d_f16_ref: bias (empty or K values), residual (empty or one half per output), activation.
struct ConvRefEpilogue {
  std::vector<float> bias;
  std::vector<std::uint16_t> residual;
  ConvEpilogue::Activation activation = ConvEpilogue::Activation::none;
  float clip_min = 0.0f;
  float clip_max = 6.0f;
};

// Y = act(conv(X, W) + bias + residual) in fp32 (not rounded to half), ONNX Conv semantics, via an im2col matrix per
// (image, group) times W with Eigen. x and w are halves in NCHW / OIHW.
std::vector<float> conv2d_f16_ref(const ConvProblem& p, std::span<const std::uint16_t> x,
                                  std::span<const std::uint16_t> w, const ConvRefEpilogue& epilogue = {});
// Random halves uniform in [lo, hi) (rounded to half from seeded floats).
std::vector<std::uint16_t> random_halves(std::size_t count, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// A half NaN with a payload no arithmetic produces (poison for half outputs), and the first element still holding it.
std::uint16_t poison_f16();
std::int64_t first_poisoned_f16(std::span<const std::uint16_t> values);

// Relative error ||out - ref||_2 / ||ref||_2 (||out - ref||_2 when ref is all zero); NaN/Inf in out give +inf.
double relative_error(std::span<const float> out, std::span<const float> ref);
// max_i |out_i - ref_i|; +inf when an element of out is NaN or Inf.
double max_abs_error(std::span<const float> out, std::span<const float> ref);

// Uniformly random bytes from a seeded generator (quantized tensors: u8 values, or i8 values' bytes).
std::vector<std::uint8_t> random_bytes(std::size_t count, std::uint64_t seed);

// Uniform values in [lo, hi) from a seeded generator (deterministic across runs and platforms of one libstdc++).
std::vector<float> random_floats(std::size_t count, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// A value no correct kernel writes: a quiet NaN with a recognisable payload. Poison outputs with it first, so an
// element a kernel forgot to write shows up as a mismatch.
float poison_f32();
// Index of the first element still holding the poison bit pattern, or -1.
std::int64_t first_poisoned(std::span<const float> values);

// Lines of tests/problems/<op>.txt: "<problem> [tags...]"; '#' comments. Tags say who uses it: test, bench,
// oclgrind, tune. Throws FileError with the line number on a malformed line.
struct ProblemLine {
  std::string problem;
  std::vector<std::string> tags;
  bool has(std::string_view tag) const;
};
std::vector<ProblemLine> read_problem_file(const std::string& path);
// The problems of a file carrying tag.
std::vector<std::string> problems_tagged(const std::string& path, std::string_view tag);

// ---- spiking networks ----
// Membrane potential bound between the device and the reference, in mV: max |v_device - v_ref| over probed samples.
// The update arithmetic is the same, operation for operation (snn.h's exp, no contraction, integer input sums), so
// on an IEEE device without contraction the two agree bit for bit; the bound allows a device whose division or
// subnormals differ in the last bit, which then stays within a few ulp of |v| <= 100 mV.
inline constexpr double kSnnVoltageTolerance = 1e-3;

// A host simulation of exactly the kernels' equations and step order (include/ellesmere/snn.hpp), neuron by neuron
// and spike by spike, on the same compiled arrays: spikes sorted as simulate() sorts them, probes, population
// spike counts and synaptic events. wall_seconds is the host's time.
snn::SimulationResult snn_ref(const snn::Network& net);
// Spikes in one list and not the other (both sorted as simulate() sorts them): the size of their symmetric
// difference.
std::size_t snn_spike_mismatches(const std::vector<snn::Spike>& a, const std::vector<snn::Spike>& b);

}  // namespace ellesmere::reference
