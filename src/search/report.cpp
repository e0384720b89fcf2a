#include "concnas/search/results.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "svg_plot.h"

// report.html: a self-contained page (inline SVG, no scripts) of what a search found.

namespace concnas::search {
namespace {

using detail::escape;
using detail::Point;
using detail::scatter_svg;

// The page's head and its first paragraph: what was searched, with the stage times.
std::string header_html(const ReportInput& in) {
  const auto& cfg = *in.config;
  std::string h =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>concnas search report</title>"
      "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
      "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;"
      "text-align:right}th{background:#eee}td.l{text-align:left}tr.front{background:#fde8e8}"
      "tr.baseline{background:#e6f4e6}.fig{display:inline-block;margin:0 1em 1em 0;vertical-align:top}"
      ".pic svg{max-width:100%;height:auto}</style></head><body>";
  int feasible = 0;
  for (const auto& c : *in.candidates) feasible += c.feasible() ? 1 : 0;
  h += fmt::format(
      "<h1>concnas search</h1><p>{} candidates scored for n = {} units ({} feasible), {} trainings "
      "in {} rungs on {}. Objective beside params: {}. Seed {}.</p>",
      in.candidates->size(), cfg.search.units, feasible, in.trials->size(), cfg.search.rungs.size(),
      escape(cfg.base.data.dataset), escape(cfg.search.objective), cfg.search.seed);
  if (!in.stage_seconds.empty()) {
    h += "<p>Stage wall times (this run): ";
    for (const auto& [stage, s] : in.stage_seconds) h += fmt::format("{} {:.1f} s; ", escape(stage), s);
    h += "</p>";
  }
  return h;
}

// The pick deployed: what the simulator predicted beside what `concnas run` measured.
std::string deployed_html(const ReportInput& in) {
  if (!in.deployed) return "";
  const auto& d = *in.deployed;
  if (!d.error.empty())
    return fmt::format("<h2>Deployed pick</h2><p>{} could not be deployed: {}</p>", escape(d.name), escape(d.error));
  return fmt::format("<h2>Deployed pick</h2><p>{} on {} local workers: predicted {:.3f} ms, measured {:.3f} ms "
                     "(p50 at batch 1; error {:+.1f}%). Deployment: <code>{}</code>.</p>",
                     escape(d.name), d.units, d.predicted_ms, d.measured_ms,
                     100 * (d.predicted_ms / d.measured_ms - 1), escape(d.folder));
}

// The candidates trained at the last rung, one row each.
std::string final_table_html(const ReportInput& in) {
  std::string h;
  if (in.final.empty())
    h += "<p>No trainings: a score-only search (<code>search.rungs: []</code>) or nothing feasible.</p>";
  h += "<h2>Final candidates</h2><p>Trained at the last rung; red rows are on the Pareto front of "
       "(test accuracy, predicted latency, params), green rows are baselines.</p><table><tr><th>id</th>"
       "<th>name</th><th>test acc.</th><th>val acc.</th><th>latency (ms)</th><th>speedup</th><th>CS</th>"
       "<th>comm (bytes)</th><th>params</th><th>MFLOPs</th><th>acc./Mparam</th></tr>";
  for (const auto& e : in.final) {
    const auto& c = *e.candidate;
    const auto& o = c.best_option();
    const bool baseline = c.candidate.kind != "sampled";
    h += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td class=\"l\">{}</td><td>{:.2f}%</td><td>{:.2f}%</td><td>{:.4f}</td>"
        "<td>{:.2f}</td><td>{:.3f}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{:.1f}</td></tr>",
        e.on_front ? "front" : (baseline ? "baseline" : ""), c.candidate.id, escape(c.name),
        100 * e.trial->test_accuracy, 100 * e.trial->val_accuracy, o.latency_ms, o.speedup, o.cs,
        o.comm_bytes, c.params, c.flops / 1e6,
        c.params > 0 ? 100 * e.trial->test_accuracy / (c.params / 1e6) : 0.0);
  }
  return h + "</table>";
}

// Test accuracy against predicted latency and against CS.
std::string accuracy_plots_html(const ReportInput& in) {
  std::vector<Point> by_latency, by_cs;
  for (const auto& e : in.final) {
    const auto& c = *e.candidate;
    const bool baseline = c.candidate.kind != "sampled";
    by_latency.push_back({c.best_option().latency_ms, 100 * e.trial->test_accuracy, c.name, e.on_front, baseline});
    by_cs.push_back({c.best_option().cs, 100 * e.trial->test_accuracy, c.name, e.on_front, baseline});
  }
  std::string h = "<h2>Accuracy against concurrency</h2><p>Circles: sampled (red: on the front); squares: "
                  "baselines.</p>";
  h += "<div class=\"fig\">" +
       scatter_svg(by_latency, fmt::format("predicted latency at n = {} (ms)", in.config->search.units),
                   "test accuracy (%)") +
       "</div>";
  return h + "<div class=\"fig\">" +
         scatter_svg(by_cs, "concurrency score CS (lower is better)", "test accuracy (%)") + "</div>";
}

// Per generator (and baseline): the comparison of the EDGE'23 paper's Fig. 9.
std::string generator_table_html(const ReportInput& in) {
  struct Group {
    int count = 0, feasible = 0;
    double cs_sum = 0, cs_best = 1e300, latency_sum = 0, latency_best = 1e300, speedup_sum = 0, params_sum = 0;
  };
  std::map<std::string, Group> groups;
  for (const auto& c : *in.candidates) {
    auto& g = groups[c.candidate.kind == "sampled" ? c.candidate.arch.generator : c.candidate.kind + " (baseline)"];
    const auto& o = c.best_option();
    ++g.count;
    g.feasible += c.feasible() ? 1 : 0;
    g.cs_sum += o.cs;
    g.cs_best = std::min(g.cs_best, o.cs);
    g.latency_sum += o.latency_ms;
    g.latency_best = std::min(g.latency_best, o.latency_ms);
    g.speedup_sum += o.speedup;
    g.params_sum += static_cast<double>(c.params);
  }
  std::string h = fmt::format("<h2>Scores per generator</h2><p>n = {} units; the best of the balance bounds per "
                              "candidate.</p><table><tr><th>generator</th><th>candidates</th><th>feasible</th>"
                              "<th>mean CS</th><th>best CS</th><th>mean latency (ms)</th><th>best latency (ms)</th>"
                              "<th>mean speedup</th><th>mean params</th></tr>",
                              in.config->search.units);
  for (const auto& [name, g] : groups)
    h += fmt::format("<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.3f}</td><td>{:.3f}</td><td>{:.4f}</td>"
                     "<td>{:.4f}</td><td>{:.2f}</td><td>{:.0f}</td></tr>",
                     escape(name), g.count, g.feasible, g.cs_sum / g.count, g.cs_best, g.latency_sum / g.count,
                     g.latency_best, g.speedup_sum / g.count, g.params_sum / g.count);
  return h + "</table>";
}

// Where the search looked, the front's pictures and every training.
std::string scored_pictures_trials_html(const ReportInput& in) {
  std::vector<Point> scored;
  for (const auto& c : *in.candidates)
    scored.push_back({c.best_option().latency_ms, c.params / 1e6, c.name, false, c.candidate.kind != "sampled"});
  std::string h = "<h2>All scored candidates</h2><div class=\"fig\">" +
                  scatter_svg(scored, "predicted latency (ms)", "params (M)") + "</div>";
  if (!in.pictures.empty()) {
    h += "<h2>Architectures on the front</h2><p>Vertices coloured by unit of the best partition.</p>";
    for (const auto& [id, svg] : in.pictures)
      h += fmt::format("<h3>candidate {}</h3><div class=\"pic\">{}</div>", id, svg);
  }
  h += "<h2>Every training</h2><table><tr><th>candidate</th><th>rung</th><th>images</th><th>epochs</th>"
       "<th>val acc.</th><th>test acc.</th><th>seconds</th></tr>";
  for (const auto& t : *in.trials)
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2f}%</td><td>{:.2f}%</td>"
                     "<td>{:.1f}</td></tr>",
                     t.candidate, t.rung + 1, t.train_subset == 0 ? std::string("all") : std::to_string(t.train_subset),
                     t.epochs, 100 * t.val_accuracy, 100 * t.test_accuracy, t.seconds);
  return h + "</table>";
}

}  // namespace

std::string report_html(const ReportInput& in) {
  return header_html(in) + deployed_html(in) + final_table_html(in) + accuracy_plots_html(in) + generator_table_html(in) +
         scored_pictures_trials_html(in) +
         "<p>Files: config.yaml, candidates.jsonl, trials.jsonl, pareto.csv, best/.</p></body></html>\n";
}

}  // namespace concnas::search
