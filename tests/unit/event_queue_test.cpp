// EventQueue storage: actions live in slots (inline up to kInlineBytes, on the heap beyond), so
// what matters is that each is run once, in order, and destroyed exactly once whatever happens.
#include "mali_sim/event_queue.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mali_sim {
namespace {

TEST(EventQueueSlots, SmallAndLargeActionsRunInOrderAndAreDestroyedOnce) {
  auto token = std::make_shared<int>(0);
  {
    EventQueue q;
    std::vector<int> order;
    std::array<std::uint64_t, 64> big{};  // 512 bytes: more than a slot holds
    big[63] = 7;
    q.schedule(5, [&order, token, big] { order.push_back(static_cast<int>(big[63])); });
    q.schedule(5, [&order, token] { order.push_back(1); });
    q.schedule(2, std::function<void()>([&order, token] { order.push_back(0); }));
    EXPECT_EQ(token.use_count(), 4);
    q.run_until(10);
    EXPECT_EQ(order, std::vector<int>({0, 7, 1}));
    EXPECT_EQ(token.use_count(), 1) << "each action is destroyed after it ran";
    // Left pending: destroyed with the queue.
    q.schedule(20, [token] {});
    q.schedule(30, [token, big] {});
    EXPECT_EQ(token.use_count(), 3);
  }
  EXPECT_EQ(token.use_count(), 1);
}

TEST(EventQueueSlots, AnActionMaySchedulePastTheSlotsThereAreWhileItRuns) {
  // 1000 events scheduled from inside one action: the slot pool grows under the running action,
  // whose captured state must survive it.
  EventQueue q;
  std::vector<int> ran;
  const std::vector<int> payload = {1, 2, 3};
  q.schedule(1, [&q, &ran, payload] {
    for (int i = 0; i < 1000; ++i) q.schedule_in(1 + i % 3, [&ran, i] { ran.push_back(i); });
    ran.push_back(-static_cast<int>(payload.size()));
  });
  EXPECT_TRUE(q.run_until_idle());
  ASSERT_EQ(ran.size(), 1001U);
  EXPECT_EQ(ran[0], -3);
  // Same cycle: scheduling order. Cycle 2 gets i % 3 == 0, then cycle 3, then cycle 4.
  EXPECT_EQ(ran[1], 0);
  EXPECT_EQ(ran[2], 3);
  EXPECT_EQ(ran[335], 1);
  EXPECT_EQ(q.executed(), 1001U);
}

TEST(EventQueueSlots, AThrowingActionIsDestroyedAndTheQueueGoesOn) {
  auto token = std::make_shared<int>(0);
  EventQueue q;
  int after = 0;
  q.schedule(1, [token] { throw std::runtime_error("boom"); });
  q.schedule(2, [&after] { ++after; });
  EXPECT_THROW(q.step(), std::runtime_error);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(q.now(), 1U);
  EXPECT_EQ(q.pending(), 1U);
  EXPECT_TRUE(q.run_until_idle());
  EXPECT_EQ(after, 1);
}

TEST(EventQueueSlots, AdvanceToMovesTheClockForwardOnly) {
  EventQueue q;
  q.advance_to(50);
  EXPECT_EQ(q.now(), 50U);
  q.advance_to(10);
  EXPECT_EQ(q.now(), 50U);
  int ran = 0;
  q.schedule_in(5, [&ran] { ++ran; });
  EXPECT_EQ(q.next_time(), 55U);
  q.run_until(54);
  EXPECT_EQ(ran, 0);
  q.run_until(55);
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace mali_sim
