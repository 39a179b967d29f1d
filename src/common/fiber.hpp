// A fiber: a function running on its own stack that can stop half-way (yield) and be continued
// (resume) from the thread's main flow, so that straight-line code (a driver polling a register)
// can wait for simulated time without blocking the scheduler that makes time pass. One OS thread,
// deterministic hand-over, POSIX ucontext underneath, with AddressSanitizer told about every stack
// switch.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>

namespace mali_sim {

class Fiber {
 public:
  static constexpr std::size_t kDefaultStackBytes = std::size_t{512} << 10;

  explicit Fiber(std::function<void()> body, std::size_t stack_bytes = kDefaultStackBytes);
  // A fiber destroyed while suspended is resumed one last time with cancellation requested:
  // yield() then throws Cancelled, so the body's stack unwinds and its destructors run.
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the body until it yields or returns. Must not be called from inside this fiber. An
  // exception the body lets escape is rethrown here.
  void resume();
  // From inside the body: back to resume()'s caller, until the next resume().
  void yield();

  bool started() const noexcept { return started_; }
  bool finished() const noexcept { return finished_; }
  bool running() const noexcept { return running_; }  // the caller is inside the body
  // The fiber the caller runs in, or nullptr on the thread's main flow.
  static Fiber* current() noexcept;

  // Thrown by yield() in a fiber that is being destroyed; the body must let it pass.
  struct Cancelled {};

 private:
  struct Context;
  static void entry(unsigned hi, unsigned lo);
  void run_body() noexcept;
  void switch_in();
  void switch_out();

  std::function<void()> body_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<char[]> stack_;
  std::size_t stack_bytes_ = 0;
  std::exception_ptr error_;
  Fiber* outer_ = nullptr;  // the fiber resume() was called from (nullptr: main flow)
  bool started_ = false;
  bool finished_ = false;
  bool running_ = false;
  bool cancel_ = false;
};

}  // namespace mali_sim
