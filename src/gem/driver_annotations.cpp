// The reference driver's annotations for a checker (annotations.hpp, as kernel code annotates for
// kmemleak): page tables are followed from creation, and every context and BO teardown is checked
// for leaks. The driver knows the checker only through that interface.
#include <fmt/format.h>

#include "mali_sim/annotations.hpp"
#include "mali_sim/gem/driver.hpp"

namespace mali_sim {

void Driver::set_annotations(DriverAnnotations* checker) {
  checker_ = checker;
  if (checker_ == nullptr) return;
  checker_->add_counter("shmem pages", [this] { return shmem_.info().shmem; });
  checker_->add_counter("unevictable pages", [this] { return shmem_.info().unevictable; });
  for (auto& [id, ctx] : contexts_) {
    track_context(*ctx);
    watch_page_table(*ctx);
    for (auto& [bid, b] : ctx->bos) track_bo(*ctx, *b);
  }
}

void Driver::track_context(Context& ctx) {
  if (checker_ == nullptr) return;
  AnnotatedObject o;
  o.name = fmt::format("context {}", ctx.id);
  ctx.check_id = checker_->object_created(std::move(o));
}

void Driver::watch_page_table(const Context& ctx) {
  if (checker_ != nullptr) checker_->watch_page_table(ctx.pt->pgd(), cfg_.format);
}

void Driver::track_bo(Context& ctx, Bo& b) {
  if (checker_ == nullptr) return;
  AnnotatedObject o;
  o.name = fmt::format("context {} BO {}{}", ctx.id, b.id, b.is_heap() ? " (heap)" : "");
  o.pgtable_root = ctx.pt->pgd();
  o.va = b.node.start;
  o.size = b.size;
  o.grows_on_fault = b.is_heap();
  b.check_id = checker_->object_created(std::move(o));
}

void Driver::untrack(std::uint64_t& check_id) {
  if (checker_ != nullptr && check_id != 0) checker_->object_destroyed(check_id);
  check_id = 0;
}

}  // namespace mali_sim
