// The metrics and health endpoint: HEAD without a body, a cap on connections, a timeout for idle
// clients, and no busy loop on accept errors.
#include "observability/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace fxconnect::observability {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

std::map<std::string, HttpServer::Route> routes() {
  return {{"/health/live", [] { return Page{200, "text/plain; charset=utf-8", "live\n"}; }}};
}

// A server on its own loop thread, like the runtime's, from start() on (until then, clients
// connect to the listen backlog).
class Served {
 public:
  explicit Served(HttpLimits limits) : server_(io_, "127.0.0.1:0", routes(), limits), work_(io_.get_executor()) {
    auto address = server_.address();  // read before the loop thread runs
    endpoint_ = {asio::ip::make_address("127.0.0.1"),
                 static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)))};
  }
  void start() {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    asio::post(io_, [this] {
      server_.close();
      work_.reset();
    });
    if (!thread_.joinable()) start();
    thread_.join();
  }
  tcp::endpoint endpoint() const { return endpoint_; }

 private:
  asio::io_context io_;
  HttpServer server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::endpoint endpoint_;
  std::thread thread_;
};

// A blocking client connection (a receive timeout keeps a broken test from hanging).
struct Client {
  asio::io_context io;
  tcp::socket socket{io};

  explicit Client(const tcp::endpoint& server) {
    socket.connect(server);
    timeval limit{20, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  void send(const std::string& text) { asio::write(socket, asio::buffer(text)); }
  // Every byte until the server closes (or resets) the connection.
  std::string read_all() {
    std::string out;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(out), ec);
    return out;
  }
};

const std::string kGetLive = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(HttpServer, HeadAnswersWithTheHeadersOfGetAndNoBody) {
  Served served({});
  served.start();
  Client get(served.endpoint());
  get.send(kGetLive);
  auto get_answer = get.read_all();
  ASSERT_EQ(get_answer.rfind("HTTP/1.1 200", 0), 0u) << get_answer;
  ASSERT_NE(get_answer.find("\r\n\r\nlive\n"), std::string::npos) << get_answer;

  Client head(served.endpoint());
  head.send("HEAD /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  auto answer = head.read_all();  // raw: every byte the server sent before closing
  auto end_of_headers = answer.find("\r\n\r\n");
  ASSERT_NE(end_of_headers, std::string::npos) << answer;
  EXPECT_EQ(answer.size(), end_of_headers + 4) << "no body bytes after the headers: " << answer;
  EXPECT_EQ(answer, get_answer.substr(0, get_answer.find("\r\n\r\n") + 4)) << "same status and headers as GET";
  EXPECT_NE(answer.find("Content-Length: 5\r\n"), std::string::npos) << answer;
}

// answer_request() is a connection without its socket (test/fuzz/http_request_fuzz.cc fuzzes it):
// for the same bytes, the same answer as a real connection, however the bytes are split.
TEST(HttpServer, AnswerRequestIsWhatAConnectionSends) {
  Served served({});
  served.start();
  for (const std::string& request :
       {kGetLive, std::string("HEAD /health/live?x=1 HTTP/1.0\r\n\r\n"), std::string("GET /nope HTTP/1.1\r\n\r\n"),
        std::string("POST /health/live HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
        std::string("PUT /health/live HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        std::string("GET /health/live HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc"), std::string("NOT HTTP\r\n\r\n"),
        std::string("GET /health/live HTTP/1.1\r\nHost: x\r\n")}) {
    Client client(served.endpoint());
    client.send(request);
    client.socket.shutdown(tcp::socket::shutdown_send);
    auto sent = client.read_all();
    auto answer = answer_request(request, routes());
    EXPECT_EQ(answer.value_or(""), sent) << request;
    EXPECT_EQ(answer.has_value(), !sent.empty()) << request;
    EXPECT_EQ(answer_request(request, routes(), 1), answer) << "byte by byte: " << request;
  }
  EXPECT_EQ(answer_request(kGetLive, routes()).value_or("").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_FALSE(answer_request("GET /health/live HTTP/1.1\r\nHost: x\r\n", routes())) << "incomplete";
}

TEST(HttpServer, ConnectionsBeyondTheCapAreClosedAndIdleOnesTimeOut) {
  HttpLimits limits;
  limits.max_connections = 2;
  limits.request_timeout = 1s;
  Served served(limits);
  // Two clients that connect and send nothing, then a third with a complete request, all waiting
  // in the backlog: the server accepts them in that order once it runs.
  Client idle1(served.endpoint()), idle2(served.endpoint());
  Client third(served.endpoint());
  third.send(kGetLive);
  served.start();
  // The idle ones hold both slots, so the third is closed unanswered.
  EXPECT_EQ(third.read_all(), "") << "over the cap: closed without an answer";
  // The idle ones are dropped after request_timeout, without an answer either...
  EXPECT_EQ(idle1.read_all(), "");
  EXPECT_EQ(idle2.read_all(), "");
  // ...which frees their slots (before their sockets close): a new client is served.
  Client next(served.endpoint());
  next.send(kGetLive);
  auto answer = next.read_all();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

// Out of file descriptors, accept() fails at once every time it is tried: the server must pause
// between tries (accept_retry_delay) rather than spin, and serve again once descriptors are back.
// Run in a child process (a death test, re-executed), as it lowers the process's RLIMIT_NOFILE.
void accept_errors_pause_then_recover() {
  HttpLimits limits;
  limits.accept_retry_delay = 50ms;
  asio::io_context io;
  HttpServer server(io, "127.0.0.1:0", routes(), limits);
  auto port = static_cast<unsigned short>(std::stoi(server.address().substr(server.address().rfind(':') + 1)));
  // A client whose connection waits in the listen backlog, its request already sent.
  tcp::socket client(io);
  client.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(client, asio::buffer(kGetLive));
  client.non_blocking(true);

  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  int lowest_free = dup(2);
  close(lowest_free);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);  // no descriptor left for an accepted socket
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) std::_Exit(10);
  auto run_time = 1000ms;
  io.run_for(run_time);
  auto errors = server.accept_errors();
  setrlimit(RLIMIT_NOFILE, &saved);
  if (errors < 1) {
    std::fprintf(stderr, "no accept error: the test did not exhaust descriptors\n");
    std::_Exit(11);
  }
  // At most one try per delay (plus the first): a spinning loop makes thousands.
  auto bound = 2 + static_cast<std::uint64_t>(run_time / limits.accept_retry_delay);
  if (errors > bound) {
    std::fprintf(stderr, "%llu accept errors in %lld ms: more than %llu, the loop spins\n",
                 static_cast<unsigned long long>(errors), static_cast<long long>(run_time.count()),
                 static_cast<unsigned long long>(bound));
    std::_Exit(12);
  }
  // Descriptors are back: the waiting client is served.
  std::string answer;
  char chunk[512];
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
    io.run_for(20ms);
    boost::system::error_code ec;
    auto n = client.read_some(asio::buffer(chunk), ec);
    answer.append(chunk, n);
    if (ec && ec != asio::error::would_block) break;
  }
  if (answer.rfind("HTTP/1.1 200", 0) != 0) {
    std::fprintf(stderr, "not served after recovery: '%s'\n", answer.c_str());
    std::_Exit(13);
  }
  std::fprintf(stderr, "%llu accept errors in %lld ms, then served\n", static_cast<unsigned long long>(errors),
               static_cast<long long>(run_time.count()));
  std::_Exit(0);
}

TEST(HttpServer, AcceptErrorsPauseInsteadOfSpinning) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check reads /proc/self/maps on a type-cache miss; with every descriptor taken it
  // cannot, and reports a false "invalid vptr" in asio. The release and TSan runs cover this test.
  GTEST_SKIP() << "needs descriptors exhausted, which the ASan/UBSan runtime cannot work without";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(accept_errors_pause_then_recover(), ::testing::ExitedWithCode(0), "then served");
}

}  // namespace
}  // namespace fxconnect::observability
