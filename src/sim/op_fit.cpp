#include "concnas/sim/op_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>

#include "concnas/common/error.h"

namespace concnas::sim {
namespace {

constexpr int kKinds = 7;
using Row = std::array<double, kKinds>;

Row features(const StepWork& w) {
  return {w.steps, w.summed, w.taps, w.gemm_flops, w.pooled, w.scalings, w.stem_flops};
}

OpCosts prices(const Row& c) {
  OpCosts o;
  o.step_s = c[0];
  o.summed_s = c[1];
  o.tap_s = c[2];
  o.gemm_flop_s = c[3];
  o.pooled_s = c[4];
  o.scaling_s = c[5];
  o.stem_flop_s = c[6];
  return o;
}

// Solves the n x n system a x = b by Gaussian elimination with partial pivoting; nothing
// when it is singular.
std::optional<std::vector<double>> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    if (std::abs(a[pivot][col]) < 1e-12) return std::nullopt;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (std::size_t r = col + 1; r < n; ++r) {
      const double f = a[r][col] / a[col][col];
      for (std::size_t k = col; k < n; ++k) a[r][k] -= f * a[col][k];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

// Least squares of the relative error over the kinds in `mask` (columns scaled to unit
// RMS so that FLOPs and step counts compare); nothing when singular or a price < 0.
std::optional<Row> fit_subset(const std::vector<Row>& rows, const std::vector<double>& t, unsigned mask) {
  std::vector<int> kinds;
  for (int k = 0; k < kKinds; ++k)
    if (mask & (1U << k)) kinds.push_back(k);
  const std::size_t n = kinds.size();
  std::vector<double> scale(n, 0.0);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < n; ++j) scale[j] += std::pow(rows[i][kinds[j]] / t[i], 2);
  for (auto& s : scale) s = s > 0 ? std::sqrt(s / rows.size()) : 0;
  std::vector<std::vector<double>> a(n, std::vector<double>(n, 0.0));
  std::vector<double> b(n, 0.0);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < n; ++j) {
      if (scale[j] == 0) return std::nullopt;
      const double xj = rows[i][kinds[j]] / t[i] / scale[j];
      b[j] += xj;  // target: relative 1
      for (std::size_t k = 0; k < n; ++k) a[j][k] += xj * rows[i][kinds[k]] / t[i] / scale[k];
    }
  const auto x = solve(a, b);
  if (!x) return std::nullopt;
  Row c{};
  for (std::size_t j = 0; j < n; ++j) {
    if ((*x)[j] < 0) return std::nullopt;
    c[kinds[j]] = (*x)[j] / scale[j];
  }
  return c;
}

}  // namespace

std::vector<double> relative_errors(const OpCosts& ops, const std::vector<TimedWork>& samples) {
  std::vector<double> e;
  for (const auto& s : samples) e.push_back((seconds_of(ops, s.work) - s.seconds) / s.seconds);
  return e;
}

OpCosts fit_op_costs(const std::vector<TimedWork>& samples) {
  CONCNAS_CHECK(!samples.empty(), "no timed steps to fit prices to");
  std::vector<Row> rows;
  std::vector<double> t;
  for (const auto& s : samples) {
    CONCNAS_CHECK(s.seconds > 0 && std::isfinite(s.seconds), "a timed step took {} seconds", s.seconds);
    rows.push_back(features(s.work));
    t.push_back(s.seconds);
  }
  double best_error = std::numeric_limits<double>::infinity();
  OpCosts best;
  for (unsigned mask = 1; mask < (1U << kKinds); ++mask) {
    const auto c = fit_subset(rows, t, mask);
    if (!c) continue;
    double error = 0;
    for (double e : relative_errors(prices(*c), samples)) error += e * e;
    if (error < best_error) {
      best_error = error;
      best = prices(*c);
    }
  }
  CONCNAS_CHECK(std::isfinite(best_error), "no non-negative prices fit the {} timed steps", samples.size());
  return best;
}

LinkModel fit_link(const std::vector<LinkSample>& samples, const DeviceModel& devices) {
  CONCNAS_CHECK(!samples.empty(), "no measured deployments to fit a link to");
  std::vector<arch::ArchitectureCost> costs;
  std::vector<double> base;  // what a prediction starts from before the partition's simulated latency
  for (const auto& s : samples) {
    CONCNAS_CHECK(s.seconds > 0 && std::isfinite(s.seconds), "a deployment took {} seconds", s.seconds);
    CONCNAS_CHECK(s.single_seconds >= 0 && std::isfinite(s.single_seconds),
                  "a deployment took {} seconds on one unit", s.single_seconds);
    costs.push_back(arch::compute_cost(*s.arch));
    const std::vector<int> one(s.parts.size(), 0);
    base.push_back(s.single_seconds > 0
                       ? s.single_seconds - simulate(*s.arch, costs.back(), one, devices, {}).latency_s
                       : 0.0);
  }
  auto error_of = [&](const LinkModel& link) {
    double e = 0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const double p = base[i] + simulate(*samples[i].arch, costs[i], samples[i].parts, devices, link).latency_s;
      e += std::pow(std::log(std::max(p, 1e-9) / samples[i].seconds), 2);
    }
    return e;
  };
  // A coarse grid over every parameter, then a grid 4-8 times finer around its best point
  // (the coarse one's bandwidth steps are half a decade, too coarse to settle between runs).
  LinkModel best;
  double best_error = std::numeric_limits<double>::infinity();
  auto consider = [&](double latency, double bandwidth, double overhead) {
    LinkModel link;
    link.latency_s = latency;
    link.bandwidth_bytes_per_s = bandwidth;
    link.send_overhead_s = link.receive_overhead_s = overhead;
    const double e = error_of(link);
    if (e < best_error) {
      best_error = e;
      best = link;
    }
  };
  for (int li = 0; li <= 24; ++li)          // latency 1 us .. 10 ms
    for (int bi = 0; bi <= 8; ++bi)         // bandwidth 1e7 .. 1e11 bytes/s
      for (int oi = 0; oi <= 12; ++oi)      // CPU time per message 0, 1 us .. 1 ms
        consider(1e-6 * std::pow(10.0, li / 6.0), 1e7 * std::pow(10.0, bi / 2.0),
                 oi == 0 ? 0.0 : 1e-6 * std::pow(10.0, (oi - 1) / 4.0));
  const LinkModel coarse = best;
  const double overhead = coarse.send_overhead_s > 0 ? coarse.send_overhead_s : 1e-6;
  for (int li = -4; li <= 4; ++li)
    for (int bi = -8; bi <= 8; ++bi)
      for (int oi = -6; oi <= 6; ++oi)
        consider(coarse.latency_s * std::pow(10.0, li / 24.0), coarse.bandwidth_bytes_per_s * std::pow(10.0, bi / 16.0),
                 overhead * std::pow(10.0, oi / 24.0));
  return best;
}

}  // namespace concnas::sim
