// devkafka: the local stack's Kafka. See tools/devkafka/README.md.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/core/shutdown.h"
#include "libs/core/status.h"
#include "tools/devkafka/cluster.h"
#include "tools/devkafka/control_server.h"

namespace sundesk::devkafka {
namespace {

// Readers poll for the file; the rename makes it appear whole or not at all.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

bool IsPipeOrSocket(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

// Config keeps the last value of a flag; --topic may repeat, so its occurrences are
// gathered here and handed on as one comma-separated --topic.
std::vector<std::string> GatherTopicFlags(int argc, char** argv) {
  std::vector<std::string> args = {argv[0]};
  std::vector<std::string> topics;
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (a == "--topic" && i + 1 < argc) {
      topics.push_back(argv[++i]);
    } else if (absl::StartsWith(a, "--topic=")) {
      topics.emplace_back(a.substr(8));
    } else {
      args.emplace_back(a);
    }
  }
  if (!topics.empty()) args.push_back(absl::StrCat("--topic=", absl::StrJoin(topics, ",")));
  return args;
}

absl::Status Run(int argc, char** argv) {
  Config config({
      {"brokers", "3", "number of mock brokers (ids 1..n) on 127.0.0.1"},
      {"partitions", "6", "partitions of each standard sundesk topic"},
      {"topic", "", "extra topics, name[:partitions], repeatable or comma-separated"},
      {"bootstrap-file", "", "write the bootstrap list here (atomically) once ready"},
      {"control-port", "0", "loopback TCP port of the control protocol; 0 picks one"},
      {"control-file", "", "write the chosen control port here (before bootstrap-file)"},
      {"log-level", "info", "trace, debug, info, warn or error"},
      {"log-format", "text", "text or json"},
  });
  std::vector<std::string> args = GatherTopicFlags(argc, argv);
  std::vector<const char*> arg_ptrs;
  arg_ptrs.reserve(args.size());
  for (const auto& a : args) arg_ptrs.push_back(a.c_str());
  SUNDESK_RETURN_IF_ERROR(
      config.Parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data(), ProcessEnvironment()));
  SUNDESK_RETURN_IF_ERROR(
      log::Init({"devkafka", config.Get("log-level"),
                 config.Get("log-format") == "json" ? log::Format::kJson : log::Format::kText}));

  SUNDESK_ASSIGN_OR_RETURN(int64_t brokers, config.GetInt("brokers"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t partitions, config.GetInt("partitions"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t control_port, config.GetInt("control-port"));
  if (control_port < 0 || control_port > 65535) {
    return absl::InvalidArgumentError("--control-port must be 0-65535");
  }
  std::vector<TopicSpec> topics = StandardTopics(static_cast<int>(partitions));
  for (absl::string_view spec : absl::StrSplit(config.Get("topic"), ',', absl::SkipWhitespace())) {
    SUNDESK_ASSIGN_OR_RETURN(TopicSpec topic, ParseTopicSpec(spec, static_cast<int>(partitions)));
    topics.push_back(std::move(topic));
  }

  // Before any thread starts, so that every thread inherits the mask.
  BlockTerminationSignals();
  SUNDESK_ASSIGN_OR_RETURN(auto cluster, Cluster::Start(static_cast<int>(brokers)));
  for (const TopicSpec& t : topics) {
    SUNDESK_RETURN_IF_ERROR(cluster->CreateTopic(t.name, t.partitions));
  }
  int input_fd = IsPipeOrSocket(STDIN_FILENO) ? STDIN_FILENO : -1;
  SUNDESK_ASSIGN_OR_RETURN(
      auto control,
      ControlServer::Start(static_cast<int>(control_port), input_fd, STDOUT_FILENO,
                           [c = cluster.get()](absl::string_view line) {
                             std::string answer = c->Execute(line);
                             log::Info("control", {{"command", line}, {"answer", answer}});
                             return answer;
                           }));
  if (!config.Get("control-file").empty()) {
    SUNDESK_RETURN_IF_ERROR(
        WriteFileAtomically(config.Get("control-file"), absl::StrCat(control->port(), "\n")));
  }
  // Last: its appearance tells the local stack and the tests that everything is ready.
  if (!config.Get("bootstrap-file").empty()) {
    SUNDESK_RETURN_IF_ERROR(WriteFileAtomically(config.Get("bootstrap-file"),
                                                absl::StrCat(cluster->bootstrap(), "\n")));
  }
  log::Info("devkafka ready", {{"bootstrap", cluster->bootstrap()},
                               {"brokers", brokers},
                               {"topics", topics.size()},
                               {"control_port", control->port()}});

  int sig = WaitForTerminationSignal();
  log::Info("devkafka stopping", {{"signal", sig}});
  control.reset();
  cluster.reset();
  return absl::OkStatus();
}

}  // namespace
}  // namespace sundesk::devkafka

int main(int argc, char** argv) {
  absl::Status st = sundesk::devkafka::Run(argc, argv);
  if (absl::IsCancelled(st)) {  // --help
    std::fputs(std::string(st.message()).c_str(), stdout);
    return 0;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "devkafka: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}
