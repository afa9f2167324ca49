// `fxconnect engine run --report run.html`: the run as pictures, in one file that needs nothing
// else (inline SVG drawn here; no script or style fetched from anywhere).
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/report.h"
#include "fxconnect/legacy.h"

namespace fxconnect::engine {
namespace {

constexpr double kWidth = 900, kHeight = 260;
constexpr double kLeft = 70, kRight = 20, kTop = 20, kBottom = 40;
constexpr std::array kColors{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// A round step for an axis from 0 to `max` in about five ticks.
double nice_step(double max) {
  if (!(max > 0)) return 1;
  double raw = max / 5, magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

std::string number(double v) {
  if (v >= 100 || v == std::floor(v)) return fmt::format("{:.0f}", v);
  if (v >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2g}", v);
}

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
  bool dashed = false;
  std::size_t color = 0;  // index into kColors: a receive node keeps its color in every chart
};

// A line chart of `series` with axes from 0; `x_tick` writes an x value as its tick label.
std::string line_chart(const std::string& id, const std::string& title, const std::string& x_label,
                       const std::string& y_label, const std::vector<Series>& series,
                       const std::function<std::string(double)>& x_tick = number) {
  double x_max = 0, y_max = 0;
  for (const auto& s : series) {
    for (const auto& [x, y] : s.points) {
      x_max = std::max(x_max, x);
      y_max = std::max(y_max, y);
    }
  }
  const double x_step = nice_step(x_max), y_step = nice_step(y_max);
  x_max = std::max(x_step, std::ceil(x_max / x_step) * x_step);
  y_max = std::max(y_step, std::ceil(y_max / y_step) * y_step);
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + x / x_max * pw; };
  auto py = [&](double y) { return kTop + ph - y / y_max * ph; };
  std::string svg = fmt::format(
      "<figure id=\"{}\"><figcaption>{}</figcaption>\n<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" "
      "height=\"{}\" role=\"img\" aria-label=\"{}\">\n",
      id, xml_escape(title), kWidth, kHeight, kWidth, kHeight, xml_escape(title));
  for (double y = 0; y <= y_max + y_step / 2; y += y_step) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/><text x=\"{:.1f}\" y=\"{:.1f}\" "
        "text-anchor=\"end\">{}</text>\n",
        kLeft, py(y), kLeft + pw, py(y), kLeft - 6, py(y) + 4, number(y));
  }
  for (double x = 0; x <= x_max + x_step / 2; x += x_step) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px(x), kTop + ph + 16,
                       x_tick(x));
  }
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n"
      "<text transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      kLeft + pw / 2, kHeight - 4, xml_escape(x_label), kTop + ph / 2, xml_escape(y_label));
  // The legend in rows along the top of the plot, wrapped before it would leave it.
  double legend_x = kLeft + 10, legend_y = kTop + 2;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    std::string d;
    for (const auto& [x, y] : s.points) d += fmt::format("{}{:.1f},{:.1f}", d.empty() ? "M" : " L", px(x), py(y));
    const char* color = kColors[s.color % kColors.size()];
    const char* dash = s.dashed ? " stroke-dasharray=\"5 3\"" : "";
    svg += fmt::format("<path class=\"series\" d=\"{}\" stroke=\"{}\"{}><title>{}</title></path>\n", d, color, dash,
                       xml_escape(s.label));
    const double width = 30 + 6.5 * static_cast<double>(s.label.size());
    if (legend_x + width > kLeft + pw && legend_x > kLeft + 10) {
      legend_x = kLeft + 10;
      legend_y += 13;
    }
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"{}/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        legend_x, legend_y + 1, legend_x + 14, legend_y + 1, color, dash, legend_x + 18, legend_y + 5,
        xml_escape(s.label));
    legend_x += width;
  }
  return svg + "</svg></figure>\n";
}

// How many seconds one bin of the time charts spans: about 60 bins over the run, whole seconds
// once the run is longer than a minute.
double bin_width(double duration_s) {
  if (duration_s <= 0) return 1;
  double w = duration_s / 60;
  return w >= 1 ? std::ceil(w) : std::max(0.1, std::ceil(w * 10) / 10);
}

double quantile(std::vector<double>& v, double q) {
  auto at = v.begin() + static_cast<std::ptrdiff_t>(std::ceil(q * static_cast<double>(v.size())) - 1);
  at = std::clamp(at, v.begin(), v.end() - 1);
  std::nth_element(v.begin(), at, v.end());
  return *at;
}

std::string histogram(const Timeline& t) {
  // Log-spaced latency bins (ms), shared by every node: 10 per decade from the smallest sample.
  double lo = 1e300, hi = 0;
  for (const auto& [node, replies] : t.replies) {
    for (const auto& r : replies) {
      lo = std::min(lo, std::max(r.latency_ms, 0.01));
      hi = std::max(hi, r.latency_ms);
    }
  }
  if (hi <= 0) return line_chart("latency-histogram", "Latency histogram (no replies)", "latency, ms", "replies", {});
  std::vector<Series> series;
  const double first = std::floor(std::log10(lo) * 10) / 10;
  const auto bins = static_cast<std::size_t>(std::max(1.0, std::ceil((std::log10(hi) - first) * 10) + 1));
  for (const auto& [node, replies] : t.replies) {
    std::vector<double> counts(bins, 0);
    for (const auto& r : replies) {
      auto b =
          static_cast<std::size_t>(std::max(0.0, std::floor((std::log10(std::max(r.latency_ms, 0.01)) - first) * 10)));
      ++counts[std::min(b, bins - 1)];
    }
    Series s{node, {}, false, series.size()};
    for (std::size_t b = 0; b < bins; ++b) s.points.emplace_back(static_cast<double>(b), counts[b]);
    series.push_back(std::move(s));
  }
  // Bins are evenly spaced on a log scale: each is 10^0.1 (1.26x) wider than the one before; the
  // ticks name where a bin starts, in ms.
  return line_chart("latency-histogram", "Latency histogram: replies per latency bin (log scale)",
                    "latency, ms (each bin 1.26x the one before)", "replies", series,
                    [first](double bin) { return number(std::pow(10, first + bin / 10)); });
}

std::string outcomes(const Summary& s) {
  const std::array<std::pair<const char*, std::uint64_t>, 4> rows{
      {{"completed", s.completed}, {"error path", s.error_path}, {"timed out", s.timed_out}, {"failed", s.failed}}};
  std::uint64_t max = 1;
  for (const auto& [name, n] : rows) max = std::max(max, n);
  const double row_h = 28, width = 600, label_w = 110;
  std::string svg = fmt::format(
      "<figure id=\"outcomes\"><figcaption>Outcomes of {} instances</figcaption>\n<svg class=\"chart\" viewBox=\"0 0 "
      "{} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"Outcomes\">\n",
      s.instances, width + 120, row_h * 4 + 10, width + 120, row_h * 4 + 10);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& [name, n] = rows[i];
    double w = static_cast<double>(n) / static_cast<double>(max) * (width - label_w);
    double y = 5 + row_h * static_cast<double>(i);
    // A bar as a path (a zero-width one still draws its edge), with its count beside it.
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text><path class=\"bar\" d=\"M{:.1f},{:.1f} h{:.1f} "
        "v{:.1f} h{:.1f} Z\" fill=\"{}\"><title>{}: {}</title></path><text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        label_w - 8, y + 17, name, label_w, y + 4, std::max(w, 1.0), row_h - 8, -std::max(w, 1.0), kColors[i], name, n,
        label_w + std::max(w, 1.0) + 6, y + 17, n);
  }
  return svg + "</svg></figure>\n";
}

}  // namespace

std::string html_report(const Summary& summary, const Timeline& t) {
  double end = summary.duration_s;
  for (const auto& f : t.finishes) end = std::max(end, f.t_s);
  const double w = bin_width(end);
  // Bins of w seconds from 0 to `end`; the last one ends at `end`, and one shorter than half a bin
  // is folded into the one before (a few replies over a sliver of time would read as a spike).
  auto bins = static_cast<std::size_t>(std::max(1.0, std::ceil(end / w)));
  if (bins > 1 && end - static_cast<double>(bins - 1) * w < w / 2) --bins;
  auto bin_of = [&](double t_s) { return std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, t_s) / w)); };
  auto bin_start = [&](std::size_t b) { return static_cast<double>(b) * w; };
  // The last bin spans to `end` (at least half a bin, by the fold above, unless it is the only one);
  // a run whose every instance finished at 0 s has no span of its own, and is read over one bin.
  auto bin_span = [&](std::size_t b) {
    if (b + 1 < bins) return w;
    return end > bin_start(b) ? end - bin_start(b) : w;
  };
  // Each bin's value held across the bin (a step line): what the bin measured, over the time it
  // covers, and visible even when the run fits in one bin.
  auto add_step = [&](Series& series, std::size_t b, double value) {
    series.points.emplace_back(bin_start(b), value);
    series.points.emplace_back(bin_start(b) + bin_span(b), value);
  };

  // Throughput: instances finished per second in each bin (every outcome counts: it ended).
  std::vector<double> done(bins, 0);
  for (const auto& f : t.finishes) done[bin_of(f.t_s)] += 1;
  Series throughput{"instances finished per second", {}, false};
  for (std::size_t b = 0; b < bins; ++b) add_step(throughput, b, done[b] / bin_span(b));

  // Latency percentiles per bin and receive node.
  std::vector<Series> latency;
  for (const auto& [node, replies] : t.replies) {
    std::vector<std::vector<double>> per_bin(bins);
    for (const auto& r : replies) per_bin[bin_of(r.t_s)].push_back(r.latency_ms);
    const std::size_t color = latency.size() / 2;  // the node's index, as in the histogram
    Series p50{node + " p50", {}, false, color}, p99{node + " p99", {}, true, color};
    for (std::size_t b = 0; b < bins; ++b) {
      if (per_bin[b].empty()) continue;
      add_step(p50, b, quantile(per_bin[b], 0.5));
      add_step(p99, b, quantile(per_bin[b], 0.99));
    }
    latency.push_back(std::move(p50));
    latency.push_back(std::move(p99));
  }

  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fxconnect engine run: {}</title>\n"
      "<style>\nbody{{font-family:sans-serif;margin:24px;color:#222;max-width:960px}}\n"
      "figure{{margin:24px 0}} figcaption{{font-weight:bold;margin-bottom:6px}}\n"
      "svg.chart{{background:#fafafa;border:1px solid #ddd;font-size:11px}}\n"
      "svg .grid{{stroke:#e3e3e3}} svg .series{{fill:none;stroke-width:2}}\n"
      "pre{{background:#f4f4f4;padding:12px;overflow-x:auto}}\n</style></head><body>\n"
      "<h1>Process {}: {} instances</h1>\n<p>{} instances in {:.2f} s, {:.1f} per second; time bins of {} s. "
      "Made by <code>fxconnect engine run --report</code>; this file needs nothing else.</p>\n",
      xml_escape(summary.process), xml_escape(summary.process), summary.instances, summary.instances,
      summary.duration_s, summary.throughput_per_s, number(w));
  const std::string seconds = "seconds since the first send";
  html += line_chart("throughput", "Throughput over time", seconds, "instances / s", {throughput});
  html += line_chart("latency", "Latency over time per receive node (p50 solid, p99 dashed, a color per node)", seconds,
                     "ms", latency);
  html += histogram(t);
  html += outcomes(summary);
  html += "<h2>Summary</h2>\n<pre>" + xml_escape(summary.to_table()) + "</pre>\n";
  // What the browser drew: each chart's paths of non-zero length, on <body data-drawn>, so that a
  // headless browser's DOM dump shows whether the charts really have lines (the test reads it).
  html +=
      "<script>\nwindow.addEventListener('load', function () {\n"
      "  var out = [];\n"
      "  document.querySelectorAll('figure').forEach(function (f) {\n"
      "    var n = 0;\n"
      "    f.querySelectorAll('path').forEach(function (p) { if (p.getTotalLength() > 0) n++; });\n"
      "    out.push(f.id + ':' + n);\n"
      "  });\n"
      "  document.body.setAttribute('data-drawn', out.join(' '));\n"
      "});\n</script>\n</body></html>\n";
  return html;
}

}  // namespace fxconnect::engine
