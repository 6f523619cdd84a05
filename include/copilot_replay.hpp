// copilot_replay.hpp: copilot-replay, the offline model server, for C++ tests.
//
// Header-only C++17 for POSIX, independent of copilot.h. A ReplayServer starts
// `copilot-replay --print-url --exit-on-stdin-eof --requests LOG CONVERSATION...`
// (see `copilot-replay --help`), reads its one URL line, and shows the test what
// the model was sent; its destructor stops the server and reaps it.
//
//     copilot::testing::ReplayServer replay({"tests/conversations/weather_tool.yaml"});
//     std::string provider = R"({"type":"openai","baseUrl":")" + replay.url() +
//                            R"(","apiKey":"offline","wireApi":"completions"})";
//     ... run the session ...
//     for (const std::string& json : replay.requests()) { ... }  // {"method","path","body"}
//
// No process outlives its test: the server's stdin is a pipe from this process,
// so it exits when the destructor closes the pipe, and also when this process
// dies in any way (abort, a signal, std::exit skipping destructors). The pipes
// are close-on-exec, so other children (the Copilot CLI) do not hold them open.
//
// The binary is ReplayOptions::binary, else $COPILOT_REPLAY_PATH, else
// copilot-replay on $PATH. Errors starting it throw std::runtime_error, with the
// server's stderr (which also explains a request that matches no conversation:
// see stderr_text()).
#ifndef COPILOT_REPLAY_HPP
#define COPILOT_REPLAY_HPP

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" char** environ;

namespace copilot {
namespace testing {

/// Options of ReplayServer.
struct ReplayOptions {
    /// The copilot-replay executable; empty: $COPILOT_REPLAY_PATH, else
    /// copilot-replay on $PATH.
    std::string binary;
    /// The directory `${workdir}` stands for in the conversations (--workdir).
    std::string workdir;
    /// How long to wait for the server's URL line.
    std::chrono::milliseconds start_timeout{30000};
};

/// One running copilot-replay (move-only). Not thread-safe itself, except that
/// requests() and stderr_text() may be called from any thread while it runs.
class ReplayServer {
public:
    /// What `copilot-replay --print-url` prints before the URL.
    static constexpr const char* url_variable = "COPILOT_REPLAY_URL";

    /// Serves the conversations (YAML files, or directories searched for
    /// *.yaml). Throws std::runtime_error if the server does not start.
    explicit ReplayServer(const std::vector<std::string>& conversations, ReplayOptions options = {}) {
        make_dir();
        try {
            spawn(conversations, options);
            read_url(options.start_timeout);
        } catch (...) {
            stop();
            throw;
        }
    }

    ReplayServer(const ReplayServer&) = delete;
    ReplayServer& operator=(const ReplayServer&) = delete;
    ReplayServer(ReplayServer&& other) noexcept { take(other); }
    ReplayServer& operator=(ReplayServer&& other) noexcept {
        if (this != &other) {
            stop();
            take(other);
        }
        return *this;
    }

    /// Stops the server (as stop()).
    ~ReplayServer() { stop(); }

    /// The provider base URL, http://127.0.0.1:PORT/v1.
    const std::string& url() const { return url_; }

    /// url() without /v1: the Copilot API stand-in (COPILOT_API_URL and
    /// COPILOT_DEBUG_GITHUB_API_URL for signed-in sessions).
    std::string root_url() const {
        const std::string suffix = "/v1";
        return url_.size() >= suffix.size() && url_.compare(url_.size() - suffix.size(), suffix.size(), suffix) == 0
                   ? url_.substr(0, url_.size() - suffix.size())
                   : url_;
    }

    /// The JSON Lines request log.
    const std::string& request_log() const { return log_; }

    /// The server's process id (0 once stopped).
    pid_t pid() const { return pid_; }

    /// The chat-completions requests received so far, oldest first, as JSON
    /// text, one object each: {"method":"POST","path":"/v1/chat/completions",
    /// "body":{...}} with the body as sent (compact, keys in their order).
    std::vector<std::string> requests() const {
        std::string text = read_file(log_);
        std::vector<std::string> out;
        std::size_t start = 0;
        for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
            if (end > start) out.push_back(text.substr(start, end - start));
        }
        return out;  // a line still being written is left for the next call
    }

    /// What the server wrote to stderr so far.
    std::string stderr_text() const { return read_file(err_); }

    /// Stops the server: closes its stdin (it exits at once), kills it if it
    /// has not exited within 5 s, reaps it, and removes the request log.
    /// Idempotent; the destructor calls it.
    void stop() noexcept {
        close_fd(stdin_);
        if (pid_ > 0) {
            reap(std::chrono::seconds(5));
            pid_ = 0;
        }
        close_fd(stdout_);
        if (!dir_.empty()) {
            ::unlink(log_.c_str());
            ::unlink(err_.c_str());
            ::rmdir(dir_.c_str());
            dir_.clear();
        }
    }

private:
    pid_t pid_ = 0;
    int stdin_ = -1;   // write end of the server's stdin
    int stdout_ = -1;  // read end of the server's stdout
    std::string dir_, log_, err_, url_;

    void take(ReplayServer& o) noexcept {
        pid_ = std::exchange(o.pid_, 0);
        stdin_ = std::exchange(o.stdin_, -1);
        stdout_ = std::exchange(o.stdout_, -1);
        dir_ = std::move(o.dir_);
        log_ = std::move(o.log_);
        err_ = std::move(o.err_);
        url_ = std::move(o.url_);
        o.dir_.clear();
    }

    static void close_fd(int& fd) noexcept {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }

    [[noreturn]] static void fail(const std::string& what) {
        throw std::runtime_error("copilot-replay: " + what + ": " + std::strerror(errno));
    }

    static std::string read_file(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }

    void make_dir() {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/copilot-replay-XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (!::mkdtemp(buf.data())) fail("cannot create a directory from " + templ);
        dir_ = buf.data();
        log_ = dir_ + "/requests.jsonl";
        err_ = dir_ + "/stderr.log";
    }

    void spawn(const std::vector<std::string>& conversations, const ReplayOptions& options) {
        std::string binary = options.binary;
        if (binary.empty()) {
            const char* env = std::getenv("COPILOT_REPLAY_PATH");
            binary = env && *env ? env : "copilot-replay";
        }
        std::vector<std::string> args = {binary, "--print-url", "--exit-on-stdin-eof", "--requests", log_};
        if (!options.workdir.empty()) {
            args.push_back("--workdir");
            args.push_back(options.workdir);
        }
        args.push_back("--");
        args.insert(args.end(), conversations.begin(), conversations.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(&a[0]);
        argv.push_back(nullptr);

        int in[2], out[2];
        if (!cloexec_pipe(in)) fail("pipe");
        if (!cloexec_pipe(out)) {
            ::close(in[0]);
            ::close(in[1]);
            fail("pipe");
        }
        stdin_ = in[1];
        stdout_ = out[0];
        int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        // dup2 clears close-on-exec on the copies the server gets as 0, 1, 2.
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        if (err >= 0) posix_spawn_file_actions_adddup2(&actions, err, 2);
        int rc = ::posix_spawnp(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(in[0]);
        ::close(out[1]);
        if (err >= 0) ::close(err);
        if (rc != 0) {
            pid_ = 0;
            errno = rc;
            fail("cannot start " + binary + " (set ReplayOptions::binary or COPILOT_REPLAY_PATH)");
        }
    }

    static bool cloexec_pipe(int fds[2]) {
#if defined(__APPLE__)
        // No pipe2: a child spawned by another thread meanwhile may inherit these.
        if (::pipe(fds) != 0) return false;
        ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
        return true;
#else
        return ::pipe2(fds, O_CLOEXEC) == 0;
#endif
    }

    void read_url(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string line;
        for (;;) {
            std::size_t nl = line.find('\n');
            if (nl != std::string::npos) {
                line.resize(nl);
                break;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) throw std::runtime_error("copilot-replay: no URL within the start timeout: " + stderr_text());
            pollfd p{stdout_, POLLIN, 0};
            int ready = ::poll(&p, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno != EINTR) fail("poll");
            if (ready <= 0) continue;
            char buf[512];
            ssize_t n = ::read(stdout_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("copilot-replay did not start: " + stderr_text());
            line.append(buf, static_cast<std::size_t>(n));
        }
        const std::string prefix = std::string(url_variable) + "=";
        if (line.compare(0, prefix.size(), prefix) != 0)
            throw std::runtime_error("copilot-replay: unexpected first line: " + line);
        url_ = line.substr(prefix.size());
    }

    // Waits up to `grace` for the server to exit, then kills it; reaps it.
    void reap(std::chrono::milliseconds grace) noexcept {
        const auto deadline = std::chrono::steady_clock::now() + grace;
        for (;;) {
            int status = 0;
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_ || (r < 0 && errno != EINTR)) return;  // reaped, or not ours to reap
            if (r == 0 && std::chrono::steady_clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
};

}  // namespace testing
}  // namespace copilot

#endif  // COPILOT_REPLAY_HPP
