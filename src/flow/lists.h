// Value lists (`lists:` in a connector config): a name → value table, from a CSV file or inline,
// used by a flow's `lookup:` transform. Built once at startup, read-only afterwards.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace fxconnect::flow {

class ValueList {
 public:
  // An inline list: entries in document order (key → value). Case sensitive unless told.
  // Error: a duplicate key (after case folding when insensitive) names it.
  static Result<ValueList> from_entries(std::string name, std::vector<std::pair<std::string, std::string>> entries,
                                        bool case_insensitive);
  // A CSV file (RFC 4180: a header row naming the columns, commas, "quoted" fields with "" for a
  // quote, CRLF or LF) read with column `key` → column `value`. Several rows may give the same
  // value (aliases: "Czechia" and "Czech Republic" → CZ); the same key twice with different values
  // is an error. Errors name the file and line ("lists/countries.csv:12: 3 fields, the header has 2").
  static Result<ValueList> from_csv(std::string name, const std::string& path, const std::string& key,
                                    const std::string& value, bool case_insensitive);

  // The value for `key` (ASCII case folded when case-insensitive; blanks are NOT trimmed: use
  // the `trim` transform), or nullopt.
  std::optional<std::string_view> find(std::string_view key) const;
  // The error for a key not in the list: "'Atlantis' is not in list country; expected one of
  // 'Romania', 'Germany', ... (250 entries)" — up to 5 keys, the ones closest to `key` first
  // (edit distance), so a typo shows its fix.
  Error not_found(std::string_view key) const;
  const std::string& name() const { return name_; }
  std::size_t size() const;

 private:
  std::string name_;
  bool case_insensitive_ = false;
  std::unordered_map<std::string, std::string> map_;
  std::vector<std::string> keys_;  // as written, in order
};

// CSV text (RFC 4180, a header row first) as a JSON array of objects, header → field (strings).
// `what` names the text in errors ("mainframe: RSP-1.csv:3: 2 fields, the header has 3").
Result<boost::json::value> csv_to_json(std::string_view text, const std::string& what);

}  // namespace fxconnect::flow
