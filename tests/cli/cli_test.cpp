// Runs the concnas binary as a user would and checks outputs, exit codes and messages.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class TheCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("concnas_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Result run(const std::string& args) const {
    const std::string out = path("stdout.txt");
    const std::string err = path("stderr.txt");
    const std::string cmd = std::string(CONCNAS_CLI) + " " + args + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }

  // A bad invocation: non-zero exit, exactly one line on stderr naming `fragment`, and
  // no output file left behind.
  void expect_rejected(const std::string& args, const std::string& fragment, int code = 2) {
    const auto r = run(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("concnas: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("out.yaml"))) << args;
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos);
  }

  fs::path dir_;
};

TEST_F(TheCli, GeneratesAnArchitectureAndDescribesItAsJson) {
  const auto g = run("generate --generator dp --nodes 40 --param alpha=1 --param beta=2 "
                     "--param p=0.75 --seed 3 -o " + path("a.yaml") + " --dot " + path("a.dot"));
  ASSERT_EQ(g.code, 0) << g.err;
  ASSERT_TRUE(fs::exists(path("a.dot")));
  EXPECT_NE(slurp(path("a.dot")).find("digraph"), std::string::npos);
  const auto info = run("info --json " + path("a.yaml"));
  ASSERT_EQ(info.code, 0) << info.err;
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["vertices"], 40);
  EXPECT_EQ(j["edge_list"].size(), j["edges"].get<std::size_t>());
  for (const auto& e : j["edge_list"]) {
    EXPECT_GE(e[0].get<int>(), 0);
    EXPECT_LT(e[1].get<int>(), 40);
  }
  EXPECT_GE(j["longest_path"].get<int>(), 1);
  EXPECT_GE(j["components"].get<int>(), 1);
  EXPECT_GT(j["params"].get<long>(), 0);
  EXPECT_GT(j["flops"].get<long>(), 0);
  const auto text = run("info " + path("a.yaml"));
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("longest path"), std::string::npos);
}

TEST_F(TheCli, WritesByteIdenticalFilesForTheSameSeed) {
  for (const char* g : {"er", "ba", "ws", "dp"}) {
    const std::string base = std::string("generate -g ") + g + " -n 40 --seed 12 -o ";
    ASSERT_EQ(run(base + path("a.yaml") + " --dot " + path("a.dot")).code, 0);
    ASSERT_EQ(run(base + path("b.yaml") + " --dot " + path("b.dot")).code, 0);
    EXPECT_EQ(slurp(path("a.yaml")), slurp(path("b.yaml"))) << g;
    EXPECT_EQ(slurp(path("a.dot")), slurp(path("b.dot"))) << g;
  }
}

TEST_F(TheCli, TakesAUsersEdgeFile) {
  write("g.txt", "# two branches\nnodes 5\n0 1\n1 2\n3 4\n");
  const auto r = run("generate --from-edges " + path("g.txt") + " --staging greedy -o " + path("a.yaml"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(run("info --json " + path("a.yaml")).out);
  EXPECT_EQ(j["vertices"], 5);
  EXPECT_EQ(j["edges"], 3);
  EXPECT_EQ(j["components"], 2);
  EXPECT_EQ(j["longest_path"], 3);
  EXPECT_EQ(j["generator"], "edges");
}

TEST_F(TheCli, RejectsBadGeneratorOptions) {
  const std::string o = " -o " + path("out.yaml");
  expect_rejected("generate -g nope -n 10" + o, "unknown generator 'nope'");
  expect_rejected("generate -g dp -n 10 --staging lazy" + o, "unknown staging policy 'lazy'");
  expect_rejected("generate -g er -n 1" + o, "at least 2 nodes");
  expect_rejected("generate -g er -n 10 -p p=1.5" + o, "p=1.5");
  expect_rejected("generate -g dp -n 10 -p p=-0.5" + o, "p=-0.5");
  expect_rejected("generate -g ws -n 10 -p k=3" + o, "k=3");
  expect_rejected("generate -g ws -n 10 -p k=10" + o, "k=10");
  expect_rejected("generate -g ba -n 10 -p m=10" + o, "m=10");
  expect_rejected("generate -g er -n 10 -p oops" + o, "KEY=VALUE");
  expect_rejected("generate -g er -n 10 --orientation bfs" + o, "unknown orientation 'bfs'");
  expect_rejected("generate -g er -n 10 --stage-probability 2" + o, "[0, 1]");
  expect_rejected("generate -g er -n 10 --input-shape 28x28" + o, "--input-shape");
  expect_rejected("generate -g er" + o, "--nodes");
  expect_rejected("generate -n 10" + o, "--generator");
  expect_rejected("generate -g er -n 10", "--output");
  expect_rejected("frobnicate", "frobnicate");
}

TEST_F(TheCli, RejectsBadEdgeFilesNamingFileAndLine) {
  const std::string o = " -o " + path("out.yaml");
  write("bad.txt", "0 1\n1 two\n");
  expect_rejected("generate --from-edges " + path("bad.txt") + o, "bad.txt:2:", 1);
  write("cyc.txt", "0 1\n1 2\n2 0\n");
  expect_rejected("generate --from-edges " + path("cyc.txt") + o, "cycle", 1);
  expect_rejected("generate --from-edges " + path("none.txt") + o, "none.txt", 1);
}

TEST_F(TheCli, RejectsMalformedArchitectureFiles) {
  ASSERT_EQ(run("generate -g ws -n 12 -o " + path("a.yaml")).code, 0);
  std::string text = slurp(path("a.yaml"));
  text.replace(text.find("stem_channels: 16"), 17, "stem_channels: -3");
  write("bad.yaml", text);
  expect_rejected("info " + path("bad.yaml"), "bad.yaml:", 1);
  write("junk.yaml", "{{{");
  expect_rejected("info " + path("junk.yaml"), "invalid YAML", 1);
}

TEST_F(TheCli, KeepsAnExistingOutputWhenANewRunFails) {
  ASSERT_EQ(run("generate -g ws -n 12 -o " + path("a.yaml")).code, 0);
  const std::string before = slurp(path("a.yaml"));
  EXPECT_NE(run("generate -g ws -n 12 -p k=5 -o " + path("a.yaml")).code, 0);
  EXPECT_EQ(slurp(path("a.yaml")), before);
}

}  // namespace
