"""Tool use: watch the tool input arrive as JSON fragments, then run the tool and answer."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")
TOOLS = [{
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]


def get_weather(city):
    return {"city": city, "forecast": "sunny", "celsius": 21}


client = anthropic.Anthropic()
messages = [{"role": "user", "content": "What's the weather in Lisbon?"}]
with client.messages.stream(model=MODEL, max_tokens=1024, tools=TOOLS, messages=messages) as stream:
    for event in stream:
        if event.type == "text":
            print(event.text, end="", flush=True)
        elif event.type == "input_json":
            # partial_json is the new fragment; snapshot is the input parsed so far (computed only if read)
            print("\n[tool input so far: %s]" % json.dumps(event.snapshot), end="")
    message = stream.get_final_message()
print()

if message.stop_reason == "tool_use":
    results = [{"type": "tool_result", "tool_use_id": block.id, "content": json.dumps(get_weather(**block.input))}
               for block in message.content if block.type == "tool_use"]
    messages += [{"role": "assistant", "content": [b.to_dict() for b in message.content]},
                 {"role": "user", "content": results}]
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=TOOLS, messages=messages) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
    print()
