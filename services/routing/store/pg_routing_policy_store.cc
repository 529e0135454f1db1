#include "services/routing/store/pg_routing_policy_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

std::string EncodeStages(const std::vector<OverflowStage>& stages) {
  return absl::StrJoin(stages, ",", [](std::string* out, const OverflowStage& s) {
    absl::StrAppend(out, s.after_seconds, ":", static_cast<int>(s.relax));
  });
}

absl::StatusOr<std::vector<OverflowStage>> DecodeStages(absl::string_view text) {
  std::vector<OverflowStage> stages;
  if (text.empty()) return stages;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, ':');
    int after = 0;
    int relax = 0;
    if (!absl::SimpleAtoi(kv.first, &after) || !absl::SimpleAtoi(kv.second, &relax)) {
      return absl::InternalError(absl::StrCat("routing_policies: malformed stage '", part, "'"));
    }
    stages.push_back({after, static_cast<OverflowRelax>(relax)});
  }
  return stages;
}

}  // namespace

absl::StatusOr<StoredRoutingPolicy> RoutingPolicyFromRow(const pg::Result& r, int row,
                                                         absl::string_view tenant_id) {
  StoredRoutingPolicy s;
  s.policy.tenant_id = std::string(tenant_id);
  SUNDESK_ASSIGN_OR_RETURN(s.policy.overflow_stages, DecodeStages(r.Text(row, "overflow_stages")));
  SUNDESK_ASSIGN_OR_RETURN(int64_t timeout_ms, r.Int64(row, "offer_timeout_ms"));
  s.policy.offer_timeout = absl::Milliseconds(timeout_ms);
  SUNDESK_ASSIGN_OR_RETURN(int64_t min_proficiency, r.Int64(row, "min_language_proficiency"));
  s.policy.min_language_proficiency = static_cast<int>(min_proficiency);
  SUNDESK_ASSIGN_OR_RETURN(s.version, r.Int64(row, "version"));
  SUNDESK_ASSIGN_OR_RETURN(s.update_time, r.Time(row, "update_time"));
  return s;
}

absl::StatusOr<std::optional<StoredRoutingPolicy>> PgRoutingPolicyStore::Get(
    absl::string_view tenant_id) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn->Execute(absl::StrCat("SELECT ", kRoutingPolicyColumns,
                                 " FROM routing.routing_policies WHERE tenant_id = $1::uuid"),
                    {tenant_id}));
  if (r.rows() == 0) return std::optional<StoredRoutingPolicy>();
  SUNDESK_ASSIGN_OR_RETURN(StoredRoutingPolicy s, RoutingPolicyFromRow(r, 0, tenant_id));
  return std::optional<StoredRoutingPolicy>(std::move(s));
}

absl::Status PgRoutingPolicyStore::Put(const StoredRoutingPolicy& s, int64_t expected_version) {
  SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool_.Acquire());
  const std::vector<pg::Param> params = {s.policy.tenant_id,
                                         EncodeStages(s.policy.overflow_stages),
                                         absl::ToInt64Milliseconds(s.policy.offer_timeout),
                                         s.policy.min_language_proficiency,
                                         s.version,
                                         s.update_time,
                                         expected_version};
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      expected_version == 0
          ? conn->Execute("INSERT INTO routing.routing_policies (tenant_id, overflow_stages, "
                          "offer_timeout_ms, min_language_proficiency, version, update_time) "
                          "SELECT $1::uuid, $2, $3, $4, $5, $6 WHERE $7::bigint = 0 "
                          "ON CONFLICT (tenant_id) DO NOTHING",
                          params)
          : conn->Execute("UPDATE routing.routing_policies SET overflow_stages = $2, "
                          "offer_timeout_ms = $3, min_language_proficiency = $4, version = $5, "
                          "update_time = $6 WHERE tenant_id = $1::uuid AND version = $7",
                          params));
  if (r.affected_rows() == 0) {
    return absl::AbortedError("etag: the routing policy changed concurrently; re-read and retry");
  }
  return absl::OkStatus();
}

}  // namespace sundesk::routing
