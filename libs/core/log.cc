#include "libs/core/log.h"

#include <atomic>

#include "absl/strings/str_format.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace sundesk::log {
namespace {

std::atomic<bool> json_mode{false};

void Write(spdlog::level::level_enum level, absl::string_view msg,
           std::initializer_list<Field> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string line;
  if (json_mode.load(std::memory_order_relaxed)) {
    absl::StrAppend(&line, "\"msg\":\"", JsonEscape(msg), "\"");
    for (const auto& f : fields) {
      absl::StrAppend(&line, ",\"", JsonEscape(f.key), "\":\"", JsonEscape(f.value.Piece()), "\"");
    }
  } else {
    absl::StrAppend(&line, msg);
    for (const auto& f : fields) {
      absl::string_view v = f.value.Piece();
      bool quote = v.empty() || v.find_first_of(" \"=") != absl::string_view::npos;
      absl::StrAppend(&line, " ", f.key, "=",
                      quote ? absl::StrCat("\"", JsonEscape(v), "\"") : std::string(v));
    }
  }
  logger->log(level, "{}", line);
}

}  // namespace

absl::Status Init(const Options& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "log level must be trace, debug, info, warn or error, got '", options.level, "'"));
  }
  // stderr, unbuffered by line: logs must survive a crash and interleave with nothing.
  auto logger = spdlog::stderr_logger_mt("sundesk");
  json_mode = options.format == Format::kJson;
  if (json_mode) {
    logger->set_pattern(absl::StrCat("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",",
                                     "\"service\":\"", JsonEscape(options.service), "\",%v}"),
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern(absl::StrCat("%Y-%m-%dT%H:%M:%S.%fZ %L ", options.service, ": %v"),
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

void Debug(absl::string_view msg, std::initializer_list<Field> fields) {
  Write(spdlog::level::debug, msg, fields);
}
void Info(absl::string_view msg, std::initializer_list<Field> fields) {
  Write(spdlog::level::info, msg, fields);
}
void Warn(absl::string_view msg, std::initializer_list<Field> fields) {
  Write(spdlog::level::warn, msg, fields);
}
void Error(absl::string_view msg, std::initializer_list<Field> fields) {
  Write(spdlog::level::err, msg, fields);
}

std::string JsonEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

}  // namespace sundesk::log
