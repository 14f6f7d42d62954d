// The concatenation of every op's Impl list.
#include "ops/impl_registry.hpp"

#include "ops/gemm/gemm_impl.hpp"
#include "ops/gemm_i8/gemm_i8_impl.hpp"
#include "ops/gemm_wq/gemm_wq_impl.hpp"
#include "ops/quant/quantize_impl.hpp"
#include "ops/spmm/spmm_impl.hpp"
#include "ops/conv/conv_impl.hpp"
#include "ops/snn/snn_impl.hpp"

namespace ellesmere::ops {

std::vector<const ImplBase*> all_impls() {
  std::vector<const ImplBase*> out;
  for (const auto& impl : gemm_f32_list()) out.push_back(impl.get());
  for (const auto& impl : gemm_i8_list()) out.push_back(impl.get());
  for (const auto& impl : gemm_wq_list()) out.push_back(impl.get());
  for (const auto& impl : spmm_list()) out.push_back(impl.get());
  for (const auto& impl : conv_list()) out.push_back(impl.get());
  for (const auto& impl : quantize_linear_list()) out.push_back(impl.get());
  for (const auto& impl : dequantize_linear_list()) out.push_back(impl.get());
  for (const auto& impl : snn_list()) out.push_back(impl.get());
  return out;
}

const ImplBase* find_impl(std::string_view name) {
  for (const ImplBase* impl : all_impls()) {
    if (impl->name() == name) return impl;
  }
  return nullptr;
}

}  // namespace ellesmere::ops
