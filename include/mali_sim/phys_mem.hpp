// Simulated physical memory and its frame allocator.
//
// PhysMem is the only memory both sides of the simulator share: the driver's page-table writer
// stores descriptors in it and the GPU's walker reads them back. Host memory is spent only on
// frames that hold bytes: a frame that was never written reads as zeros and costs nothing, so a
// 64 GiB heap does not cost 64 GiB. An access outside the configured size is reported, not
// performed; the walker turns such a table read into a TRANSTAB bus fault.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// Told of every 64-bit word a write32/write64/write() changes, after the store, with the word's
// old and new value: how a checker follows page-table edits. frame_words() pointers bypass it.
class MemWriteObserver {
 public:
  virtual ~MemWriteObserver() = default;
  virtual void word_written(PhysAddr pa, std::uint64_t old_value, std::uint64_t new_value) = 0;
};

class PhysMem {
 public:
  static constexpr std::uint64_t kFrameSize = kPageSize;
  static constexpr std::uint64_t kMaxSize = 1ULL << kMaxPaBits;

  // size: bytes, a non-zero multiple of 4 KiB, at most 2^40. Use create() for a checked value.
  explicit PhysMem(std::uint64_t size);
  static Result<std::unique_ptr<PhysMem>> create(std::uint64_t size);

  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;
  ~PhysMem();

  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t frame_count() const noexcept { return size_ / kFrameSize; }
  bool contains(PhysAddr pa, std::uint64_t len = 1) const noexcept {
    return len <= size_ && pa <= size_ - len;
  }

  // Naturally aligned 32/64-bit accesses (the only kind the GPU's walker and the driver's
  // descriptor writes make). Return false, and leave memory untouched, when the access is outside
  // the configured size or misaligned.
  bool read32(PhysAddr pa, std::uint32_t& out) const noexcept {
    if ((pa & 3) != 0 || !contains(pa, 4)) return false;
    load(pa, &out, 4);
    return true;
  }
  bool read64(PhysAddr pa, std::uint64_t& out) const noexcept {
    if ((pa & 7) != 0 || !contains(pa, 8)) return false;
    load(pa, &out, 8);
    return true;
  }
  bool write32(PhysAddr pa, std::uint32_t value);
  bool write64(PhysAddr pa, std::uint64_t value);

  // Byte ranges of any length and alignment. Status names the first out-of-range byte.
  Status read(PhysAddr pa, std::span<std::uint8_t> out) const;
  Status write(PhysAddr pa, std::span<const std::uint8_t> in);

  // Forget a frame's contents (it reads zeros again) and release its host memory. The frame
  // allocator calls this on free, which is also what makes freshly allocated frames zeroed.
  void discard_frame(std::uint64_t pfn) noexcept;

  // At most one observer; nullptr detaches. Writers that keep frame_words() pointers (the
  // io-pgtable model) switch to write64() while one is attached, so it sees every descriptor.
  void set_write_observer(MemWriteObserver* observer) noexcept { observer_ = observer; }
  MemWriteObserver* write_observer() const noexcept { return observer_; }

  // Frames currently holding bytes in host memory (for the memory-economy guarantee).
  std::uint64_t resident_frames() const noexcept { return resident_; }

  // Fast path for the page-table writer: host pointer to a frame's 512 descriptors, creating the
  // frame's storage if needed. pfn must be < frame_count().
  std::uint64_t* frame_words(std::uint64_t pfn);
  // Host pointer to a frame's bytes if it holds any, else nullptr (reads as zeros).
  const std::uint8_t* frame_bytes_if_resident(std::uint64_t pfn) const noexcept {
    const Leaf* leaf = dir_[pfn >> kLeafShift].get();
    if (leaf == nullptr) return nullptr;
    const Frame* f = leaf->frames[pfn & kLeafMask].get();
    return f != nullptr ? f->bytes.data() : nullptr;
  }

 private:
  struct Frame {
    alignas(8) std::array<std::uint8_t, kFrameSize> bytes{};
  };
  // Two-level directory: one leaf per 2 MiB of physical space, allocated on first write.
  static constexpr unsigned kLeafShift = 9;
  static constexpr std::uint64_t kLeafMask = (1U << kLeafShift) - 1;
  struct Leaf {
    std::array<std::unique_ptr<Frame>, 1U << kLeafShift> frames;
  };

  Frame& frame_for_write(std::uint64_t pfn);
  // Inline so that the walker's descriptor reads cost two dependent loads, not a call.
  void load(PhysAddr pa, void* out, std::size_t n) const noexcept {
    const std::uint8_t* f = frame_bytes_if_resident(pa >> kPageShift);
    if (f != nullptr) {
      std::memcpy(out, f + (pa & (kFrameSize - 1)), n);
    } else {
      std::memset(out, 0, n);
    }
  }

  void notify_words(PhysAddr pa, std::size_t len, const std::uint8_t* old_bytes);

  std::uint64_t size_;
  std::uint64_t resident_ = 0;
  MemWriteObserver* observer_ = nullptr;
  std::vector<std::unique_ptr<Leaf>> dir_;
};

// Frame accounting, in the spirit of the kernel's page allocator.
struct FrameStats {
  std::uint64_t total = 0;       // frames managed
  std::uint64_t allocated = 0;   // frames handed out now
  std::uint64_t free = 0;        // total - allocated
  std::uint64_t high_water = 0;  // most frames ever allocated at once
  std::uint64_t allocs = 0;      // successful alloc calls (4 KiB and 2 MiB)
  std::uint64_t failed_allocs = 0;
};

// Hands out 4 KiB frames and 2 MiB-contiguous, 2 MiB-aligned blocks from a PhysMem.
// Deterministic: always the lowest suitable address. Single 4 KiB frames are taken from
// partially used 2 MiB blocks first, which keeps whole blocks free for huge allocations (the same
// idea as the buddy allocator's anti-fragmentation grouping).
class FrameAllocator {
 public:
  static constexpr std::uint64_t kFramesPerBlock = kSize2M / kPageSize;

  // Manages [first_frame, mem.frame_count()). Frames below first_frame are reserved (e.g. for a
  // firmware carve-out, or to keep physical address 0 unused).
  explicit FrameAllocator(PhysMem& mem, std::uint64_t first_frame = 0);

  std::optional<PhysAddr> alloc_frame();
  // A 2 MiB-aligned run of 512 free frames, or nullopt when none exists (fragmentation or
  // exhaustion): callers fall back to 4 KiB frames, as transparent huge pages do.
  std::optional<PhysAddr> alloc_2m();
  // Up to out.size() single frames in one call (the same choices alloc_frame() would make, in
  // the same order); returns how many it got. Each frame counts as one allocation for
  // fail_nth_alloc.
  std::size_t alloc_frames(std::span<PhysAddr> out);

  // Returns the frame; its contents are discarded. Freeing a frame that is not allocated is an
  // error (a double free) and changes nothing.
  Status free_frame(PhysAddr pa);
  Status free_2m(PhysAddr pa);

  bool is_allocated(PhysAddr pa) const noexcept;
  // Whether pa lies in the frames this allocator hands out (not reserved, inside memory).
  bool manages(PhysAddr pa) const noexcept {
    return (pa >> kPageShift) >= first_frame_ && (pa >> kPageShift) < mem_.frame_count();
  }

  // Called with each frame's PA just before it is returned (contents still intact): how a checker
  // notices pages freed while a page table still maps them. Empty to detach.
  using FreeObserver = std::function<void(PhysAddr)>;
  void set_free_observer(FreeObserver observer) { free_observer_ = std::move(observer); }

  // Fault injection for tests: the n-th allocation call from now on (1 = the next one; 4 KiB and
  // 2 MiB calls alike) fails as if memory were exhausted. 0 disarms. Lets a test walk ENOMEM
  // through every allocation point of a code path.
  void fail_nth_alloc(std::uint64_t n) noexcept { fail_countdown_ = n; }
  const FrameStats& stats() const noexcept { return stats_; }
  PhysMem& mem() noexcept { return mem_; }

 private:
  struct Block {
    std::uint16_t used = 0;
    std::array<std::uint64_t, kFramesPerBlock / 64> bits{};  // allocated frames
  };
  Block& block(std::uint64_t b);
  void note_alloc(std::uint64_t frames);
  bool injected_failure() noexcept;
  Status free_one(std::uint64_t pfn);

  PhysMem& mem_;
  std::uint64_t first_frame_;
  std::uint64_t block_count_;
  // Block bookkeeping exists only for blocks that were ever used; blocks at or above next_fresh_
  // are untouched and entirely free.
  std::vector<std::unique_ptr<Block>> blocks_;
  std::set<std::uint64_t> partial_;  // blocks with 0 < used < 512 (or fewer usable frames)
  std::set<std::uint64_t> empty_;    // touched blocks that are entirely free again
  std::uint64_t next_fresh_ = 0;
  std::uint64_t fail_countdown_ = 0;
  FrameStats stats_;
  FreeObserver free_observer_;
};

}  // namespace mali_sim
