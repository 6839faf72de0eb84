"""Stream (so long answers never hit a request timeout) but only keep the final message."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")

client = anthropic.Anthropic()
with client.messages.stream(model=MODEL, max_tokens=1024,
                            messages=[{"role": "user", "content": "Name three rivers."}]) as stream:
    message = stream.get_final_message()

print(message.to_json())
print("text:", "".join(block.text for block in message.content if block.type == "text"))
