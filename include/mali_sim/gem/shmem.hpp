// The backing store of the reference driver model: what panfrost gets from drm_gem_shmem and the
// kernel's shmem. Each object is a run of 4 KiB pages that exist only once populated, taken from
// the simulated FrameAllocator, so a heap BO costs physical frames only for the 2 MiB chunks the
// GPU actually faulted in. The store keeps /proc/meminfo-like counters so that tests can see the
// review's "pages piling up as Unevictable" leak class directly.
//
// Allocation is all-or-nothing and deterministic (ascending page order, lowest free frames from the
// allocator), so a fault-injection test can walk ENOMEM through every allocation point and expect
// the store and the allocator to look exactly as before.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>

#include "mali_sim/error.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

struct ShmemConfig {
  // Like shmem_enabled=always: a populate covering a whole, empty, 2 MiB-aligned chunk first asks
  // for one 2 MiB block, which lets the driver map the chunk with a single block descriptor.
  bool transparent_huge_pages = false;
};

// Counters in the spirit of /proc/meminfo and /proc/vmstat, in 4 KiB pages.
struct ShmemInfo {
  std::uint64_t total = 0;          // frames the FrameAllocator manages (MemTotal)
  std::uint64_t free = 0;           // frames not allocated by anyone, this store or others (MemFree)
  std::uint64_t shmem = 0;          // pages held by shmem objects (Shmem)
  std::uint64_t unevictable = 0;    // pages of objects that are pinned or marked unevictable (Unevictable)
  std::uint64_t huge_pages = 0;     // pages in intact 2 MiB blocks (ShmemHugePages; / 512 = blocks)
  std::uint64_t thp_allocs = 0;     // 2 MiB blocks obtained (thp_fault_alloc)
  std::uint64_t thp_fallbacks = 0;  // 2 MiB attempts that fell back to 4 KiB pages (thp_fault_fallback)
  std::uint64_t objects = 0;
};

class ShmemStore {
 public:
  using ObjectId = std::uint32_t;
  static constexpr std::uint64_t kPagesPerChunk = kSize2M / kPageSize;

  // frames must outlive the store.
  explicit ShmemStore(FrameAllocator& frames, ShmemConfig cfg = {});
  ShmemStore(const ShmemStore&) = delete;
  ShmemStore& operator=(const ShmemStore&) = delete;
  // Frees every page still held, pinned or not: the store owns its frames, so tearing it down
  // with live objects must not leak them into the allocator.
  ~ShmemStore();

  // size in bytes, rounded up to 4 KiB; no page is allocated yet. Ids start at 1 and are never
  // reused, so a stale id is an error rather than someone else's object. 0 bytes -> EINVAL.
  Result<ObjectId> create(std::uint64_t size);
  // Returns all pages. EBUSY while pinned, EINVAL for an unknown id.
  Status destroy(ObjectId id);

  // Allocates the missing pages of [first, first+count) (page indices); present pages are kept,
  // which is what lets a retried heap fault skip pages a failed attempt left behind. All-or-
  // nothing: on ENOMEM every page this call allocated is returned. With THP, a 512-page,
  // 512-aligned range that is entirely missing first tries FrameAllocator::alloc_2m and falls
  // back to 4 KiB pages (thp_fallbacks). count 0 is a no-op. Errors: EINVAL (unknown id, range
  // outside the object), ENOMEM (names object, range and how many pages were needed).
  Status populate(ObjectId id, std::uint64_t first, std::uint64_t count);

  // Physical address of a page, nullopt if not allocated (or unknown id / index).
  std::optional<PhysAddr> page(ObjectId id, std::uint64_t index) const;
  // The PAs of pages [first, first + out.size()) in one pass (a page that is not allocated gives
  // kAbsent). Returns false for an unknown id or a range outside the object.
  static constexpr PhysAddr kAbsent = ~PhysAddr{0};
  bool pages(ObjectId id, std::uint64_t first, std::span<PhysAddr> out) const;
  // Whether the 512 pages from first (which must be 512-aligned) are all present and backed by
  // physically contiguous frames starting at a 2 MiB-aligned address, so that a driver may map
  // them with one 2 MiB block. Reports the fact, however it came about: 4 KiB frames that happen
  // to be contiguous qualify too.
  bool contiguous_2m(ObjectId id, std::uint64_t first) const;

  // Returns the pages of [first, first+count) that are present (holes are fine); the result is
  // how many were freed. EBUSY while pinned. Releasing part of a 2 MiB block splits it (it no
  // longer counts in huge_pages) and frees just those 4 KiB frames.
  Result<std::uint64_t> release(ObjectId id, std::uint64_t first, std::uint64_t count);
  // Every page (the shrinker's purge). EBUSY while pinned.
  Result<std::uint64_t> release_all(ObjectId id);

  // Pin count++ / --. Pinning does not populate: the driver populates what it needs first. While
  // pinned the object's pages count as unevictable and cannot be released or destroyed.
  Status pin(ObjectId id);
  Status unpin(ObjectId id);  // EINVAL if not pinned
  // mapping_set_unevictable / mapping_clear_unevictable (panfrost marks heaps on first fault).
  Status set_unevictable(ObjectId id, bool v);

  // Queries answer 0 / false for an unknown id.
  std::uint64_t resident_pages(ObjectId id) const;
  std::uint64_t size_pages(ObjectId id) const;
  std::uint32_t pin_count(ObjectId id) const;
  bool unevictable(ObjectId id) const;
  bool exists(ObjectId id) const;

  ShmemInfo info() const;
  // Host bytes spent on page bookkeeping (chunk tables), to check that it follows resident
  // chunks, not object sizes.
  std::uint64_t host_bytes() const noexcept;

  FrameAllocator& frames() noexcept { return frames_; }
  const ShmemConfig& config() const noexcept { return cfg_; }

 private:
  static constexpr PhysAddr kNoPage = ~PhysAddr{0};  // beyond any 40-bit PA

  // One 2 MiB-sized slice of an object. An intact huge block is just its base address; the
  // per-page table exists only for chunks built from 4 KiB frames (or split), which keeps a fully
  // populated THP heap at a few bytes per 2 MiB.
  struct Chunk {
    PhysAddr huge_base = kNoPage;
    std::unique_ptr<std::array<PhysAddr, kPagesPerChunk>> pages;
    std::uint32_t count = 0;  // present pages

    bool huge() const noexcept { return huge_base != kNoPage; }
    PhysAddr at(std::uint64_t i) const noexcept {
      if (huge()) return huge_base + i * kPageSize;
      return pages ? (*pages)[i] : kNoPage;
    }
  };
  struct Object {
    std::uint64_t size_pages = 0;
    std::uint64_t resident = 0;
    std::uint32_t pins = 0;
    bool unevictable = false;
    std::map<std::uint64_t, Chunk> chunks;  // ordered: frees and allocations go in page order

    bool locked() const noexcept { return pins != 0 || unevictable; }
  };

  Object* find(ObjectId id) noexcept;
  const Object* find(ObjectId id) const noexcept;
  Status check_range(const char* op, ObjectId id, const Object& obj, std::uint64_t first,
                     std::uint64_t count) const;
  std::uint64_t missing_pages(const Object& obj, std::uint64_t first, std::uint64_t count) const;
  // Frees the present pages of [lo, hi) of one chunk; returns how many. Splits a huge block
  // unless the whole chunk goes.
  std::uint64_t release_in_chunk(Chunk& ch, std::uint64_t lo, std::uint64_t hi);
  std::uint64_t release_range(Object& obj, std::uint64_t first, std::uint64_t count);
  void free_frame_or_die(PhysAddr pa);
  void split(Chunk& ch);

  FrameAllocator& frames_;
  ShmemConfig cfg_;
  std::map<ObjectId, Object> objects_;  // ordered, so teardown frees in a deterministic order
  std::uint64_t next_id_ = 1;           // wider than ObjectId so that exhaustion is seen, not wrapped
  std::uint64_t shmem_pages_ = 0;
  std::uint64_t unevictable_pages_ = 0;
  std::uint64_t huge_blocks_ = 0;
  std::uint64_t thp_allocs_ = 0;
  std::uint64_t thp_fallbacks_ = 0;
  std::uint64_t page_tables_ = 0;  // chunks holding a per-page table
};

}  // namespace mali_sim
