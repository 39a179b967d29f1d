// A small panfrost-like driver written against the Simulator the way a user would write one
// (its own register helpers, the io-pgtable writer, raw PhysMem writes where it is careless), with
// switches that plant the bugs the review of the panfrost heap patch found, and a few more. With
// every switch off it is a correct driver, and the checker must stay silent.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/harness/simulator.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/pagetable/walker.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim::test {

struct Bugs {
  bool skip_flush_after_unmap = false;   // stale translation
  bool irq_never_clears = false;         // interrupt storm
  bool irq_masks_and_forgets = false;    // fault left pending
  bool lose_grown_pages = false;         // leaked pages: grown pages never recorded in the BO
  bool forget_unmap_on_free = false;     // leaked pages: BO range still mapped at teardown
  bool free_pages_before_unmap = false;  // use after free
  bool unmap_whole_heap_range = false;   // mapping error: unmap of never-mapped chunks
  bool no_wait_ready = false;            // command misuse: AS_COMMAND while ACTIVE
  bool flush_without_lock = false;       // command misuse
  bool lock_only_first_page = false;     // command misuse: LOCK region too small
  bool heap_executable = false;          // executable heap
  bool retry_without_mapping = false;    // fault left pending: cleared and retried, never mapped
};

class BuggyDriver {
 public:
  static constexpr unsigned kAs = 0;
  static constexpr ProtFlags kRw = prot::kRead | prot::kWrite | prot::kNoExec;

  BuggyDriver(Simulator& sim, Bugs bugs) : sim_(sim), bugs_(bugs) {
    if (Checker* c = sim_.checker()) {
      Checker::Object ctx;
      ctx.name = "buggy context";
      ctx_ = c->object_created(std::move(ctx));
    }
    pt_ = std::move(IoPgtable::create(sim_.frames(), {})).value();
    sim_.power_up();
    sim_.mmio().set_irq_handler(IrqLine::kMmu, [this] { irq(); });
    sim_.mmio().write32(regs::kMmuIntMask, regs::mmu_as_irq_bits(kAs));
    w64(reg(regs::kAsTranstabLo), pt_->transtab());
    w64(reg(regs::kAsMemattrLo), pt_->memattr());
    command(AsCommand::Update);
  }

  ~BuggyDriver() {
    if (pt_) destroy();
  }
  BuggyDriver(const BuggyDriver&) = delete;
  BuggyDriver& operator=(const BuggyDriver&) = delete;

  // Unmap everything, switch the AS off and free the page table: a clean teardown.
  void destroy() {
    while (!bos_.empty()) free_bo(bos_.begin()->first);
    w64(reg(regs::kAsTranstabLo), 0);
    command(AsCommand::Update);
    pt_.reset();
    if (Checker* c = sim_.checker()) c->object_destroyed(ctx_);
  }

  // A BO backed by fresh frames and mapped now; heap BOs reserve VA and grow 2 MiB per fault.
  GpuVa create_bo(std::uint64_t size, bool heap = false, bool exec = false) {
    const GpuVa va = next_va_;
    next_va_ += (size + kSize2M - 1) / kSize2M * kSize2M + kSize2M;
    Bo& b = bos_[va];
    b.size = size;
    b.heap = heap;
    b.prot = exec ? (prot::kRead | prot::kWrite) : kRw;
    if (Checker* c = sim_.checker()) {
      Checker::Object o;
      o.name = heap ? "heap BO" : "BO";
      o.pgtable_root = pt_->pgd();
      o.va = va;
      o.size = size;
      o.grows_on_fault = heap;
      o.pages_held = [&b] { return static_cast<std::uint64_t>(b.pages.size()); };
      b.check_id = c->object_created(std::move(o));
    }
    if (!heap) {
      for (std::uint64_t off = 0; off < size; off += kPageSize) {
        const PhysAddr pa = *sim_.frames().alloc_frame();
        b.pages.push_back(pa);
        (void)pt_->map(va + off, pa, kPageSize, b.prot);
      }
      flush(va, size);
    }
    return va;
  }

  void free_bo(GpuVa va) {
    Bo& b = bos_.at(va);
    if (bugs_.free_pages_before_unmap) release_pages(b);
    if (!bugs_.forget_unmap_on_free) {
      if (b.heap && bugs_.unmap_whole_heap_range) {
        raw_unmap(va, b.size);  // writes "invalid" over chunks never grown, too
      } else {
        (void)pt_->unmap(va, b.size);
      }
      if (!bugs_.skip_flush_after_unmap) flush(va, b.size);
    }
    release_pages(b);
    if (Checker* c = sim_.checker()) c->object_destroyed(b.check_id);
    bos_.erase(va);
  }

  IoPgtable& page_table() { return *pt_; }
  Simulator& sim() { return sim_; }

  // Register helpers, as a driver has them.
  static std::uint32_t reg(std::uint32_t r) { return regs::as_reg(kAs, r); }
  void w64(std::uint32_t lo, std::uint64_t v) {
    sim_.mmio().write32(lo, static_cast<std::uint32_t>(v));
    sim_.mmio().write32(lo + 4, static_cast<std::uint32_t>(v >> 32));
  }
  void wait_ready() {
    if (bugs_.no_wait_ready) return;
    while ((sim_.mmio().read32(reg(regs::kAsStatus)) & regs::kAsStatusActive) != 0)
      sim_.clock().run_until(sim_.now() + 10);
  }
  void command(AsCommand c) {
    wait_ready();
    sim_.mmio().write32(reg(regs::kAsCommand), static_cast<std::uint32_t>(c));
    wait_ready();
  }
  // LOCK the range, then FLUSH_PT it (which also unlocks).
  void flush(GpuVa va, std::uint64_t size) {
    const std::uint64_t locked = bugs_.lock_only_first_page ? kPageSize : size;
    w64(reg(regs::kAsLockaddrLo), lockaddr_encode(va, locked, 15, LockAddrBaseStyle::Panfrost).value());
    if (!bugs_.flush_without_lock) {
      wait_ready();
      sim_.mmio().write32(reg(regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Lock));
    }
    command(AsCommand::FlushPt);
  }

 private:
  struct Bo {
    std::uint64_t size = 0;
    bool heap = false;
    ProtFlags prot = kRw;
    std::vector<PhysAddr> pages;
    Checker::ObjectId check_id = 0;
  };

  void release_pages(Bo& b) {
    for (PhysAddr pa : b.pages) (void)sim_.frames().free_frame(pa);
    b.pages.clear();
  }

  // Clear the last-level descriptor of every page in the range through PhysMem, mapped or not.
  void raw_unmap(GpuVa va, std::uint64_t size) {
    WalkConfig wc;
    wc.mode = TranslationMode::MaliLpae;
    wc.table_base = pt_->pgd();
    for (GpuVa p = va; p < va + size; p += kPageSize) {
      const WalkResult w = walk(sim_.mem(), wc, p);
      if (w.num_reads > 0) (void)sim_.mem().write64(w.reads[w.num_reads - 1].pa, 0);
    }
  }

  // panfrost's hard + threaded handler in one: clear, grow the heap by 2 MiB, flush (unlock).
  void irq() {
    const std::uint32_t stat = sim_.mmio().read32(regs::kMmuIntStat);
    if (bugs_.irq_never_clears) return;
    if (bugs_.irq_masks_and_forgets) {
      sim_.mmio().write32(regs::kMmuIntMask, 0);
      return;
    }
    sim_.mmio().write32(regs::kMmuIntClear, stat);
    const GpuVa addr = sim_.mmio().read32(reg(regs::kAsFaultaddressLo)) |
                       (static_cast<GpuVa>(sim_.mmio().read32(reg(regs::kAsFaultaddressHi))) << 32);
    for (auto& [va, b] : bos_) {
      if (!b.heap || addr < va || addr >= va + b.size) continue;
      const GpuVa chunk = align_down(addr, kSize2M);
      if (bugs_.retry_without_mapping) {
        flush(chunk, kSize2M);  // the stalled accesses retry, and fault again at the same page
        return;
      }
      std::vector<PhysAddr> lost;
      for (GpuVa off = 0; off < kSize2M; off += kPageSize) {
        const PhysAddr pa = *sim_.frames().alloc_frame();
        (bugs_.lose_grown_pages ? lost : b.pages).push_back(pa);
        const ProtFlags prot = bugs_.heap_executable ? (prot::kRead | prot::kWrite) : kRw;
        (void)pt_->map(chunk + off, pa, kPageSize, prot);
      }
      flush(chunk, kSize2M);
      return;
    }
    // Not a heap: kill the AS.
    w64(reg(regs::kAsTranstabLo), 0);
    command(AsCommand::Update);
  }

  Simulator& sim_;
  Bugs bugs_;
  std::unique_ptr<IoPgtable> pt_;
  std::map<GpuVa, Bo> bos_;
  GpuVa next_va_ = 0x100'0000;
  Checker::ObjectId ctx_ = 0;
};

}  // namespace mali_sim::test
