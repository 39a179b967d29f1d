#include "mali_sim/gem/shmem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <cassert>
#include <limits>
#include <vector>

namespace mali_sim {

namespace {
constexpr std::uint64_t kChunkPages = ShmemStore::kPagesPerChunk;

// [lo, hi) of chunk c that falls inside [first, end), as indices within the chunk.
struct Slice {
  std::uint64_t lo, hi;
};
Slice slice(std::uint64_t c, std::uint64_t first, std::uint64_t end) {
  const std::uint64_t base = c * kChunkPages;
  return {std::max(first, base) - base, std::min(end, base + kChunkPages) - base};
}
}  // namespace

ShmemStore::ShmemStore(FrameAllocator& frames, ShmemConfig cfg) : frames_(frames), cfg_(cfg) {}

ShmemStore::~ShmemStore() {
  // Pins are ignored here on purpose: nobody can unpin after the store is gone, and leaking the
  // frames would make every later allocator check in a test fail for the wrong reason.
  for (auto& [id, obj] : objects_) (void)release_range(obj, 0, obj.size_pages);
}

ShmemStore::Object* ShmemStore::find(ObjectId id) noexcept {
  auto it = objects_.find(id);
  return it != objects_.end() ? &it->second : nullptr;
}

const ShmemStore::Object* ShmemStore::find(ObjectId id) const noexcept {
  auto it = objects_.find(id);
  return it != objects_.end() ? &it->second : nullptr;
}

namespace {
Error unknown(const char* op, ShmemStore::ObjectId id) {
  return make_error(Errc::kInvalidArgument,
                    fmt::format("shmem {}: unknown object {} (never created or destroyed)", op, id));
}
}  // namespace

Status ShmemStore::check_range(const char* op, ObjectId id, const Object& obj, std::uint64_t first,
                               std::uint64_t count) const {
  // Written so that first + count cannot overflow.
  if (first > obj.size_pages || count > obj.size_pages - first)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("shmem {}: pages [{:#x}, +{:#x}) are outside object {} of {:#x} pages", op,
                                  first, count, id, obj.size_pages));
  return {};
}

Result<ShmemStore::ObjectId> ShmemStore::create(std::uint64_t size) {
  if (size == 0) return make_error(Errc::kInvalidArgument, "shmem create: size 0");
  if (size > std::numeric_limits<std::uint64_t>::max() - (kPageSize - 1))
    return make_error(Errc::kInvalidArgument,
                      fmt::format("shmem create: size {:#x} overflows when rounded to 4 KiB", size));
  if (next_id_ > std::numeric_limits<ObjectId>::max())
    return make_error(Errc::kOutOfMemory, "shmem create: object ids exhausted (ids are never reused)");
  const auto id = static_cast<ObjectId>(next_id_++);
  objects_[id].size_pages = align_up(size, kPageSize) / kPageSize;
  return id;
}

Status ShmemStore::destroy(ObjectId id) {
  Object* obj = find(id);
  if (obj == nullptr) return unknown("destroy", id);
  if (obj->pins != 0)
    return make_error(Errc::kBusy,
                      fmt::format("shmem destroy: object {} is pinned ({} pins)", id, obj->pins));
  (void)release_range(*obj, 0, obj->size_pages);
  objects_.erase(id);
  return {};
}

std::uint64_t ShmemStore::missing_pages(const Object& obj, std::uint64_t first, std::uint64_t count) const {
  // Walks only the chunks that exist, so asking about a 64 GiB range of an empty object is cheap.
  const std::uint64_t end = first + count;
  std::uint64_t present = 0;
  for (auto it = obj.chunks.lower_bound(first / kChunkPages);
       it != obj.chunks.end() && it->first <= (end - 1) / kChunkPages; ++it) {
    const Slice s = slice(it->first, first, end);
    const Chunk& ch = it->second;
    if (ch.count == kChunkPages) {
      present += s.hi - s.lo;
    } else {
      for (std::uint64_t i = s.lo; i < s.hi; ++i) present += ch.at(i) != kNoPage ? 1 : 0;
    }
  }
  return count - present;
}

Status ShmemStore::populate(ObjectId id, std::uint64_t first, std::uint64_t count) {
  Object* obj = find(id);
  if (obj == nullptr) return unknown("populate", id);
  if (Status s = check_range("populate", id, *obj, first, count); !s) return s;
  if (count == 0) return {};
  const std::uint64_t needed = missing_pages(*obj, first, count);
  if (needed == 0) return {};
  const std::uint64_t end = first + count;

  auto enomem = [&](std::uint64_t got) {
    return make_error(Errc::kOutOfMemory,
                      fmt::format("shmem populate: object {} pages [{:#x}, {:#x}) needed {} new 4 KiB pages; "
                                  "got {} before memory ran out ({} frames free); nothing kept",
                                  id, first, end, needed, got, frames_.stats().free));
  };
  // Refusing up front costs nothing and spares allocating, then returning, a large range that
  // cannot fit. Fault injection still reaches every allocation point below.
  if (needed > frames_.stats().free) return enomem(0);

  // What this call added, per chunk, so a failure can return exactly that and nothing else.
  struct Undo {
    std::uint64_t chunk;
    bool created;
    std::bitset<kChunkPages> added;
  };
  std::vector<Undo> undo;
  auto rollback = [&] {
    for (auto u = undo.rbegin(); u != undo.rend(); ++u) {
      auto it = obj->chunks.find(u->chunk);
      Chunk& ch = it->second;
      if (u->created) {
        (void)release_in_chunk(ch, 0, kChunkPages);
        obj->chunks.erase(it);
        continue;
      }
      for (std::uint64_t i = 0; i < kChunkPages; ++i) {
        if (!u->added.test(i)) continue;
        free_frame_or_die((*ch.pages)[i]);
        (*ch.pages)[i] = kNoPage;
        --ch.count;
      }
    }
  };

  std::uint64_t got = 0;
  for (std::uint64_t c = first / kChunkPages; c <= (end - 1) / kChunkPages; ++c) {
    const Slice s = slice(c, first, end);
    auto [it, created] = obj->chunks.try_emplace(c);
    Chunk& ch = it->second;
    if (ch.count == kChunkPages) continue;
    if (created && cfg_.transparent_huge_pages && s.lo == 0 && s.hi == kChunkPages) {
      if (auto pa = frames_.alloc_2m()) {
        ch.huge_base = *pa;
        ch.count = kChunkPages;
        ++huge_blocks_;
        ++thp_allocs_;
        got += kChunkPages;
        undo.push_back(Undo{c, true, {}});
        continue;
      }
      ++thp_fallbacks_;
    }
    undo.push_back(Undo{c, created, {}});
    if (!ch.pages) {
      ch.pages = std::make_unique<std::array<PhysAddr, kChunkPages>>();
      ch.pages->fill(kNoPage);
      ++page_tables_;
    }
    // The missing pages of this slice, allocated in one call.
    std::array<PhysAddr, kChunkPages> fresh{};
    std::size_t want = 0;
    for (std::uint64_t i = s.lo; i < s.hi; ++i) want += (*ch.pages)[i] == kNoPage ? 1 : 0;
    const std::size_t have = frames_.alloc_frames(std::span<PhysAddr>(fresh.data(), want));
    std::size_t next = 0;
    for (std::uint64_t i = s.lo; i < s.hi && next < have; ++i) {
      PhysAddr& slot = (*ch.pages)[i];
      if (slot != kNoPage) continue;
      slot = fresh[next++];
      ++ch.count;
      undo.back().added.set(i);
      ++got;
    }
    if (have < want) {
      rollback();
      return enomem(got);
    }
  }
  assert(got == needed);
  obj->resident += needed;
  shmem_pages_ += needed;
  if (obj->locked()) unevictable_pages_ += needed;
  return {};
}

std::optional<PhysAddr> ShmemStore::page(ObjectId id, std::uint64_t index) const {
  const Object* obj = find(id);
  if (obj == nullptr || index >= obj->size_pages) return std::nullopt;
  auto it = obj->chunks.find(index / kChunkPages);
  if (it == obj->chunks.end()) return std::nullopt;
  const PhysAddr pa = it->second.at(index % kChunkPages);
  if (pa == kNoPage) return std::nullopt;
  return pa;
}

bool ShmemStore::pages(ObjectId id, std::uint64_t first, std::span<PhysAddr> out) const {
  const Object* obj = find(id);
  if (obj == nullptr || first > obj->size_pages || out.size() > obj->size_pages - first) return false;
  std::fill(out.begin(), out.end(), kAbsent);
  const std::uint64_t end = first + out.size();
  for (auto it = obj->chunks.lower_bound(first / kChunkPages);
       it != obj->chunks.end() && it->first * kChunkPages < end; ++it) {
    const std::uint64_t lo = std::max(first, it->first * kChunkPages);
    const std::uint64_t hi = std::min(end, (it->first + 1) * kChunkPages);
    for (std::uint64_t p = lo; p < hi; ++p) {
      const PhysAddr pa = it->second.at(p % kChunkPages);
      out[p - first] = pa == kNoPage ? kAbsent : pa;
    }
  }
  return true;
}

bool ShmemStore::contiguous_2m(ObjectId id, std::uint64_t first) const {
  const Object* obj = find(id);
  if (obj == nullptr || first % kChunkPages != 0) return false;
  auto it = obj->chunks.find(first / kChunkPages);
  if (it == obj->chunks.end()) return false;
  const Chunk& ch = it->second;
  if (ch.count != kChunkPages) return false;
  if (ch.huge()) return true;
  const PhysAddr base = ch.at(0);
  if (!is_aligned(base, kSize2M)) return false;
  for (std::uint64_t i = 1; i < kChunkPages; ++i)
    if (ch.at(i) != base + i * kPageSize) return false;
  return true;
}

void ShmemStore::free_frame_or_die(PhysAddr pa) {
  // The store owns these frames; a refusal means someone else freed them behind its back, which
  // is a simulator bug, not a condition a caller could handle.
  [[maybe_unused]] const Status s = frames_.free_frame(pa);
  assert(s.has_value());
}

void ShmemStore::split(Chunk& ch) {
  // Like splitting a THP on partial truncation: the chunk becomes ordinary 4 KiB pages that still
  // sit in the same frames, so only the bookkeeping changes.
  ch.pages = std::make_unique<std::array<PhysAddr, kChunkPages>>();
  for (std::uint64_t i = 0; i < kChunkPages; ++i) (*ch.pages)[i] = ch.huge_base + i * kPageSize;
  ch.huge_base = kNoPage;
  --huge_blocks_;
  ++page_tables_;
}

std::uint64_t ShmemStore::release_in_chunk(Chunk& ch, std::uint64_t lo, std::uint64_t hi) {
  if (ch.huge()) {
    if (lo == 0 && hi == kChunkPages) {
      [[maybe_unused]] const Status s = frames_.free_2m(ch.huge_base);
      assert(s.has_value());
      ch.huge_base = kNoPage;
      ch.count = 0;
      --huge_blocks_;
      return kChunkPages;
    }
    split(ch);
  }
  std::uint64_t freed = 0;
  if (ch.pages) {
    for (std::uint64_t i = lo; i < hi; ++i) {
      PhysAddr& slot = (*ch.pages)[i];
      if (slot == kNoPage) continue;
      free_frame_or_die(slot);
      slot = kNoPage;
      --ch.count;
      ++freed;
    }
    // Host memory follows resident pages: an empty chunk keeps no table.
    if (ch.count == 0) {
      ch.pages.reset();
      --page_tables_;
    }
  }
  return freed;
}

std::uint64_t ShmemStore::release_range(Object& obj, std::uint64_t first, std::uint64_t count) {
  if (count == 0) return 0;
  const std::uint64_t end = first + count;
  std::uint64_t freed = 0;
  for (auto it = obj.chunks.lower_bound(first / kChunkPages);
       it != obj.chunks.end() && it->first <= (end - 1) / kChunkPages;) {
    const Slice s = slice(it->first, first, end);
    freed += release_in_chunk(it->second, s.lo, s.hi);
    it = it->second.count == 0 ? obj.chunks.erase(it) : std::next(it);
  }
  obj.resident -= freed;
  shmem_pages_ -= freed;
  if (obj.locked()) unevictable_pages_ -= freed;
  return freed;
}

Result<std::uint64_t> ShmemStore::release(ObjectId id, std::uint64_t first, std::uint64_t count) {
  Object* obj = find(id);
  if (obj == nullptr) return unknown("release", id);
  if (Status s = check_range("release", id, *obj, first, count); !s) return s.error();
  if (obj->pins != 0)
    return make_error(Errc::kBusy,
                      fmt::format("shmem release: object {} is pinned ({} pins)", id, obj->pins));
  return release_range(*obj, first, count);
}

Result<std::uint64_t> ShmemStore::release_all(ObjectId id) {
  const Object* obj = find(id);
  if (obj == nullptr) return unknown("release_all", id);
  return release(id, 0, obj->size_pages);
}

Status ShmemStore::pin(ObjectId id) {
  Object* obj = find(id);
  if (obj == nullptr) return unknown("pin", id);
  if (obj->pins == std::numeric_limits<std::uint32_t>::max())
    return make_error(Errc::kInvalidArgument, fmt::format("shmem pin: object {} pin count overflow", id));
  if (!obj->locked()) unevictable_pages_ += obj->resident;
  ++obj->pins;
  return {};
}

Status ShmemStore::unpin(ObjectId id) {
  Object* obj = find(id);
  if (obj == nullptr) return unknown("unpin", id);
  if (obj->pins == 0)
    return make_error(Errc::kInvalidArgument, fmt::format("shmem unpin: object {} is not pinned", id));
  --obj->pins;
  if (!obj->locked()) unevictable_pages_ -= obj->resident;
  return {};
}

Status ShmemStore::set_unevictable(ObjectId id, bool v) {
  Object* obj = find(id);
  if (obj == nullptr) return unknown("set_unevictable", id);
  const bool was = obj->locked();
  obj->unevictable = v;
  if (was && !obj->locked()) unevictable_pages_ -= obj->resident;
  if (!was && obj->locked()) unevictable_pages_ += obj->resident;
  return {};
}

std::uint64_t ShmemStore::resident_pages(ObjectId id) const {
  const Object* obj = find(id);
  return obj != nullptr ? obj->resident : 0;
}

std::uint64_t ShmemStore::size_pages(ObjectId id) const {
  const Object* obj = find(id);
  return obj != nullptr ? obj->size_pages : 0;
}

std::uint32_t ShmemStore::pin_count(ObjectId id) const {
  const Object* obj = find(id);
  return obj != nullptr ? obj->pins : 0;
}

bool ShmemStore::unevictable(ObjectId id) const {
  const Object* obj = find(id);
  return obj != nullptr && obj->unevictable;
}

bool ShmemStore::exists(ObjectId id) const { return find(id) != nullptr; }

ShmemInfo ShmemStore::info() const {
  const FrameStats& fs = frames_.stats();
  ShmemInfo i;
  i.total = fs.total;
  i.free = fs.free;
  i.shmem = shmem_pages_;
  i.unevictable = unevictable_pages_;
  i.huge_pages = huge_blocks_ * kChunkPages;
  i.thp_allocs = thp_allocs_;
  i.thp_fallbacks = thp_fallbacks_;
  i.objects = objects_.size();
  return i;
}

std::uint64_t ShmemStore::host_bytes() const noexcept {
  // An estimate: map nodes cost their payload plus a few pointers of tree links.
  constexpr std::uint64_t kNodeOverhead = 4 * sizeof(void*);
  std::uint64_t chunks = 0;
  for (const auto& [id, obj] : objects_) chunks += obj.chunks.size();
  return objects_.size() * (sizeof(Object) + kNodeOverhead) + chunks * (sizeof(Chunk) + kNodeOverhead) +
         page_tables_ * sizeof(std::array<PhysAddr, kChunkPages>);
}

}  // namespace mali_sim
