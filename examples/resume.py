"""Resume an answer after the connection drops mid-stream, by prefilling what arrived.

The partial text goes back as the start of an assistant turn, and the model continues from
there. Only for plain text answers: thinking and tool-use blocks cannot be prefilled, and
some models refuse assistant prefill altogether.

The library does it for you with ``client.messages.stream(..., max_resumes=2)`` (run this
script with ``--max-resumes`` to see that); below, by default, the same thing written out.
Try it offline, with a connection that drops after five events:

    python3 examples/fake_api.py --drop-after 5 --run python3 examples/resume.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the repo's copy
import claude_stream as anthropic  # noqa: E402

MODEL = os.environ.get("CLAUDE_STREAM_MODEL", "claude-sonnet-5")
question = [{"role": "user", "content": "Explain how rainbows form."}]

client = anthropic.Anthropic()
if "--max-resumes" in sys.argv:  # the library's way: one seamless stream
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=question, max_resumes=2) as stream:
        for text in stream.text_stream:
            print(text, end="", flush=True)
    print()
    sys.exit(0)

answer = ""
for attempt in range(3):
    messages = question + ([{"role": "assistant", "content": answer}] if answer else [])
    try:
        with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
            for text in stream.text_stream:
                if not answer and not text.strip():
                    continue
                answer += text
                print(text, end="", flush=True)
        break
    except anthropic.APIConnectionError as err:
        answer = answer.rstrip()  # the API rejects a prefill that ends in whitespace
        print("\n[connection lost (%s); resuming after %d characters]" % (err, len(answer)), file=sys.stderr)
else:
    sys.exit("gave up after 3 attempts")
print()
