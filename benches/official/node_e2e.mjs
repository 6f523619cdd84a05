// The official Node SDK's row of benches/e2e.py: the same steps as
// benches/c/e2e_bench.c, against the real CLI and copilot-replay.
//   node node_e2e.mjs CLI_PATH SESSION_JSON REPEATS CONCURRENT
import { CopilotClient, RuntimeConnection, approveAll } from "@github/copilot-sdk";

const [cliPath, sessionJson, repeats, concurrent] = process.argv.slice(2);
const PLAIN = "What is the capital of France?";
const TOOL = "What is the weather in Paris? Use the get_weather tool.";
const base = JSON.parse(sessionJson);
const config = {
  model: base.model,
  provider: base.provider,
  workingDirectory: base.workingDirectory,
  onPermissionRequest: approveAll,
  tools: [{
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    handler: async () => "18C and sunny",
  }],
};
const ms = () => Number(process.hrtime.bigint()) / 1e6;
const turn = async (session, prompt) => {
  const t0 = ms();
  await session.sendAndWait({ prompt }, 120000);
  return ms() - t0;
};

let t0 = ms();
const client = new CopilotClient({ connection: RuntimeConnection.forStdio({ path: cliPath }), useLoggedInUser: false });
await client.start();
const start_ms = ms() - t0;
t0 = ms();
const first = await client.createSession(config);
const create_ms = ms() - t0;
await turn(first, PLAIN);
const plain_ms = [], tool_ms = [];
for (let i = 0; i < Number(repeats); i++) {
  plain_ms.push(await turn(await client.createSession(config), PLAIN));
  tool_ms.push(await turn(await client.createSession(config), TOOL));
}
const sessions = [];
for (let i = 0; i < Number(concurrent); i++) sessions.push(await client.createSession(config));
t0 = ms();
const concurrent_ms = await Promise.all(sessions.map((s) => turn(s, TOOL)));
const concurrent_s = (ms() - t0) / 1e3;
console.log(JSON.stringify({ start_ms, create_ms, plain_ms, tool_ms, concurrent_s, concurrent_ms }));
await client.stop();
process.exit(0);
