#pragma once
// An in-memory TicketStore for the domain's unit tests: one mutex, no transactions needed.

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/ticket/domain/ticket_store.h"

namespace sundesk::ticket::testing {

class FakeTicketStore final : public TicketStore {
 public:
  void AddTenant(const std::string& tenant_id, const std::string& default_language) {
    absl::MutexLock lock(&mu_);
    tenants_[tenant_id] = default_language;
  }

  absl::StatusOr<std::string> TenantDefaultLanguage(const std::string& tenant_id) override {
    absl::MutexLock lock(&mu_);
    auto it = tenants_.find(tenant_id);
    if (it == tenants_.end()) return absl::NotFoundError("no tenant");
    return it->second;
  }

  absl::StatusOr<StoredTicket> CreateTicket(const TicketWrite& created,
                                            const std::optional<IdempotencyRecord>& idempotency,
                                            absl::Time now) override {
    absl::MutexLock lock(&mu_);
    if (idempotency) {
      auto key =
          std::make_tuple(created.ticket.tenant_id, std::string("create"), idempotency->request_id);
      auto it = records_.find(key);
      if (it != records_.end() && it->second.record.expire_time > now) {
        return StoredTicket{.ticket = tickets_.at(it->second.id),
                            .replayed = true,
                            .fingerprint = it->second.record.fingerprint};
      }
      records_[key] = {*idempotency, created.ticket.ticket_id};
    }
    Commit(created);
    return StoredTicket{.ticket = created.ticket};
  }

  absl::StatusOr<std::optional<Ticket>> GetTicket(const std::string& ticket_id) override {
    absl::MutexLock lock(&mu_);
    auto it = tickets_.find(ticket_id);
    if (it == tickets_.end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<Ticket> ChangeTicket(const std::string& ticket_id, Change change) override {
    absl::MutexLock lock(&mu_);
    auto it = tickets_.find(ticket_id);
    if (it == tickets_.end()) return absl::NotFoundError("ticket_id: no ticket");
    auto write = change(it->second);
    if (!write.ok()) return write.status();
    if (!*write) return it->second;
    Commit(**write);
    return (*write)->ticket;
  }

  absl::StatusOr<StoredComment> AddComment(const std::string& ticket_id,
                                           const std::optional<IdempotencyRecord>& idempotency,
                                           absl::Time now, Change change) override {
    absl::MutexLock lock(&mu_);
    auto it = tickets_.find(ticket_id);
    if (it == tickets_.end()) return absl::NotFoundError("ticket_id: no ticket");
    auto write = change(it->second);
    if (!write.ok()) return write.status();
    if (idempotency) {
      auto key =
          std::make_tuple(it->second.tenant_id, "comment:" + ticket_id, idempotency->request_id);
      auto rec = records_.find(key);
      if (rec != records_.end() && rec->second.record.expire_time > now) {
        for (const Comment& c : comments_) {
          if (c.comment_id == rec->second.id) {
            return StoredComment{
                .comment = c, .replayed = true, .fingerprint = rec->second.record.fingerprint};
          }
        }
      }
      records_[key] = {*idempotency, (*write)->comment->comment_id};
    }
    Commit(**write);
    return StoredComment{.comment = *(*write)->comment};
  }

  absl::StatusOr<std::vector<Ticket>> ListTickets(const TicketQuery& q) override {
    absl::MutexLock lock(&mu_);
    std::vector<Ticket> out;
    for (const auto& [id, t] : tickets_) {
      const TicketFilter& f = q.filter;
      if (!f.tenant_id.empty() && t.tenant_id != f.tenant_id) continue;
      if (!f.assignee_id.empty() && t.assignee_id != f.assignee_id) continue;
      if (f.status != TicketStatus::kUnspecified && t.status != f.status) continue;
      if (f.priority != Priority::kUnspecified && t.priority != f.priority) continue;
      if (!f.language.empty() && t.language != f.language) continue;
      auto key = std::make_pair(absl::ToUnixMicros(t.create_time), t.ticket_id);
      if (q.after && (q.descending ? key >= *q.after : key <= *q.after)) continue;
      out.push_back(t);
    }
    std::sort(out.begin(), out.end(), [&](const Ticket& a, const Ticket& b) {
      auto ka = std::make_pair(a.create_time, a.ticket_id);
      auto kb = std::make_pair(b.create_time, b.ticket_id);
      return q.descending ? ka > kb : ka < kb;
    });
    if (static_cast<int>(out.size()) > q.limit) out.resize(q.limit);
    return out;
  }

  absl::StatusOr<std::vector<Comment>> ListComments(const std::string& ticket_id, bool public_only,
                                                    int64_t after_version, int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<Comment> out;
    for (const Comment& c : comments_) {
      if (c.ticket_id != ticket_id || c.version <= after_version) continue;
      if (public_only && !c.is_public) continue;
      if (static_cast<int>(out.size()) < limit) out.push_back(c);
    }
    return out;
  }

  absl::StatusOr<std::vector<HistoryEntry>> ListHistory(const std::string& ticket_id,
                                                        bool include_internal,
                                                        int64_t after_version, int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<HistoryEntry> out;
    for (const HistoryEntry& h : history_) {
      if (h.ticket_id != ticket_id || h.version <= after_version) continue;
      if (!include_internal && h.internal) continue;
      if (static_cast<int>(out.size()) < limit) out.push_back(h);
    }
    return out;
  }

  std::vector<TicketEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  struct Record {
    IdempotencyRecord record;
    std::string id;
  };

  void Commit(const TicketWrite& w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    tickets_[w.ticket.ticket_id] = w.ticket;
    history_.push_back(w.history);
    events_.push_back(w.event);
    if (w.comment) comments_.push_back(*w.comment);
  }

  absl::Mutex mu_;
  std::map<std::string, std::string> tenants_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Ticket> tickets_ ABSL_GUARDED_BY(mu_);
  std::vector<HistoryEntry> history_ ABSL_GUARDED_BY(mu_);
  std::vector<TicketEvent> events_ ABSL_GUARDED_BY(mu_);
  std::vector<Comment> comments_ ABSL_GUARDED_BY(mu_);
  std::map<std::tuple<std::string, std::string, std::string>, Record> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::ticket::testing
