// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// record_queue_bench: how a RecordQueue behaves with a large backlog.
//
// Enqueues --entries changes (default 1,000,000) in durable batches, reopens
// the queue (which rebuilds its counters by scanning), lists it page by page,
// drains it (Ready + Acknowledge in batches), then measures single-entry
// durable enqueues. Prints entries/s per phase and the process RSS.
//
// Budget (issue 3, design rule 6: the backlog lives on disk): with LevelDB
// storage the peak resident memory (VmHWM) must stay under 64 MiB above the
// RSS of the process with the empty queue open. Prints PASS or FAIL and exits
// 1 on FAIL. With --storage memory everything is in RAM by design, so the
// check is skipped.
//
// The storage reads LevelDB's table files with pread by default, so scans
// leave file pages in the kernel's page cache instead of the process;
// --leveldb-reads mmap restores LevelDB's own mmap reads for comparison.
// Anonymous memory (RssAnon: heap and stacks), sampled after every queue
// call, is printed beside VmHWM to tell the two kinds of memory apart.

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orgsync/clock.h"
#include "orgsync/record_queue.h"
#include "queue/durable_record_queue.h"
#include "orgsync/storage.h"

namespace {

using orgsync::internal::NewQueueEntry;
using orgsync::QueueAction;
using orgsync::internal::DurableRecordQueue;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kRssBudget = 64 * kMiB;

struct Flags {
  uint64_t entries = 1000000;
  uint64_t batch = 1000;
  uint64_t single = 2000;
  uint64_t payload = 200;
  uint64_t page = 1000;
  std::string storage = "leveldb";
  std::string leveldb_reads = "pread";
  std::string dir;
};

void Usage() {
  fmt::print(stderr,
             "usage: record_queue_bench [--entries N] [--batch N] "
             "[--single N] [--payload BYTES] [--page N] "
             "[--storage leveldb|memory] [--leveldb-reads pread|mmap] "
             "[--dir DIR]\n");
}

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, "flag {} needs a value\n", arg);
      return std::nullopt;
    }
    const std::string value = argv[++i];
    auto number = [&](uint64_t* out) {
      char* end = nullptr;
      const unsigned long long parsed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || parsed == 0) {
        fmt::print(stderr, "flag {} needs a positive number, not '{}'\n", arg,
                   value);
        return false;
      }
      *out = parsed;
      return true;
    };
    bool ok = true;
    if (arg == "--entries") {
      ok = number(&flags.entries);
    } else if (arg == "--batch") {
      ok = number(&flags.batch);
    } else if (arg == "--single") {
      ok = number(&flags.single);
    } else if (arg == "--payload") {
      ok = number(&flags.payload);
    } else if (arg == "--page") {
      ok = number(&flags.page) && flags.page <= DurableRecordQueue::kMaxPageSize;
    } else if (arg == "--storage") {
      flags.storage = value;
      ok = value == "leveldb" || value == "memory";
    } else if (arg == "--leveldb-reads") {
      flags.leveldb_reads = value;
      ok = value == "pread" || value == "mmap";
    } else if (arg == "--dir") {
      flags.dir = value;
    } else {
      fmt::print(stderr, "unknown flag {}\n", arg);
      ok = false;
    }
    if (!ok) return std::nullopt;
  }
  return flags;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); 0 if missing.
uint64_t ProcStatusBytes(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, field.size(), field) == 0 &&
        line.size() > field.size() && line[field.size()] == ':') {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

double MiB(uint64_t bytes) { return static_cast<double>(bytes) / kMiB; }

// The highest RssAnon seen; Sample() after every queue call.
uint64_t peak_anon = 0;
void Sample() { peak_anon = std::max(peak_anon, ProcStatusBytes("RssAnon")); }

class Stopwatch {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();
};

// RSS is split into anonymous memory (heap: what the queue and LevelDB
// allocate) and file pages (the binary and its libraries, and with mmap
// reads LevelDB's table files; VmHWM counts them all).
void Row(std::string_view phase, uint64_t entries, double seconds) {
  fmt::print(
      "{:<28} {:>10} {:>9.2f} {:>12.0f} {:>8.1f} {:>8.1f} {:>8.1f} "
      "{:>8.1f}\n",
      phase, entries, seconds, seconds > 0 ? entries / seconds : 0.0,
      MiB(ProcStatusBytes("VmRSS")), MiB(ProcStatusBytes("RssAnon")),
      MiB(ProcStatusBytes("RssFile")), MiB(ProcStatusBytes("VmHWM")));
}

[[noreturn]] void Die(std::string_view what, const absl::Status& status) {
  fmt::print(stderr, "{}: {}\n", what, status.ToString());
  std::exit(2);
}

NewQueueEntry MakeEntry(uint64_t i, const std::string& payload) {
  // Ids repeat every 100,000 changes, as updates of existing records would.
  // The payload is rotated per entry so that no two entries are identical.
  const size_t shift = payload.empty() ? 0 : i % payload.size();
  return NewQueueEntry{
      {"Account", fmt::format("001{:012}", i % 100000)},
      i % 5 == 0 ? QueueAction::kGenericInsert : QueueAction::kGenericUpdate,
      payload.substr(shift) + payload.substr(0, shift)};
}

std::unique_ptr<DurableRecordQueue> OpenQueue(orgsync::Storage* storage) {
  auto queue = DurableRecordQueue::Open(storage, orgsync::Clock::System(), "bench");
  if (!queue.ok()) Die("opening the queue", queue.status());
  return *std::move(queue);
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Flags> parsed = ParseFlags(argc, argv);
  if (!parsed) {
    Usage();
    return 2;
  }
  const Flags& flags = *parsed;
  const bool leveldb = flags.storage == "leveldb";

  std::unique_ptr<orgsync::Storage> storage;
  std::filesystem::path dir;
  bool remove_dir = false;
  if (leveldb) {
    if (flags.dir.empty()) {
      dir = std::filesystem::temp_directory_path() /
            fmt::format("orgsync_queue_bench_{}", getpid());
      remove_dir = true;
    } else {
      dir = flags.dir;
    }
    auto opened = orgsync::OpenLevelDbStorage(
        dir.string(), {.mmap_reads = flags.leveldb_reads == "mmap"});
    if (!opened.ok()) Die("opening LevelDB", opened.status());
    storage = *std::move(opened);
  } else {
    storage = orgsync::NewMemoryStorage();
  }

  auto queue = OpenQueue(storage.get());
  if (queue->Count() != 0) {
    fmt::print(stderr, "{} already holds a queue of {} entries\n", dir.string(),
               queue->Count());
    return 2;
  }
  const uint64_t baseline = ProcStatusBytes("VmRSS");
  const uint64_t baseline_anon = ProcStatusBytes("RssAnon");
  peak_anon = baseline_anon;
  fmt::print("storage={}{} entries={} batch={} payload={}B page={}\n",
             flags.storage,
             leveldb ? fmt::format(" ({} reads)", flags.leveldb_reads) : "",
             flags.entries, flags.batch, flags.payload, flags.page);
  fmt::print("empty-queue baseline: RSS {:.1f} MiB, anonymous {:.1f} MiB\n\n",
             MiB(baseline), MiB(baseline_anon));
  fmt::print("{:<28} {:>10} {:>9} {:>12} {:>8} {:>8} {:>8} {:>8}\n", "phase",
             "entries", "seconds", "entries/s", "RSS", "anon", "file", "peak");

  // Incompressible bytes, so that LevelDB's compression does not shrink the
  // backlog below what real serialized changes would take.
  std::string payload(flags.payload, '\0');
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (char& c : payload) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    c = static_cast<char>(state);
  }
  {
    Stopwatch watch;
    std::vector<NewQueueEntry> batch;
    for (uint64_t done = 0; done < flags.entries;) {
      batch.clear();
      const uint64_t n = std::min(flags.batch, flags.entries - done);
      for (uint64_t i = 0; i < n; ++i)
        batch.push_back(MakeEntry(done + i, payload));
      auto sequences = queue->Enqueue(batch);
      if (!sequences.ok()) Die("enqueue", sequences.status());
      Sample();
      done += n;
    }
    Row(fmt::format("enqueue (batches of {})", flags.batch), flags.entries,
        watch.Seconds());
  }
  {
    queue.reset();
    Stopwatch watch;
    queue = OpenQueue(storage.get());
    Sample();
    Row("reopen (rebuild counters)", queue->Count(), watch.Seconds());
    if (queue->Count() != flags.entries) {
      fmt::print(stderr, "reopened queue has {} entries, expected {}\n",
                 queue->Count(), flags.entries);
      return 2;
    }
  }
  {
    Stopwatch watch;
    uint64_t listed = 0;
    std::string token;
    do {
      auto page = queue->List(token, flags.page);
      if (!page.ok()) Die("list", page.status());
      Sample();
      listed += page->entries.size();
      token = page->next_page_token;
    } while (!token.empty());
    Row(fmt::format("list (pages of {})", flags.page), listed, watch.Seconds());
    if (listed != flags.entries) {
      fmt::print(stderr, "listed {} entries, expected {}\n", listed,
                 flags.entries);
      return 2;
    }
  }
  {
    Stopwatch watch;
    uint64_t drained = 0;
    std::vector<uint64_t> sequences;
    while (true) {
      auto ready = queue->Ready(orgsync::Clock::System()->Now(), flags.page);
      if (!ready.ok()) Die("ready", ready.status());
      Sample();
      if (ready->empty()) break;
      sequences.clear();
      for (const auto& entry : *ready) sequences.push_back(entry.sequence);
      const absl::Status acked = queue->Acknowledge(sequences);
      if (!acked.ok()) Die("acknowledge", acked);
      drained += sequences.size();
    }
    Row(fmt::format("drain (Ready+Ack {})", flags.page), drained,
        watch.Seconds());
    if (drained != flags.entries || queue->Count() != 0) {
      fmt::print(stderr, "drained {} entries, expected {}\n", drained,
                 flags.entries);
      return 2;
    }
  }
  {
    Stopwatch watch;
    for (uint64_t i = 0; i < flags.single; ++i) {
      const NewQueueEntry entry = MakeEntry(i, payload);
      auto sequences = queue->Enqueue({entry});
      if (!sequences.ok()) Die("single enqueue", sequences.status());
      Sample();
    }
    Row("enqueue (1 per sync write)", flags.single, watch.Seconds());
  }

  const uint64_t peak = ProcStatusBytes("VmHWM");
  const uint64_t above = peak > baseline ? peak - baseline : 0;
  const uint64_t anon_above = peak_anon - baseline_anon;
  fmt::print(
      "\npeak RSS (VmHWM) {:.1f} MiB: {:.1f} MiB above the baseline "
      "(budget {:.0f} MiB)\n",
      MiB(peak), MiB(above), MiB(kRssBudget));
  fmt::print("peak anonymous RSS {:.1f} MiB: {:.1f} MiB above the baseline\n",
             MiB(peak_anon), MiB(anon_above));

  queue.reset();
  storage.reset();
  if (remove_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  if (!leveldb) {
    fmt::print(
        "RSS check: SKIPPED (memory storage keeps the backlog in RAM; "
        "run with --storage leveldb)\n");
    return 0;
  }
  if (above >= kRssBudget) {
    fmt::print("RSS check: FAIL\n");
    return 1;
  }
  fmt::print("RSS check: PASS\n");
  return 0;
}
