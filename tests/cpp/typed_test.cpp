// Tests of include/copilot_types.hpp (the generated typed layer over copilot.hpp, on
// nlohmann/json) against the real CLI, with model replies from copilot-replay serving
// tests/conversations/weather_tool.yaml.
// Needs COPILOT_PROVIDER_URL (the replay's /v1 URL), the CLI (COPILOT_CLI_PATH) and the
// pinned CLI's schemas under $COPILOT_TEST_CACHE (else $COPILOT_REPO/target/copilot-cache).
#include <copilot_types.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ct = copilot::types;
using nlohmann::json;

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

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// The session config, its provider typed: ProviderConfig is the schema's own struct.
std::string session_config() {
    const char* url = std::getenv("COPILOT_PROVIDER_URL");
    if (!url) throw std::runtime_error("COPILOT_PROVIDER_URL is not set");
    ct::ProviderConfig provider;
    provider.type = ct::ProviderConfigType::openai;
    provider.wireApi = ct::ProviderConfigWireApi::completions;
    provider.baseUrl = url;
    provider.apiKey = "offline";
    json config = {{"model", "claude-sonnet-4.5"}, {"provider", provider}};
    return config.dump();
}

const char* WEATHER_TOOL = R"({"name":"get_weather","description":"Current weather for a city",
    "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}})";

const char* PARIS = "What is the weather in Paris? Use the get_weather tool.";

// What the typed events of one session said, noted on the callback thread. Handlers
// get a const SessionEvent&: inspecting it in place, as here, compiles no copy of the
// data variant (which means every event struct's copy constructor).
struct Seen {
    std::string type;
    std::string_view data_type;  // the decoded struct's event_type ("" for RawEventData)
    bool has_envelope = false;
};

struct Events {
    std::mutex mu;
    std::vector<Seen> all;
    std::vector<std::string> user_messages, tools_started, cities, assistant_messages;
    std::vector<bool> tool_successes;
    int idle = 0;

    copilot::EventHandler handler() {
        return ct::event_handler([this](const ct::SessionEvent& e) {
            std::lock_guard<std::mutex> lock(mu);
            all.push_back({e.type, ct::event_type_of(e.data), !e.id.empty() && !e.timestamp.empty()});
            if (auto* user = std::get_if<ct::UserMessageData>(&e.data)) {
                user_messages.push_back(user->content);
            } else if (auto* start = std::get_if<ct::ToolExecutionStartData>(&e.data)) {
                if (!start->toolCallId.empty()) tools_started.push_back(start->toolName);
                cities.push_back(start->arguments.value("city", ""));  // opaque JSON: nlohmann::json
            } else if (auto* done = std::get_if<ct::ToolExecutionCompleteData>(&e.data)) {
                tool_successes.push_back(done->success);
            } else if (auto* reply = std::get_if<ct::AssistantMessageData>(&e.data)) {
                assistant_messages.push_back(reply->content);
            } else if (std::holds_alternative<ct::SessionIdleData>(e.data)) {
                ++idle;
            }
        });
    }
};

void test_typed_events_of_a_tool_turn() {
    Events events;
    copilot::Client client(R"({"useLoggedInUser":false})");
    client.start();
    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL, [](copilot::ToolInvocation& call) { call.complete(R"("18C and sunny")"); })
        .approve_all()
        .on_event(events.handler());
    copilot::Session session = client.create_session(cfg);
    auto answer = session.send_and_wait(json{{"prompt", PARIS}}.dump(), std::chrono::seconds(60));
    CHECK(answer.has_value());
    // send_and_wait's envelope decodes too.
    ct::SessionEvent last = ct::parse_event(answer.value_or(""));
    auto* reply = std::get_if<ct::AssistantMessageData>(&last.data);
    CHECK(last.type == "assistant.message" && reply && contains(reply->content, "18C and sunny in Paris"));

    std::lock_guard<std::mutex> lock(events.mu);
    CHECK(events.user_messages == std::vector<std::string>{PARIS});
    CHECK(events.tools_started == std::vector<std::string>{"get_weather"});
    CHECK(events.cities == std::vector<std::string>{"Paris"});
    CHECK(events.tool_successes == std::vector<bool>{true});
    bool answered = false;
    for (auto& m : events.assistant_messages) answered = answered || contains(m, "18C and sunny in Paris");
    CHECK(answered);
    CHECK(events.idle >= 1);

    // Every event the pinned CLI sent decodes to its own struct, envelope included; one
    // of a type its schema does not describe (it sends a few, "model.*") stays raw.
    std::set<std::string_view> known(ct::session_event_types.begin(), ct::session_event_types.end());
    CHECK(events.all.size() >= 6);
    std::set<std::string> undescribed;
    for (auto& seen : events.all) {
        bool described = known.count(seen.type) > 0;
        if (!described) undescribed.insert(seen.type);
        if (described && seen.data_type != seen.type) {
            std::cerr << "event " << seen.type << " decoded as \"" << seen.data_type << "\"\n";
        }
        CHECK(seen.data_type == (described ? std::string_view(seen.type) : std::string_view()));
        CHECK(seen.has_envelope);
    }
    for (auto& t : undescribed) std::cout << "  (not in the schema, kept raw: " << t << ")\n";
    client.stop();
}

void test_typed_rpc() {
    copilot::Client client(R"({"useLoggedInUser":false})");
    client.start();
    // A server-scope method.
    ct::PingResult pong = ct::rpc::server::ping(client, ct::PingRequest{"typed hello"});
    CHECK(pong.message.find("typed hello") != std::string::npos);
    CHECK(pong.protocolVersion > 0 && !pong.timestamp.empty());

    copilot::SessionConfig cfg(session_config());
    cfg.add_tool(WEATHER_TOOL, [](copilot::ToolInvocation& call) { call.complete(R"("18C and sunny")"); })
        .approve_all();
    copilot::Session session = client.create_session(cfg);

    // session.model.switchTo, then session.model.getCurrent.
    ct::ModelSwitchToResult switched = ct::rpc::session::model::switch_to(session, {"gpt-5"});
    CHECK(switched.modelId == std::optional<std::string>("gpt-5"));
    ct::CurrentModel current = ct::rpc::session::model::get_current(session);
    CHECK(current.modelId == std::optional<std::string>("gpt-5"));

    ct::ModelSwitchToRequest request;
    request.modelId = "claude-sonnet-4.5";
    request.reasoningEffort = "high";
    ct::rpc::session::model::switch_to(session, request);
    current = ct::rpc::session::model::get_current(session);
    CHECK(current.modelId == std::optional<std::string>("claude-sonnet-4.5"));
    CHECK(current.reasoningEffort == std::optional<std::string>("high"));

    // An enum result, set and read back.
    CHECK(ct::rpc::session::mode::get(session) == ct::SessionMode::interactive);
    ct::rpc::session::mode::set(session, ct::ModeSetRequest{ct::SessionMode::plan});
    ct::SessionMode mode = ct::rpc::session::mode::get(session);
    CHECK(mode == ct::SessionMode::plan && mode.value == "plan");

    // A failed call throws copilot::Error, as Session::call does (an enum takes any
    // string; the CLI refuses a mode it does not know).
    bool threw = false;
    try {
        ct::rpc::session::mode::set(session, ct::ModeSetRequest{"no-such-mode"});
    } catch (const copilot::Error& e) {
        threw = e.status() == COPILOT_ERR_RPC && e.rpc_code().has_value();
        if (!threw) std::cerr << "mode.set threw " << e.status() << ": " << e.what() << "\n";
    }
    CHECK(threw);
    CHECK(ct::rpc::session::mode::get(session) == ct::SessionMode::plan);

    // A turn, then its events read back typed (session.eventLog.read returns SessionEvents).
    session.send_and_wait(json{{"prompt", PARIS}}.dump(), std::chrono::seconds(60));
    ct::EventLogReadRequest read;
    read.max = 200;
    ct::EventsReadResult log = ct::rpc::session::event_log::read(session, read);
    bool saw_tool = false;
    for (auto& e : log.events)
        if (auto* start = std::get_if<ct::ToolExecutionStartData>(&e.data))
            saw_tool = saw_tool || start->toolName == "get_weather";
    CHECK(!log.events.empty() && saw_tool);
    session.destroy();
    client.stop();
}

void test_unknown_and_mismatched_events_arrive_raw() {
    // (One variable per event: assigning a SessionEvent would compile every event
    // struct's move assignment, which this test does not need.)
    // A type this header does not know: its data is kept whole.
    auto unknown = ct::parse_event(
        R"({"id":"1","timestamp":"2026-01-01T00:00:00Z","parentId":null,"type":"future.kind","data":{"x":1}})");
    auto* raw = std::get_if<ct::RawEventData>(&unknown.data);
    CHECK(unknown.type == "future.kind" && unknown.id == "1" && !unknown.parentId);
    CHECK(raw && raw->data == json({{"x", 1}}));

    // Data that does not match its type's schema: raw, not thrown.
    auto mismatched = ct::parse_event(
        R"({"id":"2","timestamp":"2026-01-01T00:00:00Z","parentId":"1","type":"assistant.message","data":{"content":42}})");
    raw = std::get_if<ct::RawEventData>(&mismatched.data);
    CHECK(mismatched.type == "assistant.message" && mismatched.parentId == std::optional<std::string>("1"));
    CHECK(raw && raw->data == json({{"content", 42}}));

    // Not JSON: an empty event, or the type the handler was given.
    auto not_json = ct::parse_event("not json");
    CHECK(not_json.type.empty() && std::holds_alternative<ct::RawEventData>(not_json.data));
    auto truncated = ct::parse_event("assistant.message", "{truncated");
    CHECK(truncated.type == "assistant.message" && std::holds_alternative<ct::RawEventData>(truncated.data));
    auto array = ct::parse_event("[1,2]");
    raw = std::get_if<ct::RawEventData>(&array.data);
    CHECK(array.type.empty() && raw && raw->data == json({1, 2}));

    // Lenient: a missing required member keeps its default, unknown members are ignored,
    // an unknown enum value is kept.
    auto lenient = ct::parse_event(R"({"type":"user.message","data":{"future":true,"agentMode":"future-mode"}})");
    auto* user = std::get_if<ct::UserMessageData>(&lenient.data);
    CHECK(user && user->content.empty() && user->agentMode && user->agentMode->value == "future-mode");

    // A union: a known variant typed, an unknown one kept raw.
    auto attachments = ct::from_json_text<std::vector<ct::Attachment>>(
        R"([{"type":"file","path":"/tmp/a.txt","displayName":"a.txt"},{"type":"hologram","depth":3}])");
    CHECK(attachments.size() == 2);
    if (attachments.size() == 2) {
        auto* file = std::get_if<ct::AttachmentFile>(&attachments[0]);
        CHECK(file && file->path == "/tmp/a.txt" && file->type == "file");
        auto* hologram = std::get_if<ct::AttachmentUnknown>(&attachments[1]);
        CHECK(hologram && hologram->raw.value("depth", 0) == 3);
        // Written back as received, and the known one with its tag.
        json back = attachments;
        CHECK(back[0]["type"] == "file" && back[1] == json::parse(R"({"type":"hologram","depth":3})"));
    }

    // Outside events, a mismatch is a DecodeError naming the member.
    std::string message;
    try {
        ct::from_json_text<ct::AssistantMessageData>(R"({"content":42})");
    } catch (const ct::DecodeError& err) {
        message = err.what();
    }
    CHECK(contains(message, "content") && contains(message, "expected string"));

    // Typed values through nlohmann's own API.
    json j = ct::ModelSwitchToRequest{"gpt-5"};
    CHECK(j == json({{"modelId", "gpt-5"}}));
    CHECK(j.get<ct::ModelSwitchToRequest>().modelId == "gpt-5");
}

// The pinned session-events.schema.json, from the unpacked-CLI cache.
std::filesystem::path schema_file() {
    namespace fs = std::filesystem;
    fs::path cache;
    if (const char* c = std::getenv("COPILOT_TEST_CACHE"); c && *c) {
        cache = c;
    } else if (const char* repo = std::getenv("COPILOT_REPO")) {
        cache = fs::path(repo) / "target/copilot-cache";
    } else {
        throw std::runtime_error("set COPILOT_TEST_CACHE or COPILOT_REPO");
    }
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto& platform : fs::directory_iterator(cache / "copilot/pkg", ec))
        for (auto& version : fs::directory_iterator(platform.path(), ec)) {
            fs::path p = version.path() / "schemas/session-events.schema.json";
            if (fs::is_regular_file(p)) found.push_back(p);
        }
    if (found.size() != 1) {
        throw std::runtime_error("want one unpacked CLI's session-events.schema.json under " +
                                 cache.string() + ", found " + std::to_string(found.size()));
    }
    return found[0];
}

void test_event_types_cover_the_pinned_schema() {
    std::filesystem::path path = schema_file();
    CHECK(path.parent_path().parent_path().filename() == std::string(ct::schema_version));
    std::ifstream in(path);
    json schema = json::parse(in);
    const json& defs = schema["definitions"];
    std::set<std::string_view> known(ct::session_event_types.begin(), ct::session_event_types.end());
    const json& variants = defs["SessionEvent"]["anyOf"];
    for (const json& v : variants) {
        std::string ref = v["$ref"];
        std::string type = defs[ref.substr(ref.rfind('/') + 1)]["properties"]["type"]["const"];
        if (!known.count(type)) {
            std::cerr << type << ": not in session_event_types\n";
            ++failures;
        }
        // Decodes to its own struct (required members missing: lenient), not RawEventData.
        auto e = ct::parse_event(json{{"type", type}, {"data", json::object()}}.dump());
        std::string_view data_type = ct::event_type_of(e.data);
        if (data_type != type) {
            std::cerr << type << ": decoded as \"" << data_type << "\"\n";
            ++failures;
        }
        ++checks;
    }
    CHECK(variants.size() == ct::session_event_types.size());
    CHECK(std::variant_size_v<ct::SessionEventData> == ct::session_event_types.size() + 1);
    // event_type_of() agrees with the structs' own event_type.
    ct::SessionEventData data{std::in_place_type<ct::ToolExecutionStartData>};
    CHECK(ct::event_type_of(data) == ct::ToolExecutionStartData::event_type);
    CHECK(std::visit([](const auto& d) { return d.event_type; }, data) == "tool.execution_start");
}

}  // namespace

int main() {
    try {
        test_unknown_and_mismatched_events_arrive_raw();
        test_event_types_cover_the_pinned_schema();
        test_typed_events_of_a_tool_turn();
        test_typed_rpc();
    } catch (const copilot::Error& e) {
        std::cerr << "unexpected copilot::Error (status " << e.status() << "): " << e.what() << "\n";
        ++failures;
    } catch (const std::exception& e) {
        std::cerr << "unexpected exception: " << e.what() << "\n";
        ++failures;
    }
    std::cout << "copilot_types.hpp: " << (checks - failures) << " passed, " << failures << " failed\n";
    return failures == 0 ? 0 : 1;
}
