// TinyMmu: a deliberately small Mali MMU driver, written the way you would write your own, to show
// how a driver is unit-tested against mali-sim. It only sees what it would see on hardware:
// 32-bit registers and interrupt lines (MmioDevice), physical memory and a page allocator
// (FrameAllocator), and a way to wait a little (udelay). Nothing in here knows about the simulator.
// Like a real driver it probes first: soft reset, then the L2, shader cores and tiler powered up.
// Jobs go to the job slots as panfrost sends them (JS_*_NEXT, then COMMAND_NEXT = START) and end
// in the job interrupt; a hung GPU is recovered with a reset.
//
// Address-space layout of a context (one context = one GPU address space = one page table):
//   [1 MiB, +4 KiB)    the context page: the context's job descriptors (user space writes them)
//   [16 MiB, 1 GiB)    buffer objects, mapped through mali_sim::IoPgtable
//   [1 GiB, 2 GiB)     the heap window: its level-2 and level-3 tables are this driver's own,
//                      written raw through PhysMem::write64 when a heap grows on a GPU page fault
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "mali_sim/annotations.hpp"
#include "mali_sim/mmio.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/regs.hpp"

namespace tiny {

using mali_sim::GpuVa;
using mali_sim::PhysAddr;

// What the platform gives the driver. On a board: ioremap()ed registers, the kernel's page
// allocator, udelay(). In a unit test: the simulator's device, allocator and clock.
struct Platform {
  mali_sim::MmioDevice& mmio;
  mali_sim::FrameAllocator& frames;  // frames.mem() is the memory the GPU walks
  std::function<void()> udelay;      // wait a microsecond while polling a register
  // Leak/lifetime annotations go here when there is a checker: the driver knows it only through
  // this interface, as kernel code knows kmemleak.
  mali_sim::DriverAnnotations* checker = nullptr;
};

// Switches that plant a bug, so that a test can show the checker catching it.
struct Bugs {
  bool forget_flush_on_unmap = false;  // unmap a BO without LOCK + FLUSH_PT: stale TLB entries
};

struct Stats {
  std::uint64_t faults = 0;       // MMU interrupts handled, one per AS
  std::uint64_t grows = 0;        // 2 MiB heap chunks backed
  std::uint64_t kills = 0;        // address spaces switched to UNMAPPED after a fault we cannot fix
  std::uint64_t jobs_done = 0;    // job interrupts with a slot's DONE bit
  std::uint64_t jobs_failed = 0;  // job interrupts with a slot's FAILED bit
  std::uint64_t resets = 0;       // GPU resets after a hang
};

// How a submitted job ended, as the job interrupt (or a reset) told the driver.
enum class JobEnd { Running, Done, Failed, LostInReset };

struct Job {
  unsigned as = 0;
  unsigned slot = 0;
  GpuVa head = 0;
  JobEnd end = JobEnd::Running;
  std::uint32_t js_status = 0;  // JS_STATUS when it ended: 0x01 DONE, 0x40.. a job fault
};

class TinyMmu {
 public:
  static constexpr GpuVa kCtxPageVa = 0x10'0000;
  static constexpr GpuVa kBoBase = 0x100'0000;
  static constexpr GpuVa kHeapWindow = 1ULL << 30;  // one level-1 entry: 1 GiB
  static constexpr std::uint64_t kHeapChunk = mali_sim::kSize2M;

  explicit TinyMmu(Platform platform, Bugs bugs = {});
  ~TinyMmu();  // destroys the contexts still alive
  TinyMmu(const TinyMmu&) = delete;
  TinyMmu& operator=(const TinyMmu&) = delete;

  // Brings the GPU up as panfrost's probe does: GPU_COMMAND SOFT_RESET and a poll for
  // RESET_COMPLETED, then the L2, the shader cores and the tiler powered on, each polled until
  // READY. False if a step does not finish within 10 ms. Call it before anything else.
  bool probe();

  // Resets the GPU after a hang, as panfrost's reset does: job interrupts masked, GPU_COMMAND
  // SOFT_RESET, power back on, every live context's address space enabled again, the job
  // interrupt unmasked. Jobs still in the slots end as LostInReset. False if a step times out.
  bool reset();

  // A context on address space `as`: page table, context page, heap window, AS enabled.
  bool ctx_create(unsigned as);
  // Frees every BO of the context, its page table, and disables the AS.
  void ctx_destroy(unsigned as);
  bool ctx_killed(unsigned as) const { return ctx(as).killed; }

  // A BO backed by fresh pages and mapped read/write, no-exec, now.
  std::optional<GpuVa> bo_create(unsigned as, std::uint64_t size);
  // A heap: VA only; each GPU page fault in it backs the 2 MiB chunk with 512 pages.
  std::optional<GpuVa> heap_create(unsigned as, std::uint64_t size);
  void bo_destroy(unsigned as, GpuVa va);

  // The pages a BO holds, in VA order for a BO; a heap's in the order its chunks were grown.
  const std::vector<PhysAddr>& bo_pages(unsigned as, GpuVa va) const { return ctx(as).bos.at(va).pages; }
  const mali_sim::IoPgtable& page_table(unsigned as) const { return *ctx(as).pt; }
  // Where user space writes the context's job descriptors: the context page's physical address
  // (its GPU VA is kCtxPageVa).
  PhysAddr ctx_page(unsigned as) const { return ctx(as).ctx_page; }

  // Starts the job chain at `head` (a GPU VA of the context on `as`) on job slot `slot`, on every
  // present shader core. One job per slot at a time: nullopt if the slot still has one, or the
  // context was killed. The job interrupt ends it.
  using JobId = std::size_t;
  std::optional<JobId> job_submit(unsigned as, unsigned slot, GpuVa head);
  const Job& job(JobId id) const { return jobs_.at(id); }
  bool slot_busy(unsigned slot) const { return slot_job_.at(slot).has_value(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Bo {
    GpuVa va = 0;
    std::uint64_t size = 0;
    bool heap = false;
    std::vector<PhysAddr> pages;          // every page the BO holds (a heap: the grown ones)
    std::map<GpuVa, PhysAddr> l3_tables;  // heap: chunk VA -> its level-3 table (our bookkeeping)
    mali_sim::DriverAnnotations::ObjectId check_id = 0;
  };
  struct Ctx {
    unsigned as = 0;
    std::unique_ptr<mali_sim::IoPgtable> pt;
    PhysAddr ctx_page = 0;
    PhysAddr heap_l2 = 0;       // our level-2 table for the heap window
    PhysAddr heap_l1_slot = 0;  // where it is linked: a descriptor in io-pgtable's level-1 table
    GpuVa next_bo = kBoBase;
    GpuVa next_heap = kHeapWindow;
    std::map<GpuVa, Bo> bos;
    bool killed = false;
    mali_sim::DriverAnnotations::ObjectId check_id = 0;
  };

  // Masks the MMU interrupt for a scope, then restores it: what spin_lock_irqsave() does around
  // a register sequence in a kernel driver. udelay() runs the simulated GPU, so without it a new
  // fault could run the handler, and its own LOCK/FLUSH_PT, in the middle of ours.
  class IrqOff {
   public:
    explicit IrqOff(TinyMmu& d) : d_(d), saved_(d.rd(mali_sim::regs::kMmuIntMask)) {
      d_.wr(mali_sim::regs::kMmuIntMask, 0);
    }
    ~IrqOff() { d_.wr(mali_sim::regs::kMmuIntMask, saved_); }  // a fault raised meanwhile fires now
    IrqOff(const IrqOff&) = delete;
    IrqOff& operator=(const IrqOff&) = delete;

   private:
    TinyMmu& d_;
    std::uint32_t saved_;
  };

  // Register helpers.
  std::uint32_t rd(std::uint32_t reg) { return p_.mmio.read32(reg); }
  void wr(std::uint32_t reg, std::uint32_t v) { p_.mmio.write32(reg, v); }
  void wr64(std::uint32_t lo, std::uint64_t v);
  std::uint64_t rd64(std::uint32_t lo);
  bool wait_ready(unsigned as);
  bool poll(const std::function<bool()>& done);
  void as_command(unsigned as, mali_sim::AsCommand cmd);
  void flush_range(const Ctx& c, GpuVa va, std::uint64_t size);
  void set_irq_mask(unsigned as, bool on);
  void as_disable(unsigned as);

  bool soft_reset_and_power_on();
  void as_enable(const Ctx& c);
  void irq();
  void job_irq();
  void job_ended(unsigned slot, JobEnd end, std::uint32_t js_status);
  bool grow(Ctx& c, Bo& heap, GpuVa fault_va);
  void track(Ctx& c, Bo& b);

  Ctx& ctx(unsigned as) { return *ctxs_.at(as); }
  const Ctx& ctx(unsigned as) const { return *ctxs_.at(as); }
  mali_sim::PhysMem& mem() { return p_.frames.mem(); }

  Platform p_;
  Bugs bugs_;
  Stats stats_;
  std::map<unsigned, std::unique_ptr<Ctx>> ctxs_;
  std::vector<Job> jobs_;
  std::vector<std::optional<JobId>> slot_job_ =
      std::vector<std::optional<JobId>>(mali_sim::regs::kMaxJobSlots);
};

}  // namespace tiny
