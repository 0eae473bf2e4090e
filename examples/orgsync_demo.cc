// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync_demo: opens orgsync's durable state (LevelDB) in a folder, counts
// how many times it has run there, writes a few records durably, reads them
// back and checks that they match.
//
//   orgsync_demo [--state-dir DIR]     (default ./orgsync-demo-state)
//
// Exit codes: 0 all good; 1 the state did not hold what was written (or a
// read or write failed after opening); 2 bad arguments or the folder cannot
// be opened (e.g. another orgsync_demo holds it).

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fmt/core.h"
#include "orgsync/storage.h"

namespace {

constexpr char kDefaultStateDir[] = "./orgsync-demo-state";
// The demo's keys live under the misc prefix, away from the components'.
constexpr char kRunCounterKey[] = "m/demo/runs";
constexpr char kRecordPrefix[] = "m/demo/record/";

constexpr int kExitMismatch = 1;
constexpr int kExitCannotStart = 2;

struct Record {
  std::string id;
  std::string name;
  std::string city;
  int run = 0;

  bool operator==(const Record&) const = default;
};

// One value per record: fields joined by '|', which no demo field contains.
std::string Encode(const Record& record) {
  return fmt::format("{}|{}|{}", record.name, record.city, record.run);
}

bool Decode(std::string_view id, std::string_view value, Record& record) {
  std::vector<std::string> fields =
      absl::StrSplit(absl::string_view(value.data(), value.size()), '|');
  if (fields.size() != 3) return false;
  record.id = std::string(id);
  record.name = fields[0];
  record.city = fields[1];
  return absl::SimpleAtoi(fields[2], &record.run);
}

std::vector<Record> RecordsForRun(int run) {
  // The city changes every run so that a stale read cannot pass for a fresh
  // one.
  const std::vector<std::string> cities = {"Lyon", "Osaka", "Recife", "Tromso",
                                           "Windhoek"};
  const std::vector<std::string> names = {
      "Acme Corporation", "Globex", "Initech", "Umbrella Health", "Vandelay"};
  std::vector<Record> records;
  for (size_t i = 0; i < names.size(); ++i) {
    records.push_back(Record{fmt::format("{:04d}", i + 1), names[i],
                             cities[(i + run) % cities.size()], run});
  }
  return records;
}

void PrintTable(const std::vector<Record>& records) {
  fmt::print("  {:<6} {:<18} {:<10} {:>4}\n", "id", "name", "city", "run");
  fmt::print("  {:-<6} {:-<18} {:-<10} {:->4}\n", "", "", "", "");
  for (const Record& r : records) {
    fmt::print("  {:<6} {:<18} {:<10} {:>4}\n", r.id, r.name, r.city, r.run);
  }
}

void PrintUsage(std::FILE* out) {
  fmt::print(out,
             "usage: orgsync_demo [--state-dir DIR]\n"
             "  Opens (or creates) orgsync's durable state in DIR (default "
             "{}),\n"
             "  writes a few records, reads them back and checks them.\n",
             kDefaultStateDir);
}

int Fail(int code, std::string_view message) {
  fmt::print(stderr, "orgsync_demo: {}\n", message);
  return code;
}

int Run(const std::string& state_dir) {
  absl::StatusOr<std::unique_ptr<orgsync::Storage>> opened =
      orgsync::OpenLevelDbStorage(state_dir);
  if (!opened.ok()) {
    // The message names the folder and the reason; the code tells a locked
    // folder (FAILED_PRECONDITION) from a damaged one (DATA_LOSS).
    return Fail(kExitCannotStart,
                fmt::format("cannot open the state ({}): {}",
                            absl::StatusCodeToString(opened.status().code()),
                            std::string(opened.status().message())));
  }
  orgsync::Storage& storage = **opened;

  int previous_runs = 0;
  absl::StatusOr<std::string> counter = storage.Get(kRunCounterKey);
  if (counter.ok()) {
    if (!absl::SimpleAtoi(*counter, &previous_runs) || previous_runs < 0) {
      return Fail(kExitMismatch,
                  fmt::format("the run counter in '{}' is damaged: \"{}\"",
                              state_dir, *counter));
    }
  } else if (!absl::IsNotFound(counter.status())) {
    return Fail(kExitMismatch, fmt::format("cannot read the run counter: {}",
                                           counter.status().ToString()));
  }
  const int run = previous_runs + 1;
  if (previous_runs == 0) {
    fmt::print(
        "Started fresh: there was no demo state in '{}', so it was "
        "created. This is run 1.\n",
        state_dir);
  } else {
    fmt::print(
        "Reopened the existing state in '{}': it has been run {} "
        "time{} before, this is run {}.\n",
        state_dir, previous_runs, previous_runs == 1 ? "" : "s", run);
  }

  // The counter and the records go in one batch: after a crash either this
  // run left all of them or none.
  const std::vector<Record> written = RecordsForRun(run);
  orgsync::WriteBatch batch;
  batch.Put(kRunCounterKey, std::to_string(run));
  for (const Record& record : written) {
    batch.Put(kRecordPrefix + record.id, Encode(record));
  }
  if (absl::Status status = storage.Write(batch, {.sync = true});
      !status.ok()) {
    return Fail(kExitMismatch,
                fmt::format("cannot write the records: {}", status.ToString()));
  }
  fmt::print("Wrote {} records durably. Reading them back:\n\n",
             written.size());

  absl::StatusOr<std::unique_ptr<orgsync::StorageIterator>> it =
      storage.NewIterator();
  if (!it.ok()) {
    return Fail(kExitMismatch, fmt::format("cannot read the records: {}",
                                           it.status().ToString()));
  }
  const std::string_view prefix = kRecordPrefix;
  std::vector<Record> read;
  for ((*it)->Seek(prefix);
       (*it)->Valid() && (*it)->key().substr(0, prefix.size()) == prefix;
       (*it)->Next()) {
    Record record;
    const std::string_view id = (*it)->key().substr(prefix.size());
    if (!Decode(id, (*it)->value(), record)) {
      return Fail(kExitMismatch, fmt::format("record {} is damaged: \"{}\"", id,
                                             (*it)->value()));
    }
    read.push_back(record);
  }
  if (absl::Status status = (*it)->status(); !status.ok()) {
    return Fail(kExitMismatch, fmt::format("reading the records failed: {}",
                                           status.ToString()));
  }
  PrintTable(read);
  fmt::print("\n");

  if (read.size() != written.size()) {
    return Fail(kExitMismatch, fmt::format("wrote {} records but read back {}",
                                           written.size(), read.size()));
  }
  for (size_t i = 0; i < written.size(); ++i) {
    if (!(read[i] == written[i])) {
      return Fail(kExitMismatch,
                  fmt::format("record {} was written as \"{}\" but read back "
                              "as record {} \"{}\"",
                              written[i].id, Encode(written[i]), read[i].id,
                              Encode(read[i])));
    }
  }
  fmt::print("All {} records read back exactly as written.\n", read.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string state_dir = kDefaultStateDir;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    constexpr std::string_view kFlag = "--state-dir";
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout);
      return 0;
    }
    if (arg == kFlag) {
      if (i + 1 >= argc) {
        PrintUsage(stderr);
        return Fail(kExitCannotStart, "--state-dir needs a folder");
      }
      state_dir = argv[++i];
    } else if (arg.substr(0, kFlag.size() + 1) == "--state-dir=") {
      state_dir = std::string(arg.substr(kFlag.size() + 1));
    } else {
      PrintUsage(stderr);
      return Fail(kExitCannotStart,
                  fmt::format("unknown argument \"{}\"", arg));
    }
  }
  if (state_dir.empty()) {
    return Fail(kExitCannotStart, "the state folder must not be empty");
  }
  return Run(state_dir);
}
