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
      cpu_(queue, cfg_.gpu_clock_hz, CpuTimeline::InterruptTime::kDeferred),
      bus_(dev, cpu_) {
  auto p = make_grow_policy(cfg_.grow_policy);
  if (!p) throw std::invalid_argument(p.error().message);
  policy_ = std::move(p).value();
}

Driver::~Driver() {
  cpu_.stop();  // work that sleeps is unwound while everything it uses still exists
  mmu_irq_.reset();
  job_irq_.reset();
  dev_.set_irq_handler(IrqLine::kGpu, {});
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

// A register access at the driver's time: the bus syncs the CPU first (everything before it has
// happened), then charges the access's time.
std::uint32_t Driver::rd(std::uint32_t offset) {
  const std::uint32_t v = bus_.read32(offset);
  ++stats_.mmio_reads;
  if (cfg_.record_mmio) mmio_log_.push_back(MmioRecord{queue_.now(), offset, v, false});
  return v;
}

std::uint64_t Driver::rd64(std::uint32_t lo_offset) {
  const std::uint64_t low = rd(lo_offset);
  return low | (static_cast<std::uint64_t>(rd(lo_offset + 4)) << 32);
}

void Driver::wr(std::uint32_t offset, std::uint32_t value) {
  bus_.write32(offset, value);
  ++stats_.mmio_writes;
  if (cfg_.record_mmio) mmio_log_.push_back(MmioRecord{queue_.now(), offset, value, true});
}

bool Driver::poll(std::uint32_t offset, const std::function<bool(std::uint32_t)>& done,
                  std::uint64_t sleep_us, std::uint64_t timeout_us) {
  const Cycle timeout =
      static_cast<Cycle>(static_cast<double>(timeout_us) * static_cast<double>(cfg_.gpu_clock_hz) / 1e6);
  const Cycle start = now();
  for (;;) {
    if (done(rd(offset))) return true;
    if (now() - start > timeout) return done(rd(offset));
    charge_ns(sleep_us * 1000);
  }
}

void Driver::wr64(std::uint32_t lo_offset, std::uint64_t value) {
  wr(lo_offset, static_cast<std::uint32_t>(value));
  wr(lo_offset + 4, static_cast<std::uint32_t>(value >> 32));
}

void Driver::post(std::function<void()> work) { cpu_.post(std::move(work)); }

// ---- Probe and files ----------------------------------------------------------------------------

Status Driver::probe() {
  return exclusive([&]() -> Status {
    const Cycle start = now();
    // panfrost_gpu_init(): reset, features, the "gpu" line, power-on; panfrost_mmu_init() and
    // panfrost_job_init() request theirs. The MMU and job interrupt state is set up as by the
    // runtime resume before the first job (panfrost_device_reset), which the model does at once.
    if (Status s = soft_reset(); !s) return s;
    if (Status s = read_features(); !s) return s;
    bus_.set_irq_handler(IrqLine::kGpu, [this] { gpu_irq(); });
    power_on();
    mmu_irq_ = std::make_unique<ThreadedIrq>(
        dev_, cpu_, IrqLine::kMmu, [this] { return hard_irq(); }, [this] { threaded_irq(); },
        cfg_.costs.irq_entry_ns + cfg_.costs.thread_wakeup_ns);
    mmu_reset();
    job_irq_ = std::make_unique<ThreadedIrq>(
        dev_, cpu_, IrqLine::kJob, [this] { return job_hard_irq(); }, [this] { job_threaded_irq(); },
        cfg_.costs.irq_entry_ns + cfg_.costs.thread_wakeup_ns);
    job_enable_interrupts();
    probed_ = true;
    cpu_.sync();
    stats_.probe_cycles = now() - start;
    log()->debug("probe: {}, AS_PRESENT {:#x}, VA {} bits, PA {} bits, in {} cycles",
                 GpuId::decode(gpu_id_).to_string(), as_present_, va_bits_, pa_bits_, stats_.probe_cycles);
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
