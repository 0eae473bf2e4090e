// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "orgsync/sync_log.h"

namespace orgsync::testing::sim {
namespace {

// In the check key of an unlinked record of a disconnected object.
constexpr std::string_view kUnlinkedMark = "#unlinked in ";

// A record's fields as both orgs must agree on them: field -> rendered
// value (null fields left out), and kDeletedField when it is deleted.
using CanonRecord = std::map<std::string, std::string>;

std::string Render(const FieldValue& value,
                   const std::map<std::string, std::string>& key_of_id) {
  if (const auto* ref = std::get_if<Reference>(&value)) {
    auto it = key_of_id.find(ref->id);
    return it == key_of_id.end() ? "->missing " + ref->id : "->" + it->second;
  }
  return FormatFieldValue(value);
}

std::map<std::string, CanonRecord> Canon(
    const Side& side, const SimModel& model,
    const std::map<std::string, std::string>& key_of_id) {
  std::map<std::string, CanonRecord> canon;
  for (const SimObject& object : model.objects()) {
    for (const Record& record : side.All(object.name)) {
      CanonRecord fields;
      for (const auto& [name, value] : record.fields) {
        if (std::holds_alternative<std::monostate>(value)) continue;
        fields[name] = Render(value, key_of_id);
      }
      if (record.deleted) fields[kDeletedField] = "yes";
      const std::string& key = key_of_id.at(record.id);
      if (!canon.emplace(key, std::move(fields)).second) {
        throw SimulationFailure{side.org_id() + " holds " + key + " twice"};
      }
    }
  }
  return canon;
}

// The record's `fields` (all of them when empty), as "name=value".
std::string Show(const CanonRecord* record,
                 const std::vector<std::string>& fields) {
  if (record == nullptr) return " <absent>";
  std::string text;
  for (const auto& [name, value] : *record) {
    if (fields.empty() || fields.front().empty() ||
        std::find(fields.begin(), fields.end(), name) != fields.end()) {
      text += fmt::format(" {}={}", name, value);
    }
  }
  for (const std::string& name : fields) {
    if (!name.empty() && !record->contains(name))
      text += " " + name + "=<null>";
  }
  return text;
}

// The side's whole SyncLog, oldest first.
std::vector<LogEntry> LogOf(const Side& side) {
  LogQuery query;
  query.newest_first = false;
  absl::StatusOr<LogPage> page =
      side.connection()->sync_log()->Query(query, "", SyncLog::kMaxPageSize);
  Check(page.status(), "querying the log");
  return std::move(page->entries);
}

// The entries that say a change was not applied (status Failed).
std::string FailuresIn(const Side& side, const std::vector<LogEntry>& log) {
  std::string out;
  for (const LogEntry& entry : log) {
    if (entry.status != LogStatus::kFailed) continue;
    out += fmt::format("\n    {} log #{}: {} {} {} {}: {}", side.org_id(),
                       entry.event, QueueActionName(entry.action),
                       entry.record.object, entry.record.id,
                       SyncErrorCodeName(entry.error), entry.description);
  }
  return out;
}

std::string DetailOf(const LogEntry& entry, std::string_view name) {
  for (const LogDetail& detail : entry.details) {
    if (detail.key == name) return detail.value;
  }
  return "";
}

// The records whose changes were not applied, by "object key", as the log
// says: Failed entries on the sending side and, on the receiving side,
// lookups left blank (Info MISSING_PARENT). Adds the (record, field) of
// every CONFLICT entry to `conflicts`.
std::set<std::string> ReadLog(
    const Side& side, const HostLedger& ledger,
    const std::vector<LogEntry>& log,
    const std::map<std::string, std::string>& keys,
    std::set<std::pair<std::string, std::string>>* conflicts,
    uint64_t* conflict_count) {
  std::set<std::string> out;
  for (const LogEntry& entry : log) {
    Trace("{} log #{}: {} {} {} {} {}: {}", side.org_id(), entry.event,
          LogStatusName(entry.status), QueueActionName(entry.action),
          entry.record.object, entry.record.id, SyncErrorCodeName(entry.error),
          entry.description);
    auto key = keys.find(entry.record.id);
    if (entry.status == LogStatus::kInfo &&
        entry.error == SyncErrorCode::kConflict) {
      ++*conflict_count;
      if (key != keys.end()) {
        conflicts->emplace(key->second, DetailOf(entry, "field"));
      }
      continue;
    }
    const bool failed = entry.status == LogStatus::kFailed;
    const bool blanked = entry.status == LogStatus::kInfo &&
                         entry.error == SyncErrorCode::kMissingParent;
    if (!failed && !blanked) continue;
    // R20: a change of an unpublished object that was queued or on its way
    // when the object was unpublished (or its subscription ended). It
    // excuses nothing: the record's copies are disconnected, and each is
    // compared with the copy it is linked to now, if any.
    if (failed && entry.error == SyncErrorCode::kObjectNotSubscribed &&
        ledger.Disconnected(entry.record.object)) {
      continue;
    }
    // R71: the workload creates some users on the secondary without ".dr"
    // (sim_directory.h); they stay there, logged.
    if (failed && entry.record.object == "User" &&
        entry.error == SyncErrorCode::kUsernameSuffix) {
      continue;
    }
    if (entry.error != SyncErrorCode::kMissingParent) {
      throw SimulationFailure{fmt::format(
          "{} logged a failure the workload cannot cause: #{} {} {} {}: {}",
          side.org_id(), entry.event, entry.record.object, entry.record.id,
          SyncErrorCodeName(entry.error), entry.description)};
    }
    if (key != keys.end()) out.insert(key->second);
  }
  return out;
}

// The check keys of the unlinked records of disconnected objects (R20)
// that stay unlinked: a deleted one (bulk sync copies live records), and
// any in an org that does not publish the object (the secondary of a
// one-way sync keeps its disconnected copies). A live one where the object
// is published must have been copied again by the last bulk syncs.
std::set<std::string> LeftUnlinked(
    const Side& side, const SimModel& model, const HostLedger& ledger,
    const std::map<std::string, std::string>& key_of_id) {
  std::set<std::string> out;
  for (const SimObject& object : model.objects()) {
    if (!ledger.Disconnected(object.name)) continue;
    const bool published =
        side.connection()->publish_set()->IsObjectPublished(object.name);
    for (const Record& record : side.All(object.name)) {
      const std::string& key = key_of_id.at(record.id);
      if (key.find(kUnlinkedMark) == std::string::npos) continue;
      if (record.deleted || !published) out.insert(key);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> CheckKeysById(const Side& side,
                                                 const SimModel& model,
                                                 const HostLedger& ledger,
                                                 bool primary) {
  std::map<std::string, std::string> keys;
  for (const SimObject& object : model.objects()) {
    const bool by_link = ledger.Disconnected(object.name);
    for (const Record& record : side.All(object.name)) {
      std::string key = model.KeyOf(record);
      if (by_link) {
        absl::StatusOr<std::optional<std::string>> partner =
            side.connection()->PartnerRecordId(object.name, record.id);
        Check(partner.status(), "reading the link of " + record.id);
        if (!partner->has_value()) {
          key +=
              fmt::format("{}{}:{}", kUnlinkedMark, side.org_id(), record.id);
        } else {
          key += "#" + (primary ? record.id : **partner);
        }
      }
      keys[record.id] = std::move(key);
    }
  }
  return keys;
}

std::string BaseKey(const std::string& check_key) {
  return check_key.substr(0, check_key.find('#'));
}

CheckResult CheckConverged(Side& primary, Side& secondary,
                           const SimModel& model, const HostLedger& ledger) {
  CheckResult result;
  std::map<std::string, std::string> keys_a =
      CheckKeysById(primary, model, ledger, /*primary=*/true);
  std::map<std::string, std::string> keys_b =
      CheckKeysById(secondary, model, ledger, /*primary=*/false);
  std::set<std::string> left_unlinked =
      LeftUnlinked(primary, model, ledger, keys_a);
  left_unlinked.merge(LeftUnlinked(secondary, model, ledger, keys_b));
  const std::vector<LogEntry> log_a = LogOf(primary);
  const std::vector<LogEntry> log_b = LogOf(secondary);
  std::set<std::pair<std::string, std::string>> conflicts;
  std::set<std::string> logged = ReadLog(primary, ledger, log_a, keys_a,
                                         &conflicts, &result.conflicts_logged);
  logged.merge(ReadLog(secondary, ledger, log_b, keys_b, &conflicts,
                       &result.conflicts_logged));
  const std::map<std::string, CanonRecord> a = Canon(primary, model, keys_a);
  const std::map<std::string, CanonRecord> b = Canon(secondary, model, keys_b);

  std::string differences;
  size_t shown = 0;
  auto report = [&](std::string text) {
    if (++shown <= 8) differences += std::move(text);
  };
  std::set<std::string> keys;
  for (const auto& [key, record] : a) keys.insert(key);
  for (const auto& [key, record] : b) keys.insert(key);
  for (const std::string& key : keys) {
    auto in_a = a.find(key);
    auto in_b = b.find(key);
    const CanonRecord* record_a = in_a == a.end() ? nullptr : &in_a->second;
    const CanonRecord* record_b = in_b == b.end() ? nullptr : &in_b->second;
    std::vector<std::string> differing;
    if (record_a == nullptr || record_b == nullptr) {
      differing.push_back("");  // the whole record
    } else {
      std::set<std::string> fields;
      for (const auto& [field, value] : *record_a) fields.insert(field);
      for (const auto& [field, value] : *record_b) fields.insert(field);
      for (const std::string& field : fields) {
        auto fa = record_a->find(field);
        auto fb = record_b->find(field);
        const bool same =
            fa != record_a->end() && fb != record_b->end()
                ? fa->second == fb->second
                : (fa == record_a->end()) == (fb == record_b->end());
        if (!same) differing.push_back(field);
      }
    }
    if (differing.empty()) continue;
    result.differing_keys.insert(key);
    const std::string base = BaseKey(key);
    const bool explained = logged.contains(key) ||
                           left_unlinked.contains(key) ||
                           std::all_of(differing.begin(), differing.end(),
                                       [&](const std::string& field) {
                                         // "" (the whole record) is excused
                                         // with the record.
                                         return ledger.Excused(base, field);
                                       });
    if (explained) {
      ++result.not_applied_logged;
      continue;
    }
    std::string fields;
    for (const std::string& field : differing) {
      fields += " " + (field.empty() ? std::string("(record)") : field);
    }
    report(fmt::format(
        "\n  {} (differs in:{})\n    primary:  {}\n    "
        "secondary:{}",
        key, fields, Show(record_a, differing), Show(record_b, differing)));
  }
  // By "object key": a disconnected object's records are paired by link.
  std::set<std::string> base_a;
  std::set<std::string> base_b;
  for (const auto& [key, record] : a) base_a.insert(BaseKey(key));
  for (const auto& [key, record] : b) base_b.insert(BaseKey(key));
  // A disconnected copy no bulk sync copies again may be the only one.
  std::set<std::string> base_left_unlinked;
  for (const std::string& key : left_unlinked) {
    base_left_unlinked.insert(BaseKey(key));
  }
  for (const std::string& key : ledger.captured_inserts()) {
    if ((!base_a.contains(key) || !base_b.contains(key)) &&
        !logged.contains(key) && !ledger.Excused(key, "") &&
        !base_left_unlinked.contains(key)) {
      report(fmt::format("\n  captured insert {} is missing", key));
    }
  }
  // A value the host wrote while an apply of the same record was on its
  // way must win, or lose to a later write, or lose in a conflict that the
  // log shows: never vanish under the apply's older write.
  for (const Race& race : ledger.races()) {
    const bool in_primary = race.org_id == primary.org_id();
    const std::map<std::string, CanonRecord>& canon = in_primary ? a : b;
    const std::map<std::string, std::string>& keys =
        in_primary ? keys_a : keys_b;
    auto race_key = keys.find(race.id);
    const std::string key =
        race_key == keys.end() ? race.key : race_key->second;
    const std::string wrote =
        std::holds_alternative<std::monostate>(race.value)
            ? "<null>"
            : Render(race.value, in_primary ? keys_a : keys_b);
    std::string now = "<null>";
    if (auto record = canon.find(key); record != canon.end()) {
      if (auto field = record->second.find(race.field);
          field != record->second.end()) {
        now = field->second;
      }
    }
    if (now == wrote ||
        ledger.writes(race.key, race.field) > race.writes_then ||
        ledger.Excused(race.key, race.field) || logged.contains(key) ||
        conflicts.contains({key, race.field})) {
      continue;
    }
    report(fmt::format(
        "\n  {} wrote {}.{} = {} while an apply of it was on its way; it "
        "ended as {}, with no later write and no CONFLICT entry",
        race.org_id, race.key, race.field, wrote, now));
  }
  if (shown > 0) {
    std::string logs =
        FailuresIn(primary, log_a) + FailuresIn(secondary, log_b);
    throw SimulationFailure{fmt::format(
        "{} differences between the orgs without a SyncLog entry that says "
        "why:{}\n  failures in the sync logs:{}",
        shown, differences, logs.empty() ? " none" : logs)};
  }
  result.records = a.size();
  result.primary_keys = std::move(keys_a);
  result.secondary_keys = std::move(keys_b);
  return result;
}

}  // namespace orgsync::testing::sim
