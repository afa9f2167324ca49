// PLACEHOLDER while the implementation is being written: every call fails.
#include "systems/sql/sql_system.h"

#include <boost/asio/post.hpp>

namespace fxconnect::systems {

class SqlSystem::Impl {
 public:
  Impl(boost::asio::io_context& io, config::PostgresSystemConfig c) : io(io), config(std::move(c)) {}
  boost::asio::io_context& io;
  config::PostgresSystemConfig config;
};

SqlSystem::SqlSystem(boost::asio::io_context& io, config::PostgresSystemConfig config, std::shared_ptr<observability::LegacyMetrics> /*metrics*/)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}
SqlSystem::~SqlSystem() = default;
const config::PostgresSystemConfig& SqlSystem::config() const { return impl_->config; }
void SqlSystem::call(const CallContext& /*context*/, SqlRequest /*request*/, Done done) {
  boost::asio::post(impl_->io, [done = std::move(done)] {
    done(Error{ErrorCode::internal, "not implemented yet", false, std::nullopt});
  });
}

}  // namespace fxconnect::systems
