#pragma once
// Inline SVG pictures for the HTML reports of src/search (private): a scatter plot.
#include <string>
#include <vector>

namespace concnas::search::detail {

/// `s` with the characters HTML gives a meaning escaped.
std::string escape(const std::string& s);

/// A point of `scatter_svg`; its label is its tooltip (and printed for front members and
/// baselines).
struct Point {
  double x, y;
  std::string label;
  bool front;
  bool baseline;
  std::string colour = "";  ///< fill of a plain point; empty: the default blue
};

/// A 520x340 scatter plot of `points`, front members filled red and joined by a dashed
/// staircase, baselines drawn as green squares.
std::string scatter_svg(const std::vector<Point>& points, const std::string& x_label, const std::string& y_label);

}  // namespace concnas::search::detail
