// UUIDv7 generation (time-ordered ids for every ticket, comment and event) against the
// cheapest reasonable alternative: a random v4-style id from the same PRNG, same format.
#include <random>

#include "benchmark/benchmark.h"
#include "libs/core/ids.h"

namespace sundesk {
namespace {

std::string RandomUuid(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t a = rng(), b = rng();
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    uint64_t word = i < 16 ? a : b;
    out.push_back(kHex[(word >> (4 * (i % 16))) & 0xf]);
  }
  return out;
}

void BM_Baseline(benchmark::State& state) {
  std::mt19937_64 rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(RandomUuid(rng));
}

void BM_UuidV7(benchmark::State& state) {
  static SystemClock clock;
  static UuidV7Generator ids(clock, 1);
  for (auto _ : state) benchmark::DoNotOptimize(ids.NewId());
}

BENCHMARK(BM_Baseline)->Name("NewId/baseline");
BENCHMARK(BM_UuidV7)->Name("NewId/uuidv7");
BENCHMARK(BM_UuidV7)->Name("NewId/uuidv7_4threads")->Threads(4)->UseRealTime();

}  // namespace
}  // namespace sundesk
