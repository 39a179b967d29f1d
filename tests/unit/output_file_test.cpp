// OutputFile: whole or nothing, links followed, special files written directly, temporaries
// removable from a signal handler.
#include "mali_sim/output_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace mali_sim {
namespace {

namespace fs = std::filesystem;

struct Dir {
  Dir() {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path = fs::temp_directory_path() / ("mali_sim_output_" + test + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(path)) ++n;
    return n;
  }
  fs::path path;
};

std::string read(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OutputFile, AnUncommittedOutputLeavesTheOldFileAndNoTemporary) {
  Dir d;
  std::ofstream(d / "out") << "old";
  {
    auto f = OutputFile::create(d / "out").value();
    ASSERT_TRUE(f->write("new"));
    EXPECT_EQ(read(d / "out"), "old") << "nothing shows before the commit";
  }
  EXPECT_EQ(read(d / "out"), "old");
  EXPECT_EQ(d.entries(), 1U) << "the temporary is gone";
  auto f = OutputFile::create(d / "out").value();
  ASSERT_TRUE(f->write("new"));
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(read(d / "out"), "new");
}

TEST(OutputFile, ASymbolicLinkIsFollowedAndStaysALink) {
  Dir d;
  std::ofstream(d / "target") << "old";
  fs::create_symlink(d / "target", d / "link");
  auto f = OutputFile::create(d / "link").value();
  ASSERT_TRUE(f->write("new"));
  ASSERT_TRUE(f->commit());
  EXPECT_TRUE(fs::is_symlink(d / "link"));
  EXPECT_EQ(read(d / "target"), "new");
}

TEST(OutputFile, AFifoIsWrittenDirectly) {
  Dir d;
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read(d / "fifo"); });
  {
    auto f = OutputFile::create(d / "fifo").value();
    EXPECT_TRUE(f->direct());
    ASSERT_TRUE(f->write("rows\n"));
    ASSERT_TRUE(f->commit());
  }
  reader.join();
  EXPECT_EQ(got, "rows\n");
  struct stat st {};
  ASSERT_EQ(::stat((d / "fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "still a FIFO, not replaced by a file";
}

TEST(OutputFile, TheSignalCleanupRemovesOpenTemporariesOnly) {
  Dir d;
  auto open = OutputFile::create(d / "a").value();
  auto done = OutputFile::create(d / "b").value();
  ASSERT_TRUE(done->commit());
  ASSERT_EQ(d.entries(), 2U);  // a's temporary and b
  OutputFile::remove_temporaries_on_signal();
  EXPECT_EQ(d.entries(), 1U);
  EXPECT_TRUE(fs::exists(d / "b"));
}

TEST(OutputFile, ADirectoryOrAMissingDirectoryIsAClearError) {
  Dir d;
  auto a = OutputFile::create(d.path.string());
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("is a directory"), std::string::npos) << a.error().message;
  auto b = OutputFile::create(d / "missing/x");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("cannot create"), std::string::npos) << b.error().message;
}

TEST(OutputFile, SameFileSeesThroughLinksAndRelativePaths) {
  Dir d;
  std::ofstream(d / "t") << "x";
  fs::create_symlink(d / "t", d / "l");
  EXPECT_TRUE(same_file(d / "t", d / "l"));
  EXPECT_FALSE(same_file(d / "t", d / "other"));
}

}  // namespace
}  // namespace mali_sim
