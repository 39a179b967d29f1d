// The page-table writer: io-pgtable self-test semantics, register values, and a seeded property
// test of writer-then-walker against a plain std::map oracle.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {
namespace {

std::string format_param_name(const ::testing::TestParamInfo<PtFormat>& p) {
  return p.param == PtFormat::MaliLpae ? "MaliLpae" : "Aarch64";
}

constexpr ProtFlags kRwNx = prot::kRead | prot::kWrite | prot::kNoExec;

class IoPgtableTest : public ::testing::TestWithParam<PtFormat> {
 protected:
  PhysMem mem{64ULL << 30};  // 64 GiB, sparse
  FrameAllocator frames{mem};
  std::unique_ptr<IoPgtable> pt = make();

  std::unique_ptr<IoPgtable> make(IoPgtableConfig cfg = {}) {
    cfg.format = GetParam();
    auto r = IoPgtable::create(frames, cfg);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? std::move(r).value() : nullptr;
  }
  WalkConfig walk_config() const {
    return WalkConfig::from_registers(pt->transtab(), pt->transcfg(), pt->memattr(), 48, 40, true);
  }
};

INSTANTIATE_TEST_SUITE_P(BothFormats, IoPgtableTest,
                         ::testing::Values(PtFormat::MaliLpae, PtFormat::Aarch64_4K), format_param_name);

TEST_P(IoPgtableTest, MapThenIovaToPhysAtSeveralOffsets) {
  ASSERT_TRUE(pt->map(0x4000'0000, 0x1'0000'0000, kSize2M + 3 * kPageSize, kRwNx));
  for (std::uint64_t off :
       {std::uint64_t{0}, std::uint64_t{0x123}, kSize2M - 1, kSize2M, kSize2M + 2 * kPageSize + 0xfff}) {
    auto pa = pt->iova_to_phys(0x4000'0000 + off);
    ASSERT_TRUE(pa) << std::hex << off;
    EXPECT_EQ(*pa, 0x1'0000'0000 + off);
  }
  EXPECT_FALSE(pt->iova_to_phys(0x4000'0000 + kSize2M + 3 * kPageSize));
  EXPECT_FALSE(pt->iova_to_phys(0x3fff'f000));
}

TEST_P(IoPgtableTest, MapUsesTheLargestPagesBothAddressesAllow) {
  // VA and PA 1 GiB aligned, 1 GiB + 2 MiB + 4 KiB long: one 1G block, one 2M block, one page.
  ASSERT_TRUE(pt->map(kSize1G, 2 * kSize1G, kSize1G + kSize2M + kPageSize, kRwNx));
  const WalkConfig c = walk_config();
  EXPECT_EQ(walk(mem, c, kSize1G).translation.size, PageSize::k1G);
  EXPECT_EQ(walk(mem, c, 2 * kSize1G).translation.size, PageSize::k2M);
  EXPECT_EQ(walk(mem, c, 2 * kSize1G + kSize2M).translation.size, PageSize::k4K);
  // PA only 4 KiB aligned: everything in 4 KiB pages even though the VA is 2 MiB aligned.
  ASSERT_TRUE(pt->map(4 * kSize1G, 5 * kSize1G + kPageSize, kSize2M, kRwNx));
  EXPECT_EQ(walk(mem, c, 4 * kSize1G).translation.size, PageSize::k4K);
  // panfrost asks only for 4K|2M: a 1 GiB-aligned gigabyte becomes 512 blocks of 2 MiB.
  IoPgtableConfig no1g;
  no1g.use_1g_blocks = false;
  auto pt2 = make(no1g);
  ASSERT_TRUE(pt2->map(kSize1G, 2 * kSize1G, kSize1G, kRwNx));
  const WalkConfig c2 =
      WalkConfig::from_registers(pt2->transtab(), pt2->transcfg(), pt2->memattr(), 48, 40, true);
  EXPECT_EQ(walk(mem, c2, kSize1G + 5 * kSize2M).translation.size, PageSize::k2M);
}

TEST_P(IoPgtableTest, UnmapReturnsTheSizeUnmapped) {
  ASSERT_TRUE(pt->map(0x10'0000, 0x20'0000, 8 * kPageSize, kRwNx));
  auto n = pt->unmap(0x10'0000, 8 * kPageSize);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 8 * kPageSize);
  EXPECT_FALSE(pt->iova_to_phys(0x10'0000));
}

TEST_P(IoPgtableTest, OverlappingMapIsRefusedAndChangesNothing) {
  ASSERT_TRUE(pt->map(0x10'0000, 0x20'0000, 4 * kPageSize, kRwNx));
  const auto tables = pt->table_pages();
  const auto allocated = frames.stats().allocated;
  // Starts on free pages, runs into the mapped ones: nothing of it may stay.
  Status s = pt->map(0x10'0000 - 2 * kPageSize, 0x90'0000, 4 * kPageSize, kRwNx);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kExists);
  EXPECT_FALSE(pt->iova_to_phys(0x10'0000 - 2 * kPageSize));
  EXPECT_EQ(*pt->iova_to_phys(0x10'0000), 0x20'0000U);
  EXPECT_EQ(pt->table_pages(), tables);
  EXPECT_EQ(frames.stats().allocated, allocated);
  // A page inside an existing 2 MiB block is refused too.
  ASSERT_TRUE(pt->map(kSize1G, kSize1G, kSize2M, kRwNx));
  EXPECT_EQ(pt->map(kSize1G + kPageSize, 0, kPageSize, kRwNx).error().code, Errc::kExists);
}

TEST_P(IoPgtableTest, PartialUnmapOfABlockIsRefusedAndChangesNothing) {
  ASSERT_TRUE(pt->map(kSize1G, kSize1G, kSize2M, kRwNx));
  auto r = pt->unmap(kSize1G + kPageSize, kPageSize);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("split the 2 MiB block"), std::string::npos) << r.error().message;
  // A range that covers some pages and part of the block: refused before touching the pages.
  ASSERT_TRUE(pt->map(kSize1G - kPageSize, 0x5000, kPageSize, kRwNx));
  EXPECT_FALSE(pt->unmap(kSize1G - kPageSize, 2 * kPageSize));
  EXPECT_TRUE(pt->iova_to_phys(kSize1G - kPageSize));
  EXPECT_EQ(*pt->iova_to_phys(kSize1G + 0x1234), kSize1G + 0x1234);
}

TEST_P(IoPgtableTest, UnmapOfAHoleIsHarmlessAndSparseUnmapSkipsHoles) {
  auto hole = pt->unmap(0x4000'0000, 64 * kSize2M);
  ASSERT_TRUE(hole);
  EXPECT_EQ(*hole, 0U);
  // A sparse heap: chunks 0 and 3 of a 4-chunk range are mapped.
  ASSERT_TRUE(pt->map(0x4000'0000, 0x100'0000, kSize2M, kRwNx));
  ASSERT_TRUE(pt->map(0x4000'0000 + 3 * kSize2M, 0x800'0000, kSize2M, kRwNx));
  auto n = pt->unmap(0x4000'0000, 4 * kSize2M);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2 * kSize2M);
}

TEST_P(IoPgtableTest, EmptyTablesAreReturnedToTheFrameAllocator) {
  EXPECT_EQ(pt->table_pages(), 1U);
  EXPECT_EQ(frames.stats().allocated, 1U);
  for (std::uint64_t i = 0; i < 512; ++i)
    ASSERT_TRUE(pt->map(0x8000'0000 + i * kPageSize, 0x10'0000 + i * 7 * kPageSize, kPageSize, kRwNx));
  EXPECT_EQ(pt->table_pages(), 4U);  // L0 + L1 + L2 + L3
  ASSERT_TRUE(pt->unmap(0x8000'0000, kSize2M));
  EXPECT_EQ(pt->table_pages(), 1U);
  EXPECT_EQ(frames.stats().allocated, 1U);
  pt.reset();
  EXPECT_EQ(frames.stats().allocated, 0U) << "destruction returns the root too";
}

TEST_P(IoPgtableTest, InputAndOutputAddressSizesAreEnforced) {
  IoPgtableConfig bad;
  bad.format = GetParam();
  bad.ias = 49;
  EXPECT_FALSE(IoPgtable::create(frames, bad));
  bad.ias = 48;
  bad.oas = 41;
  EXPECT_FALSE(IoPgtable::create(frames, bad));

  IoPgtableConfig small;
  small.ias = 33;
  auto pt33 = make(small);
  EXPECT_EQ(pt33->map(1ULL << 33, 0, kPageSize, kRwNx).error().code, Errc::kOutOfRange);
  EXPECT_EQ(pt33->map((1ULL << 33) - kPageSize, 0, 2 * kPageSize, kRwNx).error().code, Errc::kOutOfRange);
  EXPECT_TRUE(pt33->map((1ULL << 33) - kPageSize, 0, kPageSize, kRwNx));
  EXPECT_EQ(pt->map(0, (1ULL << 40) - kPageSize, 2 * kPageSize, kRwNx).error().code, Errc::kOutOfRange);
}

TEST_P(IoPgtableTest, BadArgumentsAreRefusedWithTheirCause) {
  EXPECT_EQ(pt->map(0x1001, 0, kPageSize, kRwNx).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(pt->map(0x1000, 0x10, kPageSize, kRwNx).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(pt->map(0x1000, 0, 0, kRwNx).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(pt->map(0x1000, 0, kPageSize, prot::kNoExec).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(pt->map(0x1000, 0, kPageSize, 0x100).error().code, Errc::kInvalidArgument);
  EXPECT_FALSE(pt->unmap(0x1000, 0));
}

TEST_P(IoPgtableTest, OutOfFramesDuringMapLeavesNoMappingAndNoLeakedTable) {
  PhysMem tiny(4 * kPageSize);
  FrameAllocator few(tiny);
  IoPgtableConfig cfg;
  cfg.format = GetParam();
  auto small = IoPgtable::create(few, cfg);
  ASSERT_TRUE(small);
  // Root + L1 + L2 fit; the L3 table does not.
  ASSERT_TRUE(few.alloc_frame());
  Status s = (*small)->map(0x4000'0000, 0, kPageSize, kRwNx);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kOutOfMemory);
  EXPECT_EQ((*small)->table_pages(), 1U);
  EXPECT_EQ(few.stats().allocated, 2U);  // root + the frame taken above
}

TEST(IoPgtableRegisters, TranstabTranscfgAndMemattrAreWhatPanfrostProgrammes) {
  PhysMem mem(16 * kPageSize);
  FrameAllocator frames(mem, 3);
  auto legacy = IoPgtable::create(frames, {});
  ASSERT_TRUE(legacy);
  EXPECT_EQ((*legacy)->pgd(), 3 * kPageSize);
  EXPECT_EQ((*legacy)->transtab(), 0x3000U | 0x7U);  // pgd | READ_INNER | ADRMODE_TABLE
  EXPECT_EQ((*legacy)->transcfg(), 0U);
  EXPECT_EQ((*legacy)->memattr(), 0x888D88U);
  IoPgtableConfig coherent;
  coherent.coherent = true;
  auto coh = IoPgtable::create(frames, coherent);
  EXPECT_EQ((*coh)->transtab(), (*coh)->pgd() | 0x17U);

  IoPgtableConfig a64;
  a64.format = PtFormat::Aarch64_4K;
  auto a = IoPgtable::create(frames, a64);
  EXPECT_EQ((*a)->transtab(), (*a)->pgd());
  EXPECT_EQ((*a)->transcfg(), 0x420001C6U);
  a64.coherent = true;
  EXPECT_EQ((*IoPgtable::create(frames, a64))->transcfg(), 0x620001C6U);
  a64.coherent = false;
  a64.ias = 33;
  EXPECT_EQ((*IoPgtable::create(frames, a64))->transcfg() & 0x7C0U, (55U - 33U) << 6);
}

// ---------------------------------------------------------------------------------------------
// Property test: random map/unmap sequences, then every mapping checked through the walker.

struct Leaf {
  PhysAddr pa;
  std::uint64_t size;
  ProtFlags prot;
};

// The oracle's own statement of the splitting rule: largest of 1G/2M/4K that both addresses are
// aligned to and that fits in what remains.
std::uint64_t expected_page(GpuVa va, PhysAddr pa, std::uint64_t remaining) {
  for (std::uint64_t s : {kSize1G, kSize2M}) {
    if (is_aligned(va, s) && is_aligned(pa, s) && remaining >= s) return s;
  }
  return kPageSize;
}

class Oracle {
 public:
  bool overlaps(GpuVa va, std::uint64_t size) const {
    auto it = leaves_.lower_bound(va + size);
    if (it == leaves_.begin()) return false;
    --it;
    return it->first + it->second.size > va;
  }
  void map(GpuVa va, PhysAddr pa, std::uint64_t size, ProtFlags p) {
    while (size > 0) {
      const std::uint64_t s = expected_page(va, pa, size);
      leaves_[va] = Leaf{pa, s, p};
      va += s;
      pa += s;
      size -= s;
    }
  }
  // nullopt: the writer must refuse (a block would be split).
  std::optional<std::uint64_t> unmap(GpuVa va, std::uint64_t size, bool apply) {
    std::uint64_t n = 0;
    auto it = leaves_.lower_bound(va);
    if (it != leaves_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second.size > va) return std::nullopt;
    }
    std::vector<GpuVa> gone;
    for (; it != leaves_.end() && it->first < va + size; ++it) {
      if (it->first + it->second.size > va + size) return std::nullopt;
      n += it->second.size;
      gone.push_back(it->first);
    }
    if (apply) {
      for (GpuVa g : gone) leaves_.erase(g);
    }
    return n;
  }
  const std::map<GpuVa, Leaf>& leaves() const { return leaves_; }

 private:
  std::map<GpuVa, Leaf> leaves_;
};

void check_against_oracle(const PhysMem& mem, const WalkConfig& c, const Oracle& oracle, std::mt19937_64& rng,
                          GpuVa window) {
  for (const auto& [va, leaf] : oracle.leaves()) {
    const GpuVa probe = va + (rng() % leaf.size & ~7ULL);
    const WalkResult r = walk(mem, c, probe);
    ASSERT_TRUE(r.ok()) << std::hex << "VA " << probe << " should be mapped";
    EXPECT_EQ(r.translation.pa, leaf.pa + (probe - va)) << std::hex << probe;
    EXPECT_EQ(bytes(r.translation.size), leaf.size) << std::hex << probe;
    EXPECT_EQ(r.translation.write, (leaf.prot & prot::kWrite) != 0);
    EXPECT_EQ(r.translation.exec, (leaf.prot & prot::kNoExec) == 0);
  }
  for (int i = 0; i < 200; ++i) {
    const GpuVa probe = rng() % window;
    if (!oracle.overlaps(probe & ~(kPageSize - 1), kPageSize)) {
      const WalkResult r = walk(mem, c, probe);
      ASSERT_EQ(r.outcome, WalkResult::Outcome::Fault) << std::hex << probe;
      EXPECT_EQ(r.fault.kind, MmuFaultKind::Translation);
    }
  }
}

TEST_P(IoPgtableTest, RandomMapUnmapMatchesAPlainMapOracleThroughTheWalker) {
  std::mt19937_64 rng(0x3a11'51f0ULL + static_cast<unsigned>(GetParam()));
  Oracle oracle;
  constexpr GpuVa kWindow = 8 * kSize1G;
  const ProtFlags prots[] = {kRwNx, prot::kRead, prot::kRead | prot::kWrite | prot::kCache,
                             prot::kRead | prot::kNoExec};
  int refused_overlaps = 0, refused_splits = 0;
  for (int op = 0; op < 4000; ++op) {
    const unsigned kind = static_cast<unsigned>(rng() % 10);
    if (kind < 6) {  // map: mostly pages, some 2M-aligned runs, rarely a gigabyte
      std::uint64_t size;
      GpuVa va;
      PhysAddr pa;
      if (kind < 4) {
        size = (1 + rng() % 16) * kPageSize;
        va = (rng() % (kWindow / kPageSize)) * kPageSize;
        pa = (rng() % (1ULL << 22)) * kPageSize;
      } else if (kind == 4) {
        size = (1 + rng() % 3) * kSize2M + (rng() % 2) * kPageSize;
        va = (rng() % (kWindow / kSize2M)) * kSize2M;
        pa = (rng() % 4096) * kSize2M;
      } else {
        size = (rng() % 8 == 0) ? kSize1G : kSize2M;
        va = (rng() % (kWindow / size)) * size;
        pa = (rng() % 32) * size;
      }
      if (va + size > kWindow) continue;
      const ProtFlags p = prots[rng() % 4];
      Status s = pt->map(va, pa, size, p);
      if (oracle.overlaps(va, size)) {
        ASSERT_FALSE(s) << std::hex << "overlapping map at " << va << " accepted";
        ASSERT_EQ(s.error().code, Errc::kExists);
        ++refused_overlaps;
      } else {
        ASSERT_TRUE(s) << s.error().message;
        oracle.map(va, pa, size, p);
      }
    } else {  // unmap a random range: may cover holes, may try to split a block
      const std::uint64_t size = (rng() % 2 ? (1 + rng() % 8) * kPageSize : (1 + rng() % 4) * kSize2M);
      const GpuVa va = (rng() % ((kWindow - size) / kPageSize)) * kPageSize;
      const auto expected = oracle.unmap(va, size, false);
      auto got = pt->unmap(va, size);
      if (!expected) {
        ASSERT_FALSE(got) << std::hex << "split of a block at " << va << " accepted";
        ++refused_splits;
      } else {
        ASSERT_TRUE(got) << got.error().message;
        ASSERT_EQ(*got, *expected);
        (void)oracle.unmap(va, size, true);
      }
    }
    if (op % 500 == 499) {
      ASSERT_NO_FATAL_FAILURE(check_against_oracle(mem, walk_config(), oracle, rng, kWindow));
    }
  }
  EXPECT_GT(refused_overlaps, 0) << "the sequence should exercise the overlap rule";
  EXPECT_GT(refused_splits, 0) << "the sequence should exercise the block-split rule";
  std::uint64_t total = 0;
  for (const auto& [va, leaf] : oracle.leaves()) total += leaf.size;
  EXPECT_EQ(pt->mapped_bytes(), total);
  // Unmapping everything returns every table but the root.
  auto all = pt->unmap(0, kWindow);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, total);
  EXPECT_EQ(pt->table_pages(), 1U);
  EXPECT_EQ(frames.stats().allocated, 1U);
}

}  // namespace
}  // namespace mali_sim
