#include "flow/lists.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace fxconnect::flow {
namespace {

Error bad(std::string message) { return Error{ErrorCode::invalid_request, std::move(message), false, std::nullopt}; }

std::string fold(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A key in a message: quoted, and cut when very long (at a UTF-8 character boundary).
std::string shown(std::string_view key) {
  constexpr std::size_t kMax = 80;
  if (key.size() <= kMax) return fmt::format("'{}'", key);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("'{}...' ({} bytes)", key.substr(0, cut), key.size());
}

// Levenshtein distance (insertions, deletions, substitutions of bytes).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// One CSV record and the line it starts on.
struct Record {
  std::vector<std::string> fields;
  std::size_t line = 0;
};

// RFC 4180 reader: comma-separated fields, "quoted" fields (which may hold commas, quotes doubled
// and line breaks), records ended by CRLF, LF or CR. Blank lines are skipped; a UTF-8 byte order
// mark at the start is ignored.
class CsvReader {
 public:
  CsvReader(std::string_view text, const std::string& path) : text_(text), path_(path) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  // The next record, nullopt at the end, or an error.
  Result<std::optional<Record>> next() {
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) end_line();  // blank lines
    if (pos_ >= text_.size()) return std::optional<Record>();
    Record record;
    record.line = line_;
    for (;;) {
      std::string field;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        std::size_t start_line = line_;
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size()) {
            return bad(fmt::format("{}:{}: a quoted field is not closed (the file ends inside it)", path_, start_line));
          }
          char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
              field += '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) ++line_;
          field += c;
          ++pos_;
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
          return bad(
              fmt::format("{}:{}: text after the closing quote of field {} (a quote inside a field is written "
                          "\"\")",
                          path_, line_, record.fields.size() + 1));
        }
      } else {
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
          if (text_[pos_] == '"') {
            return bad(
                fmt::format("{}:{}: a quote inside unquoted field {} (quote the whole field and write a quote "
                            "as \"\")",
                            path_, line_, record.fields.size() + 1));
          }
          field += text_[pos_++];
        }
      }
      record.fields.push_back(std::move(field));
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size()) end_line();
      return std::optional<Record>(std::move(record));
    }
  }

 private:
  void end_line() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  std::string_view text_;
  const std::string& path_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

std::string column_list(const std::vector<std::string>& header) {
  std::string out;
  for (const auto& h : header) {
    if (!out.empty()) out += ", ";
    out += shown(h);
  }
  return out;
}

Result<std::size_t> find_column(const std::vector<std::string>& header, const std::string& name,
                                const std::string& path, std::string_view role) {
  auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) {
    return bad(
        fmt::format("{}:1: no {} column '{}' in the header (columns: {})", path, role, name, column_list(header)));
  }
  if (std::find(std::next(it), header.end(), name) != header.end()) {
    return bad(fmt::format("{}:1: the header names column '{}' twice", path, name));
  }
  return static_cast<std::size_t>(it - header.begin());
}

}  // namespace

Result<boost::json::value> csv_to_json(std::string_view text, const std::string& what) {
  CsvReader reader(text, what);
  auto header = reader.next();
  if (!header) return header.error();
  boost::json::array rows;
  if (!header.value()) return boost::json::value(std::move(rows));
  const auto names = std::move(header.value()->fields);
  for (;;) {
    auto row = reader.next();
    if (!row) return row.error();
    if (!row.value()) break;
    if (row.value()->fields.size() != names.size()) {
      return bad(fmt::format("{}:{}: {} field{}, the header has {}", what, row.value()->line,
                             row.value()->fields.size(), row.value()->fields.size() == 1 ? "" : "s", names.size()));
    }
    boost::json::object o;
    auto& fields = row.value()->fields;
    for (std::size_t i = 0; i < names.size(); ++i) o[names[i]] = boost::json::string(fields[i]);
    rows.push_back(std::move(o));
  }
  return boost::json::value(std::move(rows));
}

Result<ValueList> ValueList::from_entries(std::string name, std::vector<std::pair<std::string, std::string>> entries,
                                          bool case_insensitive) {
  ValueList list;
  list.name_ = std::move(name);
  list.case_insensitive_ = case_insensitive;
  list.map_.reserve(entries.size());
  list.keys_.reserve(entries.size());
  std::unordered_map<std::string, std::size_t> where;  // folded key → index in keys_
  for (auto& entry : entries) {
    const auto& key = entry.first;
    auto folded = case_insensitive ? fold(key) : key;
    if (auto it = where.find(folded); it != where.end()) {
      const auto& first = list.keys_[it->second];
      if (first == key) return bad(fmt::format("list {}: key {} appears twice", list.name_, shown(key)));
      return bad(fmt::format("list {}: keys {} and {} are the same key in a case-insensitive list", list.name_,
                             shown(first), shown(key)));
    }
    where.emplace(folded, list.keys_.size());
    list.map_.emplace(std::move(folded), std::move(entry.second));
    list.keys_.push_back(std::move(entry.first));
  }
  return list;
}

Result<ValueList> ValueList::from_csv(std::string name, const std::string& path, const std::string& key,
                                      const std::string& value, bool case_insensitive) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(fmt::format("{}: cannot be read ({})", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return bad(fmt::format("{}: cannot be read ({})", path, std::strerror(errno)));
  std::string text = buffer.str();

  CsvReader reader(text, path);
  auto header_record = reader.next();
  if (!header_record) return header_record.error();
  if (!header_record.value()) return bad(fmt::format("{}: the file is empty (expected a header row)", path));
  const auto header = std::move(header_record.value()->fields);
  auto key_column = find_column(header, key, path, "key");
  if (!key_column) return key_column.error();
  auto value_column = find_column(header, value, path, "value");
  if (!value_column) return value_column.error();

  ValueList list;
  list.name_ = std::move(name);
  list.case_insensitive_ = case_insensitive;
  std::unordered_map<std::string, std::size_t> seen;  // folded key → the line it was first on
  for (;;) {
    auto record = reader.next();
    if (!record) return record.error();
    if (!record.value()) break;
    auto& row = *record.value();
    if (row.fields.size() != header.size()) {
      return bad(fmt::format("{}:{}: {} field{}, the header has {}", path, row.line, row.fields.size(),
                             row.fields.size() == 1 ? "" : "s", header.size()));
    }
    auto& k = row.fields[key_column.value()];
    auto& v = row.fields[value_column.value()];
    if (k.empty()) return bad(fmt::format("{}:{}: the key (column '{}') is empty", path, row.line, key));
    auto folded = case_insensitive ? fold(k) : k;
    if (auto it = seen.find(folded); it != seen.end()) {
      const auto& existing = list.map_.at(folded);
      if (existing == v) continue;  // the same row again: harmless
      return bad(fmt::format("{}:{}: key {} is already on line {} with value {} (here {})", path, row.line, shown(k),
                             it->second, shown(existing), shown(v)));
    }
    seen.emplace(folded, row.line);
    list.keys_.push_back(k);
    list.map_.emplace(std::move(folded), std::move(v));
  }
  return list;
}

std::optional<std::string_view> ValueList::find(std::string_view key) const {
  thread_local std::string probe;
  probe.assign(key);
  if (case_insensitive_) {
    for (auto& c : probe) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  }
  auto it = map_.find(probe);
  if (it == map_.end()) return std::nullopt;
  return std::string_view(it->second);
}

Error ValueList::not_found(std::string_view key) const {
  if (keys_.empty()) return bad(fmt::format("{} is not in list {} (the list is empty)", shown(key), name_));
  constexpr std::size_t kShown = 5;
  constexpr std::size_t kLongest = 256;  // bytes of `key` compared: an error must stay cheap
  auto folded = fold(key.substr(0, kLongest));
  std::vector<std::pair<std::size_t, std::size_t>> ranked;  // (distance, index in keys_)
  ranked.reserve(keys_.size());
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    auto candidate = std::string_view(keys_[i]).substr(0, kLongest);
    ranked.emplace_back(edit_distance(folded, fold(candidate)), i);
  }
  auto n = std::min(kShown, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end());
  std::string suggestions;
  for (std::size_t i = 0; i < n; ++i) {
    if (!suggestions.empty()) suggestions += ", ";
    suggestions += shown(keys_[ranked[i].second]);
  }
  if (keys_.size() > n) {
    suggestions += fmt::format(", ... ({} entries)", keys_.size());
  }
  return bad(fmt::format("{} is not in list {}; expected one of {}", shown(key), name_, suggestions));
}

std::size_t ValueList::size() const { return keys_.size(); }

}  // namespace fxconnect::flow
