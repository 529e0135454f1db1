#include "libs/core/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

extern char** environ;  // NOLINT: POSIX

namespace sundesk {

std::string EnvVarName(absl::string_view option_name) {
  return absl::StrCat("SUNDESK_",
                      absl::AsciiStrToUpper(absl::StrReplaceAll(option_name, {{"-", "_"}})));
}

Config::Config(std::vector<ConfigOption> options) : options_(std::move(options)) {
  for (const auto& o : options_) values_[o.name] = o.default_value;
}

absl::Status Config::Parse(int argc, const char* const* argv,
                           const std::map<std::string, std::string>& env) {
  std::string program = argc > 0 ? argv[0] : "sundesk";
  for (const auto& o : options_) {
    if (auto it = env.find(EnvVarName(o.name)); it != env.end()) values_[o.name] = it->second;
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::CancelledError(Usage(program));
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'\n", Usage(program)));
    }
    arg.remove_prefix(2);
    absl::string_view name = arg;
    std::string value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    auto it = values_.find(name);
    if (it == values_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "\n", Usage(program)));
    }
    it->second = value;
  }
  return absl::OkStatus();
}

const std::string& Config::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    std::fprintf(stderr, "undeclared config option %.*s\n", static_cast<int>(name.size()),
                 name.data());
    std::abort();  // a programming error, not bad configuration
  }
  return it->second;
}

absl::StatusOr<int64_t> Config::GetInt(absl::string_view name) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Get(name), &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " (", EnvVarName(name),
                                                   ") must be an integer, got '", Get(name), "'"));
  }
  return v;
}

absl::StatusOr<bool> Config::GetBool(absl::string_view name) const {
  std::string v = absl::AsciiStrToLower(Get(name));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty()) return false;
  return absl::InvalidArgumentError(absl::StrCat("--", name, " (", EnvVarName(name),
                                                 ") must be true or false, got '", Get(name), "'"));
}

absl::StatusOr<absl::Duration> Config::GetDuration(absl::string_view name) const {
  absl::Duration d;
  if (!absl::ParseDuration(Get(name), &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " (", EnvVarName(name),
                                                   ") must be a duration like 30s, got '",
                                                   Get(name), "'"));
  }
  return d;
}

std::string Config::Usage(absl::string_view program) const {
  std::string out = absl::StrCat("usage: ", program, " [--flag=value]...\n\n");
  absl::StrAppendFormat(&out, "  %-28s %-34s %-24s %s\n", "flag", "environment", "default",
                        "meaning");
  for (const auto& o : options_) {
    absl::StrAppendFormat(&out, "  %-28s %-34s %-24s %s\n", absl::StrCat("--", o.name),
                          EnvVarName(o.name), o.default_value.empty() ? "(none)" : o.default_value,
                          o.help);
  }
  return out;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view kv = *e;
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

}  // namespace sundesk
