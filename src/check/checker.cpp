// The checker's front: reports, tracked objects and their leak checks, end-of-run checks.
#include <fmt/format.h>

#include <algorithm>

#include "check/checker_impl.hpp"
#include "common/log.hpp"
#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {

namespace {
constexpr std::array<std::string_view, kDetectorCount> kNames = {
    "stale-translation", "irq-left-asserted", "leaked-pages",    "use-after-free",
    "mapping-error",     "command-misuse",    "executable-heap", "job-address-space",
};
}  // namespace

std::string_view to_string(Detector d) noexcept { return kNames.at(static_cast<unsigned>(d)); }

std::optional<Detector> detector_from_string(std::string_view name) noexcept {
  for (unsigned i = 0; i < kDetectorCount; ++i)
    if (kNames[i] == name) return static_cast<Detector>(i);
  return std::nullopt;
}

std::string CheckReport::to_string() const {
  std::string where = as >= 0 ? fmt::format(" AS{}", as) : std::string{};
  if (address != 0 || !address_is_pa) where += fmt::format(" {} {:#x}", address_is_pa ? "PA" : "VA", address);
  return fmt::format("[{}] cycle {}{}: {}. Fix: {}", mali_sim::to_string(detector), at, where, what, fix);
}

Checker::Impl::Impl(ObservedGpu& g, PhysMem& m, FrameAllocator* f, CheckerConfig c)
    : gpu(g), mem(m), frames(f), cfg(std::move(c)) {}

void Checker::Impl::report(Detector d, int as, std::uint64_t address, bool is_pa, std::string what,
                           std::string fix) {
  if (!cfg.enabled(d)) return;
  const Cycle now = gpu.now();
  CheckReport r{
      d, now > time_origin ? now - time_origin : 0, as, address, is_pa, std::move(what), std::move(fix)};
  ++counts[static_cast<unsigned>(d)];
  if (cfg.log) log()->warn("mali-sim check: {}", r.to_string());
  if (cfg.on_report) cfg.on_report(r);
  if (reports.size() < kMaxKept) {
    reports.push_back(std::move(r));
  } else {
    ++dropped;
  }
}

Checker::Checker(ObservedGpu& gpu, PhysMem& mem, FrameAllocator* frames, CheckerConfig config)
    : impl_(std::make_unique<Impl>(gpu, mem, frames, std::move(config))) {
  Impl& s = *impl_;
  gpu.set_observer(&s);
  mem.set_write_observer(&s);
  if (frames != nullptr) {
    frames->set_free_observer([&s](PhysAddr pa) { s.frame_freed(pa); });
    add_counter("frames allocated", [frames] { return frames->stats().allocated; });
  }
  // Address spaces already translating when the checker arrives are followed from now on.
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    const WalkConfig& live = gpu.address_space(as).live;
    if (live.mode == TranslationMode::MaliLpae) s.watch(live.table_base, PtFormat::MaliLpae);
    if (live.mode == TranslationMode::Aarch64_4K) s.watch(live.table_base, PtFormat::Aarch64_4K);
  }
}

Checker::~Checker() {
  Impl& s = *impl_;
  if (s.gpu.observer() == &s) s.gpu.set_observer(nullptr);
  if (s.mem.write_observer() == &s) s.mem.set_write_observer(nullptr);
  if (s.frames != nullptr) s.frames->set_free_observer({});
}

void Checker::watch_page_table(PhysAddr root, PtFormat format) { impl_->watch(root, format); }

Checker::ObjectId Checker::object_created(Object object) {
  Impl& s = *impl_;
  // Counters are compared against their level before the first of the objects alive together.
  if (s.objects.empty())
    for (auto& c : s.counters) c.baseline = c.value();
  const ObjectId id = s.next_object++;
  s.objects.emplace(id, std::move(object));
  return id;
}

void Checker::Impl::check_range_unmapped(const Object& o) {
  auto root = roots.find(o.pgtable_root);
  if (root == roots.end() || o.size == 0) return;
  WalkConfig wc;
  wc.mode =
      root->second.format == PtFormat::Aarch64_4K ? TranslationMode::Aarch64_4K : TranslationMode::MaliLpae;
  wc.table_base = o.pgtable_root;
  wc.disable_af_fault = true;
  std::uint64_t mapped = 0;
  GpuVa first = 0;
  for (GpuVa va = o.va; va < o.va + o.size;) {
    const WalkResult w = walk(mem, wc, va);
    if (w.ok()) {
      const std::uint64_t span = bytes(w.translation.size);
      const GpuVa next = std::min(o.va + o.size, align_down(va, span) + span);
      if (mapped == 0) first = va;
      mapped += next - va;
      va = next;
    } else {
      // A fault at level L means nothing is mapped in the rest of that level's entry.
      const std::uint64_t span = level_size(std::min<unsigned>(w.fault.level, 3));
      va = align_down(va, span) + span;
    }
  }
  if (mapped != 0)
    report(Detector::LeakedPages, live_as_of(o.pgtable_root), first, false,
           fmt::format("{} torn down with {} bytes of [{:#x}, {:#x}) still mapped in page table {:#x}",
                       o.name, mapped, o.va, o.va + o.size, o.pgtable_root),
           "unmap the object's whole range (and flush) before freeing it");
}

void Checker::object_destroyed(ObjectId id) {
  Impl& s = *impl_;
  auto it = s.objects.find(id);
  if (it == s.objects.end()) return;
  const Object o = std::move(it->second);
  s.objects.erase(it);
  if (o.pages_held) {
    if (const std::uint64_t held = o.pages_held(); held != 0)
      s.report(Detector::LeakedPages, -1, o.va, false,
               fmt::format("{} torn down still holding {} pages", o.name, held),
               "put (unpin) every page the object got, including those its fault handler added");
  }
  s.check_range_unmapped(o);
  if (!s.objects.empty()) return;
  for (const auto& c : s.counters) {
    const std::uint64_t now = c.value();
    if (now != c.baseline)
      s.report(Detector::LeakedPages, -1, 0, true,
               fmt::format("after the last tracked object ({}) went, '{}' is {} where it was {} before the "
                           "objects existed ({:+} pages)",
                           o.name, c.name, now, c.baseline,
                           static_cast<std::int64_t>(now) - static_cast<std::int64_t>(c.baseline)),
               "return every page taken for an object (heap growth included) when the object is freed");
  }
}

void Checker::add_counter(std::string name, std::function<std::uint64_t()> value) {
  Impl& s = *impl_;
  const std::uint64_t v = value();
  s.counters.push_back(Impl::Counter{std::move(name), std::move(value), v});
}

void Checker::set_time_origin(Cycle origin) noexcept { impl_->time_origin = origin; }

void Checker::finish() {
  Impl& s = *impl_;
  s.poll_faults(true);
  s.poll_job_irq(true);
  s.finish_irq_lines();
  if (s.cfg.report_live_objects)
    for (const auto& [id, o] : s.objects)
      s.report(Detector::LeakedPages, -1, o.va, false, fmt::format("{} was never torn down", o.name),
               "free every object the test created");
}

const std::vector<CheckReport>& Checker::reports() const noexcept { return impl_->reports; }
std::size_t Checker::count(Detector d) const noexcept { return impl_->counts[static_cast<unsigned>(d)]; }
std::uint64_t Checker::dropped() const noexcept { return impl_->dropped; }
void Checker::clear() noexcept {
  impl_->reports.clear();
  impl_->counts.fill(0);
  impl_->dropped = 0;
}
const CheckerConfig& Checker::config() const noexcept { return impl_->cfg; }
CheckerConfig& Checker::config() noexcept { return impl_->cfg; }

}  // namespace mali_sim
