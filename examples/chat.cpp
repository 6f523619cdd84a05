// libcopilot from C++17 (include/copilot.hpp): a session with one custom tool,
// streamed output, and exceptions instead of status codes.
//
// Where the model lives, as for examples/demo.c:
//   - COPILOT_GITHUB_TOKEN set: real Copilot, signed in with that token;
//   - else COPILOT_PROVIDER_URL: an OpenAI-compatible endpoint (BYOK), e.g.
//     copilot-replay serving examples/conversations/demo.yaml (offline).
// The CLI is found through COPILOT_CLI_PATH or `copilot` on PATH.
#include <copilot.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

// A JSON string for embedding text in the option and config JSON below.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string env(const char* name, const char* fallback = "") {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// The value of a string field in a JSON text (display only: use a JSON library).
std::string field(std::string_view json, std::string_view key) {
    std::string pattern = "\"" + std::string(key) + "\":\"";
    auto at = json.find(pattern);
    if (at == std::string_view::npos) return {};
    std::string out;
    for (auto i = at + pattern.size(); i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\' && i + 1 < json.size()) {
            ++i;
            out += json[i] == 'n' ? '\n' : json[i];
        } else {
            out += json[i];
        }
    }
    return out;
}

}  // namespace

int main() try {
    if (!copilot::abi_matches()) {
        std::cerr << "chat: libcopilot ABI differs from this header\n";
        return 1;
    }
    std::string options, config;
    if (!env("COPILOT_GITHUB_TOKEN").empty()) {
        options = "{\"githubToken\":" + quoted(env("COPILOT_GITHUB_TOKEN")) + "}";
        config = "{\"streaming\":true}";
    } else if (!env("COPILOT_PROVIDER_URL").empty()) {
        options = "{\"useLoggedInUser\":false}";
        config = "{\"streaming\":true,\"model\":" + quoted(env("COPILOT_MODEL", "claude-sonnet-4.5")) +
                 ",\"provider\":{\"type\":\"openai\",\"baseUrl\":" + quoted(env("COPILOT_PROVIDER_URL")) +
                 ",\"apiKey\":" + quoted(env("COPILOT_PROVIDER_API_KEY", "offline")) +
                 ",\"wireApi\":\"completions\"}}";
    } else {
        std::cerr << "chat: set COPILOT_GITHUB_TOKEN or COPILOT_PROVIDER_URL\n";
        return 2;
    }

    copilot::Client client(options);
    client.start();

    copilot::SessionConfig cfg(config);
    cfg.add_tool(R"({"name":"get_weather","description":"Current weather for a city",
                     "parameters":{"type":"object","properties":{"city":{"type":"string"}},
                     "required":["city"]}})",
                 [](copilot::ToolInvocation& call) {
                     std::cout << "\n[tool call] get_weather " << call.json() << "\n";
                     call.complete(R"("18C and sunny")");
                 })
        .approve_all()
        .on_event([](std::string_view type, std::string_view json) {
            if (type == COPILOT_EVENT_ASSISTANT_MESSAGE_DELTA) {
                std::cout << field(json, "deltaContent") << std::flush;
            }
        });

    copilot::Session session = client.create_session(cfg);
    const char* prompt = "What's the weather like in Paris today? Use the get_weather tool.";
    std::cout << "> " << prompt << "\n";
    auto answer = session.send_and_wait("{\"prompt\":" + quoted(prompt) + "}",
                                        std::chrono::seconds(120));
    std::cout << "\n\n[final answer] " << (answer ? field(*answer, "content") : "(none)") << "\n";
    client.stop();
    return 0;
} catch (const copilot::Error& e) {
    std::cerr << "chat: " << e.what() << " (status " << e.status() << ")\n";
    return 1;
}
