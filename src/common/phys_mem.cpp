#include "mali_sim/phys_mem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <stdexcept>

namespace mali_sim {

namespace {
std::string size_rule_violation(std::uint64_t size) {
  if (size == 0) return "physical memory size must be non-zero";
  if (size % PhysMem::kFrameSize != 0)
    return fmt::format("physical memory size {:#x} is not a multiple of 4 KiB", size);
  if (size > PhysMem::kMaxSize)
    return fmt::format("physical memory size {:#x} exceeds the Mali 40-bit physical address space", size);
  return {};
}
}  // namespace

PhysMem::PhysMem(std::uint64_t size) : size_(size) {
  if (auto why = size_rule_violation(size); !why.empty()) throw std::invalid_argument(why);
  dir_.resize((frame_count() + kLeafMask) >> kLeafShift);
}

PhysMem::~PhysMem() = default;

Result<std::unique_ptr<PhysMem>> PhysMem::create(std::uint64_t size) {
  if (auto why = size_rule_violation(size); !why.empty()) return make_error(Errc::kInvalidArgument, why);
  return std::make_unique<PhysMem>(size);
}

PhysMem::Frame& PhysMem::frame_for_write(std::uint64_t pfn) {
  auto& leaf = dir_[pfn >> kLeafShift];
  if (!leaf) leaf = std::make_unique<Leaf>();
  auto& frame = leaf->frames[pfn & kLeafMask];
  if (!frame) {
    frame = std::make_unique<Frame>();
    ++resident_;
  }
  return *frame;
}

std::uint64_t* PhysMem::frame_words(std::uint64_t pfn) {
  assert(pfn < frame_count());
  // Frame storage is 8-byte aligned; descriptors are accessed as 64-bit words through it.
  return reinterpret_cast<std::uint64_t*>(frame_for_write(pfn).bytes.data());
}

bool PhysMem::write32(PhysAddr pa, std::uint32_t value) {
  if ((pa & 3) != 0 || !contains(pa, 4)) return false;
  std::uint8_t* at = frame_for_write(pa >> kPageShift).bytes.data() + (pa & (kFrameSize - 1));
  if (observer_ == nullptr) {
    std::memcpy(at, &value, 4);
    return true;
  }
  std::uint8_t* word = at - (pa & 4);
  std::uint64_t old_word = 0;
  std::memcpy(&old_word, word, 8);
  std::memcpy(at, &value, 4);
  std::uint64_t new_word = 0;
  std::memcpy(&new_word, word, 8);
  observer_->word_written(pa & ~PhysAddr{7}, old_word, new_word);
  return true;
}

bool PhysMem::write64(PhysAddr pa, std::uint64_t value) {
  if ((pa & 7) != 0 || !contains(pa, 8)) return false;
  std::uint8_t* at = frame_for_write(pa >> kPageShift).bytes.data() + (pa & (kFrameSize - 1));
  std::uint64_t old_word = 0;
  if (observer_ != nullptr) std::memcpy(&old_word, at, 8);
  std::memcpy(at, &value, 8);
  // Told even when the value is unchanged: writing "invalid" over "invalid" is what an unmap of
  // something never mapped looks like.
  if (observer_ != nullptr) observer_->word_written(pa, old_word, value);
  return true;
}

void PhysMem::notify_words(PhysAddr pa, std::size_t len, const std::uint8_t* old_bytes) {
  const PhysAddr first = pa & ~PhysAddr{7};
  const PhysAddr end = pa + len;
  for (PhysAddr w = first; w < end; w += 8) {
    std::uint64_t old_word = 0;
    std::uint64_t new_word = 0;
    load(w, &new_word, 8);
    // Bytes of the word outside [pa, end) did not change; the rest come from the saved copy.
    std::uint8_t bytes_old[8];
    std::memcpy(bytes_old, &new_word, 8);
    for (unsigned b = 0; b < 8; ++b) {
      const PhysAddr at = w + b;
      if (at >= pa && at < end) bytes_old[b] = old_bytes[at - pa];
    }
    std::memcpy(&old_word, bytes_old, 8);
    observer_->word_written(w, old_word, new_word);
  }
}

Status PhysMem::read(PhysAddr pa, std::span<std::uint8_t> out) const {
  if (!contains(pa, out.size()))
    return make_error(Errc::kOutOfRange,
                      fmt::format("read of {} bytes at PA {:#x} is outside physical memory (size {:#x})",
                                  out.size(), pa, size_));
  std::size_t done = 0;
  while (done < out.size()) {
    const PhysAddr cur = pa + done;
    const std::size_t off = cur & (kFrameSize - 1);
    const std::size_t n = std::min<std::size_t>(kFrameSize - off, out.size() - done);
    if (const std::uint8_t* f = frame_bytes_if_resident(cur >> kPageShift))
      std::memcpy(out.data() + done, f + off, n);
    else
      std::memset(out.data() + done, 0, n);
    done += n;
  }
  return {};
}

Status PhysMem::write(PhysAddr pa, std::span<const std::uint8_t> in) {
  if (!contains(pa, in.size()))
    return make_error(Errc::kOutOfRange,
                      fmt::format("write of {} bytes at PA {:#x} is outside physical memory (size {:#x})",
                                  in.size(), pa, size_));
  std::vector<std::uint8_t> old_bytes;
  if (observer_ != nullptr) {
    old_bytes.resize(in.size());
    (void)read(pa, old_bytes);
  }
  std::size_t done = 0;
  while (done < in.size()) {
    const PhysAddr cur = pa + done;
    const std::size_t off = cur & (kFrameSize - 1);
    const std::size_t n = std::min<std::size_t>(kFrameSize - off, in.size() - done);
    std::memcpy(frame_for_write(cur >> kPageShift).bytes.data() + off, in.data() + done, n);
    done += n;
  }
  if (observer_ != nullptr && !in.empty()) notify_words(pa, in.size(), old_bytes.data());
  return {};
}

void PhysMem::discard_frame(std::uint64_t pfn) noexcept {
  if (pfn >= frame_count()) return;
  auto& leaf = dir_[pfn >> kLeafShift];
  if (!leaf) return;
  auto& frame = leaf->frames[pfn & kLeafMask];
  if (frame) {
    frame.reset();
    --resident_;
  }
}

// ---------------------------------------------------------------------------------------------

FrameAllocator::FrameAllocator(PhysMem& mem, std::uint64_t first_frame)
    : mem_(mem),
      first_frame_(std::min(first_frame, mem.frame_count())),
      block_count_((mem.frame_count() + kFramesPerBlock - 1) / kFramesPerBlock),
      blocks_(block_count_) {
  stats_.total = mem.frame_count() - first_frame_;
  stats_.free = stats_.total;
  next_fresh_ = first_frame_ / kFramesPerBlock;
}

FrameAllocator::Block& FrameAllocator::block(std::uint64_t b) {
  auto& blk = blocks_[b];
  if (!blk) {
    blk = std::make_unique<Block>();
    // Frames of this block that the allocator does not manage (below first_frame_, or past the
    // end of memory) are marked used once, so that the block never looks entirely free.
    const std::uint64_t lo = b * kFramesPerBlock;
    for (std::uint64_t i = 0; i < kFramesPerBlock; ++i) {
      const std::uint64_t pfn = lo + i;
      if (pfn < first_frame_ || pfn >= mem_.frame_count()) {
        blk->bits[i / 64] |= 1ULL << (i % 64);
        ++blk->used;
      }
    }
  }
  return *blk;
}

void FrameAllocator::note_alloc(std::uint64_t frames) {
  stats_.allocated += frames;
  stats_.free -= frames;
  stats_.high_water = std::max(stats_.high_water, stats_.allocated);
  ++stats_.allocs;
}

bool FrameAllocator::injected_failure() noexcept {
  if (fail_countdown_ == 0 || --fail_countdown_ != 0) return false;
  ++stats_.failed_allocs;
  return true;
}

std::optional<PhysAddr> FrameAllocator::alloc_frame() {
  PhysAddr pa = 0;
  if (alloc_frames(std::span<PhysAddr>(&pa, 1)) != 1) return std::nullopt;
  return pa;
}

std::size_t FrameAllocator::alloc_frames(std::span<PhysAddr> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    // Partly used blocks first (lowest address), then blocks freed entirely, then untouched ones;
    // within a block, free frames in address order.
    std::uint64_t b;
    if (!partial_.empty()) {
      b = *partial_.begin();
    } else if (!empty_.empty()) {
      b = *empty_.begin();
      empty_.erase(empty_.begin());
      partial_.insert(b);
    } else if (next_fresh_ < block_count_) {
      b = next_fresh_++;
      partial_.insert(b);
    } else {
      ++stats_.failed_allocs;
      return got;
    }
    Block& blk = block(b);
    if (blk.used == kFramesPerBlock) {  // a fresh block made only of reserved frames
      partial_.erase(b);
      continue;
    }
    bool injected = false;
    std::uint16_t taken = 0;
    for (std::size_t w = 0; w < blk.bits.size() && got < out.size() && !injected; ++w) {
      while (blk.bits[w] != ~0ULL && got < out.size()) {
        if (injected_failure()) {
          injected = true;
          break;
        }
        const unsigned bit = static_cast<unsigned>(std::countr_one(blk.bits[w]));
        blk.bits[w] |= 1ULL << bit;
        out[got++] = (b * kFramesPerBlock + w * 64 + bit) << kPageShift;
        ++taken;
      }
    }
    blk.used = static_cast<std::uint16_t>(blk.used + taken);
    if (blk.used == kFramesPerBlock) partial_.erase(b);
    stats_.allocated += taken;
    stats_.free -= taken;
    stats_.allocs += taken;
    stats_.high_water = std::max(stats_.high_water, stats_.allocated);
    if (injected) return got;
  }
  return got;
}

std::optional<PhysAddr> FrameAllocator::alloc_2m() {
  if (injected_failure()) return std::nullopt;
  std::uint64_t b;
  if (!empty_.empty()) {
    b = *empty_.begin();
    empty_.erase(empty_.begin());
  } else {
    // Fresh blocks that carry reserved frames (first or last block) never qualify.
    while (next_fresh_ < block_count_ && block(next_fresh_).used != 0) {
      partial_.insert(next_fresh_);
      ++next_fresh_;
    }
    if (next_fresh_ >= block_count_) {
      ++stats_.failed_allocs;
      return std::nullopt;
    }
    b = next_fresh_++;
  }
  Block& blk = block(b);
  blk.bits.fill(~0ULL);
  blk.used = kFramesPerBlock;
  note_alloc(kFramesPerBlock);
  return (b * kFramesPerBlock) << kPageShift;
}

bool FrameAllocator::is_allocated(PhysAddr pa) const noexcept {
  const std::uint64_t pfn = pa >> kPageShift;
  if (pfn < first_frame_ || pfn >= mem_.frame_count()) return false;
  const auto& blk = blocks_[pfn / kFramesPerBlock];
  if (!blk) return false;
  const std::uint64_t i = pfn % kFramesPerBlock;
  return (blk->bits[i / 64] >> (i % 64)) & 1U;
}

Status FrameAllocator::free_one(std::uint64_t pfn) {
  const std::uint64_t b = pfn / kFramesPerBlock;
  Block& blk = *blocks_[b];
  const std::uint64_t i = pfn % kFramesPerBlock;
  const bool was_full = blk.used == kFramesPerBlock;
  if (free_observer_) free_observer_(pfn << kPageShift);
  blk.bits[i / 64] &= ~(1ULL << (i % 64));
  --blk.used;
  mem_.discard_frame(pfn);
  if (blk.used == 0) {
    partial_.erase(b);
    empty_.insert(b);
  } else if (was_full) {
    partial_.insert(b);
  }
  --stats_.allocated;
  ++stats_.free;
  return {};
}

Status FrameAllocator::free_frame(PhysAddr pa) {
  if (!is_aligned(pa, kPageSize) || !is_allocated(pa))
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("free of PA {:#x}: not an allocated 4 KiB frame (double free or bad address)", pa));
  return free_one(pa >> kPageShift);
}

Status FrameAllocator::free_2m(PhysAddr pa) {
  if (!is_aligned(pa, kSize2M))
    return make_error(Errc::kInvalidArgument, fmt::format("free_2m of PA {:#x}: not 2 MiB aligned", pa));
  for (std::uint64_t i = 0; i < kFramesPerBlock; ++i)
    if (!is_allocated(pa + i * kPageSize))
      return make_error(
          Errc::kInvalidArgument,
          fmt::format("free_2m of PA {:#x}: frame {:#x} is not allocated", pa, pa + i * kPageSize));
  for (std::uint64_t i = 0; i < kFramesPerBlock; ++i) (void)free_one((pa >> kPageShift) + i);
  return {};
}

}  // namespace mali_sim
