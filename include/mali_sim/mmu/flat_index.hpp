// A hash map from 64-bit keys to 32-bit values (slot or job numbers) for the MMU's lookup
// structures: the TLBs' (address space, page) -> slot index, the page-walk cache's index and the
// table of walks in flight. Open addressing with linear probing in one flat array, so a lookup is
// usually one probe and an insert allocates nothing (the array only grows, by doubling, when more
// than half full); erase shifts later entries back instead of leaving tombstones, so probe
// sequences stay short however long the simulation runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mali_sim {

class FlatIndex {
 public:
  static constexpr std::uint32_t kNone = ~0U;  // "absent"; never stored as a value

  // Room for `expected` entries before the first growth.
  explicit FlatIndex(std::size_t expected = 4) { rehash(capacity_for(expected)); }

  std::uint32_t find(std::uint64_t key) const noexcept {
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      const Bucket& b = buckets_[i];
      if (b.value == kNone) return kNone;
      if (b.key == key) return b.value;
    }
  }
  // The key must be absent and the value not kNone.
  void insert(std::uint64_t key, std::uint32_t value) {
    if (2 * (size_ + 1) > buckets_.size()) rehash(buckets_.size() * 2);
    place(key, value);
    ++size_;
  }
  // Returns whether the key was present.
  bool erase(std::uint64_t key) noexcept;
  void clear() noexcept {
    for (Bucket& b : buckets_) b.value = kNone;
    size_ = 0;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // f(key, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const Bucket& b : buckets_)
      if (b.value != kNone) f(b.key, b.value);
  }

 private:
  struct Bucket {
    std::uint64_t key = 0;
    std::uint32_t value = kNone;  // kNone marks an empty bucket, so every key value is usable
  };
  static std::size_t capacity_for(std::size_t expected) noexcept {
    std::size_t n = 8;
    while (n < 2 * expected) n *= 2;
    return n;
  }
  std::size_t home(std::uint64_t key) const noexcept {
    // Fibonacci hashing: keys that differ only in high bits (pages a power of two apart) spread.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void place(std::uint64_t key, std::uint32_t value) noexcept {
    std::size_t i = home(key);
    while (buckets_[i].value != kNone) i = (i + 1) & mask_;
    buckets_[i] = Bucket{key, value};
  }
  void rehash(std::size_t capacity);

  std::vector<Bucket> buckets_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

inline bool FlatIndex::erase(std::uint64_t key) noexcept {
  std::size_t i = home(key);
  for (;; i = (i + 1) & mask_) {
    if (buckets_[i].value == kNone) return false;
    if (buckets_[i].key == key) break;
  }
  // Backward shift: move each later entry of the cluster into the hole if the hole lies between
  // its home and where it sits, so every entry stays reachable from its home without tombstones.
  for (std::size_t j = (i + 1) & mask_; buckets_[j].value != kNone; j = (j + 1) & mask_) {
    const std::size_t h = home(buckets_[j].key);
    if (((j - h) & mask_) >= ((j - i) & mask_)) {
      buckets_[i] = buckets_[j];
      i = j;
    }
  }
  buckets_[i].value = kNone;
  --size_;
  return true;
}

inline void FlatIndex::rehash(std::size_t capacity) {
  std::vector<Bucket> old(capacity);
  old.swap(buckets_);
  mask_ = capacity - 1;
  shift_ = 64;
  for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
  for (const Bucket& b : old)
    if (b.value != kNone) place(b.key, b.value);
}

}  // namespace mali_sim
