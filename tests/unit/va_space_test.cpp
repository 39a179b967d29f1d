#include "mali_sim/gem/va_space.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

namespace mali_sim {
namespace {

constexpr std::uint64_t kKiB = 1ULL << 10;
constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr std::uint64_t kGiB = 1ULL << 30;
constexpr std::uint64_t k4G = 4 * kGiB;
constexpr GpuVa kPanfrostStart = 32 * kMiB;  // panfrost leaves the low 32 MiB unmapped

using Holes = std::vector<std::pair<GpuVa, std::uint64_t>>;

TEST(VaSpace, InsertFindRemoveRoundTrip) {
  VaSpace s(kPanfrostStart, k4G);
  VaNode a, b;
  int bo_a = 0;
  a.owner = &bo_a;
  ASSERT_TRUE(s.insert(a, 16 * kKiB));
  ASSERT_TRUE(s.insert(b, 8 * kKiB));
  EXPECT_TRUE(a.allocated());
  EXPECT_EQ(a.space(), &s);
  EXPECT_EQ(a.start, kPanfrostStart);
  EXPECT_EQ(b.start, kPanfrostStart + 16 * kKiB);
  EXPECT_EQ(s.node_count(), 2U);
  EXPECT_EQ(s.allocated_bytes(), 24 * kKiB);

  EXPECT_EQ(s.find(a.start), &a);
  EXPECT_EQ(s.find(a.end() - 1), &a);
  EXPECT_EQ(s.find(b.start), &b);
  EXPECT_EQ(s.find(b.end()), nullptr);
  EXPECT_EQ(s.find(a.start + 5 * kKiB)->owner, &bo_a);

  s.remove(a);
  EXPECT_FALSE(a.allocated());
  EXPECT_EQ(s.find(kPanfrostStart), nullptr);
  EXPECT_EQ(s.find(b.start), &b);
  EXPECT_EQ(s.node_count(), 1U);
  EXPECT_EQ(s.allocated_bytes(), 8 * kKiB);
  s.remove(a);  // not allocated: no-op
  EXPECT_EQ(s.node_count(), 1U);
  s.remove(b);
  EXPECT_EQ(s.holes(), (Holes{{kPanfrostStart, k4G - kPanfrostStart}}));
}

TEST(VaSpace, FindOutsideTheSpaceReturnsNull) {
  VaSpace s(kPanfrostStart, 64 * kMiB);
  VaNode a, b;
  ASSERT_TRUE(s.reserve(a, kPanfrostStart, 4 * kKiB));
  ASSERT_TRUE(s.reserve(b, 64 * kMiB - 4 * kKiB, 4 * kKiB));
  EXPECT_EQ(s.find(0), nullptr);
  EXPECT_EQ(s.find(kPanfrostStart - 1), nullptr);
  EXPECT_EQ(s.find(64 * kMiB), nullptr);
  EXPECT_EQ(s.find(std::numeric_limits<GpuVa>::max()), nullptr);
  EXPECT_EQ(s.find(kPanfrostStart), &a);
  EXPECT_EQ(s.find(64 * kMiB - 1), &b);
}

TEST(VaSpace, ConstructorRejectsUnalignedOrEmptyRanges) {
  EXPECT_THROW(VaSpace(0x1000, 0x1000), std::invalid_argument);
  EXPECT_THROW(VaSpace(0x1001, 0x3000), std::invalid_argument);
  EXPECT_THROW(VaSpace(0x2000, 0x1000), std::invalid_argument);
  auto bad = VaSpace::create(0, 0x1800);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
  auto good = VaSpace::create(0, 0x2000);
  ASSERT_TRUE(good);
  EXPECT_EQ((*good)->end(), 0x2000U);
}

TEST(VaSpace, InsertRejectsBadSizeAlignmentAndAllocatedNodes) {
  VaSpace s(kPanfrostStart, k4G);
  VaNode n;
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{100}, 6 * kKiB}) {
    const Status st = s.insert(n, size);
    ASSERT_FALSE(st) << size;
    EXPECT_EQ(st.error().code, Errc::kInvalidArgument);
  }
  const Status bad_align = s.insert(n, 4 * kKiB, 6 * kKiB);
  ASSERT_FALSE(bad_align);
  EXPECT_EQ(bad_align.error().code, Errc::kInvalidArgument);
  ASSERT_TRUE(s.insert(n, 4 * kKiB));
  const Status twice = s.insert(n, 4 * kKiB);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::kInvalidArgument);
  const Status reserve_twice = s.reserve(n, 64 * kMiB, 4 * kKiB);
  ASSERT_FALSE(reserve_twice);
  EXPECT_EQ(reserve_twice.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(s.node_count(), 1U);
  s.remove(n);
}

TEST(VaSpace, PowerOfTwoAlignmentIsHonoured) {
  VaSpace s(kPanfrostStart, k4G);
  VaNode pad, a, b;
  ASSERT_TRUE(s.insert(pad, 4 * kKiB));
  ASSERT_TRUE(s.insert(a, 4 * kKiB, 64 * kKiB));
  EXPECT_EQ(a.start, kPanfrostStart + 64 * kKiB);
  ASSERT_TRUE(s.insert(b, 2 * kMiB, 2 * kMiB));
  EXPECT_EQ(b.start, kPanfrostStart + 2 * kMiB);
  // The pieces skipped for alignment stay free and are used by the next small insert.
  VaNode c;
  ASSERT_TRUE(s.insert(c, 4 * kKiB));
  EXPECT_EQ(c.start, kPanfrostStart + 4 * kKiB);
}

TEST(VaSpace, NonPowerOfTwoAlignmentPlacesAtAMultipleOfIt) {
  VaSpace s(kPanfrostStart, k4G);
  VaNode pad, a, b;
  ASSERT_TRUE(s.insert(pad, 8 * kKiB));
  ASSERT_TRUE(s.insert(a, 12 * kKiB, 12 * kKiB));
  // The hole starts at 32 MiB + 8 KiB, not a multiple of 12 KiB; the next one is 32 MiB + 16 KiB.
  EXPECT_EQ(a.start, kPanfrostStart + 16 * kKiB);
  EXPECT_EQ(a.start % (12 * kKiB), 0U);
  ASSERT_TRUE(s.insert(b, 3 * kMiB, 3 * kMiB));
  EXPECT_EQ(b.start, 33 * kMiB) << "first multiple of 3 MiB at or above the end of a";
  EXPECT_EQ(s.find(b.start + 3 * kMiB - 1), &b);
}

// Three holes of 8, 16 and 12 KiB (in address order) separated by reserved pages.
struct ThreeHoles {
  VaSpace s{0, 64 * kKiB};
  std::array<VaNode, 4> walls;
  ThreeHoles() {
    EXPECT_TRUE(s.reserve(walls[0], 8 * kKiB, 4 * kKiB));   // hole [0, 8K)
    EXPECT_TRUE(s.reserve(walls[1], 28 * kKiB, 4 * kKiB));  // hole [12K, 28K)
    EXPECT_TRUE(s.reserve(walls[2], 44 * kKiB, 4 * kKiB));  // hole [32K, 44K)
    EXPECT_TRUE(s.reserve(walls[3], 48 * kKiB, 16 * kKiB));
  }
};

TEST(VaSpace, BestFitTakesTheSmallestHoleThatFits) {
  ThreeHoles t;
  VaNode n;
  ASSERT_TRUE(t.s.insert(n, 12 * kKiB));
  EXPECT_EQ(n.start, 32 * kKiB) << "the 12 KiB hole, not the earlier 16 KiB one";
  VaNode m;
  ASSERT_TRUE(t.s.insert(m, 4 * kKiB));
  EXPECT_EQ(m.start, 0U) << "the 8 KiB hole is now the smallest";
}

TEST(VaSpace, BestFitBreaksTiesByLowestAddress) {
  VaSpace s(0, 64 * kKiB);
  VaNode w1, w2, n;
  ASSERT_TRUE(s.reserve(w1, 8 * kKiB, 4 * kKiB));  // holes [0,8K) and [12K,20K), then the big rest
  ASSERT_TRUE(s.reserve(w2, 20 * kKiB, 4 * kKiB));
  ASSERT_TRUE(s.insert(n, 8 * kKiB));
  EXPECT_EQ(n.start, 0U);
  VaNode m;
  ASSERT_TRUE(s.insert(m, 8 * kKiB));
  EXPECT_EQ(m.start, 12 * kKiB);
}

TEST(VaSpace, BestFitSkipsHolesWhereTheAlignedRangeDoesNotFit) {
  ThreeHoles t;
  VaNode n;
  // 8 KiB aligned to 16 KiB: the 8 KiB hole at 0 fits; then [32K,44K) (12 KiB) fits at 32K.
  ASSERT_TRUE(t.s.insert(n, 8 * kKiB, 16 * kKiB));
  EXPECT_EQ(n.start, 0U);
  VaNode m;
  ASSERT_TRUE(t.s.insert(m, 8 * kKiB, 16 * kKiB));
  EXPECT_EQ(m.start, 32 * kKiB);
  // 8 KiB aligned to 24 KiB: the only multiple of 24 KiB in [12K,28K) is 24K, too close to the end.
  VaNode o;
  const Status st = t.s.insert(o, 8 * kKiB, 24 * kKiB);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kOutOfMemory);
}

TEST(VaSpace, ReserveRefusesOverlapsAndRangesOutsideTheSpace) {
  VaSpace s(kPanfrostStart, 64 * kMiB);
  VaNode a, n;
  ASSERT_TRUE(s.reserve(a, 40 * kMiB, 1 * kMiB));
  for (GpuVa start : {40 * kMiB, 40 * kMiB - 4 * kKiB, 41 * kMiB - 4 * kKiB, 39 * kMiB}) {
    const Status st = s.reserve(n, start, start == 39 * kMiB ? 4 * kMiB : 8 * kKiB);
    ASSERT_FALSE(st) << std::hex << start;
    EXPECT_EQ(st.error().code, Errc::kExists);
  }
  for (auto [start, size] :
       {std::pair{kPanfrostStart - 4 * kKiB, 8 * kKiB}, std::pair{64 * kMiB, 4 * kKiB},
        std::pair{60 * kMiB, 8 * kMiB}, std::pair{48 * kMiB + 0x800, 4 * kKiB},
        std::pair{48 * kMiB, std::uint64_t{0x1800}}, std::pair{48 * kMiB, std::uint64_t{0}}}) {
    const Status st = s.reserve(n, start, size);
    ASSERT_FALSE(st) << std::hex << start << " " << size;
    EXPECT_EQ(st.error().code, Errc::kInvalidArgument);
  }
  EXPECT_FALSE(n.allocated());
  ASSERT_TRUE(s.reserve(n, 41 * kMiB, 4 * kKiB)) << "touching is not overlapping";
  EXPECT_EQ(s.holes(), (Holes{{kPanfrostStart, 8 * kMiB}, {41 * kMiB + 4 * kKiB, 23 * kMiB - 4 * kKiB}}));
}

TEST(VaSpace, RemoveMergesTheNeighbouringHoles) {
  VaSpace s(0, 64 * kKiB);
  std::array<VaNode, 5> n;
  for (VaNode& x : n) ASSERT_TRUE(s.insert(x, 4 * kKiB));
  s.remove(n[1]);
  s.remove(n[3]);
  EXPECT_EQ(s.holes(), (Holes{{4 * kKiB, 4 * kKiB}, {12 * kKiB, 4 * kKiB}, {20 * kKiB, 44 * kKiB}}));
  s.remove(n[2]);
  EXPECT_EQ(s.holes(), (Holes{{4 * kKiB, 12 * kKiB}, {20 * kKiB, 44 * kKiB}}));
  s.remove(n[4]);
  EXPECT_EQ(s.holes(), (Holes{{4 * kKiB, 60 * kKiB}}));
  s.remove(n[0]);
  EXPECT_EQ(s.holes(), (Holes{{0, 64 * kKiB}}));
  EXPECT_EQ(s.allocated_bytes(), 0U);
}

TEST(VaSpace, ExhaustionReportsSizeAlignmentAndRange) {
  VaSpace s(kPanfrostStart, kPanfrostStart + 1 * kMiB);
  VaNode a, b;
  ASSERT_TRUE(s.insert(a, 1 * kMiB));
  const Status st = s.insert(b, 64 * kKiB, 64 * kKiB);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kOutOfMemory);
  EXPECT_EQ(st.error().message, "no hole of 0x10000 bytes aligned to 0x10000 in [0x2000000,0x2100000)");
  EXPECT_FALSE(b.allocated());
  EXPECT_EQ(b.start, 0U);
}

TEST(VaSpace, ConstraintNarrowsOrRejectsHoles) {
  VaSpace s(0, 64 * kKiB);
  VaNode wall, n, m, o;
  ASSERT_TRUE(s.reserve(wall, 16 * kKiB, 4 * kKiB));  // holes [0,16K) and [20K,64K)
  // Reject every hole below 20 KiB; the best-fit hole would otherwise be the one at 0.
  const VaConstraint high_only = [](GpuVa& lo, GpuVa&) { return lo >= 20 * kKiB; };
  ASSERT_TRUE(s.insert(n, 4 * kKiB, 0, high_only));
  EXPECT_EQ(n.start, 20 * kKiB);
  // Narrowing: skip the first 8 KiB of each hole.
  const VaConstraint skip = [](GpuVa& lo, GpuVa&) {
    lo += 8 * kKiB;
    return true;
  };
  ASSERT_TRUE(s.insert(m, 4 * kKiB, 0, skip));
  EXPECT_EQ(m.start, 8 * kKiB);
  // Widening is ignored: the node still lands inside a hole.
  const VaConstraint widen = [](GpuVa& lo, GpuVa& hi) {
    lo -= 4 * kKiB;
    hi += 4 * kKiB;
    return true;
  };
  ASSERT_TRUE(s.insert(o, 12 * kKiB, 0, widen));
  EXPECT_EQ(o.start, 24 * kKiB) << "smallest hole that fits 12 KiB is [24K,64K); not 20K";
  VaNode p;
  const Status st = s.insert(p, 4 * kKiB, 0, [](GpuVa&, GpuVa&) { return false; });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("constraint"), std::string::npos);
}

TEST(VaSpace, DestructorUnlinksRemainingNodes) {
  VaNode n;
  {
    VaSpace s(kPanfrostStart, k4G);
    ASSERT_TRUE(s.insert(n, 4 * kKiB));
  }
  EXPECT_FALSE(n.allocated());
  EXPECT_FALSE(n.is_linked());
  VaSpace t(kPanfrostStart, k4G);
  EXPECT_TRUE(t.insert(n, 4 * kKiB)) << "the node is reusable";
  t.remove(n);
}

TEST(VaSpace, DestroyingAnAllocatedNodeFreesItsRange) {
  VaSpace s(0, 64 * kKiB);
  {
    VaNode n;
    ASSERT_TRUE(s.insert(n, 8 * kKiB));
    EXPECT_EQ(s.node_count(), 1U);
  }
  EXPECT_EQ(s.node_count(), 0U);
  EXPECT_EQ(s.allocated_bytes(), 0U);
  EXPECT_EQ(s.find(0), nullptr);
  EXPECT_EQ(s.holes(), (Holes{{0, 64 * kKiB}}));
}

TEST(VaSpace, ForEachVisitsNodesInAddressOrder) {
  VaSpace s(0, 64 * kKiB);
  std::array<VaNode, 3> n;
  ASSERT_TRUE(s.reserve(n[0], 40 * kKiB, 4 * kKiB));
  ASSERT_TRUE(s.reserve(n[1], 8 * kKiB, 4 * kKiB));
  ASSERT_TRUE(s.reserve(n[2], 20 * kKiB, 4 * kKiB));
  std::vector<GpuVa> starts;
  s.for_each([&](const VaNode& x) { starts.push_back(x.start); });
  EXPECT_EQ(starts, (std::vector<GpuVa>{8 * kKiB, 20 * kKiB, 40 * kKiB}));
  for (VaNode& x : n) s.remove(x);
}

// ---- panfrost placement rules ----

TEST(PanfrostPlacement, NoexecBosOf2MiBOrMoreAre2MiBAligned) {
  EXPECT_EQ(panfrost_bo_alignment(4 * kMiB, false), 2 * kMiB);
  EXPECT_EQ(panfrost_bo_alignment(2 * kMiB, false), 2 * kMiB);
  EXPECT_EQ(panfrost_bo_alignment(2 * kMiB - 4 * kKiB, false), kPageSize);
  EXPECT_EQ(panfrost_bo_alignment(100, false), kPageSize);
  EXPECT_FALSE(panfrost_bo_constraint(false)) << "NOEXEC BOs have no constraint";

  VaSpace s(kPanfrostStart, k4G);
  VaNode small, big;
  ASSERT_TRUE(s.insert(small, 4 * kKiB, panfrost_bo_alignment(4 * kKiB, false)));
  ASSERT_TRUE(s.insert(big, 4 * kMiB, panfrost_bo_alignment(4 * kMiB, false), panfrost_bo_constraint(false)));
  EXPECT_EQ(big.start, kPanfrostStart + 2 * kMiB);
}

TEST(PanfrostPlacement, ExecutableBosAreAlignedToTheirOwnSize) {
  EXPECT_EQ(panfrost_bo_alignment(64 * kKiB, true), 64 * kKiB);
  EXPECT_EQ(panfrost_bo_alignment(12 * kKiB, true), 12 * kKiB);
  EXPECT_EQ(panfrost_bo_alignment(10 * kKiB, true), 12 * kKiB) << "page rounded";
  EXPECT_EQ(panfrost_bo_alignment(0, true), kPageSize);

  VaSpace s(kPanfrostStart, k4G);
  VaNode pad, prog;
  ASSERT_TRUE(s.insert(pad, 4 * kKiB));
  ASSERT_TRUE(
      s.insert(prog, 64 * kKiB, panfrost_bo_alignment(64 * kKiB, true), panfrost_bo_constraint(true)));
  EXPECT_EQ(prog.start, kPanfrostStart + 64 * kKiB);
  EXPECT_EQ(prog.start / (16 * kMiB), (prog.end() - 1) / (16 * kMiB)) << "stays in one 16 MiB PC window";
}

// An executable BO of `size` in a space [32 MiB, 8 GiB) whose only hole is [lo, hi).
struct OneHole {
  VaSpace s{kPanfrostStart, 8 * kGiB};
  VaNode below, above;
  OneHole(GpuVa lo, GpuVa hi) {
    EXPECT_TRUE(s.reserve(below, kPanfrostStart, lo - kPanfrostStart));
    if (hi < 8 * kGiB) {
      EXPECT_TRUE(s.reserve(above, hi, 8 * kGiB - hi));
    }
  }
  Status insert_exec(VaNode& n, std::uint64_t size) {
    return s.insert(n, size, panfrost_bo_alignment(size, true), panfrost_bo_constraint(true));
  }
};

void expect_clear_of_4g_boundaries(const VaNode& n) {
  EXPECT_NE(n.start % k4G, 0U) << std::hex << n.start;
  EXPECT_NE(n.end() % k4G, 0U) << std::hex << n.end();
  EXPECT_EQ(n.start / k4G, (n.end() - 1) / k4G) << std::hex << n.start << " crosses a 4 GiB boundary";
}

TEST(PanfrostPlacement, ExecutableBoInAHoleStraddling4GiBStartsPastTheBoundary) {
  OneHole h(k4G - 8 * kMiB, k4G + 8 * kMiB);
  VaNode prog;
  ASSERT_TRUE(h.insert_exec(prog, 64 * kKiB));
  EXPECT_EQ(prog.start, k4G + 64 * kKiB) << "moved to 4 GiB + 4 KiB, then aligned to 64 KiB";
  expect_clear_of_4g_boundaries(prog);
  // A NOEXEC BO is free to use the space below the boundary, and to end on it.
  VaNode data;
  ASSERT_TRUE(h.s.insert(data, 8 * kMiB, panfrost_bo_alignment(8 * kMiB, false)));
  EXPECT_EQ(data.start, k4G - 8 * kMiB);
}

TEST(PanfrostPlacement, HoleStartsUpTo16MiBBelow4GiBMovePastTheBoundary) {
  {
    OneHole h(k4G - 16 * kMiB, k4G + 8 * kMiB);
    VaNode prog;
    ASSERT_TRUE(h.insert_exec(prog, 4 * kKiB));
    EXPECT_EQ(prog.start, k4G + 4 * kKiB) << "exactly 16 MiB below: skipped";
  }
  {
    OneHole h(k4G - 16 * kMiB - 4 * kKiB, k4G + 8 * kMiB);
    VaNode prog;
    ASSERT_TRUE(h.insert_exec(prog, 4 * kKiB));
    EXPECT_EQ(prog.start, k4G - 16 * kMiB - 4 * kKiB) << "more than 16 MiB below: used";
  }
}

TEST(PanfrostPlacement, ExecutableBoNeverStartsOnA4GiBBoundary) {
  OneHole h(k4G, 8 * kGiB);
  VaNode prog;
  ASSERT_TRUE(h.insert_exec(prog, 4 * kKiB));
  EXPECT_EQ(prog.start, k4G + 4 * kKiB);
  expect_clear_of_4g_boundaries(prog);
}

TEST(PanfrostPlacement, ExecutableBoNeverEndsOnA4GiBBoundary) {
  // A 64 MiB hole ending at 4 GiB: a 64 MiB program would fit exactly, ending on the boundary.
  OneHole h(k4G - 64 * kMiB, k4G);
  VaNode prog;
  const Status st = h.insert_exec(prog, 64 * kMiB);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kOutOfMemory);
  ASSERT_TRUE(h.s.insert(prog, 64 * kMiB, panfrost_bo_alignment(64 * kMiB, false))) << "NOEXEC may";
  h.s.remove(prog);
  ASSERT_TRUE(h.insert_exec(prog, 32 * kMiB));
  EXPECT_EQ(prog.start, k4G - 64 * kMiB);
  expect_clear_of_4g_boundaries(prog);
}

TEST(PanfrostPlacement, ExecutableBoUsesOnlyTheSegmentOfTheHoleStart) {
  // Like panfrost: the hole starts 24 MiB below 4 GiB (more than 16 MiB, so no skip), and the end
  // is clipped below the boundary, so a 16 MiB program aligned to 16 MiB does not fit even though
  // the hole continues far above 4 GiB.
  OneHole h(k4G - 24 * kMiB, k4G + 32 * kMiB);
  VaNode prog;
  const Status st = h.insert_exec(prog, 16 * kMiB);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kOutOfMemory);
  ASSERT_TRUE(h.insert_exec(prog, 1 * kMiB));
  EXPECT_EQ(prog.start, k4G - 24 * kMiB);
  expect_clear_of_4g_boundaries(prog);
}

// ---- randomized check against a std::map oracle ----

// What a placement request looked like, so the oracle can re-check it.
struct Request {
  std::uint64_t size = 0;
  std::uint64_t align = 0;  // effective alignment (page for 0)
  int constraint = 0;       // index into constraints()
};

const std::vector<VaConstraint>& constraints() {
  static const std::vector<VaConstraint> c = {
      VaConstraint{},
      panfrost_bo_constraint(true),
      // Never cross a 16 MiB boundary.
      [](GpuVa& lo, GpuVa& hi) {
        hi = std::min(hi, align_down(lo, 16 * kMiB) + 16 * kMiB);
        return true;
      },
      // Skip the first 8 KiB of every hole and reject holes starting at a 1 MiB multiple.
      [](GpuVa& lo, GpuVa&) {
        if (lo % kMiB == 0) return false;
        lo += 8 * kKiB;
        return true;
      },
      // Tries to widen; must be clamped to the hole.
      [](GpuVa& lo, GpuVa& hi) {
        lo -= 4 * kKiB;
        hi += 4 * kKiB;
        return true;
      },
  };
  return c;
}

class Oracle {
 public:
  Oracle(GpuVa start, GpuVa end) : start_(start), end_(end) {}

  struct Entry {
    std::uint64_t size;
    const VaNode* node;
    Request req;
  };

  // Free ranges in address order, derived from the allocated ones.
  std::vector<std::pair<GpuVa, GpuVa>> gaps() const {
    std::vector<std::pair<GpuVa, GpuVa>> out;
    GpuVa at = start_;
    for (const auto& [s, e] : map_) {
      if (at < s) out.emplace_back(at, s);
      at = s + e.size;
    }
    if (at < end_) out.emplace_back(at, end_);
    return out;
  }

  // Where best fit must put the request, by brute force over the gaps.
  std::optional<GpuVa> expected_place(const Request& r) const {
    auto g = gaps();
    std::sort(g.begin(), g.end(), [](const auto& a, const auto& b) {
      return std::pair(a.second - a.first, a.first) < std::pair(b.second - b.first, b.first);
    });
    for (auto [lo, hi] : g) {
      if (hi - lo < r.size) continue;
      GpuVa c_lo = lo, c_hi = hi;
      if (const VaConstraint& c = constraints()[static_cast<std::size_t>(r.constraint)]; c && !c(c_lo, c_hi))
        continue;
      c_lo = std::max(lo, c_lo);
      c_hi = std::min(hi, c_hi);
      const GpuVa at = (c_lo + r.align - 1) / r.align * r.align;
      if (c_lo < c_hi && at + r.size <= c_hi) return at;
    }
    return std::nullopt;
  }

  const VaNode* find(GpuVa addr) const {
    auto it = map_.upper_bound(addr);
    if (it == map_.begin()) return nullptr;
    --it;
    return addr - it->first < it->second.size ? it->second.node : nullptr;
  }
  bool overlaps(GpuVa start, std::uint64_t size) const {
    for (GpuVa a = start; a < start + size; a += kPageSize)
      if (find(a)) return true;
    return false;
  }

  void add(GpuVa start, std::uint64_t size, const VaNode* n, Request r) { map_[start] = Entry{size, n, r}; }
  void erase(GpuVa start) { map_.erase(start); }
  const std::map<GpuVa, Entry>& map() const { return map_; }
  std::uint64_t bytes() const {
    std::uint64_t b = 0;
    for (const auto& [s, e] : map_) b += e.size;
    return b;
  }

 private:
  GpuVa start_, end_;
  std::map<GpuVa, Entry> map_;
};

void check_against_oracle(const VaSpace& s, const Oracle& o, std::mt19937_64& rng) {
  ASSERT_EQ(s.node_count(), o.map().size());
  ASSERT_EQ(s.allocated_bytes(), o.bytes());

  // Nodes: same ranges as the oracle, in order, inside the space, aligned, constraint honoured.
  std::vector<const VaNode*> nodes;
  s.for_each([&](const VaNode& n) { nodes.push_back(&n); });
  ASSERT_EQ(nodes.size(), o.map().size());
  auto it = o.map().begin();
  for (const VaNode* n : nodes) {
    ASSERT_EQ(n->start, it->first);
    ASSERT_EQ(n->size, it->second.size);
    ASSERT_EQ(n, it->second.node);
    ASSERT_TRUE(n->allocated());
    ASSERT_GE(n->start, s.start());
    ASSERT_LE(n->end(), s.end());
    ASSERT_EQ(n->start % it->second.req.align, 0U);
    if (it->second.req.constraint == 1) expect_clear_of_4g_boundaries(*n);
    if (it->second.req.constraint == 2) {
      ASSERT_EQ(n->start / (16 * kMiB), (n->end() - 1) / (16 * kMiB));
    }
    ++it;
  }

  // Holes and nodes tile the space exactly; holes are maximal (never adjacent to each other).
  std::vector<std::pair<GpuVa, std::uint64_t>> pieces = s.holes();
  const std::size_t hole_count = pieces.size();
  for (const VaNode* n : nodes) pieces.emplace_back(n->start, n->size);
  std::sort(pieces.begin(), pieces.end());
  ASSERT_EQ(pieces.size(), hole_count + nodes.size());
  GpuVa at = s.start();
  for (auto [start, size] : pieces) {
    ASSERT_EQ(start, at) << "gap or overlap at " << std::hex << at;
    ASSERT_GT(size, 0U);
    at = start + size;
  }
  ASSERT_EQ(at, s.end());
  const auto gaps = o.gaps();
  const Holes holes = s.holes();
  ASSERT_EQ(holes.size(), gaps.size());
  for (std::size_t i = 0; i < holes.size(); ++i) {
    ASSERT_EQ(holes[i].first, gaps[i].first);
    ASSERT_EQ(holes[i].first + holes[i].second, gaps[i].second);
  }

  // find(): node edges and middles, hole edges, space edges, random addresses.
  std::vector<GpuVa> probes = {0,       s.start(),      s.end() - 1,
                               s.end(), s.end() + kMiB, std::numeric_limits<GpuVa>::max()};
  if (s.start() > 0) probes.push_back(s.start() - 1);
  for (const VaNode* n : nodes) {
    probes.insert(probes.end(), {n->start, n->start + n->size / 2, n->end() - 1, n->end()});
    if (n->start > 0) probes.push_back(n->start - 1);
  }
  for (auto [start, size] : holes) probes.insert(probes.end(), {start, start + size - 1});
  const std::uint64_t span = s.end() - s.start() + 2 * kMiB;
  for (int i = 0; i < 64; ++i) probes.push_back(s.start() - kMiB + rng() % span);
  for (GpuVa a : probes) ASSERT_EQ(s.find(a), o.find(a)) << std::hex << a;
}

// Thousands of random inserts, reserves and removes over a pool of nodes, checking every placement
// against the oracle's brute-force best fit, and the whole state after every batch.
void run_random(std::uint64_t seed, GpuVa start, GpuVa end, bool panfrost_like) {
  SCOPED_TRACE(testing::Message() << "seed " << seed << " space [" << std::hex << start << "," << end << ")");
  std::mt19937_64 rng(seed);
  auto pick = [&](std::uint64_t n) { return rng() % n; };
  VaSpace s(start, end);
  Oracle o(start, end);
  std::deque<VaNode> pool(256);
  constexpr int kOps = 6000;
  constexpr int kBatch = 20;
  int inserted = 0, failed = 0;

  for (int op = 0; op < kOps; ++op) {
    VaNode& n = pool[pick(pool.size())];
    if (n.allocated()) {
      const GpuVa at = n.start;
      s.remove(n);
      ASSERT_FALSE(n.allocated());
      o.erase(at);
    } else if (pick(8) == 0) {
      // reserve: random page-aligned range, sometimes poking out of the space
      const GpuVa at = start - 4 * kPageSize + pick((end - start) / kPageSize + 8) * kPageSize;
      const std::uint64_t size = (1 + pick(pick(4) == 0 ? 512 : 16)) * kPageSize;
      const Status st = s.reserve(n, at, size);
      if (at < start || at + size > end) {
        ASSERT_FALSE(st);
        ASSERT_EQ(st.error().code, Errc::kInvalidArgument);
      } else if (o.overlaps(at, size)) {
        ASSERT_FALSE(st);
        ASSERT_EQ(st.error().code, Errc::kExists);
      } else {
        ASSERT_TRUE(st) << st.error().message;
        ASSERT_EQ(n.start, at);
        o.add(at, size, &n, Request{size, kPageSize, 0});
      }
    } else {
      Request r;
      const std::uint64_t size_class = pick(10);
      const std::uint64_t pages = size_class < 7   ? 1 + pick(16)
                                  : size_class < 9 ? 1 + pick(512)
                                                   : 1 + pick(2048);
      r.size = pages * kPageSize;
      static constexpr std::array<std::uint64_t, 7> kAligns = {0,         4 * kKiB, 8 * kKiB, 12 * kKiB,
                                                               64 * kKiB, 2 * kMiB, 3 * kMiB};
      std::uint64_t align = kAligns[pick(kAligns.size())];
      r.constraint = static_cast<int>(pick(3) == 0 ? 1 + pick(constraints().size() - 1) : 0);
      if (r.constraint == 1 || (panfrost_like && pick(4) == 0)) {
        // An executable BO as panfrost would place it.
        if (r.size > 16 * kMiB) r.size = 16 * kMiB;
        r.constraint = 1;
        align = panfrost_bo_alignment(r.size, true);
      } else if (pick(8) == 0) {
        align = r.size;  // own-size alignment with no constraint: exercises odd multiples
      }
      r.align = align == 0 ? kPageSize : align;
      const auto want = o.expected_place(r);
      const Status st = s.insert(n, r.size, align, constraints()[static_cast<std::size_t>(r.constraint)]);
      if (want) {
        ASSERT_TRUE(st) << st.error().message;
        ASSERT_EQ(n.start, *want) << std::hex << "size " << r.size << " align " << r.align;
        o.add(n.start, r.size, &n, r);
        ++inserted;
      } else {
        ASSERT_FALSE(st) << std::hex << "placed at " << n.start << " size " << r.size;
        ASSERT_EQ(st.error().code, Errc::kOutOfMemory);
        ASSERT_FALSE(n.allocated());
        ++failed;
      }
    }
    if (op % kBatch == kBatch - 1) {
      ASSERT_NO_FATAL_FAILURE(check_against_oracle(s, o, rng)) << "after op " << op;
    }
  }
  // Both outcomes must be common, or the test proves little.
  EXPECT_GT(inserted, kOps / 10);
  EXPECT_GT(failed, kOps / 100);
  for (VaNode& n : pool) s.remove(n);
  EXPECT_EQ(s.holes(), (Holes{{start, end - start}}));
}

TEST(VaSpace, RandomInsertReserveRemoveMatchesAMapOracle) {
  for (std::uint64_t seed : {1U, 2U, 3U}) {
    ASSERT_NO_FATAL_FAILURE(run_random(seed, kPanfrostStart, kPanfrostStart + 64 * kMiB, false));
  }
}

TEST(VaSpace, RandomInsertReserveRemoveAcross4GiBMatchesAMapOracle) {
  for (std::uint64_t seed : {11U, 12U, 13U}) {
    ASSERT_NO_FATAL_FAILURE(run_random(seed, k4G - 40 * kMiB, k4G + 24 * kMiB, true));
  }
}

}  // namespace
}  // namespace mali_sim
