// The MMU interrupt block: MMU_INT_RAWSTAT / CLEAR / MASK / STAT and the level-triggered line it
// drives. Bits 0-15: page fault on AS n; bits 16-31: bus error on AS n.
#pragma once

#include <cstdint>

namespace mali_sim {

class MmuIrq {
 public:
  std::uint32_t rawstat() const noexcept { return rawstat_; }
  std::uint32_t mask() const noexcept { return mask_; }
  std::uint32_t stat() const noexcept { return rawstat_ & mask_; }  // MMU_INT_STAT
  bool line() const noexcept { return stat() != 0; }

  // Hardware sets bits when it records a fault.
  void raise(std::uint32_t bits) noexcept { rawstat_ |= bits; }
  // MMU_INT_CLEAR: write-one-to-clear.
  void clear(std::uint32_t bits) noexcept { rawstat_ &= ~bits; }
  void set_mask(std::uint32_t mask) noexcept { mask_ = mask; }
  // Side-effect-free state changes for peek/poke.
  void set_rawstat(std::uint32_t v) noexcept { rawstat_ = v; }

 private:
  std::uint32_t rawstat_ = 0;
  std::uint32_t mask_ = 0;  // reset value: everything masked until the driver enables it
};

}  // namespace mali_sim
