#include "tiny_gpu_mmu/tiny_mmu.hpp"

#include <cassert>
#include <cstdio>
#include <string>

#include "mali_sim/pagetable/format.hpp"
#include "mali_sim/pagetable/walker.hpp"

namespace tiny {

namespace regs = mali_sim::regs;
using mali_sim::AsCommand;
using mali_sim::kPageSize;

namespace {
// GPU buffers are never executable here; heaps must not be (they are written by the GPU itself).
constexpr mali_sim::ProtFlags kRwNoExec =
    mali_sim::prot::kRead | mali_sim::prot::kWrite | mali_sim::prot::kNoExec;
// Smallest LOCK region before arch 12 is 32 KiB (regs::lock_region_min_log2); panfrost uses it always.
constexpr unsigned kLockMinLog2 = 15;
constexpr std::uint64_t kTranscfgUnmapped = 1;  // TRANSCFG.ADRMODE UNMAPPED (ignored by legacy GPUs)

const mali_sim::PteFormat& fmt() { return mali_sim::pte_format(mali_sim::PtFormat::MaliLpae); }
// Address of the level-2 descriptor for `va` in our heap window's level-2 table.
PhysAddr l2_slot(PhysAddr l2_table, GpuVa va) { return l2_table + 8ULL * mali_sim::level_index(va, 2); }
std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

TinyMmu::TinyMmu(Platform platform, Bugs bugs) : p_(std::move(platform)), bugs_(bugs) {}

TinyMmu::~TinyMmu() {
  while (!ctxs_.empty()) ctx_destroy(ctxs_.begin()->first);
  p_.mmio.set_irq_handler(mali_sim::IrqLine::kMmu, {});
  p_.mmio.set_irq_handler(mali_sim::IrqLine::kJob, {});
}

bool TinyMmu::poll(const std::function<bool()>& done) {
  for (int us = 0; us < 10'000; ++us) {
    if (done()) return true;
    p_.udelay();
  }
  return done();
}

bool TinyMmu::probe() {
  if (!soft_reset_and_power_on()) return false;
  wr(regs::kMmuIntMask, 0);  // unmasked per AS when a context is enabled on it
  p_.mmio.set_irq_handler(mali_sim::IrqLine::kMmu, [this] { irq(); });
  p_.mmio.set_irq_handler(mali_sim::IrqLine::kJob, [this] { job_irq(); });
  wr(regs::kJobIntClear, ~0U);
  wr(regs::kJobIntMask, ~0U);  // DONE and FAILED of every slot
  return true;
}

bool TinyMmu::soft_reset_and_power_on() {
  // The reset clears every interrupt mask and powers everything down.
  wr(regs::kGpuIntMask, 0);
  wr(regs::kGpuIntClear, regs::kGpuIrqResetCompleted);
  wr(regs::kGpuCmd, static_cast<std::uint32_t>(mali_sim::GpuCommand::SoftReset));
  if (!poll([this] { return (rd(regs::kGpuIntRawstat) & regs::kGpuIrqResetCompleted) != 0; })) return false;
  wr(regs::kGpuIntClear, ~0U);
  // The L2 first: the shader cores and the tiler depend on it.
  struct Domain {
    std::uint32_t present, pwron, ready;
  };
  for (const Domain d : {Domain{regs::kL2PresentLo, regs::kL2PwronLo, regs::kL2ReadyLo},
                         Domain{regs::kShaderPresentLo, regs::kShaderPwronLo, regs::kShaderReadyLo},
                         Domain{regs::kTilerPresentLo, regs::kTilerPwronLo, regs::kTilerReadyLo}}) {
    const std::uint32_t bits = rd(d.present);
    wr(d.pwron, bits);
    if (!poll([&] { return rd(d.ready) == bits; })) return false;
  }
  wr(regs::kGpuIntClear, ~0U);  // the power-changed interrupts the power-up raised
  return true;
}

// ---- registers ----------------------------------------------------------------------------------

// 64-bit registers are two 32-bit halves: LO at the offset, HI 4 bytes above.
void TinyMmu::wr64(std::uint32_t lo, std::uint64_t v) {
  wr(lo, static_cast<std::uint32_t>(v));
  wr(lo + 4, static_cast<std::uint32_t>(v >> 32));
}
std::uint64_t TinyMmu::rd64(std::uint32_t lo) { return rd(lo) | (std::uint64_t{rd(lo + 4)} << 32); }

// AS_COMMAND must not be written while the previous command runs (AS_STATUS.ACTIVE). On a board
// this is a udelay() loop with a timeout; under the simulator udelay advances its clock.
bool TinyMmu::wait_ready(unsigned as) {
  for (int i = 0; i < 100'000; ++i) {
    if ((rd(regs::as_reg(as, regs::kAsStatus)) & regs::kAsStatusActive) == 0) return true;
    p_.udelay();
  }
  return false;  // a real driver would reset the GPU here
}

void TinyMmu::as_command(unsigned as, AsCommand cmd) {
  wait_ready(as);
  wr(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(cmd));
  wait_ready(as);
}

// After descriptors of a live table change, the GPU may still hold the old ones in its TLBs and
// walk cache. LOCK a region covering the change, then FLUSH_PT it (which also unlocks it and
// lets accesses stalled on a fault in it retry).
void TinyMmu::flush_range(const Ctx& c, GpuVa va, std::uint64_t size) {
  if (c.killed) return;  // an UNMAPPED address space caches nothing
  const IrqOff irq_off(*this);
  // LOCKADDR: a naturally aligned power-of-two region covering [va, va + size), encoded as the
  // base and log2(size) - 1, never below the GPU's minimum.
  wr64(regs::as_reg(c.as, regs::kAsLockaddrLo), mali_sim::lockaddr_encode(va, size, kLockMinLog2).value());
  as_command(c.as, AsCommand::Lock);
  as_command(c.as, AsCommand::FlushPt);
}

void TinyMmu::set_irq_mask(unsigned as, bool on) {
  const std::uint32_t mask = rd(regs::kMmuIntMask);
  wr(regs::kMmuIntMask, on ? (mask | regs::mmu_as_irq_bits(as)) : (mask & ~regs::mmu_as_irq_bits(as)));
}

// Program the table, then UPDATE makes TRANSTAB/MEMATTR/TRANSCFG live.
void TinyMmu::as_enable(const Ctx& c) {
  const IrqOff irq_off(*this);
  wr64(regs::as_reg(c.as, regs::kAsTranstabLo), c.pt->transtab());
  wr64(regs::as_reg(c.as, regs::kAsMemattrLo), c.pt->memattr());
  wr64(regs::as_reg(c.as, regs::kAsTranscfgLo), c.pt->transcfg());
  as_command(c.as, AsCommand::Update);
}

// UPDATE to UNMAPPED: the AS stops translating, its cached translations are dropped, and every
// access waiting on it fails.
void TinyMmu::as_disable(unsigned as) {
  const IrqOff irq_off(*this);
  wr64(regs::as_reg(as, regs::kAsTranstabLo), 0);  // ADRMODE UNMAPPED
  wr64(regs::as_reg(as, regs::kAsTranscfgLo), kTranscfgUnmapped);
  as_command(as, AsCommand::Update);
}

// ---- contexts -----------------------------------------------------------------------------------

bool TinyMmu::ctx_create(unsigned as) {
  if ((rd(regs::kGpuAsPresent) & (1U << as)) == 0 || ctxs_.contains(as)) return false;
  auto c = std::make_unique<Ctx>();
  c->as = as;
  // Annotate first: the checker takes its "frames allocated" baseline when the first object
  // appears, and every frame this context takes must be back when the last object goes.
  if (p_.checker != nullptr) {
    mali_sim::AnnotatedObject o;
    o.name = "ctx AS" + std::to_string(as);
    c->check_id = p_.checker->object_created(std::move(o));
  }
  auto pt = mali_sim::IoPgtable::create(p_.frames, {});
  const auto page = p_.frames.alloc_frame();
  const auto l2 = p_.frames.alloc_frame();
  if (!pt || !page || !l2 || !(*pt)->map(kCtxPageVa, *page, kPageSize, kRwNoExec)) {
    if (page) (void)p_.frames.free_frame(*page);
    if (l2) (void)p_.frames.free_frame(*l2);
    if (pt) pt->reset();  // its frames go back before the checker compares the counters
    if (p_.checker != nullptr) p_.checker->object_destroyed(c->check_id);
    return false;
  }
  c->pt = std::move(*pt);
  c->ctx_page = *page;
  c->heap_l2 = *l2;  // fresh frames read as zeros: 512 invalid descriptors
  // Link our heap window's level-2 table into io-pgtable's level-1 table, which exists (and
  // stays) because of the context page. A software walk of the window's first VA stops at the
  // empty level-1 descriptor: that is the slot to fill.
  mali_sim::WalkConfig wc;
  wc.mode = mali_sim::TranslationMode::MaliLpae;
  wc.table_base = c->pt->pgd();
  const mali_sim::WalkResult w = mali_sim::walk(mem(), wc, kHeapWindow);
  assert(!w.ok() && w.fault.level == 1);
  c->heap_l1_slot = w.reads[w.num_reads - 1].pa;
  mem().write64(c->heap_l1_slot, fmt().make_table(c->heap_l2));
  as_enable(*c);
  set_irq_mask(as, true);
  ctxs_.emplace(as, std::move(c));
  return true;
}

void TinyMmu::ctx_destroy(unsigned as) {
  Ctx& c = ctx(as);
  while (!c.bos.empty()) bo_destroy(as, c.bos.begin()->first);
  // Unlink the heap window before io-pgtable frees its level-1 table (it does when the context
  // page, its last mapping there, is unmapped), and flush the window.
  mem().write64(c.heap_l1_slot, fmt().invalid());
  flush_range(c, kHeapWindow, mali_sim::kSize1G);
  (void)c.pt->unmap(kCtxPageVa, kPageSize);
  flush_range(c, kCtxPageVa, kPageSize);
  // Once the AS is off no walk can reach the tables: only then do their pages go.
  set_irq_mask(as, false);
  as_disable(as);
  (void)p_.frames.free_frame(c.heap_l2);
  (void)p_.frames.free_frame(c.ctx_page);
  c.pt.reset();  // io-pgtable frees the root and whatever tables are left
  if (p_.checker != nullptr) p_.checker->object_destroyed(c.check_id);
  ctxs_.erase(as);
}

// ---- buffer objects -----------------------------------------------------------------------------

void TinyMmu::track(Ctx& c, Bo& b) {
  if (p_.checker == nullptr) return;
  mali_sim::AnnotatedObject o;
  o.name = std::string(b.heap ? "heap " : "BO ") + hex(b.va) + " of ctx AS" + std::to_string(c.as);
  o.pgtable_root = c.pt->pgd();
  o.va = b.va;
  o.size = b.size;
  o.grows_on_fault = b.heap;
  o.pages_held = [&b] { return static_cast<std::uint64_t>(b.pages.size()); };  // map nodes are stable
  b.check_id = p_.checker->object_created(std::move(o));
}

std::optional<GpuVa> TinyMmu::bo_create(unsigned as, std::uint64_t size) {
  Ctx& c = ctx(as);
  size = mali_sim::align_up(size, kPageSize);
  if (c.killed || size == 0 || size > kHeapWindow - c.next_bo) return std::nullopt;
  Bo& b = c.bos[c.next_bo];
  b.va = c.next_bo;
  b.size = size;
  c.next_bo += size + kPageSize;  // an unmapped page between BOs turns an overrun into a fault
  track(c, b);
  for (std::uint64_t off = 0; off < size; off += kPageSize) {
    const auto pa = p_.frames.alloc_frame();
    if (pa) b.pages.push_back(*pa);
    if (!pa || !c.pt->map(b.va + off, *pa, kPageSize, kRwNoExec)) {
      bo_destroy(as, b.va);
      return std::nullopt;
    }
  }
  flush_range(c, b.va, b.size);  // as panfrost does after a map: no cached walk may miss it
  return b.va;
}

std::optional<GpuVa> TinyMmu::heap_create(unsigned as, std::uint64_t size) {
  Ctx& c = ctx(as);
  size = mali_sim::align_up(size, kHeapChunk);
  if (c.killed || size == 0 || size > kHeapWindow + mali_sim::kSize1G - c.next_heap) return std::nullopt;
  Bo& b = c.bos[c.next_heap];
  b.va = c.next_heap;
  b.size = size;
  b.heap = true;
  c.next_heap += size + kHeapChunk;
  track(c, b);
  return b.va;  // no pages, no descriptors: the GPU's first touch of each chunk faults
}

void TinyMmu::bo_destroy(unsigned as, GpuVa va) {
  Ctx& c = ctx(as);
  Bo& b = c.bos.at(va);
  if (b.heap) {
    for (const auto& [chunk, table] : b.l3_tables) mem().write64(l2_slot(c.heap_l2, chunk), fmt().invalid());
  } else {
    (void)c.pt->unmap(b.va, b.size);
  }
  // Flush before the pages go back: until then the GPU may still translate to them, and they may
  // already belong to someone else.
  if (!bugs_.forget_flush_on_unmap) flush_range(c, b.va, b.size);
  for (const PhysAddr pa : b.pages) (void)p_.frames.free_frame(pa);
  for (const auto& [chunk, table] : b.l3_tables) (void)p_.frames.free_frame(table);
  b.pages.clear();
  if (p_.checker != nullptr) p_.checker->object_destroyed(b.check_id);
  c.bos.erase(va);
}

// ---- the MMU interrupt --------------------------------------------------------------------------

void TinyMmu::irq() {
  const std::uint32_t stat = rd(regs::kMmuIntStat);
  const IrqOff irq_off(*this);  // a fault raised while we work waits in RAWSTAT: no re-entry
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    const std::uint32_t bits = stat & regs::mmu_as_irq_bits(as);
    if (bits == 0) continue;
    ++stats_.faults;
    const auto status = mali_sim::FaultStatus::decode(rd(regs::as_reg(as, regs::kAsFaultstatus)));
    const GpuVa addr = rd64(regs::as_reg(as, regs::kAsFaultaddressLo));
    // Clear before handling: a fault raised meanwhile sets the bit again and re-raises the line.
    wr(regs::kMmuIntClear, bits);
    const auto it = ctxs_.find(as);
    if (it == ctxs_.end()) continue;
    Ctx& c = *it->second;
    // Only a page (translation) fault inside a heap is fixable: back the chunk, then resume.
    if ((bits & regs::mmu_page_fault_bit(as)) != 0 &&
        mali_sim::exception_is_translation_fault(status.exception_type)) {
      auto bo = c.bos.upper_bound(addr);
      if (bo != c.bos.begin() && (--bo)->second.heap && addr - bo->first < bo->second.size &&
          grow(c, bo->second, addr))
        continue;
    }
    // Anything else (a stray pointer, a bus error, no memory): kill this AS only. Its jobs fail;
    // other address spaces go on.
    as_disable(as);
    c.killed = true;
    ++stats_.kills;
  }
}

bool TinyMmu::grow(Ctx& c, Bo& heap, GpuVa fault_va) {
  const GpuVa chunk = mali_sim::align_down(fault_va, kHeapChunk);
  // A chunk already grown: another access faulted on it before the grow. The flush below is all
  // it needs.
  if (!heap.l3_tables.contains(chunk)) {
    std::vector<PhysAddr> pages(kHeapChunk / kPageSize);
    const auto table = p_.frames.alloc_frame();
    const std::size_t got = table ? p_.frames.alloc_frames(pages) : 0;
    if (got != pages.size()) {
      for (std::size_t i = 0; i < got; ++i) (void)p_.frames.free_frame(pages[i]);
      if (table) (void)p_.frames.free_frame(*table);
      return false;
    }
    // Fill the new level-3 table first and link it last, so that a walker never sees it half
    // written. Raw stores go through PhysMem::write64 (never frame_words()): the checker sees them.
    for (std::size_t i = 0; i < pages.size(); ++i)
      mem().write64(*table + 8 * i, fmt().make_leaf(pages[i], 3, kRwNoExec));
    mem().write64(l2_slot(c.heap_l2, chunk), fmt().make_table(*table));
    heap.l3_tables.emplace(chunk, *table);
    heap.pages.insert(heap.pages.end(), pages.begin(), pages.end());
    ++stats_.grows;
  }
  flush_range(c, chunk, kHeapChunk);  // drops any cached "nothing here" and restarts the access
  return true;
}

}  // namespace tiny
