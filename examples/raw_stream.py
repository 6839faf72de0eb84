"""The lower-level `create(stream=True)`: raw events only, no accumulation, less work."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")

client = anthropic.Anthropic()
stream = client.messages.create(model=MODEL, max_tokens=1024, stream=True,
                                messages=[{"role": "user", "content": "Count to five."}])
with stream:
    for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            print(event.delta.text, end="", flush=True)
        elif event.type == "message_delta":
            print("\n[stop_reason: %s, output tokens: %d]" % (event.delta.stop_reason, event.usage.output_tokens))
