#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sundesk {

// One configuration option. Its flag is `--<name>=value` and its environment variable
// `SUNDESK_<NAME>` with '-' as '_' (`grpc-addr` -> `SUNDESK_GRPC_ADDR`).
struct ConfigOption {
  std::string name;
  std::string default_value;
  std::string help;
};

std::string EnvVarName(absl::string_view option_name);

// Configuration from flags, then environment, then defaults (flags win). Parsed once at
// start-up; lookups of undeclared names are programming errors and abort.
class Config {
 public:
  explicit Config(std::vector<ConfigOption> options);

  // `env` maps variable names to values; ProcessEnvironment() gives the real one.
  // Unknown flags, malformed flags and `--help` answer an error whose message is the usage.
  absl::Status Parse(int argc, const char* const* argv,
                     const std::map<std::string, std::string>& env);

  const std::string& Get(absl::string_view name) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view name) const;
  absl::StatusOr<bool> GetBool(absl::string_view name) const;
  // Go-style durations: "30s", "1.5m", "250ms".
  absl::StatusOr<absl::Duration> GetDuration(absl::string_view name) const;

  // The table printed by --help: flag, environment variable, default, help.
  std::string Usage(absl::string_view program) const;

 private:
  std::vector<ConfigOption> options_;
  std::map<std::string, std::string, std::less<>> values_;
};

std::map<std::string, std::string> ProcessEnvironment();

}  // namespace sundesk
