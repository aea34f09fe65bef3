// Interrupting bnas_engine: killed mid-run (SIGKILL) and stopped with Ctrl-C (SIGINT), then
// resumed from the run directory; the resumed run ends with every epoch logged exactly once.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "tools/report.h"

using namespace bnas::clitest;
using nlohmann::json;

namespace {

pid_t spawn(const std::string& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = "exec " + std::string(BNAS_CLI) + " " + args + " >" + log + ".out 2>" + log + ".err";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits until the run directory's log has an epoch record (so a checkpoint exists).
bool wait_for_epoch(const std::string& dir, pid_t pid, double seconds,
                    const std::string& checkpoint = "train.safetensors") {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
    if (fs::exists(dir + "/log.jsonl") && slurp(dir + "/log.jsonl").find("\"type\":\"epoch\"") != std::string::npos &&
        fs::exists(dir + "/checkpoints/" + checkpoint))
      return true;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Runs `bnas_engine args` writing to dir, sends `sig` once its first epoch is checkpointed and
// returns the wait status; false in *ok when the run ended before any checkpoint.
int interrupt_after_first_epoch(const std::string& args, const std::string& dir, int sig, bool* ok,
                                const std::string& checkpoint = "train.safetensors") {
  const pid_t pid = spawn(args, dir + "_log");
  *ok = wait_for_epoch(dir, pid, 300, checkpoint);
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

void expect_each_epoch_once(const std::string& dir, int epochs) {
  std::vector<int> seen;
  for (const auto& j : bnas::report::read_jsonl(dir + "/log.jsonl"))
    if (j.at("type") == "epoch") seen.push_back(j.at("epoch").get<int>());
  std::vector<int> want(epochs);
  for (int i = 0; i < epochs; ++i) want[i] = i;
  EXPECT_EQ(seen, want);
}

}  // namespace

TEST(CliSlow, ResumeAfterKill) {
  const std::string data = write_tiny_mnist("kill", 120, 20);
  const std::string dir = temp_dir("kill_run") + "/run";
  const std::string args = "train mnist --genotype DARTS_V2 --data " + data + " --out " + dir + " --epochs 4 " +
                           tiny_train_flags();
  bool ok = false;
  interrupt_after_first_epoch(args, dir, SIGKILL, &ok);
  ASSERT_TRUE(ok) << slurp(dir + "_log.err");
  const Result r = run_cli("train --resume " + dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  const json summary = json::parse(slurp(dir + "/summary.json"));
  EXPECT_EQ(summary.at("epochs_done"), 4);
  expect_each_epoch_once(dir, 4);
}

TEST(CliSlow, CtrlCWritesACheckpointAndSaysHowToResume) {
  const std::string data = write_tiny_mnist("sigint", 120, 20);
  const std::string dir = temp_dir("sigint_run") + "/run";
  const std::string args = "train mnist --genotype DARTS_V2 --data " + data + " --out " + dir + " --epochs 6 " +
                           tiny_train_flags();
  bool ok = false;
  const int status = interrupt_after_first_epoch(args, dir, SIGINT, &ok);
  ASSERT_TRUE(ok) << slurp(dir + "_log.err");
  ASSERT_TRUE(WIFEXITED(status));
  const std::string err = slurp(dir + "_log.err");
  if (WEXITSTATUS(status) == 0) {
    GTEST_SKIP() << "the run finished before the signal arrived";
  }
  EXPECT_EQ(WEXITSTATUS(status), 130) << err;
  EXPECT_NE(err.find("bnas_engine train --resume " + dir), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir + "/summary.json"));
  const Result r = run_cli("train --resume " + dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_each_epoch_once(dir, 6);
}

TEST(CliSlow, SearchResumeAfterKill) {
  const std::string data = write_tiny_mnist("search_kill", 40, 10);
  const std::string dir = temp_dir("search_kill_run") + "/run";
  const std::string args = "search mnist --data " + data + " --out " + dir +
                           " --preset bnas-v2-pc --epochs 3 --arch-start-epoch 1 --channels 4 --batch 10 "
                           "--log-interval 1 --threads 2";
  bool ok = false;
  interrupt_after_first_epoch(args, dir, SIGKILL, &ok, "search.safetensors");
  ASSERT_TRUE(ok) << slurp(dir + "_log.err");
  const Result r = run_cli("search --resume " + dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_each_epoch_once(dir, 3);
  EXPECT_TRUE(fs::exists(dir + "/genotype.json"));
  EXPECT_TRUE(fs::exists(dir + "/genotypes/epoch_003.json"));
}
