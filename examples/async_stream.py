"""asyncio: stream without blocking the event loop (the SDK's AsyncAnthropic surface)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
from claude_stream import AsyncAnthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")


async def main() -> None:
    client = AsyncAnthropic()
    async with client.messages.stream(model=MODEL, max_tokens=1024,
                                      messages=[{"role": "user", "content": "Say hello, asynchronously."}]) as stream:
        async for text in stream.text_stream:
            print(text, end="", flush=True)
        print()
    message = await stream.get_final_message()
    print("[%s, %d output tokens]" % (message.stop_reason, message.usage.output_tokens))


asyncio.run(main())
