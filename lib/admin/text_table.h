// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// TextTable: the aligned columns orgsync-admin prints for people, as a
// terminal tool does:
//
//   SEQ  ACTION           OBJECT   ATTEMPTS
//   12   Generic Update   Account  1
//
// Every column is as wide as its widest cell (counted in UTF-8 code points,
// so names with accents stay aligned), columns are two spaces apart, and
// trailing spaces are trimmed. Cells are one line: line breaks and tabs in
// a value (a description, a detail) print as spaces, and a cell longer
// than the column's limit is cut with "...".
//
// Thread-safety: a value; not safe to change from two threads at once.

#ifndef ORGSYNC_LIB_ADMIN_TEXT_TABLE_H_
#define ORGSYNC_LIB_ADMIN_TEXT_TABLE_H_

#include <cstddef>
#include <string>
#include <vector>

namespace orgsync::admin {

class TextTable {
 public:
  // The longest a cell prints by default, in code points.
  static constexpr size_t kDefaultMaxCellWidth = 60;

  explicit TextTable(std::vector<std::string> headers,
                     size_t max_cell_width = kDefaultMaxCellWidth);

  // One row; missing cells are empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);

  size_t rows() const { return rows_.size(); }

  // The header line and one line per row, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  size_t max_cell_width_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_TEXT_TABLE_H_
