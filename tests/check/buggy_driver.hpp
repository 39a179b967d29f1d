// A small panfrost-like driver written against the Simulator the way a user would write one
// (its own register helpers, the io-pgtable writer, raw PhysMem writes where it is careless), with
// switches that plant the bugs the review of the panfrost heap patch found, and a few more. With
// every switch off it is a correct driver, and the checker must stay silent.
//
// It comes in three legal styles, so that the checker is held to more than one way of writing a
// correct driver (docs/driver-testing.md, "Precision and recall"):
//   Plain      one MMU handler in interrupt context does everything (kbase's layout, in one piece)
//   Threaded   panfrost's layout: the hard half reads MMU_INT_STAT, masks MMU_INT_MASK and wakes a
//              thread, which handles every fault (clear first), and unmasks at its end
//   IoPgtable  Threaded, with page tables written as Linux's io-pgtable does them on a walk that
//              is not cache-coherent: every new table descriptor written again with the software
//              bit 55 (ARM_LPAE_PTE_SW_SYNC) set, and a 2 MiB range's table entry written 0 again
//              after its table was freed
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/harness/simulator.hpp"
#include "mali_sim/job_descriptor.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/pagetable/walker.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim::test {

enum class Style { Plain, Threaded, IoPgtable };
inline const char* to_string(Style s) {
  switch (s) {
    case Style::Plain: return "Plain";
    case Style::Threaded: return "Threaded";
    case Style::IoPgtable: return "IoPgtable";
  }
  return "?";
}

struct Bugs {
  bool skip_flush_after_unmap = false;   // stale translation
  bool irq_never_clears = false;         // interrupt storm (Plain) / a fault raised round after round
  bool irq_masks_and_forgets = false;    // fault left pending, masked
  bool lose_grown_pages = false;         // leaked pages: grown pages never recorded in the BO
  bool forget_unmap_on_free = false;     // leaked pages: BO range still mapped at teardown
  bool free_pages_before_unmap = false;  // use after free
  bool migrate_in_place = false;         // mapping error: a live page replaced without break-before-make
  bool no_wait_ready = false;            // command misuse: AS_COMMAND while ACTIVE
  bool flush_without_lock = false;       // command misuse
  bool lock_only_first_page = false;     // command misuse: LOCK region too small
  bool heap_executable = false;          // executable heap
  bool retry_without_mapping = false;    // fault left pending: cleared and retried, never mapped
  bool mask_before_clear = false;        // fault left pending: re-enabled AS's interrupt left masked
  bool job_on_disabled_as = false;       // job address space: START in an AS never enabled
  bool job_irq_never_cleared = false;    // job interrupt left asserted
};

class BuggyDriver {
 public:
  static constexpr unsigned kAs = 0;
  static constexpr ProtFlags kRw = prot::kRead | prot::kWrite | prot::kNoExec;
  static constexpr std::uint64_t kSwSync = 1ULL << 55;  // io-pgtable's ARM_LPAE_PTE_SW_SYNC

  BuggyDriver(Simulator& sim, Bugs bugs, Style style = Style::Plain) : sim_(sim), bugs_(bugs), style_(style) {
    if (Checker* c = sim_.checker()) {
      Checker::Object ctx;
      ctx.name = "buggy context";
      ctx_ = c->object_created(std::move(ctx));
    }
    pt_ = std::move(IoPgtable::create(sim_.frames(), {})).value();
    sim_.power_up();
    if (style_ == Style::Plain) {
      sim_.mmio().set_irq_handler(IrqLine::kMmu, [this] { plain_irq(); });
    } else {
      sim_.request_threaded_irq(
          IrqLine::kMmu, [this] { return hard_irq(); }, [this] { thread_irq(); });
    }
    sim_.mmio().set_irq_handler(IrqLine::kJob, [this] { job_irq(); });
    sim_.mmio().write32(regs::kJobIntMask, regs::job_done_bit(1) | regs::job_error_bit(1));
    sim_.mmio().write32(regs::kMmuIntMask, regs::mmu_as_irq_bits(kAs));
    enable();
  }

  ~BuggyDriver() {
    if (pt_) destroy();
    sim_.mmio().set_irq_handler(IrqLine::kJob, {});
    sim_.free_irq(IrqLine::kMmu);
  }
  BuggyDriver(const BuggyDriver&) = delete;
  BuggyDriver& operator=(const BuggyDriver&) = delete;

  // Unmap everything, switch the AS off and free the page table: a clean teardown.
  void destroy() {
    while (!bos_.empty()) free_bo(bos_.begin()->first);
    disable();
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
        map(va + off, pa, b.prot);
      }
      flush(va, size);
    }
    return va;
  }

  void free_bo(GpuVa va) {
    Bo& b = bos_.at(va);
    if (bugs_.free_pages_before_unmap) release_pages(b);
    if (!bugs_.forget_unmap_on_free) {
      unmap(va, b.size);
      if (!bugs_.skip_flush_after_unmap) flush(va, b.size);
    }
    release_pages(b);
    if (Checker* c = sim_.checker()) c->object_destroyed(b.check_id);
    bos_.erase(va);
  }

  // Moves the page at `va` of a BO to a fresh frame (compaction, or a shrinker's migration): unmap,
  // flush, copy, map, flush. The bug writes the new descriptor over the live one.
  void migrate_page(GpuVa va) {
    auto it = bos_.upper_bound(va);
    Bo& b = (--it)->second;
    const std::size_t i = (va - it->first) / kPageSize;
    const PhysAddr old_pa = b.pages.at(i);
    const PhysAddr new_pa = *sim_.frames().alloc_frame();
    std::vector<std::uint8_t> bytes(kPageSize);
    (void)sim_.mem().read(old_pa, bytes);
    (void)sim_.mem().write(new_pa, bytes);
    const GpuVa page = align_down(va, kPageSize);
    if (bugs_.migrate_in_place) {
      (void)sim_.mem().write64(leaf_slot(page), pte_format(PtFormat::MaliLpae).make_leaf(new_pa, 3, b.prot));
    } else {
      unmap(page, kPageSize);
      flush(page, kPageSize);
      map(page, new_pa, b.prot);
    }
    flush(page, kPageSize);
    b.pages[i] = new_pa;
    (void)sim_.frames().free_frame(old_pa);
  }

  // A job through job slot 1 (compute): its descriptor in a BO of its own, its shader work the
  // given accesses; runs until the job interrupt has been handled (or `timeout` cycles passed).
  // True if the job ended DONE.
  bool run_slot_job(std::vector<JobAccess> accesses, Cycle timeout = 10'000'000) {
    const GpuVa desc = create_bo(kPageSize);
    ChainJob j{JobType::Compute};
    j.workload = sim_.add_workload(std::move(accesses));
    const ChainJob jobs[] = {j};
    const GpuVa head = sim_.write_job_chain(bos_.at(desc).pages[0], desc, jobs).value();
    job_ended_ = false;
    const unsigned as = bugs_.job_on_disabled_as ? kAs + 1 : kAs;
    w64(regs::js_reg(1, regs::kJsHeadNextLo), head);
    w64(regs::js_reg(1, regs::kJsAffinityNextLo), sim_.mmio().read32(regs::kShaderPresentLo));
    sim_.mmio().write32(regs::js_reg(1, regs::kJsConfigNext), as);
    sim_.mmio().write32(regs::js_reg(1, regs::kJsCommandNext),
                        static_cast<std::uint32_t>(regs::JsCommand::Start));
    (void)sim_.run_until([this] { return job_ended_; }, sim_.now() + timeout);
    free_bo(desc);
    return job_done_;
  }

  // Re-enables the AS after a kill, as panfrost's as_get does for a faulty AS: clear its bits,
  // take it out of the faulty mask, unmask, then program the table. The bug writes the mask from
  // the faulty mask before taking the AS out of it: the AS's next fault stays masked.
  void reenable() {
    const std::uint32_t bits = regs::mmu_as_irq_bits(kAs);
    sim_.mmio().write32(regs::kMmuIntClear, bits);
    if (bugs_.mask_before_clear) {
      sim_.mmio().write32(regs::kMmuIntMask, bits & ~faulty_);
      faulty_ &= ~bits;
    } else {
      faulty_ &= ~bits;
      sim_.mmio().write32(regs::kMmuIntMask, bits & ~faulty_);
    }
    enable();
    killed_ = false;
  }
  bool killed() const { return killed_; }

  IoPgtable& page_table() { return *pt_; }
  // A software walk of the driver's table: where each descriptor for `va` sits.
  WalkResult walk_of(GpuVa va) const {
    WalkConfig wc;
    wc.mode = TranslationMode::MaliLpae;
    wc.table_base = pt_->pgd();
    return walk(sim_.mem(), wc, va);
  }
  Simulator& sim() { return sim_; }

  // Register helpers, as a driver has them.
  static std::uint32_t reg(std::uint32_t r) { return regs::as_reg(kAs, r); }
  void w64(std::uint32_t lo, std::uint64_t v) {
    sim_.mmio().write32(lo, static_cast<std::uint32_t>(v));
    sim_.mmio().write32(lo + 4, static_cast<std::uint32_t>(v >> 32));
  }
  void wait_ready() {
    if (bugs_.no_wait_ready) return;
    while ((sim_.mmio().read32(reg(regs::kAsStatus)) & regs::kAsStatusActive) != 0) sim_.ndelay(10);
  }
  void command(AsCommand c) {
    wait_ready();
    sim_.mmio().write32(reg(regs::kAsCommand), static_cast<std::uint32_t>(c));
    wait_ready();
  }
  // LOCK the range, then FLUSH_PT it (which also unlocks).
  void flush(GpuVa va, std::uint64_t size) {
    if (killed_) return;  // an UNMAPPED address space caches nothing
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

  void enable() {
    w64(reg(regs::kAsTranstabLo), pt_->transtab());
    w64(reg(regs::kAsMemattrLo), pt_->memattr());
    command(AsCommand::Update);
  }
  void disable() {
    w64(reg(regs::kAsTranstabLo), 0);
    command(AsCommand::Update);
  }

  void release_pages(Bo& b) {
    for (PhysAddr pa : b.pages) (void)sim_.frames().free_frame(pa);
    b.pages.clear();
  }

  PhysAddr leaf_slot(GpuVa va) const {
    const WalkResult w = walk_of(va);
    return w.reads[w.num_reads - 1].pa;
  }

  // io-pgtable's writes on a walk that is not cache-coherent: a table descriptor it installs is
  // written again with the software sync bit once the new table has been synced.
  void map(GpuVa va, PhysAddr pa, ProtFlags prot) {
    (void)pt_->map(va, pa, kPageSize, prot);
    if (style_ != Style::IoPgtable) return;
    const WalkResult w = walk_of(va);
    for (unsigned i = 0; i + 1 < w.num_reads; ++i) {
      std::uint64_t desc = 0;
      (void)sim_.mem().read64(w.reads[i].pa, desc);
      if ((desc & kSwSync) == 0) (void)sim_.mem().write64(w.reads[i].pa, desc | kSwSync);
    }
  }
  // io-pgtable, unmapping a whole 2 MiB range mapped with 4 KiB pages, clears the table entry,
  // frees the table and writes 0 over the entry again.
  void unmap(GpuVa va, std::uint64_t size) {
    (void)pt_->unmap(va, size);
    if (style_ != Style::IoPgtable) return;
    for (GpuVa chunk = align_up(va, kSize2M); chunk + kSize2M <= va + size; chunk += kSize2M) {
      const WalkResult w = walk_of(chunk);
      if (w.num_reads >= 3) (void)sim_.mem().write64(w.reads[2].pa, 0);
    }
  }

  // ---- The MMU interrupt ---------------------------------------------------------------------
  void plain_irq() {
    const std::uint32_t stat = sim_.mmio().read32(regs::kMmuIntStat);
    if (bugs_.irq_never_clears) return;
    if (bugs_.irq_masks_and_forgets) {
      sim_.mmio().write32(regs::kMmuIntMask, 0);
      return;
    }
    sim_.mmio().write32(regs::kMmuIntClear, stat);
    handle_fault();
  }
  IrqReturn hard_irq() {
    if (sim_.mmio().read32(regs::kMmuIntStat) == 0) return IrqReturn::kNone;
    sim_.mmio().write32(regs::kMmuIntMask, 0);
    return IrqReturn::kWakeThread;
  }
  void thread_irq() {
    if (bugs_.irq_masks_and_forgets) return;  // never unmasks, never handles
    const std::uint32_t bits = regs::mmu_as_irq_bits(kAs);
    std::uint32_t status = sim_.mmio().read32(regs::kMmuIntRawstat) & bits & ~faulty_;
    // The bug: the loop is capped at one round, and the fault is never cleared.
    for (unsigned round = 0; status != 0 && round < (bugs_.irq_never_clears ? 1U : 64U); ++round) {
      if (!bugs_.irq_never_clears) {
        sim_.mmio().write32(regs::kMmuIntClear, status);
        handle_fault();
      }
      status = sim_.mmio().read32(regs::kMmuIntRawstat) & bits & ~faulty_;
    }
    sim_.mmio().write32(regs::kMmuIntMask, bits & ~faulty_);
  }

  // Grow the heap the fault is in by its 2 MiB chunk; a fault anywhere else kills the AS.
  void handle_fault() {
    const GpuVa addr = sim_.mmio().read32(reg(regs::kAsFaultaddressLo)) |
                       (static_cast<GpuVa>(sim_.mmio().read32(reg(regs::kAsFaultaddressHi))) << 32);
    for (auto& [va, b] : bos_) {
      if (!b.heap || addr < va || addr >= va + b.size) continue;
      const GpuVa chunk = align_down(addr, kSize2M);
      if (bugs_.retry_without_mapping) {
        flush(chunk, kSize2M);  // the stalled accesses retry, and fault again at the same page
        return;
      }
      if (!grown_.insert(chunk).second) {  // grown already: a fault from before the flush
        flush(chunk, kSize2M);
        return;
      }
      std::vector<PhysAddr> lost;
      for (GpuVa off = 0; off < kSize2M; off += kPageSize) {
        const PhysAddr pa = *sim_.frames().alloc_frame();
        (bugs_.lose_grown_pages ? lost : b.pages).push_back(pa);
        map(chunk + off, pa, bugs_.heap_executable ? (prot::kRead | prot::kWrite) : kRw);
      }
      flush(chunk, kSize2M);
      return;
    }
    // Not a heap: kill the AS (panfrost: the AS joins the faulty mask and goes UNMAPPED).
    faulty_ |= regs::mmu_as_irq_bits(kAs);
    sim_.mmio().write32(regs::kMmuIntMask, regs::mmu_as_irq_bits(kAs) & ~faulty_);
    disable();
    killed_ = true;
  }

  // ---- The job interrupt -----------------------------------------------------------------------
  void job_irq() {
    const std::uint32_t stat = sim_.mmio().read32(regs::kJobIntStat);
    if ((stat & regs::job_error_bit(1)) != 0) {
      job_done_ = false;
      job_ended_ = true;
    } else if ((stat & regs::job_done_bit(1)) != 0) {
      job_done_ = true;
      job_ended_ = true;
    }
    if (!bugs_.job_irq_never_cleared) sim_.mmio().write32(regs::kJobIntClear, stat);
  }

  Simulator& sim_;
  Bugs bugs_;
  Style style_;
  std::unique_ptr<IoPgtable> pt_;
  std::map<GpuVa, Bo> bos_;
  std::set<GpuVa> grown_;
  GpuVa next_va_ = 0x100'0000;
  Checker::ObjectId ctx_ = 0;
  std::uint32_t faulty_ = 0;
  bool killed_ = false;
  bool job_ended_ = false;
  bool job_done_ = false;
};

}  // namespace mali_sim::test
