#include "mali_sim/pagetable/io_pgtable.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "mali_sim/regs.hpp"
#include "pagetable/formats.hpp"

namespace mali_sim {

namespace {
constexpr unsigned kL3Shift = 21;  // VA bits above this select the level-3 table
const detail::MaliLpaeFormat kLpae;
const detail::Aarch64Format kA64;
}  // namespace

template <class F>
decltype(auto) IoPgtable::with_format(F&& f) const {
  return cfg_.format == PtFormat::Aarch64_4K ? f(kA64) : f(kLpae);
}

IoPgtable::IoPgtable(FrameAllocator& frames, const IoPgtableConfig& cfg, const PteFormat& fmt)
    : frames_(frames), mem_(frames.mem()), cfg_(cfg), fmt_(fmt) {}

Result<std::unique_ptr<IoPgtable>> IoPgtable::create(FrameAllocator& frames, const IoPgtableConfig& cfg) {
  if (cfg.ias > kMaxVaBits || cfg.ias < 21)
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("io-pgtable: ias {} outside [21, 48] (Mali VA is at most 48 bits)", cfg.ias));
  if (cfg.oas > kMaxPaBits || cfg.oas < 21)
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("io-pgtable: oas {} outside [21, 40] (Mali PA is at most 40 bits)", cfg.oas));
  std::unique_ptr<IoPgtable> pt(new IoPgtable(frames, cfg, pte_format(cfg.format)));
  if (!pt->new_table())
    return make_error(Errc::kOutOfMemory, "io-pgtable: no free frame for the level-0 table");
  return pt;
}

IoPgtable::~IoPgtable() {
  // The root goes first, so that no freed table is ever reachable from a live one.
  if (!tables_.empty()) (void)frames_.free_frame(pgd_);
  for (const auto& entry : tables_)
    if (entry.first != pgd_) (void)frames_.free_frame(entry.first);
}

void IoPgtable::store(PhysAddr table, std::uint64_t& slot, std::uint64_t desc) {
  // With a checker attached every descriptor goes through PhysMem, which tells it; otherwise
  // the host pointer is the fast path.
  if (mem_.write_observer() != nullptr) {
    const auto index = static_cast<PhysAddr>(&slot - table_at(table).words);
    (void)mem_.write64(table + index * 8, desc);
  } else {
    slot = desc;
  }
}

std::optional<PhysAddr> IoPgtable::new_table() {
  const auto pa = frames_.alloc_frame();
  if (!pa) return std::nullopt;
  std::uint64_t* words = mem_.frame_words(*pa >> kPageShift);
  // Frames arrive zeroed; formats whose invalid descriptor is not 0 (kbase AArch64 writes 2)
  // fill the table explicitly, as the driver does.
  if (fmt_.invalid() != 0) std::fill_n(words, kEntriesPerTable, fmt_.invalid());
  [[maybe_unused]] const bool inserted = tables_.emplace(*pa, Table{words, 0}).second;
  assert(inserted);
  if (tables_.size() == 1) pgd_ = *pa;
  return pa;
}

void IoPgtable::free_table(PhysAddr pa) {
  if (last_l3_table_ != nullptr && last_l3_pa_ == pa) {
    last_l3_table_ = nullptr;
    last_l3_va_ = ~0ULL;
  }
  tables_.erase(pa);
  (void)frames_.free_frame(pa);
}

IoPgtable::Table& IoPgtable::table_at(PhysAddr pa) {
  auto it = tables_.find(pa);
  assert(it != tables_.end() && "descriptor points at a table this writer does not own");
  return it->second;
}

const IoPgtable::Table* IoPgtable::find_table(PhysAddr pa) const {
  auto it = tables_.find(pa);
  return it == tables_.end() ? nullptr : &it->second;
}

Status IoPgtable::check_range(GpuVa iova, std::uint64_t size, const char* what) const {
  if (size == 0) return make_error(Errc::kInvalidArgument, fmt::format("{} of size 0 at {:#x}", what, iova));
  if (!is_aligned(iova, kPageSize) || !is_aligned(size, kPageSize))
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("{} [{:#x}, +{:#x}): address and size must be 4 KiB aligned", what, iova, size));
  const std::uint64_t limit = 1ULL << cfg_.ias;
  if (iova >= limit || size > limit - iova)
    return make_error(
        Errc::kOutOfRange,
        fmt::format("{} [{:#x}, +{:#x}) exceeds the {}-bit input address space", what, iova, size, cfg_.ias));
  return {};
}

Status IoPgtable::map(GpuVa iova, PhysAddr pa, std::uint64_t size, ProtFlags prot) {
  if (Status s = check_range(iova, size, "map"); !s) return s;
  if (!is_aligned(pa, kPageSize))
    return make_error(Errc::kInvalidArgument,
                      fmt::format("map of {:#x}: PA {:#x} is not 4 KiB aligned", iova, pa));
  const std::uint64_t out_limit = 1ULL << cfg_.oas;
  if (pa >= out_limit || size > out_limit - pa)
    return make_error(Errc::kOutOfRange,
                      fmt::format("map of {:#x}: PA range [{:#x}, +{:#x}) exceeds the {}-bit "
                                  "output address space",
                                  iova, pa, size, cfg_.oas));
  if ((prot & ~prot::kAll) != 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("map of {:#x}: unknown prot bits {:#x}", iova, prot));
  if ((prot & (prot::kRead | prot::kWrite)) == 0)
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("map of {:#x}: prot {} grants neither READ nor WRITE", iova, prot_to_string(prot)));

  // Fast path: one 4 KiB page in the level-3 table the previous map() used.
  if (size == kPageSize && (iova >> kL3Shift) == last_l3_va_) {
    const unsigned idx = level_index(iova, 3);
    std::uint64_t& slot = last_l3_table_->words[idx];
    return with_format([&](const auto& fmt) -> Status {
      // fmt's type is final: the call is direct.
      if (fmt.classify(slot, 3) != DescType::Invalid)
        return make_error(Errc::kExists, fmt::format("map of {:#x}: a page is already mapped there ({})",
                                                     iova, describe_descriptor(fmt, slot, 3)));
      store(last_l3_pa_, slot, fmt.make_leaf(pa, 3, prot));
      ++last_l3_table_->live;
      mapped_bytes_ += kPageSize;
      return {};
    });
  }

  map_cursor_ = iova;
  map_fail_va_ = iova;
  Status s = with_format([&](const auto& fmt) { return map_level(fmt, pgd_, 0, iova, pa, size, prot); });
  if (!s) {
    // Leave the tables as they were: drop the leaves this call wrote, then any table it created
    // on the way to the failing entry.
    with_format([&](const auto& fmt) {
      if (map_cursor_ > iova) (void)unmap_level(fmt, pgd_, 0, iova, map_cursor_, true);
      (void)unmap_level(fmt, pgd_, 0, map_fail_va_, map_fail_va_ + kPageSize, false);
    });
  }
  return s;
}

template <class Fmt>
Status IoPgtable::map_level(const Fmt& fmt, PhysAddr table, unsigned level, GpuVa iova, PhysAddr pa,
                            std::uint64_t size, ProtFlags prot) {
  Table& t = table_at(table);
  const std::uint64_t span = level_size(level);
  const bool block_level = level == 3 || level == 2 || (level == 1 && cfg_.use_1g_blocks);
  const GpuVa end = iova + size;
  while (iova < end) {
    const unsigned idx = level_index(iova, level);
    const std::uint64_t chunk = std::min(end, align_down(iova, span) + span) - iova;
    std::uint64_t& slot = t.words[idx];
    const DescType type = fmt.Fmt::classify(slot, level);
    if (block_level && chunk == span && is_aligned(iova, span) && is_aligned(pa, span)) {
      if (type != DescType::Invalid) {
        map_fail_va_ = iova;
        return make_error(Errc::kExists, fmt::format("map of {:#x}: an entry is already live there ({})",
                                                     iova, describe_descriptor(fmt, slot, level)));
      }
      store(table, slot, fmt.Fmt::make_leaf(pa, level, prot));
      ++t.live;
      mapped_bytes_ += span;
      map_cursor_ = iova + span;
      if (level == 3) {
        last_l3_va_ = iova >> kL3Shift;
        last_l3_table_ = &t;
        last_l3_pa_ = table;
      }
    } else {
      PhysAddr child;
      if (type == DescType::Table) {
        child = PteFormat::output_address(slot);
      } else if (type == DescType::Invalid) {
        const auto fresh = new_table();
        if (!fresh) {
          map_fail_va_ = iova;
          return make_error(Errc::kOutOfMemory,
                            fmt::format("map of {:#x}: no free frame for a level-{} table", iova, level + 1));
        }
        child = *fresh;
        store(table, slot, fmt.Fmt::make_table(child));
        ++t.live;
      } else {
        map_fail_va_ = iova;
        return make_error(Errc::kExists,
                          fmt::format("map of {:#x}: a larger block is already mapped there ({})", iova,
                                      describe_descriptor(fmt, slot, level)));
      }
      if (Status s = map_level(fmt, child, level + 1, iova, pa, chunk, prot); !s) return s;
    }
    iova += chunk;
    pa += chunk;
  }
  return {};
}

template <class Fmt>
Status IoPgtable::check_unmap(const Fmt& fmt, PhysAddr table, unsigned level, GpuVa start, GpuVa end) const {
  const Table* t = find_table(table);
  assert(t != nullptr);
  const std::uint64_t span = level_size(level);
  for (GpuVa va = start; va < end;) {
    const GpuVa entry_base = align_down(va, span);
    const GpuVa next = std::min(end, entry_base + span);
    const std::uint64_t desc = t->words[level_index(va, level)];
    switch (fmt.Fmt::classify(desc, level)) {
      case DescType::Table:
        if (Status s = check_unmap(fmt, PteFormat::output_address(desc), level + 1, va, next); !s) return s;
        break;
      case DescType::Leaf:
        if (va != entry_base || next != entry_base + span)
          return make_error(
              Errc::kInvalidArgument,
              fmt::format("unmap of [{:#x}, {:#x}) would split the {} block at {:#x}: partial unmap "
                          "of a large entry is not allowed",
                          start, end, level == 1 ? "1 GiB" : "2 MiB", entry_base));
        break;
      case DescType::Invalid:
      case DescType::Reserved: break;
    }
    va = next;
  }
  return {};
}

template <class Fmt>
std::uint64_t IoPgtable::unmap_level(const Fmt& fmt, PhysAddr table, unsigned level, GpuVa start, GpuVa end,
                                     bool clear_leaves) {
  Table& t = table_at(table);
  const std::uint64_t span = level_size(level);
  std::uint64_t unmapped = 0;
  for (GpuVa va = start; va < end;) {
    const GpuVa next = std::min(end, align_down(va, span) + span);
    std::uint64_t& slot = t.words[level_index(va, level)];
    switch (fmt.Fmt::classify(slot, level)) {
      case DescType::Table: {
        const PhysAddr child = PteFormat::output_address(slot);
        unmapped += unmap_level(fmt, child, level + 1, va, next, clear_leaves);
        if (table_at(child).live == 0) {
          // Unlink before freeing: a table page must never be free while a descriptor names it.
          store(table, slot, fmt.Fmt::invalid());
          --t.live;
          free_table(child);
        }
        break;
      }
      case DescType::Leaf:
        if (clear_leaves) {
          store(table, slot, fmt.Fmt::invalid());
          --t.live;
          unmapped += span;
          mapped_bytes_ -= span;
        }
        break;
      case DescType::Invalid:
      case DescType::Reserved: break;
    }
    va = next;
  }
  return unmapped;
}

Result<std::uint64_t> IoPgtable::unmap(GpuVa iova, std::uint64_t size) {
  if (Status s = check_range(iova, size, "unmap"); !s) return s.error();
  return with_format([&](const auto& fmt) -> Result<std::uint64_t> {
    if (Status s = check_unmap(fmt, pgd_, 0, iova, iova + size); !s) return s.error();
    return unmap_level(fmt, pgd_, 0, iova, iova + size, true);
  });
}

std::optional<PhysAddr> IoPgtable::iova_to_phys(GpuVa iova) const {
  if (cfg_.ias < 64 && (iova >> cfg_.ias) != 0) return std::nullopt;
  PhysAddr table = pgd_;
  for (unsigned level = 0; level < kLevels; ++level) {
    const Table* t = find_table(table);
    if (t == nullptr) return std::nullopt;
    const std::uint64_t desc = t->words[level_index(iova, level)];
    switch (fmt_.classify(desc, level)) {
      case DescType::Table: table = PteFormat::output_address(desc); continue;
      case DescType::Leaf: {
        const std::uint64_t span = level_size(level);
        return (PteFormat::output_address(desc) & ~(span - 1)) | (iova & (span - 1));
      }
      case DescType::Invalid:
      case DescType::Reserved: return std::nullopt;
    }
  }
  return std::nullopt;
}

std::uint64_t IoPgtable::transtab() const noexcept {
  if (cfg_.format == PtFormat::Aarch64_4K) return pgd_;
  // io-pgtable's Mali config: pgd | READ_INNER | ADRMODE_TABLE, SHARE_OUTER for a coherent walk.
  return LegacyTranstab{TranstabAdrmode::Table, true, cfg_.coherent, pgd_}.encode();
}

std::uint64_t IoPgtable::transcfg() const noexcept {
  if (cfg_.format == PtFormat::MaliLpae) return 0;  // ADRMODE LEGACY: TRANSTAB decides
  // panfrost's AArch64 programming: write-back, read-allocate walks, INA_BITS from ias.
  Transcfg t;
  t.adrmode = TranscfgAdrmode::Aarch64_4K;
  t.ina_bits = Transcfg::ina_bits_for(cfg_.ias);
  t.ptw_memattr = Transcfg::kPtwMemattrWriteBack;
  t.ptw_ra = true;
  t.ptw_sh = cfg_.coherent ? Transcfg::kPtwShOuterShareable : Transcfg::kPtwShNonShareable;
  return t.encode();
}

}  // namespace mali_sim
