#include "services/notification/api/event_streams.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/rpc/status.h"

namespace sundesk::notification {

// What the reader thread and the reactor share. The reactor is gone (null) after OnDone.
struct EventStreams::Stream {
  std::vector<std::string> types;
  absl::Mutex mu;
  // Set once, with `fetched`, when the stream's start is resolved; read after `started`.
  std::string tenant_id;
  bool started ABSL_GUARDED_BY(mu) = false;
  int64_t fetched ABSL_GUARDED_BY(mu) = 0;  // feed position read up to
  std::deque<FeedEntry> buffer ABSL_GUARDED_BY(mu);
  bool writing ABSL_GUARDED_BY(mu) = false;
  absl::Time write_started ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  bool finished ABSL_GUARDED_BY(mu) = false;  // Finish called (or about to be)
  absl::Time finished_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  bool cancelled ABSL_GUARDED_BY(mu) = false;  // TryCancel after the grace period
  // The reactor lives until gRPC is done with it (OnDone) and no reader thread holds it.
  Reactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  int in_use ABSL_GUARDED_BY(mu) = 0;
  bool done ABSL_GUARDED_BY(mu) = false;
};

namespace {

// Holds a stream's reactor for the reader thread; null when gRPC is done with it.
template <typename Stream, typename Reactor>
class Hold {
 public:
  explicit Hold(Stream& s) : s_(s) {
    absl::MutexLock lock(&s_.mu);
    if (s_.done || s_.reactor == nullptr) return;
    ++s_.in_use;
    reactor_ = s_.reactor;
  }
  ~Hold() {
    if (reactor_ == nullptr) return;
    Reactor* last = nullptr;
    {
      absl::MutexLock lock(&s_.mu);
      if (--s_.in_use == 0 && s_.done) last = std::exchange(s_.reactor, nullptr);
    }
    delete last;
  }
  Reactor* get() const { return reactor_; }

 private:
  Stream& s_;
  Reactor* reactor_ = nullptr;
};

}  // namespace

class EventStreams::Reactor final : public grpc::ServerWriteReactor<events::v1::Event> {
 public:
  Reactor(EventStreams& owner, std::shared_ptr<Stream> stream, grpc::CallbackServerContext* context)
      : owner_(owner), stream_(std::move(stream)), context_(context) {}

  // For a reader that took neither the last event nor the status within the grace period
  // after End: resets the stream, so it cannot hold the call open.
  void Cancel() { context_->TryCancel(); }

  // Starts the next write if none is in flight. Call without the stream's lock.
  void Pump() {
    {
      absl::MutexLock lock(&stream_->mu);
      if (stream_->finished || stream_->writing || stream_->buffer.empty()) return;
      FeedEntry entry = std::move(stream_->buffer.front());
      stream_->buffer.pop_front();
      if (!current_.ParseFromString(entry.payload)) {
        log::Error("notification: unreadable event in the feed", {{"event_id", entry.event_id}});
        return;
      }
      stream_->writing = true;
      stream_->write_started = absl::Now();
    }
    StartWrite(&current_);
  }

  // Ends the call once; later calls do nothing. The status follows the write in flight
  // (HTTP/2 keeps a stream's frames in order), so a blocked reader sees it when it reads
  // again; what was read ahead is dropped at once.
  void End(grpc::Status status) {
    {
      absl::MutexLock lock(&stream_->mu);
      if (stream_->finished) return;
      stream_->finished = true;
      stream_->finished_at = absl::Now();
      stream_->buffer.clear();
    }
    Finish(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
      return;
    }
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->writing = false;
    }
    Pump();
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    bool last = false;
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->done = true;
      if (stream_->in_use == 0) {
        stream_->reactor = nullptr;
        last = true;
      }
    }
    owner_.Remove(stream_);
    if (last) delete this;  // else the reader thread's Hold deletes it
  }

 private:
  EventStreams& owner_;
  std::shared_ptr<Stream> stream_;
  grpc::CallbackServerContext* context_;
  events::v1::Event current_;  // the write in flight
};

EventStreams::EventStreams(PgEventFeed& feed, prometheus::Registry& registry,
                           EventStreamOptions options)
    : feed_(feed),
      options_(options),
      gauge_(prometheus::BuildGauge()
                 .Name("sundesk_notification_streams")
                 .Help("StreamEvents calls open now.")
                 .Register(registry)
                 .Add({})),
      slow_readers_(prometheus::BuildCounter()
                        .Name("sundesk_notification_stream_slow_readers_total")
                        .Help("StreamEvents calls ended RESOURCE_EXHAUSTED for a slow reader.")
                        .Register(registry)
                        .Add({})) {
  thread_ = std::thread([this] { Loop(); });
}

namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server shutting down; resume with the last event_id as after_cursor");
}

}  // namespace

EventStreams::~EventStreams() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  CloseAll();
  // Reactors remove themselves in OnDone, which gRPC runs before its shutdown returns.
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&drained), absl::Seconds(10));
}

grpc::ServerWriteReactor<events::v1::Event>* EventStreams::Open(
    grpc::CallbackServerContext* context, std::vector<std::string> types, WorkerPool* workers,
    Resolve resolve) {
  auto stream = std::make_shared<Stream>();
  stream->types = std::move(types);
  auto* reactor = new Reactor(*this, stream, context);
  {
    absl::MutexLock lock(&stream->mu);
    stream->reactor = reactor;
  }
  bool closing = false;
  {
    absl::MutexLock lock(&mu_);
    closing = closing_;
    streams_.insert(stream);
    gauge_.Set(static_cast<double>(streams_.size()));
  }
  if (closing) {
    // Opened while the server stops: the client goes to another replica now.
    reactor->End(ShuttingDown());
    return reactor;
  }
  auto start = [stream, resolve = std::move(resolve)]() mutable {
    // Holds the reactor while it runs; a call already gone (cancelled) needs nothing.
    Hold<Stream, Reactor> held(*stream);
    if (held.get() == nullptr) return;
    absl::StatusOr<Start> where = std::move(resolve)();
    if (!where.ok()) {
      held.get()->End(rpc::ToGrpcStatus(where.status()));
      return;
    }
    absl::MutexLock lock(&stream->mu);
    stream->tenant_id = std::move(where->tenant_id);
    stream->fetched = where->after;
    stream->started = true;
  };
  if (workers == nullptr) {
    start();
  } else {
    workers->Schedule(std::move(start));
  }
  return reactor;
}

void EventStreams::CloseAll() {
  std::set<std::shared_ptr<Stream>> open;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    open = streams_;
  }
  for (const auto& s : open) {
    Hold<Stream, Reactor> r(*s);
    if (r.get() != nullptr) r.get()->End(ShuttingDown());
  }
}

int EventStreams::open_streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void EventStreams::Remove(const std::shared_ptr<Stream>& stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
  gauge_.Set(static_cast<double>(streams_.size()));
}

void EventStreams::Fill(const std::shared_ptr<Stream>& s) {
  Hold<Stream, Reactor> reactor(*s);
  if (reactor.get() == nullptr) return;
  int room = 0;
  int64_t after = 0;
  bool too_slow = false;
  {
    absl::MutexLock lock(&s->mu);
    if (!s->started && !s->finished) return;
    if (s->finished) {
      if (!s->cancelled && absl::Now() - s->finished_at > options_.slow_reader_timeout) {
        s->cancelled = true;
        reactor.get()->Cancel();
      }
      return;
    }
    room = options_.max_buffered - static_cast<int>(s->buffer.size());
    after = s->fetched;
    too_slow =
        room <= 0 && s->writing && absl::Now() - s->write_started > options_.slow_reader_timeout;
  }
  if (too_slow) {
    slow_readers_.Increment();
    reactor.get()->End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    "reader too slow: events were not taken in time; resume "
                                    "with the last event_id received as after_cursor"));
    return;
  }
  if (room <= 0) return;
  absl::StatusOr<std::vector<FeedEntry>> entries = feed_.Read(s->tenant_id, after, s->types, room);
  if (!entries.ok()) {
    log::Warn("notification: reading the event feed failed",
              {{"error", entries.status().ToString()}});
    return;
  }
  if (entries->empty()) return;
  {
    absl::MutexLock lock(&s->mu);
    s->fetched = entries->back().position;
    for (FeedEntry& e : *entries) s->buffer.push_back(std::move(e));
  }
  reactor.get()->Pump();
}

void EventStreams::Loop() {
  absl::Time next_prune = absl::Now();
  while (true) {
    std::set<std::shared_ptr<Stream>> open;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      open = streams_;
    }
    for (const auto& s : open) Fill(s);
    if (absl::Now() >= next_prune) {
      next_prune = absl::Now() + options_.prune_interval;
      absl::StatusOr<int64_t> pruned = feed_.DeleteReceivedBefore(absl::Now() - options_.retention);
      if (!pruned.ok()) {
        log::Warn("notification: pruning the event feed failed",
                  {{"error", pruned.status().ToString()}});
      }
    }
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stop), options_.poll_interval);
  }
}

}  // namespace sundesk::notification
