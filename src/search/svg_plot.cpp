#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace concnas::search::detail {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string scatter_svg(const std::vector<Point>& points, const std::string& x_label,
                        const std::string& y_label) {
  const double w = 520, h = 340, left = 64, right = 16, top = 16, bottom = 48;
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  if (points.empty()) x0 = y0 = 0, x1 = y1 = 1;
  // Pad by 8% of the span; a single value (or equal ones) gets a span of its own size.
  auto pad = [](double lo, double hi) {
    const double span = hi - lo;
    return (span > 0 && std::isfinite(span) ? span : std::max(1.0, std::abs(lo))) * 0.08;
  };
  const double dx = pad(x0, x1), dy = pad(y0, y1);
  x0 -= dx, x1 += dx, y0 -= dy, y1 += dy;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (w - left - right); };
  auto py = [&](double y) { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">"
      "<rect x=\"{2}\" y=\"{3}\" width=\"{4}\" height=\"{5}\" fill=\"#fafafa\" stroke=\"#999\"/>",
      w, h, left, top, w - left - right, h - top - bottom);
  for (int i = 0; i <= 4; ++i) {
    const double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\">{:.4g}</text>",
                     px(xv), h - bottom + 14, xv);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.4g}</text>",
                     left - 4, py(yv) + 3, yv);
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
                   left + (w - left - right) / 2, h - 8, escape(x_label));
  s += fmt::format("<text x=\"14\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\" "
                   "transform=\"rotate(-90 14 {:.1f})\">{}</text>",
                   top + (h - top - bottom) / 2, top + (h - top - bottom) / 2, escape(y_label));
  // The front as a staircase line, sorted by x.
  std::vector<Point> front;
  for (const auto& p : points)
    if (p.front) front.push_back(p);
  std::sort(front.begin(), front.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  if (front.size() > 1) {
    std::string path;
    for (const auto& p : front) path += fmt::format("{:.1f},{:.1f} ", px(p.x), py(p.y));
    s += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"4 3\" points=\"" + path + "\"/>";
  }
  for (const auto& p : points) {
    const std::string fill = p.front ? "#d62728" : p.colour.empty() ? "#1f77b4" : p.colour;
    const std::string title = "<title>" + escape(p.label) + "</title>";
    if (p.baseline)
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"#2ca02c\" "
                       "stroke=\"#000\">{}</rect>",
                       px(p.x) - 5, py(p.y) - 5, title);
    else
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.8\">{}</circle>",
                       px(p.x), py(p.y), fill, title);
    if (p.front || p.baseline)
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\">{}</text>", px(p.x) + 7,
                       py(p.y) - 6, escape(p.label));
  }
  return s + "</svg>";
}

}  // namespace concnas::search::detail
