#include <gtest/gtest.h>

#include "mali_sim/pagetable/dump.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"

namespace mali_sim {
namespace {

TEST(PageTableDump, MergesContiguousLeavesWithEqualAttributesIntoRanges) {
  PhysMem mem(1ULL << 32);
  FrameAllocator frames(mem, 1);
  auto pt = std::move(IoPgtable::create(frames, {})).value();
  const ProtFlags rw = prot::kRead | prot::kWrite | prot::kNoExec;
  // Four pages contiguous in VA and PA: one range. Then a gap, then a 2 MiB block.
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(pt->map(0x100'0000 + i * kPageSize, 0x2000'0000 + i * kPageSize, kPageSize, rw));
  // Same VA run continues but with another PA: a new range.
  ASSERT_TRUE(pt->map(0x100'4000, 0x3000'0000, kPageSize, rw));
  // Read-only code next to it: a new range (attributes differ).
  ASSERT_TRUE(pt->map(0x100'5000, 0x3000'1000, kPageSize, prot::kRead));
  ASSERT_TRUE(pt->map(0x4000'0000, 0x4000'0000, kSize2M, rw));
  const PageTableDump d = dump_page_table(mem, pt->format(), pt->pgd());
  ASSERT_EQ(d.ranges.size(), 4U);
  EXPECT_EQ(d.ranges[0].va, 0x100'0000U);
  EXPECT_EQ(d.ranges[0].size, 4 * kPageSize);
  EXPECT_EQ(d.ranges[0].pa, 0x2000'0000U);
  EXPECT_EQ(d.ranges[0].pages_4k, 4U);
  EXPECT_EQ(d.ranges[1].pa, 0x3000'0000U);
  EXPECT_FALSE(d.ranges[2].attrs.write);
  EXPECT_TRUE(d.ranges[2].attrs.exec);
  EXPECT_EQ(d.ranges[3].blocks_2m, 1U);
  EXPECT_EQ(d.tables_per_level[0], 1U);
  EXPECT_EQ(d.tables_per_level[1], 1U);
  EXPECT_EQ(d.tables_per_level[2], 2U);
  EXPECT_EQ(d.tables_per_level[3], 1U);
  const std::string text = d.to_string();
  EXPECT_NE(text.find("VA 0x0001000000-0x0001003fff -> PA 0x0020000000"), std::string::npos) << text;
  EXPECT_NE(text.find("[1 x 2M]"), std::string::npos) << text;
}

TEST(PageTableDump, CountsTablePointersOutsideMemory) {
  PhysMem mem(1ULL << 20);
  ASSERT_TRUE(mem.write64(0x1000, pte_format(PtFormat::MaliLpae).make_table(1ULL << 32)));
  const PageTableDump d = dump_page_table(mem, pte_format(PtFormat::MaliLpae), 0x1000);
  EXPECT_EQ(d.bad_table_reads, 1U);
  EXPECT_TRUE(d.ranges.empty());
}

}  // namespace
}  // namespace mali_sim
