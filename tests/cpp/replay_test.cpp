// Tests of include/copilot_replay.hpp: copilot-replay started, read and stopped
// from C++, and a real session whose model requests the test checks.
// Needs COPILOT_REPLAY_PATH (or copilot-replay on PATH), COPILOT_CLI_PATH and
// the repository root in COPILOT_REPO; COPILOT_TEST_OPTIONS, when set, is the
// client's options JSON (an isolated environment). Driven by tests/c_abi.rs.
#include <copilot.hpp>
#include <copilot_replay.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int failures = 0;
int checks = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        ++checks;                                                                    \
        if (!(cond)) {                                                               \
            ++failures;                                                              \
            std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond "\n"; \
        }                                                                            \
    } while (0)

using copilot::testing::ReplayOptions;
using copilot::testing::ReplayServer;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string conversation(const char* name) {
    const char* repo = std::getenv("COPILOT_REPO");
    return std::string(repo ? repo : ".") + "/tests/conversations/" + name;
}

// Whether `pid` is a live process (a zombie is not).
bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = all.rfind(") ");
    return close != std::string::npos && all.compare(close + 2, 1, "Z") != 0;
}

bool exits_within(pid_t pid, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (alive(pid)) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// The server's URL, its empty log, and stop(): gone and reaped, log removed.
void test_starts_and_stops() {
    pid_t pid = 0;
    std::string log;
    {
        ReplayServer replay({conversation("weather_tool.yaml")});
        pid = replay.pid();
        log = replay.request_log();
        CHECK(pid > 0 && alive(pid));
        CHECK(replay.url().rfind("http://127.0.0.1:", 0) == 0);
        CHECK(replay.root_url() + "/v1" == replay.url());
        CHECK(replay.requests().empty());
        ReplayServer moved = std::move(replay);  // ownership moves; one stop
        CHECK(moved.pid() == pid && replay.pid() == 0);
    }
    CHECK(!alive(pid));
    // Reaped, not a zombie: waitpid has nothing left to collect.
    CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
    CHECK(!std::ifstream(log).good());
}

// Start-up failures throw with the server's explanation; nothing is left running.
void test_start_failures_throw() {
    try {
        ReplayServer replay({conversation("no-such-file.yaml")});
        CHECK(!"a missing conversation file starts");
    } catch (const std::runtime_error& e) {
        CHECK(contains(e.what(), "no-such-file.yaml"));
    }
    ReplayOptions missing;
    missing.binary = "/nonexistent/copilot-replay";
    try {
        ReplayServer replay({conversation("weather_tool.yaml")}, missing);
        CHECK(!"a missing binary starts");
    } catch (const std::runtime_error& e) {
        CHECK(contains(e.what(), "cannot start"));
    }
}

// A parent that dies without running destructors does not leak the server:
// its stdin closes, and it exits. Runs before any thread exists (it forks).
void test_server_exits_with_its_parent() {
    int report[2];
    CHECK(::pipe(report) == 0);
    pid_t parent = ::fork();
    if (parent == 0) {
        ::close(report[0]);
        ReplayServer* replay = new ReplayServer({conversation("chat.yaml")});  // never destroyed
        pid_t pid = replay->pid();
        (void)!::write(report[1], &pid, sizeof pid);
        ::_exit(0);
    }
    ::close(report[1]);
    pid_t server = 0;
    CHECK(::read(report[0], &server, sizeof server) == static_cast<ssize_t>(sizeof server));
    ::close(report[0]);
    ::waitpid(parent, nullptr, 0);
    CHECK(server > 0 && exits_within(server, std::chrono::seconds(10)));
}

// What the model was sent: the appended system message, the tool's declaration,
// and the tool's result text answering the model's call.
void test_model_receives_the_system_message_and_the_tool_result() {
    const std::string marker = "Answer like a weather reporter (marker 7f3a).";
    ReplayServer replay({conversation("weather_tool.yaml")});
    const char* options = std::getenv("COPILOT_TEST_OPTIONS");
    std::atomic<int> calls{0};
    copilot::Client client(options ? options : R"({"useLoggedInUser":false})");
    client.start();
    copilot::SessionConfig cfg(
        R"({"model":"claude-sonnet-4.5","provider":{"type":"openai","baseUrl":")" + replay.url() +
        R"(","apiKey":"offline","wireApi":"completions"},"systemMessage":{"mode":"append","content":")" +
        marker + R"("}})");
    cfg.add_tool(R"({"name":"get_weather","description":"Current weather for a city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}})",
                 [&](copilot::ToolInvocation& call) {
                     ++calls;
                     call.complete(R"("18C and sunny")");
                 })
        .approve_all();
    copilot::Session session = client.create_session(cfg);
    auto answer = session.send_and_wait(R"({"prompt":"What is the weather in Paris? Use the get_weather tool."})",
                                        std::chrono::seconds(60));
    CHECK(answer.has_value() && contains(*answer, "It is 18C and sunny in Paris."));
    CHECK(calls.load() == 1);
    client.stop();

    std::vector<std::string> requests = replay.requests();
    CHECK(requests.size() == 2);
    for (const std::string& r : requests) {
        CHECK(r.rfind(R"({"method":"POST","path":"/v1/chat/completions","body":{)", 0) == 0);
        CHECK(contains(r, marker));
        CHECK(contains(r, R"("name":"get_weather")"));
    }
    if (requests.size() == 2) {
        CHECK(!contains(requests[0], R"("role":"tool")"));
        CHECK(contains(requests[1], R"("role":"tool")"));
        CHECK(contains(requests[1], "18C and sunny"));
    }
    if (failures) std::cerr << "copilot-replay stderr:\n" << replay.stderr_text();
}

}  // namespace

int main() {
    try {
        test_server_exits_with_its_parent();
        test_starts_and_stops();
        test_start_failures_throw();
        test_model_receives_the_system_message_and_the_tool_result();
    } catch (const std::exception& e) {
        std::cerr << "uncaught: " << e.what() << "\n";
        ++failures;
    }
    std::cout << "copilot_replay.hpp: " << checks - failures << " passed, " << failures << " failed\n";
    return failures ? 1 : 0;
}
