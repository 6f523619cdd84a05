"""The official Python SDK's row of benches/run.sh: one turn against benches/peer
(events into a handler, tool calls answered by one; the peer times those).
    python python_bench.py HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS
Prints: python: events=N seconds=S events_per_s=X
"""
import asyncio
import sys
import time

from copilot import CopilotClient, PermissionHandler, StdioRuntimeConnection, Tool, ToolResult, UriRuntimeConnection


async def main():
    address, expected = sys.argv[1], int(sys.argv[2])
    # HOST:PORT, or stdio:PATH: the peer spawned as the SDK's CLI.
    if address.startswith("stdio:"):
        connection = StdioRuntimeConnection(path=address[len("stdio:"):])
    else:
        connection = UriRuntimeConnection(url=address)
    client = CopilotClient(connection=connection)
    await client.start()
    deltas = 0

    def on_event(event):
        nonlocal deltas
        if getattr(event.type, "value", event.type) == "assistant.message_delta":
            deltas += 1

    session = await client.create_session(
        on_permission_request=PermissionHandler.approve_all,
        tools=[Tool("bench", "benchmark tool", handler=lambda inv: ToolResult(text_result_for_llm="ok"))],
        on_event=on_event,
    )
    started = time.perf_counter()
    await session.send_and_wait("go", timeout=600)
    seconds = time.perf_counter() - started
    print(f"python: events={deltas} seconds={seconds:.3f} events_per_s={deltas / seconds:.0f}")
    try:
        await client.stop()
    except Exception as error:  # the synthetic CLI implements little beyond the turn
        print(f"python_bench: stop: {error}", file=sys.stderr)
    sys.exit(0 if deltas == expected else 1)


asyncio.run(main())
