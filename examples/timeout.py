"""Timeouts: bound connecting and each wait for more bytes, so a stalled stream fails fast.

The timeout is an idle limit, not a total: an answer that keeps arriving (or keeps
receiving pings) may take as long as it needs. EXAMPLE_TIMEOUT sets it (default 20 s); to see
it fire, offline:

    EXAMPLE_TIMEOUT=1 python3 examples/fake_api.py --stall-after 3 --run python3 examples/timeout.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")
seconds = float(os.environ.get("EXAMPLE_TIMEOUT", "20"))

client = anthropic.Anthropic(timeout=seconds, max_retries=0)
try:
    with client.messages.stream(model=MODEL, max_tokens=512, timeout=seconds,  # per call, too
                                messages=[{"role": "user", "content": "Hello?"}]) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
    print()
except anthropic.APITimeoutError:
    print("\nno bytes for %.1f s: giving up" % seconds, file=sys.stderr)
    sys.exit(1)
