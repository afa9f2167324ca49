#include "kafka/queue_wakeup.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fxconnect::kafka {

QueueWakeup::QueueWakeup(boost::asio::io_context& io, rd_kafka_queue_t* queue) : pipe_(io), queue_(queue) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot create a wakeup pipe: ") + std::strerror(errno));
  }
  write_fd_ = fds[1];
  pipe_.assign(fds[0]);
  rd_kafka_queue_io_event_enable(queue_, write_fd_, "1", 1);
}

QueueWakeup::~QueueWakeup() {
  rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
  ::close(write_fd_);
}

void QueueWakeup::watch(std::function<void()> on_ready) {
  on_ready_ = std::move(on_ready);
  arm();
}

void QueueWakeup::arm() {
  pipe_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](auto ec) {
    if (ec) return;  // cancelled: this object is going away
    std::array<char, 256> sink;
    while (::read(pipe_.native_handle(), sink.data(), sink.size()) > 0) {
    }
    on_ready_();
    arm();
  });
}

}  // namespace fxconnect::kafka
