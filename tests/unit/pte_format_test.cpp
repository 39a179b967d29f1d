// Golden descriptor values, computed by hand from the bit tables of the two formats:
//   Mali LPAE (io-pgtable ARM_MALI_LPAE): type[1:0] leaf 1 / table 3, AttrIndx[4:2], read bit 6,
//     write bit 7, SH[9:8] = 2 always, AF never, XN bits 53+54, invalid 0.
//   AArch64 4K (kbase): leaf 1 at L1-L2 and 3 at L3, table 3, AP[7:6] 01 RW / 11 RO, SH 2,
//     AF bit 10 on leaves and tables, NX bit 54, invalid 2.
#include <gtest/gtest.h>

#include "mali_sim/pagetable/format.hpp"

namespace mali_sim {
namespace {

const PteFormat& lpae = pte_format(PtFormat::MaliLpae);
const PteFormat& a64 = pte_format(PtFormat::Aarch64_4K);

TEST(MaliLpaeFormat, LeafDescriptorsMatchHandComputedGoldenValues) {
  // L3 page, RW, no-exec: 0x80000000 | type 1 | R 0x40 | W 0x80 | SH 0x200 | XN 0x0060000000000000
  EXPECT_EQ(lpae.make_leaf(0x80000000, 3, prot::kRead | prot::kWrite | prot::kNoExec), 0x00600000800002C1ULL);
  // Same with CACHE: AttrIndx 1 -> 0x4
  EXPECT_EQ(lpae.make_leaf(0x80000000, 3, prot::kRead | prot::kWrite | prot::kNoExec | prot::kCache),
            0x00600000800002C5ULL);
  // L2 2 MiB block, read-only, executable: 0x40200000 | 1 | 0x40 | 0x200
  EXPECT_EQ(lpae.make_leaf(0x40200000, 2, prot::kRead), 0x0000000040200241ULL);
  // L1 1 GiB block, RW, MMIO: AttrIndx 2 -> 0x8
  EXPECT_EQ(lpae.make_leaf(0x40000000, 1, prot::kRead | prot::kWrite | prot::kMmio), 0x00000000400002C9ULL);
  // Write-only is representable (HAP-style bits)
  EXPECT_EQ(lpae.make_leaf(0x1000, 3, prot::kWrite), 0x0000000000001281ULL);
}

TEST(MaliLpaeFormat, TableAndInvalidDescriptors) {
  EXPECT_EQ(lpae.make_table(0x12345000), 0x0000000012345003ULL);
  EXPECT_EQ(lpae.invalid(), 0U);
  EXPECT_EQ(lpae.default_memattr(), 0x0000000000888D88ULL);
}

TEST(MaliLpaeFormat, ClassifiesLeafType1AtEveryLevelFromOneOnward) {
  for (unsigned level = 1; level <= 3; ++level) {
    EXPECT_EQ(lpae.classify(0x40000000 | 0x241, level), DescType::Leaf) << "level " << level;
  }
  EXPECT_EQ(lpae.classify(0x1003, 0), DescType::Table);
  EXPECT_EQ(lpae.classify(0x1003, 2), DescType::Table);
  EXPECT_EQ(lpae.classify(0x1003, 3), DescType::Reserved) << "no table below level 3";
  EXPECT_EQ(lpae.classify(0x1241, 0), DescType::Reserved) << "no 512 GiB block with a 4 KiB granule";
  EXPECT_EQ(lpae.classify(0, 2), DescType::Invalid);
  EXPECT_EQ(lpae.classify(2, 2), DescType::Invalid) << "kbase's invalid encoding 2 is invalid here too";
}

TEST(MaliLpaeFormat, DecodesPermissionsAttributesAndIgnoresSoftwareBit55) {
  const LeafAttrs a = lpae.leaf_attrs(0x00600000800002C5ULL | (1ULL << 55));
  EXPECT_TRUE(a.read);
  EXPECT_TRUE(a.write);
  EXPECT_FALSE(a.exec);
  EXPECT_EQ(a.attr_index, 1);
  EXPECT_EQ(a.shareability, 2);
  EXPECT_FALSE(a.access_flag);
  EXPECT_EQ(lpae.classify(0x1003 | (1ULL << 55), 1), DescType::Table);
}

TEST(Aarch64Format, LeafDescriptorsMatchHandComputedGoldenValues) {
  // L3 page RW no-exec: 0x80000000 | type 3 | AP 01 (0x40) | SH 0x200 | AF 0x400 | NX 1<<54
  EXPECT_EQ(a64.make_leaf(0x80000000, 3, prot::kRead | prot::kWrite | prot::kNoExec), 0x0040000080000643ULL);
  // with CACHE: kbase write-alloc slot 2 -> 0x8
  EXPECT_EQ(a64.make_leaf(0x80000000, 3, prot::kRead | prot::kWrite | prot::kNoExec | prot::kCache),
            0x004000008000064BULL);
  // L2 block read-only executable: type 1 | AP 11 (0xC0) | SH | AF
  EXPECT_EQ(a64.make_leaf(0x40200000, 2, prot::kRead), 0x00000000402006C1ULL);
  // L1 block RW MMIO: non-cacheable slot 5 -> 0x14
  EXPECT_EQ(a64.make_leaf(0x40000000, 1, prot::kRead | prot::kWrite | prot::kMmio), 0x0000000040000655ULL);
  // Write-only has no encoding and becomes read-write, as in kbase
  EXPECT_EQ(a64.make_leaf(0x1000, 3, prot::kWrite), a64.make_leaf(0x1000, 3, prot::kRead | prot::kWrite));
}

TEST(Aarch64Format, TableAndInvalidDescriptors) {
  EXPECT_EQ(a64.make_table(0x12345000), 0x0000000012345403ULL);
  EXPECT_EQ(a64.invalid(), 2U);
  EXPECT_EQ(a64.default_memattr(), 0x00004C8D888D8F88ULL);
}

TEST(Aarch64Format, PageEncodingDiffersBetweenLevel3AndBlockLevels) {
  EXPECT_EQ(a64.classify(0x40000641, 1), DescType::Leaf);
  EXPECT_EQ(a64.classify(0x40000641, 2), DescType::Leaf);
  EXPECT_EQ(a64.classify(0x40000641, 3), DescType::Reserved) << "type 1 at level 3 is reserved";
  EXPECT_EQ(a64.classify(0x40000643, 3), DescType::Leaf);
  EXPECT_EQ(a64.classify(0x40000643, 2), DescType::Table);
  EXPECT_EQ(a64.classify(0x40000641, 0), DescType::Reserved);
  EXPECT_EQ(a64.classify(2, 3), DescType::Invalid);
}

TEST(Aarch64Format, DecodesAccessPermissionBits) {
  const LeafAttrs rw = a64.leaf_attrs(0x0040000080000643ULL);
  EXPECT_TRUE(rw.read);
  EXPECT_TRUE(rw.write);
  EXPECT_FALSE(rw.exec);
  EXPECT_TRUE(rw.access_flag);
  const LeafAttrs ro = a64.leaf_attrs(0x00000000402006C1ULL);
  EXPECT_TRUE(ro.read);
  EXPECT_FALSE(ro.write);
  EXPECT_TRUE(ro.exec);
  // AP[1] clear: privileged-only, so the GPU (an unprivileged master) gets no access.
  const LeafAttrs priv = a64.leaf_attrs(0x0000000040000401ULL);
  EXPECT_FALSE(priv.read);
  EXPECT_FALSE(priv.write);
}

TEST(PteFormatDescribe, NamesLevelKindAddressAndPermissions) {
  const std::string s = describe_descriptor(lpae, 0x00600000800002C5ULL, 3);
  EXPECT_NE(s.find("L3 page(4K) PA 0x80000000 RW- attr 1 SH 2"), std::string::npos) << s;
  EXPECT_NE(describe_descriptor(a64, 0x1403, 1).find("table -> 0x1000"), std::string::npos);
  EXPECT_NE(describe_descriptor(a64, 2, 1).find("invalid"), std::string::npos);
}

TEST(PteFormatGeometry, LevelShiftsIndexVaBits47To12) {
  EXPECT_EQ(level_size(1), kSize1G);
  EXPECT_EQ(level_size(2), kSize2M);
  EXPECT_EQ(level_size(3), kPageSize);
  const GpuVa va = (5ULL << 39) | (7ULL << 30) | (9ULL << 21) | (11ULL << 12) | 0x123;
  EXPECT_EQ(level_index(va, 0), 5U);
  EXPECT_EQ(level_index(va, 1), 7U);
  EXPECT_EQ(level_index(va, 2), 9U);
  EXPECT_EQ(level_index(va, 3), 11U);
}

}  // namespace
}  // namespace mali_sim
