// libcurl's multi interface driven by the runtime's Boost.Asio loop: libcurl says which sockets
// to watch and when to wake it (socket and timer callbacks), asio waits, libcurl does the I/O. No
// thread per call, nothing blocks the loop; connections are pooled per CurlMulti and reused.
// Sockets are opened and closed through asio (CURLOPT_OPENSOCKETFUNCTION/CLOSESOCKETFUNCTION), so
// asio always knows a descriptor's fate and a reused number never meets a stale wait.
// libcurl stays inside src/systems/http/.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace fxconnect::systems::http {

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

class CurlMulti {
 public:
  explicit CurlMulti(boost::asio::io_context& io);
  ~CurlMulti();  // aborts what still runs (their callbacks are not called)
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts the transfer `easy` describes (its options set by the caller, who keeps it alive until
  // `done` runs or cancel()). `done` runs on the loop once, with libcurl's result.
  void start(CURL* easy, std::function<void(CURLcode)> done);
  // Stops a running transfer; its `done` is not called.
  void cancel(CURL* easy);

  // An easy handle to describe a transfer with: a used one reset to libcurl's defaults when one
  // is idle (an easy handle holds several KB of state and buffers: at thousands of calls per second
  // allocating each anew costs more than the transfer's own work), else a new one.
  EasyPtr acquire();
  // Gives a handle back once its transfer is over (finished or cancelled) for acquire() to reuse.
  void release(EasyPtr easy);

  std::size_t running() const { return transfers_.size(); }
  std::size_t sockets() const { return sockets_.size(); }

 private:
  struct Socket;
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static curl_socket_t open_socket(void* self, curlsocktype purpose, curl_sockaddr* address);
  static int close_socket(void* self, curl_socket_t fd);
  void watch(const std::shared_ptr<Socket>& socket);
  void act(curl_socket_t fd, int events);
  void finish_done();

  boost::asio::io_context& io_;
  CURLM* multi_;
  boost::asio::steady_timer timer_;
  std::unordered_map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
  std::unordered_map<CURL*, std::function<void(CURLcode)>> transfers_;
  std::vector<EasyPtr> idle_;  // released handles, at most kIdleHandles
  bool closing_ = false;
};

// Sets an option, throwing std::logic_error naming it when libcurl refuses (a programming error:
// every option fxconnect sets exists in the libcurl it builds against).
template <class T>
void set(CURL* easy, CURLoption option, T value) {
  if (curl_easy_setopt(easy, option, value) != CURLE_OK) {
    throw std::logic_error("libcurl refused option " + std::to_string(static_cast<int>(option)));
  }
}

}  // namespace fxconnect::systems::http
