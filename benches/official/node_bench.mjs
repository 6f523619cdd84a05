// The official Node SDK's row of benches/run.sh: one turn against benches/peer
// (events into a handler, tool calls answered by one; the peer times those).
//   node node_bench.mjs HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS   (stdio: the peer spawned as the CLI)
// Prints: node: events=N seconds=S events_per_s=X
import { CopilotClient, RuntimeConnection, approveAll } from "@github/copilot-sdk";

const [address, expected] = process.argv.slice(2);
const connection = address.startsWith("stdio:")
  ? RuntimeConnection.forStdio({ path: address.slice("stdio:".length) })
  : RuntimeConnection.forUri(address);
const client = new CopilotClient({ connection });
await client.start();
let deltas = 0;
const session = await client.createSession({
  onPermissionRequest: approveAll,
  tools: [{ name: "bench", description: "benchmark tool", handler: async () => "ok" }],
});
session.on((event) => {
  if (event.type === "assistant.message_delta") deltas++;
});
const started = process.hrtime.bigint();
await session.sendAndWait({ prompt: "go" }, 600000);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`node: events=${deltas} seconds=${seconds.toFixed(3)} events_per_s=${(deltas / seconds).toFixed(0)}`);
await client.stop();
process.exit(deltas === Number(expected) ? 0 : 1);
