// The graceful stop of the built notification-server (see notification_processes.h): on
// SIGTERM an open StreamEvents call ends at once with UNAVAILABLE, so its client resumes
// from its cursor on another replica, and the process exits without waiting out its drain.
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/notification/notification_processes.h"

namespace sundesk::notification {
namespace {

TEST_F(NotificationProcessesTest, SigtermEndsOpenStreamsSoClientsResumeElsewhere) {
  // A drain long enough that a stream still open would hold the stop for two minutes.
  StartServer("120s");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        pb::ListSubscriptionsRequest r;
        r.set_tenant_id(tenant_);
        pb::ListSubscriptionsResponse page;
        return stub_->ListSubscriptions(Ctx().get(), r, &page).ok();
      },
      absl::Seconds(60)))
      << server_->Log();

  // The stream starts "from now on" once the server has resolved it; events are published
  // until one arrives, so it is open and streaming when the signal comes.
  auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(100), .api_key = kAdminKey});
  pb::StreamEventsRequest request;
  request.set_tenant_id(tenant_);
  auto stream = stub_->StreamEvents(ctx.get(), request);
  absl::Notification received;
  std::vector<std::string> published;
  std::thread publisher([&] {
    while (!received.WaitForNotificationWithTimeout(absl::Milliseconds(300))) {
      Publish(1, published);
    }
  });
  events::v1::Event e;
  const bool read = stream->Read(&e);
  received.Notify();
  publisher.join();
  ASSERT_TRUE(read) << stream->Finish().error_message() << "\n" << server_->Log();
  EXPECT_THAT(published, ::testing::Contains(e.event_id()));

  server_->Signal(SIGTERM);
  while (stream->Read(&e)) {
  }
  const grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("resume with the last event_id"))
      << "ended by the before-drain hook, not cut off when the drain ran out";
  // Well inside the 120 s drain: nothing holds it.
  absl::StatusOr<int> code = server_->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status() << "\n" << server_->Log();
  EXPECT_EQ(*code, 0) << server_->Log();
}

}  // namespace
}  // namespace sundesk::notification
