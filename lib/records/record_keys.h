// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Storage keys of the Storage-backed RecordStore (prefix "r/"):
//   r/meta                                  RecordStoreMeta (counters)
//   r/d/<object>\0<id>                      StoredRecord
//   r/i/<id>                                the object holding <id>
//   r/c/<target>\0<object>\0<id>\0<field>   empty: that field references
//                                           <target> (the reverse index)
// Names never contain NUL (the store refuses them), so NUL separates the
// parts unambiguously and, being the smallest byte, makes the Storage's
// bytewise order the order of the (object, id, ...) tuples: records of one
// object come out in id order, referrers in (object, id, field) order.

#ifndef ORGSYNC_LIB_RECORDS_RECORD_KEYS_H_
#define ORGSYNC_LIB_RECORDS_RECORD_KEYS_H_

#include <optional>
#include <string>
#include <string_view>

#include "records/record_table.h"

namespace orgsync::internal {

inline constexpr std::string_view kRecordMetaKey = "r/meta";
inline constexpr char kKeySeparator = '\0';

inline std::string RecordKeyPrefix(std::string_view object) {
  std::string key = "r/d/";
  key.append(object);
  key.push_back(kKeySeparator);
  return key;
}

inline std::string RecordKey(std::string_view object, std::string_view id) {
  std::string key = RecordKeyPrefix(object);
  key.append(id);
  return key;
}

inline std::string IdIndexKey(std::string_view id) {
  std::string key = "r/i/";
  key.append(id);
  return key;
}

inline std::string ReferrerKeyPrefix(std::string_view target_id) {
  std::string key = "r/c/";
  key.append(target_id);
  key.push_back(kKeySeparator);
  return key;
}

inline std::string ReferrerKey(std::string_view target_id,
                               const Referrer& referrer) {
  std::string key = ReferrerKeyPrefix(target_id);
  key.append(referrer.object);
  key.push_back(kKeySeparator);
  key.append(referrer.id);
  key.push_back(kKeySeparator);
  key.append(referrer.field);
  return key;
}

// The referrer named by the part of a reverse-index key after its prefix;
// nullopt if it does not have three parts.
inline std::optional<Referrer> ParseReferrer(std::string_view rest) {
  const size_t first = rest.find(kKeySeparator);
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = rest.find(kKeySeparator, first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (rest.find(kKeySeparator, second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return Referrer{std::string(rest.substr(0, first)),
                  std::string(rest.substr(first + 1, second - first - 1)),
                  std::string(rest.substr(second + 1))};
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_RECORDS_RECORD_KEYS_H_
