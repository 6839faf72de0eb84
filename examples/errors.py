"""Error handling: every failure is a typed exception, mid-stream ones included.

Against the plain fake API this prints a normal answer; to see a failure, give the fake one:

    python3 examples/fake_api.py --fail-first 5 --run python3 examples/errors.py   # 529s
    python3 examples/fake_api.py --error-after 3 --run python3 examples/errors.py  # error event
    python3 examples/fake_api.py --drop-after 3 --run python3 examples/errors.py   # dropped
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")

client = anthropic.Anthropic(max_retries=2)  # retries happen only before the first byte of the answer
stream = None
try:
    with client.messages.stream(model=MODEL, max_tokens=1024,
                                messages=[{"role": "user", "content": "Tell me a story."}]) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
        print()
except anthropic.RateLimitError as err:  # 429, or a rate_limit_error event mid-stream
    print("\nrate limited (%s); try again later" % err.request_id, file=sys.stderr)
    sys.exit(1)
except anthropic.OverloadedError as err:  # 529, or an overloaded_error event mid-stream
    print("\noverloaded: %s" % err, file=sys.stderr)
    sys.exit(1)
except anthropic.APIStatusError as err:  # any other error status
    print("\nAPI error %s (%s): %s" % (err.status_code, err.type, err.message), file=sys.stderr)
    sys.exit(1)
except anthropic.APITimeoutError:  # connect or read took longer than the timeout
    print("\ntimed out", file=sys.stderr)
    sys.exit(1)
except anthropic.APIConnectionError as err:  # refused, reset, dropped, or ended before message_stop
    print("\nconnection problem: %s" % err, file=sys.stderr)
    # what arrived before the failure is still there:
    snapshot = stream.current_message_snapshot if stream is not None else None
    if snapshot is not None:
        print("partial answer kept: %d blocks" % len(snapshot.content), file=sys.stderr)
    sys.exit(1)
