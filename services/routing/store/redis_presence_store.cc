#include "services/routing/store/redis_presence_store.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

// KEYS: presence. ARGV: status, now_ms, ttl_ms (0: no expiry). Keeps since_ms when the
// status is unchanged. Returns the previous status (0 when none).
constexpr char kSetStatusLua[] = R"lua(
local previous = tonumber(redis.call('HGET', KEYS[1], 'status') or '0')
if previous ~= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'since_ms', ARGV[2])
end
if tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('PERSIST', KEYS[1])
end
return previous
)lua";

// KEYS: load set, ticket owner, last assignment, loads-ready marker[, presence]. ARGV:
// ticket, agent, capacity, now_ms[, the AVAILABLE status]. 2 = claimed, 1 = already held by
// this agent, 0 = at capacity, -1 = held by another, -2 = loads unknown (the marker is gone:
// Redis lost its data), -3 = (with the presence key) the agent is not AVAILABLE.
constexpr char kClaimLua[] = R"lua(
if redis.call('EXISTS', KEYS[4]) == 0 then return -2 end
local owner = redis.call('GET', KEYS[2])
if owner then
  if owner == ARGV[2] then return 1 end
  return -1
end
if #KEYS >= 5 and redis.call('HGET', KEYS[5], 'status') ~= ARGV[5] then return -3 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[4])
return 2
)lua";

// KEYS: load set, ticket owner. ARGV: ticket, agent. Returns 1 when the agent held it.
constexpr char kReleaseLua[] = R"lua(
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return redis.call('SREM', KEYS[1], ARGV[1])
)lua";

// KEYS: load set 1, ticket owner 1, load set 2, ... ARGV: ticket 1, agent 1, ticket 2, ...
// Each agent holds its ticket regardless of capacity; the ticket's owner becomes the agent.
constexpr char kAddHoldingsLua[] = R"lua(
for i = 1, #ARGV, 2 do
  redis.call('SADD', KEYS[i], ARGV[i])
  redis.call('SET', KEYS[i + 1], ARGV[i + 1])
end
return 0
)lua";

// Same keys and arguments: each agent no longer holds its ticket (as kReleaseLua).
constexpr char kRemoveHoldingsLua[] = R"lua(
for i = 1, #ARGV, 2 do
  if redis.call('GET', KEYS[i + 1]) == ARGV[i + 1] then redis.call('DEL', KEYS[i + 1]) end
  redis.call('SREM', KEYS[i], ARGV[i])
end
return 0
)lua";

// Holdings per script call (two keys and two arguments each).
constexpr size_t kHoldingsBatch = 500;

std::string Millis(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }

absl::Status Unexpected(const redis::Reply& reply, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("redis: unexpected reply to ", what, ": ", reply.DebugString()));
}

}  // namespace

RedisPresenceStore::RedisPresenceStore(redis::Pool& pool, std::string prefix)
    : pool_(pool),
      prefix_(std::move(prefix)),
      set_status_(kSetStatusLua),
      claim_(kClaimLua),
      release_(kReleaseLua),
      add_holdings_(kAddHoldingsLua),
      remove_holdings_(kRemoveHoldingsLua) {}

std::string RedisPresenceStore::PresenceKey(absl::string_view agent_id) const {
  return absl::StrCat(prefix_, "presence:", agent_id);
}
std::string RedisPresenceStore::LoadKey(absl::string_view agent_id) const {
  return absl::StrCat(prefix_, "load:", agent_id);
}
std::string RedisPresenceStore::LastKey(absl::string_view agent_id) const {
  return absl::StrCat(prefix_, "last:", agent_id);
}
std::string RedisPresenceStore::TicketKey(absl::string_view ticket_id) const {
  return absl::StrCat(prefix_, "ticket:", ticket_id);
}
std::string RedisPresenceStore::ReadyKey() const { return absl::StrCat(prefix_, "loads-ready"); }

absl::StatusOr<PresenceStatus> RedisPresenceStore::SetStatus(absl::string_view agent_id,
                                                             PresenceStatus status, absl::Time now,
                                                             absl::Duration ttl) {
  // OFFLINE never lapses (it is what lapsing leads to anyway).
  const int64_t ttl_ms = status == PresenceStatus::kOffline ? 0 : absl::ToInt64Milliseconds(ttl);
  SUNDESK_ASSIGN_OR_RETURN(redis::Reply r,
                           set_status_.Run(pool_, {PresenceKey(agent_id)},
                                           {absl::StrCat(static_cast<int>(status)), Millis(now),
                                            absl::StrCat(ttl_ms > 0 ? ttl_ms : 0)}));
  if (r.type != redis::ReplyType::kInteger) return Unexpected(r, "SetStatus");
  return r.integer == 0 ? PresenceStatus::kOffline : static_cast<PresenceStatus>(r.integer);
}

absl::StatusOr<bool> RedisPresenceStore::Refresh(absl::string_view agent_id, absl::Duration ttl) {
  SUNDESK_ASSIGN_OR_RETURN(redis::Reply r,
                           pool_.Command({"PEXPIRE", PresenceKey(agent_id),
                                          absl::StrCat(absl::ToInt64Milliseconds(ttl))}));
  return r.type == redis::ReplyType::kInteger && r.integer == 1;
}

absl::StatusOr<PresenceRecord> RedisPresenceStore::Get(absl::string_view agent_id) {
  const std::string id(agent_id);
  SUNDESK_ASSIGN_OR_RETURN(std::vector<PresenceRecord> records, GetMany({&id, 1}));
  return records[0];
}

absl::StatusOr<std::vector<PresenceRecord>> RedisPresenceStore::GetMany(
    absl::Span<const std::string> agent_ids) {
  std::vector<PresenceRecord> records;
  if (agent_ids.empty()) return records;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(3 * agent_ids.size());
  for (const std::string& id : agent_ids) {
    commands.push_back({"HMGET", PresenceKey(id), "status", "since_ms"});
    commands.push_back({"SCARD", LoadKey(id)});
    commands.push_back({"GET", LastKey(id)});
  }
  SUNDESK_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  if (replies.size() != commands.size()) {
    return absl::InternalError("redis: a pipeline answered fewer replies than commands");
  }
  for (const redis::Reply& r : replies) {
    if (r.is_error()) return redis::ErrorReplyStatus(r.str);
  }
  records.reserve(agent_ids.size());
  for (size_t i = 0; i < agent_ids.size(); ++i) {
    PresenceRecord record;
    const redis::Reply& presence = replies[3 * i];
    if (presence.type == redis::ReplyType::kArray && presence.elements.size() == 2 &&
        !presence.elements[0].is_nil()) {
      int status = 0;
      int64_t since = 0;
      if (absl::SimpleAtoi(presence.elements[0].str, &status) && status >= 1 && status <= 4) {
        record.status = static_cast<PresenceStatus>(status);
      }
      if (absl::SimpleAtoi(presence.elements[1].str, &since)) {
        record.update_time = absl::FromUnixMillis(since);
      }
    }
    record.active_tickets = static_cast<int>(replies[3 * i + 1].integer);
    int64_t last = 0;
    const redis::Reply& last_reply = replies[3 * i + 2];
    if (!last_reply.is_nil() && absl::SimpleAtoi(last_reply.str, &last)) {
      record.last_assignment_time = absl::FromUnixMillis(last);
    }
    records.push_back(record);
  }
  return records;
}

absl::StatusOr<ClaimOutcome> RedisPresenceStore::Claim(absl::string_view agent_id,
                                                       absl::string_view ticket_id, int capacity,
                                                       absl::Time now) {
  return RunClaim(agent_id, ticket_id, capacity, now, /*if_available=*/false);
}

absl::StatusOr<ClaimOutcome> RedisPresenceStore::ClaimIfAvailable(absl::string_view agent_id,
                                                                  absl::string_view ticket_id,
                                                                  int capacity, absl::Time now) {
  return RunClaim(agent_id, ticket_id, capacity, now, /*if_available=*/true);
}

absl::StatusOr<ClaimOutcome> RedisPresenceStore::RunClaim(absl::string_view agent_id,
                                                          absl::string_view ticket_id, int capacity,
                                                          absl::Time now, bool if_available) {
  std::vector<std::string> keys = {LoadKey(agent_id), TicketKey(ticket_id), LastKey(agent_id),
                                   ReadyKey()};
  std::vector<std::string> args = {std::string(ticket_id), std::string(agent_id),
                                   absl::StrCat(capacity), Millis(now)};
  if (if_available) {
    keys.push_back(PresenceKey(agent_id));
    args.push_back(absl::StrCat(static_cast<int>(PresenceStatus::kAvailable)));
  }
  SUNDESK_ASSIGN_OR_RETURN(redis::Reply r, claim_.Run(pool_, keys, args));
  if (r.type != redis::ReplyType::kInteger) return Unexpected(r, "Claim");
  switch (r.integer) {
    case -3:
      return ClaimOutcome::kNotAvailable;
    case 2:
      return ClaimOutcome::kClaimed;
    case 1:
      return ClaimOutcome::kAlreadyHeld;
    case 0:
      return ClaimOutcome::kAtCapacity;
    case -1:
      return ClaimOutcome::kHeldByOther;
    case -2:
      return absl::UnavailableError(
          "redis: agents' loads are not known (Redis lost its data); claims wait for their "
          "rebuild");
  }
  return Unexpected(r, "Claim");
}

absl::StatusOr<bool> RedisPresenceStore::Release(absl::string_view agent_id,
                                                 absl::string_view ticket_id) {
  SUNDESK_ASSIGN_OR_RETURN(redis::Reply r,
                           release_.Run(pool_, {LoadKey(agent_id), TicketKey(ticket_id)},
                                        {std::string(ticket_id), std::string(agent_id)}));
  if (r.type != redis::ReplyType::kInteger) return Unexpected(r, "Release");
  return r.integer == 1;
}

absl::StatusOr<std::string> RedisPresenceStore::Holder(absl::string_view ticket_id) {
  SUNDESK_ASSIGN_OR_RETURN(redis::Reply r, pool_.Command({"GET", TicketKey(ticket_id)}));
  if (r.is_error()) return redis::ErrorReplyStatus(r.str);
  return r.is_nil() ? std::string() : r.str;
}

absl::Status RedisPresenceStore::RunHoldings(const redis::Script& script,
                                             const std::vector<Holding>& holdings,
                                             absl::string_view what) {
  for (size_t start = 0; start < holdings.size(); start += kHoldingsBatch) {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    for (size_t i = start; i < holdings.size() && i < start + kHoldingsBatch; ++i) {
      keys.push_back(LoadKey(holdings[i].agent_id));
      keys.push_back(TicketKey(holdings[i].ticket_id));
      args.push_back(holdings[i].ticket_id);
      args.push_back(holdings[i].agent_id);
    }
    SUNDESK_ASSIGN_OR_RETURN(redis::Reply r, script.Run(pool_, keys, args));
    if (r.type != redis::ReplyType::kInteger) return Unexpected(r, what);
  }
  return absl::OkStatus();
}

absl::Status RedisPresenceStore::AddHoldings(const std::vector<Holding>& holdings) {
  return RunHoldings(add_holdings_, holdings, "AddHoldings");
}

absl::Status RedisPresenceStore::RemoveHoldings(const std::vector<Holding>& holdings) {
  return RunHoldings(remove_holdings_, holdings, "RemoveHoldings");
}

absl::StatusOr<bool> RedisPresenceStore::LoadsReady() {
  SUNDESK_ASSIGN_OR_RETURN(redis::Reply r, pool_.Command({"EXISTS", ReadyKey()}));
  if (r.type != redis::ReplyType::kInteger) return Unexpected(r, "EXISTS");
  return r.integer == 1;
}

absl::StatusOr<bool> RedisPresenceStore::LockLoadRebuild(absl::Duration ttl) {
  SUNDESK_ASSIGN_OR_RETURN(
      redis::Reply r, pool_.Command({"SET", absl::StrCat(prefix_, "loads-rebuild"), "1", "NX", "PX",
                                     absl::StrCat(absl::ToInt64Milliseconds(ttl))}));
  if (r.is_error()) return redis::ErrorReplyStatus(r.str);
  return !r.is_nil();
}

absl::Status RedisPresenceStore::MarkLoadsReady() {
  const std::vector<std::vector<std::string>> commands = {
      {"SET", ReadyKey(), "1"}, {"DEL", absl::StrCat(prefix_, "loads-rebuild")}};
  SUNDESK_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, pool_.Pipeline(commands));
  for (const redis::Reply& r : replies) {
    if (r.is_error()) return redis::ErrorReplyStatus(r.str);
  }
  return absl::OkStatus();
}

}  // namespace sundesk::routing
