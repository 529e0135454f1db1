// main() of every benchmark binary: Google Benchmark's console output, then, for each
// benchmark named `<Group>/baseline`, the ratio of its siblings `<Group>/<variant>` to it,
// measured in the same run on the same machine — the figure to compare across machines.
#include <cstdio>
#include <map>
#include <string>

#include "benchmark/benchmark.h"

namespace {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      std::string name = run.benchmark_name();
      // Strip Google Benchmark's suffixes ("/real_time", "/threads:2") from the group.
      size_t slash = name.find('/');
      if (slash == std::string::npos) continue;
      std::string group = name.substr(0, slash);
      size_t end = name.find('/', slash + 1);
      std::string variant =
          name.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
      double ns_per_op = run.GetAdjustedRealTime();
      results_[group][variant] = ns_per_op;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-34s %-40s %14s %10s\n", "group", "variant", "ns/op", "x baseline");
    for (const auto& [group, variants] : results_) {
      auto base = variants.find("baseline");
      for (const auto& [variant, ns] : variants) {
        if (base == variants.end() || variant == "baseline") {
          std::printf("%-34s %-40s %14.1f %10s\n", group.c_str(), variant.c_str(), ns, "-");
        } else {
          std::printf("%-34s %-40s %14.1f %10.2f\n", group.c_str(), variant.c_str(), ns,
                      ns / base->second);
        }
      }
    }
  }

 private:
  std::map<std::string, std::map<std::string, double>> results_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
