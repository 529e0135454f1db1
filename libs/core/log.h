#pragma once

#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

// Structured logs: a message plus key/value fields, written as one line. In JSON mode
// each line is one object: {"ts":...,"level":...,"service":...,"msg":...,<fields>}.
//
//   log::Info("outbox published", {{"events", n}, {"topic", topic}});
namespace sundesk::log {

enum class Format { kText, kJson };

struct Options {
  std::string service;
  std::string level = "info";  // trace, debug, info, warn, error
  Format format = Format::kText;
};

// Sets the process-wide logger (spdlog's default). Call once, first thing in main.
absl::Status Init(const Options& options);

struct Field {
  absl::string_view key;
  absl::AlphaNum value;
};

void Debug(absl::string_view msg, std::initializer_list<Field> fields = {});
void Info(absl::string_view msg, std::initializer_list<Field> fields = {});
void Warn(absl::string_view msg, std::initializer_list<Field> fields = {});
void Error(absl::string_view msg, std::initializer_list<Field> fields = {});

// JSON string escaping (without the surrounding quotes); exposed for tests.
std::string JsonEscape(absl::string_view s);

}  // namespace sundesk::log
