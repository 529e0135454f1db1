#pragma once
// The per-ticket ledger: every clock change, hash-chained so a client can verify that nobody
// rewrote its history.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/sla/domain/sla_model.h"

namespace sundesk::sla {

// Lowercase hex SHA-256 of `entry`'s deterministic protobuf serialization with `hash` cleared
// (it covers `prev_hash`, which chains it to the entry before).
std::string LedgerHash(const LedgerEntry& entry);

// Gives `entry` the next sequence and the chain's hashes and appends it. `ledger` may be the
// whole chain or only its last entry.
void AppendToLedger(std::vector<LedgerEntry>& ledger, LedgerEntry entry);

// OK when sequences run 1, 2, 3, ..., each prev_hash is the previous hash and each hash is
// right; otherwise DATA_LOSS naming the first entry that breaks the chain.
absl::Status VerifyLedger(const std::vector<LedgerEntry>& ledger);

}  // namespace sundesk::sla
