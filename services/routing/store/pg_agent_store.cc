#include "services/routing/store/pg_agent_store.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"
#include "libs/pg/errors.h"
#include "libs/pg/transaction.h"

namespace sundesk::routing {
namespace {

constexpr absl::string_view kAgentColumns =
    "agent_id, display_name, capacity, time_zone, tier, disabled, version, create_time, "
    "update_time";

template <typename T, typename Fn>
pg::Param ArrayOf(const std::vector<T>& items, Fn&& fn) {
  std::vector<std::string> values;
  values.reserve(items.size());
  for (const T& item : items) values.push_back(fn(item));
  return pg::Param::TextArray(values);
}

absl::StatusOr<Agent> AgentFromRow(const pg::Result& r, int row) {
  Agent a;
  a.agent_id = std::string(r.Text(row, "agent_id"));
  a.display_name = std::string(r.Text(row, "display_name"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t capacity, r.Int64(row, "capacity"));
  a.capacity = static_cast<int>(capacity);
  a.time_zone = std::string(r.Text(row, "time_zone"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t tier, r.Int64(row, "tier"));
  a.tier = static_cast<int>(tier);
  SUNDESK_ASSIGN_OR_RETURN(a.disabled, r.Bool(row, "disabled"));
  SUNDESK_ASSIGN_OR_RETURN(a.version, r.Int64(row, "version"));
  SUNDESK_ASSIGN_OR_RETURN(a.create_time, r.Time(row, "create_time"));
  SUNDESK_ASSIGN_OR_RETURN(a.update_time, r.Time(row, "update_time"));
  return a;
}

// Fills the repeated fields of `agents` from the child tables: four queries for the page.
absl::Status LoadChildren(pg::Connection& conn, std::vector<Agent>& agents) {
  if (agents.empty()) return absl::OkStatus();
  std::map<std::string, Agent*> by_id;
  std::vector<std::string> ids;
  for (Agent& a : agents) {
    by_id[a.agent_id] = &a;
    ids.push_back(a.agent_id);
  }
  const pg::Param id_array = pg::Param::TextArray(ids);
  {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        conn.Execute("SELECT agent_id, code, proficiency FROM routing.agent_languages "
                     "WHERE agent_id = ANY($1::text[]) ORDER BY agent_id, position",
                     {id_array}));
    for (int row = 0; row < r.rows(); ++row) {
      SUNDESK_ASSIGN_OR_RETURN(int64_t p, r.Int64(row, "proficiency"));
      by_id[std::string(r.Text(row, "agent_id"))]->languages.push_back(
          {std::string(r.Text(row, "code")), static_cast<int>(p)});
    }
  }
  {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r, conn.Execute("SELECT agent_id, name, level FROM routing.agent_skills "
                                   "WHERE agent_id = ANY($1::text[]) ORDER BY agent_id, position",
                                   {id_array}));
    for (int row = 0; row < r.rows(); ++row) {
      SUNDESK_ASSIGN_OR_RETURN(int64_t level, r.Int64(row, "level"));
      by_id[std::string(r.Text(row, "agent_id"))]->skills.push_back(
          {std::string(r.Text(row, "name")), static_cast<int>(level)});
    }
  }
  {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r, conn.Execute("SELECT agent_id, tenant_id::text AS tenant_id, expire_time "
                                   "FROM routing.agent_certifications "
                                   "WHERE agent_id = ANY($1::text[]) ORDER BY agent_id, position",
                                   {id_array}));
    for (int row = 0; row < r.rows(); ++row) {
      Certification c;
      c.tenant_id = std::string(r.Text(row, "tenant_id"));
      if (!r.IsNull(row, "expire_time")) {
        SUNDESK_ASSIGN_OR_RETURN(absl::Time t, r.Time(row, "expire_time"));
        c.expire_time = t;
      }
      by_id[std::string(r.Text(row, "agent_id"))]->certifications.push_back(std::move(c));
    }
  }
  {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        conn.Execute("SELECT agent_id, weekday, start, \"end\" FROM routing.agent_shifts "
                     "WHERE agent_id = ANY($1::text[]) ORDER BY agent_id, position",
                     {id_array}));
    for (int row = 0; row < r.rows(); ++row) {
      SUNDESK_ASSIGN_OR_RETURN(int64_t weekday, r.Int64(row, "weekday"));
      by_id[std::string(r.Text(row, "agent_id"))]->shifts.push_back(
          {static_cast<int>(weekday), std::string(r.Text(row, "start")),
           std::string(r.Text(row, "end"))});
    }
  }
  return absl::OkStatus();
}

// Writes the repeated fields of `a` (after the old ones were deleted, or on insert).
absl::Status InsertChildren(pg::Connection& tx, const Agent& a) {
  if (!a.languages.empty()) {
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute(
              "INSERT INTO routing.agent_languages (agent_id, position, code, proficiency) "
              "SELECT $1, n, code, proficiency FROM unnest($2::text[], $3::smallint[]) "
              "WITH ORDINALITY AS t(code, proficiency, n)",
              {a.agent_id, ArrayOf(a.languages, [](const auto& l) { return l.code; }),
               ArrayOf(a.languages, [](const auto& l) { return absl::StrCat(l.proficiency); })})
            .status());
  }
  if (!a.skills.empty()) {
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute("INSERT INTO routing.agent_skills (agent_id, position, name, level) "
                   "SELECT $1, n, name, level FROM unnest($2::text[], $3::smallint[]) "
                   "WITH ORDINALITY AS t(name, level, n)",
                   {a.agent_id, ArrayOf(a.skills, [](const auto& s) { return s.name; }),
                    ArrayOf(a.skills, [](const auto& s) { return absl::StrCat(s.level); })})
            .status());
  }
  for (size_t i = 0; i < a.certifications.size(); ++i) {
    const Certification& c = a.certifications[i];
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute("INSERT INTO routing.agent_certifications "
                   "(agent_id, position, tenant_id, expire_time) VALUES ($1, $2, $3::uuid, $4)",
                   {a.agent_id, static_cast<int64_t>(i + 1), c.tenant_id, c.expire_time})
            .status());
  }
  if (!a.shifts.empty()) {
    SUNDESK_RETURN_IF_ERROR(
        tx.Execute(
              "INSERT INTO routing.agent_shifts (agent_id, position, weekday, start, \"end\") "
              "SELECT $1, n, weekday, s, e FROM unnest($2::smallint[], $3::text[], "
              "$4::text[]) WITH ORDINALITY AS t(weekday, s, e, n)",
              {a.agent_id, ArrayOf(a.shifts, [](const auto& s) { return absl::StrCat(s.weekday); }),
               ArrayOf(a.shifts, [](const auto& s) { return s.start; }),
               ArrayOf(a.shifts, [](const auto& s) { return s.end; })})
            .status());
  }
  return absl::OkStatus();
}

absl::Status AgentNotFound(absl::string_view agent_id) {
  return absl::NotFoundError(absl::StrCat("agent '", agent_id, "' not found"));
}

absl::StatusOr<Agent> ReadAgent(pg::Connection& conn, absl::string_view agent_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn.Execute(absl::StrCat("SELECT ", kAgentColumns,
                                                     " FROM routing.agents WHERE agent_id = $1"),
                                        {agent_id}));
  if (r.rows() == 0) return AgentNotFound(agent_id);
  std::vector<Agent> agents;
  SUNDESK_ASSIGN_OR_RETURN(Agent a, AgentFromRow(r, 0));
  agents.push_back(std::move(a));
  SUNDESK_RETURN_IF_ERROR(LoadChildren(conn, agents));
  return std::move(agents.front());
}

}  // namespace

absl::StatusOr<CreatedAgent> PgAgentStore::CreateAgent(const Agent& agent,
                                                       absl::string_view request_id,
                                                       absl::string_view request_hash) {
  auto find_by_request = [&]() -> absl::StatusOr<CreatedAgent> {
    SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
    SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                             conn->Execute("SELECT agent_id, request_hash FROM routing.agents "
                                           "WHERE request_id = $1",
                                           {request_id}));
    if (r.rows() == 0) return absl::NotFoundError("no agent for this request_id");
    SUNDESK_ASSIGN_OR_RETURN(std::string hash, r.Bytea(0, "request_hash"));
    SUNDESK_ASSIGN_OR_RETURN(Agent existing, ReadAgent(*conn, r.Text(0, "agent_id")));
    return CreatedAgent{std::move(existing), std::move(hash), false};
  };
  bool inserted = false;
  absl::Status st = pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute("INSERT INTO routing.agents (agent_id, display_name, capacity, time_zone, "
                   "tier, disabled, version, request_id, request_hash, create_time, update_time) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
                   "ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING "
                   "RETURNING agent_id",
                   {agent.agent_id, agent.display_name, agent.capacity, agent.time_zone, agent.tier,
                    agent.disabled, agent.version,
                    request_id.empty() ? pg::Param::Null() : pg::Param(request_id),
                    request_id.empty() ? pg::Param::Null() : pg::Param::Bytea(request_hash),
                    agent.create_time}));
    inserted = r.rows() == 1;
    if (!inserted) return absl::OkStatus();  // request_id seen before
    return InsertChildren(tx, agent);
  });
  if (!st.ok()) {
    if (pg::ConstraintName(st) == "agents_pkey") {
      // Two racing retries of one request collide on the id before the request id.
      if (!request_id.empty()) {
        absl::StatusOr<CreatedAgent> existing = find_by_request();
        if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
      }
      return absl::AlreadyExistsError(
          absl::StrCat("agent_id: '", agent.agent_id, "' is taken by another agent"));
    }
    return st;
  }
  if (!inserted) return find_by_request();
  return CreatedAgent{agent, std::string(request_hash), true};
}

absl::StatusOr<Agent> PgAgentStore::GetAgent(absl::string_view agent_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  return ReadAgent(*conn, agent_id);
}

absl::StatusOr<std::vector<Agent>> PgAgentStore::ListAgents(
    const AgentFilter& filter, absl::Time now, const std::optional<AgentPosition>& after,
    int limit) {
  std::vector<pg::Param> params;
  std::vector<std::string> where;
  auto param = [&](pg::Param p) {
    params.push_back(std::move(p));
    return absl::StrCat("$", params.size());
  };
  if (!filter.include_disabled) where.push_back("NOT a.disabled");
  if (!filter.tenant_id.empty()) {
    where.push_back(absl::StrCat(
        "EXISTS (SELECT 1 FROM routing.agent_certifications c WHERE c.agent_id = a.agent_id "
        "AND c.tenant_id = ",
        param(filter.tenant_id), "::uuid AND (c.expire_time IS NULL OR c.expire_time > ",
        param(now), "))"));
  }
  if (!filter.language.empty()) {
    where.push_back(absl::StrCat(
        "EXISTS (SELECT 1 FROM routing.agent_languages l WHERE l.agent_id = a.agent_id "
        "AND lower(l.code) = lower(",
        param(filter.language), "))"));
  }
  if (!filter.skill.empty()) {
    where.push_back(
        absl::StrCat("EXISTS (SELECT 1 FROM routing.agent_skills s WHERE s.agent_id = a.agent_id "
                     "AND s.name = ",
                     param(filter.skill), ")"));
  }
  if (filter.tier != 0) where.push_back(absl::StrCat("a.tier = ", param(filter.tier)));
  if (after.has_value()) {
    where.push_back(absl::StrCat("(a.display_name COLLATE \"C\", a.agent_id) > (",
                                 param(after->display_name), " COLLATE \"C\", ",
                                 param(after->agent_id), ")"));
  }
  const std::string sql =
      absl::StrCat("SELECT ", kAgentColumns, " FROM routing.agents a",
                   where.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")),
                   " ORDER BY a.display_name COLLATE \"C\", a.agent_id LIMIT ", param(limit));
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn->Execute(sql, params));
  std::vector<Agent> agents;
  agents.reserve(r.rows());
  for (int row = 0; row < r.rows(); ++row) {
    SUNDESK_ASSIGN_OR_RETURN(Agent a, AgentFromRow(r, row));
    agents.push_back(std::move(a));
  }
  SUNDESK_RETURN_IF_ERROR(LoadChildren(*conn, agents));
  return agents;
}

absl::StatusOr<Agent> PgAgentStore::UpdateAgent(const Agent& agent, absl::Time now) {
  Agent updated = agent;
  updated.version = agent.version + 1;
  updated.update_time = now;
  SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool_, [&](pg::Connection& tx) -> absl::Status {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Execute("UPDATE routing.agents SET display_name = $3, capacity = $4, time_zone = $5, "
                   "tier = $6, disabled = $7, version = $8, update_time = $9 "
                   "WHERE agent_id = $1 AND version = $2 RETURNING create_time",
                   {agent.agent_id, agent.version, agent.display_name, agent.capacity,
                    agent.time_zone, agent.tier, agent.disabled, updated.version, now}));
    if (r.rows() == 0) {
      SUNDESK_ASSIGN_OR_RETURN(
          pg::Result exists,
          tx.Execute("SELECT 1 FROM routing.agents WHERE agent_id = $1", {agent.agent_id}));
      if (exists.rows() == 0) return AgentNotFound(agent.agent_id);
      return absl::AbortedError("etag: the agent changed concurrently; re-read and retry");
    }
    for (absl::string_view table :
         {"agent_languages", "agent_skills", "agent_certifications", "agent_shifts"}) {
      SUNDESK_RETURN_IF_ERROR(
          tx.Execute(absl::StrCat("DELETE FROM routing.", table, " WHERE agent_id = $1"),
                     {agent.agent_id})
              .status());
    }
    return InsertChildren(tx, updated);
  }));
  return updated;
}

absl::StatusOr<int64_t> PgAgentStore::DirectoryRevision() {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                           conn->Execute("SELECT revision FROM routing.agent_directory_revision"));
  if (r.rows() != 1) return absl::InternalError("routing.agent_directory_revision: no row");
  return r.Int64(0, "revision");
}

}  // namespace sundesk::routing
