"""Print an answer as it streams: the SDK's `text_stream` pattern.

    ANTHROPIC_API_KEY=... python examples/text_stream.py "Why is the sky blue?"
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")
prompt = " ".join(sys.argv[1:]) or "Write a haiku about streams."

client = anthropic.Anthropic()
with client.messages.stream(model=MODEL, max_tokens=1024,
                            messages=[{"role": "user", "content": prompt}]) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
print()
