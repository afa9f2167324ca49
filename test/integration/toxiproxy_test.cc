// Toxiproxy (scripts/toxiproxy.sh) and its test helper (test/support/toxiproxy.h), against the
// real server: bytes pass through a proxy to a TCP echo server run by the test, a latency toxic
// delays them, a bandwidth cap slows them, a timeout toxic stops them, a reset_peer toxic resets
// the connection, a disabled proxy refuses connections and cuts open ones, and reset() undoes it
// all. Needs a Toxiproxy (FXC_TOXIPROXY_URL, set by scripts/lib.sh's fxc_private_toxiproxy);
// skipped without one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <boost/asio.hpp>

#include "toxiproxy.h"

namespace fxconnect::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A TCP echo server on 127.0.0.1 (a free port), served by one thread; stops on destruction.
class EchoServer {
 public:
  EchoServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoServer() {
    io_.stop();
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(tcp::socket s) : socket(std::move(s)) {}
    void read() {
      socket.async_read_some(asio::buffer(buf), [self = shared_from_this()](auto ec, std::size_t n) {
        if (!ec) self->write(n);
      });
    }
    void write(std::size_t n) {
      asio::async_write(socket, asio::buffer(buf, n), [self = shared_from_this()](auto ec, std::size_t) {
        if (!ec) self->read();
      });
    }
    tcp::socket socket;
    char buf[16384];
  };
  void accept() {
    acceptor_.async_accept([this](auto ec, tcp::socket s) {
      if (!ec) std::make_shared<Session>(std::move(s))->read();
      accept();
    });
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// A plain blocking client socket with deadlines (poll), so that a stopped proxy cannot hang a test.
class Client {
 public:
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Connects to 127.0.0.1:port; false with error() set when refused.
  bool connect(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("connect");
    return true;
  }
  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      auto n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0) return fail("send");
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads exactly n bytes within `timeout`; false with error() set on EOF, error or timeout.
  bool recv(std::size_t n, std::string& out, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    out.clear();
    char buf[16384];
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
      if (r == 0) return error_ = "timed out after " + std::to_string(out.size()) + " bytes", false;
      if (r < 0) return fail("poll");
      auto got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got == 0) return error_ = "EOF after " + std::to_string(out.size()) + " bytes", false;
      if (got < 0) return fail("recv");
      out.append(buf, static_cast<std::size_t>(got));
    }
    return true;
  }
  // Sends `data` and reads it back; false with error() set if that fails within `timeout`.
  bool round_trip(const std::string& data, milliseconds timeout = milliseconds(5000)) {
    std::string back;
    if (!send(data) || !recv(data.size(), back, timeout)) return false;
    if (back != data) return error_ = "echoed bytes differ", false;
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(const char* what) {
    error_ = std::string(what) + ": " + std::strerror(errno);
    return false;
  }
  int fd_ = -1;
  std::string error_;
};

// Connects and makes one round trip; returns its duration, or nothing (error in `why`).
std::optional<milliseconds> timed_round_trip(unsigned short port, const std::string& data, std::string& why) {
  Client c;
  auto t0 = Clock::now();
  if (!c.connect(port) || !c.round_trip(data)) return why = c.error(), std::nullopt;
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
}

unsigned short port_of(const std::string& address) {
  return static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class ToxiproxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tp = Toxiproxy::from_env();
    if (!tp) GTEST_SKIP() << "FXC_TOXIPROXY_URL is not set (scripts/toxiproxy.sh start prints it)";
    tp_.emplace(std::move(*tp));
    std::random_device rd;
    name_ = "fxc-test-" + std::to_string(rd()) + std::to_string(rd());
    listen_ = tp_->create_proxy(name_, "127.0.0.1:0", "127.0.0.1:" + std::to_string(echo_.port()));
    port_ = port_of(listen_);
  }
  void TearDown() override {
    if (tp_ && !name_.empty()) tp_->remove_proxy(name_);
  }
  EchoServer echo_;
  std::optional<Toxiproxy> tp_;
  std::string name_, listen_;
  unsigned short port_ = 0;
};

TEST_F(ToxiproxyTest, ServesItsPinnedVersionAndListsProxies) {
  EXPECT_EQ(tp_->version(), "2.5.0");
  EXPECT_THAT(listen_, ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(port_, 0);
  EXPECT_THAT(tp_->proxies(), Contains(name_));
  EXPECT_THAT(tp_->toxics(name_), IsEmpty());
}

TEST_F(ToxiproxyTest, BytesPassThroughAndLatencyDelaysThem) {
  std::string why;
  Client c;
  ASSERT_TRUE(c.connect(port_)) << c.error();
  auto t0 = Clock::now();
  ASSERT_TRUE(c.round_trip("hello through toxiproxy")) << c.error();
  auto plain = Clock::now() - t0;
  EXPECT_LT(plain, milliseconds(300)) << "a loopback round trip without toxics";

  EXPECT_EQ(tp_->add_latency(name_, 300), "latency_downstream");
  EXPECT_THAT(tp_->toxics(name_), UnorderedElementsAre("latency_downstream"));
  auto slow = timed_round_trip(port_, "slow", why);
  ASSERT_TRUE(slow) << why;
  EXPECT_GE(*slow, milliseconds(300));
  EXPECT_LT(*slow, milliseconds(3000));
  // The toxic applies to connections opened before it, too.
  t0 = Clock::now();
  ASSERT_TRUE(c.round_trip("old connection")) << c.error();
  EXPECT_GE(Clock::now() - t0, milliseconds(300));

  tp_->remove_toxic(name_, "latency_downstream");
  EXPECT_THAT(tp_->toxics(name_), IsEmpty());
  t0 = Clock::now();
  ASSERT_TRUE(c.round_trip("fast again")) << c.error();
  EXPECT_LT(Clock::now() - t0, milliseconds(300));
}

TEST_F(ToxiproxyTest, BandwidthCapSlowsTransfers) {
  // 32 KB echoed at 64 KB/s downstream takes about 500 ms.
  EXPECT_EQ(tp_->add_bandwidth(name_, 64), "bandwidth_downstream");
  std::string why;
  auto t = timed_round_trip(port_, std::string(32 * 1024, 'b'), why);
  ASSERT_TRUE(t) << why;
  EXPECT_GE(*t, milliseconds(400));
}

TEST_F(ToxiproxyTest, TimeoutStopsDataAndResetPeerResets) {
  EXPECT_EQ(tp_->add_timeout(name_, 0), "timeout_downstream");  // 0: data stops, never closes
  Client stalled;
  ASSERT_TRUE(stalled.connect(port_)) << stalled.error();
  EXPECT_FALSE(stalled.round_trip("stalled", milliseconds(700)));
  EXPECT_THAT(stalled.error(), HasSubstr("timed out"));
  tp_->remove_toxic(name_, "timeout_downstream");

  EXPECT_EQ(tp_->add_reset_peer(name_, 0, "upstream"), "reset_peer_upstream");
  Client reset;
  ASSERT_TRUE(reset.connect(port_)) << reset.error();
  EXPECT_FALSE(reset.round_trip("reset"));
  EXPECT_THAT(reset.error(), ::testing::AnyOf(HasSubstr("Connection reset"), HasSubstr("EOF")));
}

TEST_F(ToxiproxyTest, DisabledProxyRefusesAndCutsUntilReset) {
  Client open;
  ASSERT_TRUE(open.connect(port_)) << open.error();
  ASSERT_TRUE(open.round_trip("before the cut")) << open.error();
  tp_->add_latency(name_, 100);
  tp_->add_timeout(name_, 0, "upstream");

  tp_->enable(name_, false);
  EXPECT_FALSE(open.round_trip("after the cut")) << "the open connection is closed";
  Client refused;
  EXPECT_FALSE(refused.connect(port_)) << "a disabled proxy does not listen";
  EXPECT_THAT(refused.error(), HasSubstr("refused"));

  tp_->reset();  // enables every proxy, removes every toxic
  EXPECT_THAT(tp_->toxics(name_), IsEmpty());
  std::string why;
  auto t = timed_round_trip(port_, "after reset", why);
  ASSERT_TRUE(t) << why;
  EXPECT_LT(*t, milliseconds(100)) << "no latency left";
}

TEST_F(ToxiproxyTest, ApiErrorsThrowWithStatusAndBody) {
  try {
    tp_->create_proxy(name_, "127.0.0.1:0", "127.0.0.1:1");
    FAIL() << "a second proxy of the same name was created";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("HTTP 409"));
    EXPECT_THAT(e.what(), HasSubstr("proxy already exists"));
  }
  EXPECT_THROW(tp_->remove_toxic(name_, "no_such_toxic"), std::runtime_error);
  EXPECT_THROW(tp_->add_latency(name_, 10, 0, "sideways"), std::runtime_error);
  EXPECT_THROW(tp_->enable("fxc-no-such-proxy", true), std::runtime_error);
  tp_->remove_proxy(name_);
  EXPECT_THAT(tp_->proxies(), Not(Contains(name_)));
  name_.clear();  // removed already
}

}  // namespace
}  // namespace fxconnect::testing
