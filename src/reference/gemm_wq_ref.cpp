// gemm_wq_ref: the Eigen reference of weight-only quantized GEMM: dequantize W, then a double-accumulated product.
#include <Eigen/Dense>

#include <fmt/format.h>

#include "ellesmere/error.hpp"
#include "reference/reference.hpp"

namespace ellesmere::reference {

std::vector<float> gemm_wq_ref(std::int64_t m, std::span<const float> x, const GroupedWeights& w,
                               std::span<const float> bias) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  w.validate("gemm_wq_ref W");
  if (m < 1 || x.size() != std::size_t(m * w.k)) {
    throw InvalidArgument(fmt::format("gemm_wq_ref: x has {} values, expected m * k = {} * {}", x.size(), m, w.k));
  }
  if (!bias.empty() && bias.size() != std::size_t(w.n)) {
    throw InvalidArgument(fmt::format("gemm_wq_ref: bias has {} values, expected n = {}", bias.size(), w.n));
  }
  const std::vector<float> dw = w.dequantize();
  Eigen::Map<const RowMajor> X(x.data(), m, w.k);
  Eigen::Map<const RowMajor> W(dw.data(), w.n, w.k);
  Eigen::MatrixXd Y = X.cast<double>() * W.cast<double>().transpose();
  if (!bias.empty()) {
    for (Eigen::Index j = 0; j < Y.cols(); ++j) Y.col(j).array() += double(bias[std::size_t(j)]);
  }
  std::vector<float> out(std::size_t(m * w.n));
  Eigen::Map<RowMajor>(out.data(), m, w.n) = Y.cast<float>();
  return out;
}

}  // namespace ellesmere::reference
