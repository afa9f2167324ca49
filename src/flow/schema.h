// JSON Schema (draft 7) validation of requests, for a flow's `validate:` step: valijson over
// Boost.JSON. A schema is loaded once at startup; validate() is read-only and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace fxconnect::flow {

class Schema {
 public:
  // Reads and compiles a draft-7 schema file. Errors name the file and what is wrong (not JSON,
  // not a schema, an unsupported keyword or an unresolvable $ref).
  static Result<Schema> load(const std::string& path);
  static Result<Schema> from_json(const boost::json::value& schema, const std::string& name);

  struct Problem {
    std::string field;    // dotted path in the document: "customer.birthDate", "items[2].id", "" = root
    std::string message;  // what is wrong: "is required", "expected a string, got a number", ...
  };
  // Empty when `document` is valid; else the problems, the most specific first. Plain JSON only
  // (the caller passes core::without_raw_numbers of a document that has raw numbers).
  std::vector<Problem> validate(const boost::json::value& document) const;

  Schema(Schema&&) noexcept;
  Schema& operator=(Schema&&) noexcept;
  ~Schema();

 private:
  Schema() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fxconnect::flow
