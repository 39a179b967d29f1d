// GPU virtual-address allocator for one address space, modelled on the drm_mm that Linux panfrost
// keeps per open file over [32 MiB, 4 GiB): each BO gets a VA range when it is created, and the MMU
// fault handler maps a faulting address back to its BO in O(log n) instead of walking a list.
//
// Ranges are intrusive (VaNode is embedded in the caller's BO), so VaSpace never allocates or frees
// them. Free space is tracked as hole records that VaSpace owns, indexed by (size, start) so that a
// best-fit search starts at the smallest hole that could possibly fit.
#pragma once

#include <boost/intrusive/set.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

class VaSpace;

// Tag of VaNode's hook, so that an owner embedding a VaNode can still use untagged set hooks of its
// own. optimize_size packs the red/black bit into a pointer: the hook is three pointers.
struct VaNodeTag;
using VaNodeHook =
    boost::intrusive::set_base_hook<boost::intrusive::tag<VaNodeTag>, boost::intrusive::optimize_size<true>>;

// A range in a VaSpace, embedded in the caller's object (e.g. a BO). start and size are set by
// VaSpace (and reset to 0 when the node is freed); do not modify them while allocated().
// Destroying an allocated node removes it from its space, so a freed BO cannot leave a dangling
// node in the tree.
struct VaNode : VaNodeHook {
  VaNode() = default;
  // A node is an identity: a copy would claim a range that it does not hold.
  VaNode(const VaNode&) = delete;
  VaNode& operator=(const VaNode&) = delete;
  ~VaNode();

  GpuVa start = 0;
  std::uint64_t size = 0;
  void* owner = nullptr;  // back-pointer for the caller (e.g. the BO); VaSpace never touches it

  GpuVa end() const noexcept { return start + size; }
  bool allocated() const noexcept { return space_ != nullptr; }
  // The space holding this node, nullptr when not allocated.
  const VaSpace* space() const noexcept { return space_; }

 private:
  friend class VaSpace;
  // Remembered so that the destructor can free the range, and so that removing a node from the
  // wrong space is caught instead of corrupting two trees.
  VaSpace* space_ = nullptr;
};

// Optional placement constraint, like drm_mm's color_adjust: given a candidate hole [start, end)
// in bytes, narrow it (e.g. keep executable BOs off 4 GiB boundaries). Return false to reject the
// hole. Widening is ignored: the result is intersected with the hole.
using VaConstraint = std::function<bool(GpuVa& start, GpuVa& end)>;

class VaSpace {
 public:
  // Manages [start, end); both 4 KiB aligned, start < end. Throws std::invalid_argument otherwise;
  // create() reports the same as an error value.
  VaSpace(GpuVa start, GpuVa end);
  static Result<std::unique_ptr<VaSpace>> create(GpuVa start, GpuVa end);
  // Unlinks the nodes still allocated (it does not own them) so they can be destroyed or reused.
  ~VaSpace();
  // Nodes point back at their space.
  VaSpace(const VaSpace&) = delete;
  VaSpace& operator=(const VaSpace&) = delete;

  // Best fit: among the holes where an `align`-aligned range of `size` bytes fits (after the
  // constraint), take the smallest hole, the lowest-addressed one on ties, and in it the lowest
  // aligned address. size: non-zero multiple of 4 KiB. align: 0 (page) or a multiple of 4 KiB, not
  // necessarily a power of two; addresses are multiples of it. Errors: kInvalidArgument for a bad
  // size or align or a node already allocated, kOutOfMemory when no hole fits.
  // Cost: O(log n + holes examined that are big enough but fail alignment or the constraint).
  Status insert(VaNode& node, std::uint64_t size, std::uint64_t align = 0,
                const VaConstraint& constraint = {});
  // Takes exactly [start, start + size). Errors: kInvalidArgument if unaligned, empty, outside the
  // space or the node is already allocated; kExists if the range overlaps an allocated node.
  Status reserve(VaNode& node, GpuVa start, std::uint64_t size);
  // Frees the node's range, merging it with the holes either side; O(log n). No-op if the node is
  // not allocated (a node of another space is refused too, and asserts).
  void remove(VaNode& node) noexcept;

  // The node whose [start, start + size) contains addr, nullptr if none (also outside the space).
  // O(log n).
  VaNode* find(GpuVa addr) noexcept;
  const VaNode* find(GpuVa addr) const noexcept;

  std::size_t node_count() const noexcept { return nodes_.size(); }
  std::uint64_t allocated_bytes() const noexcept { return allocated_bytes_; }
  GpuVa start() const noexcept { return start_; }
  GpuVa end() const noexcept { return end_; }

  // Calls f(const VaNode&) for every allocated node, in address order.
  template <class F>
  void for_each(F&& f) const {
    for (const VaNode& n : nodes_) f(n);
  }
  // The free ranges as (start, size), in address order, read from the hole index itself (not
  // recomputed from the nodes) so that tests checking the tiling also check the index.
  std::vector<std::pair<GpuVa, std::uint64_t>> holes() const;

 private:
  struct Hole : boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>> {
    GpuVa start = 0;
    std::uint64_t size = 0;
  };
  struct NodeKey {
    using type = GpuVa;
    type operator()(const VaNode& n) const noexcept { return n.start; }
  };
  // Smallest first; among equal sizes the lowest address, which is the best-fit tie rule.
  struct HoleKey {
    using type = std::pair<std::uint64_t, GpuVa>;
    type operator()(const Hole& h) const noexcept { return {h.size, h.start}; }
  };
  using NodeSet = boost::intrusive::set<VaNode, boost::intrusive::base_hook<VaNodeHook>,
                                        boost::intrusive::key_of_value<NodeKey>,
                                        boost::intrusive::constant_time_size<true>>;
  using HoleSet = boost::intrusive::set<Hole, boost::intrusive::key_of_value<HoleKey>>;

  // The free range [lo, hi) just before `next` (a node, or nodes_.end()): from the end of the node
  // before it, or the space's start, to next's start, or the space's end. May be empty.
  std::pair<GpuVa, GpuVa> gap_before(const NodeSet::const_iterator& next) const noexcept;
  // Makes the pool hold at least count hole records. The only place that allocates.
  void grow_pool(std::size_t count);
  // Index [lo, hi) as a hole, using a pooled record (the pool must have a free one).
  void add_hole(GpuVa lo, GpuVa hi) noexcept;
  // Take the hole [lo, hi), which must be indexed, out of the index.
  void drop_hole(GpuVa lo, GpuVa hi) noexcept;
  // Take the hole out of the index and return its record to the pool.
  void release_hole(const HoleSet::iterator& hole) noexcept;
  // Carve [at, at + size) out of the hole and link node there. Needs one free pooled record.
  void place(VaNode& node, const HoleSet::iterator& hole, GpuVa at, std::uint64_t size) noexcept;

  GpuVa start_;
  GpuVa end_;
  std::uint64_t allocated_bytes_ = 0;
  // Hole records are recycled: a deque never moves its elements, so linked hooks stay valid.
  std::deque<Hole> hole_pool_;
  std::vector<Hole*> free_holes_;
  NodeSet nodes_;
  HoleSet holes_;
};

// Placement rules of panfrost (panfrost_gem_open and its drm_mm color_adjust callback), as pure
// functions shared by the driver model and the tests.
//
// Alignment: executable BOs are aligned to their own size (page rounded), so that a program of a
// power-of-two size below 16 MiB never crosses a 16 MiB program-counter window (for other sizes
// panfrost gives no such guarantee, and neither does this); NOEXEC BOs of at least 2 MiB are 2 MiB
// aligned so they can use 2 MiB pages; everything else is page aligned (returns kPageSize).
std::uint64_t panfrost_bo_alignment(std::uint64_t size, bool executable) noexcept;

// Constraint for executable BOs: they must not start or end on a 4 GiB boundary. A hole start on a
// boundary moves one page up; a hole start within 16 MiB below the next boundary moves to one page
// past it; the hole end is then clipped to one page below the next 4 GiB boundary after the start.
// Like panfrost, only the 4 GiB segment of the (adjusted) hole start is usable, even if the hole
// continues past the boundary. Returns an empty function for NOEXEC BOs.
VaConstraint panfrost_bo_constraint(bool executable);

}  // namespace mali_sim
