// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A plain-text table for the demo's output: columns as wide as their widest
// cell, long cells wrapped at spaces onto continuation lines, so that a
// person can read the queue, the sync log and the final comparison in a
// terminal. Private to examples/; not part of orgsync's API.
//
// Thread-safety: none needed; the demo prints from one thread.

#ifndef ORGSYNC_EXAMPLES_DEMO_TABLE_H_
#define ORGSYNC_EXAMPLES_DEMO_TABLE_H_

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/core.h"

namespace orgsync_demo {

class Table {
 public:
  struct Column {
    std::string header;
    bool right_aligned = false;
    // Cells longer than this wrap onto more lines; 0 never wraps.
    size_t max_width = 0;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Missing trailing cells print empty; extra cells are dropped.
  void AddRow(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
  }

  size_t rows() const { return rows_.size(); }

  void Print(std::FILE* out = stdout) const {
    std::vector<size_t> widths(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) {
      widths[c] = columns_[c].header.size();
      for (const std::vector<std::string>& row : rows_) {
        for (const std::string& line : Wrap(row[c], columns_[c].max_width)) {
          widths[c] = std::max(widths[c], line.size());
        }
      }
    }
    std::vector<std::string> header;
    std::vector<std::string> rule;
    for (size_t c = 0; c < columns_.size(); ++c) {
      header.push_back(columns_[c].header);
      rule.push_back(std::string(widths[c], '-'));
    }
    PrintLine(out, header, widths);
    PrintLine(out, rule, widths);
    for (const std::vector<std::string>& row : rows_) {
      std::vector<std::vector<std::string>> wrapped;
      size_t height = 1;
      for (size_t c = 0; c < columns_.size(); ++c) {
        wrapped.push_back(Wrap(row[c], columns_[c].max_width));
        height = std::max(height, wrapped.back().size());
      }
      for (size_t line = 0; line < height; ++line) {
        std::vector<std::string> cells;
        for (const std::vector<std::string>& cell : wrapped) {
          cells.push_back(line < cell.size() ? cell[line] : "");
        }
        PrintLine(out, cells, widths);
      }
    }
  }

 private:
  // Breaks `text` at spaces into lines of at most `width` characters (a
  // single longer word stays whole).
  static std::vector<std::string> Wrap(std::string_view text, size_t width) {
    if (width == 0 || text.size() <= width) return {std::string(text)};
    std::vector<std::string> lines;
    std::string line;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(' ', start);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view word = text.substr(start, end - start);
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        lines.push_back(std::move(line));
        line.clear();
      }
      if (!line.empty()) line += ' ';
      line += word;
      start = end + 1;
    }
    if (!line.empty()) lines.push_back(std::move(line));
    return lines;
  }

  void PrintLine(std::FILE* out, const std::vector<std::string>& cells,
                 const std::vector<size_t>& widths) const {
    std::string text = " ";
    for (size_t c = 0; c < cells.size(); ++c) {
      text += ' ';
      text += columns_[c].right_aligned
                  ? fmt::format("{:>{}}", cells[c], widths[c])
                  : fmt::format("{:<{}}", cells[c], widths[c]);
    }
    // Trailing blanks of a short last cell would only clutter copies.
    text.erase(text.find_last_not_of(' ') + 1);
    fmt::print(out, "{}\n", text);
  }

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace orgsync_demo

#endif  // ORGSYNC_EXAMPLES_DEMO_TABLE_H_
