// PLACEHOLDER while the implementation is being written: every call fails.
#include "systems/files/file_system.h"

#include <boost/asio/post.hpp>

namespace fxconnect::systems {

class FileSystem::Impl {
 public:
  Impl(boost::asio::io_context& io, config::FileSystemConfig c) : io(io), config(std::move(c)) {}
  boost::asio::io_context& io;
  config::FileSystemConfig config;
};

FileSystem::FileSystem(boost::asio::io_context& io, http::CurlMulti& /*curl*/, config::FileSystemConfig config, std::shared_ptr<observability::LegacyMetrics> /*metrics*/)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}
FileSystem::~FileSystem() = default;
const config::FileSystemConfig& FileSystem::config() const { return impl_->config; }
void FileSystem::call(const CallContext& /*context*/, FileExchangeRequest /*request*/, Done done) {
  boost::asio::post(impl_->io, [done = std::move(done)] {
    done(Error{ErrorCode::internal, "not implemented yet", false, std::nullopt});
  });
}

}  // namespace fxconnect::systems
