#include "mali_sim/gem/va_space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace mali_sim {

namespace {

constexpr std::uint64_t k4G = 1ULL << 32;
constexpr std::uint64_t k16M = 1ULL << 24;

std::string range_rule_violation(GpuVa start, GpuVa end) {
  if (start % kPageSize != 0 || end % kPageSize != 0)
    return fmt::format("VA space [{:#x},{:#x}) is not 4 KiB aligned", start, end);
  if (start >= end) return fmt::format("VA space [{:#x},{:#x}) is empty", start, end);
  return {};
}

// The lowest multiple of align in [lo, hi) from which size bytes fit below hi, if any. align need
// not be a power of two, hence % rather than masks; the comparisons are arranged so that nothing
// wraps near the top of the 64-bit space.
std::optional<GpuVa> fit(GpuVa lo, GpuVa hi, std::uint64_t size, std::uint64_t align) noexcept {
  if (lo >= hi) return std::nullopt;
  const std::uint64_t rem = lo % align;
  const std::uint64_t pad = rem == 0 ? 0 : align - rem;
  if (pad > hi - lo || size > hi - lo - pad) return std::nullopt;
  return lo + pad;
}

}  // namespace

VaNode::~VaNode() {
  if (space_ != nullptr) space_->remove(*this);
}

VaSpace::VaSpace(GpuVa start, GpuVa end) : start_(start), end_(end) {
  if (auto why = range_rule_violation(start, end); !why.empty()) throw std::invalid_argument(why);
  grow_pool(1);
  add_hole(start_, end_);
}

Result<std::unique_ptr<VaSpace>> VaSpace::create(GpuVa start, GpuVa end) {
  if (auto why = range_rule_violation(start, end); !why.empty())
    return make_error(Errc::kInvalidArgument, why);
  return std::make_unique<VaSpace>(start, end);
}

VaSpace::~VaSpace() {
  // The nodes outlive us in their owners: leave them unlinked and marked free.
  nodes_.clear_and_dispose([](VaNode* n) {
    n->space_ = nullptr;
    n->start = 0;
    n->size = 0;
  });
  holes_.clear();
}

Status VaSpace::insert(VaNode& node, std::uint64_t size, std::uint64_t align,
                       const VaConstraint& constraint) {
  if (node.allocated())
    return make_error(Errc::kInvalidArgument,
                      fmt::format("VA insert: node already holds [{:#x},{:#x})", node.start, node.end()));
  if (size == 0 || size % kPageSize != 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("VA insert: size {:#x} is not a non-zero multiple of 4 KiB", size));
  if (align % kPageSize != 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("VA insert: alignment {:#x} is not a multiple of 4 KiB", align));
  const std::uint64_t step = align == 0 ? kPageSize : align;
  grow_pool(nodes_.size() + 2);

  // Holes smaller than size can never fit, so the search starts at the first one that is big
  // enough; the index order (size, start) makes the first fit the best fit.
  for (auto it = holes_.lower_bound(HoleKey::type{size, 0}); it != holes_.end(); ++it) {
    GpuVa lo = it->start;
    GpuVa hi = it->start + it->size;
    if (constraint) {
      GpuVa c_lo = lo;
      GpuVa c_hi = hi;
      if (!constraint(c_lo, c_hi)) continue;
      // A constraint may only narrow: we must never hand out space outside the hole.
      lo = std::max(lo, c_lo);
      hi = std::min(hi, c_hi);
    }
    if (const auto at = fit(lo, hi, size, step)) {
      place(node, it, *at, size);
      return Status::ok();
    }
  }
  return make_error(Errc::kOutOfMemory,
                    fmt::format("no hole of {:#x} bytes aligned to {:#x} in [{:#x},{:#x}){}", size, step,
                                start_, end_, constraint ? " under the placement constraint" : ""));
}

Status VaSpace::reserve(VaNode& node, GpuVa start, std::uint64_t size) {
  if (node.allocated())
    return make_error(Errc::kInvalidArgument,
                      fmt::format("VA reserve: node already holds [{:#x},{:#x})", node.start, node.end()));
  if (size == 0 || size % kPageSize != 0 || start % kPageSize != 0)
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("VA reserve: range at {:#x} of {:#x} bytes is empty or not 4 KiB aligned", start, size));
  if (start < start_ || start >= end_ || size > end_ - start)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("VA reserve: range at {:#x} of {:#x} bytes is outside [{:#x},{:#x})", start,
                                  size, start_, end_));
  const GpuVa end = start + size;
  const auto next = nodes_.upper_bound(start);
  if (next != nodes_.begin()) {
    const VaNode& prev = *std::prev(next);
    if (prev.end() > start)
      return make_error(Errc::kExists, fmt::format("VA reserve: [{:#x},{:#x}) overlaps [{:#x},{:#x})", start,
                                                   end, prev.start, prev.end()));
  }
  if (next != nodes_.end() && next->start < end)
    return make_error(Errc::kExists, fmt::format("VA reserve: [{:#x},{:#x}) overlaps [{:#x},{:#x})", start,
                                                 end, next->start, next->end()));

  grow_pool(nodes_.size() + 2);
  const auto [lo, hi] = gap_before(next);
  const auto hole = holes_.find(HoleKey::type{hi - lo, lo});
  assert(hole != holes_.end() && "free range between nodes is missing from the hole index");
  place(node, hole, start, size);
  return Status::ok();
}

void VaSpace::remove(VaNode& node) noexcept {
  if (node.space_ != this) {
    // Removing another space's node would corrupt both trees; refuse it even without asserts.
    assert(!node.allocated() && "node belongs to another VaSpace");
    return;
  }
  const auto it = nodes_.iterator_to(node);
  const GpuVa lo = gap_before(it).first;
  const GpuVa hi = gap_before(std::next(it)).second;
  // The freed range and the holes on either side of it become one hole.
  if (lo < node.start) drop_hole(lo, node.start);
  if (node.end() < hi) drop_hole(node.end(), hi);
  nodes_.erase(it);
  allocated_bytes_ -= node.size;
  node.space_ = nullptr;
  node.start = 0;
  node.size = 0;
  add_hole(lo, hi);
}

const VaNode* VaSpace::find(GpuVa addr) const noexcept {
  auto it = nodes_.upper_bound(addr);  // first node starting above addr
  if (it == nodes_.begin()) return nullptr;
  --it;
  return addr - it->start < it->size ? &*it : nullptr;
}

VaNode* VaSpace::find(GpuVa addr) noexcept {
  // The nodes are the caller's mutable objects; only the lookup is shared with the const overload.
  return const_cast<VaNode*>(std::as_const(*this).find(addr));
}

std::vector<std::pair<GpuVa, std::uint64_t>> VaSpace::holes() const {
  std::vector<std::pair<GpuVa, std::uint64_t>> out;
  out.reserve(holes_.size());
  for (const Hole& h : holes_) out.emplace_back(h.start, h.size);
  std::sort(out.begin(), out.end());
  return out;
}

std::pair<GpuVa, GpuVa> VaSpace::gap_before(const NodeSet::const_iterator& next) const noexcept {
  const GpuVa lo = next == nodes_.begin() ? start_ : std::prev(next)->end();
  const GpuVa hi = next == nodes_.end() ? end_ : next->start;
  return {lo, hi};
}

void VaSpace::grow_pool(std::size_t count) {
  // Reserving the free list to the pool size means returning a record never allocates, and
  // keeping the pool at node_count() + 1 records (the most holes there can be) means remove()
  // never allocates either, so it can be noexcept.
  while (hole_pool_.size() < count) {
    if (free_holes_.capacity() < hole_pool_.size() + 1)
      free_holes_.reserve(std::max(hole_pool_.size() + 1, 2 * free_holes_.capacity()));
    free_holes_.push_back(&hole_pool_.emplace_back());
  }
}

void VaSpace::add_hole(GpuVa lo, GpuVa hi) noexcept {
  assert(lo < hi && !free_holes_.empty());
  Hole* h = free_holes_.back();
  free_holes_.pop_back();
  h->start = lo;
  h->size = hi - lo;
  [[maybe_unused]] const bool inserted = holes_.insert(*h).second;
  assert(inserted);
}

void VaSpace::drop_hole(GpuVa lo, GpuVa hi) noexcept {
  const auto it = holes_.find(HoleKey::type{hi - lo, lo});
  assert(it != holes_.end() && "free range next to a node is missing from the hole index");
  release_hole(it);
}

void VaSpace::release_hole(const HoleSet::iterator& hole) noexcept {
  Hole& h = *hole;
  holes_.erase(hole);
  free_holes_.push_back(&h);  // never reallocates: see grow_pool()
}

void VaSpace::place(VaNode& node, const HoleSet::iterator& hole, GpuVa at, std::uint64_t size) noexcept {
  const GpuVa lo = hole->start;
  const GpuVa hi = hole->start + hole->size;
  assert(lo <= at && size <= hi - at);
  release_hole(hole);
  if (lo < at) add_hole(lo, at);
  if (at + size < hi) add_hole(at + size, hi);
  node.start = at;
  node.size = size;
  node.space_ = this;
  [[maybe_unused]] const bool inserted = nodes_.insert(node).second;
  assert(inserted);
  allocated_bytes_ += size;
}

std::uint64_t panfrost_bo_alignment(std::uint64_t size, bool executable) noexcept {
  const std::uint64_t pages = align_up(size, kPageSize);
  if (executable) return std::max(pages, kPageSize);
  return pages >= kSize2M ? kSize2M : kPageSize;
}

VaConstraint panfrost_bo_constraint(bool executable) {
  if (!executable) return {};
  return [](GpuVa& start, GpuVa& end) {
    // Keeps the rounding below from wrapping; no Mali VA (48 bits at most) comes near this.
    if (start > std::numeric_limits<GpuVa>::max() - 2 * k4G) return false;
    // Rather than squeeze a program into the last 16 MiB below a boundary, start past it. A start
    // exactly on a boundary is 0 bytes below it, so it moves one page up by the same rule.
    const GpuVa next = align_up(start, k4G);
    if (next - start <= k16M) start = next + kPageSize;
    // Stay in the start's 4 GiB segment and end a page short of its top, which also covers a hole
    // ending exactly on a boundary.
    end = std::min(end, align_up(start, k4G) - kPageSize);
    return start < end;
  };
}

}  // namespace mali_sim
