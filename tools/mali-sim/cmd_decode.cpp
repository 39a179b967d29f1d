// mali-sim decode TYPE VALUE: a register or descriptor value, readable.
#include <fmt/format.h>

#include "commands.hpp"
#include "mali_sim/pagetable/format.hpp"
#include "mali_sim/parse.hpp"
#include "mali_sim/regs.hpp"
#include "util.hpp"

namespace mali_sim::cli {

void add_decode(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("decode",
                                 "Decode a FAULTSTATUS, LOCKADDR, TRANSTAB, TRANSCFG, MEMATTR, GPU_ID, "
                                 "MMU_FEATURES or page-table descriptor value given in hex");
  struct Args {
    std::string type, value, format = "mali-lpae";
    unsigned level = 3, arch = 7;
    bool aarch64 = true;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("type", a->type,
                  "faultstatus, lockaddr, transtab, transcfg, memattr, gpuid, mmufeatures, pte")
      ->required()
      ->check(CLI::IsMember(
          {"faultstatus", "lockaddr", "transtab", "transcfg", "memattr", "gpuid", "mmufeatures", "pte"}));
  cmd->add_option("value", a->value, "The value, hex (0x...) or decimal")->required();
  cmd->add_option("--format", a->format, "pte: mali-lpae or aarch64-4k")
      ->check(CLI::IsMember({"mali-lpae", "aarch64-4k"}));
  cmd->add_option("--level", a->level, "pte: table level 0-3")->check(CLI::Range(0, 3));
  cmd->add_option("--arch", a->arch, "lockaddr: GPU architecture major (sets the minimum region)")
      ->capture_default_str();
  cmd->add_option("--aarch64-mmu", a->aarch64,
                  "faultstatus: whether the GPU has the AArch64 MMU (ATOMIC naming)");
  cmd->callback([a, &exit_code] {
    auto v = parse_number("value", a->value);
    if (!v) {
      exit_code = fail(v.error().message, 2);
      return;
    }
    const std::uint64_t x = *v;
    const auto fits32 = [&] {
      if (x >> 32 == 0) return true;
      exit_code = fail(fmt::format("{} is a 32-bit register; {:#x} does not fit", a->type, x), 2);
      return false;
    };
    if (a->type == "faultstatus") {
      if (!fits32()) return;
      fmt::print("{}\n", FaultStatus::decode(static_cast<std::uint32_t>(x)).to_string(a->aarch64));
    } else if (a->type == "lockaddr") {
      fmt::print("{}\n", lockaddr_decode(x, lock_region_min_log2(a->arch)).to_string());
    } else if (a->type == "transtab") {
      fmt::print("legacy: {}\naarch64: base={:#x}\n", LegacyTranstab::decode(x).to_string(),
                 transtab_aarch64_base(x));
    } else if (a->type == "transcfg") {
      fmt::print("{}\n", Transcfg::decode(x).to_string());
    } else if (a->type == "memattr") {
      const Memattr m = Memattr::decode(x);
      for (unsigned i = 0; i < 8; ++i) fmt::print("slot {}: {}\n", i, m.slot_description(i));
    } else if (a->type == "gpuid") {
      if (!fits32()) return;
      fmt::print("{}\n", GpuId::decode(static_cast<std::uint32_t>(x)).to_string());
    } else if (a->type == "mmufeatures") {
      if (!fits32()) return;
      fmt::print("{}\n", MmuFeatures::decode(static_cast<std::uint32_t>(x)).to_string());
    } else {
      const PteFormat& f = pte_format(a->format == "aarch64-4k" ? PtFormat::Aarch64_4K : PtFormat::MaliLpae);
      fmt::print("{}\n", describe_descriptor(f, x, a->level));
    }
  });
}

}  // namespace mali_sim::cli
