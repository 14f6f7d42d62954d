// The operations ellesmere runs, each described by a Problem with one canonical text form
// ("gemm_f32:m1024n1024k1024") that tests, benchmarks, the tuning database, logs and the CLI all share.
#pragma once

#include "ellesmere/device.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ellesmere {

// C = alpha * op(A) * op(B) + beta * C, fp32, row-major. op(A) is M x K, op(B) is K x N, C is M x N.
// Stored shapes: A is M x K (K x M when trans_a), B is K x N (N x K when trans_b), with leading dimension equal
// to the stored row length. Canonical text: "gemm_f32:m<M>n<N>k<K>" plus "_ta" / "_tb" when transposed.
struct GemmProblem {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool trans_a = false;
  bool trans_b = false;

  std::string str() const;
  // Throws InvalidArgument naming what is wrong ("gemm_f32:m4n4": missing k).
  static GemmProblem parse(std::string_view text);
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
  friend bool operator==(const GemmProblem&, const GemmProblem&) = default;
};

struct GemmOptions {
  float alpha = 1.0f;
  float beta = 0.0f;   // beta == 0: C is not read (it may hold NaN), as in BLAS
  // Run this Impl (e.g. "gemm_f32_clblast") instead of the first applicable one; throws NotSupported with the
  // Impl's reason if it cannot run the problem.
  std::string impl;
};

// Enqueues C = alpha*op(A)*op(B) + beta*C on context's queue and returns the kernels' events (it does not wait).
// Throws InvalidArgument if a buffer is smaller than the problem needs. With ELLESMERE_VERBOSE=dispatch, prints
// each Impl it passed over and why.
EventList gemm_f32(Context& context, const GemmProblem& problem, const Buffer<float>& a, const Buffer<float>& b,
                   Buffer<float>& c, const GemmOptions& options = {});

// The fp32 GEMM Impls in dispatch order.
std::vector<std::string> gemm_f32_impls();

}  // namespace ellesmere
