#include "systems/http/curl_multi.h"

#include <poll.h>

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace fxconnect::systems::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One socket libcurl uses: the asio socket that owns the descriptor, and what libcurl wants to
// know about it.
struct CurlMulti::Socket {
  explicit Socket(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  int what = CURL_POLL_NONE;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;       // an async_wait for read is pending
  bool writing = false;
  bool closed = false;
};

namespace {

// libcurl's global state, set up once before the first multi handle.
void global_init_once() {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK)
    throw std::runtime_error(std::string("libcurl: global init failed: ") + curl_easy_strerror(init));
}

}  // namespace

CurlMulti::CurlMulti(asio::io_context& io) : io_(io), timer_(io) {
  global_init_once();
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("libcurl: cannot create a multi handle");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // HTTP/2 streams share a connection when the server speaks it.
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

CurlMulti::~CurlMulti() {
  closing_ = true;
  for (auto& [easy, done] : transfers_) curl_multi_remove_handle(multi_, easy);
  transfers_.clear();
  curl_multi_cleanup(multi_);  // closes the pooled connections (through close_socket)
  for (auto& [fd, socket] : sockets_) {
    boost::system::error_code ignored;
    socket->socket.close(ignored);
  }
}

void CurlMulti::start(CURL* easy, std::function<void(CURLcode)> done) {
  set(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlMulti::open_socket);
  set(easy, CURLOPT_OPENSOCKETDATA, this);
  set(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlMulti::close_socket);
  set(easy, CURLOPT_CLOSESOCKETDATA, this);
  transfers_[easy] = std::move(done);
  if (auto rc = curl_multi_add_handle(multi_, easy); rc != CURLM_OK) {
    auto failed = std::move(transfers_[easy]);
    transfers_.erase(easy);
    spdlog::error("libcurl: cannot start a transfer: {}", curl_multi_strerror(rc));
    asio::post(io_, [failed = std::move(failed)] { failed(CURLE_FAILED_INIT); });
  }
}

namespace {
// Idle handles kept for reuse: enough for the bursts of a busy connector, bounded in memory.
constexpr std::size_t kIdleHandles = 1024;
}  // namespace

EasyPtr CurlMulti::acquire() {
  if (idle_.empty()) {
    EasyPtr easy(curl_easy_init());
    if (!easy) throw std::runtime_error("libcurl: cannot create an easy handle");
    return easy;
  }
  EasyPtr easy = std::move(idle_.back());
  idle_.pop_back();
  curl_easy_reset(easy.get());  // every option back to its default; buffers are kept
  return easy;
}

void CurlMulti::release(EasyPtr easy) {
  if (!easy || transfers_.count(easy.get()) || idle_.size() >= kIdleHandles) return;  // freed here
  idle_.push_back(std::move(easy));
}

void CurlMulti::cancel(CURL* easy) {
  if (transfers_.erase(easy)) curl_multi_remove_handle(multi_, easy);
}

curl_socket_t CurlMulti::open_socket(void* self_, curlsocktype purpose, curl_sockaddr* address) {
  auto* self = static_cast<CurlMulti*>(self_);
  if (purpose != CURLSOCKTYPE_IPCXN || (address->family != AF_INET && address->family != AF_INET6)) {
    return CURL_SOCKET_BAD;  // only TCP over IP: what HTTP needs
  }
  auto socket = std::make_shared<Socket>(self->io_);
  boost::system::error_code ec;
  socket->socket.open(address->family == AF_INET ? tcp::v4() : tcp::v6(), ec);
  if (ec) {
    spdlog::warn("libcurl: cannot open a socket: {}", ec.message());
    return CURL_SOCKET_BAD;
  }
  auto fd = socket->socket.native_handle();
  self->sockets_[fd] = std::move(socket);
  return fd;
}

int CurlMulti::close_socket(void* self_, curl_socket_t fd) {
  auto* self = static_cast<CurlMulti*>(self_);
  auto it = self->sockets_.find(fd);
  if (it == self->sockets_.end()) return 0;
  auto socket = std::move(it->second);
  self->sockets_.erase(it);
  socket->closed = true;
  boost::system::error_code ignored;
  socket->socket.close(ignored);  // pending waits end with operation_aborted
  return 0;
}

int CurlMulti::on_socket(CURL*, curl_socket_t fd, int what, void* self_, void*) {
  auto* self = static_cast<CurlMulti*>(self_);
  auto it = self->sockets_.find(fd);
  if (it == self->sockets_.end()) return 0;  // not ours (cannot happen: every socket is opened here)
  it->second->what = what == CURL_POLL_REMOVE ? CURL_POLL_NONE : what;
  self->watch(it->second);
  return 0;
}

// Keeps one wait pending per direction libcurl asked for. asio's reactor is edge-triggered and its
// async_wait is never speculative: readiness that arrives while no wait is pending (between one
// wait's completion and the next one) produces no new edge, and the transfer would stall until
// libcurl's next timeout. So each direction is first checked with a zero-timeout poll(): ready
// now means act now (from the loop), else wait for the next edge.
void CurlMulti::watch(const std::shared_ptr<Socket>& socket) {
  if (socket->closed) return;
  auto fd = socket->socket.native_handle();
  auto ready_now = [fd](short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (events | POLLERR | POLLHUP)) != 0;
  };
  auto arm = [this, socket, fd, &ready_now](bool& pending, int poll_flag, short events, tcp::socket::wait_type wait,
                                            int select_flag) {
    if (!(socket->what & poll_flag) || pending) return;
    pending = true;
    auto then = [this, socket, fd, &pending, poll_flag, select_flag](boost::system::error_code ec) {
      pending = false;
      if (ec || socket->closed) return;
      if (socket->what & poll_flag) act(fd, select_flag);
      watch(socket);
    };
    if (ready_now(events)) {
      asio::post(io_, [then] { then({}); });
    } else {
      socket->socket.async_wait(wait, then);
    }
  };
  arm(socket->reading, CURL_POLL_IN, POLLIN, tcp::socket::wait_read, CURL_CSELECT_IN);
  arm(socket->writing, CURL_POLL_OUT, POLLOUT, tcp::socket::wait_write, CURL_CSELECT_OUT);
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* self_) {
  auto* self = static_cast<CurlMulti*>(self_);
  if (timeout_ms < 0) {
    self->timer_.cancel();
    return 0;
  }
  // 0 means "as soon as possible": from the loop, never from inside libcurl's own call.
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec) self->act(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlMulti::act(curl_socket_t fd, int events) {
  if (closing_) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  finish_done();
}

void CurlMulti::finish_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    curl_multi_remove_handle(multi_, easy);
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;
    auto done = std::move(it->second);
    transfers_.erase(it);
    done(result);  // may start or cancel other transfers: the map is not iterated meanwhile
  }
}

}  // namespace fxconnect::systems::http
