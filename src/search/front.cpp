#include "front.h"

#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "concnas/arch/dot.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/process.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/train/trainer.h"

namespace concnas::search::detail {
namespace fs = std::filesystem;
namespace {

// The DOT picture of `a`, coloured by its best partition re-scored with the candidate's
// seed (the same parts the search found).
std::string coloured_dot(const SearchConfig& config, const CandidateRecord& c, const arch::Architecture& a) {
  auto so = score_options(config, c.candidate.id);
  so.epsilons = {c.best_option().epsilon};
  const auto score = partition::score_architecture(a, so, partition::builtin_partitioners());
  arch::DotOptions dot;
  const auto& parts = score.best().parts;
  dot.unit_of.assign(parts.begin(), parts.begin() + a.dag.num_compute());
  return arch::to_dot(a, dot);
}

// Renders out/arch.dot to out/arch.svg with Graphviz; the SVG element, or nothing when
// `dot` failed (its own message is on stderr).
std::optional<std::string> render_svg(const std::string& out) {
  if (run_program({"dot", "-Tsvg", out + "/arch.dot", "-o", out + "/arch.svg.tmp"}) != 0) return std::nullopt;
  fs::rename(out + "/arch.svg.tmp", out + "/arch.svg");
  const std::string svg = read_file(out + "/arch.svg");
  const auto at = svg.find("<svg");
  return at == std::string::npos ? svg : svg.substr(at);
}

void copy_weights(const std::string& from, const std::string& out) {
  if (!fs::exists(from)) return;
  fs::copy_file(from, out + "/weights.pt.tmp", fs::copy_options::overwrite_existing);
  fs::rename(out + "/weights.pt.tmp", out + "/weights.pt");
}

}  // namespace

FrontFiles write_front(const SearchConfig& config, const std::string& dir, const std::vector<FinalEntry>& final,
                       int last_rung) {
  FrontFiles files;
  files.graphviz = program_on_path("dot");
  const auto [input, classes] = train::dataset_shape(config.base);
  for (const auto& e : final) {
    if (!e.on_front) continue;
    const auto& c = *e.candidate;
    files.front.push_back(c.candidate.id);
    const std::string out = fmt::format("{}/best/{}", dir, c.name);
    fs::create_directories(out);
    const auto a = build_candidate(c.candidate, config, input, classes);
    config::save_architecture(a, out + "/arch.yaml");
    write_file_atomic(out + "/arch.dot", coloured_dot(config, c, a));
    if (files.graphviz)
      if (auto svg = render_svg(out)) files.pictures[c.candidate.id] = std::move(*svg);
    copy_weights(fmt::format("{}/trials/c{}-r{}/weights.pt", dir, c.candidate.id, last_rung + 1), out);
  }
  return files;
}

}  // namespace concnas::search::detail
