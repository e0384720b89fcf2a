#include "concnas/config/architecture_yaml.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"

#include <regex>

#include "concnas/common/error.h"

namespace concnas::config {
namespace {

arch::Architecture sample(const std::string& generator = "dp", std::uint64_t seed = 4) {
  arch::GenerateOptions o;
  o.generator = generator;
  o.nodes = 30;
  o.seed = seed;
  return arch::generate_architecture(o, graph::builtin_generators(),
                                     arch::builtin_staging_policies());
}

void expect_error(const std::string& text, int line, const std::string& fragment) {
  concnas::testing::expect_parse_error_at([&] { architecture_from_yaml(text, "a.yaml"); }, line,
                                          fragment);
  concnas::testing::expect_error_containing<ParseError>([&] { architecture_from_yaml(text, "a.yaml"); },
                                                        "a.yaml:");
}

// Replaces the first match of `pattern` in `text`.
std::string edit(const std::string& text, const std::string& pattern, const std::string& with) {
  return std::regex_replace(text, std::regex(pattern), with, std::regex_constants::format_first_only);
}

int line_of(const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

TEST(AnArchitectureFile, LoadsBackToAnIdenticalArchitecture) {
  for (const char* g : {"er", "ba", "ws", "dp"}) {
    const auto a = sample(g);
    const auto text = architecture_to_yaml(a);
    const auto b = architecture_from_yaml(text, "a.yaml");
    EXPECT_EQ(a, b) << g;
    EXPECT_EQ(architecture_to_yaml(b), text) << g;
  }
}

TEST(AnArchitectureFile, IsByteIdenticalForTheSameSeed) {
  EXPECT_EQ(architecture_to_yaml(sample("dp", 9)), architecture_to_yaml(sample("dp", 9)));
  EXPECT_NE(architecture_to_yaml(sample("dp", 9)), architecture_to_yaml(sample("dp", 10)));
}

TEST(AnArchitectureFile, KeepsAnEdgeFileProvenance) {
  auto a = sample();
  a.provenance.generator = "edges";
  a.provenance.orientation = "given";
  a.provenance.params = {};
  a.provenance.edge_file = "my \"net\".txt";
  const auto b = architecture_from_yaml(architecture_to_yaml(a), "a.yaml");
  EXPECT_EQ(b.provenance, a.provenance);
}

TEST(AnArchitectureFile, RejectsUnknownAndMissingKeysWithTheirLine) {
  const auto text = architecture_to_yaml(sample());
  expect_error(edit(text, "  classes: 10", "  classes: 10\n  clases: 10"),
               line_of(text, "  aggregation") , "unknown key 'network.clases'");
  expect_error(edit(text, "  stem_channels: 16\n", ""), line_of(text, "  input:"),
               "missing key 'network.stem_channels'");
  expect_error(edit(text, "version: 1", "version: 7"), 3, "unsupported version 7");
  expect_error(edit(text, "format: concnas-architecture", "format: other"), 2, "'format'");
}

TEST(AnArchitectureFile, RejectsBadValuesWithTheirLine) {
  const auto text = architecture_to_yaml(sample());
  expect_error(edit(text, "channel_limit: 128", "channel_limit: lots"),
               line_of(text, "channel_limit"), "'network.channel_limit' must be an integer");
  expect_error(edit(text, "probability: 0.5", "probability: 2"), line_of(text, "probability"),
               "[0, 1]");
  expect_error(edit(text, "policy: \"probabilistic\"", "policy: \"sometimes\""),
               line_of(text, "policy"), "unknown staging policy");
  expect_error(edit(text, "aggregation: randwire", "aggregation: max"),
               line_of(text, "aggregation"), "unknown aggregation");
}

TEST(AnArchitectureFile, RejectsRecordsThatDisagreeWithTheRebuild) {
  const auto text = architecture_to_yaml(sample());
  // Vertex 0 is fed by the input vertex: claim another output shape.
  const std::string v0 = "  - {id: 0,";
  const auto line = line_of(text, v0);
  const auto start = text.find(v0);
  const auto end = text.find('\n', start);
  std::string row = text.substr(start, end - start);
  std::string bad_row = std::regex_replace(row, std::regex("out: \\[[0-9, ]+\\]"), "out: [3, 3, 3]");
  expect_error(text.substr(0, start) + bad_row + text.substr(end), line, "'out' disagrees");
  std::string bad_inputs = std::regex_replace(row, std::regex("inputs: \\[[0-9, ]+\\]"), "inputs: [5]");
  expect_error(text.substr(0, start) + bad_inputs + text.substr(end), line, "'inputs' disagrees");
}

TEST(AnArchitectureFile, RejectsImpossibleStagingCyclesAndMissingVertices) {
  const auto text = architecture_to_yaml(sample());
  // Staging every vertex must break the channel limit somewhere.
  expect_error(std::regex_replace(text, std::regex("staged: false"), "staged: true"),
               line_of(text, "vertices:") + 1, "cannot stage");
  // Reverse the first edge beside itself: a two-vertex cycle.
  expect_error(edit(text, "edges: \\[\\[([0-9]+), ([0-9]+)\\]", "edges: [[$2, $1], [$1, $2]"),
               line_of(text, "  edges:"), "cycle");
  const std::string v3 = "  - {id: 3,";
  const auto start = text.find(v3);
  const auto end = text.find('\n', start);
  expect_error(text.substr(0, start) + text.substr(end + 1), line_of(text, "vertices:") + 1,
               "vertex 3 is missing");
  expect_error(text.substr(0, start) + text.substr(start, end - start + 1) + text.substr(start),
               line_of(text, v3) + 1, "vertex 3 is listed twice");
}

TEST(AnArchitectureFile, RejectsTextThatIsNotYamlOrNotAnArchitecture) {
  expect_error("a: [1, 2\n", 2, "invalid YAML");
  expect_error("- 1\n- 2\n", 0, "not an architecture file");
  EXPECT_THROW(load_architecture("/nonexistent/a.yaml"), IoError);
}

}  // namespace
}  // namespace concnas::config
