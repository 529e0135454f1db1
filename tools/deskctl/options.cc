#include "tools/deskctl/options.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sundesk::deskctl {
namespace {

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text) {
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout: '", text, "' is not a duration (10s, 1.5m, 250ms)"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must not be negative");
  }
  return d;
}

struct ArgCount {
  size_t min;
  size_t max;
};

std::optional<ArgCount> ArgsOf(absl::string_view command) {
  if (command == "list") return ArgCount{0, 1};
  if (command == "describe") return ArgCount{1, 1};
  if (command == "call") return ArgCount{1, 2};
  if (command == "health") return ArgCount{0, 1};
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env) {
  Options options;
  if (auto it = env.find("SUNDESK_ADDR"); it != env.end() && !it->second.empty()) {
    options.addr = it->second;
  }
  if (auto it = env.find("SUNDESK_API_KEY"); it != env.end()) options.api_key = it->second;

  std::vector<std::string> positional;
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_ended || arg == "-" || !absl::StartsWith(arg, "-")) {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    if (name == "--tls" || name == "--emit-defaults") {
      if (inline_value) return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
      (name == "--tls" ? options.tls : options.emit_defaults) = true;
      continue;
    }
    std::string* target = nullptr;
    if (name == "--addr") target = &options.addr;
    if (name == "--key") target = &options.api_key;
    if (name == "--tls-ca") target = &options.tls_ca_path;
    if (name == "--tls-cert") target = &options.tls_cert_path;
    if (name == "--tls-key") target = &options.tls_key_path;
    if (name == "--tls-server-name") target = &options.tls_server_name;
    std::string timeout_text;
    if (name == "--timeout") target = &timeout_text;
    if (target == nullptr) return absl::InvalidArgumentError("unknown option " + name);
    if (inline_value) {
      *target = *inline_value;
    } else if (i + 1 < argv.size()) {
      *target = argv[++i];
    } else {
      return absl::InvalidArgumentError(name + " needs a value");
    }
    if (name == "--timeout") {
      absl::StatusOr<absl::Duration> timeout = ParseTimeout(timeout_text);
      if (!timeout.ok()) return timeout.status();
      options.timeout = *timeout;
      options.timeout_given = true;
    }
  }
  if (options.help) return options;

  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (options.addr.empty()) return absl::InvalidArgumentError("--addr is empty");
  if (positional.empty()) return absl::InvalidArgumentError("no command given");
  options.command = positional.front();
  options.args.assign(positional.begin() + 1, positional.end());
  std::optional<ArgCount> count = ArgsOf(options.command);
  if (!count) return absl::InvalidArgumentError("unknown command '" + options.command + "'");
  if (options.args.size() < count->min || options.args.size() > count->max) {
    return absl::InvalidArgumentError(
        absl::StrCat("wrong number of arguments for '", options.command, "'"));
  }
  return options;
}

std::string Usage() {
  return R"(usage: deskctl [options] <command> [arguments]

Calls any sundesk gRPC service through server reflection.

commands:
  list                          services the server exposes
  list <service>                methods of a service, as <package.Service>/<Method>
  describe <symbol>             a service, method, message or enum in proto text
  call <package.Service/Method> [<json> | -]
                                calls a method with a JSON request (protobuf JSON mapping)
                                and prints each response as one line of JSON.
                                Unary and server streaming: the JSON argument, '-' for the
                                whole of stdin, none for {}.
                                Client and bidi streaming: '-' or none reads one request
                                per stdin line until EOF; a JSON argument is the only one.
  health [service]              grpc.health.v1 Check: prints SERVING, NOT_SERVING, ...

options:
  --addr host:port              server address (env SUNDESK_ADDR; default 127.0.0.1:50051)
  --key KEY                     API key, sent as 'authorization: Bearer KEY'
                                (env SUNDESK_API_KEY)
  --timeout D                   deadline per call: 10s, 1.5m, 250ms, or seconds; 0 = none
                                (default 10s; streaming calls have none unless given)
  --tls                         TLS with the system's root certificates
  --tls-ca FILE                 TLS, trusting the CA certificates in this PEM file
  --tls-cert FILE --tls-key FILE
                                mTLS: the client certificate chain and key (PEM)
  --tls-server-name NAME        the name the server certificate must carry, when it
                                differs from the host in --addr
  --emit-defaults               print fields that hold their default value too
  -h, --help                    this text

exit status: 0 on success; the gRPC status code (1-16) when a call fails, printed as
'ERROR: <CODE>: <message>' on stderr (a local failure, such as bad JSON or an unknown
method, uses the matching code: INVALID_ARGUMENT 3, NOT_FOUND 5); 64 for a usage error;
69 when health answers anything but SERVING.
)";
}

}  // namespace sundesk::deskctl
