#include "services/routing/store/pg_offer_wakeups.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/log.h"

namespace sundesk::routing {
namespace {

// PostgreSQL's limit on a payload is 8000 bytes; agents beyond go in another notification.
constexpr size_t kMaxPayload = 7000;

// Unique enough among the replicas of one database: host id, process id, start time.
std::string NewOrigin() {
  return absl::StrCat(gethostid(), "-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgOfferWakeups>> PgOfferWakeups::Create(
    pg::Pool& pool, OfferListener& local, PgOfferWakeupsOptions options) {
  auto listener = pg::Listener::Create({.dsn = options.dsn, .channels = {kOfferChannel}});
  if (!listener.ok()) return listener.status();
  return std::unique_ptr<PgOfferWakeups>(
      new PgOfferWakeups(pool, local, std::move(options), std::move(*listener)));
}

PgOfferWakeups::PgOfferWakeups(pg::Pool& pool, OfferListener& local, PgOfferWakeupsOptions options,
                               std::unique_ptr<pg::Listener> listener)
    : pool_(pool),
      local_(local),
      options_(std::move(options)),
      origin_(NewOrigin()),
      listener_(std::move(listener)) {
  announcer_ = std::thread([this] { Announce(); });
  listening_ = std::thread([this] { Listen(); });
}

PgOfferWakeups::~PgOfferWakeups() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  announcer_.join();
  listening_.join();
}

void PgOfferWakeups::OffersChanged(const std::string& agent_id) {
  local_.OffersChanged(agent_id);
  absl::MutexLock lock(&mu_);
  queued_.push_back(agent_id);
}

void PgOfferWakeups::Announce() {
  for (;;) {
    std::vector<std::string> agents;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queued_.empty() || stopping_; };
      mu_.Await(absl::Condition(&wake));
      if (stopping_) return;
      agents.swap(queued_);
    }
    std::sort(agents.begin(), agents.end());
    agents.erase(std::unique(agents.begin(), agents.end()), agents.end());
    std::vector<std::string> payloads;
    std::string payload = origin_;
    for (const std::string& agent : agents) {
      if (payload.size() + agent.size() + 1 > kMaxPayload) {
        payloads.push_back(std::move(payload));
        payload = origin_;
      }
      absl::StrAppend(&payload, "\n", agent);
    }
    payloads.push_back(std::move(payload));
    absl::Status st = [&]() -> absl::Status {
      auto conn = pool_.Acquire(absl::Now() + absl::Seconds(1));
      if (!conn.ok()) return conn.status();
      for (const std::string& p : payloads) {
        absl::Status sent =
            (*conn)->Execute("SELECT pg_notify($1, $2)", {std::string(kOfferChannel), p}).status();
        if (!sent.ok()) return sent;
      }
      return absl::OkStatus();
    }();
    if (!st.ok()) log::Debug("offer wake-up not announced", {{"error", st.ToString()}});
    absl::SleepFor(options_.min_interval);  // coalesces the changes of this interval
  }
}

void PgOfferWakeups::Listen() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    absl::StatusOr<pg::Wakeup> woken = listener_->Wait(absl::Milliseconds(200));
    if (!woken.ok()) {
      log::Debug("offer wake-ups not received", {{"error", woken.status().ToString()}});
      continue;
    }
    for (const pg::Notification& n : woken->notifications) {
      std::vector<absl::string_view> lines = absl::StrSplit(n.payload, '\n');
      if (lines.empty() || lines[0] == origin_) continue;  // told locally already
      for (size_t i = 1; i < lines.size(); ++i) {
        if (!lines[i].empty()) local_.OffersChanged(std::string(lines[i]));
      }
    }
  }
}

}  // namespace sundesk::routing
