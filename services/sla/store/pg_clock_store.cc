#include "services/sla/store/pg_clock_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/text_array.h"
#include "libs/pg/transaction.h"
#include "services/sla/store/migrations.h"
#include "services/sla/store/pg_settings_store.h"
#include "services/sla/store/sla_events.h"
#include "services/sla/store/sla_proto.h"

namespace sundesk::sla {
namespace {

constexpr absl::string_view kTicketColumns =
    "ticket_id, tenant_id, created, last_sequence, create_time, priority, channel, status, "
    "policy_id, calendar_id, warn_at_percent, assignee_id, replanned_through, tags, "
    "agent_replied, clocks, timer_due, ledger_sequence, ledger_hash, ctid";
// Their positions in a result of SELECT kTicketColumns (read by index: no name lookups per
// row and column).
enum TicketColumn : int {
  kTicketId,
  kTenantId,
  kCreated,
  kLastSequence,
  kCreateTime,
  kPriority,
  kChannel,
  kStatus,
  kPolicyId,
  kCalendarId,
  kWarnAtPercent,
  kAssigneeId,
  kReplannedThrough,
  kTags,
  kAgentReplied,
  kClocks,
  kTimerDue,
  kLedgerSequence,
  kLedgerHash,
  // The row version's address: a batch holds its tickets' rows locked from the read to its
  // commit, so nobody moves them, and its updates find them by it (a TID scan) instead of
  // descending the ticket_id index a second time.
  kCtid,
};

std::optional<absl::Time> Finite(absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) return std::nullopt;
  return t;
}

absl::StatusOr<absl::Time> TimeOr(const pg::Result& r, int row, int column, absl::Time if_null) {
  if (r.IsNull(row, column)) return if_null;
  return r.Time(row, column);
}

absl::StatusOr<int> IntColumn(const pg::Result& r, int row, int column) {
  SUNDESK_ASSIGN_OR_RETURN(int64_t v, r.Int64(row, column));
  return static_cast<int>(v);
}

// ticket_slas.clocks (migration 8): kClockFields numbers per clock, in metric order.
constexpr size_t kClockFields = 10;
constexpr int64_t kCounting = 1, kWarned = 2, kBreached = 4, kMet = 8, kCanceled = 16;

// Instants as microseconds since the epoch (timestamptz's precision, truncated as
// pg::Param's timestamptz text is); the infinities as the int64 extremes.
int64_t Micros(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  return absl::ToUnixMicros(t);
}
absl::Time FromMicros(int64_t v) {
  if (v == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  if (v == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  return absl::FromUnixMicros(v);
}

// Calls `add` with each number of `clocks` as ticket_slas.clocks stores them, in order
// (nullopt for a NULL element: no stop time, an infinite deadline or warning).
template <typename Add>
void ForEachClockNumber(const std::vector<SlaClock>& clocks, Add add) {
  std::vector<const SlaClock*> sorted;
  for (const SlaClock& c : clocks) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(),
            [](const SlaClock* a, const SlaClock* b) { return a->metric < b->metric; });
  auto finite = [](absl::Time t) -> std::optional<int64_t> {
    if (t == absl::InfiniteFuture()) return std::nullopt;
    return Micros(t);
  };
  for (const SlaClock* c : sorted) {
    add(static_cast<int64_t>(c->metric));
    add(c->cycle);
    add(absl::ToInt64Nanoseconds(c->target));
    add(absl::ToInt64Nanoseconds(c->elapsed));
    add(Micros(c->counted_until));
    add((c->counting ? kCounting : 0) | (c->warned ? kWarned : 0) | (c->breached ? kBreached : 0) |
        (c->met ? kMet : 0) | (c->canceled ? kCanceled : 0));
    add(Micros(c->start_time));
    add(c->stop_time.has_value() ? std::optional<int64_t>(Micros(*c->stop_time)) : std::nullopt);
    add(finite(c->deadline));
    add(finite(c->warn_time));
  }
}

// Many tickets' clocks in one bigint[] without NULLs (kNoNumber in their place), each
// ticket's a slice [first, last] of it: one flat array for the server to parse, whose slices
// it finds without walking a NULL bitmap. Stored as array_replace(slice, kNoNumber, NULL).
constexpr int64_t kNoNumber = std::numeric_limits<int64_t>::min() + 1;  // no instant or duration
class FlatClocks {
 public:
  // Appends `clocks`; returns its slice's bounds (1-based; empty when first > last).
  std::pair<int32_t, int32_t> Add(const std::vector<SlaClock>& clocks) {
    const auto first = static_cast<int32_t>(numbers_.size() + 1);
    ForEachClockNumber(
        clocks, [&](std::optional<int64_t> v) { numbers_.push_back(v.value_or(kNoNumber)); });
    return {first, static_cast<int32_t>(numbers_.size())};
  }
  // A binary bigint[] (no array text for the server to parse).
  pg::Param Take() { return pg::Param::Int64Array(numbers_); }

 private:
  std::vector<int64_t> numbers_;
};

// The hot-column update's rows (StoredRow), one array per column.
struct HotRows {
  std::vector<std::string> ticket_id, ledger_hash, addr;
  std::vector<int64_t> last_sequence, ledger_sequence;
  std::vector<std::optional<int64_t>> timer_due;
  std::vector<int32_t> status, first, last;
  size_t rows() const { return ticket_id.size(); }
};

// The clocks of a ticket_slas.clocks value (its numbers, from the binary bigint[]).
absl::StatusOr<std::vector<SlaClock>> ClocksFromNumbers(
    const std::vector<std::optional<int64_t>>& v) {
  if (v.size() % kClockFields != 0) {
    return absl::DataLossError("sla.ticket_slas.clocks: not 10 numbers per clock");
  }
  std::vector<SlaClock> out;
  out.reserve(v.size() / kClockFields);
  for (size_t i = 0; i < v.size(); i += kClockFields) {
    for (size_t f : {0, 1, 2, 3, 4, 5, 6}) {
      if (!v[i + f].has_value()) return absl::DataLossError("sla.ticket_slas.clocks: a NULL");
    }
    SlaClock& c = out.emplace_back();
    c.metric = static_cast<Metric>(*v[i]);
    c.cycle = static_cast<int>(*v[i + 1]);
    c.target = absl::Nanoseconds(*v[i + 2]);
    c.elapsed = absl::Nanoseconds(*v[i + 3]);
    c.counted_until = FromMicros(*v[i + 4]);
    const int64_t flags = *v[i + 5];
    c.counting = (flags & kCounting) != 0;
    c.warned = (flags & kWarned) != 0;
    c.breached = (flags & kBreached) != 0;
    c.met = (flags & kMet) != 0;
    c.canceled = (flags & kCanceled) != 0;
    c.start_time = FromMicros(*v[i + 6]);
    if (v[i + 7].has_value()) c.stop_time = FromMicros(*v[i + 7]);
    c.deadline = v[i + 8].has_value() ? FromMicros(*v[i + 8]) : absl::InfiniteFuture();
    c.warn_time = v[i + 9].has_value() ? FromMicros(*v[i + 9]) : absl::InfiniteFuture();
  }
  return out;
}

// A text[] column read in binary (no NULL elements: ticket tags).
absl::StatusOr<std::vector<std::string>> Strings(const pg::Result& t, int i, int column) {
  SUNDESK_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> items, t.TextArray(i, column));
  std::vector<std::string> out;
  out.reserve(items.size());
  for (std::optional<std::string>& item : items) {
    if (!item.has_value()) return absl::DataLossError("sla.ticket_slas.tags: a NULL tag");
    out.push_back(*std::move(item));
  }
  return out;
}

// Rows of kTicketColumns are read in binary (pg::ResultFormat::kBinary): nothing for the
// server to print (array_out of the clocks, timestamps) nor for this side to parse.
absl::StatusOr<TicketSla> TicketFromRow(const pg::Result& t, int i) {
  TicketSla sla;
  sla.ticket.ticket_id = std::string(t.Text(i, kTicketId));
  sla.ticket.tenant_id = std::string(t.Text(i, kTenantId));
  SUNDESK_ASSIGN_OR_RETURN(sla.created, t.Bool(i, kCreated));
  SUNDESK_ASSIGN_OR_RETURN(sla.last_sequence, t.Int64(i, kLastSequence));
  SUNDESK_ASSIGN_OR_RETURN(sla.create_time, TimeOr(t, i, kCreateTime, absl::UnixEpoch()));
  SUNDESK_ASSIGN_OR_RETURN(int priority, IntColumn(t, i, kPriority));
  sla.ticket.priority = static_cast<Priority>(priority);
  SUNDESK_ASSIGN_OR_RETURN(int channel, IntColumn(t, i, kChannel));
  sla.ticket.channel = static_cast<Channel>(channel);
  SUNDESK_ASSIGN_OR_RETURN(int status, IntColumn(t, i, kStatus));
  sla.ticket.status = static_cast<TicketStatus>(status);
  sla.policy_id = std::string(t.Text(i, kPolicyId));
  sla.calendar_id = std::string(t.Text(i, kCalendarId));
  SUNDESK_ASSIGN_OR_RETURN(sla.warn_at_percent, IntColumn(t, i, kWarnAtPercent));
  sla.ticket.assignee_id = std::string(t.Text(i, kAssigneeId));
  SUNDESK_ASSIGN_OR_RETURN(sla.replanned_through, t.Int64(i, kReplannedThrough));
  SUNDESK_ASSIGN_OR_RETURN(sla.ticket.tags, Strings(t, i, kTags));
  SUNDESK_ASSIGN_OR_RETURN(sla.agent_replied, t.Bool(i, kAgentReplied));
  SUNDESK_ASSIGN_OR_RETURN(std::vector<std::optional<int64_t>> numbers, t.Int64Array(i, kClocks));
  SUNDESK_ASSIGN_OR_RETURN(sla.clocks, ClocksFromNumbers(numbers));
  return sla;
}

// The ledger's last entry as the ticket row keeps it (sequence and hash: all a new entry
// needs to chain); false for a row stored before migration 8 (sequence -1), whose tail is
// read from sla.ledger.
absl::StatusOr<bool> LedgerTailFromRow(const pg::Result& t, int i, TicketSla& sla) {
  SUNDESK_ASSIGN_OR_RETURN(int64_t sequence, t.Int64(i, kLedgerSequence));
  if (sequence < 0) return false;
  if (sequence > 0) {
    LedgerEntry tail;
    tail.set_sequence(sequence);
    tail.set_hash(std::string(t.Text(i, kLedgerHash)));
    sla.ledger.push_back(std::move(tail));
  }
  return true;
}

// sla.ledger.more (migration 8): each entry a varint length and its serialized bytes.
void AppendDelimited(std::string& out, const std::string& bytes) {
  uint64_t n = bytes.size();
  do {
    unsigned char b = n & 0x7f;
    n >>= 7;
    if (n != 0) b |= 0x80;
    out += static_cast<char>(b);
  } while (n != 0);
  out += bytes;
}

// The entries of one sla.ledger row (its `entry`, then those in `more`), appended to `out`.
absl::Status EntriesFromRow(const pg::Result& l, int i, std::vector<LedgerEntry>& out) {
  auto unreadable = [&] {
    return absl::DataLossError(
        absl::StrCat("sla.ledger: an entry of ticket ", l.Text(i, "ticket_id"), " is unreadable"));
  };
  SUNDESK_ASSIGN_OR_RETURN(std::string bytes, l.Bytea(i, "entry"));
  LedgerEntry entry;
  if (!entry.ParseFromString(bytes)) return unreadable();
  out.push_back(std::move(entry));
  if (l.IsNull(i, "more")) return absl::OkStatus();
  SUNDESK_ASSIGN_OR_RETURN(std::string more, l.Bytea(i, "more"));
  absl::string_view rest = more;
  while (!rest.empty()) {
    uint64_t n = 0;
    int shift = 0;
    size_t used = 0;
    for (;;) {
      if (used >= rest.size() || shift > 63) return unreadable();
      const unsigned char b = rest[used++];
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    rest.remove_prefix(used);
    if (n > rest.size()) return unreadable();
    LedgerEntry e;
    if (!e.ParseFromArray(rest.data(), static_cast<int>(n))) return unreadable();
    out.push_back(std::move(e));
    rest.remove_prefix(n);
  }
  return absl::OkStatus();
}

// The whole-row update's rows (a cold column changed), one array per column; the clocks are
// slices of the batch's FlatClocks, the tags each row's text[] literal (an array inside an
// array's element), `due` the timers row's next_due. Its next due timer is in sla.timers (a
// narrow table, so that this row's updates change no indexed column and stay HOT).
struct ColdRows {
  std::vector<std::string> ticket_id, tenant_id, policy_id, calendar_id, assignee_id, tags,
      ledger_hash, addr;
  std::vector<bool> created, agent_replied;
  std::vector<int64_t> last_sequence, replanned_through, ledger_sequence;
  std::vector<std::optional<absl::Time>> create_time;
  std::vector<int32_t> priority, channel, status, warn_at_percent, first, last;
  std::vector<std::optional<int64_t>> timer_due;

  void Add(const TicketSla& sla, std::optional<absl::Time> due, std::pair<int32_t, int32_t> slice,
           const std::string& ctid) {
    ticket_id.push_back(sla.ticket.ticket_id);
    tenant_id.push_back(sla.ticket.tenant_id);
    created.push_back(sla.created);
    last_sequence.push_back(sla.last_sequence);
    create_time.push_back(sla.created ? std::optional<absl::Time>(sla.create_time) : std::nullopt);
    priority.push_back(static_cast<int32_t>(sla.ticket.priority));
    channel.push_back(static_cast<int32_t>(sla.ticket.channel));
    status.push_back(static_cast<int32_t>(sla.ticket.status));
    policy_id.push_back(sla.policy_id);
    calendar_id.push_back(sla.calendar_id);
    warn_at_percent.push_back(sla.warn_at_percent);
    assignee_id.push_back(sla.ticket.assignee_id);
    replanned_through.push_back(sla.replanned_through);
    tags.push_back(pg::TextArrayLiteral(sla.ticket.tags));
    agent_replied.push_back(sla.agent_replied);
    first.push_back(slice.first);
    last.push_back(slice.second);
    timer_due.push_back(due.has_value() ? std::optional<int64_t>(Micros(*due)) : std::nullopt);
    ledger_sequence.push_back(sla.ledger.empty() ? int64_t{0} : sla.ledger.back().sequence());
    ledger_hash.push_back(sla.ledger.empty() ? std::string() : sla.ledger.back().hash());
    addr.push_back(ctid);
  }
  size_t rows() const { return ticket_id.size(); }
  // Parameters $1..$21 of the whole-row update; $22 is the clocks.
  std::vector<pg::Param> Params() const {
    return {pg::Param::TextArray(ticket_id),
            pg::Param::TextArray(tenant_id),
            pg::Param::BoolArray(created),
            pg::Param::Int64Array(last_sequence),
            pg::Param::TimeArray(create_time),
            pg::Param::Int32Array(priority),
            pg::Param::Int32Array(channel),
            pg::Param::Int32Array(status),
            pg::Param::TextArray(policy_id),
            pg::Param::TextArray(calendar_id),
            pg::Param::Int32Array(warn_at_percent),
            pg::Param::TextArray(assignee_id),
            pg::Param::Int64Array(replanned_through),
            pg::Param::TextArray(tags),
            pg::Param::BoolArray(agent_replied),
            pg::Param::Int32Array(first),
            pg::Param::Int32Array(last),
            pg::Param::Int64Array(timer_due),
            pg::Param::Int64Array(ledger_sequence),
            pg::Param::TextArray(ledger_hash),
            pg::Param::TextArray(addr)};
  }
};

// What a ticket row stored, to tell which of its columns a batch changed. Most events change
// only the hot columns (sequence, status, clocks, timers copy, ledger tail), written by a
// narrower statement than the whole row.
struct StoredRow {
  // Cold: change with creation, ticket updates, assignment, replans, the first reply.
  std::string tenant_id;
  bool created = false;
  absl::Time create_time;
  Priority priority = Priority::kUnspecified;
  Channel channel = Channel::kUnspecified;
  std::string policy_id;
  std::string calendar_id;
  int warn_at_percent = 0;
  std::string assignee_id;
  int64_t replanned_through = 0;
  std::vector<std::string> tags;
  bool agent_replied = false;
  // Hot, besides the timers copy and the ledger tail (compared apart).
  int64_t last_sequence = 0;
  TicketStatus status = TicketStatus::kUnspecified;
  std::vector<SlaClock> clocks;

  static StoredRow Of(const TicketSla& sla) {
    return {.tenant_id = sla.ticket.tenant_id,
            .created = sla.created,
            .create_time = sla.create_time,
            .priority = sla.ticket.priority,
            .channel = sla.ticket.channel,
            .policy_id = sla.policy_id,
            .calendar_id = sla.calendar_id,
            .warn_at_percent = sla.warn_at_percent,
            .assignee_id = sla.ticket.assignee_id,
            .replanned_through = sla.replanned_through,
            .tags = sla.ticket.tags,
            .agent_replied = sla.agent_replied,
            .last_sequence = sla.last_sequence,
            .status = sla.ticket.status,
            .clocks = sla.clocks};
  }
  // Whether `sla`'s cold columns are as stored (create_time only matters once created).
  bool SameCold(const TicketSla& sla) const {
    return tenant_id == sla.ticket.tenant_id && created == sla.created &&
           (!created || create_time == sla.create_time) && priority == sla.ticket.priority &&
           channel == sla.ticket.channel && policy_id == sla.policy_id &&
           calendar_id == sla.calendar_id && warn_at_percent == sla.warn_at_percent &&
           assignee_id == sla.ticket.assignee_id && replanned_through == sla.replanned_through &&
           tags == sla.ticket.tags && agent_replied == sla.agent_replied;
  }
  bool SameHot(const TicketSla& sla) const {
    return last_sequence == sla.last_sequence && status == sla.ticket.status &&
           clocks == sla.clocks;
  }
};

absl::StatusOr<std::vector<Replan>> ReplansFromRows(const pg::Result& r) {
  std::vector<Replan> out;
  for (int i = 0; i < r.rows(); ++i) {
    Replan replan;
    SUNDESK_ASSIGN_OR_RETURN(replan.replan_id, r.Int64(i, "replan_id"));
    replan.calendar_id = std::string(r.Text(i, "calendar_id"));
    replan.policy_id = std::string(r.Text(i, "policy_id"));
    replan.tenant_id = std::string(r.Text(i, "tenant_id"));
    SUNDESK_ASSIGN_OR_RETURN(replan.version, r.Int64(i, "version"));
    SUNDESK_ASSIGN_OR_RETURN(replan.change_time, r.Time(i, "change_time"));
    if (!r.IsNull(i, "old_body")) {
      SUNDESK_ASSIGN_OR_RETURN(std::string body, r.Bytea(i, "old_body"));
      v1::Calendar proto;
      if (!proto.ParseFromString(body)) {
        return absl::DataLossError("sla.replans.old_body: not a serialized Calendar");
      }
      Calendar old = FromProto(proto);
      old.spec.time_zone = std::string(r.Text(i, "old_time_zone"));
      SUNDESK_ASSIGN_OR_RETURN(old.spec.always_open, r.Bool(i, "old_always_open"));
      SUNDESK_ASSIGN_OR_RETURN(calendar::BusinessCalendar cal,
                               calendar::BusinessCalendar::Create(old.spec));
      replan.old_calendar = std::make_shared<const calendar::BusinessCalendar>(std::move(cal));
    }
    out.push_back(std::move(replan));
  }
  return out;
}

// The replans among `all` (pending, oldest first) still to apply to `sla`.
std::vector<Replan> PendingFor(const std::vector<Replan>& all, const TicketSla& sla) {
  std::vector<Replan> out;
  for (const Replan& r : all) {
    if (r.replan_id <= sla.replanned_through) continue;
    // A ticket created now is matched on the settings this batch reads, which include every
    // replan it reads: the engine marks them applied (replanned_through).
    if (!sla.created) {
      out.push_back(r);
      continue;
    }
    if (!r.tenant_id.empty()) {  // a re-match: every ticket of the tenant
      if (r.tenant_id == sla.ticket.tenant_id) out.push_back(r);
      continue;
    }
    if ((!r.calendar_id.empty() && r.calendar_id == sla.calendar_id) ||
        (!r.policy_id.empty() && r.policy_id == sla.policy_id)) {
      out.push_back(r);
    }
  }
  return out;
}

// Reads an ordinary full ticket (GetTicketSla): row, clocks and the whole ledger.
absl::StatusOr<TicketSla> Load(pg::Connection& conn, const std::string& ticket_id, bool* found) {
  SUNDESK_ASSIGN_OR_RETURN(
      std::vector<pg::Result> r,
      conn.ExecuteAtomically(std::vector<pg::Statement>{
          {.sql = absl::StrCat("SELECT ", kTicketColumns,
                               " FROM sla.ticket_slas WHERE ticket_id = $1"),
           .params = {ticket_id},
           .result_format = pg::ResultFormat::kBinary},
          {"SELECT ticket_id, entry, more FROM sla.ledger WHERE ticket_id = $1 ORDER BY sequence",
           {ticket_id}}}));
  *found = r[0].rows() > 0;
  if (!*found) return TicketSla{};
  SUNDESK_ASSIGN_OR_RETURN(TicketSla sla, TicketFromRow(r[0], 0));
  for (int i = 0; i < r[1].rows(); ++i)
    SUNDESK_RETURN_IF_ERROR(EntriesFromRow(r[1], i, sla.ledger));
  return sla;
}

}  // namespace

// Policies and calendars as a batch's transaction sees them (it holds kSettingsLockKey
// shared, so no settings change commits meanwhile): the batch's tenants' read at once,
// others on demand; BusinessCalendars reused across batches by (calendar id, version).
class PgClockStore::TxCatalog final : public PolicyCatalog {
 public:
  TxCatalog(pg::Connection& tx, PgClockStore& store) : tx_(tx), store_(store) {}

  static std::vector<pg::Statement> PrefetchStatements(const std::vector<std::string>& tenants) {
    const pg::Param list = pg::Param::TextArray(tenants);
    return {{absl::StrCat("SELECT ", kPolicyColumns,
                          " FROM sla.policies WHERE tenant_id = ANY($1::text[]) "
                          "ORDER BY create_time"),
             {list}},
            {absl::StrCat("SELECT ", kCalendarColumns,
                          " FROM sla.calendars WHERE tenant_id = ANY($1::text[])"),
             {list}}};
  }
  absl::Status Prefetched(const std::vector<std::string>& tenants, const pg::Result& policies,
                          const pg::Result& calendars) {
    for (const std::string& t : tenants) policies_[t];
    SUNDESK_RETURN_IF_ERROR(AddPolicies(policies));
    for (int i = 0; i < calendars.rows(); ++i) {
      SUNDESK_ASSIGN_OR_RETURN(Calendar c, CalendarFromRow(calendars, i));
      SUNDESK_ASSIGN_OR_RETURN(calendars_[c.calendar_id], store_.Cached(c));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Policy>> Policies(const std::string& tenant_id) const override {
    if (auto it = policies_.find(tenant_id); it != policies_.end()) return it->second;
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx_.Execute(absl::StrCat("SELECT ", kPolicyColumns,
                                 " FROM sla.policies WHERE tenant_id = $1 ORDER BY create_time"),
                    {tenant_id}));
    policies_[tenant_id];
    SUNDESK_RETURN_IF_ERROR(AddPolicies(r));
    return policies_[tenant_id];
  }

  absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> CalendarById(
      const std::string& calendar_id) const override {
    if (auto it = calendars_.find(calendar_id); it != calendars_.end()) return it->second;
    SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                             tx_.Execute(absl::StrCat("SELECT ", kCalendarColumns,
                                                      " FROM sla.calendars WHERE calendar_id = $1"),
                                         {calendar_id}));
    if (r.rows() == 0) return absl::NotFoundError("calendar not found");
    SUNDESK_ASSIGN_OR_RETURN(Calendar c, CalendarFromRow(r, 0));
    SUNDESK_ASSIGN_OR_RETURN(calendars_[calendar_id], store_.Cached(c));
    return calendars_[calendar_id];
  }

 private:
  absl::Status AddPolicies(const pg::Result& r) const {
    for (int i = 0; i < r.rows(); ++i) {
      SUNDESK_ASSIGN_OR_RETURN(Policy p, PolicyFromRow(r, i));
      policies_[p.tenant_id].push_back(std::move(p));
    }
    return absl::OkStatus();
  }

  pg::Connection& tx_;
  PgClockStore& store_;
  mutable absl::flat_hash_map<std::string, std::vector<Policy>> policies_;
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const calendar::BusinessCalendar>>
      calendars_;
};

absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> PgClockStore::Cached(
    const Calendar& c) {
  const std::string key = absl::StrCat(c.calendar_id, "@", c.version);
  {
    absl::MutexLock lock(&calendars_mu_);
    if (auto it = calendars_.find(key); it != calendars_.end()) return it->second;
  }
  SUNDESK_ASSIGN_OR_RETURN(calendar::BusinessCalendar cal,
                           calendar::BusinessCalendar::Create(c.spec));
  auto shared = std::make_shared<const calendar::BusinessCalendar>(std::move(cal));
  absl::MutexLock lock(&calendars_mu_);
  if (calendars_.size() > 10000) calendars_.clear();  // bounded; versions only grow
  calendars_[key] = shared;
  return shared;
}

// One batch's tickets in one transaction: loaded (locked) with the pending replans and the
// catalog, mutated in memory, and the changed rows written back in bulk.
class PgClockStore::Batch {
 public:
  Batch(pg::Connection& tx, PgClockStore& store) : tx_(tx), catalog_(tx, store) {}

  // An event batch leaves the timers row of a ticket whose clocks all stopped (paused, met,
  // solved) as it is, instead of deleting it: the row is then stale, and the ticket row's
  // timer_due keeps its next_due, so that the ticket's next due instant, if it gets one
  // before then (resumed), moves the row by a plain UPDATE. The sweep claims a stale row at
  // its instant, finds nothing due (as for any row read stale) and deletes it then
  // (`keep_stale_timers` off). Spares most pauses a DELETE (one ticket_id index descent, a
  // dead tuple and dead entries at the low end of the next_due index, which the sweep's
  // min(next_due) walks until vacuumed).
  void KeepStaleTimers() { keep_stale_timers_ = true; }

  // The statements that load `ticket_ids` (sorted, distinct), and the batch's tenants'
  // policies and calendars; to run after the shared settings lock.
  std::vector<pg::Statement> LoadStatements(const std::vector<std::string>& ticket_ids,
                                            std::vector<std::string> tenants, bool lock) {
    const pg::Param ids = pg::Param::TextArray(ticket_ids);
    std::sort(tenants.begin(), tenants.end());
    tenants.erase(std::unique(tenants.begin(), tenants.end()), tenants.end());
    tenants_ = tenants;
    std::vector<pg::Statement> out = {
        // The row holds the clocks, the copy of the timers row's next_due and the ledger's
        // last sequence and hash (migration 8).
        {.sql = absl::StrCat("SELECT ", kTicketColumns,
                             " FROM sla.ticket_slas WHERE ticket_id = ANY($1::text[]) "
                             "ORDER BY ticket_id",
                             lock ? " FOR UPDATE" : ""),
         .params = {ids},
         .result_format = pg::ResultFormat::kBinary},
        {"SELECT replan_id, calendar_id, policy_id, tenant_id, version, old_time_zone, "
         "old_always_open, old_body, change_time FROM sla.replans WHERE NOT done "
         "ORDER BY replan_id",
         {}}};
    for (pg::Statement& s : TxCatalog::PrefetchStatements(tenants_)) out.push_back(std::move(s));
    return out;
  }

  // Takes the results of LoadStatements (`r` points at the first).
  absl::Status Loaded(const pg::Result* r) {
    std::vector<std::string> without_tail;
    for (int i = 0; i < r[0].rows(); ++i) {
      SUNDESK_ASSIGN_OR_RETURN(TicketSla sla, TicketFromRow(r[0], i));
      State& s = states_[sla.ticket.ticket_id];
      s.sla = std::move(sla);
      s.found = true;
      SUNDESK_ASSIGN_OR_RETURN(s.ctid, r[0].Tid(i, kCtid));
      if (!r[0].IsNull(i, kTimerDue)) {
        SUNDESK_ASSIGN_OR_RETURN(int64_t due, r[0].Int64(i, kTimerDue));
        s.due = FromMicros(due);
      }
      SUNDESK_ASSIGN_OR_RETURN(bool has_tail, LedgerTailFromRow(r[0], i, s.sla));
      if (!has_tail) without_tail.push_back(s.sla.ticket.ticket_id);
    }
    if (!without_tail.empty()) {
      // Rows stored before migration 8: the chain's last entry, from their last ledger row.
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Result tails,
          tx_.Execute("SELECT DISTINCT ON (ticket_id) ticket_id, entry, more FROM sla.ledger "
                      "WHERE ticket_id = ANY($1::text[]) ORDER BY ticket_id, sequence DESC",
                      {pg::Param::TextArray(without_tail)}));
      for (int i = 0; i < tails.rows(); ++i) {
        auto it = states_.find(std::string(tails.Text(i, "ticket_id")));
        if (it == states_.end()) continue;
        std::vector<LedgerEntry> entries;
        SUNDESK_RETURN_IF_ERROR(EntriesFromRow(tails, i, entries));
        it->second.sla.ledger.push_back(std::move(entries.back()));
      }
    }
    SUNDESK_ASSIGN_OR_RETURN(replans_, ReplansFromRows(r[1]));
    SUNDESK_RETURN_IF_ERROR(catalog_.Prefetched(tenants_, r[2], r[3]));
    for (auto& [id, s] : states_) {
      s.row = StoredRow::Of(s.sla);
      s.ledger_stored = s.sla.ledger.size();
      // Room for a few new entries (a status change pauses or resumes two clocks), so
      // appending moves no entries.
      s.sla.ledger.reserve(s.ledger_stored + 4);
    }
    return absl::OkStatus();
  }

  // Whether the ticket's row was loaded.
  bool Has(const std::string& ticket_id) const {
    auto it = states_.find(ticket_id);
    return it != states_.end() && it->second.found;
  }

  // Runs `mutate` on the ticket's state (with its pending replans).
  absl::Status Mutate(const std::string& ticket_id, ClockStore::Mutation mutate) {
    auto it = states_.find(ticket_id);
    if (it == states_.end() || !it->second.found) {
      return absl::InternalError("sla.ticket_slas row vanished under its lock");
    }
    TicketSla& sla = it->second.sla;
    sla.pending_replans = PendingFor(replans_, sla);
    SUNDESK_ASSIGN_OR_RETURN(std::vector<SlaSignal> signals, mutate(sla, catalog_));
    sla.pending_replans.clear();
    sla.ticket.ticket_id = ticket_id;
    for (SlaSignal& s : signals) signals_.push_back(std::move(s));
    return absl::OkStatus();
  }

  // The statements that write what changed.
  std::vector<pg::Statement> SaveStatements() {
    // Binary array parameters (pg::Param::*Array): the server copies their elements instead
    // of parsing array text (only each row's tags, a text[] inside a text[] element, are
    // array text). Both ticket row updates take their clocks as slices of one flat array.
    ColdRows cold;
    HotRows hot;
    FlatClocks clocks;
    std::vector<std::string> timers_id, moved_id, untimed_id;
    std::vector<absl::Time> timers_due, moved_due;
    // One ledger row per ticket and commit: its first entry, and the rest (`more`, empty for
    // none: stored NULL).
    std::vector<std::string> ledger_id, ledger_entry, ledger_more;
    std::vector<int64_t> ledger_sequence;
    for (auto& [id, s] : states_) {
      std::optional<absl::Time> due = Finite(SlaEngine::NextDue(s.sla));
      if (!due.has_value() && keep_stale_timers_) due = s.due;  // KeepStaleTimers
      const bool ledger_grew = s.ledger_stored < s.sla.ledger.size();
      // The row's timer_due is the timers row's copy: written whenever that row is.
      if (!s.row.SameCold(s.sla)) {
        cold.Add(s.sla, due, clocks.Add(s.sla.clocks), s.ctid);
      } else if (!s.row.SameHot(s.sla) || due != s.due || ledger_grew) {
        const auto [first, last] = clocks.Add(s.sla.clocks);
        hot.ticket_id.push_back(id);
        hot.last_sequence.push_back(s.sla.last_sequence);
        hot.status.push_back(static_cast<int32_t>(s.sla.ticket.status));
        hot.first.push_back(first);
        hot.last.push_back(last);
        hot.timer_due.push_back(due.has_value() ? std::optional<int64_t>(Micros(*due))
                                                : std::nullopt);
        hot.ledger_sequence.push_back(s.sla.ledger.empty() ? int64_t{0}
                                                           : s.sla.ledger.back().sequence());
        hot.ledger_hash.push_back(s.sla.ledger.empty() ? std::string()
                                                       : s.sla.ledger.back().hash());
        hot.addr.push_back(s.ctid);
      }
      if (due != s.due) {
        if (due.has_value()) {
          // The row's timer_due tells whether a timers row exists: a plain update moves it.
          (s.due.has_value() ? moved_id : timers_id).push_back(id);
          (s.due.has_value() ? moved_due : timers_due).push_back(*due);
        } else {
          untimed_id.push_back(id);
        }
      }
      // One row per ticket and commit, however many entries (migration 8).
      if (s.ledger_stored < s.sla.ledger.size()) {
        const LedgerEntry& first = s.sla.ledger[s.ledger_stored];
        ledger_id.push_back(id);
        ledger_sequence.push_back(first.sequence());
        ledger_entry.push_back(first.SerializeAsString());
        std::string& more = ledger_more.emplace_back();
        for (size_t i = s.ledger_stored + 1; i < s.sla.ledger.size(); ++i) {
          AppendDelimited(more, s.sla.ledger[i].SerializeAsString());
        }
      }
    }
    std::vector<std::string> outbox_key, outbox_payload, outbox_headers, outbox_event_id,
        outbox_type;
    for (const SlaSignal& sig : signals_) {
      const events::v1::Event event = ToEvent(sig);
      kafka::EventRecord record = kafka::ToRecord(kSlaEventsTopic, event);
      outbox_key.push_back(std::move(record.key));
      outbox_payload.push_back(std::move(record.value));
      outbox_headers.push_back(kafka::EncodeHeaders(record.headers));
      outbox_event_id.push_back(event.event_id());
      outbox_type.push_back(event.type());
    }
    std::vector<pg::Statement> out;
    updates_.clear();
    // Both updates take slices of the flat clocks array: the last parameter of each.
    pg::Param flat_clocks = clocks.Take();
    if (cold.rows() > 0) updates_.push_back({0, static_cast<int64_t>(cold.rows())});
    if (hot.rows() > 0) {
      updates_.push_back({cold.rows() > 0 ? 1u : 0u, static_cast<int64_t>(hot.rows())});
    }
    if (cold.rows() > 0) {
      std::vector<pg::Param> params = cold.Params();
      params.push_back(flat_clocks);
      out.push_back(
          {absl::StrCat(
               "UPDATE sla.ticket_slas t SET tenant_id = u.tenant_id, created = u.created, "
               "last_sequence = u.last_sequence, create_time = u.create_time, "
               "priority = u.priority, channel = u.channel, status = u.status, "
               "policy_id = u.policy_id, calendar_id = u.calendar_id, "
               "warn_at_percent = u.warn_at_percent, assignee_id = u.assignee_id, "
               "replanned_through = u.replanned_through, tags = u.tags::text[], "
               "agent_replied = u.agent_replied, "
               "clocks = array_replace(($22::bigint[])[u.first:u.last], ",
               kNoNumber,
               "::bigint, NULL), timer_due = u.timer_due, ledger_sequence = u.ledger_sequence, "
               "ledger_hash = u.ledger_hash "
               "FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[], "
               "$5::timestamptz[], $6::integer[], $7::integer[], $8::integer[], $9::text[], "
               "$10::text[], $11::integer[], $12::text[], $13::bigint[], $14::text[], "
               "$15::boolean[], $16::integer[], $17::integer[], $18::bigint[], $19::bigint[], "
               "$20::text[], $21::text[]) "
               "AS u (ticket_id, tenant_id, created, last_sequence, create_time, priority, "
               "channel, status, policy_id, calendar_id, warn_at_percent, assignee_id, "
               "replanned_through, tags, agent_replied, first, last, timer_due, "
               "ledger_sequence, ledger_hash, addr) "
               "WHERE t.ctid = u.addr::tid AND t.ticket_id = u.ticket_id"),
           std::move(params)});
    }
    if (hot.rows() > 0) {
      // Rows of which only the hot columns changed: fewer columns to send and write.
      // Their clocks are slices of one flat array ($10, FlatClocks). Rows are found by the
      // address they were read at (a TID scan; the ticket_id only checked). The arrays are
      // unnested in a select list (ProjectSet: a row at a time) rather than by `FROM
      // unnest(...)`, which first copies every row into a tuplestore: 4.1-5.4 -> 3.7-4.2 us
      // of execution per row (README).
      std::vector<pg::Param> params = {pg::Param::TextArray(hot.ticket_id),
                                       pg::Param::Int64Array(hot.last_sequence),
                                       pg::Param::Int32Array(hot.status),
                                       pg::Param::Int32Array(hot.first),
                                       pg::Param::Int32Array(hot.last),
                                       pg::Param::Int64Array(hot.timer_due),
                                       pg::Param::Int64Array(hot.ledger_sequence),
                                       pg::Param::TextArray(hot.ledger_hash),
                                       pg::Param::TextArray(hot.addr),
                                       std::move(flat_clocks)};
      out.push_back(
          {absl::StrCat(
               "UPDATE sla.ticket_slas t SET last_sequence = u.last_sequence, "
               "status = u.status, clocks = array_replace(($10::bigint[])[u.first:u.last], ",
               kNoNumber,
               "::bigint, NULL), timer_due = u.timer_due, "
               "ledger_sequence = u.ledger_sequence, ledger_hash = u.ledger_hash "
               "FROM (SELECT unnest($1::text[]) AS ticket_id, "
               "unnest($2::bigint[]) AS last_sequence, unnest($3::integer[]) AS status, "
               "unnest($4::integer[]) AS first, unnest($5::integer[]) AS last, "
               "unnest($6::bigint[]) AS timer_due, unnest($7::bigint[]) AS ledger_sequence, "
               "unnest($8::text[]) AS ledger_hash, unnest($9::text[]) AS addr) u "
               "WHERE t.ctid = u.addr::tid AND t.ticket_id = u.ticket_id"),
           std::move(params)});
    }
    if (!timers_id.empty()) {
      out.push_back(
          {"INSERT INTO sla.timers (ticket_id, next_due) "
           "SELECT * FROM unnest($1::text[], $2::timestamptz[]) "
           "ON CONFLICT (ticket_id) DO UPDATE SET next_due = EXCLUDED.next_due",
           {pg::Param::TextArray(timers_id), pg::Param::TimeArray(timers_due)}});
    }
    if (!moved_id.empty()) {
      out.push_back(
          {"UPDATE sla.timers d SET next_due = u.next_due FROM unnest($1::text[], "
           "$2::timestamptz[]) AS u (ticket_id, next_due) WHERE d.ticket_id = u.ticket_id",
           {pg::Param::TextArray(moved_id), pg::Param::TimeArray(moved_due)}});
    }
    if (!untimed_id.empty()) {
      out.push_back({"DELETE FROM sla.timers WHERE ticket_id = ANY($1::text[])",
                     {pg::Param::TextArray(untimed_id)}});
    }
    if (!ledger_id.empty()) {
      out.push_back(
          // Unnested in a select list, as the hot update's (no tuplestore).
          {"INSERT INTO sla.ledger (ticket_id, sequence, entry, more) "
           "SELECT t, s, e, NULLIF(m, ''::bytea) "
           "FROM (SELECT unnest($1::text[]) AS t, unnest($2::bigint[]) AS s, "
           "unnest($3::bytea[]) AS e, unnest($4::bytea[]) AS m) u",
           {pg::Param::TextArray(ledger_id), pg::Param::Int64Array(ledger_sequence),
            pg::Param::ByteaArray(ledger_entry), pg::Param::ByteaArray(ledger_more)}});
    }
    if (!outbox_key.empty()) {
      // Ids are drawn in the signals' order, under the tickets' locks (the relay's order).
      out.push_back(
          {"INSERT INTO sla.outbox (topic, key, payload, headers, event_id, event_type) "
           "SELECT $1, k, p, h, e, y FROM unnest($2::text[], $3::bytea[], $4::bytea[], "
           "$5::text[], $6::text[]) WITH ORDINALITY AS u (k, p, h, e, y, n) "
           "ORDER BY n",
           {std::string(kSlaEventsTopic), pg::Param::TextArray(outbox_key),
            pg::Param::ByteaArray(outbox_payload), pg::Param::ByteaArray(outbox_headers),
            pg::Param::TextArray(outbox_event_id), pg::Param::TextArray(outbox_type)}});
      out.push_back({"SELECT pg_notify($1, '')", {kafka::OutboxChannel(kSlaSchema)}});
    }
    return out;
  }

  absl::Status Save() {
    std::vector<pg::Statement> statements = SaveStatements();
    if (statements.empty()) return absl::OkStatus();
    SUNDESK_ASSIGN_OR_RETURN(std::vector<pg::Result> r, tx_.ExecuteAtomically(statements));
    // Every ticket row is found at the address it was read at (it is locked meanwhile); a
    // row missed would be a lost change, so the batch fails (and is retried) instead.
    for (const auto& [statement, rows] : updates_) {
      if (r[statement].affected_rows() != rows) {
        return absl::InternalError(absl::StrCat("sla.ticket_slas: ", r[statement].affected_rows(),
                                                " of ", rows, " locked rows found to update"));
      }
    }
    return absl::OkStatus();
  }

 private:
  struct State {
    TicketSla sla;
    bool found = false;
    StoredRow row;                  // as stored
    std::optional<absl::Time> due;  // sla.timers' next_due as stored
    size_t ledger_stored = 0;
    std::string ctid;  // the locked row version's address (kCtid)
  };

  pg::Connection& tx_;
  TxCatalog catalog_;
  bool keep_stale_timers_ = false;
  std::vector<std::string> tenants_;
  std::vector<sla::Replan> replans_;
  std::map<std::string, State> states_;
  std::vector<SlaSignal> signals_;
  // The ticket row updates of SaveStatements: (statement index, rows it must update).
  std::vector<std::pair<size_t, int64_t>> updates_;
};

std::vector<pg::Migration> SlaMigrations() {
  std::vector<pg::Migration> all = Migrations();
  all.push_back(kafka::OutboxMigration(3));
  std::sort(all.begin(), all.end(),
            [](const pg::Migration& a, const pg::Migration& b) { return a.version < b.version; });
  return all;
}

PgClockStore::PgClockStore(pg::Pool& pool) : pool_(pool) {}
PgClockStore::~PgClockStore() = default;

absl::StatusOr<std::vector<size_t>> PgClockStore::UpdateBatch(const std::vector<Item>& items,
                                                              ItemMutation mutate) {
  std::vector<size_t> applied;
  if (items.empty()) return applied;
  std::vector<std::string> ticket_ids, tenants, created_ids;
  for (const Item& item : items) {
    ticket_ids.push_back(item.ticket_id);
    if (item.creates) created_ids.push_back(item.ticket_id);
    if (!item.tenant_id.empty()) tenants.push_back(item.tenant_id);
  }
  std::sort(created_ids.begin(), created_ids.end());
  created_ids.erase(std::unique(created_ids.begin(), created_ids.end()), created_ids.end());
  std::sort(ticket_ids.begin(), ticket_ids.end());
  ticket_ids.erase(std::unique(ticket_ids.begin(), ticket_ids.end()), ticket_ids.end());
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    applied.clear();
    Batch batch(tx, *this);
    batch.KeepStaleTimers();
    std::vector<pg::Statement> statements = {
        {"SELECT pg_advisory_xact_lock_shared($1)", {kSettingsLockKey}},
        // The rows of created tickets exist before they are locked (in ticket_id order), so
        // two writers of a new ticket queue up on it.
        {"INSERT INTO sla.ticket_slas (ticket_id, tenant_id, created, last_sequence, "
         "priority, channel, status, policy_id, calendar_id, warn_at_percent) "
         "SELECT unnest($1::text[]), '', false, 0, 0, 0, 0, '', '', 0 ON CONFLICT DO NOTHING",
         {pg::Param::TextArray(created_ids)}}};
    for (pg::Statement& s : batch.LoadStatements(ticket_ids, tenants, /*lock=*/true)) {
      statements.push_back(std::move(s));
    }
    SUNDESK_ASSIGN_OR_RETURN(std::vector<pg::Result> r, tx.ExecuteAtomically(statements));
    SUNDESK_RETURN_IF_ERROR(batch.Loaded(&r[2]));
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& item = items[i];
      // An event of a ticket without a row (its creation not seen) changes nothing.
      if (!batch.Has(item.ticket_id)) continue;
      // A redelivered event (or one twice in the batch) is recognised by the mutation: its
      // sequence is not above the ticket's last one, read and written under the row lock.
      SUNDESK_RETURN_IF_ERROR(batch.Mutate(
          item.ticket_id,
          [&](TicketSla& sla, const PolicyCatalog& catalog) { return mutate(i, sla, catalog); }));
      applied.push_back(i);
    }
    return batch.Save();
  }));
  return applied;
}

absl::StatusOr<int> PgClockStore::UpdateDue(absl::Time now, int limit, DueMutation mutate,
                                            const DueClaim& claim) {
  const bool ahead = claim.lookahead > absl::ZeroDuration() && claim.wait_until != nullptr;
  // Due by now; ahead, also those due within the lookahead and the spread after the
  // earliest pending timer (so the first of them fires at most `spread` late).
  const std::string bound = ahead
                                ? "greatest($1::timestamptz, least($1::timestamptz + $3::interval, "
                                  "(SELECT min(next_due) FROM sla.timers) + $4::interval))"
                                : "$1::timestamptz";
  std::vector<pg::Param> params = {now, limit};
  if (ahead) {
    params.emplace_back(absl::StrCat(absl::ToInt64Microseconds(claim.lookahead), " microseconds"));
    params.emplace_back(absl::StrCat(absl::ToInt64Microseconds(claim.spread), " microseconds"));
  }
  int claimed = 0;
  bool gave_up = false;
  const absl::Status done = pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    claimed = 0;
    // Another replica's claimed tickets are skipped, not waited for: each due timer is
    // fired by the one transaction that holds its ticket, together with its outbox rows.
    SUNDESK_ASSIGN_OR_RETURN(
        std::vector<pg::Result> due,
        tx.ExecuteAtomically(std::vector<pg::Statement>{
            {"SELECT pg_advisory_xact_lock_shared($1)", {kSettingsLockKey}},
            // The ticket row is what an event batch locks too; a timers row read stale (moved
            // by a commit just before the lock) claims a ticket FireDue finds nothing due on.
            {absl::StrCat("SELECT ticket_id, t.tenant_id, d.next_due FROM sla.timers d "
                          "JOIN sla.ticket_slas t USING (ticket_id) WHERE d.next_due <= ",
                          bound, " ORDER BY d.next_due LIMIT $2 FOR UPDATE OF t SKIP LOCKED"),
             params}}));
    claimed = due[1].rows();
    if (claimed == 0) return absl::OkStatus();
    std::vector<std::string> ids, tenants;
    absl::Time fire_at = absl::InfinitePast();
    for (int i = 0; i < claimed; ++i) {
      ids.emplace_back(due[1].Text(i, 0));
      tenants.emplace_back(due[1].Text(i, 1));
      SUNDESK_ASSIGN_OR_RETURN(absl::Time t, due[1].Time(i, 2));
      fire_at = std::max(fire_at, t);
    }
    std::sort(ids.begin(), ids.end());
    Batch batch(tx, *this);
    SUNDESK_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                             tx.ExecuteAtomically(batch.LoadStatements(ids, tenants, false)));
    SUNDESK_RETURN_IF_ERROR(batch.Loaded(r.data()));
    // Ahead of the deadline: fired as of it and written now, in this transaction; it
    // commits once the deadline came (so only the commit is left then, and nobody sees the
    // writes before it).
    const absl::Time as_of = ahead ? std::max(now, fire_at) : now;
    for (const std::string& id : ids) {
      SUNDESK_RETURN_IF_ERROR(batch.Mutate(
          id,
          [&](TicketSla& sla, const PolicyCatalog& catalog)
              -> absl::StatusOr<std::vector<SlaSignal>> { return mutate(sla, catalog, as_of); }));
    }
    SUNDESK_RETURN_IF_ERROR(batch.Save());
    if (ahead && fire_at > now && !claim.wait_until(fire_at)) {
      gave_up = true;
      return absl::CancelledError("the timer sweep stopped before the deadline");
    }
    return absl::OkStatus();
  });
  if (gave_up) return 0;  // rolled back: nothing fired before its instant
  SUNDESK_RETURN_IF_ERROR(done);
  return claimed;
}

absl::StatusOr<absl::Time> PgClockStore::NextDue() {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn->Execute("SELECT min(next_due) FROM sla.timers"));
  if (r.rows() == 0 || r.IsNull(0, 0)) return absl::InfiniteFuture();
  return r.Time(0, 0);
}

absl::StatusOr<int> PgClockStore::Replan(int limit, Mutation mutate) {
  // A replan that finishes with no ticket left is done; the next pending one is taken.
  for (;;) {
    bool found = false;
    SUNDESK_ASSIGN_OR_RETURN(int claimed, ReplanOnce(limit, mutate, &found));
    if (claimed > 0 || !found) return claimed;
  }
}

absl::StatusOr<int> PgClockStore::ReplanOnce(int limit, Mutation mutate, bool* found) {
  int claimed = 0;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    claimed = 0;
    *found = false;
    // One replica walks one replan at a time; another takes the next one meanwhile.
    SUNDESK_ASSIGN_OR_RETURN(
        std::vector<pg::Result> first,
        tx.ExecuteAtomically(std::vector<pg::Statement>{
            {"SELECT pg_advisory_xact_lock_shared($1)", {kSettingsLockKey}},
            {"SELECT replan_id, calendar_id, policy_id, tenant_id, after_ticket FROM sla.replans "
             "WHERE NOT done ORDER BY replan_id LIMIT 1 FOR UPDATE SKIP LOCKED",
             {}}}));
    const pg::Result& replan = first[1];
    if (replan.rows() == 0) return absl::OkStatus();
    *found = true;
    SUNDESK_ASSIGN_OR_RETURN(int64_t replan_id, replan.Int64(0, "replan_id"));
    const std::string calendar_id(replan.Text(0, "calendar_id"));
    const std::string policy_id(replan.Text(0, "policy_id"));
    const std::string tenant_id(replan.Text(0, "tenant_id"));
    // A re-match walks the tenant's tickets, a calendar change the calendar's, a policy
    // change the policy's.
    const char* column = !tenant_id.empty()     ? "tenant_id"
                         : !calendar_id.empty() ? "calendar_id"
                                                : "policy_id";
    const std::string& value = !tenant_id.empty()     ? tenant_id
                               : !calendar_id.empty() ? calendar_id
                                                      : policy_id;
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result tickets,
        tx.Execute(absl::StrCat("SELECT ticket_id, tenant_id FROM sla.ticket_slas WHERE ", column,
                                " = $1 AND ticket_id > $2 ORDER BY ticket_id LIMIT $3 FOR UPDATE"),
                   {value, std::string(replan.Text(0, "after_ticket")), limit}));
    claimed = tickets.rows();
    std::vector<std::string> ids, tenants;
    for (int i = 0; i < claimed; ++i) {
      ids.emplace_back(tickets.Text(i, 0));
      tenants.emplace_back(tickets.Text(i, 1));
    }
    if (claimed > 0) {
      Batch batch(tx, *this);
      SUNDESK_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                               tx.ExecuteAtomically(batch.LoadStatements(ids, tenants, false)));
      SUNDESK_RETURN_IF_ERROR(batch.Loaded(r.data()));
      for (const std::string& id : ids) SUNDESK_RETURN_IF_ERROR(batch.Mutate(id, mutate));
      SUNDESK_RETURN_IF_ERROR(batch.Save());
    }
    return tx
        .Execute("UPDATE sla.replans SET after_ticket = $2, done = $3 WHERE replan_id = $1",
                 {replan_id, claimed > 0 ? ids.back() : std::string(replan.Text(0, "after_ticket")),
                  claimed < limit})
        .status();
  }));
  return claimed;
}

absl::StatusOr<std::map<ClockState, int64_t>> PgClockStore::CountClocks() {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  // The flags of each ticket row's clocks (one per metric at most, kClockFields numbers each;
  // NULL past the last), grouped by their combination: a handful of groups, folded here. No
  // set-returning function per row: the sla.clocks view's generate_series made this scan
  // ~3.5 µs per ticket (3.5 s of a core per 1,000,000 tickets every --clock-count-interval).
  constexpr int kMaxClocks = static_cast<int>(Metric::kResolution);
  std::string flags, groups;
  for (int k = 0; k < kMaxClocks; ++k) {
    absl::StrAppend(&flags, "clocks[", k * kClockFields + 6, "], ");
    absl::StrAppend(&groups, k == 0 ? "" : ", ", k + 1);
  }
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r, conn->Execute(absl::StrCat("SELECT ", flags,
                                               "count(*) FROM sla.ticket_slas GROUP BY ", groups),
                                  {}, pg::ResultFormat::kBinary));
  std::map<ClockState, int64_t> out;
  for (ClockState s :
       {ClockState::kRunning, ClockState::kPaused, ClockState::kMet, ClockState::kBreached}) {
    out[s] = 0;
  }
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(int64_t n, r.Int64(i, kMaxClocks));
    for (int k = 0; k < kMaxClocks; ++k) {
      if (r.IsNull(i, k)) continue;
      SUNDESK_ASSIGN_OR_RETURN(int64_t f, r.Int64(i, k));
      // As SlaClock::state(); canceled clocks are no longer measured.
      if ((f & kBreached) != 0) {
        out[ClockState::kBreached] += n;
      } else if ((f & kMet) != 0) {
        out[ClockState::kMet] += n;
      } else if ((f & kCanceled) != 0) {
        continue;
      } else {
        out[(f & kCounting) != 0 ? ClockState::kRunning : ClockState::kPaused] += n;
      }
    }
  }
  return out;
}

absl::StatusOr<TicketSla> PgClockStore::Get(const std::string& ticket_id) {
  TicketSla sla;
  bool found = false;
  // One snapshot for the ticket row, its clocks and its ledger.
  SUNDESK_RETURN_IF_ERROR(
      pg::WithTransaction(pool_,
                          [&](pg::Connection& tx) -> absl::Status {
                            SUNDESK_ASSIGN_OR_RETURN(sla, Load(tx, ticket_id, &found));
                            return absl::OkStatus();
                          },
                          {.isolation = pg::Isolation::kRepeatableRead, .read_only = true}));
  if (!found || !sla.created) return absl::NotFoundError("ticket not seen");
  return sla;
}

}  // namespace sundesk::sla
