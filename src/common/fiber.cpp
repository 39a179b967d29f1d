#include "common/fiber.hpp"

#include <ucontext.h>

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define MALI_SIM_ASAN_FIBERS 1
#endif

namespace mali_sim {

namespace {

thread_local Fiber* t_current = nullptr;

// AddressSanitizer keeps a shadow of the current stack: it must hear of every switch, or it
// reports the other stack's frames as overflows.
void start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
#ifdef MALI_SIM_ASAN_FIBERS
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}
void finish_switch(void* fake_stack_save, const void** bottom_old, std::size_t* size_old) {
#ifdef MALI_SIM_ASAN_FIBERS
  __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
#else
  (void)fake_stack_save, (void)bottom_old, (void)size_old;
#endif
}

}  // namespace

struct Fiber::Context {
  ucontext_t fiber{};
  ucontext_t caller{};
  void* fake_fiber = nullptr;   // ASan's fake stack of the fiber while it is switched out
  void* fake_caller = nullptr;  // ... of the caller while the fiber runs
  const void* caller_bottom = nullptr;
  std::size_t caller_size = 0;
};

Fiber::Fiber(std::function<void()> body, std::size_t stack_bytes)
    : body_(std::move(body)),
      ctx_(std::make_unique<Context>()),
      stack_(std::make_unique<char[]>(stack_bytes)),
      stack_bytes_(stack_bytes) {}

Fiber::~Fiber() {
  assert(!running_ && "a fiber cannot destroy itself");
  if (started_ && !finished_) {
    cancel_ = true;
    resume();  // yield() throws Cancelled; the body unwinds and returns
    assert(finished_ && "a fiber body swallowed Fiber::Cancelled and yielded again");
  }
}

Fiber* Fiber::current() noexcept { return t_current; }

void Fiber::entry(unsigned hi, unsigned lo) {
  // makecontext() passes int arguments only: the pointer comes in two halves.
  const std::uintptr_t p = (static_cast<std::uintptr_t>(hi) << 32) | lo;
  auto* self = reinterpret_cast<Fiber*>(p);  // NOLINT(performance-no-int-to-ptr)
  finish_switch(nullptr, &self->ctx_->caller_bottom, &self->ctx_->caller_size);
  self->run_body();
  self->finished_ = true;
  // Leaving for good: ASan may drop this stack's fake frames (nullptr save slot).
  start_switch(nullptr, self->ctx_->caller_bottom, self->ctx_->caller_size);
  setcontext(&self->ctx_->caller);
  std::abort();  // not reached: setcontext does not return
}

void Fiber::run_body() noexcept {
  try {
    if (!cancel_) body_();
  } catch (const Cancelled&) {
    // Destroyed while suspended: the stack has unwound, which is all that was wanted.
  } catch (...) {
    error_ = std::current_exception();
  }
}

void Fiber::resume() {
  assert(!running_ && !finished_ && "resume() of a running or finished fiber");
  if (!started_) {
    started_ = true;
    if (getcontext(&ctx_->fiber) != 0) std::abort();
    ctx_->fiber.uc_stack.ss_sp = stack_.get();
    ctx_->fiber.uc_stack.ss_size = stack_bytes_;
    ctx_->fiber.uc_link = nullptr;  // entry() never returns: it switches back itself
    const auto p = reinterpret_cast<std::uintptr_t>(this);
    makecontext(&ctx_->fiber, reinterpret_cast<void (*)()>(&Fiber::entry), 2, static_cast<unsigned>(p >> 32),
                static_cast<unsigned>(p & 0xffffffffU));
  }
  outer_ = t_current;
  t_current = this;
  running_ = true;
  start_switch(&ctx_->fake_caller, stack_.get(), stack_bytes_);
  if (swapcontext(&ctx_->caller, &ctx_->fiber) != 0) std::abort();
  finish_switch(ctx_->fake_caller, nullptr, nullptr);
  running_ = false;
  t_current = outer_;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void Fiber::yield() {
  assert(running_ && t_current == this && "yield() from outside the fiber");
  start_switch(&ctx_->fake_fiber, ctx_->caller_bottom, ctx_->caller_size);
  if (swapcontext(&ctx_->fiber, &ctx_->caller) != 0) std::abort();
  finish_switch(ctx_->fake_fiber, &ctx_->caller_bottom, &ctx_->caller_size);
  if (cancel_) throw Cancelled{};
}

}  // namespace mali_sim
