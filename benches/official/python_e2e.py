"""The official Python SDK's row of benches/e2e.py: the same steps as
benches/c/e2e_bench.c, against the real CLI and copilot-replay.
    python python_e2e.py CLI_PATH SESSION_JSON REPEATS CONCURRENT
"""
import asyncio
import json
import sys
import time

from copilot import CopilotClient, PermissionHandler, StdioRuntimeConnection, Tool, ToolResult

PLAIN = "What is the capital of France?"
TOOL = "What is the weather in Paris? Use the get_weather tool."


def ms():
    return time.perf_counter() * 1e3


async def main():
    cli_path, session_json, repeats, concurrent = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    base = json.loads(session_json)
    p = base["provider"]
    config = dict(
        model=base["model"],
        provider={"type": p["type"], "base_url": p["baseUrl"], "api_key": p["apiKey"], "wire_api": p["wireApi"]},
        working_directory=base["workingDirectory"],
        on_permission_request=PermissionHandler.approve_all,
        tools=[Tool("get_weather", "Current weather for a city",
                    handler=lambda inv: ToolResult(text_result_for_llm="18C and sunny"),
                    parameters={"type": "object", "properties": {"city": {"type": "string"}},
                                "required": ["city"]})],
    )

    async def turn(session, prompt):
        t0 = ms()
        await session.send_and_wait(prompt, timeout=120)
        return ms() - t0

    t0 = ms()
    client = CopilotClient(connection=StdioRuntimeConnection(path=cli_path), use_logged_in_user=False)
    await client.start()
    start_ms = ms() - t0
    t0 = ms()
    first = await client.create_session(**config)
    create_ms = ms() - t0
    await turn(first, PLAIN)
    plain_ms, tool_ms = [], []
    for _ in range(repeats):
        plain_ms.append(await turn(await client.create_session(**config), PLAIN))
        tool_ms.append(await turn(await client.create_session(**config), TOOL))
    sessions = [await client.create_session(**config) for _ in range(concurrent)]
    t0 = ms()
    concurrent_ms = await asyncio.gather(*(turn(s, TOOL) for s in sessions))
    concurrent_s = (ms() - t0) / 1e3
    print(json.dumps(dict(start_ms=start_ms, create_ms=create_ms, plain_ms=plain_ms, tool_ms=tool_ms,
                          concurrent_s=concurrent_s, concurrent_ms=list(concurrent_ms))))
    try:
        await client.stop()
    except Exception as error:
        print(f"python_e2e: stop: {error}", file=sys.stderr)


asyncio.run(main())
