// Named handlers a connector program offers; `handler.name` in the config picks one.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fxconnect/handler.h"

namespace fxconnect {

// A plain value: tests build an empty one; a program registers what it offers, explicitly.
class Registry {
 public:
  // Throws std::invalid_argument when the name is taken or empty.
  void add(std::string name, std::string description, HandlerFactory factory);
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  std::vector<std::string> names() const;
  const std::string& description(const std::string& name) const;
  // Throws ConfigError when the name is unknown (listing the known ones) or the options are bad.
  std::unique_ptr<Handler> create(const std::string& name, const HandlerOptions& options) const;

 private:
  struct Entry {
    std::string description;
    HandlerFactory factory;
  };
  std::map<std::string, Entry> entries_;
};

// Adds the handlers that ship with fxconnect: `echo`.
void register_builtin_handlers(Registry& registry);

}  // namespace fxconnect
