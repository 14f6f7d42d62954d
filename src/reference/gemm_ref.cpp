// gemm_f32_ref: the Eigen reference of fp32 GEMM, accumulated in double.
#include <Eigen/Dense>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "reference/reference.hpp"

namespace ellesmere::reference {

void gemm_f32_ref(const GemmProblem& p, std::span<const float> a, std::span<const float> b, std::span<float> c,
                  float alpha, float beta) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index m = p.m, n = p.n, k = p.k;
  if (a.size() < std::size_t(m * k) || b.size() < std::size_t(k * n) || c.size() < std::size_t(m * n)) {
    throw InvalidArgument(fmt::format("gemm_f32_ref {}: operand spans too small", p.str()));
  }
  Eigen::Map<const RowMajor> A(a.data(), p.trans_a ? k : m, p.trans_a ? m : k);
  Eigen::Map<const RowMajor> B(b.data(), p.trans_b ? n : k, p.trans_b ? k : n);
  Eigen::Map<RowMajor> C(c.data(), m, n);
  Eigen::MatrixXd opA = p.trans_a ? Eigen::MatrixXd(A.transpose().cast<double>()) : Eigen::MatrixXd(A.cast<double>());
  Eigen::MatrixXd opB = p.trans_b ? Eigen::MatrixXd(B.transpose().cast<double>()) : Eigen::MatrixXd(B.cast<double>());
  Eigen::MatrixXd result = double(alpha) * (opA * opB);
  if (beta != 0.0f) result += double(beta) * C.cast<double>();
  C = result.cast<float>();
}

}  // namespace ellesmere::reference
