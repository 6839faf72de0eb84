"""Slow work per token without stalling the socket: read the stream in a background thread.

`background()` keeps at most `maxsize` items waiting, so memory stays bounded however slow
the consumer is, and the server is slowed by TCP flow control instead of timing out.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")

client = anthropic.Anthropic()
with client.messages.stream(model=MODEL, max_tokens=1024,
                            messages=[{"role": "user", "content": "List five colours."}]) as stream:
    with anthropic.background(stream.text_stream, maxsize=100) as texts:
        for text in texts:
            time.sleep(0.01)  # stand-in for a database write, a UI update, another service call
            print(text, end="", flush=True)
print()
