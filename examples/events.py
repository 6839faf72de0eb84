"""Handle every event of a stream: raw events plus the derived `text`, `input_json`, ... ones."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")

client = anthropic.Anthropic()
with client.messages.stream(model=MODEL, max_tokens=1024,
                            messages=[{"role": "user", "content": "Say hello in three languages."}]) as stream:
    for event in stream:
        if event.type == "message_start":
            print("[message %s, model %s]" % (event.message.id, event.message.model))
        elif event.type == "text":
            print(event.text, end="", flush=True)
        elif event.type == "content_block_stop":
            print("\n[block %d done: %s]" % (event.index, event.content_block.type))
        elif event.type == "message_delta":
            print("[stop_reason: %s]" % event.delta.stop_reason)
        elif event.type == "message_stop":
            print("[%d output tokens]" % event.message.usage.output_tokens)
