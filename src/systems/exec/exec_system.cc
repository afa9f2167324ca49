// PLACEHOLDER while the implementation is being written: every call fails.
#include "systems/exec/exec_system.h"

#include <boost/asio/post.hpp>

namespace fxconnect::systems {

class ExecSystem::Impl {
 public:
  Impl(boost::asio::io_context& io, config::ExecSystemConfig c) : io(io), config(std::move(c)) {}
  boost::asio::io_context& io;
  config::ExecSystemConfig config;
};

ExecSystem::ExecSystem(boost::asio::io_context& io, config::ExecSystemConfig config, std::shared_ptr<observability::LegacyMetrics> /*metrics*/)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}
ExecSystem::~ExecSystem() = default;
const config::ExecSystemConfig& ExecSystem::config() const { return impl_->config; }
void ExecSystem::call(const CallContext& /*context*/, ExecRequest /*request*/, Done done) {
  boost::asio::post(impl_->io, [done = std::move(done)] {
    done(Error{ErrorCode::internal, "not implemented yet", false, std::nullopt});
  });
}

}  // namespace fxconnect::systems
