// Tests of include/copilot.hpp against the real CLI, with model replies from
// copilot-replay serving tests/conversations/weather_tool.yaml.
// Needs COPILOT_PROVIDER_URL (the replay's /v1 URL) and the CLI (COPILOT_CLI_PATH).
#include <copilot.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
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

// Runs `f`, which must throw copilot::Error; returns its status (COPILOT_OK if it did not).
template <typename F>
copilot_status thrown_status(F f, copilot::Error* out = nullptr) {
    try {
        f();
    } catch (const copilot::Error& e) {
        if (out) *out = e;
        return e.status();
    }
    return COPILOT_OK;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

std::string session_config() {
    const char* url = std::getenv("COPILOT_PROVIDER_URL");
    if (!url) throw std::runtime_error("COPILOT_PROVIDER_URL is not set");
    return std::string(R"({"model":"claude-sonnet-4.5","provider":{"type":"openai","baseUrl":")") +
           url + R"(","apiKey":"offline","wireApi":"completions"}})";
}

const char* WEATHER_TOOL = R"({"name":"get_weather","description":"Current weather for a city",
    "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}})";

// Events of one session, collected from the callback thread.
struct Events {
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> items;

    copilot::EventHandler handler() {
        return [this](std::string_view type, std::string_view json) {
            std::lock_guard<std::mutex> lock(mu);
            items.emplace_back(type, json);
        };
    }
    bool has(std::string_view type, std::string_view text = {}) {
        std::lock_guard<std::mutex> lock(mu);
        for (auto& [t, j] : items)
            if (t == type && contains(j, text)) return true;
        return false;
    }
};

void test_errors_before_start() {
    CHECK(copilot::abi_matches());
    CHECK(!copilot::version().empty());
    CHECK(thrown_status([] { copilot::Client c("{not json"); }) == COPILOT_ERR_INVALID_JSON);
    copilot::Client client(R"({"useLoggedInUser":false})");
    CHECK(client.state() == COPILOT_CLIENT_DISCONNECTED);
    CHECK(thrown_status([&] { client.ping("x"); }) == COPILOT_ERR_INVALID_STATE);
}

void test_client_calls_and_logging() {
    std::atomic<int> logged{0};
    copilot::set_log_handler(COPILOT_LOG_TRACE, [&](copilot_log_level, std::string_view target,
                                                    std::string_view) {
        if (target == "rpc") ++logged;
    });
    // Declared before the client: its callbacks may run until it is destroyed.
    std::vector<copilot_client_state> states;
    std::mutex mu;
    std::condition_variable changed;
    copilot::Client client(R"({"useLoggedInUser":false})");
    client.on_state_change([&](copilot_client_state s, std::string_view) {
        std::lock_guard<std::mutex> lock(mu);
        states.push_back(s);
        changed.notify_all();
    });
    client.start();
    CHECK(client.state() == COPILOT_CLIENT_CONNECTED);
    CHECK(client.cli_pid() > 0);
    CHECK(contains(client.ping("hello from C++"), "hello from C++"));
    CHECK(logged.load() > 0);
    copilot::set_log_handler(COPILOT_LOG_OFF, nullptr);

    copilot::Error err(COPILOT_OK, "");
    CHECK(thrown_status([&] { client.call("no.such.method"); }, &err) == COPILOT_ERR_RPC);
    CHECK(err.rpc_code().has_value());
    CHECK(contains(client.call("session.list"), "sessions"));

    client.stop();
    CHECK(client.state() == COPILOT_CLIENT_DISCONNECTED);
    // State handlers run on the callback thread, after the change.
    std::unique_lock<std::mutex> lock(mu);
    CHECK(changed.wait_for(lock, std::chrono::seconds(5), [&] {
        return !states.empty() && states.back() == COPILOT_CLIENT_DISCONNECTED;
    }));
    CHECK(states.front() == COPILOT_CLIENT_CONNECTING);
}

void test_tool_round_trip() {
    // Whatever the callbacks touch is declared before the client, which outlives them.
    Events events;
    std::atomic<int> calls{0};
    std::string arguments;
    copilot::Client client(R"({"useLoggedInUser":false})");
    client.start();
    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL,
                 [&](copilot::ToolInvocation& call) {
                     ++calls;
                     arguments = call.json();
                     call.complete(R"("18C and sunny")");
                     // A second answer is refused, not sent.
                     CHECK(thrown_status([&] { call.complete(R"("again")"); }) != COPILOT_OK);
                 })
        .approve_all()
        .on_event(events.handler());
    copilot::Session first = client.create_session(cfg);
    std::string id = first.id();
    copilot::Session session = std::move(first);  // handles move; the old owner is empty
    CHECK(first.get() == nullptr);
    CHECK(session.id() == id);

    auto answer = session.send_and_wait(R"({"prompt":"What is the weather in Paris? Use the get_weather tool."})",
                                        std::chrono::seconds(60));
    CHECK(answer.has_value() && contains(*answer, "18C and sunny in Paris"));
    CHECK(calls.load() == 1);
    CHECK(contains(arguments, "Paris"));
    CHECK(events.has(COPILOT_EVENT_TOOL_EXECUTION_COMPLETE, "\"success\":true"));
    CHECK(events.has(COPILOT_EVENT_SESSION_IDLE));
    CHECK(contains(session.messages(), COPILOT_EVENT_USER_MESSAGE));
    session.destroy();
    client.stop();
}

// Poll mode: the callbacks run inside dispatch(), on this thread only.
void test_poll_mode_dispatch() {
    Events events;
    std::atomic<int> off_thread{0};
    const auto self = std::this_thread::get_id();
    copilot::Client client(R"({"useLoggedInUser":false,"dispatch":"poll"})");
    client.start();
    CHECK(client.dispatch_fd() >= 0);
    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL,
                 [&](copilot::ToolInvocation& call) {
                     if (std::this_thread::get_id() != self) ++off_thread;
                     call.complete(R"("18C and sunny")");
                 })
        .approve_all()
        .on_event([&](std::string_view type, std::string_view json) {
            if (std::this_thread::get_id() != self) ++off_thread;
            events.handler()(type, json);
        });
    copilot::Session session = client.create_session(cfg);
    session.send(R"({"prompt":"What is the weather in Paris? Use the get_weather tool."})");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!events.has(COPILOT_EVENT_SESSION_IDLE) && std::chrono::steady_clock::now() < deadline) {
        client.dispatch();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(events.has(COPILOT_EVENT_ASSISTANT_MESSAGE, "18C and sunny in Paris"));
    CHECK(off_thread.load() == 0);
    client.stop();
}

void test_throwing_tool_fails_the_call() {
    Events events;
    std::atomic<int> calls{0};
    copilot::Client client(R"({"useLoggedInUser":false})");
    client.start();
    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL,
                 [&](copilot::ToolInvocation&) {
                     ++calls;
                     throw std::runtime_error("weather service down");
                 })
        .approve_all()
        .on_event(events.handler());
    copilot::Session session = client.create_session(cfg);
    // The CLI tells the model the tool failed; the recording answers that.
    auto answer = session.send_and_wait(
        R"({"prompt":"What is the weather in Oslo? Use the get_weather tool."})",
        std::chrono::seconds(60));
    CHECK(answer.has_value() && contains(*answer, "could not get the weather"));
    CHECK(calls.load() == 1);
    CHECK(events.has(COPILOT_EVENT_TOOL_EXECUTION_COMPLETE, "\"success\":false"));
    client.stop();
}

void test_deferred_completion_from_another_thread() {
    std::thread worker;
    copilot::Client client(R"({"useLoggedInUser":false})");
    client.start();
    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL,
                 [&](copilot::ToolInvocation& call) {
                     // Moved out of the callback: answered later, off the callback thread.
                     worker = std::thread([owned = std::move(call)]() mutable {
                         std::this_thread::sleep_for(std::chrono::milliseconds(50));
                         owned.complete(R"("18C and sunny")");
                     });
                 })
        .approve_all();
    copilot::Session session = client.create_session(cfg);
    auto answer = session.send_and_wait(
        R"({"prompt":"What is the weather in Paris? Use the get_weather tool."})",
        std::chrono::seconds(60));
    CHECK(answer.has_value() && contains(*answer, "18C and sunny in Paris"));
    worker.join();
    client.stop();
}

// Polls list_sessions (the CLI writes a session's record as its turn ends).
std::string listed_with(copilot::Client& client, const std::string& id) {
    std::string list;
    for (int i = 0; i < 100; ++i) {
        list = client.list_sessions();
        if (contains(list, id)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return list;
}

void test_typed_calls() {
    copilot::Client client(R"({"useLoggedInUser":false})");
    CHECK(thrown_status([&] { client.get_status(); }) == COPILOT_ERR_INVALID_STATE);
    client.start();
    std::string status = client.get_status();
    CHECK(contains(status, "\"version\":\"") && !contains(status, "\"version\":\"\""));
    CHECK(contains(status, "\"protocolVersion\":3"));
    CHECK(contains(client.get_auth_status(), "\"isAuthenticated\":false"));

    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL, [](copilot::ToolInvocation& call) { call.complete(R"("18C and sunny")"); })
        .approve_all();
    copilot::Session session = client.create_session(cfg);
    std::string id = session.id();
    CHECK(client.get_session_metadata(id) == "{}");  // not on disk before its first turn
    auto answer = session.send_and_wait(
        R"({"prompt":"What is the weather in Paris? Use the get_weather tool."})", std::chrono::seconds(60));
    CHECK(answer.has_value() && contains(*answer, "18C and sunny in Paris"));
    CHECK(contains(listed_with(client, id), id));
    CHECK(client.list_sessions(R"({"cwd":"/nonexistent/dir"})") == R"({"sessions":[]})");
    std::string meta = client.get_session_metadata(id);
    CHECK(contains(meta, "{\"session\":{") && contains(meta, id));
    CHECK(client.get_session_metadata("00000000-0000-0000-0000-000000000000") == "{}");

    CHECK(contains(session.set_model("gpt-5"), "\"modelId\":\"gpt-5\""));
    CHECK(contains(session.call("session.model.getCurrent"), "\"modelId\":\"gpt-5\""));
    session.set_model("claude-sonnet-4.5", R"({"reasoningEffort":"high"})");
    std::string current = session.call("session.model.getCurrent");
    CHECK(contains(current, "\"modelId\":\"claude-sonnet-4.5\"") &&
          contains(current, "\"reasoningEffort\":\"high\""));

    CHECK(thrown_status([&] { session.set_model(""); }) == COPILOT_ERR_INVALID_ARGUMENT);
    CHECK(thrown_status([&] { session.set_model("gpt-5", "[1]"); }) == COPILOT_ERR_INVALID_JSON);
    CHECK(thrown_status([&] { client.list_sessions("\"cwd\""); }) == COPILOT_ERR_INVALID_JSON);
    CHECK(thrown_status([&] { client.get_session_metadata(""); }) == COPILOT_ERR_INVALID_ARGUMENT);
    session.destroy();
    client.stop();
}

}  // namespace

int main() {
    try {
        test_errors_before_start();
        test_client_calls_and_logging();
        test_tool_round_trip();
        test_poll_mode_dispatch();
        test_throwing_tool_fails_the_call();
        test_deferred_completion_from_another_thread();
        test_typed_calls();
    } catch (const copilot::Error& e) {
        std::cerr << "unexpected copilot::Error (status " << e.status() << "): " << e.what() << "\n";
        ++failures;
    } catch (const std::exception& e) {
        std::cerr << "unexpected exception: " << e.what() << "\n";
        ++failures;
    }
    std::cout << "copilot.hpp: " << (checks - failures) << " passed, " << failures << " failed\n";
    return failures == 0 ? 0 : 1;
}
