// Rounding helpers shared by the host quantizers (quantize.cpp, grouped.cpp).
#pragma once

#include <cmath>

namespace ellesmere::quant {

// Round half to even, independent of the current floating-point rounding mode (std::nearbyint would follow
// fesetround). std::round rounds ties away from zero; a tie that went to an odd integer is moved back one step
// towards zero. r - v is exact: |r - v| <= 0.5 and, for a tie, r and v are within a factor of two (Sterbenz).
// The sign of v is kept, so -0.5 gives -0.0 as numpy's rint does.
template <class T> T round_half_even(T v) {
  T r = std::round(v);
  if (std::fabs(r - v) == T(0.5) && std::fmod(r, T(2)) != T(0)) r -= std::copysign(T(1), v);
  return std::copysign(r, v);
}

}  // namespace ellesmere::quant
