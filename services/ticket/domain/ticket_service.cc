#include "services/ticket/domain/ticket_service.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/api/validation.h"
#include "libs/core/status.h"

namespace sundesk::ticket {
namespace {

constexpr int kDefaultHistoryPage = 100;

// Length-prefixed fields, so that no two different requests hash alike.
class Fingerprint {
 public:
  Fingerprint& Add(absl::string_view field) {
    absl::StrAppend(&data_, field.size(), ":", field, ";");
    return *this;
  }
  Fingerprint& Add(int64_t n) { return Add(absl::StrCat(n)); }
  std::string Hex() const {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data_.data()), data_.size(), digest);
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  }

 private:
  std::string data_;
};

std::string CreateFingerprint(const CreateTicketInput& in, const std::string& tenant_id) {
  Fingerprint f;
  f.Add(tenant_id).Add(in.subject).Add(in.description);
  f.Add(in.requester.external_id).Add(in.requester.name).Add(in.requester.email);
  f.Add(in.requester.language).Add(in.requester.time_zone);
  f.Add(static_cast<int64_t>(in.channel)).Add(static_cast<int64_t>(in.priority));
  f.Add(in.language).Add(in.category);
  f.Add(static_cast<int64_t>(in.required_skills.size()));
  for (const auto& s : in.required_skills) f.Add(s);
  f.Add(static_cast<int64_t>(in.tags.size()));
  for (const auto& s : in.tags) f.Add(s);
  f.Add(static_cast<int64_t>(in.custom_fields.size()));
  for (const auto& [k, v] : in.custom_fields) f.Add(k).Add(v);
  return f.Hex();
}

std::string CallerScope(const Caller& c) {
  return absl::StrCat(static_cast<int>(c.role), "|", c.tenant_id, "|", c.agent_id);
}

std::string TimeOrNull(const std::optional<absl::Time>& t) {
  return t ? absl::StrCat(absl::ToUnixMicros(*t)) : "-";
}

// A position is "<sort key>" or "<sort key>|<ticket id>".
std::string Position(int64_t key, absl::string_view id = "") {
  return id.empty() ? absl::StrCat(key) : absl::StrCat(key, "|", id);
}

absl::StatusOr<std::pair<int64_t, std::string>> ParsePosition(absl::string_view position) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(position, absl::MaxSplits('|', 1));
  int64_t key = 0;
  if (!absl::SimpleAtoi(parts.first, &key)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  return std::make_pair(key, std::string(parts.second));
}

bool Includes(const std::vector<std::string>& v, absl::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One page of a ticket's comments or history, keyset-paged by version: the page token
// carries the last version returned, signed for this caller and query. `fetch(after, limit)`
// reads the items with a version above `after`; one more than a page tells whether another
// page follows.
template <typename Item, typename Fetch>
absl::Status PageByVersion(const api::PageTokenSigner& tokens, const std::string& scope,
                           const std::string& query, absl::string_view page_token, int page_size,
                           Fetch&& fetch, std::vector<Item>& items, std::string& next_page_token) {
  int64_t after = 0;
  if (!page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(std::string position,
                             tokens.Verify("page_token", scope, query, page_token));
    SUNDESK_ASSIGN_OR_RETURN(auto parsed, ParsePosition(position));
    after = parsed.first;
  }
  SUNDESK_ASSIGN_OR_RETURN(items, fetch(after, page_size + 1));
  if (static_cast<int>(items.size()) > page_size) {
    items.resize(page_size);
    next_page_token = tokens.Sign(scope, query, Position(items.back().version));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCallerRole(const Caller& caller, std::initializer_list<CallerRole> allowed,
                             absl::string_view action) {
  for (CallerRole r : allowed) {
    if (caller.role == r) return absl::OkStatus();
  }
  static constexpr const char* kRoles[] = {"", "ADMIN", "CLIENT", "AGENT", "SERVICE"};
  return absl::PermissionDeniedError(
      absl::StrCat("a ", kRoles[static_cast<int>(caller.role)], " key may not ", action));
}

bool CanSeeTicket(const Caller& caller, const Ticket& ticket) {
  switch (caller.role) {
    case CallerRole::kClient:
      return !caller.tenant_id.empty() && ticket.tenant_id == caller.tenant_id;
    case CallerRole::kAgent:
      return !caller.agent_id.empty() && ticket.assignee_id == caller.agent_id;
    case CallerRole::kAdmin:
    case CallerRole::kService:
      return true;
  }
  return false;
}

absl::StatusOr<std::string> ResolveCreateTenant(const Caller& caller,
                                                const std::string& requested) {
  std::string tenant = requested;
  if (caller.role == CallerRole::kClient) {
    if (!requested.empty() && requested != caller.tenant_id) {
      return absl::NotFoundError(
          absl::StrCat("tenant_id: no tenant ", JsonQuote(requested), " visible to this key"));
    }
    tenant = caller.tenant_id;
  } else if (requested.empty()) {
    return absl::InvalidArgumentError("tenant_id: required for ADMIN, SERVICE and AGENT keys");
  }
  if (!IsUuid(tenant)) {
    return absl::NotFoundError(
        absl::StrCat("tenant_id: no tenant ", JsonQuote(tenant), " visible to this key"));
  }
  return tenant;
}

absl::Status TicketNotFound(absl::string_view ticket_id) {
  return absl::NotFoundError(absl::StrCat("ticket_id: no ticket ", JsonQuote(ticket_id)));
}

TicketService::TicketService(TicketStore& store, const Clock& clock, IdGenerator& ids,
                             const api::PageTokenSigner& page_tokens, TicketServiceOptions options,
                             TicketObserver* observer)
    : store_(store),
      clock_(clock),
      ids_(ids),
      options_(std::move(options)),
      observer_(observer != nullptr ? observer : &no_observer_),
      tokens_(page_tokens) {}

absl::Time TicketService::Now() const {
  return absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
}

void TicketService::StartWrite(const Caller& caller, const Ticket& ticket, absl::string_view type,
                               TicketWrite& write) {
  write.event.event_id = ids_.NewId();
  write.event.type = std::string(type);
  write.event.time = ticket.update_time;
  write.event.actor = caller;
  write.history.ticket_id = ticket.ticket_id;
  write.history.version = ticket.version;
  write.history.time = ticket.update_time;
  write.history.actor = caller;
  write.history.action = std::string(type);
  write.history.event_id = write.event.event_id;
}

absl::StatusOr<TicketService::PreparedCreate> TicketService::PrepareCreate(
    const Caller& caller, const CreateTicketInput& in) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin, CallerRole::kService},
      "create tickets"));
  SUNDESK_RETURN_IF_ERROR(ValidateCreateTicket(in, options_.limits));
  SUNDESK_ASSIGN_OR_RETURN(std::string tenant_id, ResolveCreateTenant(caller, in.tenant_id));
  absl::StatusOr<std::string> default_language = store_.TenantDefaultLanguage(tenant_id);
  if (absl::IsNotFound(default_language.status())) {
    return absl::NotFoundError(
        absl::StrCat("tenant_id: no tenant ", JsonQuote(tenant_id), " visible to this key"));
  }
  if (!default_language.ok()) return default_language.status();

  PreparedCreate prepared;
  const absl::Time now = Now();
  prepared.now = now;
  TicketWrite& write = prepared.write;
  Ticket& t = write.ticket;
  t.ticket_id = ids_.NewId();
  t.tenant_id = tenant_id;
  t.subject = in.subject;
  t.description = in.description;
  t.requester = in.requester;
  t.channel = in.channel == Channel::kUnspecified ? Channel::kApi : in.channel;
  t.priority = in.priority == Priority::kUnspecified ? Priority::kNormal : in.priority;
  t.language = !in.language.empty()             ? in.language
               : !in.requester.language.empty() ? in.requester.language
                                                : *default_language;
  t.category = in.category;
  t.required_skills = in.required_skills;
  t.tags = in.tags;
  t.custom_fields = in.custom_fields;
  t.status = TicketStatus::kNew;
  t.version = 1;
  t.create_time = now;
  t.update_time = now;
  StartWrite(caller, t, "TicketCreated", write);
  write.history.changes = {
      {.field = "status", .new_value = JsonQuote(StatusName(t.status))},
      {.field = "subject", .new_value = JsonQuote(t.subject)},
      {.field = "priority", .new_value = JsonQuote(PriorityName(t.priority))},
      {.field = "channel", .new_value = JsonQuote(ChannelName(t.channel))},
      {.field = "language", .new_value = JsonQuote(t.language)},
  };

  prepared.request_id = in.request_id;
  prepared.fingerprint = CreateFingerprint(in, tenant_id);
  if (!in.request_id.empty()) {
    prepared.record = IdempotencyRecord{.request_id = in.request_id,
                                        .fingerprint = prepared.fingerprint,
                                        .expire_time = now + options_.idempotency_window};
  }
  return prepared;
}

absl::StatusOr<Ticket> TicketService::CreateOutcome(const std::string& request_id,
                                                    const std::string& fingerprint,
                                                    absl::StatusOr<StoredTicket> stored) {
  if (!stored.ok()) return stored.status();
  if (stored->replayed) {
    if (stored->fingerprint != fingerprint) {
      return absl::AlreadyExistsError(absl::StrCat(
          "request_id: ", JsonQuote(request_id), " was already used for ticket ",
          stored->ticket.ticket_id, " with a different request body; use a new request_id"));
    }
    observer_->IdempotentReplay();
    return std::move(stored->ticket);
  }
  observer_->TicketCreated(stored->ticket.channel, stored->ticket.priority);
  return std::move(stored->ticket);
}

absl::StatusOr<Ticket> TicketService::CreateTicket(const Caller& caller,
                                                   const CreateTicketInput& in) {
  SUNDESK_ASSIGN_OR_RETURN(PreparedCreate prepared, PrepareCreate(caller, in));
  return CreateOutcome(prepared.request_id, prepared.fingerprint,
                       store_.CreateTicket(prepared.write, prepared.record, prepared.now));
}

void TicketService::CreateTicketAsync(const Caller& caller, const CreateTicketInput& in,
                                      TicketDone done) {
  absl::StatusOr<PreparedCreate> prepared = PrepareCreate(caller, in);
  if (!prepared.ok()) {
    std::move(done)(prepared.status());
    return;
  }
  store_.CreateTicketAsync(
      std::move(prepared->write), std::move(prepared->record), prepared->now,
      [this, request_id = std::move(prepared->request_id),
       fingerprint = std::move(prepared->fingerprint),
       done = std::move(done)](absl::StatusOr<StoredTicket> stored) mutable {
        std::move(done)(CreateOutcome(request_id, fingerprint, std::move(stored)));
      });
}

absl::StatusOr<Ticket> TicketService::VisibleTicket(const Caller& caller,
                                                    const std::string& ticket_id) {
  if (ticket_id.empty()) return absl::InvalidArgumentError("ticket_id: must not be empty");
  if (!IsUuid(ticket_id)) return TicketNotFound(ticket_id);
  SUNDESK_ASSIGN_OR_RETURN(std::optional<Ticket> ticket, store_.GetTicket(ticket_id));
  if (!ticket || !CanSeeTicket(caller, *ticket)) return TicketNotFound(ticket_id);
  return *std::move(ticket);
}

absl::StatusOr<Ticket> TicketService::GetTicket(const Caller& caller,
                                                const std::string& ticket_id) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin, CallerRole::kService},
      "read tickets"));
  return VisibleTicket(caller, ticket_id);
}

absl::StatusOr<Ticket> TicketService::Change(const Caller& caller, const std::string& ticket_id,
                                             const std::string& etag, Apply apply) {
  if (!IsUuid(ticket_id)) return TicketNotFound(ticket_id);
  const absl::Time now = Now();
  return store_.ChangeTicket(
      ticket_id, [&](const Ticket& current) -> absl::StatusOr<std::optional<TicketWrite>> {
        if (!CanSeeTicket(caller, current)) return TicketNotFound(ticket_id);
        if (!etag.empty() && etag != TicketEtag(current.version)) {
          return absl::AbortedError(
              absl::StrCat("etag: ", JsonQuote(etag), " is stale (the ticket is at ",
                           TicketEtag(current.version), "); read it again and retry"));
        }
        TicketWrite write;
        write.ticket = current;
        write.ticket.version = current.version + 1;
        write.ticket.update_time = std::max(now, current.update_time);
        SUNDESK_ASSIGN_OR_RETURN(bool changed, apply(write.ticket, write));
        if (!changed) return std::nullopt;
        return write;
      });
}

absl::StatusOr<Ticket> TicketService::UpdateTicket(const Caller& caller,
                                                   const UpdateTicketInput& in) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin}, "update tickets"));
  SUNDESK_RETURN_IF_ERROR(ValidateUpdate(in, options_.limits));
  return Change(
      caller, in.ticket_id, in.etag, [&](Ticket& t, TicketWrite& w) -> absl::StatusOr<bool> {
        if (t.status == TicketStatus::kClosed) {
          return absl::FailedPreconditionError(
              "status: the ticket is TICKET_STATUS_CLOSED; no change is accepted");
        }
        const Ticket& v = in.values;
        std::vector<FieldChange> changes;
        auto note = [&](const char* field, std::string old_json, std::string new_json) {
          if (old_json != new_json) {
            changes.push_back({field, std::move(old_json), std::move(new_json)});
          }
        };
        const auto& p = in.paths;
        if (Includes(p, "subject")) {
          note("subject", JsonQuote(t.subject), JsonQuote(v.subject));
          t.subject = v.subject;
        }
        if (Includes(p, "description")) {
          note("description", JsonQuote(t.description), JsonQuote(v.description));
          t.description = v.description;
        }
        if (Includes(p, "priority")) {
          note("priority", JsonQuote(PriorityName(t.priority)),
               JsonQuote(PriorityName(v.priority)));
          t.priority = v.priority;
        }
        if (Includes(p, "tags")) {
          note("tags", JsonStringList(t.tags), JsonStringList(v.tags));
          t.tags = v.tags;
        }
        if (Includes(p, "custom_fields")) {
          note("custom_fields", JsonStringMap(t.custom_fields), JsonStringMap(v.custom_fields));
          t.custom_fields = v.custom_fields;
        }
        if (Includes(p, "category")) {
          note("category", JsonQuote(t.category), JsonQuote(v.category));
          t.category = v.category;
        }
        if (Includes(p, "language")) {
          note("language", JsonQuote(t.language), JsonQuote(v.language));
          t.language = v.language;
        }
        if (Includes(p, "required_skills")) {
          note("required_skills", JsonStringList(t.required_skills),
               JsonStringList(v.required_skills));
          t.required_skills = v.required_skills;
        }
        if (changes.empty()) return false;
        StartWrite(caller, t, "TicketUpdated", w);
        for (const auto& c : changes) w.event.changed_fields.push_back(c.field);
        w.history.changes = std::move(changes);
        return true;
      });
}

absl::StatusOr<Ticket> TicketService::TransitionTicket(const Caller& caller,
                                                       const TransitionInput& in) {
  SUNDESK_RETURN_IF_ERROR(
      CheckCallerRole(caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin},
                      "change a ticket's status"));
  SUNDESK_RETURN_IF_ERROR(ValidateTransition(in, options_.limits));
  TicketStatus from = TicketStatus::kUnspecified;
  bool changed = false;
  SUNDESK_ASSIGN_OR_RETURN(
      Ticket after,
      Change(caller, in.ticket_id, in.etag, [&](Ticket& t, TicketWrite& w) -> absl::StatusOr<bool> {
        from = t.status;
        changed = false;
        if (t.status == in.to_status) return false;
        SUNDESK_RETURN_IF_ERROR(CheckTransition(t.status, in.to_status));
        StartWrite(caller, t, "TicketStatusChanged", w);
        w.history.changes.push_back(
            {"status", JsonQuote(StatusName(t.status)), JsonQuote(StatusName(in.to_status))});
        std::optional<absl::Time> solve_time = t.solve_time;
        if (in.to_status == TicketStatus::kSolved) solve_time = t.update_time;
        if (t.status == TicketStatus::kSolved && in.to_status == TicketStatus::kOpen) {
          solve_time.reset();
        }
        if (solve_time != t.solve_time) {
          w.history.changes.push_back({"solve_time", JsonTime(t.solve_time), JsonTime(solve_time)});
          t.solve_time = solve_time;
        }
        w.event.from_status = t.status;
        w.event.to_status = in.to_status;
        w.event.reason = in.reason;
        t.status = in.to_status;
        changed = true;
        return true;
      }));
  if (changed) observer_->StatusChanged(from, after.status);
  return after;
}

absl::StatusOr<Ticket> TicketService::AssignTicket(const Caller& caller, const AssignInput& in) {
  SUNDESK_RETURN_IF_ERROR(
      CheckCallerRole(caller, {CallerRole::kService, CallerRole::kAdmin}, "assign tickets"));
  SUNDESK_RETURN_IF_ERROR(ValidateAssign(in, options_.limits));
  return Change(
      caller, in.ticket_id, in.etag, [&](Ticket& t, TicketWrite& w) -> absl::StatusOr<bool> {
        if (t.status == TicketStatus::kSolved || t.status == TicketStatus::kClosed) {
          return absl::FailedPreconditionError(
              absl::StrCat("status: a ", StatusName(t.status), " ticket cannot be assigned"));
        }
        if (t.assignee_id == in.agent_id) return false;
        StartWrite(caller, t, "TicketAssigned", w);
        w.history.changes.push_back({"assignee_id",
                                     t.assignee_id.empty() ? "null" : JsonQuote(t.assignee_id),
                                     JsonQuote(in.agent_id)});
        w.event.agent_id = in.agent_id;
        w.event.previous_agent_id = t.assignee_id;
        w.event.routing_stage = in.routing_stage;
        w.event.offer_id = in.offer_id;
        t.assignee_id = in.agent_id;
        return true;
      });
}

absl::StatusOr<Ticket> TicketService::UnassignTicket(const Caller& caller,
                                                     const UnassignInput& in) {
  SUNDESK_RETURN_IF_ERROR(
      CheckCallerRole(caller, {CallerRole::kService, CallerRole::kAdmin}, "unassign tickets"));
  SUNDESK_RETURN_IF_ERROR(ValidateUnassign(in, options_.limits));
  return Change(caller, in.ticket_id, in.etag,
                [&](Ticket& t, TicketWrite& w) -> absl::StatusOr<bool> {
                  if (t.assignee_id.empty()) return false;
                  StartWrite(caller, t, "TicketUnassigned", w);
                  w.history.changes.push_back({"assignee_id", JsonQuote(t.assignee_id), "null"});
                  w.event.previous_agent_id = t.assignee_id;
                  w.event.reason = in.reason;
                  t.assignee_id.clear();
                  return true;
                });
}

absl::StatusOr<Comment> TicketService::AddComment(const Caller& caller, const AddCommentInput& in) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin}, "add comments"));
  SUNDESK_RETURN_IF_ERROR(ValidateComment(in, options_.limits));
  if (caller.role == CallerRole::kClient && !in.is_public) {
    return absl::PermissionDeniedError(
        "public: a CLIENT key may not write internal comments (set public = true)");
  }
  if (!IsUuid(in.ticket_id)) return TicketNotFound(in.ticket_id);
  const absl::Time now = Now();
  const std::string fingerprint =
      Fingerprint().Add(in.ticket_id).Add(in.body).Add(in.is_public ? 1 : 0).Hex();
  std::optional<IdempotencyRecord> record;
  if (!in.request_id.empty()) {
    record = IdempotencyRecord{.request_id = in.request_id,
                               .fingerprint = fingerprint,
                               .expire_time = now + options_.idempotency_window};
  }
  SUNDESK_ASSIGN_OR_RETURN(
      StoredComment stored,
      store_.AddComment(
          in.ticket_id, record, now,
          [&](const Ticket& current) -> absl::StatusOr<std::optional<TicketWrite>> {
            if (!CanSeeTicket(caller, current)) return TicketNotFound(in.ticket_id);
            if (current.status == TicketStatus::kClosed) {
              return absl::FailedPreconditionError(
                  "status: the ticket is TICKET_STATUS_CLOSED; no comment is accepted");
            }
            TicketWrite w;
            w.ticket = current;
            Ticket& t = w.ticket;
            t.version = current.version + 1;
            t.update_time = std::max(now, current.update_time);
            Comment c;
            c.comment_id = ids_.NewId();
            c.ticket_id = t.ticket_id;
            c.tenant_id = t.tenant_id;
            c.body = in.body;
            c.is_public = in.is_public;
            c.create_time = t.update_time;
            c.version = t.version;
            if (caller.role == CallerRole::kClient) {
              c.author_kind = AuthorKind::kCustomer;
              c.author_id = t.requester.external_id;
            } else {
              c.author_kind = AuthorKind::kAgent;
              c.author_id = caller.role == CallerRole::kAgent ? caller.agent_id : caller.key_id;
            }
            StartWrite(caller, t, "CommentAdded", w);
            const bool first_response =
                c.author_kind == AuthorKind::kAgent && c.is_public && !t.first_response_time &&
                (t.status == TicketStatus::kNew || t.status == TicketStatus::kOpen);
            if (first_response) {
              w.history.changes.push_back({"first_response_time", "null", JsonTime(t.update_time)});
              t.first_response_time = t.update_time;
            }
            w.event.first_response = first_response;
            w.history.comment_id = c.comment_id;
            w.history.internal = !c.is_public;
            w.comment = std::move(c);
            return w;
          }));
  if (stored.replayed) {
    if (stored.fingerprint != fingerprint) {
      return absl::AlreadyExistsError(
          absl::StrCat("request_id: ", JsonQuote(in.request_id), " was already used for comment ",
                       stored.comment.comment_id, " with a different body; use a new request_id"));
    }
    observer_->IdempotentReplay();
  }
  return stored.comment;
}

absl::StatusOr<ListTicketsOutput> TicketService::ListTickets(const Caller& caller,
                                                             const ListTicketsInput& in) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin, CallerRole::kService},
      "list tickets"));
  SUNDESK_RETURN_IF_ERROR(ValidateFilter(in.filter));
  SUNDESK_ASSIGN_OR_RETURN(int page_size, api::ResolvePageSize("page_size", in.page_size));
  TicketQuery q;
  q.filter = in.filter;
  q.limit = page_size + 1;
  const std::string lowered = absl::AsciiStrToLower(absl::StripAsciiWhitespace(in.order_by));
  absl::string_view order = lowered.empty() ? absl::string_view("create_time desc") : lowered;
  q.descending = false;
  if (absl::ConsumeSuffix(&order, " desc")) {
    q.descending = true;
  } else {
    absl::ConsumeSuffix(&order, " asc");
  }
  order = absl::StripAsciiWhitespace(order);
  if (order == "create_time") {
    q.order = TicketOrder::kCreateTime;
  } else if (order == "update_time") {
    q.order = TicketOrder::kUpdateTime;
  } else if (order == "priority") {
    q.order = TicketOrder::kPriority;
  } else {
    return absl::InvalidArgumentError(
        "order_by: must be create_time, update_time or priority, optionally followed by "
        "\" desc\"");
  }
  if (!q.filter.tenant_id.empty() && !IsUuid(q.filter.tenant_id)) {
    return absl::InvalidArgumentError("filter.tenant_id: must be a tenant id (a UUID)");
  }
  // Narrow to the caller's scope; a filter outside it matches nothing.
  bool outside_scope = false;
  if (caller.role == CallerRole::kClient) {
    outside_scope = !q.filter.tenant_id.empty() && q.filter.tenant_id != caller.tenant_id;
    q.filter.tenant_id = caller.tenant_id;
  } else if (caller.role == CallerRole::kAgent) {
    outside_scope = q.filter.unassigned ||
                    (!q.filter.assignee_id.empty() && q.filter.assignee_id != caller.agent_id);
    q.filter.assignee_id = caller.agent_id;
  }
  const TicketFilter& f = in.filter;
  const std::string query = absl::StrCat(
      "tickets|", static_cast<int>(f.status), "|", static_cast<int>(f.priority), "|",
      JsonQuote(f.assignee_id), "|", JsonQuote(f.language), "|", JsonQuote(f.tag), "|",
      TimeOrNull(f.created_after), "|", TimeOrNull(f.created_before), "|", JsonQuote(f.tenant_id),
      "|", f.unassigned, "|", static_cast<int>(q.order), "|", q.descending);
  const std::string scope = CallerScope(caller);
  if (!in.page_token.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(std::string position,
                             tokens_.Verify("page_token", scope, query, in.page_token));
    SUNDESK_ASSIGN_OR_RETURN(q.after, ParsePosition(position));
  }
  ListTicketsOutput out;
  if (outside_scope) return out;
  SUNDESK_ASSIGN_OR_RETURN(out.tickets, store_.ListTickets(q));
  if (static_cast<int>(out.tickets.size()) > page_size) {
    out.tickets.resize(page_size);
    const Ticket& last = out.tickets.back();
    int64_t key = q.order == TicketOrder::kCreateTime   ? absl::ToUnixMicros(last.create_time)
                  : q.order == TicketOrder::kUpdateTime ? absl::ToUnixMicros(last.update_time)
                                                        : static_cast<int64_t>(last.priority);
    out.next_page_token = tokens_.Sign(scope, query, Position(key, last.ticket_id));
  }
  return out;
}

absl::StatusOr<ListCommentsOutput> TicketService::ListComments(const Caller& caller,
                                                               const ListCommentsInput& in) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin, CallerRole::kService},
      "list comments"));
  SUNDESK_ASSIGN_OR_RETURN(int page_size, api::ResolvePageSize("page_size", in.page_size));
  SUNDESK_ASSIGN_OR_RETURN(Ticket ticket, VisibleTicket(caller, in.ticket_id));
  const bool public_only = in.public_only || caller.role == CallerRole::kClient;
  const std::string scope = CallerScope(caller);
  const std::string query = absl::StrCat("comments|", ticket.ticket_id, "|", public_only);
  ListCommentsOutput out;
  SUNDESK_RETURN_IF_ERROR(PageByVersion(
      tokens_, scope, query, in.page_token, page_size,
      [&](int64_t after, int limit) {
        return store_.ListComments(ticket.ticket_id, public_only, after, limit);
      },
      out.comments, out.next_page_token));
  return out;
}

absl::StatusOr<HistoryOutput> TicketService::GetTicketHistory(const Caller& caller,
                                                              const HistoryInput& in) {
  SUNDESK_RETURN_IF_ERROR(CheckCallerRole(
      caller, {CallerRole::kClient, CallerRole::kAgent, CallerRole::kAdmin, CallerRole::kService},
      "read ticket history"));
  SUNDESK_ASSIGN_OR_RETURN(
      int page_size,
      api::ResolvePageSize("page_size", in.page_size == 0 ? kDefaultHistoryPage : in.page_size));
  SUNDESK_ASSIGN_OR_RETURN(Ticket ticket, VisibleTicket(caller, in.ticket_id));
  const bool include_internal = caller.role != CallerRole::kClient;
  const std::string scope = CallerScope(caller);
  const std::string query = absl::StrCat("history|", ticket.ticket_id);
  HistoryOutput out;
  SUNDESK_RETURN_IF_ERROR(PageByVersion(
      tokens_, scope, query, in.page_token, page_size,
      [&](int64_t after, int limit) {
        return store_.ListHistory(ticket.ticket_id, include_internal, after, limit);
      },
      out.entries, out.next_page_token));
  return out;
}

}  // namespace sundesk::ticket
