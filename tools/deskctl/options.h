#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sundesk::deskctl {

// Exit codes besides the gRPC status codes 0–16, from sysexits.h so they never collide.
inline constexpr int kExitUsage = 64;       // EX_USAGE
inline constexpr int kExitNotServing = 69;  // EX_UNAVAILABLE: health answered, not SERVING

struct Options {
  std::string addr = "127.0.0.1:50051";
  std::string api_key;
  absl::Duration timeout = absl::Seconds(10);
  // Streaming calls run without a deadline unless --timeout was given: an event feed is
  // meant to stay open.
  bool timeout_given = false;
  bool tls = false;
  std::string tls_ca_path;
  std::string tls_cert_path;
  std::string tls_key_path;
  std::string tls_server_name;
  bool emit_defaults = false;
  bool help = false;

  std::string command;
  std::vector<std::string> args;  // the command's positional arguments
};

// Parses argv (without the program name); `env` supplies SUNDESK_ADDR and SUNDESK_API_KEY.
// Options may stand before or after the command; `--` ends them. A malformed command line
// answers INVALID_ARGUMENT with a message meant to be printed above the usage.
absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env);

std::string Usage();

}  // namespace sundesk::deskctl
