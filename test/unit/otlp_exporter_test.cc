// The OTLP exporter against a scripted collector on loopback: what it retries, what it gives up.
#include <atomic>
#include <cstdio>
#include <deque>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "observability/tracer.h"

namespace fxconnect::observability {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// Answers each POST with the next status of `statuses` (the last one repeats); counts requests.
class ScriptedCollector {
 public:
  explicit ScriptedCollector(std::deque<int> statuses)
      : statuses_(std::move(statuses)), acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        tcp::socket socket(io_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec || stop_) return;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(socket, buffer, req, ec);
        if (ec) continue;
        ++requests_;
        last_path_ = std::string(req.target());
        int status = statuses_.size() > 1 ? statuses_.front() : statuses_.back();
        if (statuses_.size() > 1) statuses_.pop_front();
        http::response<http::string_body> res{static_cast<http::status>(status), 11};
        res.body() = "{}";
        res.prepare_payload();
        http::write(socket, res, ec);
      }
    });
  }
  ~ScriptedCollector() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes accept()
    thread_.join();
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/otlp";
  }
  int requests() const { return requests_; }
  std::string last_path() const { return last_path_; }

 private:
  std::deque<int> statuses_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::string last_path_;
  std::thread thread_;
};

// Accepts every connection and never reads from it or answers: a hung collector. (One that never
// accepts looks the same to a client, whose connect the kernel completes from the backlog.)
class SilentCollector {
 public:
  SilentCollector() : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      for (;;) {
        tcp::socket socket(io_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec || stop_) return;
        ++connections_;
        held_.push_back(std::move(socket));
      }
    });
  }
  ~SilentCollector() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes accept()
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  int connections() const { return connections_; }

 private:
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<tcp::socket> held_;  // open until the collector goes
  std::thread thread_;
};

SpanData span() {
  SpanData s;
  s.context = *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  s.name = "s";
  return s;
}

// Submits 5 spans and waits until the exporter has decided about all of them.
std::pair<std::uint64_t, std::uint64_t> export_five(OtlpExporter& exporter) {
  for (int i = 0; i < 5; ++i) exporter.submit(span());
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (exporter.exported() + exporter.dropped() < 5 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {exporter.exported(), exporter.dropped()};
}

TEST(OtlpExporter, RetriesUnavailableWithBackoffThenDelivers) {
  ScriptedCollector collector({503, 429, 200});
  OtlpExporter exporter("svc", collector.endpoint());
  auto [exported, dropped] = export_five(exporter);
  EXPECT_EQ(exported, 5u);
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(collector.requests(), 3);
  EXPECT_EQ(collector.last_path(), "/otlp/v1/traces");
}

TEST(OtlpExporter, NeverRetriesABadRequest) {
  ScriptedCollector collector({400});
  OtlpExporter exporter("svc", collector.endpoint());
  auto [exported, dropped] = export_five(exporter);
  EXPECT_EQ(exported, 0u);
  EXPECT_EQ(dropped, 5u);
  EXPECT_EQ(collector.requests(), 1);
}

TEST(OtlpExporter, GivesUpAfterThreeAttemptsAndCounts) {
  ScriptedCollector collector({502, 504, 503, 200});
  OtlpExporter exporter("svc", collector.endpoint());
  auto [exported, dropped] = export_five(exporter);
  EXPECT_EQ(dropped, 5u);
  EXPECT_EQ(collector.requests(), 3);
}

TEST(OtlpExporter, AFullQueueDropsInsteadOfWaiting) {
  ScriptedCollector collector({200});
  OtlpExporter exporter("svc", collector.endpoint(), /*queue_capacity=*/2);
  for (int i = 0; i < 10; ++i) exporter.submit(span());
  EXPECT_GE(exporter.dropped(), 8u) << "a submit that waited for room would have dropped nothing";
}

TEST(OtlpExporter, ASilentCollectorTimesOutAndTheSpansAreDropped) {
  SilentCollector collector;
  OtlpExporter exporter("svc", collector.endpoint());
  for (int i = 0; i < 5; ++i) exporter.submit(span());
  // Three attempts of at most kAttemptTimeout each, plus backoff; generous for a loaded machine.
  auto end = std::chrono::steady_clock::now() + 4 * 3 * OtlpExporter::kAttemptTimeout;
  while (exporter.dropped() < 5 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(exporter.dropped(), 5u) << "the exporter thread must not hang on a collector that never answers";
  EXPECT_EQ(exporter.exported(), 0u);
  EXPECT_EQ(collector.connections(), 3) << "three attempts, each timed out";
}

TEST(OtlpExporter, StopAndDestructorReturnWhenTheCollectorIsSilent) {
  auto collector = std::make_unique<SilentCollector>();
  auto exporter = std::make_unique<OtlpExporter>("svc", collector->endpoint());
  for (int i = 0; i < 5; ++i) exporter->submit(span());
  std::uint64_t dropped = 0;
  std::promise<void> stopped;
  auto done = stopped.get_future();
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    // What the runtime does at SIGTERM, with spans still queued.
    exporter->stop();
    dropped = exporter->dropped();
    exporter.reset();
    stopped.set_value();
  });
  bool returned = done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(returned) << "stop must return within its bound (kFlushTime + kAttemptTimeout), not hang";
  if (!returned) collector.reset();  // closes the connections: the exporter gives up and the test ends
  stopper.join();
  std::printf("stopped in %.2f s\n", seconds);
  EXPECT_EQ(dropped, 5u);
}

// https:// is taken too (test/unit/endpoint_security_test.cc).
TEST(OtlpExporter, RefusesAnEndpointThatIsNotHttp) {
  EXPECT_THROW(OtlpExporter("svc", "ftp://collector:4318"), std::invalid_argument);
  EXPECT_THROW(OtlpExporter("svc", "127.0.0.1:4318"), std::invalid_argument);
}

}  // namespace
}  // namespace fxconnect::observability
