// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// LendingRecordStore: reads of the shipped RecordStores that lend each
// record to a callback instead of handing out copies.
//
// Verify reads every record of both orgs once and keeps none of them: its
// digest is all it needs. Through RecordStore::ScanPage and GetMany each
// record became a Record of its own (a map node and a string or two per
// field, freed a page later), and the allocations were most of a Verify's
// time. Lent, each record is read into the buffers of the one before it.
// A host's RecordStore does not implement this; Verify then reads through
// the public calls as before.
//
// Thread-safety: that of the RecordStore. The callbacks run without the
// store's lock (the reads go on from a view fixed when they began), so
// they may call anything.

#ifndef ORGSYNC_LIB_RECORDS_LENDING_RECORD_STORE_H_
#define ORGSYNC_LIB_RECORDS_LENDING_RECORD_STORE_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"

namespace orgsync::internal {

class LendingRecordStore {
 public:
  // RecordStore::ScanPage(object, absl::InfinitePast(), after_id, limit),
  // each record lent to `visit` (valid during the call) in id order
  // instead of returned: the page comes back without records. The first
  // error of `visit` ends the page and is returned.
  [[nodiscard]] virtual absl::StatusOr<RecordPage> LendPage(
      std::string_view object, std::string_view after_id, size_t limit,
      const std::function<absl::Status(const Record&)>& visit) = 0;

  // RecordStore::GetMany(object, ids), each id's record lent to `visit`
  // with the id's index in `ids` (nullptr: no record), in an order of the
  // store's choosing.
  [[nodiscard]] virtual absl::Status LendMany(
      std::string_view object, const std::vector<std::string>& ids,
      const std::function<absl::Status(size_t index, const Record* record)>&
          visit) = 0;

 protected:
  ~LendingRecordStore() = default;
};

// Lends the records of any RecordStore through its public ScanPage and
// GetMany, each record a copy of its own: what a host's store, which does
// not lend, gives.
class CopyingLender final : public LendingRecordStore {
 public:
  explicit CopyingLender(RecordStore* store) : store_(store) {}

  absl::StatusOr<RecordPage> LendPage(
      std::string_view object, std::string_view after_id, size_t limit,
      const std::function<absl::Status(const Record&)>& visit) override {
    absl::StatusOr<RecordPage> page =
        store_->ScanPage(object, absl::InfinitePast(), after_id, limit);
    if (!page.ok()) return page.status();
    for (const Record& record : page->records) {
      if (absl::Status visited = visit(record); !visited.ok()) return visited;
    }
    page->records.clear();
    return page;
  }

  absl::Status LendMany(
      std::string_view object, const std::vector<std::string>& ids,
      const std::function<absl::Status(size_t index, const Record* record)>&
          visit) override {
    absl::StatusOr<std::vector<std::optional<Record>>> records =
        store_->GetMany(object, ids);
    if (!records.ok()) return records.status();
    if (records->size() != ids.size()) {
      return absl::InternalError(
          fmt::format("RecordStore::GetMany returned {} records for {} ids",
                      records->size(), ids.size()));
    }
    for (size_t i = 0; i < records->size(); ++i) {
      const std::optional<Record>& record = (*records)[i];
      if (absl::Status visited =
              visit(i, record.has_value() ? &*record : nullptr);
          !visited.ok()) {
        return visited;
      }
    }
    return absl::OkStatus();
  }

 private:
  RecordStore* const store_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_RECORDS_LENDING_RECORD_STORE_H_
