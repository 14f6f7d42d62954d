// A 64-bit FNV-1a hash: names program-cache files and checksums their payload. Not cryptographic: the cache
// file also stores its whole key (source included), compared byte for byte, so a name collision is detected;
// the payload checksum catches corruption (a deliberate forgery is out of scope).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace ellesmere::runtime {

class Fnv1a64 {
 public:
  Fnv1a64& add(const void* data, std::size_t size) {
    auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      state_ ^= p[i];
      state_ *= 0x100000001b3ull;
    }
    return *this;
  }
  // Adds the text and a separator, so ("ab","c") and ("a","bc") hash differently.
  Fnv1a64& add(std::string_view text) {
    add(text.data(), text.size());
    const unsigned char sep = 0xff;
    return add(&sep, 1);
  }
  std::uint64_t value() const { return state_; }
  std::string hex() const { return fmt::format("{:016x}", state_); }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ull;
};

}  // namespace ellesmere::runtime
