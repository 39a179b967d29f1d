// Buffer objects as panfrost_gem.c and panfrost_drv.c handle them: flag and size rules, VA
// placement, backing and mapping, mmap/pin refusals for heaps, madvise and the shrinker.
#include <fmt/format.h>

#include <algorithm>

#include "common/log.hpp"
#include "mali_sim/gem/driver.hpp"

namespace mali_sim {

Result<Driver::Bo*> Driver::find_bo(CtxId ctx_id, BoId id) {
  auto c = context(ctx_id);
  if (!c) return c.error();
  return bo(**c, id);
}

Result<Driver::Bo*> Driver::bo(Context& ctx, BoId id) {
  auto it = ctx.bos.find(id);
  if (it == ctx.bos.end())
    return make_error(Errc::kNotFound, fmt::format("context {} has no BO {}", ctx.id, id));
  return it->second.get();
}

Result<BoId> Driver::create_bo(CtxId id, std::uint64_t size, std::uint32_t flags) {
  return exclusive([&]() -> Result<BoId> {
    charge_ns(cfg_.costs.ioctl_ns);
    auto c = context(id);
    if (!c) return c.error();
    Context& ctx = **c;
    if ((flags & ~bo_flags::kAll) != 0)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("create_bo: unknown flags {:#x} (known: NOEXEC 0x1, HEAP 0x2)",
                                    flags & ~bo_flags::kAll));
    if (size == 0) return make_error(Errc::kInvalidArgument, "create_bo: size 0");
    if ((flags & bo_flags::kHeap) != 0 && (flags & bo_flags::kNoExec) == 0)
      return make_error(Errc::kInvalidArgument,
                        "create_bo: HEAP requires NOEXEC (heaps are never executable)");
    if (size > (4ULL << 30))
      return make_error(
          Errc::kInvalidArgument,
          fmt::format("create_bo: size {:#x} exceeds the 4 GiB GPU VA space of a context", size));
    auto b = std::make_unique<Bo>();
    b->id = ctx.next_bo++;
    b->flags = flags;
    b->size = align_up(size, b->is_heap() ? kSize2M : kPageSize);
    b->node.owner = b.get();
    auto obj = shmem_.create(b->size);
    if (!obj) return obj.error();
    b->obj = *obj;
    const bool exec = !b->noexec();
    if (Status s = ctx.va.insert(b->node, b->size, panfrost_bo_alignment(b->size, exec),
                                 panfrost_bo_constraint(exec));
        !s) {
      (void)shmem_.destroy(b->obj);
      return make_error(s.error().code, fmt::format("create_bo: {}", s.error().message));
    }
    if (b->is_heap()) {
      b->heap = std::make_unique<HeapBacking>(b->size / kPageSize);  // VA only: grown on GPU faults
    } else {
      std::string reason;
      if (Status s = map_pages(ctx, *b, 0, b->size / kPageSize, reason); !s) {
        ctx.va.remove(b->node);
        (void)shmem_.destroy(b->obj);
        return make_error(s.error().code, fmt::format("create_bo: {}", reason));
      }
      b->mapped = true;
      (void)shmem_.set_unevictable(b->obj, true);
    }
    const BoId bid = b->id;
    track_bo(ctx, *b);
    ctx.bos.emplace(bid, std::move(b));
    return bid;
  });
}

// Back the missing pages of [first, first+count) of a BO and map them, one flush over the range.
// On failure nothing stays: pages backed and entries written by this call are undone.
Status Driver::map_pages(Context& ctx, Bo& b, std::uint64_t first, std::uint64_t count, std::string& reason) {
  std::vector<char> present(count, 0);  // backed and mapped before this call
  if (b.heap) b.heap->fill(first, present);
  const auto missing = static_cast<std::uint64_t>(std::count(present.begin(), present.end(), 0));
  if (missing == 0) return {};

  const ShmemInfo before = shmem_.info();
  if (Status s = populate_with_reclaim(b, first, count); !s) {
    reason = fmt::format("out of memory backing {} pages of BO {}: {}", missing, b.id, s.error().message);
    return make_error(Errc::kOutOfMemory, reason);
  }
  const std::uint64_t huge = shmem_.info().thp_allocs - before.thp_allocs;
  charge_ns(huge * cfg_.costs.huge_page_alloc_ns +
            (missing - std::min(missing, huge * 512)) * cfg_.costs.page_alloc_ns +
            missing * cfg_.costs.dma_map_page_ns);
  std::vector<PhysAddr> pas(count);
  (void)shmem_.pages(b.obj, first, pas);

  ProtFlags prot = prot::kRead | prot::kWrite;
  if (b.noexec()) prot |= prot::kNoExec;
  if (cfg_.map_cacheable) prot |= prot::kCache;
  const std::uint64_t tables_before = ctx.pt->table_pages();
  // Map runs of pages that are physically contiguous (as an sg table merges them); io-pgtable
  // uses a 2 MiB block where VA and PA are both aligned and 2 MiB remain.
  std::vector<std::pair<GpuVa, std::uint64_t>> mapped;
  Status failed;
  for (std::uint64_t i = 0; i < count;) {
    if (present[i] != 0) {
      ++i;
      continue;
    }
    std::uint64_t n = 1;
    while (i + n < count && present[i + n] == 0 && pas[i + n] == pas[i] + n * kPageSize) ++n;
    const GpuVa va = b.node.start + (first + i) * kPageSize;
    if (Status s = ctx.pt->map(va, pas[i], n * kPageSize, prot); !s) {
      failed = s;
      break;
    }
    if (n >= 512 && is_aligned(va, kSize2M) && is_aligned(pas[i], kSize2M)) stats_.huge_mappings += n / 512;
    mapped.emplace_back(va, n * kPageSize);
    i += n;
  }
  if (!failed) {
    for (const auto& [va, len] : mapped) (void)ctx.pt->unmap(va, len);
    for (std::uint64_t i = 0; i < count; ++i) {
      if (present[i] == 0) (void)shmem_.release(b.obj, first + i, 1);
    }
    reason =
        fmt::format("mapping BO {} pages [{}, +{}) failed: {}", b.id, first, count, failed.error().message);
    return make_error(failed.error().code, reason);
  }
  charge_ns((ctx.pt->table_pages() - tables_before) * cfg_.costs.table_alloc_ns +
            missing * cfg_.costs.pte_write_ns);
  if (b.heap) b.heap->set(first, count, true);
  flush_range(ctx, b.node.start + first * kPageSize, count * kPageSize);
  return {};
}

Status Driver::populate_with_reclaim(Bo& b, std::uint64_t first, std::uint64_t count) {
  Status s = shmem_.populate(b.obj, first, count);
  if (s || s.error().code != Errc::kOutOfMemory) return s;
  // Memory pressure: let the shrinker purge DONTNEED BOs, then try once more.
  if (shrink(count) == 0) return s;
  return shmem_.populate(b.obj, first, count);
}

// Tear down the GPU mappings of a BO (heap-aware: holes are skipped) with one flush.
void Driver::unmap_bo(Context& ctx, Bo& b) {
  const bool anything = b.heap ? b.heap->backed_pages() > 0 : b.mapped;
  if (!anything) return;
  auto n = ctx.pt->unmap(b.node.start, b.size);
  if (n) charge_ns(*n / kPageSize * cfg_.costs.pte_write_ns);
  flush_range(ctx, b.node.start, b.size);
  if (b.heap) {
    ctx.heap_rss -= b.heap->backed_pages() * kPageSize;
    stats_.heap_rss_bytes -= b.heap->backed_pages() * kPageSize;
    b.heap = std::make_unique<HeapBacking>(b.size / kPageSize);
  }
  b.mapped = false;
}

void Driver::release_bo(Context& ctx, Bo& b) {
  unmap_bo(ctx, b);
  while (shmem_.pin_count(b.obj) > 0) (void)shmem_.unpin(b.obj);
  (void)shmem_.destroy(b.obj);
  ctx.va.remove(b.node);
  std::uint64_t check_id = b.check_id;
  ctx.bos.erase(b.id);
  untrack(check_id);
}

Status Driver::free_bo(CtxId id, BoId bid) {
  return exclusive([&]() -> Status {
    charge_ns(cfg_.costs.ioctl_ns);
    auto found = find_bo(id, bid);
    if (!found) return found.error();
    Bo& b = **found;
    if (b.gpu_usecount > 0)
      return make_error(Errc::kBusy,
                        fmt::format("free_bo: BO {} is used by {} running job(s)", bid, b.gpu_usecount));
    if (b.pin_count > 0)
      return make_error(Errc::kBusy, fmt::format("free_bo: BO {} is pinned (exported)", bid));
    release_bo(*contexts_.at(id), b);
    return {};
  });
}

Result<GpuVa> Driver::bo_va(CtxId id, BoId bid) const {
  auto c = context(id);
  if (!c) return c.error();
  auto it = (*c)->bos.find(bid);
  if (it == (*c)->bos.end())
    return make_error(Errc::kNotFound, fmt::format("context {} has no BO {}", id, bid));
  return it->second->node.start;
}

Result<std::uint64_t> Driver::bo_size(CtxId id, BoId bid) const {
  auto c = context(id);
  if (!c) return c.error();
  auto it = (*c)->bos.find(bid);
  if (it == (*c)->bos.end())
    return make_error(Errc::kNotFound, fmt::format("context {} has no BO {}", id, bid));
  return it->second->size;
}

Status Driver::mmap_bo(CtxId id, BoId bid) {
  return exclusive([&]() -> Status {
    auto found = find_bo(id, bid);
    if (!found) return found.error();
    if ((*found)->is_heap())
      return make_error(Errc::kInvalidArgument,
                        fmt::format("mmap of heap BO {}: heap pages are not pinned", bid));
    if ((*found)->purged) return make_error(Errc::kInvalidArgument, fmt::format("mmap of purged BO {}", bid));
    ++(*found)->mmap_count;
    return {};
  });
}

Status Driver::pin_bo(CtxId id, BoId bid) {
  return exclusive([&]() -> Status {
    auto found = find_bo(id, bid);
    if (!found) return found.error();
    if ((*found)->is_heap())
      return make_error(Errc::kInvalidArgument,
                        fmt::format("pin/export of heap BO {}: pinning would back the whole heap", bid));
    if ((*found)->purged) return make_error(Errc::kInvalidArgument, fmt::format("pin of purged BO {}", bid));
    if (Status s = shmem_.pin((*found)->obj); !s) return s;
    ++(*found)->pin_count;
    return {};
  });
}

Status Driver::unpin_bo(CtxId id, BoId bid) {
  return exclusive([&]() -> Status {
    auto found = find_bo(id, bid);
    if (!found) return found.error();
    if ((*found)->pin_count == 0)
      return make_error(Errc::kInvalidArgument, fmt::format("unpin of unpinned BO {}", bid));
    if (Status s = shmem_.unpin((*found)->obj); !s) return s;
    --(*found)->pin_count;
    return {};
  });
}

Result<bool> Driver::madvise(CtxId id, BoId bid, Madvise advice) {
  return exclusive([&]() -> Result<bool> {
    charge_ns(cfg_.costs.ioctl_ns);
    auto found = find_bo(id, bid);
    if (!found) return found.error();
    Bo& b = **found;
    if (!b.purged) {
      if (advice == Madvise::DontNeed && b.madv != Madvise::DontNeed) b.dontneed_seq = ++dontneed_seq_;
      b.madv = advice;
    }
    return !b.purged;
  });
}

std::uint64_t Driver::purge(Context& ctx, Bo& b) {
  unmap_bo(ctx, b);
  (void)shmem_.set_unevictable(b.obj, false);
  auto freed = shmem_.release_all(b.obj);
  b.purged = true;
  ++stats_.purged_bos;
  const std::uint64_t n = freed ? *freed : 0;
  stats_.purged_pages += n;
  return n;
}

std::uint64_t Driver::shrink(std::uint64_t pages) {
  std::vector<std::pair<std::uint64_t, std::pair<Context*, Bo*>>> candidates;
  for (auto& [cid, ctx] : contexts_) {
    for (auto& [bid, b] : ctx->bos) {
      if (b->madv == Madvise::DontNeed && !b->purged && b->gpu_usecount == 0 && b->pin_count == 0)
        candidates.push_back({b->dontneed_seq, {ctx.get(), b.get()}});
    }
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  std::uint64_t freed = 0;
  for (auto& [seq, cb] : candidates) {
    if (pages != 0 && freed >= pages) break;
    freed += purge(*cb.first, *cb.second);
  }
  if (freed > 0) log()->debug("shrinker: purged {} pages", freed);
  return freed;
}

}  // namespace mali_sim
