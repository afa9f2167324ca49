// A file exchange with a system that works on files (a batch system reading a drop folder): the
// request goes out as a file, the answer comes back as a file. One protocol over two kinds of
// folder: `dir:` (a local or mounted folder, plain POSIX calls on the loop thread: the files are
// small) and `sftp:` (libcurl's SFTP over libssh2, its transfers driven by the connector's
// CurlMulti, so they run on the loop and share SSH connections).
//
// One call, step by step:
//  1. Restart safety: if the answer is already there, or the request file (still waiting for the
//     other side), or the request or the answer in the archive folder, the request went out
//     before (a redelivered request, say after a crash): it is not written again
//     (`already_sent`), and an archived answer is taken as it is.
//  2. Publish: the body goes to `.<name>.part`, then is renamed to `<name>`: the other side never
//     sees half a file under the real name. It must ignore dot files (the temporary names); the
//     rename never replaces a file that is there.
//  3. Await (unless the answer's name is empty): the folder is looked at every `poll` until the
//     answer is complete, `size_stable` (two looks `stable_for` apart see the same size and
//     modification time) or `marker` (`<answer><marker_suffix>` exists), for the request's
//     `timeout` (else `await_timeout`), never past the request's deadline. On SFTP a look that
//     fails for want of a connection (the server restarting, a dropped connection) is tried again
//     at the next poll: the request is out, the exchange must not be lost to a blip.
//  4. Read the answer (at most `max_file_bytes`), then archive the request (if the other side
//     left it), the answer and its marker into `archive`, or remove them.
// On a timeout the request file stays: the other side may still answer it, and a redelivered
// request then finds it (step 1) and only awaits the answer instead of sending a second one.
#include "systems/files/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/duration.h"
#include "fxconnect/handler.h"
#include "systems/http/curl_multi.h"

namespace fxconnect::systems {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// What a folder operation ran into.
struct Failure {
  enum class Kind {
    missing,     // the file is not there
    connection,  // sftp: no connection, or it broke (worth another try later)
    timeout,     // sftp: the transfer took longer than allowed
    host_key,    // sftp: the server's host key is not the one known_hosts holds
    login,       // sftp: the server refused the user
    refused,     // the operation failed (permissions, a full disk, a name taken, not a file, ...)
    too_large,   // read: more than max_file_bytes
  };
  Kind kind;
  std::string what;
};

struct FileState {
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // dir: nanoseconds; sftp: seconds (what SFTP v3 tells)
  bool operator==(const FileState&) const = default;
};

using StatDone = std::function<void(std::optional<Failure>, FileState)>;
using ReadDone = std::function<void(std::optional<Failure>, std::string)>;
using OpDone = std::function<void(std::optional<Failure>)>;

// What becomes of the files once the answer is read.
struct Tidy {
  std::string archive;  // "" = remove them
  struct File {
    std::string name;
    bool must_exist;  // the request may be gone (the other side consumed it); the answer may not
  };
  std::vector<File> files;
};

// The state of an SFTP transfer a call has in flight (unused by `dir`).
struct Transfer {
  http::EasyPtr easy;
  http::SlistPtr quote, postquote;
  std::string_view out;  // upload: what is left to send
  std::string in;        // download: what arrived
  std::size_t max_in = 0;
  bool too_large = false;
  int key_match = -1;  // the CURLKHMATCH_* of the host key check, when one ran
  std::array<char, CURL_ERROR_SIZE> error{};
};

// The exchange folder: a few asynchronous operations on files named relative to it. Each calls
// its continuation once, on the loop (a `dir` one before it returns), unless cancel() came first.
class Folder {
 public:
  virtual ~Folder() = default;
  Folder() = default;
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  // Size and modification time of a regular file; Failure::missing when there is none.
  virtual void stat(Transfer& t, Clock::time_point limit, const std::string& rel, StatDone done) = 0;
  // `body` to `.<name>.part`, renamed to `name` (never replacing one); `stale` ("" = none) removed
  // first if it is there.
  virtual void publish(Transfer& t, Clock::time_point limit, const std::string& name, std::string_view body,
                       const std::string& stale, OpDone done) = 0;
  virtual void read(Transfer& t, Clock::time_point limit, const std::string& rel, std::size_t max, ReadDone done) = 0;
  virtual void tidy(Transfer& t, Clock::time_point limit, const Tidy& plan, OpDone done) = 0;
  // Stops what `t` has in flight; its continuation is not called.
  virtual void cancel(Transfer& t) = 0;
  // Where a file is, for messages: a path or a URL.
  virtual std::string where(const std::string& rel) const = 0;
};

std::string errno_text(int e) { return std::strerror(e); }  // NOLINT(concurrency-mt-unsafe): loop thread only

// ---- dir -----------------------------------------------------------------------------------

class DirFolder final : public Folder {
 public:
  explicit DirFolder(std::string path) : path_(std::move(path)) {
    while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  }

  std::string where(const std::string& rel) const override { return path_ + "/" + rel; }

  void stat(Transfer&, Clock::time_point, const std::string& rel, StatDone done) override {
    auto path = where(rel);
    struct ::stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      int e = errno;
      auto kind = e == ENOENT || e == ENOTDIR ? Failure::Kind::missing : Failure::Kind::refused;
      return done(Failure{kind, fmt::format("cannot look at {}: {}", path, errno_text(e))}, {});
    }
    if (!S_ISREG(st.st_mode)) return done(Failure{Failure::Kind::refused, path + " is not a regular file"}, {});
    done(std::nullopt, FileState{static_cast<std::uint64_t>(st.st_size),
                                 static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec});
  }

  void publish(Transfer&, Clock::time_point, const std::string& name, std::string_view body, const std::string& stale,
               OpDone done) override {
    if (!stale.empty()) ::unlink(where(stale).c_str());
    auto part = where("." + name + ".part");
    auto final_path = where(name);
    auto failed = [&](const std::string& what, int e) {
      ::unlink(part.c_str());
      done(Failure{e == ENOENT ? Failure::Kind::missing : Failure::Kind::refused,
                   fmt::format("{}: {}", what, errno_text(e))});
    };
    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0644);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    if (fd < 0) return failed("cannot create " + part, errno);
    // No fsync: the loop must not wait for a disk. A crash of the machine (not of the process)
    // right after the rename could leave the file short; the other side then sees a bad request.
    while (!body.empty()) {
      auto n = ::write(fd, body.data(), body.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        return failed("cannot write " + part, e);
      }
      body.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::close(fd) != 0) return failed("cannot write " + part, errno);
    // The rename publishes the file whole, and must not replace one that appeared meanwhile
    // (another delivery of the same request): RENAME_NOREPLACE, else link + unlink where the
    // filesystem has no renameat2; a plain rename only where it has neither.
    if (::renameat2(AT_FDCWD, part.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
      int e = errno;
      if (e != EINVAL && e != ENOSYS && e != ENOTSUP) return failed("cannot rename " + part + " to " + name, e);
      if (::link(part.c_str(), final_path.c_str()) == 0) {
        ::unlink(part.c_str());
      } else if (errno == EEXIST) {
        return failed("cannot rename " + part + " to " + name, EEXIST);
      } else if (::rename(part.c_str(), final_path.c_str()) != 0) {
        return failed("cannot rename " + part + " to " + name, errno);
      }
    }
    done(std::nullopt);
  }

  void read(Transfer&, Clock::time_point, const std::string& rel, std::size_t max, ReadDone done) override {
    auto path = where(rel);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    if (fd < 0) {
      int e = errno;
      return done(Failure{e == ENOENT ? Failure::Kind::missing : Failure::Kind::refused,
                          fmt::format("cannot open {}: {}", path, errno_text(e))},
                  {});
    }
    std::string body;
    std::array<char, 65536> buffer{};
    while (true) {
      auto n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        return done(Failure{Failure::Kind::refused, fmt::format("cannot read {}: {}", path, errno_text(e))}, {});
      }
      if (n == 0) break;
      if (body.size() + static_cast<std::size_t>(n) > max) {
        ::close(fd);
        return done(Failure{Failure::Kind::too_large, fmt::format("{} is larger than max_file_bytes ({})", path, max)},
                    {});
      }
      body.append(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    done(std::nullopt, std::move(body));
  }

  void tidy(Transfer&, Clock::time_point, const Tidy& plan, OpDone done) override {
    if (!plan.archive.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(where(plan.archive), ec);
      if (ec) {
        return done(Failure{Failure::Kind::refused,
                            fmt::format("cannot create the folder {}: {}", where(plan.archive), ec.message())});
      }
    }
    for (const auto& f : plan.files) {
      auto from = where(f.name);
      int rc = plan.archive.empty() ? ::unlink(from.c_str())
                                    : ::rename(from.c_str(), where(plan.archive + "/" + f.name).c_str());
      if (rc != 0 && (errno != ENOENT || f.must_exist)) {
        return done(Failure{
            Failure::Kind::refused,
            fmt::format("cannot {} {}: {}", plan.archive.empty() ? "remove" : "archive", from, errno_text(errno))});
      }
    }
    done(std::nullopt);
  }

  void cancel(Transfer&) override {}

 private:
  std::string path_;
};

// ---- sftp ----------------------------------------------------------------------------------

// A path for an SFTP quote command (libcurl's parser takes double quotes with \" and \\).
std::string quote_path(const std::string& path) {
  std::string out = "\"";
  for (char ch : path) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

bool readable(const std::string& path, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (fd < 0) {
    why = errno_text(errno);
    return false;
  }
  struct ::stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) why = "not a regular file";
  return regular;
}

class SftpFolder final : public Folder {
 public:
  SftpFolder(http::CurlMulti& curl, const config::FileSystemConfig& config) : curl_(curl), config_(config) {
    auto key = [&](std::string_view k) { return fmt::format("systems.{}.sftp.{}", config_.name, k); };
    std::string why;
    if (!readable(config_.known_hosts, why)) {
      throw ConfigError(fmt::format("{}: '{}' cannot be read ({}); the server's host key is always checked",
                                    key("known_hosts"), config_.known_hosts, why));
    }
    if (!config_.key_file.empty()) {
      if (!readable(config_.key_file, why)) {
        throw ConfigError(fmt::format("{}: '{}' cannot be read ({})", key("key_file"), config_.key_file, why));
      }
      std::string pub_why;
      if (readable(config_.key_file + ".pub", pub_why)) public_key_ = config_.key_file + ".pub";
    }
    // The folder: URLs take the path as written (percent-encoded), quote commands decoded.
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
    char* path = nullptr;
    if (!url || curl_url_set(url.get(), CURLUPART_URL, config_.url.c_str(), 0) != CURLUE_OK ||
        curl_url_get(url.get(), CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK) {
      throw ConfigError(fmt::format("{}: '{}' is not an SFTP URL", key("url"), config_.url));
    }
    remote_dir_ = path;
    curl_free(path);
    while (!remote_dir_.empty() && remote_dir_.back() == '/') remote_dir_.pop_back();
    url_dir_ = config_.url;
    while (!url_dir_.empty() && url_dir_.back() == '/') url_dir_.pop_back();
  }

  std::string where(const std::string& rel) const override { return url_dir_ + "/" + rel; }

  void stat(Transfer& t, Clock::time_point limit, const std::string& rel, StatDone done) override {
    CURL* e = begin(t, limit, where(rel));
    // NOBODY on a file: libcurl opens and stats it, transfers nothing.
    http::set(e, CURLOPT_NOBODY, 1L);
    http::set(e, CURLOPT_FILETIME, 1L);
    run(t, "looking at " + rel, [done = std::move(done)](std::optional<Failure> f, CURL* easy) {
      if (f) return done(std::move(f), {});
      curl_off_t size = -1;
      curl_off_t mtime = -1;
      curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
      curl_easy_getinfo(easy, CURLINFO_FILETIME_T, &mtime);
      // libcurl reports no length (-1) for an empty file.
      done(std::nullopt, FileState{static_cast<std::uint64_t>(std::max<curl_off_t>(size, 0)), mtime});
    });
  }

  void publish(Transfer& t, Clock::time_point limit, const std::string& name, std::string_view body,
               const std::string& stale, OpDone done) override {
    std::string part = "." + name + ".part";
    CURL* e = begin(t, limit, where(part));
    t.out = body;
    http::set(e, CURLOPT_UPLOAD, 1L);
    http::set(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    http::set(e, CURLOPT_READDATA, &t);
    http::set(
        e, CURLOPT_READFUNCTION, +[](char* buffer, std::size_t size, std::size_t n, void* data) -> std::size_t {
          auto* tr = static_cast<Transfer*>(data);
          std::size_t k = std::min(size * n, tr->out.size());
          std::memcpy(buffer, tr->out.data(), k);
          tr->out.remove_prefix(k);
          return k;
        });
    if (!stale.empty()) {
      t.quote.reset(curl_slist_append(nullptr, ("*rm " + quote_path(path(stale))).c_str()));
      http::set(e, CURLOPT_QUOTE, t.quote.get());
    }
    // SFTP's rename (version 3, OpenSSH's server) never replaces an existing file.
    t.postquote.reset(
        curl_slist_append(nullptr, ("rename " + quote_path(path(part)) + " " + quote_path(path(name))).c_str()));
    http::set(e, CURLOPT_POSTQUOTE, t.postquote.get());
    run(t, "writing " + name, [done = std::move(done)](std::optional<Failure> f, CURL*) { done(std::move(f)); });
  }

  void read(Transfer& t, Clock::time_point limit, const std::string& rel, std::size_t max, ReadDone done) override {
    CURL* e = begin(t, limit, where(rel));
    t.max_in = max;
    http::set(e, CURLOPT_WRITEDATA, &t);
    http::set(
        e, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* user) -> std::size_t {
          auto* tr = static_cast<Transfer*>(user);
          if (tr->in.size() + size * n > tr->max_in) {
            tr->too_large = true;
            return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
          }
          tr->in.append(data, size * n);
          return size * n;
        });
    run(t, "reading " + rel, [&t, done = std::move(done)](std::optional<Failure> f, CURL*) {
      if (f) return done(std::move(f), {});
      done(std::nullopt, std::move(t.in));
    });
  }

  void tidy(Transfer& t, Clock::time_point limit, const Tidy& plan, OpDone done) override {
    // The folder itself (a directory URL) with NOBODY: no listing, only the quote commands. A
    // command with '*' may fail without failing the transfer.
    CURL* e = begin(t, limit, url_dir_ + "/");
    http::set(e, CURLOPT_NOBODY, 1L);
    curl_slist* list = nullptr;
    if (!plan.archive.empty()) {
      std::string sub;
      for (std::size_t at = 0; at != std::string::npos;) {
        auto slash = plan.archive.find('/', at);
        sub = plan.archive.substr(0, slash);
        list = curl_slist_append(list, ("*mkdir " + quote_path(path(sub))).c_str());
        at = slash == std::string::npos ? slash : slash + 1;
      }
    }
    for (const auto& f : plan.files) {
      std::string star = f.must_exist ? "" : "*";
      if (plan.archive.empty()) {
        list = curl_slist_append(list, (star + "rm " + quote_path(path(f.name))).c_str());
      } else {
        auto to = path(plan.archive + "/" + f.name);
        list = curl_slist_append(list, ("*rm " + quote_path(to)).c_str());  // an older one of the same name
        list = curl_slist_append(list, (star + "rename " + quote_path(path(f.name)) + " " + quote_path(to)).c_str());
      }
    }
    t.quote.reset(list);
    http::set(e, CURLOPT_QUOTE, list);
    run(t, plan.archive.empty() ? "removing the files" : "archiving the files",
        [done = std::move(done)](std::optional<Failure> f, CURL*) { done(std::move(f)); });
  }

  void cancel(Transfer& t) override {
    if (!t.easy) return;
    curl_.cancel(t.easy.get());
    curl_.release(std::move(t.easy));
  }

 private:
  // The path on the server of a file in the folder.
  std::string path(const std::string& rel) const { return remote_dir_ + "/" + rel; }

  static int on_host_key(CURL*, const curl_khkey*, const curl_khkey*, curl_khmatch match, void* data) {
    static_cast<Transfer*>(data)->key_match = match;
    return match == CURLKHMATCH_OK ? CURLKHSTAT_FINE : CURLKHSTAT_REJECT;
  }

  // A transfer with the connection's settings: who logs in and how, the host key check, timeouts
  // (the system's per transfer, never past `limit`).
  CURL* begin(Transfer& t, Clock::time_point limit, const std::string& url) {
    t.easy = curl_.acquire();
    t.quote.reset();
    t.postquote.reset();
    t.out = {};
    t.in.clear();
    t.too_large = false;
    t.key_match = -1;
    t.error[0] = '\0';
    CURL* e = t.easy.get();
    auto left = std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(limit - Clock::now()));
    http::set(e, CURLOPT_URL, url.c_str());
    http::set(e, CURLOPT_PROTOCOLS_STR, "sftp");
    http::set(e, CURLOPT_NOSIGNAL, 1L);
    http::set(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::min(config_.timeout, left).count()));
    http::set(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(config_.connect_timeout, left).count()));
    http::set(e, CURLOPT_USERNAME, config_.user.c_str());
    long auth = 0;
    if (!config_.key_file.empty()) {
      auth |= CURLSSH_AUTH_PUBLICKEY;
      http::set(e, CURLOPT_SSH_PRIVATE_KEYFILE, config_.key_file.c_str());
      // "": libssh2 derives the public key from the private one (libcurl would otherwise look
      // in ~/.ssh).
      http::set(e, CURLOPT_SSH_PUBLIC_KEYFILE, public_key_.c_str());
    }
    if (!config_.password.empty()) {
      auth |= CURLSSH_AUTH_PASSWORD | CURLSSH_AUTH_KEYBOARD;
      http::set(e, CURLOPT_PASSWORD, config_.password.c_str());
    }
    http::set(e, CURLOPT_SSH_AUTH_TYPES, auth);  // never an agent of whoever runs the connector
    http::set(e, CURLOPT_SSH_KNOWNHOSTS, config_.known_hosts.c_str());
    http::set(e, CURLOPT_SSH_KEYFUNCTION, &SftpFolder::on_host_key);
    http::set(e, CURLOPT_SSH_KEYDATA, &t);
    http::set(e, CURLOPT_ERRORBUFFER, t.error.data());
    http::set(
        e, CURLOPT_WRITEFUNCTION,
        +[](char*, std::size_t size, std::size_t n, void*) -> std::size_t { return size * n; });
    return e;
  }

  // Starts the transfer; `then` gets the failure (if any) and the handle (for its information),
  // which goes back to the pool afterwards.
  void run(Transfer& t, std::string doing, std::function<void(std::optional<Failure>, CURL*)> then) {
    curl_.start(t.easy.get(), [this, &t, doing = std::move(doing), then = std::move(then)](CURLcode rc) {
      auto easy = std::move(t.easy);
      std::optional<Failure> f;
      if (rc != CURLE_OK) f = failure(t, rc, doing);
      then(std::move(f), easy.get());
      curl_.release(std::move(easy));
    });
  }

  Failure failure(const Transfer& t, CURLcode rc, const std::string& doing) const {
    std::string detail = t.error[0] ? std::string(t.error.data()) : std::string(curl_easy_strerror(rc));
    auto at = [&](const std::string& what) { return fmt::format("{} ({}): {}", doing, url_dir_, what); };
    switch (rc) {
      case CURLE_REMOTE_FILE_NOT_FOUND: return {Failure::Kind::missing, at(detail)};
      case CURLE_PEER_FAILED_VERIFICATION:
        return {Failure::Kind::host_key,
                at(t.key_match == CURLKHMATCH_MISMATCH
                       ? fmt::format("the server's host key has CHANGED: it differs from the one in {} (refused; "
                                     "if the server's key was really replaced, update that file)",
                                     config_.known_hosts)
                       : fmt::format("the server's host key is unknown: {} has no key for it (refused)",
                                     config_.known_hosts))};
      case CURLE_LOGIN_DENIED:
        return {Failure::Kind::login,
                at(fmt::format("the server refused user '{}': {} (note: libssh2 1.10 signs with RSA keys only as "
                               "ssh-rsa/SHA-1, which OpenSSH 8.8+ refuses; use an ed25519 or ECDSA key)",
                               config_.user, detail))};
      case CURLE_OPERATION_TIMEDOUT: return {Failure::Kind::timeout, at(detail)};
      case CURLE_WRITE_ERROR:
        if (t.too_large) {
          return {Failure::Kind::too_large, at(fmt::format("larger than max_file_bytes ({})", t.max_in))};
        }
        return {Failure::Kind::refused, at(detail)};
      // No connection, or it broke: the server restarting, a dropped session, a network blip.
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_SSH:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_AGAIN:
      case CURLE_PARTIAL_FILE:
      case CURLE_FAILED_INIT: return {Failure::Kind::connection, at(detail)};
      default: return {Failure::Kind::refused, at(detail)};  // permissions, a full disk, a name taken, ...
    }
  }

  http::CurlMulti& curl_;
  const config::FileSystemConfig& config_;
  std::string public_key_;  // "<key_file>.pub" when it exists, else ""
  std::string url_dir_;     // the folder's URL, without a trailing '/'
  std::string remote_dir_;  // the folder's path on the server (decoded), without a trailing '/'
};

// ---- names ---------------------------------------------------------------------------------

// A file name the exchange may use: letters, digits, '.', '_', '-', not starting with '.' (dot
// files are the temporary names the other side ignores).
bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > 255 || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
           ch == '-';
  });
}

// The archive folder made canonical ("done/" → "done"), or why it cannot be one.
std::optional<std::string> archive_folder(const std::string& archive, std::string& why) {
  if (archive.front() == '/') {
    why = "is absolute; it must be a folder under the system's";
    return std::nullopt;
  }
  std::string out;
  std::size_t at = 0;
  while (at <= archive.size()) {
    auto slash = archive.find('/', at);
    auto part = archive.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
    if (part == "..") {
      why = "leaves the system's folder ('..')";
      return std::nullopt;
    }
    if (!part.empty() && !plain_name(part)) {
      why = "has a part that is not a plain folder name (letters, digits, '.', '_', '-', not starting with '.')";
      return std::nullopt;
    }
    if (!part.empty()) out += (out.empty() ? "" : "/") + part;
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  if (out.empty()) why = "names no folder";
  return out.empty() ? std::nullopt : std::optional<std::string>(out);
}

}  // namespace

// ---- the exchange --------------------------------------------------------------------------

class FileSystem::Impl {
 public:
  struct Call {
    Call(asio::io_context& io, std::uint64_t id_, CallContext ctx, FileExchangeRequest r, Done d)
        : id(id_), context(std::move(ctx)), request(std::move(r)), done(std::move(d)), limit(io), poll(io) {}
    std::uint64_t id;
    CallContext context;
    FileExchangeRequest request;
    Done done;
    asio::steady_timer limit;  // the deadline, or while awaiting the end of the wait for the answer
    asio::steady_timer poll;   // the next look at the folder
    Clock::time_point started = Clock::now();
    enum class Phase { checking, writing, awaiting, reading, tidying } phase = Phase::checking;
    std::string archive;  // canonical, "" = none
    std::string marker;   // complete: marker: the marker's name
    bool already_sent = false;
    Clock::time_point await_start{}, await_until{};
    std::optional<FileState> seen;  // size_stable: what the looks have seen unchanged ...
    Clock::time_point seen_at{};    // ... since the end of this look
    Clock::time_point look_started{};
    std::optional<std::string> trouble;  // sftp: why the last look failed (retried at the next poll)
    std::int64_t looks = 0;
    std::string body;
    bool finished = false;
    Transfer transfer;
    observability::ActiveSpan span;
  };
  using CallPtr = std::shared_ptr<Call>;

  Impl(asio::io_context& io_, http::CurlMulti& curl, config::FileSystemConfig c,
       std::shared_ptr<observability::LegacyMetrics> m)
      : io(io_), config(std::move(c)), metrics(std::move(m)) {
    if (config.kind == config::FileSystemConfig::Kind::dir) {
      std::error_code ec;
      if (!std::filesystem::is_directory(config.path, ec)) {
        throw ConfigError(
            fmt::format("systems.{}.dir.path: '{}' is not a folder that exists", config.name, config.path));
      }
      folder = std::make_unique<DirFolder>(config.path);
    } else {
      folder = std::make_unique<SftpFolder>(curl, config);
    }
    bool marker = config.complete == config::FileSystemConfig::Complete::marker;
    if ((marker && config.marker_suffix.empty()) ||
        (!config.marker_suffix.empty() && !plain_name("x" + config.marker_suffix))) {
      throw ConfigError(fmt::format("systems.{}.{}.marker_suffix: '{}' cannot end a file name", config.name,
                                    config.kind == config::FileSystemConfig::Kind::dir ? "dir" : "sftp",
                                    config.marker_suffix));
    }
  }

  ~Impl() {
    for (auto& [id, c] : running) {
      c->finished = true;  // their handlers, should any still run, return at once
      try {
        folder->cancel(c->transfer);
        c->limit.cancel();
        c->poll.cancel();
      } catch (...) {  // only when memory runs out; a destructor must not throw
      }
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void call(const CallContext& context, FileExchangeRequest request, Done done) {
    auto c = std::make_shared<Call>(io, next_id++, context, std::move(request), std::move(done));
    if (c->context.tracer && c->context.parent.valid()) {
      c->span = observability::ActiveSpan(
          c->context.tracer,
          c->context.tracer->start_child("FILE " + config.name, observability::SpanKind::client, c->context.parent));
      c->span.set("fx.legacy.system", config.name);
      c->span.set("fx.file.request", c->request.name);
      if (!c->request.answer.empty()) c->span.set("fx.file.answer", c->request.answer);
    }
    running[c->id] = c;
    metrics->in_flight = running.size();
    asio::post(io, [this, c] { start(c); });  // `done` never runs inside call()
  }

  // The answer's name, the request's, the archive: checked before any file is touched.
  std::optional<std::string> invalid(Call& c) const {
    const auto& r = c.request;
    if (!plain_name(r.name)) {
      return fmt::format(
          "the request file's name '{}' is not a plain file name (letters, digits, '.', '_', '-', "
          "not starting with '.')",
          r.name);
    }
    if (!r.answer.empty() && !plain_name(r.answer)) {
      return fmt::format(
          "the answer file's name '{}' is not a plain file name (letters, digits, '.', '_', '-', "
          "not starting with '.')",
          r.answer);
    }
    if (r.answer == r.name) return fmt::format("the answer file's name is the request's ('{}')", r.name);
    if (!r.answer.empty() && config.complete == config::FileSystemConfig::Complete::marker) {
      c.marker = r.answer + config.marker_suffix;
      if (c.marker == r.name) return fmt::format("the answer's marker file is the request file ('{}')", r.name);
    }
    if (!r.archive.empty()) {
      std::string why;
      auto a = archive_folder(r.archive, why);
      if (!a) return fmt::format("the archive folder '{}' {}", r.archive, why);
      c.archive = *a;
    }
    return std::nullopt;
  }

  void start(const CallPtr& c) {
    if (c->finished) return;
    if (auto why = invalid(*c)) {
      return finish(c, Error{ErrorCode::internal, fmt::format("{}: {}", config.name, *why), false, std::nullopt});
    }
    c->limit.expires_at(c->context.deadline);
    c->limit.async_wait([this, c](boost::system::error_code ec) {
      if (!ec && !c->finished) on_limit(c);
    });
    if (Clock::now() >= c->context.deadline) return on_limit(c);
    look_for_answer(c);
  }

  // Restart safety, 1: the answer is there already.
  void look_for_answer(const CallPtr& c) {
    if (c->request.answer.empty()) return look_for_request(c);
    stat(c, c->request.answer, [this, c](std::optional<Failure> f, FileState) {
      if (!f) return sent_before(c, "its answer is there");
      if (f->kind != Failure::Kind::missing) return failed(c, *f);
      look_for_request(c);
    });
  }

  // 2: the request file is there, not taken yet by the other side.
  void look_for_request(const CallPtr& c) {
    stat(c, c->request.name, [this, c](std::optional<Failure> f, FileState) {
      if (!f) return sent_before(c, "the request file is there");
      if (f->kind != Failure::Kind::missing) return failed(c, *f);
      look_in_archive(c);
    });
  }

  // 3: the answer in the archive (taken as it is), or the request.
  void look_in_archive(const CallPtr& c) {
    if (c->archive.empty()) return publish(c);
    auto request = [this, c] {
      stat(c, c->archive + "/" + c->request.name, [this, c](std::optional<Failure> f, FileState) {
        if (!f) return sent_before(c, "the request file is in the archive");
        if (f->kind != Failure::Kind::missing) return failed(c, *f);
        publish(c);
      });
    };
    if (c->request.answer.empty()) return request();
    stat(c, c->archive + "/" + c->request.answer, [this, c, request](std::optional<Failure> f, FileState) {
      if (f && f->kind != Failure::Kind::missing) return failed(c, *f);
      if (f) return request();
      c->already_sent = true;
      spdlog::info("{}: {} was answered before (the answer is in {}): taking that answer", config.name, c->request.name,
                   c->archive);
      folder->read(c->transfer, c->limit.expiry(), c->archive + "/" + c->request.answer, config.max_file_bytes,
                   [this, c](std::optional<Failure> f, std::string body) {
                     if (c->finished) return;
                     if (f) return failed(c, *f);
                     c->body = std::move(body);
                     succeed(c);
                   });
    });
  }

  void sent_before(const CallPtr& c, const char* sign) {
    c->already_sent = true;
    spdlog::info("{}: {} was sent before ({}): not writing it again", config.name, c->request.name, sign);
    if (c->request.answer.empty()) return succeed(c);
    await(c);
  }

  void publish(const CallPtr& c) {
    c->phase = Call::Phase::writing;
    // A marker without its answer is left from an earlier exchange of this name: it must not
    // announce the new answer before that is written.
    folder->publish(c->transfer, c->limit.expiry(), c->request.name, c->request.body, c->marker,
                    [this, c](std::optional<Failure> f) {
                      if (c->finished) return;
                      if (f) return failed(c, *f);
                      if (c->request.answer.empty()) return succeed(c);
                      await(c);
                    });
  }

  void await(const CallPtr& c) {
    c->phase = Call::Phase::awaiting;
    c->await_start = Clock::now();
    auto wait = c->request.timeout > milliseconds(0) ? c->request.timeout : config.await_timeout;
    c->await_until = std::min(c->context.deadline, c->await_start + wait);
    rearm(c, c->await_until);
    look(c);
  }

  void rearm(const CallPtr& c, Clock::time_point at) {
    c->limit.expires_at(at);  // the pending wait ends with operation_aborted
    c->limit.async_wait([this, c](boost::system::error_code ec) {
      if (!ec && !c->finished) on_limit(c);
    });
  }

  // One look at the folder for the answer.
  void look(const CallPtr& c) {
    bool marker = !c->marker.empty();
    stat(c, marker ? c->marker : c->request.answer, [this, c, marker](std::optional<Failure> f, FileState state) {
      if (f) {
        if (f->kind == Failure::Kind::missing) {
          c->trouble.reset();
          c->seen.reset();
          return next_look(c, config.poll);
        }
        return look_failed(c, *f);
      }
      if (c->trouble) {
        spdlog::info("{}: the folder can be reached again; still awaiting {}", config.name, c->request.answer);
        c->trouble.reset();
      }
      if (marker) return read_answer(c);
      if (state.size > config.max_file_bytes) {
        return finish(c, Error{ErrorCode::legacy_failed,
                               fmt::format("{}: the answer {} has {} bytes, more than max_file_bytes ({})", config.name,
                                           folder->where(c->request.answer), state.size, config.max_file_bytes),
                               false, std::nullopt});
      }
      auto now = Clock::now();
      // Complete when unchanged between the end of one look and the start of another at least
      // stable_for later.
      if (c->seen && *c->seen == state && c->look_started - c->seen_at >= config.stable_for) return read_answer(c);
      if (!c->seen || !(*c->seen == state)) {
        c->seen = state;
        c->seen_at = now;
      }
      auto due = c->seen_at + config.stable_for - now + milliseconds(1);
      next_look(c, std::clamp(std::chrono::duration_cast<milliseconds>(due), milliseconds(1), config.poll));
    });
  }

  void next_look(const CallPtr& c, milliseconds after) {
    c->poll.expires_after(after);
    c->poll.async_wait([this, c](boost::system::error_code ec) {
      if (!ec && !c->finished) look(c);
    });
  }

  // A look failed: SFTP trouble with the connection is tried again at the next poll (until the
  // wait ends); anything else ends the call.
  void look_failed(const CallPtr& c, const Failure& f) {
    bool passing = config.kind == config::FileSystemConfig::Kind::sftp &&
                   (f.kind == Failure::Kind::connection || f.kind == Failure::Kind::timeout);
    if (!passing) return failed(c, f);
    if (!c->trouble) {
      spdlog::warn("{}: {}; trying again every {} while awaiting {}", config.name, f.what,
                   core::format_duration(config.poll), c->request.answer);
    }
    c->trouble = f.what;
    c->phase = Call::Phase::awaiting;
    next_look(c, config.poll);
  }

  void read_answer(const CallPtr& c) {
    c->phase = Call::Phase::reading;
    folder->read(c->transfer, c->limit.expiry(), c->request.answer, config.max_file_bytes,
                 [this, c](std::optional<Failure> f, std::string body) {
                   if (c->finished) return;
                   if (f && f->kind == Failure::Kind::missing) {  // gone meanwhile: look again
                     c->phase = Call::Phase::awaiting;
                     c->seen.reset();
                     return next_look(c, config.poll);
                   }
                   if (f) return look_failed(c, *f);
                   if (c->marker.empty() && (!c->seen || body.size() != c->seen->size)) {
                     c->phase = Call::Phase::awaiting;  // written to again after all: not complete yet
                     c->seen.reset();
                     return next_look(c, config.poll);
                   }
                   c->body = std::move(body);
                   c->phase = Call::Phase::tidying;
                   rearm(c, c->context.deadline);  // the answer is in: only the deadline bounds the rest
                   tidy(c);
                 });
  }

  void tidy(const CallPtr& c) {
    Tidy plan{c->archive, {{c->request.name, false}, {c->request.answer, true}}};
    if (!c->marker.empty()) plan.files.push_back({c->marker, true});
    folder->tidy(c->transfer, c->limit.expiry(), plan, [this, c](std::optional<Failure> f) {
      if (c->finished) return;
      // The answer is in hand: files left behind are the operators' concern, not the request's
      // (a redelivered request would find the answer and take it again).
      if (f) spdlog::warn("{}: the answer {} was read, but {}", config.name, c->request.answer, f->what);
      succeed(c);
    });
  }

  void stat(const CallPtr& c, const std::string& rel, StatDone then) {
    c->look_started = Clock::now();
    ++c->looks;
    folder->stat(c->transfer, c->limit.expiry(), rel,
                 [c, then = std::move(then)](std::optional<Failure> f, FileState s) {
                   if (c->finished) return;
                   then(std::move(f), s);
                 });
  }

  // The request's deadline, or the end of the wait for the answer.
  void on_limit(const CallPtr& c) {
    folder->cancel(c->transfer);
    auto now = Clock::now();
    const auto& r = c->request;
    bool deadline = c->phase != Call::Phase::awaiting || c->await_until >= c->context.deadline;
    auto bound =
        deadline ? std::string("the request's deadline")
                 : fmt::format("await timeout {}",
                               core::format_duration(r.timeout > milliseconds(0) ? r.timeout : config.await_timeout));
    switch (c->phase) {
      case Call::Phase::checking:
        return finish(c, Error{ErrorCode::legacy_timeout,
                               fmt::format("{}: looking for an earlier {} in {} did not finish before the request's "
                                           "deadline",
                                           config.name, r.name, folder->where("")),
                               true, std::nullopt});
      case Call::Phase::writing:
        return finish(c, Error{ErrorCode::legacy_timeout,
                               fmt::format("{}: writing {} did not finish before the request's deadline", config.name,
                                           folder->where(r.name)),
                               true, std::nullopt});
      case Call::Phase::awaiting:
      case Call::Phase::reading: {
        auto waited = core::format_duration(std::chrono::duration_cast<milliseconds>(now - c->await_start));
        auto stays = fmt::format("the request file {} stays for the other side", r.name);
        if (c->trouble) {
          return finish(c, Error{ErrorCode::legacy_unavailable,
                                 fmt::format("{}: no answer {} after {} ({}): the folder could not be reached at the "
                                             "end ({}); {}",
                                             config.name, folder->where(r.answer), waited, bound, *c->trouble, stays),
                                 true, std::nullopt});
        }
        return finish(c, Error{ErrorCode::legacy_timeout,
                               fmt::format("{}: no {}answer {} after {} ({}); {}", config.name,
                                           c->phase == Call::Phase::reading ? "complete " : "", folder->where(r.answer),
                                           waited, bound, stays),
                               true, std::nullopt});
      }
      case Call::Phase::tidying:
        return finish(
            c, Error{ErrorCode::legacy_timeout,
                     fmt::format("{}: the answer {} was read, but {} it did not finish before the request's "
                                 "deadline",
                                 config.name, folder->where(r.answer), c->archive.empty() ? "removing" : "archiving"),
                     true, std::nullopt});
    }
  }

  // A folder operation failed for good.
  void failed(const CallPtr& c, const Failure& f) {
    auto message = fmt::format("{}: {}", config.name, f.what);
    switch (f.kind) {
      case Failure::Kind::connection:
        return finish(c, Error{ErrorCode::legacy_unavailable, message, true, std::nullopt});
      case Failure::Kind::timeout: return finish(c, Error{ErrorCode::legacy_timeout, message, true, std::nullopt});
      case Failure::Kind::host_key:
      case Failure::Kind::login: return finish(c, Error{ErrorCode::legacy_unavailable, message, false, std::nullopt});
      case Failure::Kind::missing:
      case Failure::Kind::refused:
      case Failure::Kind::too_large: return finish(c, Error{ErrorCode::legacy_failed, message, false, std::nullopt});
    }
  }

  void succeed(const CallPtr& c) {
    FileExchangeResponse response;
    if (!c->request.answer.empty()) response.name = c->request.answer;
    response.body = std::move(c->body);
    response.already_sent = c->already_sent;
    finish(c, std::move(response));
  }

  void finish(const CallPtr& c, Result<FileExchangeResponse> result) {
    if (c->finished) return;
    c->finished = true;
    folder->cancel(c->transfer);
    c->limit.cancel();
    c->poll.cancel();
    if (c->span.open()) {
      c->span.set("fx.file.already_sent", c->already_sent);
      c->span.set("fx.file.looks", c->looks);
      if (!result) c->span.fail(result.error().message);
      c->span.end();
    }
    running.erase(c->id);
    metrics->in_flight = running.size();
    metrics->seconds.observe(std::chrono::duration<double>(Clock::now() - c->started).count());
    if (result) {
      ++metrics->calls[observability::LegacyMetrics::ok];
    } else {
      switch (result.error().code) {
        case ErrorCode::legacy_timeout: ++metrics->calls[observability::LegacyMetrics::timeout]; break;
        case ErrorCode::legacy_unavailable: ++metrics->calls[observability::LegacyMetrics::unavailable]; break;
        default: ++metrics->calls[observability::LegacyMetrics::failed]; break;
      }
    }
    auto done = std::move(c->done);
    done(std::move(result));
  }

  asio::io_context& io;
  config::FileSystemConfig config;
  std::shared_ptr<observability::LegacyMetrics> metrics;
  std::unique_ptr<Folder> folder;
  std::unordered_map<std::uint64_t, CallPtr> running;
  std::uint64_t next_id = 1;
};

FileSystem::FileSystem(asio::io_context& io, http::CurlMulti& curl, config::FileSystemConfig config,
                       std::shared_ptr<observability::LegacyMetrics> metrics)
    : impl_(std::make_unique<Impl>(io, curl, std::move(config), std::move(metrics))) {}

FileSystem::~FileSystem() = default;

const config::FileSystemConfig& FileSystem::config() const { return impl_->config; }

void FileSystem::call(const CallContext& context, FileExchangeRequest request, Done done) {
  impl_->call(context, std::move(request), std::move(done));
}

}  // namespace fxconnect::systems
