"""Progress tracking: count characters and blocks while streaming, report at the end."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")

client = anthropic.Anthropic()
started = time.monotonic()
chars = 0
first = None
with client.messages.stream(model=MODEL, max_tokens=2048,
                            messages=[{"role": "user", "content": "List ten prime numbers."}]) as stream:
    for event in stream:
        if event.type == "text":
            chars += len(event.text)
            first = first or time.monotonic() - started
            sys.stderr.write("\r%6d characters" % chars)
        elif event.type == "content_block_stop":
            sys.stderr.write("\n[block %d: %s]\n" % (event.index, event.content_block.type))
    message = stream.get_final_message()
elapsed = time.monotonic() - started
print("%d characters, %d output tokens, first text after %.3f s, done in %.3f s"
      % (chars, message.usage.output_tokens, first or 0.0, elapsed))
