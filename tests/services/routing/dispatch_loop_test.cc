// DispatchLoop: a full pass at once and then every interval; a routing pass as soon as
// Wake() is called, without waiting for the interval (set to an hour here, so only a wake
// can explain the pass).
#include "services/routing/api/dispatch_loop.h"

#include <atomic>

#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace sundesk::routing {
namespace {

TEST(DispatchLoopTest, AWakeRoutesAtOnceAndTheIntervalRunsFullPasses) {
  std::atomic<int> full{0};
  std::atomic<int> routed{0};
  DispatchLoop loop(
      "dispatch-test", absl::Hours(1), [&] { ++full; }, [&] { ++routed; });
  ASSERT_TRUE(testing::WaitFor([&] { return full.load() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(routed.load(), 0);
  loop.Wake();
  EXPECT_TRUE(testing::WaitFor([&] { return routed.load() == 1; }, absl::Seconds(10)));
  loop.Wake();
  EXPECT_TRUE(testing::WaitFor([&] { return routed.load() == 2; }, absl::Seconds(10)));
  EXPECT_EQ(full.load(), 1);  // the hour has not passed
}

TEST(DispatchLoopTest, FullPassesFollowTheInterval) {
  std::atomic<int> full{0};
  DispatchLoop loop(
      "dispatch-test", absl::Milliseconds(10), [&] { ++full; }, [] {});
  EXPECT_TRUE(testing::WaitFor([&] { return full.load() >= 3; }, absl::Seconds(10)));
}

TEST(DispatchLoopTest, WakesDuringAPassMakeOneMorePass) {
  std::atomic<int> full{0};
  std::atomic<int> routed{0};
  std::atomic<bool> release{false};
  std::atomic<bool> in_pass{false};
  DispatchLoop loop(
      "dispatch-test", absl::Hours(1), [&] { ++full; },
      [&] {
        in_pass = true;
        while (!release.load()) absl::SleepFor(absl::Milliseconds(1));
        ++routed;
      });
  // A wake before the first (full) pass starts is folded into it: wait for it first.
  ASSERT_TRUE(testing::WaitFor([&] { return full.load() == 1; }, absl::Seconds(10)));
  loop.Wake();
  ASSERT_TRUE(testing::WaitFor([&] { return in_pass.load(); }, absl::Seconds(10)));
  for (int i = 0; i < 5; ++i) loop.Wake();  // while the first pass runs
  release = true;
  EXPECT_TRUE(testing::WaitFor([&] { return routed.load() == 2; }, absl::Seconds(10)));
}

}  // namespace
}  // namespace sundesk::routing
