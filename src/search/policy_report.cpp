#include "policy_report.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "svg_plot.h"

namespace concnas::search::detail {
namespace {

nlohmann::ordered_json model_json(const PolicyModel& m) {
  nlohmann::ordered_json j = {{"what", m.what}, {"dir", m.dir}, {"name", m.name},
                              {"permutations", m.permutations}, {"val_accuracy", m.val_accuracy},
                              {"test_accuracy", m.test_accuracy}, {"exchange_bytes", m.exchange_bytes},
                              {"plan_bytes", m.plan_bytes}, {"traffic", m.traffic}};
  if (m.test_accuracy_fp16 >= 0) {
    j["test_accuracy_fp16"] = m.test_accuracy_fp16;
    j["traffic_fp16"] = m.traffic_fp16;
  }
  return j;
}

nlohmann::ordered_json report_json(const PolicyReport& r, const config::PolicyConfig& c) {
  nlohmann::ordered_json j;
  j["groups"] = c.policy.groups, j["depth"] = c.policy.depth, j["alpha"] = c.policy.alpha;
  j["share"] = c.policy.share, j["fp16"] = c.policy.fp16, j["penalty"] = c.policy.penalty;
  j["samples"] = c.policy.samples;
  j["full_exchange_bytes"] = r.full_bytes;
  j["shared_val_accuracy"] = r.shared_val_accuracy;
  j["scored"] = r.rows.size();
  j["seeds"] = nlohmann::ordered_json::array();
  for (const auto& s : r.seeds)
    j["seeds"].push_back({{"seed", s.seed}, {"random_best_reward", s.random}, {"controller_best_reward", s.controller}});
  for (const auto* part : {"picks", "baselines"}) {
    j[part] = nlohmann::ordered_json::array();
    for (const auto& m : std::string(part) == "picks" ? r.picks : r.baselines) j[part].push_back(model_json(m));
  }
  return j;
}

std::string colour_of(const PolicyRow& row) {
  if (row.final) return row.search == "controller" ? "#d62728" : "#17becf";
  return row.search == "controller" ? "#ff7f0e" : "#1f77b4";
}

// Validation accuracy against traffic of every scored policy; the trained models as squares.
std::string scatter_html(const PolicyReport& r) {
  std::vector<Point> points;
  for (const auto& row : r.rows)
    points.push_back({100 * row.traffic, 100 * row.val_accuracy,
                      fmt::format("{} seed {} {} {}: {}", row.search, row.seed, row.final ? "finalist" : "#",
                                  row.sample, row.name), false, false, colour_of(row)});
  for (const auto* list : {&r.picks, &r.baselines})
    for (const auto& m : *list)
      points.push_back({100 * m.traffic, 100 * m.val_accuracy, m.what + " (trained): " + m.name, false, true});
  return "<h2>Scored policies</h2><p>Validation accuracy of the shared weights under each policy against its "
         "traffic; orange: controller's samples, blue: random search's (each on a window of the validation "
         "images); red and cyan: their finalists, on every validation image; green squares: the trained "
         "networks (fine-tuned picks and baselines).</p><div class=\"pic\">" +
         scatter_svg(points, "traffic (% of full exchange's bytes per image)", "validation accuracy (%)") + "</div>";
}

// The best reward so far against the number of policies scored, per search and seed.
std::string progress_html(const PolicyReport& r) {
  std::map<std::pair<std::string, int>, double> best;
  std::vector<Point> points;
  for (const auto& row : r.rows) {
    if (row.final) continue;
    auto [at, fresh] = best.try_emplace({row.search, row.seed}, row.reward);
    if (!fresh) at->second = std::max(at->second, row.reward);
    points.push_back({static_cast<double>(row.sample + 1), at->second,
                      fmt::format("{} seed {}: best {:.4f} after {}", row.search, row.seed, at->second, row.sample + 1),
                      false, false, colour_of(row)});
  }
  return "<h2>Best reward so far</h2><p>Of the samples, each on its window of validation images.</p>"
         "<div class=\"pic\">" +
         scatter_svg(points, "policies scored", "best reward (accuracy - penalty x traffic)") + "</div>";
}

std::string models_html(const PolicyReport& r) {
  std::string h = "<h2>Trained networks</h2><table><tr><th>network</th><th>policy</th><th>validation</th>"
                  "<th>test</th><th>traffic</th><th>bytes/image</th><th>test, fp16 exchange</th></tr>";
  for (const auto* list : {&r.picks, &r.baselines})
    for (const auto& m : *list)
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.2f}%</td><td>{:.2f}%</td><td>{:.1f}%</td><td>{}</td>"
                       "<td>{}</td></tr>", escape(m.what), escape(m.name), 100 * m.val_accuracy,
                       100 * m.test_accuracy, 100 * m.traffic, m.exchange_bytes,
                       m.test_accuracy_fp16 >= 0 ? fmt::format("{:.2f}% at {:.1f}%", 100 * m.test_accuracy_fp16,
                                                               100 * m.traffic_fp16) : "-");
  return h + "</table>";
}

std::string report_html(const PolicyReport& r, const config::PolicyConfig& c) {
  std::string h = "<!doctype html><html><head><meta charset=\"utf-8\"><title>concnas policy</title><style>"
                  "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
                  "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}.pic svg{max-width:100%;height:auto}"
                  "</style></head><body><h1>Communication policy search</h1>";
  h += fmt::format("<p>{} groups of {} blocks, an exchange step every {} blocks; share {}{}; penalty {} per unit of "
                   "traffic; {} policies per search and seed. Full exchange sends {} bytes per image between groups. "
                   "The shared network scores {:.2f}% with every edge on.</p>",
                   c.policy.groups, c.policy.depth, c.policy.alpha, c.policy.share, c.policy.fp16 ? ", fp16" : "",
                   c.policy.penalty, c.policy.samples, r.full_bytes, 100 * r.shared_val_accuracy);
  h += "<table><tr><th>seed</th><th>random: best reward</th><th>controller: best reward</th></tr>";
  for (const auto& s : r.seeds)
    h += fmt::format("<tr><td>{}</td><td>{:.4f}</td><td>{:.4f}</td></tr>", s.seed, s.random, s.controller);
  h += "</table>" + models_html(r) + scatter_html(r) + progress_html(r);
  return h + "</body></html>\n";
}

}  // namespace

void write_policy_report(const PolicyReport& report, const config::PolicyConfig& config, const std::string& out) {
  write_file_atomic(out + "/policy.json", report_json(report, config).dump(2) + "\n");
  write_file_atomic(out + "/report.html", report_html(report, config));
}

}  // namespace concnas::search::detail
