// Install smoke test: builds against the installed headers and library only.
#include <cstdint>
#include <cstdio>
#include <mali_sim/phys_mem.hpp>

int main() {
  mali_sim::PhysMem mem(1 << 20);
  constexpr std::uint64_t kValue = 0x0123456789abcdefULL;
  constexpr mali_sim::PhysAddr kAddr = 0x1000;
  if (!mem.write64(kAddr, kValue)) {
    std::fputs("install_consumer: write64 failed\n", stderr);
    return 1;
  }
  std::uint64_t got = 0;
  if (!mem.read64(kAddr, got) || got != kValue) {
    std::fprintf(stderr, "install_consumer: read back 0x%016llx, expected 0x%016llx\n",
                 static_cast<unsigned long long>(got), static_cast<unsigned long long>(kValue));
    return 1;
  }
  std::puts("install_consumer: ok");
  return 0;
}
