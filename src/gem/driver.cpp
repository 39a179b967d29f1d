// The reference driver's frame: CPU time, register access with recording, work serialisation,
// probing, and files (contexts).
#include "mali_sim/gem/driver.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

namespace {
constexpr GpuVa kVaStart = 32ULL << 20;  // panfrost's per-file drm_mm: [32 MiB, 4 GiB)
constexpr GpuVa kVaEnd = 4ULL << 30;
}  // namespace

std::string MmioRecord::to_string() const {
  std::string s = fmt::format("{:>12} {} {} {} {:#x}", at, write ? "W" : "R", register_name(offset),
                              write ? "=" : "->", value);
  if (write && regs::as_reg_decode(offset) && regs::as_reg_decode(offset)->reg_in_block == regs::kAsCommand &&
      is_known_as_command(value))
    s += fmt::format(" ({})", mali_sim::to_string(static_cast<AsCommand>(value)));
  return s;
}

Driver::Driver(MmioDevice& dev, EventQueue& queue, FrameAllocator& frames, DriverConfig cfg)
    : dev_(dev),
      queue_(queue),
      frames_(frames),
      cfg_(std::move(cfg)),
      shmem_(frames, ShmemConfig{cfg_.transparent_huge_pages}),
      cpu_(queue) {
  auto p = make_grow_policy(cfg_.grow_policy);
  if (!p) throw std::invalid_argument(p.error().message);
  policy_ = std::move(p).value();
}

Driver::~Driver() {
  cpu_.stop();  // work that sleeps is unwound while everything it uses still exists
  dev_.set_irq_handler({});
  lru_.clear();
  for (auto& [id, ctx] : contexts_) {
    for (auto& [bid, b] : ctx->bos) {
      ctx->va.remove(b->node);
      while (shmem_.pin_count(b->obj) > 0) (void)shmem_.unpin(b->obj);
      (void)shmem_.destroy(b->obj);
    }
  }
}

// ---- CPU time and registers -------------------------------------------------------------------

void Driver::charge_ns(std::uint64_t ns) {
  // Cycles = ns * clock / 1e9, carrying the sub-cycle remainder so that many small costs add up
  // exactly. Split so that nothing overflows for clocks up to 10 GHz.
  constexpr std::uint64_t kGiga = 1'000'000'000;
  const std::uint64_t frac = (ns % kGiga) * cfg_.gpu_clock_hz + ns_remainder_;
  const std::uint64_t cycles = ns / kGiga * cfg_.gpu_clock_hz + frac / kGiga;
  ns_remainder_ = frac % kGiga;
  cpu_.spend(cycles);  // lazy: the work sleeps at its next register access or when it ends
}

std::uint32_t Driver::rd(std::uint32_t offset) {
  cpu_.sync();  // the device is read at the driver's time: everything before it has happened
  const std::uint32_t v = dev_.read32(offset);
  ++stats_.mmio_reads;
  if (cfg_.record_mmio) mmio_log_.push_back(MmioRecord{queue_.now(), offset, v, false});
  charge_ns(cfg_.costs.mmio_read_ns);
  return v;
}

void Driver::wr(std::uint32_t offset, std::uint32_t value) {
  cpu_.sync();
  dev_.write32(offset, value);
  ++stats_.mmio_writes;
  if (cfg_.record_mmio) mmio_log_.push_back(MmioRecord{queue_.now(), offset, value, true});
  charge_ns(cfg_.costs.mmio_write_ns);
}

void Driver::wr64(std::uint32_t lo_offset, std::uint64_t value) {
  wr(lo_offset, static_cast<std::uint32_t>(value));
  wr(lo_offset + 4, static_cast<std::uint32_t>(value >> 32));
}

void Driver::post(std::function<void()> work) { cpu_.post(std::move(work)); }

// ---- Probe and files ----------------------------------------------------------------------------

Status Driver::probe() {
  return exclusive([&]() -> Status {
    gpu_id_ = rd(regs::kGpuId);
    const std::uint32_t mmu = rd(regs::kGpuMmuFeatures);
    as_present_ = rd(regs::kGpuAsPresent);
    va_bits_ = mmu & 0xFFU;
    pa_bits_ = (mmu >> 8) & 0xFFU;
    if (as_present_ == 0 || (as_present_ >> regs::kMaxAddressSpaces) != 0)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("probe: GPU_AS_PRESENT {:#x} is unusable", as_present_));
    if (va_bits_ < 21 || va_bits_ > kMaxVaBits || pa_bits_ < 21 || pa_bits_ > kMaxPaBits)
      return make_error(
          Errc::kInvalidArgument,
          fmt::format("probe: GPU_MMU_FEATURES {:#x} gives VA {} / PA {} bits", mmu, va_bits_, pa_bits_));
    // panfrost_mmu_reset(): forget bindings, clear and unmask every MMU interrupt.
    wr(regs::kMmuIntClear, ~0U);
    wr(regs::kMmuIntMask, ~0U);
    dev_.set_irq_handler([this] { hard_irq(); });
    probed_ = true;
    log()->debug("probe: GPU_ID {:#x}, AS_PRESENT {:#x}, VA {} bits, PA {} bits", gpu_id_, as_present_,
                 va_bits_, pa_bits_);
    return {};
  });
}

Result<CtxId> Driver::open() {
  return exclusive([&]() -> Result<CtxId> {
    if (!probed_) return make_error(Errc::kInvalidArgument, "open: the driver has not probed the GPU");
    IoPgtableConfig pc;
    pc.format = cfg_.format;
    pc.ias = va_bits_;
    pc.oas = pa_bits_;
    pc.use_1g_blocks = false;  // panfrost asks io-pgtable for SZ_4K | SZ_2M only
    auto ctx = std::make_unique<Context>(next_ctx_, kVaStart, kVaEnd);
    track_context(*ctx);  // before the page table: its root counts as the context's
    auto pt = IoPgtable::create(frames_, pc);
    if (!pt) {
      untrack(ctx->check_id);
      return pt.error();
    }
    const CtxId id = next_ctx_++;
    ctx->pt = std::move(pt).value();
    watch_page_table(*ctx);
    contexts_.emplace(id, std::move(ctx));
    return id;
  });
}

Result<Driver::Context*> Driver::context(CtxId id) {
  auto it = contexts_.find(id);
  if (it == contexts_.end()) return make_error(Errc::kNotFound, fmt::format("no open context {}", id));
  return it->second.get();
}

Result<const Driver::Context*> Driver::context(CtxId id) const {
  auto it = contexts_.find(id);
  if (it == contexts_.end()) return make_error(Errc::kNotFound, fmt::format("no open context {}", id));
  return static_cast<const Context*>(it->second.get());
}

Status Driver::close(CtxId id) {
  return exclusive([&]() -> Status {
    auto c = context(id);
    if (!c) return c.error();
    Context& ctx = **c;
    if (ctx.as_count > 0)
      return make_error(Errc::kBusy,
                        fmt::format("close of context {}: a job is still running on AS{}", id, ctx.as));
    while (!ctx.bos.empty()) release_bo(ctx, *ctx.bos.begin()->second);
    if (ctx.as >= 0) {
      const auto as = static_cast<unsigned>(ctx.as);
      as_disable(as);
      as_alloc_mask_ &= ~(1U << as);
      as_faulty_mask_ &= ~regs::mmu_as_irq_bits(as);
      lru_.erase(lru_.iterator_to(ctx));
    }
    std::uint64_t check_id = ctx.check_id;
    contexts_.erase(id);
    untrack(check_id);
    return {};
  });
}

Result<ContextInfo> Driver::context_info(CtxId id) const {
  auto c = context(id);
  if (!c) return c.error();
  const Context& ctx = **c;
  ContextInfo info;
  info.as = ctx.as;
  info.as_count = ctx.as_count;
  info.bos = ctx.bos.size();
  info.heap_rss = ctx.heap_rss;
  for (const auto& [bid, b] : ctx.bos) info.resident += shmem_.resident_pages(b->obj) * kPageSize;
  info.table_pages = ctx.pt->table_pages();
  return info;
}

MemoryInfo Driver::memory_info() const {
  MemoryInfo m;
  m.shmem = shmem_.info();
  for (const auto& [id, ctx] : contexts_) m.page_table_pages += ctx->pt->table_pages();
  m.frames_allocated = frames_.stats().allocated;
  return m;
}

}  // namespace mali_sim
