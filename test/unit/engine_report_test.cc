// The HTML run report's charts, read from the SVG it writes (the browser's view of it is checked
// by the engine's integration test with headless Chromium).
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/report.h"

namespace fxconnect::engine {
namespace {

// The y coordinates of the first <path> inside the <figure id="...">, in the order drawn.
std::vector<double> path_ys(const std::string& html, const std::string& figure) {
  const auto at = html.find("<figure id=\"" + figure + "\"");
  EXPECT_NE(at, std::string::npos) << figure;
  if (at == std::string::npos) return {};
  const auto d_at = html.find(" d=\"", html.find("<path class=\"series\"", at));
  const std::string d = html.substr(d_at + 4, html.find('"', d_at + 4) - d_at - 4);
  std::vector<double> ys;
  static const std::regex point(R"([ML]\s*[-0-9.]+,([-0-9.]+))");
  for (std::sregex_iterator it(d.begin(), d.end(), point), end; it != end; ++it) ys.push_back(std::stod((*it)[1]));
  return ys;
}

// The value a path's y coordinate stands for in that figure, read from its y axis: the grid lines'
// positions and their labels (the lowest is 0, the highest the axis' maximum).
double value_at(const std::string& html, const std::string& figure, double y_px) {
  const auto at = html.find("<figure id=\"" + figure + "\"");
  const std::string fig = html.substr(at, html.find("</figure>", at) - at);
  static const std::regex grid(
      R"re(<line class="grid" x1="[-0-9.]+" y1="([-0-9.]+)"[^>]*/><text[^>]*>([-0-9.e+]+)</text>)re");
  std::vector<std::pair<double, double>> ticks;  // (y px, value)
  for (std::sregex_iterator it(fig.begin(), fig.end(), grid), end; it != end; ++it) {
    ticks.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  }
  EXPECT_GE(ticks.size(), 2u) << figure << ": no y axis to read";
  if (ticks.size() < 2) return -1;
  const auto [y0, v0] = ticks.front();
  const auto [y1, v1] = ticks.back();
  return v0 + (y_px - y0) / (y1 - y0) * (v1 - v0);
}

Summary summary_of(std::size_t n, double duration_s) {
  Summary s;
  s.process = "p";
  s.instances = s.completed = n;
  s.duration_s = duration_s;
  return s;
}

TEST(EngineReport, AnEvenRateDrawsAFlatThroughputLineTheLastPartialBinIncluded) {
  // 10 instances a second for 65 s: 2 s bins, the last one [64, 65] s only half as long.
  Timeline t;
  t.replies.push_back({"node", {}});
  for (int i = 0; i < 650; ++i) {
    const double at = 0.05 + 0.1 * i;
    t.finishes.push_back({at, "completed"});
    t.replies[0].second.push_back({at, 20});
  }
  const auto ys = path_ys(html_report(summary_of(650, 65), t), "throughput");
  ASSERT_GE(ys.size(), 2u);
  EXPECT_EQ(std::set<double>(ys.begin(), ys.end()).size(), 1u)
      << "every bin, the last one too, reads 10/s; the first y is " << ys.front() << ", the last " << ys.back();
}

TEST(EngineReport, ARunShorterThanOneBinStillDrawsLines) {
  Timeline t;
  t.replies.push_back({"node", {{0.01, 5}, {0.02, 7}, {0.03, 9}}});
  t.finishes = {{0.01, "completed"}, {0.02, "completed"}, {0.03, "completed"}};
  const auto html = html_report(summary_of(3, 0.03), t);
  for (const char* figure : {"throughput", "latency"}) {
    const auto ys = path_ys(html, figure);
    EXPECT_GE(ys.size(), 2u) << figure << ": a line needs two points";
  }
  // 3 instances finished within the run's 0.03 s: 100 per second (not 3 over a longer span).
  const auto ys = path_ys(html, "throughput");
  ASSERT_FALSE(ys.empty());
  EXPECT_NEAR(value_at(html, "throughput", ys.front()), 100, 1);
}

TEST(EngineReport, TheSimulatorsShareIsARowOnlyWhenMeasuredAndAlwaysInTheJson) {
  Summary s = summary_of(4, 1);
  s.reply_delay = summarize({1, 2, 3, 40});
  const auto table = s.to_table();
  EXPECT_EQ(table.find("send lag"), std::string::npos) << "closed loop: nothing was due\n" << table;
  EXPECT_NE(table.find("(reply's timestamp -> taken)       4     2.00    40.00"), std::string::npos) << table;
  const auto json = s.to_json();
  EXPECT_EQ(json.at("send_lag_ms").at("count").to_number<int>(), 0);
  EXPECT_EQ(json.at("reply_delay_ms").at("max").to_number<double>(), 40.0);
  EXPECT_EQ(json.at("reply_delay_ms").at("p99").to_number<double>(), 40.0);
  s.send_lag = summarize({0.5});
  EXPECT_NE(s.to_table().find("(sent after due: send lag)         1     0.50"), std::string::npos) << s.to_table();
}

}  // namespace
}  // namespace fxconnect::engine
