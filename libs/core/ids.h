#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"

namespace sundesk {

// Makes ids. Injected like Clock, so tests can make predictable ones.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string NewId() = 0;
};

// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter that keeps ids
// made in the same millisecond in order (method 1 of RFC 9562 section 6.2), then 62
// random bits. Ids sort by creation time, which keeps B-tree inserts at the right edge.
class UuidV7Generator final : public IdGenerator {
 public:
  explicit UuidV7Generator(const Clock& clock, uint64_t seed = std::random_device{}());
  std::string NewId() override;

 private:
  const Clock& clock_;
  absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  int64_t last_ms_ ABSL_GUARDED_BY(mu_) = -1;
  uint16_t counter_ ABSL_GUARDED_BY(mu_) = 0;
};

// A UUID in canonical 8-4-4-4-12 lowercase hex form.
bool IsUuid(absl::string_view s);

// The same UUID for the same `name`, on every replica and after every restart: the first
// 16 bytes of SHA-256(name) as a version 8 UUID (RFC 9562). For ids a retry must repeat —
// e.g. an event written again after a crash, which consumers then de-duplicate by id.
std::string NameBasedUuid(absl::string_view name);

// The Unix-millisecond timestamp a UUIDv7 carries.
int64_t UuidV7Millis(absl::string_view uuid);

}  // namespace sundesk
