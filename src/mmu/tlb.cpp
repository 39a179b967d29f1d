#include "mali_sim/mmu/tlb.hpp"

#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {

namespace {
constexpr PageSize kSizes[] = {PageSize::k4K, PageSize::k2M, PageSize::k1G};
constexpr unsigned size_shift(PageSize s) noexcept {
  return s == PageSize::k4K ? 12U : s == PageSize::k2M ? 21U : 30U;
}
}  // namespace

void TlbEntry::set_permissions(bool r, bool w, bool x) noexcept {
  read = r;
  write = w;
  exec = x;
  Translation t;
  t.read = r;
  t.write = w;
  t.exec = x;
  allowed = 0;
  for (Access a : {Access::Atomic, Access::Execute, Access::Read, Access::Write}) {
    if (!check_access(t, a)) allowed = static_cast<std::uint8_t>(allowed | (1U << static_cast<unsigned>(a)));
  }
}

Tlb::Tlb(const TlbSpec& spec)
    : ways_(spec.ways), sets_(spec.entries / spec.ways), slots_(spec.entries), memo_(1U << kMemoBits) {
  // Memo entries start pointing at a real slot whose generation they cannot match.
  for (Memo& m : memo_) m.slot = slots_.data();
}

std::size_t Tlb::set_base(GpuVa va, PageSize size) const noexcept {
  return static_cast<std::size_t>((va >> size_shift(size)) & (sets_ - 1)) * ways_;
}

const TlbEntry* Tlb::lookup_slow(unsigned as, GpuVa va, std::uint64_t key) noexcept {
  for (PageSize size : kSizes) {
    if (live_by_size_[static_cast<unsigned>(size)] == 0) continue;
    const std::size_t base = set_base(va, size);
    for (std::size_t i = base; i < base + ways_; ++i) {
      Slot& s = slots_[i];
      if (s.valid && s.e.size == size && s.e.covers(as, va)) {
        s.lru = ++clock_;
        memo_[memo_index(key)] = Memo{key, &s, s.gen};
        return &s.e;
      }
    }
  }
  return nullptr;
}

void Tlb::drop(Slot& s) noexcept {
  if (!s.valid) return;
  s.valid = false;
  ++s.gen;
  --live_by_size_[static_cast<unsigned>(s.e.size)];
}

void Tlb::insert(const TlbEntry& e) {
  const std::size_t base = set_base(e.va_base, e.size);
  Slot* victim = &slots_[base];
  for (std::size_t i = base; i < base + ways_; ++i) {
    Slot& s = slots_[i];
    if (s.valid && s.e.size == e.size && s.e.as == e.as && s.e.va_base == e.va_base) {
      victim = &s;  // refill of the same page
      break;
    }
    if (victim->valid && (!s.valid || s.lru < victim->lru)) victim = &s;
  }
  drop(*victim);
  victim->e = e;
  victim->valid = true;
  victim->lru = ++clock_;
  ++live_by_size_[static_cast<unsigned>(e.size)];
}

unsigned Tlb::invalidate_all() noexcept {
  unsigned n = 0;
  for (Slot& s : slots_) {
    n += s.valid ? 1U : 0U;
    drop(s);
  }
  return n;
}

unsigned Tlb::invalidate_as(unsigned as) noexcept {
  unsigned n = 0;
  for (Slot& s : slots_) {
    if (s.valid && s.e.as == as) {
      drop(s);
      ++n;
    }
  }
  return n;
}

unsigned Tlb::invalidate_region(unsigned as, const LockRegion& region) noexcept {
  unsigned n = 0;
  const GpuVa first = region.base;
  const GpuVa last = region.last();
  for (Slot& s : slots_) {
    if (!s.valid || s.e.as != as) continue;
    const GpuVa e_last = s.e.va_base + (bytes(s.e.size) - 1);
    if (s.e.va_base <= last && first <= e_last) {
      drop(s);
      ++n;
    }
  }
  return n;
}

unsigned Tlb::valid_entries() const noexcept {
  unsigned n = 0;
  for (const Slot& s : slots_) n += s.valid ? 1U : 0U;
  return n;
}

}  // namespace mali_sim
