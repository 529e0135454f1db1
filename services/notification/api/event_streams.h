#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "libs/core/worker_pool.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/notification/store/pg_event_feed.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::notification {

struct EventStreamOptions {
  // How often each open stream's feed is read for new events.
  absl::Duration poll_interval = absl::Milliseconds(100);
  // Events read ahead of the client per stream, at most: memory per stream is bounded.
  int max_buffered = 64;
  // A stream whose buffer is full and whose pending write the client has not taken for
  // this long is ended with RESOURCE_EXHAUSTED (the client sees it after the event in
  // flight, and resumes with its cursor); if it takes nothing for this long again, the
  // call is cancelled.
  absl::Duration slow_reader_timeout = absl::Seconds(10);
  // Feed entries older than this are deleted (checked every `prune_interval`); a cursor
  // older than the retained feed answers FAILED_PRECONDITION.
  absl::Duration retention = absl::Hours(24 * 7);
  absl::Duration prune_interval = absl::Minutes(10);
};

// The live side of StreamEvents: one thread reads each open stream's tenant feed from
// PostgreSQL (so events ingested by any replica reach every stream, in feed order) and
// hands them to the stream's reactor, one write in flight at a time.
//
//   sundesk_notification_streams                     gauge: StreamEvents calls open now
//   sundesk_notification_stream_slow_readers_total   counter: ended RESOURCE_EXHAUSTED
class EventStreams {
 public:
  EventStreams(PgEventFeed& feed, prometheus::Registry& registry, EventStreamOptions options);
  // Ends every open stream with UNAVAILABLE ("resume with the last cursor").
  ~EventStreams();
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // Where a stream starts: whose feed, and the feed position it follows.
  struct Start {
    std::string tenant_id;
    int64_t after = 0;
  };
  using Resolve = absl::AnyInvocable<absl::StatusOr<Start>() &&>;

  // A reactor streaming the events of `types` from where `resolve` says. `resolve` does
  // the blocking part of opening a stream (the tenant check, the cursor lookup) on
  // `workers`, not on gRPC's callback thread (null `workers`: on the caller's thread); its
  // error ends the call with that status. Nothing is read for the stream before it ran.
  grpc::ServerWriteReactor<events::v1::Event>* Open(grpc::CallbackServerContext* context,
                                                    std::vector<std::string> types,
                                                    WorkerPool* workers, Resolve resolve);

  // Ends every open stream with UNAVAILABLE ("resume with the last cursor") and every
  // stream opened after it at once, so a stopping server's drain is not held by streams
  // (the clients resume on another replica). For ServiceRuntime::BeforeDrain.
  void CloseAll();

  int open_streams() const;
  // Streams ended for a slow reader so far.
  int64_t slow_readers() const { return static_cast<int64_t>(slow_readers_.Value()); }

 private:
  class Reactor;
  struct Stream;
  void Loop();
  void Fill(const std::shared_ptr<Stream>& stream);
  void Remove(const std::shared_ptr<Stream>& stream);

  PgEventFeed& feed_;
  const EventStreamOptions options_;
  prometheus::Gauge& gauge_;
  prometheus::Counter& slow_readers_;
  mutable absl::Mutex mu_;
  std::set<std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;  // CloseAll ran
  std::thread thread_;
};

}  // namespace sundesk::notification
