// The shared SQLite helper (internal): real files in a temp dir.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "sqlite/checkpointer.h"
#include "sqlite/db.h"

using hp::sqlite::Db;

namespace {
std::string temp_path(const char *name) {
  char dir[] = "/tmp/hotpath-sqlite-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return std::string(dir) + "/" + name;
}
}  // namespace

TEST_CASE("sqlite: opens in WAL mode and caches statements") {
  std::unique_ptr<Db> db;
  std::string path = temp_path("a.db");
  REQUIRE(Db::open(path, {}, &db) == 0);
  REQUIRE(db->exec("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)") == 0);
  auto *mode = db->prepare("PRAGMA journal_mode");
  REQUIRE(mode);
  REQUIRE(mode->step() == SQLITE_ROW);
  CHECK(mode->text(0) == "wal");
  auto *ins = db->prepare("INSERT INTO t VALUES (?, ?)");
  REQUIRE(ins);
  for (int i = 0; i < 10; i++) {
    auto *again = db->prepare("INSERT INTO t VALUES (?, ?)");
    CHECK(again == ins);  // the same cached statement
    again->bind(1, std::to_string(i)).bind(2, int64_t{i * i});
    CHECK(again->step() == SQLITE_DONE);
  }
  auto *sum = db->prepare("SELECT sum(v) FROM t");
  REQUIRE(sum->step() == SQLITE_ROW);
  CHECK(sum->int64(0) == 285);
}

TEST_CASE("sqlite: a constraint failure is HP_EINVAL with the database's message") {
  std::unique_ptr<Db> db;
  REQUIRE(Db::open(temp_path("b.db"), {}, &db) == 0);
  REQUIRE(db->exec("CREATE TABLE t(k TEXT PRIMARY KEY)") == 0);
  REQUIRE(db->exec("INSERT INTO t VALUES ('x')") == 0);
  CHECK(db->exec("INSERT INTO t VALUES ('x')") == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("UNIQUE") != std::string::npos);
  CHECK(db->prepare("SELECT nope FROM t") == nullptr);
  CHECK(std::string(hp_last_error()).find("nope") != std::string::npos);
}

TEST_CASE("sqlite: a file that is not a database is HP_ECORRUPT at open") {
  std::string path = temp_path("junk.db");
  std::ofstream(path) << std::string(8192, 'x');
  std::unique_ptr<Db> db;
  CHECK(Db::open(path, {}, &db) == HP_ECORRUPT);
  CHECK(std::string(hp_last_error()).find("not a database") != std::string::npos);
  CHECK(Db::open("/nonexistent-dir/x.db", {}, &db) == HP_EIO);
}

TEST_CASE("sqlite: immediate transactions make read-then-write atomic across connections") {
  std::string path = temp_path("c.db");
  {
    std::unique_ptr<Db> db;
    REQUIRE(Db::open(path, {}, &db) == 0);
    REQUIRE(db->exec("CREATE TABLE c(n INTEGER); INSERT INTO c VALUES (0);") == 0);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      std::unique_ptr<Db> db;
      REQUIRE(Db::open(path, {}, &db) == 0);
      for (int i = 0; i < 200; i++) {
        hp::sqlite::Txn txn(*db);
        REQUIRE(txn.begin() == 0);
        auto *get = db->prepare("SELECT n FROM c");
        REQUIRE(get->step() == SQLITE_ROW);
        int64_t n = get->int64(0);
        get->reset();
        auto *set = db->prepare("UPDATE c SET n = ?");
        set->bind(1, n + 1);
        REQUIRE(set->step() == SQLITE_DONE);
        REQUIRE(txn.commit() == 0);
      }
    });
  for (auto &th : threads) th.join();
  std::unique_ptr<Db> db;
  REQUIRE(Db::open(path, {}, &db) == 0);
  auto *get = db->prepare("SELECT n FROM c");
  REQUIRE(get->step() == SQLITE_ROW);
  CHECK(get->int64(0) == 800);
}

TEST_CASE("sqlite: checkpoints run beside the writer and keep the WAL bounded") {
  std::unique_ptr<Db> db;
  std::string path = temp_path("ckpt.db");
  hp::sqlite::OpenOptions options;
  REQUIRE(Db::open(path, options, &db) == 0);
  REQUIRE(db->exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)") == 0);
  REQUIRE(db->exec("PRAGMA journal_size_limit=0") == 0);
  long page = 0;
  {
    auto *s = db->prepare("PRAGMA page_size");
    REQUIRE(s->step() == SQLITE_ROW);
    page = static_cast<long>(s->int64(0));
    s->reset();
  }
  const int soft = 64, hard = 256;
  long biggest = 0;
  {
    hp::sqlite::Checkpointer ckpt(db.get(), options, soft, hard);
    std::string value(8 * page, 'x');  // about 9 pages per row
    for (int i = 0; i < 2000; i++) {
      auto *ins = db->prepare("INSERT INTO t VALUES (?, ?)");
      ins->bind(1, int64_t{i});
      sqlite3_bind_blob(ins->raw(), 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      REQUIRE(ins->step() == SQLITE_DONE);
      ins->reset();
      std::ifstream wal(path + "-wal", std::ios::ate | std::ios::binary);
      biggest = std::max<long>(biggest, static_cast<long>(wal.tellg()));
    }
    INFO("background checkpoints: " << ckpt.checkpoints());
    CHECK(ckpt.checkpoints() > 0);
  }
  // One transaction past the hard limit at most: the writer catches up itself.
  CHECK(biggest <= (hard + 16) * (page + 24) + 32);
  auto *count = db->prepare("SELECT count(*), sum(length(v)) FROM t");
  REQUIRE(count->step() == SQLITE_ROW);
  CHECK(count->int64(0) == 2000);
  CHECK(count->int64(1) == 2000 * 8 * page);
}

TEST_CASE("sqlite: processes that create one file together all get it set up") {
  // SQLite answers some of them SQLITE_BUSY at once (its busy handler is
  // skipped where waiting could deadlock); setup() waits instead.
  int failures = 0;
  for (int round = 0; round < 20; round++) {
    std::string path = temp_path("race.db");
    std::vector<pid_t> kids;
    for (int p = 0; p < 6; p++) {
      pid_t pid = fork();
      if (pid == 0) {
        std::unique_ptr<Db> db;
        int rc = Db::open(path, {}, &db);
        if (rc == 0)
          rc = db->setup(
              "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY); CREATE INDEX IF NOT EXISTS "
              "t_k ON t(k);");
        _exit(rc == 0 ? 0 : 1);
      }
      kids.push_back(pid);
    }
    for (pid_t pid : kids) {
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures++;
    }
  }
  CHECK(failures == 0);
}
