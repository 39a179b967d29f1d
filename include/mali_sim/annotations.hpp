// What a driver may tell a checker about its own objects, as kernel code annotates allocations for
// kmemleak: which page tables to follow from their creation, which objects exist, and which
// counters must come back to their level once every object is gone. The checker implements it
// (check/checker.hpp); a driver compiles against this header alone, never against the checker or
// the device. Every call is optional: a driver that annotates nothing is still checked through
// what the hardware sees.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mali_sim/types.hpp"

namespace mali_sim {

// An object whose teardown is checked for leaks: a context (its page table), a BO (its VA range in
// a page table and the pages it holds). Every field is optional.
struct AnnotatedObject {
  std::string name;           // e.g. "ctx 1", "bo 3 (heap)"
  PhysAddr pgtable_root = 0;  // page table the range below lives in
  GpuVa va = 0;               // [va, va + size) must be unmapped at teardown
  std::uint64_t size = 0;
  bool grows_on_fault = false;                // a heap: never to be mapped executable
  std::function<std::uint64_t()> pages_held;  // must be 0 at teardown (pinned/held pages)
};

class DriverAnnotations {
 public:
  using ObjectId = std::uint64_t;  // 0 is never an object

  virtual ~DriverAnnotations() = default;
  // Follow a page table from now on (otherwise it is followed from the UPDATE that makes it live).
  virtual void watch_page_table(PhysAddr root, PtFormat format) = 0;
  virtual ObjectId object_created(AnnotatedObject object) = 0;
  virtual void object_destroyed(ObjectId id) = 0;
  // A backing-store counter that must return to its level once every tracked object is gone.
  virtual void add_counter(std::string name, std::function<std::uint64_t()> value) = 0;
};

}  // namespace mali_sim
