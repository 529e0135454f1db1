// The built notification-server (see notification_processes.h), SIGKILLed while it
// delivers: after a restart every subscribed event reaches the webhook (a de-duplicating
// sink counts them by Sundesk-Event-Id), none is missing, and the delivery log holds
// exactly one delivery per event.
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/services/notification/notification_processes.h"

namespace sundesk::notification {
namespace {

TEST_F(NotificationProcessesTest, KilledMidRunMissesNothingAndLogsEachEventOnce) {
  // Each event is answered slowly, so a kill lands with deliveries in flight.
  auto sink = HttpSink::Start([](const testing::HttpSinkRequest&) {
    return testing::HttpSinkResponse{.status = 200, .delay = absl::Milliseconds(20)};
  });
  ASSERT_TRUE(sink.ok());
  StartServer();
  pb::Subscription sub;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        pb::CreateSubscriptionRequest r;
        r.set_request_id("crash-test");
        r.set_tenant_id(tenant_);
        r.mutable_webhook()->set_url((*sink)->Url("/hook"));
        r.mutable_webhook()->set_secret("crash-test-secret-0123");
        return stub_->CreateSubscription(Ctx().get(), r, &sub).ok();
      },
      absl::Seconds(60)))
      << server_->Log();
  // A tenant the ticket service does not know is NOT_FOUND (asked there, not guessed).
  {
    pb::ListSubscriptionsRequest unknown;
    unknown.set_tenant_id("0190a000-0000-7000-8000-0000000000dd");
    pb::ListSubscriptionsResponse page;
    grpc::Status st = stub_->ListSubscriptions(Ctx().get(), unknown, &page);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  }

  std::vector<std::string> published;
  Publish(150, published);
  ASSERT_TRUE((*sink)->WaitForRequests(20, absl::Seconds(60))) << server_->Log();
  server_->Signal(SIGKILL);
  ASSERT_TRUE(server_->Wait(absl::Seconds(10)).ok());
  Publish(50, published);  // while it is down
  StartServer();

  auto distinct = [&] {
    std::set<std::string> ids;
    for (const auto& r : (*sink)->Requests()) ids.insert(r.headers.at("sundesk-event-id"));
    return ids;
  };
  const std::set<std::string> want(published.begin(), published.end());
  EXPECT_TRUE(testing::WaitFor([&] { return distinct() == want; }, absl::Seconds(90)))
      << "sink has " << distinct().size() << " of " << want.size() << "\n"
      << server_->Log();
  EXPECT_EQ(distinct(), want);  // nothing missing, nothing else

  // The delivery log: one delivery per event, all delivered.
  pb::ListDeliveriesRequest list;
  list.set_subscription_id(sub.subscription_id());
  list.set_page_size(500);
  pb::ListDeliveriesResponse out;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        out.Clear();
        if (!stub_->ListDeliveries(Ctx().get(), list, &out).ok()) return false;
        for (const auto& d : out.deliveries()) {
          if (d.state() != pb::DELIVERY_STATE_DELIVERED) return false;
        }
        return true;
      },
      absl::Seconds(30)));
  std::set<std::string> logged;
  for (const auto& d : out.deliveries()) logged.insert(d.event_id());
  EXPECT_EQ(out.deliveries_size(), static_cast<int>(want.size()));
  EXPECT_EQ(logged, want);

  // The binary serves the live feed too: from the first event on, the tenant's others.
  auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = kAdminKey});
  pb::StreamEventsRequest stream_request;
  stream_request.set_tenant_id(tenant_);
  stream_request.set_after_cursor(out.deliveries(out.deliveries_size() - 1).event_id());
  auto stream = stub_->StreamEvents(ctx.get(), stream_request);
  events::v1::Event e;
  ASSERT_TRUE(stream->Read(&e)) << stream->Finish().error_message();
  EXPECT_TRUE(want.contains(e.event_id()));
  ctx->TryCancel();
}

}  // namespace
}  // namespace sundesk::notification
