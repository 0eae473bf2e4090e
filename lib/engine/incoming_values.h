// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Incoming values: what becomes of each field value a partner sends, decided
// against this org's own schema before anything reaches the host's
// RecordStore. The partner's bytes are authenticated, not trusted: a bug in
// its host, or a partner that was compromised, must not store a value the
// local schema forbids.
//
// Every field of an incoming change falls in one of these cases:
//
//   * The field is subscribed (SubscriptionMap::MappedField names a local
//     field): its value is checked by CheckIncomingValue -- type, length,
//     precision and scale, picklist values, the file limit (R38). A refused
//     value fails the whole change for good (VALIDATION or FILE_TOO_LARGE):
//     storing part of a change would leave the two orgs different without
//     a word.
//   * This org has no such field (no local field of the partner's name, nor
//     the local field a mapping names, or a subscribed field whose local
//     field is gone): the metadata of the two orgs differ, the seed's
//     "Diagnosing Syncing Issues" case. A change carrying a value for it
//     fails with SCHEMA_MISMATCH (a null loses nothing and is skipped);
//     once the field exists here and is subscribed, the record's next
//     change carries its whole state (R55).
//   * The field exists here but is not subscribed (Not Subscribed after
//     R17, a lookup that is None Available, a field left "--None--" for an
//     incompatible local field): the subscriber's choice. The value is
//     skipped without a log entry.
//   * The field exists here but the partner does not publish it (a change
//     captured before the partner unpublished the field, overtaken by the
//     Field Map notice): skipped, with an Info log entry.
//
// Thread-safety: pure functions of their arguments; SubscriptionMap is
// thread-safe.

#ifndef ORGSYNC_LIB_ENGINE_INCOMING_VALUES_H_
#define ORGSYNC_LIB_ENGINE_INCOMING_VALUES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "orgsync/schema.h"
#include "orgsync/subscription_map.h"
#include "orgsync/sync_log.h"
#include "proto/common.pb.h"

namespace orgsync::internal {

// The most characters a text-like field takes when the schema gives it no
// length (FieldDef.length == 0): the long text area limit of the seed's
// platform (128 Ki characters). It keeps a partner from storing a value of
// tens of megabytes into a field no host would size that way.
inline constexpr size_t kMaxUnsizedTextChars = size_t{128} * 1024;

// Why a value (or a field) of an incoming change is refused.
struct ValueRefusal {
  // kValidation, kFileTooLarge or kSchemaMismatch.
  SyncErrorCode code = SyncErrorCode::kValidation;
  // The rule broken, one word or two, stable (logged as the "rule"
  // detail): "type", "length", "finite", "precision", "scale", "picklist",
  // "reference", "file size", "never received", "missing field", "time".
  std::string rule;
  // What was wrong, for people: names the field, the value's size or kind
  // and the limit; ends without a period.
  std::string description;
};

// Checks one value the partner sent for local field `field` of `object`.
// nullopt: the value may be stored. Null (no kind set) fits every field;
// the host's store decides about required fields. Text is measured in
// Unicode code points (the wire carries valid UTF-8).
std::optional<ValueRefusal> CheckIncomingValue(std::string_view object,
                                               const FieldDef& field,
                                               const proto::FieldValue& value,
                                               size_t max_file_bytes);

// The case one incoming field falls in (see the file comment).
enum class IncomingFieldCase {
  kReceive,        // subscribed: check the value, store it in `local_field`
  kSkip,           // present here, not subscribed: the subscriber's choice
  kNotPublished,   // present here, not published by the partner: skipped,
                   // logged as Info
  kSchemaMismatch  // this org has no field for it: fail the change
};

struct IncomingField {
  IncomingFieldCase kind = IncomingFieldCase::kSkip;
  // kReceive: the local field receiving the value; kSchemaMismatch: the
  // local field that is missing.
  std::string local_field;
  // kReceive: its definition, owned by the `local_def` passed in.
  const FieldDef* def = nullptr;
};

// Decides the case of `partner_field` of the partner's `partner_object`,
// mapped onto `local_def` (the local object's definition, or null if the
// local schema has none).
IncomingField ClassifyIncomingField(const SubscriptionMap& subscriptions,
                                    std::string_view partner_object,
                                    const ObjectDef* local_def,
                                    std::string_view partner_field);

// `text` cut to at most `max_bytes` bytes on a UTF-8 character boundary,
// with "..." appended when cut: for quoting what a partner sent in log
// text, which the SyncLog bounds.
std::string ClipForLog(std::string_view text, size_t max_bytes = 200);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_INCOMING_VALUES_H_
