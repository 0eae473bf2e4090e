// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Storage keys of the connection component (prefix "c/"):
//   c/.org                       OrgRecord: the org this Storage belongs to
//   c/.index/<connection_id>     empty: the connection exists
//   c/<connection_id>/state      ConnectionState
//   c/<connection_id>/bulk       StoredBulkSync: the bulk sync (R60-R65)
//   c/<connection_id>/h/<seq>    StoredHistoryEntry, seq 8 bytes big-endian
// and, as the receiving side of the partner's queue (prefix "k/", shared
// with the record links that the record flow adds):
//   k/<connection_id>/a/<key>    AppliedMark of ordering key <key>
// Connection ids never contain '.', so "c/.org" and "c/.index/" cannot clash
// with a connection's keys. Other components scope their own prefixes by
// connection id the same way ("q/<connection_id>/...").

#ifndef ORGSYNC_LIB_CONNECTION_CONNECTION_KEYS_H_
#define ORGSYNC_LIB_CONNECTION_CONNECTION_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace orgsync::internal {

inline constexpr std::string_view kOrgRecordKey = "c/.org";
inline constexpr std::string_view kConnectionIndexPrefix = "c/.index/";

inline std::string ConnectionIndexKey(std::string_view connection_id) {
  std::string key(kConnectionIndexPrefix);
  key.append(connection_id);
  return key;
}

inline std::string ConnectionStateKey(std::string_view connection_id) {
  std::string key = "c/";
  key.append(connection_id);
  key.append("/state");
  return key;
}

inline std::string BulkSyncKey(std::string_view connection_id) {
  std::string key = "c/";
  key.append(connection_id);
  key.append("/bulk");
  return key;
}

inline std::string HistoryPrefix(std::string_view connection_id) {
  std::string key = "c/";
  key.append(connection_id);
  key.append("/h/");
  return key;
}

// Big-endian so that the Storage's bytewise order is the numeric order.
inline std::string HistoryKey(std::string_view connection_id,
                              uint64_t sequence) {
  std::string key = HistoryPrefix(connection_id);
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((sequence >> shift) & 0xff));
  }
  return key;
}

// The ordering key of connection notices (see OrderingKey in
// connection_impl.h); also the applied mark's key for them.
inline constexpr std::string_view kConnectionOrderingKey = "connection";

// The ordering key of every user sync entry, live and bulk alike: one
// order for all users, so that a copy queued before a user's later change
// can never overwrite it at the partner (R70); also their applied mark's
// key.
inline constexpr std::string_view kUserOrderingKey = "users";

// The applied mark's key of the primary's metadata pushes (R74;
// metadata_sync.cc). Not a queue ordering key: pushes are no queue entries.
inline constexpr std::string_view kMetadataOrderingKey = "metadata";

// "k/<conn><section><name>": a key of the receiving side's state.
inline std::string ReceivingKey(std::string_view connection_id,
                                std::string_view section,
                                std::string_view name) {
  std::string key = "k/";
  key.reserve(2 + connection_id.size() + section.size() + name.size());
  key.append(connection_id);
  key.append(section);
  key.append(name);
  return key;
}

// User links (R37, R35; user_sync.cc): "k/<conn>/u/p/<partner user id>" ->
// this org's id of that user, and "k/<conn>/u/l/<local user id>" -> the
// partner's id.
inline std::string UserLinkKey(std::string_view connection_id,
                               bool by_partner_id, std::string_view user_id) {
  return ReceivingKey(connection_id, by_partner_id ? "/u/p/" : "/u/l/",
                      user_id);
}

// The stamp of the last change of a user this org sent or applied (user
// sync's last writer wins, user_sync.cc): "k/<conn>/u/s/<local user id>" ->
// Unix micros, 8 bytes big-endian.
inline std::string UserStampKey(std::string_view connection_id,
                                std::string_view local_user_id) {
  return ReceivingKey(connection_id, "/u/s/", local_user_id);
}

inline std::string AppliedMarkKey(std::string_view connection_id,
                                  std::string_view ordering_key) {
  return ReceivingKey(connection_id, "/a/", ordering_key);
}

// [A-Za-z0-9_-]{1,64}: safe inside keys and messages.
inline bool IsValidConnectionId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// [A-Za-z0-9_.-]{1,64}
inline bool IsValidOrgId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_CONNECTION_KEYS_H_
