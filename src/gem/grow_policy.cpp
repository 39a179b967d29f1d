#include "mali_sim/gem/grow_policy.hpp"
#include "mali_sim/parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "mali_sim/types.hpp"

namespace mali_sim {

// ---- HeapBacking ------------------------------------------------------------------------------

bool HeapBacking::backed(std::uint64_t page) const noexcept {
  auto it = chunks_.find(page / kChunkPages);
  return it != chunks_.end() && it->second.test(page % kChunkPages);
}

std::uint64_t HeapBacking::backed_prefix() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [chunk, bits] : chunks_) {
    if (chunk * kChunkPages != n) break;  // a hole before this chunk
    if (bits.all()) {
      n += kChunkPages;
      continue;
    }
    std::uint64_t i = 0;
    while (i < kChunkPages && bits.test(i)) ++i;
    return std::min(n + i, size_pages_);
  }
  return std::min(n, size_pages_);
}

void HeapBacking::set(std::uint64_t first, std::uint64_t count, bool value) {
  const std::uint64_t end = first + count;
  for (std::uint64_t c = first / kChunkPages; c * kChunkPages < end; ++c) {
    const std::uint64_t lo = std::max(first, c * kChunkPages) - c * kChunkPages;
    const std::uint64_t hi = std::min(end, (c + 1) * kChunkPages) - c * kChunkPages;
    std::bitset<kChunkPages> range;
    if (hi - lo == kChunkPages) {
      range.set();
    } else {
      for (std::uint64_t i = lo; i < hi; ++i) range.set(i);
    }
    if (value) {
      auto& bits = chunks_[c];
      backed_ += (range & ~bits).count();
      bits |= range;
    } else {
      auto it = chunks_.find(c);
      if (it == chunks_.end()) continue;
      backed_ -= (range & it->second).count();
      it->second &= ~range;
      if (it->second.none()) chunks_.erase(it);
    }
  }
}

void HeapBacking::fill(std::uint64_t first, std::vector<char>& out) const {
  std::fill(out.begin(), out.end(), 0);
  const std::uint64_t end = first + out.size();
  for (auto it = chunks_.lower_bound(first / kChunkPages);
       it != chunks_.end() && it->first * kChunkPages < end; ++it) {
    const std::uint64_t lo = std::max(first, it->first * kChunkPages);
    const std::uint64_t hi = std::min(end, (it->first + 1) * kChunkPages);
    for (std::uint64_t p = lo; p < hi; ++p) out[p - first] = it->second.test(p % kChunkPages) ? 1 : 0;
  }
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> HeapBacking::runs() const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (const auto& [chunk, bits] : chunks_) {
    for (std::uint64_t i = 0; i < kChunkPages; ++i) {
      if (!bits.test(i)) continue;
      const std::uint64_t page = chunk * kChunkPages + i;
      if (!out.empty() && out.back().first + out.back().second == page) {
        ++out.back().second;
      } else {
        out.emplace_back(page, 1);
      }
    }
  }
  return out;
}

// ---- Policies ---------------------------------------------------------------------------------

namespace {

class Panfrost2M final : public GrowPolicy {
 public:
  std::string name() const override { return "panfrost-2m"; }
  GrowDecision decide(const HeapBacking& heap, std::uint64_t fault_page) const override {
    const std::uint64_t first = align_down(fault_page, HeapBacking::kChunkPages);
    // panfrost looks at the chunk's first page: present means another fault already grew it.
    if (heap.backed(first)) return {};
    return {first, std::min(HeapBacking::kChunkPages, heap.size_pages() - first)};
  }
};

class AlignedPages final : public GrowPolicy {
 public:
  explicit AlignedPages(std::uint64_t n) : n_(n) {}
  std::string name() const override { return fmt::format("pages:{}", n_); }
  GrowDecision decide(const HeapBacking& heap, std::uint64_t fault_page) const override {
    if (heap.backed(fault_page)) return {};
    const std::uint64_t first = fault_page / n_ * n_;
    return {first, std::min(n_, heap.size_pages() - first)};
  }

 private:
  std::uint64_t n_;
};

class KbaseExtension final : public GrowPolicy {
 public:
  explicit KbaseExtension(std::uint64_t n) : n_(n) {}
  std::string name() const override { return fmt::format("kbase-extension:{}", n_); }
  GrowDecision decide(const HeapBacking& heap, std::uint64_t fault_page) const override {
    const std::uint64_t backed = heap.backed_prefix();
    if (fault_page < backed) return {};  // duplicate: below the backed size
    const std::uint64_t needed = fault_page - backed + 1;
    const std::uint64_t grow = (needed + n_ - 1) / n_ * n_;
    return {backed, std::min(grow, heap.size_pages() - backed)};
  }

 private:
  std::uint64_t n_;
};

Result<std::uint64_t> parse_count(std::string_view spec, std::string_view arg) {
  std::uint64_t n = 0;
  if (parse_u64(arg, n) != ParseError::kNone || n == 0 || n > (1ULL << 36))
    return make_error(Errc::kInvalidArgument,
                      fmt::format("grow policy '{}': '{}' is not a page count in [1, 2^36]", spec, arg));
  return n;
}

}  // namespace

Result<std::unique_ptr<GrowPolicy>> make_grow_policy(std::string_view spec) {
  if (spec == "panfrost-2m") return std::unique_ptr<GrowPolicy>(std::make_unique<Panfrost2M>());
  for (std::string_view prefix : {std::string_view("pages:"), std::string_view("kbase-extension:")}) {
    if (spec.substr(0, prefix.size()) != prefix) continue;
    auto n = parse_count(spec, spec.substr(prefix.size()));
    if (!n) return n.error();
    if (prefix == "pages:") return std::unique_ptr<GrowPolicy>(std::make_unique<AlignedPages>(*n));
    return std::unique_ptr<GrowPolicy>(std::make_unique<KbaseExtension>(*n));
  }
  return make_error(
      Errc::kInvalidArgument,
      fmt::format("unknown grow policy '{}' (known: panfrost-2m, pages:N, kbase-extension:N)", spec));
}

std::vector<std::string> grow_policy_names() { return {"panfrost-2m", "pages:N", "kbase-extension:N"}; }

}  // namespace mali_sim
