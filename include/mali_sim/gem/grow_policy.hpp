// How a heap BO grows on a GPU translation fault: a policy looks at which pages of the BO are
// backed and where the fault is, and names the pages to back and map. Chosen by name from a small
// registry (Ramulator-style), so researchers can compare policies on the same trace.
//
//   panfrost-2m           the naturally aligned 2 MiB chunk around the fault (panfrost's
//                         NUM_FAULT_PAGES); a fault in a chunk already backed changes nothing
//   pages:N               N x 4 KiB around the fault, aligned to N pages (Fuchsia's msd-arm-mali
//                         grows GROWABLE mappings by 64 pages)
//   kbase-extension:N     every page from the start of the BO up to the fault, the growth rounded
//                         up to N pages and capped at the BO size (Arm kbase GROW_ON_GPF); a fault
//                         below the backed size is a duplicate
#pragma once

#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mali_sim/error.hpp"

namespace mali_sim {

// Which 4 KiB pages of a heap BO are backed and mapped, kept per 2 MiB chunk so that host memory
// follows what is backed, not the BO's size.
class HeapBacking {
 public:
  static constexpr std::uint64_t kChunkPages = 512;
  explicit HeapBacking(std::uint64_t size_pages) : size_pages_(size_pages) {}

  std::uint64_t size_pages() const noexcept { return size_pages_; }
  std::uint64_t backed_pages() const noexcept { return backed_; }
  bool backed(std::uint64_t page) const noexcept;
  // Number of backed pages from page 0 up to the first hole (kbase's contiguous backing).
  std::uint64_t backed_prefix() const noexcept;
  void set(std::uint64_t first, std::uint64_t count, bool backed);
  // out[i] = whether page first + i is backed, for i < out.size(), in one pass.
  void fill(std::uint64_t first, std::vector<char>& out) const;
  // Backed runs in page order: (first page, count).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs() const;

 private:
  std::uint64_t size_pages_;
  std::uint64_t backed_ = 0;
  std::map<std::uint64_t, std::bitset<kChunkPages>> chunks_;
};

struct GrowDecision {
  std::uint64_t first_page = 0;  // relative to the BO
  std::uint64_t count = 0;       // 0: nothing to do (a duplicate fault)
};

class GrowPolicy {
 public:
  virtual ~GrowPolicy() = default;
  virtual std::string name() const = 0;
  // The pages to back for a translation fault at fault_page (< heap.size_pages()). The range may
  // include pages already backed; the driver backs and maps only the missing ones.
  virtual GrowDecision decide(const HeapBacking& heap, std::uint64_t fault_page) const = 0;
};

// "panfrost-2m", "pages:N" (N >= 1), "kbase-extension:N" (N >= 1). Errors name the rule broken.
Result<std::unique_ptr<GrowPolicy>> make_grow_policy(std::string_view spec);
std::vector<std::string> grow_policy_names();  // the forms make_grow_policy accepts

}  // namespace mali_sim
