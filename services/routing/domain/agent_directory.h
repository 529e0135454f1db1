#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/routing/domain/agent.h"
#include "services/routing/domain/agent_store.h"
#include "libs/api/page_token.h"

namespace sundesk::routing {

inline constexpr size_t kMaxDisplayNameChars = 200;
inline constexpr size_t kMaxAgentLanguages = 32;
inline constexpr size_t kMaxAgentSkills = 128;  // Agent.skills in resources.proto
inline constexpr size_t kMaxSkillNameChars = 64;
inline constexpr size_t kMaxCertifications = 256;
inline constexpr size_t kMaxShifts = 64;
inline constexpr int kMaxCapacity = 1000;
inline constexpr int kMaxTier = 9;
inline constexpr size_t kMaxAgentIdChars = 63;

struct AgentPage {
  std::vector<Agent> agents;
  std::string next_page_token;  // empty on the last page
};

// The agent directory: validation, idempotent creates, optimistic concurrency, paging.
// Who may call what is the api layer's business. Error messages name the request's field
// ("agent.languages[1].code").
class AgentDirectory {
 public:
  AgentDirectory(AgentStore& store, const Clock& clock, IdGenerator& ids,
                 const api::PageTokenSigner& page_tokens)
      : store_(store), clock_(clock), ids_(ids), page_tokens_(page_tokens) {}

  // Output-only fields of `agent` are ignored; `agent_id` empty lets the server choose.
  // The same non-empty `request_id` returns the agent it created; with another body,
  // ALREADY_EXISTS.
  absl::StatusOr<Agent> CreateAgent(absl::string_view request_id, Agent agent,
                                    absl::string_view agent_id);
  absl::StatusOr<Agent> GetAgent(absl::string_view agent_id);
  // `scope` binds page tokens to the caller.
  absl::StatusOr<AgentPage> ListAgents(absl::string_view scope, const AgentFilter& filter,
                                       int64_t page_size, absl::string_view page_token);
  // Copies the fields named in `update_mask` from `changes` onto agent `changes.agent_id`.
  absl::StatusOr<Agent> UpdateAgent(const Agent& changes,
                                    const std::vector<std::string>& update_mask,
                                    absl::string_view etag);

 private:
  AgentStore& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  const api::PageTokenSigner& page_tokens_;
};

// Every check of an agent's writable fields, naming fields under "agent.".
absl::Status ValidateAgent(const Agent& agent);
// A caller-chosen agent id: 1-63 chars of [a-z0-9-].
absl::Status CheckAgentId(absl::string_view field, absl::string_view agent_id);

}  // namespace sundesk::routing
