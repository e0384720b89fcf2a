#include "concnas/graph/edge_file.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <sstream>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"

namespace concnas::graph {
namespace {

bool parse_id(const std::string& token, long& out) {
  if (token.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtol(token.c_str(), &end, 10);
  return errno == 0 && end == token.c_str() + token.size() && out >= 0 && out < INT_MAX;
}

}  // namespace

Dag parse_edge_list(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  long declared = -1;
  bool seen_edge = false;
  std::vector<Arc> arcs;
  std::map<std::pair<long, long>, int> first_line;  // edge -> line, for repeat messages
  long max_id = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::vector<std::string> tok;
    for (std::string t; fields >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    if (tok[0] == "nodes") {
      if (seen_edge || declared >= 0)
        throw ParseError(source, line_no, "'nodes N' must come once, before the first edge");
      if (tok.size() != 2 || !parse_id(tok[1], declared) || declared < 1)
        throw ParseError(source, line_no, "expected 'nodes N' with N a positive integer");
      if (declared > kMaxVertices)
        throw ParseError(source, line_no, fmt::format("'nodes {}': at most {} vertices", declared, kMaxVertices));
      continue;
    }
    long u = 0;
    long v = 0;
    if (tok.size() != 2 || !parse_id(tok[0], u) || !parse_id(tok[1], v))
      throw ParseError(source, line_no,
                       fmt::format("expected an edge 'u v' of two vertex ids, got '{}'", line));
    if (u == v) throw ParseError(source, line_no, fmt::format("self loop on vertex {}", u));
    if (declared >= 0 && (u >= declared || v >= declared))
      throw ParseError(source, line_no,
                       fmt::format("edge {} {} names a vertex outside 0..{}", u, v, declared - 1));
    const auto [it, fresh] = first_line.emplace(std::make_pair(u, v), line_no);
    if (!fresh)
      throw ParseError(source, line_no,
                       fmt::format("edge {} {} repeats line {}", u, v, it->second));
    seen_edge = true;
    max_id = std::max({max_id, u, v});
    arcs.push_back({static_cast<int>(u), static_cast<int>(v)});
  }
  const long n = declared >= 0 ? declared : max_id + 1;
  if (n < 1) throw ParseError(source, 0, "no edges and no 'nodes N' line");
  try {
    return Dag::from_compute_edges(static_cast<int>(n), std::move(arcs));
  } catch (const InvalidArgument& e) {
    throw ParseError(source, 0, e.what());  // a cycle: a property of the file, not a line
  }
}

Dag read_edge_file(const std::string& path) { return parse_edge_list(read_file(path), path); }

}  // namespace concnas::graph
