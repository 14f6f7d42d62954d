// Device QuantizeLinear / DequantizeLinear: the problem, the Impl interface and the lists (quantize_ops.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ellesmere/ops.hpp"
#include "ops/impl.hpp"
#include "runtime/context_impl.hpp"

namespace ellesmere::ops {

struct QuantizeProblem {
  std::int64_t n = 0;                 // elements
  QuantType type = QuantType::u8;
  bool dequantize = false;
  std::string str() const;            // "quantize_linear:n4096", "dequantize_linear:n4096_s" (s: signed i8)
  static QuantizeProblem parse(std::string_view text);
};

struct QuantizeArgs {
  cl_mem in = nullptr;
  cl_mem out = nullptr;
  cl_mem scales = nullptr;
  cl_mem zero_points = nullptr;
  std::int64_t channels = 1;
  std::int64_t inner = 1;
};

class QuantizeImpl : public ImplBase {
 public:
  virtual EventList launch(detail::ContextImpl& context, const QuantizeProblem& problem, const Params& params,
                           const QuantizeArgs& args) const = 0;
};

const std::vector<std::unique_ptr<QuantizeImpl>>& quantize_linear_list();
const std::vector<std::unique_ptr<QuantizeImpl>>& dequantize_linear_list();

}  // namespace ellesmere::ops
