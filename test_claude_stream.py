"""Tests for claude_stream, in the module's order: the sans-IO core first, then the client
over loopback servers, then the command line and the examples.

Sections open with a banner, as in claude_stream.py:

    SSE decoding      WHATWG vectors at every chunk split; line and event size caps
    Models            SDK attribute names, defaults, unknown fields kept, dataclass behaviour
    Events            parse_event; the delta fast path checked against json.loads
    Accumulator       the recorded transcripts against the SDK's events and final message (in
                      memory); snapshots, usage, error events, partial tool-input JSON
    Retry policy      _retry_delay: the server's headers, then backoff
    Loopback servers  helpers only: the scripted HTTP server, its replies, a proxy, thread counts
    Transport         TLS, proxies, connection reuse, header and line limits, the fault matrix
    Public API        the client over loopback: streams, options, errors, retries, resume, close
    Backpressure      background(): order, errors, a bounded lead, close
    Async             AsyncAnthropic: streams, cancellation, kept connections, resume
    CLI               ``python -m claude_stream`` in a subprocess
    Examples          every script in examples/ against the stdlib fake API

Before the first banner: wait_for (the one polling helper, and its async twin), the stream
builders (sse_of, message_start, text_delta, ...) and the recorded transcripts. These are
data in test_claude_stream_transcripts.json next to this file -- TRANSCRIPTS, made-up streams
in the API's framing; SDK_EVENTS and SDK_FINAL, what anthropic 2.12.0 yielded and returned for
the same bytes -- read at import by load_transcripts(). Servers are threads on 127.0.0.1
(port 0); nothing here touches the internet or needs a real key.
"""
from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
import os
import queue
import random
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

import claude_stream as cs

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_for(condition, timeout=2.0, interval=0.005):
    """Poll ``condition()`` every ``interval`` seconds: True once it holds, False if ``timeout``
    seconds pass first. The one polling loop of these tests (wait_for_async: its async twin)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


async def wait_for_async(condition, timeout=2.0, interval=0.005):
    """wait_for inside a coroutine: the event loop keeps running between the polls."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


def sse_of(pairs):
    """The SSE bytes for a list of ``(event, data)`` pairs, as the API frames them."""
    return "".join("event: %s\ndata: %s\n\n" % p for p in pairs).encode()


def message_start(**extra):
    msg = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
    msg.update(extra)
    return ("message_start", json.dumps({"type": "message_start", "message": msg}))


def ev(kind, **fields):
    return (kind, json.dumps(dict({"type": kind}, **fields)))


def text_block(index=0):
    return ev("content_block_start", index=index, content_block={"type": "text", "text": ""})


def text_delta(text, index=0):
    return ev("content_block_delta", index=index, delta={"type": "text_delta", "text": text})


def finish(stop_reason="end_turn", output_tokens=5):
    return [ev("message_delta", delta={"stop_reason": stop_reason, "stop_sequence": None},
               usage={"output_tokens": output_tokens}), ev("message_stop")]


def load_transcripts(name="test_claude_stream_transcripts.json"):
    """TRANSCRIPTS, SDK_EVENTS and SDK_FINAL from the data file next to this one. JSON has no
    tuples: the ``(event, data)`` pairs and the SDK_EVENTS records come back as tuples."""
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        data = json.load(f)
    transcripts = {key: [tuple(pair) for pair in pairs] for key, pairs in data["TRANSCRIPTS"].items()}
    sdk_events = {key: [tuple(record) for record in records] for key, records in data["SDK_EVENTS"].items()}
    return transcripts, sdk_events, data["SDK_FINAL"]


# Recorded-shape transcripts (made-up content, the Messages API's framing). SDK_EVENTS and
# SDK_FINAL are what the official SDK (anthropic 2.12.0) yielded and returned for the same
# bytes on loopback; claude_stream must give the same sequence, fields and final to_dict().
TRANSCRIPTS, SDK_EVENTS, SDK_FINAL = load_transcripts()


# -- SSE decoding -------------------------------------------------------------------------

def replays(data: bytes):
    """``data`` whole, one byte per chunk, and split in two at every offset (h11 style)."""
    yield "whole", [data]
    yield "bytewise", [data[i:i + 1] for i in range(len(data))]
    for i in range(1, len(data)):
        yield "split@%d" % i, [data[:i], data[i:]]


def decode(chunks):
    return [(e.event, e.data, e.id, e.retry) for e in cs.iter_sse(chunks)]


# Each vector cites the WHATWG HTML "interpreting an event stream" rule it exercises.
SSE_VECTORS = [
    # (id, input bytes, expected [(event, data, id, retry)])
    ("lf", b"event: a\ndata: x\n\n", [("a", "x", None, None)]),
    ("crlf", b"event: a\r\ndata: x\r\n\r\n", [("a", "x", None, None)]),
    ("cr", b"event: a\rdata: x\r\r", [("a", "x", None, None)]),  # a lone CR ends a line
    ("mixed-line-ends", b"data: a\r\ndata: b\rdata: c\n\n", [(None, "a\nb\nc", None, None)]),
    ("lf-then-crlf-blank", b"data: a\n\r\n", [(None, "a", None, None)]),
    ("no-event-field", b"data: x\n\n", [(None, "x", None, None)]),
    ("empty-event-field", b"event:\ndata: x\n\n", [(None, "x", None, None)]),
    ("no-space-after-colon", b"data:x\n\n", [(None, "x", None, None)]),
    ("only-one-space-removed", b"data:  x \n\n", [(None, " x ", None, None)]),
    ("colon-in-value", b"data: a: b\n\n", [(None, "a: b", None, None)]),
    ("multi-data-joined-lf", b"data: a\ndata: b\n\n", [(None, "a\nb", None, None)]),
    ("empty-data-line-kept", b"data: a\ndata:\n\n", [(None, "a\n", None, None)]),
    # "data" with no colon is the field with an empty value: buffer "\n", dispatched as "".
    ("field-without-colon", b"data\n\n", [(None, "", None, None)]),
    ("comment-ignored", b": keep-alive\ndata: x\n\n", [(None, "x", None, None)]),
    ("comment-only-block", b": hi\n\n", []),
    # A block without data is not dispatched, and its event type does not leak onward.
    ("no-data-not-dispatched", b"event: a\n\ndata: x\n\n", [(None, "x", None, None)]),
    ("unterminated-block-dropped", b"data: a\n\ndata: b\n", [(None, "a", None, None)]),
    ("unterminated-line-dropped", b"data: a", []),
    ("extra-blank-lines", b"data: x\n\n\n\n", [(None, "x", None, None)]),
    ("unknown-field-ignored", b"foo: bar\ndata: x\n\n", [(None, "x", None, None)]),
    ("field-names-case-sensitive", b"Data: x\n\n", []),
    ("bom-stripped", b"\xef\xbb\xbfdata: x\n\n", [(None, "x", None, None)]),
    ("only-one-bom-stripped", b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", []),
    ("bom-later-kept", b"data: \xef\xbb\xbfx\n\n", [(None, "\ufeffx", None, None)]),
    ("id-persists", b"id: 1\ndata: a\n\ndata: b\n\n", [(None, "a", "1", None), (None, "b", "1", None)]),
    ("id-with-nul-ignored", b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
     [(None, "a", "1", None), (None, "b", "1", None)]),
    ("empty-id-resets", b"id: 1\ndata: a\n\nid\ndata: b\n\n", [(None, "a", "1", None), (None, "b", "", None)]),
    ("id-set-in-undispatched-block", b"id: 7\n\ndata: b\n\n", [(None, "b", "7", None)]),
    ("retry-digits", b"retry: 1500\ndata: a\n\n", [(None, "a", None, 1500)]),
    ("retry-not-digits", b"retry: 15x\ndata: a\n\n", [(None, "a", None, None)]),
    ("retry-negative", b"retry: -1\ndata: a\n\n", [(None, "a", None, None)]),
    ("retry-non-ascii-digit", "retry: \u0663\ndata: a\n\n".encode(), [(None, "a", None, None)]),
    ("retry-empty", b"retry:\ndata: a\n\n", [(None, "a", None, None)]),
    # Only CR and LF end lines: U+2028, U+0085 (NEL), VT and FF stay inside the data.
    ("u2028-not-a-line-end", "data: a\u2028b\n\n".encode(), [(None, "a\u2028b", None, None)]),
    ("nel-not-a-line-end", "data: a\u0085b\n\n".encode(), [(None, "a\u0085b", None, None)]),
    ("vt-ff-not-line-ends", b"data: a\x0bb\x0cc\x1cd\n\n", [(None, "a\x0bb\x0cc\x1cd", None, None)]),
    ("multibyte-utf8", "data: h\u00e9llo \u2713 \U0001f600\n\n".encode(), [(None, "h\u00e9llo \u2713 \U0001f600", None, None)]),
    ("invalid-utf8-replaced", b"data: a\xffb\xc3\n\n", [(None, "a\ufffdb\ufffd", None, None)]),
    ("two-events", b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", [("a", "1", None, None), ("b", "2", None, None)]),
    ("event-value-keeps-inner-space", b"event:  a\ndata: x\n\n", [(" a", "x", None, None)]),
]


@pytest.mark.parametrize("raw,expected", [v[1:] for v in SSE_VECTORS], ids=[v[0] for v in SSE_VECTORS])
def test_sse_vectors_at_every_split(raw, expected):
    for how, chunks in replays(raw):
        assert decode(chunks) == expected, how


def test_sse_cr_at_chunk_end_and_lf_at_next_start_are_one_line_end():
    # "data: a\r" + "\n" + "\n": the LF after the CR is part of the same line end, so the
    # blank line is the third byte run, and exactly one event comes out.
    assert decode([b"data: a\r", b"\n", b"\n"]) == [(None, "a", None, None)]
    assert decode([b"data: a\r", b"", b"\n\r\n"]) == [(None, "a", None, None)]
    assert decode([b"data: a\r", b"\r"]) == [(None, "a", None, None)]


def test_sse_accepts_any_iterable_and_is_lazy():
    def gen():
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"
        raise AssertionError("read past what was needed")
    events = cs.iter_sse(gen())
    assert next(events).data == "1"


def test_sse_line_over_cap_raises_validation_error():
    chunks = [b"data: "] + [b"x" * 1000] * 20
    with pytest.raises(cs.APIResponseValidationError, match="exceeds 8000 bytes"):
        list(cs.iter_sse(chunks, max_size=8000))


def test_sse_event_over_cap_raises_validation_error():
    chunks = [b"data: " + b"x" * 900 + b"\n"] * 20
    with pytest.raises(cs.APIResponseValidationError):
        list(cs.iter_sse(chunks, max_size=8000))


def test_iter_lines_splits_on_bytes_only():
    lines = list(cs.iter_lines([b"a\rb\r", b"\nc\n\xe2\x80\xa8d\r\n"]))
    assert lines == [b"a", b"b", b"c", b"\xe2\x80\xa8d"]


# -- Models -------------------------------------------------------------------------------

def test_event_attributes_match_sdk_names():
    ev = cs.parse_event(cs.ServerSentEvent("content_block_delta", json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}})))
    assert isinstance(ev, cs.RawContentBlockDeltaEvent) and isinstance(ev.delta, cs.InputJSONDelta)
    assert hasattr(ev.delta, "partial_json") and not hasattr(ev.delta, "text")
    ev = cs.parse_event(cs.ServerSentEvent("content_block_delta", json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}})))
    assert ev.delta.text == "hi" and not hasattr(ev.delta, "partial_json")


def test_absent_optional_fields_read_as_defaults_but_are_not_dumped():
    block = cs.TextBlock._from({"type": "text", "text": "x"})
    assert block.citations is None
    assert block.to_dict() == {"type": "text", "text": "x"}


def test_unknown_fields_and_types_round_trip_unchanged():
    raw = {"type": "message_start", "message": {
        "id": "m", "type": "message", "role": "assistant", "model": "x", "future_field": {"a": [1, {"b": 2}]},
        "content": [{"type": "fancy_block", "payload": {"k": [1, 2]}, "nested": {"type": "text", "text": "t"}},
                    {"type": "text", "text": "", "brand_new": True}],
        "usage": {"input_tokens": 1, "output_tokens": 2, "tomorrow_tokens": 3}}}
    ev = cs.parse_event(cs.ServerSentEvent("message_start", json.dumps(raw)))
    assert ev.to_dict() == raw
    assert json.loads(ev.to_json()) == raw
    fancy = ev.message.content[0]
    assert type(fancy) is cs.BaseModel and fancy.type == "fancy_block" and fancy.payload == {"k": [1, 2]}
    assert ev.message.content[1].brand_new is True
    assert ev.message.usage.tomorrow_tokens == 3 and ev.message.future_field == {"a": [1, {"b": 2}]}


def test_models_are_dataclasses_constructible_by_keyword():
    import dataclasses
    block = cs.ToolUseBlock(id="t", name="f", input={"a": 1})
    assert dataclasses.is_dataclass(block) and block.type == "tool_use"
    assert [f.name for f in dataclasses.fields(block)] == ["type", "id", "name", "input", "caller"]
    assert dataclasses.asdict(block) == block.to_dict()
    assert dataclasses.replace(block, name="g").name == "g" and block.name == "f"
    assert block.to_dict() == {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}, "caller": None}
    assert cs.Message(id="m").usage.output_tokens == 0
    assert cs.TextBlock(text="a") == cs.TextBlock(text="a") and cs.TextBlock(text="a") != cs.TextBlock(text="b")
    assert "text='a'" in repr(cs.TextBlock(text="a"))


def test_nested_models_give_attribute_access():
    msg = cs.Message._from({"id": "m", "content": [
        {"type": "web_search_tool_result", "tool_use_id": "s", "content": [
            {"type": "web_search_result", "url": "https://e.example", "title": "E", "encrypted_content": "x"}]},
        {"type": "text", "text": "t", "citations": [{"type": "char_location", "cited_text": "c", "document_index": 0,
                                                     "start_char_index": 0, "end_char_index": 1}]}],
        "usage": {"input_tokens": 1, "output_tokens": 1, "cache_creation": {"ephemeral_5m_input_tokens": 3},
                  "server_tool_use": {"web_search_requests": 2}},
        "stop_details": {"type": "refusal", "category": "cyber"}})
    assert isinstance(msg.content[0], cs.WebSearchToolResultBlock)
    assert msg.content[0].content[0].url == "https://e.example"
    assert isinstance(msg.content[1].citations[0], cs.CitationCharLocation)
    assert msg.usage.cache_creation.ephemeral_5m_input_tokens == 3
    assert msg.usage.server_tool_use.web_search_requests == 2
    assert msg.stop_details.category == "cyber"


# -- Events -------------------------------------------------------------------------------
# One ServerSentEvent in, one typed event out; the API's own delta spelling takes a fast path.

def test_unknown_event_type_is_kept():
    ev = cs.parse_event(cs.ServerSentEvent("brand_new_event", '{"type": "brand_new_event", "foo": 1}'))
    assert ev.type == "brand_new_event" and ev.foo == 1 and ev.to_dict() == {"type": "brand_new_event", "foo": 1}
    # data without a "type" takes the SSE event name, as the SDK does
    ev = cs.parse_event(cs.ServerSentEvent("mystery", '{"foo": 2}'))
    assert ev.type == "mystery" and ev.foo == 2


@pytest.mark.parametrize("data", ["{not json", "", "[1, 2]", '"text"'])
def test_parse_event_rejects_non_object_data(data):
    with pytest.raises(cs.APIResponseValidationError) as info:
        cs.parse_event(cs.ServerSentEvent("content_block_delta", data))
    assert isinstance(info.value, cs.APIError) and "content_block_delta" in str(info.value)


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_raw_events_dump_exactly_what_arrived(name):
    events, _ = [], None
    for sse in cs.iter_sse([sse_of(TRANSCRIPTS[name])]):
        assert cs.parse_event(sse).to_dict() == json.loads(sse.data)


# The API writes deltas in one exact spelling, which parse_event reads by its prefix; these
# vectors start with that prefix and then differ. Each must give what json.loads gives, or
# the same error the general path raises.
HEAD = '{"type":"content_block_delta","index":'
DELTA_SPELLINGS = [
    ("escapes", HEAD + r'0,"delta":{"type":"text_delta","text":"a\nb\u00e9\ud83d\ude00 \"q\" \\ \/"}}'),
    ("non-ascii", HEAD + '0,"delta":{"type":"text_delta","text":"caf\u00e9 日本 😀"}}'),
    ("empty text", HEAD + '0,"delta":{"type":"text_delta","text":""}}'),
    ("index 9", HEAD + '9,"delta":{"type":"text_delta","text":"x"}}'),
    ("index 12", HEAD + '12,"delta":{"type":"text_delta","text":"x"}}'),
    ("thinking", HEAD + '0,"delta":{"type":"thinking_delta","thinking":"hmm"}}'),
    ("tool json", HEAD + '1,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\": 1"}}'),
    ("signature", HEAD + '0,"delta":{"type":"signature_delta","signature":"c2ln"}}'),
    ("trailing space", HEAD + '0,"delta":{"type":"text_delta","text":"x"}} '),
    ("extra field", HEAD + '0,"delta":{"type":"text_delta","text":"x","more":1}}'),
    ("extra outer field", HEAD + '0,"delta":{"type":"text_delta","text":"x"},"more":[1]}'),
    ("text not a string", HEAD + '0,"delta":{"type":"text_delta","text":5}}'),
    ("no text", HEAD + '0,"delta":{"type":"text_delta"}}'),
    ("repeated key", HEAD + '0,"delta":{"type":"text_delta","text":"a","text":"b"}}'),
]
BAD_DELTA_SPELLINGS = [
    ("extra brace", HEAD + '0,"delta":{"type":"text_delta","text":"x"}}}'),
    ("one brace short", HEAD + '0,"delta":{"type":"text_delta","text":"x"}'),
    ("unterminated", HEAD + '0,"delta":{"type":"text_delta","text":"x}}'),
    ("bad escape", HEAD + r'0,"delta":{"type":"text_delta","text":"\x41"}}'),
    ("raw control char", HEAD + '0,"delta":{"type":"text_delta","text":"a\tb"}}'.replace("\\t", "\t")),
    ("arabic digit index", HEAD + '\u0663,"delta":{"type":"text_delta","text":"x"}}'.replace("\\u0663", "\u0663")),
]


@pytest.mark.parametrize("name,data", DELTA_SPELLINGS, ids=[n for n, _ in DELTA_SPELLINGS])
def test_delta_spellings_parse_as_json_says(name, data):
    event = cs.parse_event(cs.ServerSentEvent("content_block_delta", data))
    expected = json.loads(data)
    assert type(event) is cs.RawContentBlockDeltaEvent and event.to_dict() == expected
    assert event.index == expected["index"] and event.delta.type == expected["delta"]["type"]
    kind = {"text_delta": cs.TextDelta, "thinking_delta": cs.ThinkingDelta,
            "input_json_delta": cs.InputJSONDelta, "signature_delta": cs.SignatureDelta}
    assert type(event.delta) is kind[expected["delta"]["type"]]


@pytest.mark.parametrize("name,data", BAD_DELTA_SPELLINGS, ids=[n for n, _ in BAD_DELTA_SPELLINGS])
def test_bad_delta_spellings_raise_like_any_bad_json(name, data):
    with pytest.raises(ValueError):
        json.loads(data)
    with pytest.raises(cs.APIResponseValidationError, match="not JSON"):
        cs.parse_event(cs.ServerSentEvent("content_block_delta", data))


# -- Accumulator --------------------------------------------------------------------------
# The recorded transcripts, fed in memory, against what the SDK yielded and returned; then
# the snapshot, usage, error events and partial tool-input JSON one case at a time.

def run_stream(chunks):
    """Iterate as MessageStream does: decode, parse, feed; returns (events, accumulator)."""
    acc = cs.MessageAccumulator()
    out = []
    for sse in cs.iter_sse(chunks):
        out.extend(acc.feed(cs.parse_event(sse)))
    return out, acc


def derived_fields(ev):
    d = ev.to_dict()
    d.pop("type")
    if ev.type == "content_block_stop":
        return {"content_block": d["content_block"]}
    if ev.type == "message_stop":
        return {}
    return d


def spaced(pairs):
    """The same events in another JSON spelling (spaces after separators, as json.dumps
    writes): not the API's, so every event takes the general parse, not the delta fast path."""
    return [(name, json.dumps(json.loads(data))) for name, data in pairs]


SPELLINGS = {"api": lambda pairs: pairs, "spaced": spaced}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("name", sorted(SDK_FINAL))
def test_transcript_events_and_final_message_match_sdk(name, spelling):
    raw = sse_of(SPELLINGS[spelling](TRANSCRIPTS[name]))
    for how, chunks in [("whole", [raw]), ("bytewise", [raw[i:i + 1] for i in range(len(raw))])]:
        events, acc = run_stream(chunks)
        assert_sdk_events(events, name, how)
        assert acc.done and acc.message.to_dict() == SDK_FINAL[name], how


def assert_sdk_events(events, name, how=""):
    got = [(ev.type,) if len(rec) == 1 else (ev.type, derived_fields(ev)) for ev, rec in zip(events, SDK_EVENTS[name])]
    assert got == SDK_EVENTS[name], how
    assert len(events) == len(SDK_EVENTS[name]), how


def test_final_message_via_accumulate_is_the_snapshot():
    events = [cs.parse_event(s) for s in cs.iter_sse([sse_of(TRANSCRIPTS["tool_use"])])]
    msg = cs.accumulate(events)
    assert isinstance(msg, cs.Message) and msg.to_dict() == SDK_FINAL["tool_use"]
    assert msg.content[1].input == {"location": "San Francisco, CA", "unit": "celsius"}
    assert msg.usage.output_tokens == SDK_FINAL["tool_use"]["usage"]["output_tokens"]


def test_missing_usage_does_not_crash():
    # SDK issue #1806: the SDK raises AttributeError here; we build the usage from what came.
    for name in ("no_usage", "no_usage_start_only", "no_usage_delta_only"):
        events, acc = run_stream([sse_of(TRANSCRIPTS[name])])
        msg = acc.message
        assert acc.done and msg.stop_reason == "end_turn", name
        assert isinstance(msg.usage, cs.Usage), name
        assert [e.type for e in events][-2:] == ["message_delta", "message_stop"], name


def test_null_content_and_usage_in_message_start():
    # review finding: "content": null or "usage": null in message_start crashed the accumulator
    pairs = [("message_start", json.dumps({"type": "message_start", "message": {
        "id": "m", "type": "message", "role": "assistant", "content": None, "usage": None}})),
        text_block(), text_delta("hi"), ev("content_block_stop", index=0)] + finish()
    events, acc = run_stream([sse_of(pairs)])
    assert acc.message.content[0].text == "hi" and acc.message.usage.output_tokens == 5


def test_invalid_tool_json_raises_naming_block_and_text():
    with pytest.raises(cs.APIResponseValidationError) as info:
        run_stream([sse_of(TRANSCRIPTS["invalid_tool_json"])])
    text = str(info.value)
    assert "content block 0" in text and "get_weather" in text and '{"location": INVALID}' in text
    assert isinstance(info.value, ValueError)  # what SDK code catching ValueError expects


def test_unknown_event_before_message_start_passes_through():
    events, acc = run_stream([sse_of(TRANSCRIPTS["unknown_event_first"])])
    assert events[0].type == "brand_new_event" and acc.done


def test_error_event_raises_class_of_its_error_type():
    pairs = [message_start(), text_block(), text_delta("partial"),
             ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                   "request_id": "req_x"}))]
    acc = cs.MessageAccumulator()
    with pytest.raises(cs.OverloadedError) as info:
        for sse in cs.iter_sse([sse_of(pairs)]):
            acc.feed(cs.parse_event(sse))
    err = info.value
    assert err.type == "overloaded_error" and err.status_code == 529 and err.request_id == "req_x"
    assert str(err) == "Error code: 529 - overloaded_error: Overloaded (request-id req_x)"
    assert acc.message.content[0].text == "partial"  # what arrived stays readable


@pytest.mark.parametrize("etype,cls", [
    ("rate_limit_error", cs.RateLimitError), ("api_error", cs.InternalServerError),
    ("invalid_request_error", cs.BadRequestError), ("authentication_error", cs.AuthenticationError),
    ("permission_error", cs.PermissionDeniedError), ("not_found_error", cs.NotFoundError),
    ("request_too_large", cs.RequestTooLargeError), ("brand_new_error", cs.InternalServerError),
])
def test_error_event_classes(etype, cls):
    acc = cs.MessageAccumulator()
    with pytest.raises(cls) as info:
        acc.feed(cs.BaseModel._from({"type": "error", "error": {"type": etype, "message": "m"}}))
    assert info.value.type == etype


def test_events_before_message_start_or_out_of_range_are_malformed():
    acc = cs.MessageAccumulator()
    with pytest.raises(cs.APIResponseValidationError, match="before message_start"):
        for sse in cs.iter_sse([sse_of([text_delta("x")])]):
            acc.feed(cs.parse_event(sse))
    with pytest.raises(cs.APIResponseValidationError, match="content block 3"):
        run_stream([sse_of([message_start(), text_block(), text_delta("x", index=3)])])


def test_accumulate_refuses_a_stream_without_message_stop():
    events = [cs.parse_event(s) for s in cs.iter_sse([sse_of([message_start(), text_block(), text_delta("hi")])])]
    with pytest.raises(cs.APIConnectionError, match="before message_stop"):
        cs.accumulate(events)


def test_block_start_event_is_not_mutated_by_later_deltas():
    # SDK-TS issue #777: the snapshot aliased content_block_start's block.
    events, acc = run_stream([sse_of([message_start(), text_block(), text_delta("a"), text_delta("b")] + finish())])
    start = next(e for e in events if e.type == "content_block_start")
    assert start.content_block.text == "" and acc.message.content[0].text == "ab"
    first = next(e for e in events if e.type == "message_start")
    assert first.message.content == [] and first.message.usage.output_tokens == 1


def test_lazy_snapshots_read_late_still_reflect_their_event():
    pairs = [message_start(), text_block()] + [text_delta(c) for c in "abcd"] + [
        ev("content_block_start", index=1, content_block={"type": "tool_use", "id": "t", "name": "f", "input": {}})] + [
        ev("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": p})
        for p in ['{"x": 1', ', "y": "ab', 'c"}']] + finish()
    events, acc = run_stream([sse_of(pairs)])
    texts = [e for e in events if e.type == "text"]
    assert [e.snapshot for e in texts] == ["a", "ab", "abc", "abcd"]  # read after the whole stream
    inputs = [e for e in events if e.type == "input_json"]
    assert [e.snapshot for e in inputs] == [{"x": 1}, {"x": 1}, {"x": 1, "y": "abc"}]
    assert inputs[0].to_dict() == {"type": "input_json", "partial_json": '{"x": 1', "snapshot": {"x": 1}}


def test_snapshot_mid_stream_shows_text_and_partial_tool_input():
    acc = cs.MessageAccumulator()
    pairs = [message_start(), text_block(), text_delta("Hel"), text_delta("lo"),
             ev("content_block_start", index=1, content_block={"type": "tool_use", "id": "t", "name": "f", "input": {}}),
             ev("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '{"a": [1, 2'})]
    for sse in cs.iter_sse([sse_of(pairs)]):
        acc.feed(cs.parse_event(sse))
    assert acc.message.content[0].text == "Hello"
    assert acc.message.content[1].input == {"a": [1, 2]}


def test_message_delta_overwrites_cumulative_usage_only_where_present():
    pairs = [message_start(usage={"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4}),
             ev("message_delta", delta={"stop_reason": "max_tokens", "stop_sequence": None},
                usage={"output_tokens": 7, "input_tokens": None}), ev("message_stop")]
    _, acc = run_stream([sse_of(pairs)])
    assert acc.message.usage.to_dict() == {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 4}
    assert acc.message.stop_reason == "max_tokens"


def test_signature_replaced_and_thinking_concatenated():
    pairs = [message_start(), ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}),
             ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "a"}),
             ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "s1"}),
             ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "b"}),
             ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "s2"}),
             ev("content_block_stop", index=0)] + finish()
    events, acc = run_stream([sse_of(pairs)])
    block = acc.message.content[0]
    assert (block.thinking, block.signature) == ("ab", "s2")
    assert [e.signature for e in events if e.type == "signature"] == ["s1", "s2"]


def test_mismatched_delta_is_passed_through_without_effect():
    pairs = [message_start(), text_block(),
             ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "zz"}),
             ev("content_block_delta", index=0, delta={"type": "fancy_delta", "x": 1})] + finish()
    events, acc = run_stream([sse_of(pairs)])
    assert [e.type for e in events][2:4] == ["content_block_delta", "content_block_delta"]
    assert events[3].delta.x == 1 and acc.message.content[0].text == ""


# Partial tool-input JSON: expected values are jiter's partial mode (what the SDK calls),
# recorded for each prefix; two deliberate differences are listed below the table.
PARTIAL_JSON = [
    ('{', {}), ('{"a', {}), ('{"a"', {}), ('{"a":', {}), ('{"a": "San', {}), ('{"a": "San"', {"a": "San"}),
    ('{"a": 1', {"a": 1}), ('{"a": 12, "b": [1, 2', {"a": 12, "b": [1, 2]}), ('{"a": 1.', {}),
    ('{"a": -', {}), ('{"a": 1e', {}), ('{"a": tr', {}), ('{"a": true', {"a": True}), ('{"a": nul', {}),
    ('{"a": [{"b": "x"}, {"c', {"a": [{"b": "x"}, {}]}), ('{"a": {"b": {}', {"a": {"b": {}}}),
    ('[1, "ab', [1]), ('{"a": "x\\', {}), ('{"a": "\\u00', {}), ('{"a": 1,', {"a": 1}),
    ('{"a": 1, "b":', {"a": 1}), ('12', 12), ('{"a": 1e5', {"a": 100000.0}),
    ('{"a": "\\u00e9t\\u00e9", "b": "\\"q', {"a": "\u00e9t\u00e9"}),
]


@pytest.mark.parametrize("text,expected", PARTIAL_JSON, ids=[p[0] for p in PARTIAL_JSON])
def test_partial_json_matches_sdk_partial_mode(text, expected):
    assert cs._partial_json(text) == expected


@pytest.mark.parametrize("text", ['{"a": INVALID}', '{"a": "x", }', '{"a": 01}', '{"a" 1}', '{"a": 1}}', '{]'])
def test_partial_json_rejects_what_no_continuation_fixes(text):
    # jiter accepts trailing bytes after a finished value ('{"a": 1}}'); we call that invalid.
    with pytest.raises(ValueError):
        cs._partial_json(text)


def test_partial_json_nothing_finished_is_none():
    # jiter raises on '' and on an unfinished top-level string; we report "nothing yet".
    assert cs._partial_json("") is None and cs._partial_json('"abc') is None


def test_tool_input_cut_off_by_max_tokens_keeps_finished_fields():
    events, acc = run_stream([sse_of(TRANSCRIPTS["max_tokens_mid_tool"])])
    assert acc.message.content[0].input == {"path": "a.txt"} and acc.message.stop_reason == "max_tokens"


def test_tool_input_of_ten_thousand_fragments():
    value = {"rows": [{"id": i, "name": "row %d" % i, "tags": ["a", "b"]} for i in range(2000)]}
    text = json.dumps(value)
    step = max(1, len(text) // 10000)
    pieces = [text[i:i + step] for i in range(0, len(text), step)]
    pairs = [message_start(), ev("content_block_start", index=0, content_block={
        "type": "tool_use", "id": "t", "name": "f", "input": {}})] + [
        ev("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": p}) for p in pieces
    ] + [ev("content_block_stop", index=0)] + finish("tool_use")
    events, acc = run_stream([sse_of(pairs)])
    assert len(pieces) >= 10000
    assert acc.message.content[0].input == value
    assert sum(1 for e in events if e.type == "input_json") == len(pieces)


# -- Retry policy -------------------------------------------------------------------------

@pytest.mark.parametrize("headers,expected", [
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after": "3"}, 3.0),
    ({"retry-after": "2.5"}, 2.5),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),  # now = 07:28:00
    ({"retry-after-ms": "oops", "retry-after": "4"}, 4.0),
])
def test_retry_delay_follows_server_headers(headers, expected):
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert cs._retry_delay(0, headers, now=now, rand=0.0) == pytest.approx(expected)


@pytest.mark.parametrize("headers", [{}, {"retry-after": "61"}, {"retry-after": "0"}, {"retry-after": "-3"},
                                     {"retry-after": "soon"}])
def test_retry_delay_backs_off_when_server_asks_nothing_usable(headers):
    delays = [cs._retry_delay(n, headers, rand=0.0) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert cs._retry_delay(1, headers, rand=1.0) == 0.75  # up to 25 % less, never more


# -- Loopback servers ---------------------------------------------------------------------
# One scripted server: each test lists the replies, in order; each reply is a function
# that writes raw bytes to the socket, so framing, drops and stalls are exact. Helpers
# only: the tests that use them follow, from Transport on.

TEST_KEY = "sk-ant-test-0123456789-SECRET"


class Server:
    """A loopback HTTP server (127.0.0.1, port 0) that plays scripted replies in order."""

    def __init__(self, *replies, tls=None):
        self.replies = list(replies)
        self.requests = []
        self.connections = 0
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                outer.connections += 1

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                self.body = json.loads(body) if body else None
                outer.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": self.body})
                reply = outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                reply(self, outer)
                self.close_connection = not getattr(reply, "keep_alive", False)

        class Quiet(ThreadingHTTPServer):
            request_queue_size = 128  # many clients connect at once in the concurrency tests

            def handle_error(self, request, address):  # a client hanging up is part of the script
                if not isinstance(sys.exc_info()[1], OSError):
                    super().handle_error(request, address)

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:  # an ssl.SSLContext for the server side
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.httpd.server_address[1])

    def close(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(*replies, **options):
        servers.append(Server(*replies, **options))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


def client_for(server, **kw):
    kw.setdefault("api_key", TEST_KEY)
    kw.setdefault("max_retries", 0)
    return cs.Anthropic(base_url=server.url, **kw)


def head(h, status=200, headers=(), chunked=True, content_type="text/event-stream", close=True):
    lines = ["HTTP/1.1 %d X" % status, "content-type: " + content_type, "request-id: req_test_%d" % status]
    lines += ["%s: %s" % kv for kv in headers]
    if chunked or not close:
        lines.append("transfer-encoding: chunked" if chunked else "connection: keep-alive")
    else:
        lines.append("connection: close")
    h.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    h.wfile.flush()


def hold(h, server, seconds):
    """Pause a reply for ``seconds``; end it early if the client hangs up (so its thread ends)."""
    def hung_up():  # readable, yet nothing to read: the client closed its end
        return bool(select.select([h.connection], [], [], 0)[0]) and not h.connection.recv(1, socket.MSG_PEEK)
    ended = wait_for(lambda: server.stopping.is_set() or hung_up(), seconds, interval=0.01)
    if ended and not server.stopping.is_set():
        raise ConnectionAbortedError("client hung up")


def chunk(h, data, chunked=True):
    h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
    h.wfile.flush()


def sse(pairs, *, chunked=True, pause_after=None, pause=0.0, end=True, headers=()):
    """A 200 event stream of ``pairs``, one chunk per event; optionally pause or end abruptly."""
    def reply(h, server):
        head(h, chunked=chunked, headers=headers)
        for i, pair in enumerate(pairs):
            chunk(h, sse_of([pair]), chunked)
            if pause_after == i:
                hold(h, server, pause)
        if end and chunked:
            h.wfile.write(b"0\r\n\r\n")
        if not end:  # drop: close the socket without ending the body
            h.connection.shutdown(socket.SHUT_RDWR)
    return reply


def status(code, body=None, headers=(), content_type="application/json"):
    def reply(h, server):
        data = body if isinstance(body, bytes) else json.dumps(body if body is not None else {
            "type": "error", "error": {"type": "overloaded_error" if code == 529 else "api_error",
                                       "message": "Overloaded" if code == 529 else "boom"}}).encode()
        head(h, code, headers=list(headers) + [("content-length", len(data))], chunked=False,
             content_type=content_type, close=not getattr(reply, "keep_alive", False))
        h.wfile.write(data)
    return reply


def stall(seconds):
    def reply(h, server):
        server.stopping.wait(seconds)
    return reply


def reset():
    def reply(h, server):
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        h.connection.close()
    return reply


def keep(reply):
    reply.keep_alive = True
    return reply


def slowly(reply, seconds):
    def slow(h, server):
        hold(h, server, seconds)
        reply(h, server)
    slow.keep_alive = getattr(reply, "keep_alive", False)
    return slow


def drip(data, gap):
    def reply(h, server):
        head(h)
        for i in range(len(data)):
            chunk(h, data[i:i + 1])
            time.sleep(gap)
        h.wfile.write(b"0\r\n\r\n")
    return reply


def framed(data, cuts):
    """The body as chunks cut at ``cuts`` (byte offsets): boundaries land where the test wants."""
    def reply(h, server):
        head(h)
        last = 0
        for cut in list(cuts) + [len(data)]:
            chunk(h, data[last:cut])
            last = cut
        h.wfile.write(b"0\r\n\r\n")
    return reply


def echo(words=3, pause=0.0):
    """Stream back the request's prompt in ``words`` deltas (so each caller's answer differs)."""
    def reply(h, server):
        prompt = h.body["messages"][0]["content"]
        pieces = [" %s-%d" % (prompt, i) for i in range(words)]
        head(h)
        chunk(h, sse_of([message_start(), text_block()]))
        for piece in pieces:
            chunk(h, sse_of([text_delta(piece)]))
            if pause:
                server.stopping.wait(pause)
        chunk(h, sse_of([ev("content_block_stop", index=0)] + finish()))
        h.wfile.write(b"0\r\n\r\n")
    return reply


def many_deltas(n):
    return sse([message_start(), text_block()] + [text_delta("t%d " % i) for i in range(n)] +
               [ev("content_block_stop", index=0)] + finish())


HELLO = [message_start(), ("ping", '{"type": "ping"}'), text_block(), text_delta("Hello"), text_delta(", world"),
         ev("content_block_stop", index=0)] + finish()
PARAMS = dict(model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "hi"}])


class Proxy:
    """A loopback HTTP proxy: CONNECT tunnels and absolute-form requests, or a refusal."""

    def __init__(self, refuse=None, require_auth=None):
        import socketserver
        self.seen = []  # (request line, headers) of what the proxy received
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            rbufsize = 0  # unbuffered: nothing the client sent can hide in a buffer before the relay

            def handle(self):
                line = self.rfile.readline().decode("latin-1").strip()
                headers = {}
                while True:
                    h = self.rfile.readline().decode("latin-1").strip()
                    if not h:
                        break
                    name, _, value = h.partition(":")
                    headers[name.strip().lower()] = value.strip()
                outer.seen.append((line, headers))
                method, target, _ = line.split(" ", 2)
                if refuse or (require_auth and headers.get("proxy-authorization") != require_auth):
                    code = refuse or 407
                    self.wfile.write(b"HTTP/1.1 %d Refused\r\ncontent-length: 0\r\n\r\n" % code)
                    return
                if method == "CONNECT":
                    host, port = target.rsplit(":", 1)
                    upstream = socket.create_connection((host, int(port)))
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:  # absolute-form: forward as origin-form, without the proxy's headers
                    url = urlsplit(target)
                    upstream = socket.create_connection((url.hostname, url.port))
                    head = ["%s %s HTTP/1.1" % (method, url.path + ("?" + url.query if url.query else ""))]
                    head += ["%s: %s" % kv for kv in headers.items() if kv[0] != "proxy-authorization"]
                    upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
                    upstream.sendall(self.rfile.read(int(headers.get("content-length", 0))))
                self.relay(upstream)

            def relay(self, upstream):
                import select
                ends = [self.connection, upstream]
                while True:
                    ready = select.select(ends, [], [], 5)[0]
                    if not ready:
                        return
                    for end in ready:
                        data = end.recv(65536)
                        if not data:
                            upstream.close()
                            return
                        (upstream if end is self.connection else self.connection).sendall(data)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy():
    proxies = []

    def start(**options):
        proxies.append(Proxy(**options))
        return proxies[-1]
    yield start
    for p in proxies:
        p.close()


def request_threads():
    return [t for t in threading.enumerate() if t.name == "claude_stream.request"]


def wait_threads(baseline, timeout=2.0):
    """The thread count, once it is back down to ``baseline`` (or ``timeout`` seconds passed)."""
    wait_for(lambda: threading.active_count() <= baseline, timeout)
    return threading.active_count()


def wait_for_request_threads(timeout=1.0):
    """The request threads still alive, once there are none (or ``timeout`` seconds passed)."""
    wait_for(lambda: not request_threads(), timeout)
    return request_threads()


# -- Transport ----------------------------------------------------------------------------
# TLS with the test CA, proxies (tunnels, absolute form, the environment), the connection
# pool, and servers that misbehave: oversized lines and headers, the fault matrix.

# A throwaway CA and a server certificate for 127.0.0.1 it signed (valid for 100 years),
# made with openssl for these tests only. The key protects nothing.
TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIDMzCCAhugAwIBAgIUQzGX3LQXe6grx7ibOOT8FKaQi3MwDQYJKoZIhvcNAQEL
BQAwIDEeMBwGA1UEAwwVY2xhdWRlX3N0cmVhbSB0ZXN0IENBMCAXDTI2MTEyNDA3
MDkxNVoYDzIxMjYxMDMxMDcwOTE1WjAgMR4wHAYDVQQDDBVjbGF1ZGVfc3RyZWFt
IHRlc3QgQ0EwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCZTyKLZGJa
wK6oc9C+/JXKvSEgWgAM+no8wsRm8RsbZ/xPkLshBUclClM6dkpPM69cvfm2GIyl
pvs0rd0aN5J7dckKemTN15OOsFQ8jiK6s2pHudIsOlemB7FcEOFuamH7XB3z209s
2/4IXqABWSLBMpn6mgpCg9h3P7BWLAGBYEfYOzjjKxS78ctOo+wLBfelIVkQ0wW0
VGhvn7LC6+xjoDmzPyMiPH6naMIybHBjYTBQ7Cww6vhtQ7npoRoftrCSH0sSxpva
eqtkCUHkDNLcy9OUSLfDLPWxgDftlt7jdEhXyF/C1M8oXpL/CdqHqaZFD468ltDX
5ULbiOqNfFwhAgMBAAGjYzBhMB0GA1UdDgQWBBQ1N6lHJU5teqV8Vqf2nTTVwKEu
/TAfBgNVHSMEGDAWgBQ1N6lHJU5teqV8Vqf2nTTVwKEu/TAPBgNVHRMBAf8EBTAD
AQH/MA4GA1UdDwEB/wQEAwIBBjANBgkqhkiG9w0BAQsFAAOCAQEAEMVR0aYihrMc
+AIzuR2sVI3JGcmRXCTojiayP8ISHWKi9y4ICXOiJcVxQUDeJW9R77+asqBqgOJW
66FyhruRGEG9Luo62w1+DBzI1Vd1KZFa8o+nA1JfbURNFBs4f76/FcASGOWjkKQq
8hwXyy9HlqTvV2Or8QkhMhTecrnrOvl4cpN/ixMEKh5keT+lToOKEpEqxr+LCacF
LEhaZkiv/M8ev7d4JWBo+W8K0ALmUzerJoRhg2JFWwZYcDQ2J1mn3BoPEk/UFNyB
w4GKHlcK0iXV58GvAMkA4CRQ7WdmZ1tY7FzlUXo6ijNkA5erk3LdxkYTOQBuFJVi
BgF2iDXyGQ==
-----END CERTIFICATE-----
"""
TEST_SERVER_PEM = """-----BEGIN CERTIFICATE-----
MIIDUTCCAjmgAwIBAgIUeyG1EnadbQv19ahlwqVlpBCJLq8wDQYJKoZIhvcNAQEL
BQAwIDEeMBwGA1UEAwwVY2xhdWRlX3N0cmVhbSB0ZXN0IENBMCAXDTI2MTEyNDA3
MDkxNVoYDzIxMjYxMDMxMDcwOTE1WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwggEi
MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCZMMqyHhJB7867/vfeG/anwdRN
JjY9eOKkz8XvvqQSq1dcv5aBjhik3DJyjCeDIjStNCW1QnDUpWzfQce5jq6AoTC/
ejSiBWubn4tJoeDbZT9saDpXehYZ6a8p1WBsjMC/H3hf48lhD4NJmTiEKZKQv2vp
IIn5KG4Vd+NG5PmcFyowG88YekNkcyoSQdaYFcT4EiCrMagJOOP38BnWBtHZwIdR
SPlQHmUN3HNlUEMkrFaO7WYwd9Ua8n31ITXlVVIVsQ2lB3W394uKSOL+/t4yqGF4
z4C9r1qms2RPcoEKIEruOzXVF4aawUJatoTw0ydRFY1kvKvbngbI4+T3I1D5AgMB
AAGjgYwwgYkwGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MAkGA1UdEwQCMAAw
CwYDVR0PBAQDAgWgMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBQ9zozh
d/mJ2mQJ3lP8Hx4/EyCX+TAfBgNVHSMEGDAWgBQ1N6lHJU5teqV8Vqf2nTTVwKEu
/TANBgkqhkiG9w0BAQsFAAOCAQEAYdsni/SCuAcpXB2L4yR1YUtOXOBYRK2TH/bF
2SDNPvylzfYZwqND5kur5xn+HVB0D6RQ22UJ9ttxyKwTDc0DyqinS7atIbnvAdz9
ZQQ9SiuZrGWvD3EW0hXZjG7SNjqFZHEdyeI/WwB1GDIB00dmHmGs84891ja+Xbyz
lILxXz/jp/JeL2ZMSw28/s6ZHisywxpu9ZLg3jul/jJ0EhbQRDWHanh5Dhz2cRrr
vI++QL5DY/lLA+DuY9jLSb4RKcybvdZoNWSOuHv9AMLbQDfTuPCm0M0tu+x31P8w
42iVAFC/f2hvEQMHUa22sC6yoyVZHwgabY1lifzVWM5LGuMO2g==
-----END CERTIFICATE-----
"""
TEST_SERVER_KEY = """-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCZMMqyHhJB7867
/vfeG/anwdRNJjY9eOKkz8XvvqQSq1dcv5aBjhik3DJyjCeDIjStNCW1QnDUpWzf
Qce5jq6AoTC/ejSiBWubn4tJoeDbZT9saDpXehYZ6a8p1WBsjMC/H3hf48lhD4NJ
mTiEKZKQv2vpIIn5KG4Vd+NG5PmcFyowG88YekNkcyoSQdaYFcT4EiCrMagJOOP3
8BnWBtHZwIdRSPlQHmUN3HNlUEMkrFaO7WYwd9Ua8n31ITXlVVIVsQ2lB3W394uK
SOL+/t4yqGF4z4C9r1qms2RPcoEKIEruOzXVF4aawUJatoTw0ydRFY1kvKvbngbI
4+T3I1D5AgMBAAECggEADGaqwf3f3ylD7xbA3LYezY3KBe97TJal96Q/kxziY1su
LfqZ0HsUUPmSYTt/UgT0MWFF/C/DZTN5u3Ozxg21iqwsf2kBLGyL6C6ONAkVZC1a
E7M2+zCNls4YDqbmBg45kZSWm2HxQhjjY+iHbrYpgJY+bMI5k8tLaL7VIz6+Biip
xPn+/R15jr5hIQZIqmivOVrhnlTt04R3bgf4lNnAqoTb5+W7V2MPwwmE0tRPIy/k
4oAjDRVBRqiDca3Q+kM1bxeURU/yRtfWycBQVnjeW1YyGtvpKhfvwgcEl+4onmJ4
YG2ggKY5Hq4Kpqz4qE/5PgmJe62ELOniQHIqVQCfEQKBgQDUFjlj+yYREOPMjdY+
ttSmCzeb4LxmPa5PopJTrbEN2hZ3OOZ9ClFu0M0nB0HgABUM5iW+Fvng01GcA+9D
m4prlrGAazFAkNzZ4HCVg9sVqjgo8Ud4iVOKT5KM7ujwxEtwgHGepw0Mb9nU6y9x
pfWFLB1jAXqbErvhdd0GxiX/CwKBgQC46L3gUQi6Y+ekky6Vd0oMnoRrgwyB6xW6
fnFV2TcyQrHset8ECSSREAaekwQQCveImEKYeJGHGlAJiGRzu2dy5hUzLKMUNLTE
wmalS9uObRFyMIOG+13Y/toB9IKWriq9VkWWv5Hzl/87ig2Sz/M9fMj2/ND3gunH
JmuuCuNCiwKBgAPLxgkxFJRXngwqObxzn0i9iKhElHqr/fO08DOJN1MNJTvLC+0P
Azgdip55NcehmL7bW6+UT7KjdaF6PI0UOp0EXHb09DO4pAtORhWW/5PasRiigOn6
Y0FlfTUCja7JhKQl2GLDkKs5UUfLUdUR6FwS1w/PlfcylaRKbMNTRpjTAoGAbfdE
DKZEeYy2kwJQ3uS9bfnLqKCcDJuBJZLS1gpDMCnH5GpCPQUu8PJF7YJjFSNgiKR8
Xm69pUo5tSGfE9CsugEpNHDkXzzlEGrIXp9ZaD9m87D0V48gBc+yWR1PmErl8gnf
gsJVCzgmuwLkBZ6T+so+Pdymbbw2SZCI0014T/cCgYBR/hmbbSlKR/rhk5t58C/t
C4l0cjD7Ui4a5VT9+DFC0CSFsplF/OY3wHLX55xckwe+HsNaqI+z0V8rWR14eweZ
QLI5hqYeU2rDlvZv2piePZ/+zVsdT/tfBRBGZ/zKEijQscdqPycKMmjAXWpOHtep
ruo1aodxN2GvZAniWimF+w==
-----END PRIVATE KEY-----
"""


@pytest.fixture
def certs(tmp_path):
    """Paths of the test CA, and server/client contexts built from the shipped PEMs."""
    ca = tmp_path / "ca.pem"
    ca.write_text(TEST_CA_PEM)
    chain = tmp_path / "server.pem"
    chain.write_text(TEST_SERVER_PEM + TEST_SERVER_KEY)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(chain))
    trusting = ssl.create_default_context(cafile=str(ca))
    return {"ca": str(ca), "server": server, "client": trusting}


def test_tls_verified_with_ssl_cert_file(serve, certs, monkeypatch):
    server = serve(sse(HELLO), tls=certs["server"])
    monkeypatch.setenv("SSL_CERT_FILE", certs["ca"])
    with client_for(server).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"


def test_tls_unknown_ca_is_a_certificate_error_not_retried(serve, certs, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server = serve(sse(HELLO), tls=certs["server"])
    started = time.monotonic()
    with pytest.raises(cs.APIConnectionError) as info:
        client_for(server, max_retries=2).messages.create(**PARAMS)
    assert "certificate" in str(info.value) and "SSL_CERT_FILE" in str(info.value)
    assert time.monotonic() - started < 0.3 and server.requests == []  # no backoff: not retried


def test_https_through_a_connect_tunnel_with_credentials(serve, proxy, certs):
    server = serve(sse(HELLO), tls=certs["server"])
    auth = "Basic " + base64.b64encode(b"user:p@ss word").decode()
    tunnel = proxy(require_auth=auth)
    client = client_for(server, proxy=tunnel.url.replace("//", "//user:p%40ss%20word@"), ssl_context=certs["client"])
    with client.messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    line, headers = tunnel.seen[0]
    port = server.url.rsplit(":", 1)[1]
    assert line.startswith("CONNECT 127.0.0.1:%s HTTP/1." % port) and headers["proxy-authorization"] == auth
    assert "proxy-authorization" not in server.requests[0]["headers"]  # credentials go to the proxy only
    assert "p@ss" not in repr(client) and "p%40ss" not in repr(client)


def test_http_through_a_proxy_in_absolute_form(serve, proxy):
    server = serve(sse(HELLO))
    forward = proxy()
    with client_for(server, proxy=forward.url).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert forward.seen[0][0] == "POST %s/v1/messages HTTP/1.1" % server.url
    assert server.requests[0]["body"]["messages"] == PARAMS["messages"]


def test_proxy_from_environment_and_no_proxy(serve, proxy, certs, monkeypatch):
    server = serve(sse(HELLO), tls=certs["server"])
    tunnel = proxy()
    monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with client_for(server, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert len(tunnel.seen) == 1
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    with client_for(server, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        stream.until_done()
    monkeypatch.delenv("NO_PROXY")
    with client_for(server, ssl_context=certs["client"], proxy=None).messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert len(tunnel.seen) == 1 and len(server.requests) == 3


@pytest.mark.parametrize("env,scheme,host,expected", [
    ({"HTTPS_PROXY": "http://p:1"}, "https", "api.anthropic.com", "http://p:1"),
    ({"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}, "https", "h", "http://lower:1"),
    ({"ALL_PROXY": "http://all:1"}, "https", "h", "http://all:1"),
    ({"HTTP_PROXY": "http://p:1"}, "https", "h", None),  # only the scheme's own variable, or ALL_PROXY
    ({"HTTPS_PROXY": "http://upper:1", "https_proxy": ""}, "https", "h", None),  # empty lower case unsets
    ({"HTTP_PROXY": "http://p:1"}, "http", "h", "http://p:1"),
    ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "http", "h", None),  # CGI: httpoxy
    ({"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"}, "http", "h", "http://p:1"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https", "h", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "anthropic.com"}, "https", "api.anthropic.com", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".anthropic.com"}, "https", "api.anthropic.com", None),
    ({"HTTPS_PROXY": "http://p:1", "no_proxy": "other.com,api.anthropic.com"}, "https", "api.anthropic.com", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.7"}, "https", "10.0.0.7", None),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.7"}, "https", "10.0.0.70", "http://p:1"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "nthropic.com"}, "https", "api.anthropic.com", "http://p:1"),
    ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "api.anthropic.com:8443"}, "https", "api.anthropic.com", "http://p:1"),
])
def test_environment_proxy_rules(monkeypatch, env, scheme, host, expected):
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cs._env_proxy(scheme, host, 443) == expected


@pytest.mark.parametrize("code", [407, 403, 502])
def test_refused_tunnel_names_the_status_and_is_not_retried(serve, proxy, certs, code):
    server = serve(sse(HELLO), tls=certs["server"])
    tunnel = proxy(refuse=code)
    client = client_for(server, proxy=tunnel.url.replace("//", "//alice:hunter2@"), ssl_context=certs["client"],
                        max_retries=2)
    with pytest.raises(cs.APIConnectionError) as info:
        client.messages.create(**PARAMS)
    assert str(code) in str(info.value) and "proxy" in str(info.value)
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)
    assert len(tunnel.seen) == 1 and server.requests == []


@pytest.mark.parametrize("url", ["http://bob:p@ss/w0rd@proxy.corp:3128", "socks5://bob:s3cr@t@proxy:1080"])
def test_proxy_passwords_with_at_or_slash_are_redacted(url):
    # review finding: redaction stopped at the first "/" or "@", so part of a password showed
    with pytest.raises(ValueError) as info:
        cs.Anthropic(api_key=TEST_KEY, base_url="https://api.example", proxy=url.replace("http://", "https://"))
    assert "w0rd" not in str(info.value) and "s3cr" not in str(info.value) and "***@" in str(info.value)


def test_sequential_requests_reuse_one_connection(serve):
    server = serve(keep(sse(HELLO)))
    client = client_for(server)
    for _ in range(3):
        with client.messages.stream(**PARAMS) as stream:
            assert stream.get_final_text() == "Hello, world"
    body = {"id": "m", "type": "message", "role": "assistant", "content": [], "usage": {}}
    server.replies = [keep(status(200, body))]
    for _ in range(3):  # a content-length body goes back to the pool too
        client.messages.create(**PARAMS)
    assert len(server.requests) == 6 and server.connections == 1


def test_abandoned_or_failed_streams_are_not_reused(serve):
    server = serve(keep(sse(HELLO)))
    client = client_for(server)
    with client.messages.stream(**PARAMS) as stream:
        next(iter(stream))  # stop early: the rest of the body is unread
    with client.messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert server.connections == 2
    server.replies = [keep(sse(HELLO[:4], end=False))]  # rides the kept connection, then fails
    with client.messages.stream(**PARAMS) as stream, pytest.raises(cs.APIConnectionError):
        stream.until_done()
    server.replies = [keep(sse(HELLO))]
    with client.messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert server.connections == 3  # the failed one was dropped, not handed out again


def test_dead_kept_connection_is_replaced_transparently(serve):
    server = serve(keep(sse(HELLO)), reset(), keep(sse(HELLO)))
    client = client_for(server, max_retries=0)
    for _ in range(2):
        with client.messages.stream(**PARAMS) as stream:
            assert stream.get_final_text() == "Hello, world"
    assert len(server.requests) == 3 and server.connections == 2


def test_timeout_on_a_kept_connection_is_not_sent_again(serve):
    # review finding: a timeout on a kept connection looked like a dead idle connection,
    # so the request went out again (the server may have been working on it)
    server = serve(keep(sse(HELLO)), stall(5))
    client = client_for(server, timeout=0.3)
    with client.messages.stream(**PARAMS) as stream:
        stream.until_done()
    with pytest.raises(cs.APITimeoutError):
        client.messages.create(**PARAMS)
    assert len(server.requests) == 2


def test_gzip_is_never_requested(serve):
    server = serve(sse(HELLO))
    with client_for(server).messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert server.requests[0]["headers"].get("accept-encoding", "identity") == "identity"


def test_oversized_line_is_refused_as_soon_as_the_cap_passes(serve):
    def reply(h, server):
        head(h)
        chunk(h, sse_of([message_start(), text_block()]) + b"data: ")
        for _ in range(20):
            chunk(h, b"x" * (1024 * 1024))
        h.wfile.write(b"0\r\n\r\n")
    server = serve(reply)
    with client_for(server).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.APIResponseValidationError, match="exceeds 16777216 bytes"):
            stream.until_done()
    server.replies = [reply]
    with client_for(server, max_line_size=1024 * 1024).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.APIResponseValidationError, match="exceeds 1048576 bytes"):
            stream.until_done()


@pytest.mark.parametrize("headers", [[("x-h%d" % i, "v") for i in range(150)], [("x-long", "v" * 70000)]])
def test_oversized_headers_are_refused(serve, headers):
    server = serve(sse(HELLO, headers=headers))
    with pytest.raises(cs.APIResponseValidationError, match="headers"):
        client_for(server, max_retries=2).messages.create(stream=True, **PARAMS)
    assert len(server.requests) == 1


# The fault matrix: each failure a restricted network or a broken server can produce, and
# exactly what the caller sees. Text that arrived before a failure is kept, never repeated.

UNICODE = [message_start(), text_block(), ("content_block_delta", json.dumps(
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "caf\u00e9 \u2713 \U0001f600"}},
    ensure_ascii=False)), ev("content_block_stop", index=0)]
UNICODE_BYTES = sse_of(UNICODE + finish()).replace(b"\n", b"\r\n")
EMOJI_AT = UNICODE_BYTES.index("\U0001f600".encode())
CRLF_AT = UNICODE_BYTES.index(b"\r\n")
ERROR_EVENT = ("error", json.dumps({"type": "error", "error": {"type": "api_error", "message": "boom"}}))
PARTIAL = [message_start(), text_block(), text_delta("kept ")]

FAULTS = [
    # id, replies, client options, expected exception (None: success), expected text
    ("reset-before-headers", [reset()], {}, cs.APIConnectionError, None),
    ("reset-after-3-events", [sse(PARTIAL, end=False)], {}, cs.APIConnectionError, "kept "),
    ("stall-before-headers", [stall(5)], {"timeout": 0.3}, cs.APITimeoutError, None),
    ("stall-mid-body", [sse(PARTIAL, pause_after=2, pause=5)], {"timeout": 0.3}, cs.APITimeoutError, "kept "),
    ("slow-drip-one-byte", [drip(sse_of(HELLO), 0.001)], {"timeout": 0.25}, None, "Hello, world"),
    ("chunk-inside-utf8", [framed(UNICODE_BYTES, [EMOJI_AT + 1, EMOJI_AT + 3])], {}, None, "caf\u00e9 \u2713 \U0001f600"),
    ("chunk-inside-crlf", [framed(UNICODE_BYTES, [CRLF_AT + 1, CRLF_AT + 3])], {}, None, "caf\u00e9 \u2713 \U0001f600"),
    ("429-retry-after-ms", [status(429, headers=[("retry-after-ms", "20")]), sse(HELLO)], {"max_retries": 1},
     None, "Hello, world"),
    ("529-retry-after", [status(529, headers=[("retry-after", "0.02")]), sse(HELLO)], {"max_retries": 1},
     None, "Hello, world"),
    ("500-should-retry-false", [status(500, headers=[("x-should-retry", "false")]), sse(HELLO)],
     {"max_retries": 2}, cs.InternalServerError, None),
    ("error-event-after-text", [sse(PARTIAL + [ERROR_EVENT])], {}, cs.InternalServerError, "kept "),
    ("ends-without-message-stop", [sse(PARTIAL)], {}, cs.APIConnectionError, "kept "),
    ("malformed-json-data", [sse(PARTIAL + [("content_block_delta", '{"type": "content_block_delta", ')])], {},
     cs.APIResponseValidationError, "kept "),
    ("html-502-from-gateway", [status(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                                      content_type="text/html")], {}, cs.InternalServerError, None),
    ("200-not-event-stream", [status(200, b"<html>captive portal</html>", content_type="text/html")], {},
     cs.APIResponseValidationError, None),
]


@pytest.mark.parametrize("replies,options,error,text", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_fault_matrix(serve, replies, options, error, text):
    server = serve(*replies)
    options = dict({"max_retries": 0}, **options)
    texts = []
    stream = None
    started = time.monotonic()
    try:
        with client_for(server, **options).messages.stream(**PARAMS) as stream:
            for piece in stream.text_stream:
                texts.append(piece)
    except cs.APIError as exc:
        assert error is not None and type(exc) is error, repr(exc)
    else:
        assert error is None, "expected %s" % error.__name__
    assert time.monotonic() - started < 3.0
    if text is not None:
        assert "".join(texts) == text  # nothing lost, nothing repeated
        assert stream.current_message_snapshot.content[0].text == text
    if error is None:
        assert stream.get_final_message().stop_reason == "end_turn"


# -- Public API ---------------------------------------------------------------------------
# The sync client against the scripted server: streams and the request they send, options
# and credentials, errors, retries, resume after a drop, close().

def test_stream_text_events_and_request_shape(serve):
    server = serve(sse(HELLO))
    with client_for(server).messages.stream(**PARAMS) as stream:
        events = list(stream)
        assert stream.request_id == "req_test_200" and stream.response.status_code == 200
    assert [e.type for e in events] == ["message_start", "content_block_start", "content_block_delta", "text",
                                        "content_block_delta", "text", "content_block_stop", "message_delta",
                                        "message_stop"]
    assert stream.get_final_text() == "Hello, world"
    assert events[-1].message is stream.current_message_snapshot
    req = server.requests[0]
    assert req["path"] == "/v1/messages" and req["body"] == dict(PARAMS, stream=True)
    h = req["headers"]
    assert h["x-api-key"] == TEST_KEY and h["anthropic-version"] == "2023-06-01"
    assert h["content-type"] == "application/json" and h["user-agent"].startswith("claude_stream/" + cs.__version__)
    assert "authorization" not in h


def test_text_stream_and_final_message(serve):
    server = serve(sse(HELLO))
    with client_for(server).messages.stream(**PARAMS) as stream:
        assert list(stream.text_stream) == ["Hello", ", world"]
        msg = stream.get_final_message()
    assert msg.content[0].text == "Hello, world" and msg.stop_reason == "end_turn"
    assert msg.usage.output_tokens == 5


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("name", sorted(SDK_FINAL))
def test_text_stream_then_final_message_match_sdk(serve, name, spelling):
    # text_stream reads the snapshot's deltas without building events: same texts, same final.
    server = serve(sse(SPELLINGS[spelling](TRANSCRIPTS[name])))
    with client_for(server).messages.stream(**PARAMS) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == [rec[1]["text"] for rec in SDK_EVENTS[name] if rec[0] == "text"]
    assert final.to_dict() == SDK_FINAL[name]


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("name", sorted(SDK_FINAL))
def test_stream_events_then_final_message_match_sdk(serve, name, spelling):
    server = serve(sse(SPELLINGS[spelling](TRANSCRIPTS[name])))
    with client_for(server).messages.stream(**PARAMS) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert_sdk_events(events, name)
    assert final.to_dict() == SDK_FINAL[name]


def test_get_final_message_alone_matches_sdk_on_thinking_and_tools(serve):
    server = serve(sse(TRANSCRIPTS["thinking"]), sse(TRANSCRIPTS["tool_use"]))
    client = client_for(server)
    for name in ("thinking", "tool_use"):
        with client.messages.stream(**PARAMS) as stream:
            assert stream.get_final_message().to_dict() == SDK_FINAL[name]


def test_text_stream_after_some_events_gives_each_text_once(serve):
    server = serve(sse(HELLO))
    with client_for(server).messages.stream(**PARAMS) as stream:
        first = [next(stream) for _ in range(3)]  # message_start, block start, the "Hello" delta
        assert first[-1].type == "content_block_delta" and first[-1].delta.text == "Hello"
        assert list(stream.text_stream) == ["Hello", ", world"]  # its text event was still to come
        assert stream.get_final_text() == "Hello, world"


def test_events_after_some_text_continue_where_text_stopped(serve):
    server = serve(sse(HELLO))
    with client_for(server).messages.stream(**PARAMS) as stream:
        assert next(stream.text_stream) == "Hello"
        nxt = next(stream)
        assert nxt.type == "content_block_delta" and nxt.delta.text == ", world"
        assert next(stream.text_stream) == ", world"
        assert [e.type for e in stream] == ["content_block_stop", "message_delta", "message_stop"]
        assert list(stream.text_stream) == []
        assert stream.get_final_message().content[0].text == "Hello, world"


def test_no_events_after_text_stream_failed(serve):
    # review finding: events already read in the same chunk as a bad one came out of the
    # event iterator after text_stream had raised, and the final message lost a piece
    pairs = [message_start(), text_block(), text_delta("Hello"), ("content_block_delta", "{bad"),
             text_delta("!"), ev("content_block_stop", index=0)] + finish()

    def one_chunk(h, server):
        head(h)
        chunk(h, sse_of(pairs))
        h.wfile.write(b"0\r\n\r\n")
    server = serve(one_chunk)
    with client_for(server).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.APIResponseValidationError):
            list(stream.text_stream)
        assert list(stream) == [] and list(stream.text_stream) == []
        with pytest.raises(cs.APIConnectionError, match="incomplete"):
            stream.get_final_message()


def test_final_message_after_a_failed_stream_raises_not_partial(serve):
    error = ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = serve(sse([message_start(), text_block(), text_delta("partial "), error]))
    with client_for(server).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.OverloadedError):
            list(stream.text_stream)
        with pytest.raises(cs.APIConnectionError, match="incomplete"):
            stream.get_final_message()
    assert stream.current_message_snapshot.content[0].text == "partial "


def test_stream_is_lazy_until_with(serve):
    server = serve(sse(HELLO))
    manager = client_for(server).messages.stream(**PARAMS)
    time.sleep(0.05)
    assert server.requests == []
    with manager as stream:
        stream.until_done()
    assert len(server.requests) == 1


def test_create_stream_true_yields_raw_events_only(serve):
    server = serve(sse(HELLO))
    with client_for(server).messages.create(stream=True, **PARAMS) as raw:
        assert isinstance(raw, cs.Stream) and raw.response.status == 200
        kinds = [e.type for e in raw]
    assert kinds == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                     "content_block_stop", "message_delta", "message_stop"]


def test_create_without_stream_returns_message(serve):
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
            "stop_sequence": None, "content": [{"type": "text", "text": "hi"}],
            "usage": {"input_tokens": 1, "output_tokens": 2}}
    server = serve(status(200, body))
    msg = client_for(server).messages.create(**PARAMS)
    assert isinstance(msg, cs.Message) and msg.content[0].text == "hi" and msg.to_dict() == body
    assert "stream" not in server.requests[0]["body"]


def test_per_call_extras_and_with_options(serve):
    server = serve(sse(HELLO))
    client = client_for(server, default_headers={"x-team": "a"}).with_options(timeout=30)
    with client.messages.stream(**PARAMS, extra_headers={"x-extra": "1", "anthropic-version": "2099-01-01"},
                                extra_query={"beta": "true"}, extra_body={"metadata": {"user_id": "u"}},
                                timeout=20) as stream:
        stream.until_done()
    req = server.requests[0]
    assert req["path"] == "/v1/messages?beta=true" and req["body"]["metadata"] == {"user_id": "u"}
    assert req["headers"]["x-extra"] == "1" and req["headers"]["x-team"] == "a"
    assert req["headers"]["anthropic-version"] == "2099-01-01"
    assert client.timeout == 30 and client.api_key == TEST_KEY


def test_auth_token_sent_as_bearer(serve, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    server = serve(sse(HELLO))
    client = cs.Anthropic(auth_token="tok-123", base_url=server.url)
    with client.messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert server.requests[0]["headers"]["authorization"] == "Bearer tok-123"
    assert "x-api-key" not in server.requests[0]["headers"]


def test_environment_supplies_key_and_base_url(serve, monkeypatch):
    server = serve(sse(HELLO))
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url + "/")
    with cs.Anthropic().messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"


def test_missing_credentials_fail_before_connecting(serve, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    server = serve(sse(HELLO))
    client = cs.Anthropic(base_url=server.url)
    with pytest.raises(cs.AnthropicError, match="ANTHROPIC_API_KEY"):
        with client.messages.stream(**PARAMS):
            pass
    assert server.requests == []


def test_key_with_a_newline_is_refused_without_echoing_it(serve):
    # review finding: a header value http.client refuses (a key read with its newline)
    # came back in the error message, key and all
    server = serve(sse(HELLO))
    client = cs.Anthropic(api_key=TEST_KEY + "\n", base_url=server.url, max_retries=2)
    with pytest.raises(cs.AnthropicError) as info:
        client.messages.create(**PARAMS)
    assert "x-api-key" in str(info.value) and TEST_KEY not in str(info.value) and server.requests == []


def test_no_credential_in_any_repr_message_or_log(serve, proxy, caplog, monkeypatch):
    import logging
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")
    caplog.set_level(logging.DEBUG, logger="claude_stream")
    forward = proxy()
    error = ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = serve(status(529, headers=[("retry-after-ms", "1")]), sse(HELLO), sse(HELLO), sse(HELLO[:4] + [error]),
                   status(401))
    secret_proxy = forward.url.replace("//", "//bob:PROXYSECRET@")
    client = cs.Anthropic(api_key=TEST_KEY, auth_token="TOKENSECRET", base_url=server.url, proxy=secret_proxy,
                          max_retries=1)
    seen = [repr(client), repr(client.with_options(timeout=3)), repr(cs.AsyncAnthropic(api_key=TEST_KEY))]
    with client.messages.stream(**PARAMS) as stream:
        stream.until_done()
        seen += [repr(stream), repr(stream.get_final_message())]
    with client.messages.create(stream=True, **PARAMS) as raw:
        seen += [repr(raw)] + [repr(event) for event in raw]
    for attempt in (lambda: client.messages.stream(**PARAMS).__enter__().until_done(),
                    lambda: client.messages.create(**PARAMS)):
        with pytest.raises(cs.APIError) as info:
            attempt()
        seen += [repr(info.value), str(info.value), repr(info.value.body)]
    seen.append(caplog.text)
    assert "retrying" in caplog.text and "POST" in caplog.text
    for text in seen:
        for secret in (TEST_KEY, "TOKENSECRET", "PROXYSECRET"):
            assert secret not in text
    assert server.requests[0]["headers"]["x-api-key"] == TEST_KEY  # it was sent, just never shown


@pytest.mark.parametrize("code,cls", [
    (400, cs.BadRequestError), (401, cs.AuthenticationError), (403, cs.PermissionDeniedError),
    (404, cs.NotFoundError), (409, cs.ConflictError), (413, cs.RequestTooLargeError),
    (422, cs.UnprocessableEntityError), (429, cs.RateLimitError), (500, cs.InternalServerError),
    (502, cs.InternalServerError), (529, cs.OverloadedError), (418, cs.APIStatusError),
])
def test_http_error_status_raises_its_class(serve, code, cls):
    body = {"type": "error", "error": {"type": "some_error", "message": "went wrong"}, "request_id": "req_b"}
    server = serve(status(code, body))
    with pytest.raises(cls) as info:
        with client_for(server).messages.stream(**PARAMS):
            pass
    err = info.value
    assert type(err) is cls and err.status_code == code and err.request_id == "req_test_%d" % code
    assert err.body == body and err.type == "some_error" and err.response.status == code
    assert str(err) == "Error code: %d - some_error: went wrong (request-id req_test_%d)" % (code, code)


def test_error_status_with_html_body_shows_its_start(serve):
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server = serve(status(502, page, content_type="text/html"))
    with pytest.raises(cs.InternalServerError) as info:
        client_for(server).messages.create(**PARAMS)
    assert "502 Bad Gateway" in str(info.value) and info.value.body.startswith("<html>")


def test_mid_stream_error_event_raises_matching_class_and_keeps_partial(serve):
    error = ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = serve(sse([message_start(), text_block(), text_delta("partial "), error]))
    with client_for(server).messages.stream(**PARAMS) as stream:
        seen = []
        with pytest.raises(cs.OverloadedError) as info:
            for text in stream.text_stream:
                seen.append(text)
    assert seen == ["partial "] and stream.current_message_snapshot.content[0].text == "partial "
    assert info.value.type == "overloaded_error" and info.value.request_id == "req_test_200"
    assert info.value.response is stream.response


def test_connection_refused_is_api_connection_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = cs.Anthropic(api_key=TEST_KEY, base_url="http://127.0.0.1:%d" % port, max_retries=0)
    with pytest.raises(cs.APIConnectionError, match="refused") as info:
        client.messages.create(**PARAMS)
    assert isinstance(info.value, ConnectionError) and not isinstance(info.value, cs.APITimeoutError)


def test_reset_before_headers_is_api_connection_error(serve):
    server = serve(reset())
    with pytest.raises(cs.APIConnectionError):
        with client_for(server).messages.stream(**PARAMS):
            pass


def test_drop_mid_body_raises_and_keeps_snapshot(serve):
    server = serve(sse([message_start(), text_block(), text_delta("half")], end=False))
    with client_for(server).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.APIConnectionError) as info:
            stream.until_done()
    assert not isinstance(info.value, cs.APITimeoutError)
    assert stream.current_message_snapshot.content[0].text == "half"


def test_body_ending_before_message_stop_is_incomplete_not_silent(serve):
    server = serve(sse([message_start(), text_block(), text_delta("half")]))
    with client_for(server).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.APIConnectionError, match="incomplete"):
            stream.get_final_message()
    assert stream.current_message_snapshot.content[0].text == "half"


def test_close_delimited_body(serve):
    server = serve(sse(HELLO, chunked=False))
    with client_for(server).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"


def test_invalid_json_event_raises_after_delivering_earlier_events(serve):
    server = serve(sse([message_start(), text_block(), text_delta("ok"), ("content_block_delta", "{oops")]))
    with client_for(server).messages.stream(**PARAMS) as stream:
        got = []
        with pytest.raises(cs.APIResponseValidationError, match="not JSON") as info:
            for text in stream.text_stream:
                got.append(text)
    assert got == ["ok"] and isinstance(info.value, cs.APIError)


def test_oversized_non_stream_body_is_refused_once_not_retried(serve):
    # a body past max_line_size is a validation error: sending the (billed) request again
    # would only get the same body, so it must not count as a connection error and retry
    body = {"id": "m", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "x" * 5000}]}
    server = serve(status(200, body), status(200, body), status(200, body))
    with pytest.raises(cs.APIResponseValidationError, match="exceeds"):
        client_for(server, max_retries=2, max_line_size=1000).messages.create(**PARAMS)
    assert len(server.requests) == 1


def test_non_sse_200_on_stream_request_is_refused(serve):
    server = serve(status(200, b"<html>Please log in to the hotel wifi</html>", content_type="text/html"))
    with pytest.raises(cs.APIResponseValidationError, match="hotel wifi"):
        with client_for(server).messages.stream(**PARAMS):
            pass


def test_redirect_is_not_followed(serve):
    server = serve(status(307, b"", headers=[("location", "https://elsewhere.example/v1/messages")]))
    with pytest.raises(cs.APIStatusError) as info:
        client_for(server).messages.create(**PARAMS)
    assert info.value.status_code == 307 and "elsewhere.example" in str(info.value)
    assert len(server.requests) == 1


def test_stall_mid_stream_times_out_within_the_timeout(serve):
    server = serve(sse([message_start(), text_block(), text_delta("a")], pause_after=2, pause=5))
    client = client_for(server, timeout=0.3)
    with client.messages.stream(**PARAMS) as stream:
        started = time.monotonic()
        with pytest.raises(cs.APITimeoutError):
            stream.until_done()
        waited = time.monotonic() - started
    assert 0.25 <= waited < 1.0
    assert stream.current_message_snapshot.content[0].text == "a"


def test_stall_before_headers_times_out(serve):
    server = serve(stall(5))
    started = time.monotonic()
    with pytest.raises(cs.APITimeoutError):
        client_for(server, timeout=0.3).messages.create(**PARAMS)
    assert time.monotonic() - started < 1.0


def test_pings_keep_a_slow_stream_alive(serve):
    def reply(h, server):
        head(h)
        chunk(h, sse_of([message_start(), text_block()]))
        for _ in range(6):
            server.stopping.wait(0.1)
            chunk(h, sse_of([("ping", '{"type": "ping"}')]))
        chunk(h, sse_of([text_delta("late"), ev("content_block_stop", index=0)] + finish()))
        h.wfile.write(b"0\r\n\r\n")
    server = serve(reply)
    with client_for(server, timeout=0.3).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "late"


def test_first_delta_arrives_while_server_holds_the_rest(serve):
    server = serve(sse(HELLO, pause_after=3, pause=2.0))
    with client_for(server).messages.stream(**PARAMS) as stream:
        started = time.monotonic()
        first = next(iter(stream.text_stream))
        assert first == "Hello" and time.monotonic() - started < 1.0
        stream.close()


def test_retry_on_529_then_success(serve):
    server = serve(status(529, headers=[("retry-after-ms", "10")]), status(529, headers=[("retry-after-ms", "10")]),
                   sse(HELLO))
    with client_for(server, max_retries=2).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert len(server.requests) == 3


def test_retries_exhausted_raise_the_last_error(serve):
    server = serve(status(529, headers=[("retry-after-ms", "10")]))
    with pytest.raises(cs.OverloadedError):
        client_for(server, max_retries=2).messages.create(**PARAMS)
    assert len(server.requests) == 3


def test_retry_waits_what_retry_after_ms_asks(serve):
    server = serve(status(429, headers=[("retry-after-ms", "400")]), sse(HELLO))
    started = time.monotonic()
    with client_for(server, max_retries=1).messages.stream(**PARAMS) as stream:
        stream.until_done()
    assert 0.4 <= time.monotonic() - started < 1.2 and len(server.requests) == 2


@pytest.mark.parametrize("code,headers,attempts", [
    (500, [("x-should-retry", "false")], 1), (400, [], 1), (401, [], 1), (404, [], 1), (422, [], 1),
    (400, [("x-should-retry", "true")], 2), (408, [], 2), (409, [], 2), (503, [], 2),
])
def test_which_statuses_retry(serve, code, headers, attempts):
    server = serve(status(code, headers=list(headers) + [("retry-after-ms", "1")]), sse(HELLO))
    try:
        with client_for(server, max_retries=1).messages.stream(**PARAMS) as stream:
            stream.until_done()
    except cs.APIStatusError as err:
        assert err.status_code == code and attempts == 1
    assert len(server.requests) == attempts


def test_connection_failure_before_response_is_retried(serve):
    server = serve(reset(), sse(HELLO))
    with client_for(server, max_retries=1).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert len(server.requests) == 2


def test_nothing_is_retried_once_the_body_started(serve):
    server = serve(sse([message_start(), text_block(), text_delta("x")], end=False), sse(HELLO))
    with client_for(server, max_retries=2).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.APIConnectionError):
            stream.until_done()
    assert len(server.requests) == 1


def test_resume_after_a_drop_gives_one_seamless_answer(serve):
    first = sse([message_start(), text_block(), text_delta("The answer "), text_delta("is")], end=False)
    rest = sse([message_start(), text_block(), text_delta(" forty-two."), ev("content_block_stop", index=0)]
               + finish())
    server = serve(first, rest)
    with client_for(server).messages.stream(max_resumes=1, **PARAMS) as stream:
        texts = list(stream.text_stream)
        message = stream.get_final_message()
    assert texts == ["The answer ", "is", " forty-two."]
    assert message.content[0].text == "The answer is forty-two." and len(message.content) == 1
    assert server.requests[1]["body"]["messages"][-1] == {"role": "assistant", "content": "The answer is"}


def test_resume_trims_whitespace_from_the_prefill_and_the_continuation(serve):
    first = sse([message_start(), text_block(), text_delta("Hello, ")], end=False)
    rest = sse([message_start(), text_block(), text_delta(" world"), ev("content_block_stop", index=0)] + finish())
    server = serve(first, rest)
    with client_for(server).messages.stream(max_resumes=2, **PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert server.requests[1]["body"]["messages"][-1]["content"] == "Hello,"


def test_resume_is_off_by_default_and_refuses_non_text_blocks(serve):
    drop = sse([message_start(), text_block(), text_delta("x")], end=False)
    server = serve(drop, sse(HELLO))
    with client_for(server).messages.stream(**PARAMS) as stream, pytest.raises(cs.APIConnectionError):
        stream.until_done()
    thinking = sse([message_start(), ev("content_block_start", index=0, content_block={
        "type": "thinking", "thinking": "", "signature": ""}),
        ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hm"})], end=False)
    server = serve(thinking, sse(HELLO))
    with client_for(server).messages.stream(max_resumes=3, **PARAMS) as stream, pytest.raises(cs.APIConnectionError):
        stream.until_done()
    assert len(server.requests) == 1


def test_resume_after_a_prefill_given_as_blocks(serve):
    # review finding: resume assumed the assistant prefill was a string, not a list of blocks
    first = sse([message_start(), text_block(), text_delta("is")], end=False)
    rest = sse([message_start(), text_block(), text_delta(" 42."), ev("content_block_stop", index=0)] + finish())
    server = serve(first, rest)
    messages = PARAMS["messages"] + [{"role": "assistant", "content": [{"type": "text", "text": "The answer"}]}]
    with client_for(server).messages.stream(max_resumes=1, **dict(PARAMS, messages=messages)) as stream:
        assert stream.get_final_text() == "is 42."
    assert server.requests[1]["body"]["messages"][-1]["content"][-1] == {"type": "text", "text": "is"}


def test_close_from_another_thread_ends_a_blocked_read_promptly(serve):
    server = serve(sse(HELLO, pause_after=3, pause=10))
    with client_for(server).messages.stream(**PARAMS) as stream:
        assert next(stream.text_stream) == "Hello"
        timer = threading.Timer(0.2, stream.close)
        timer.start()
        started = time.monotonic()
        rest = list(stream.text_stream)  # ends quietly: the caller closed it
        assert rest == [] and time.monotonic() - started < 1.0


def test_close_from_a_keyboard_interrupt_handler(serve):
    import signal
    server = serve(sse(HELLO, pause_after=3, pause=10))

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        with client_for(server).messages.stream(**PARAMS) as stream:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            try:
                for _ in stream.text_stream:
                    pass
            except KeyboardInterrupt:
                started = time.monotonic()
                stream.close()
                assert time.monotonic() - started < 0.5
            else:
                raise AssertionError("the stream ended without the interrupt")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert stream.current_message_snapshot.content[0].text == "Hello, world"[:5]


def test_close_during_a_resume_calls_the_new_request_off(serve):
    # review finding: close() left the resume request waiting and retrying, and the closed
    # stream then raised a timeout seconds later
    server = serve(sse([message_start(), text_block(), text_delta("Half an ")], end=False), stall(5))
    with client_for(server, max_retries=1, timeout=3).messages.stream(max_resumes=1, **PARAMS) as stream:
        threading.Timer(0.1, lambda: wait_for(lambda: len(server.requests) == 2) and stream.close()).start()
        started = time.monotonic()
        texts = list(stream.text_stream)  # ends quietly: the caller closed it
        assert texts == ["Half an "] and time.monotonic() - started < 1.5
    time.sleep(0.3)
    assert len(server.requests) == 2 and wait_for(lambda: request_threads() == [])
    with pytest.raises(cs.APIConnectionError, match="incomplete"):
        stream.get_final_message()


def test_fifty_threads_share_one_client(serve):
    server = serve(echo())
    client = client_for(server)
    results = {}

    def run(i):
        with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "p%d" % i}]) as s:
            results[i] = s.get_final_text()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {i: "".join(" p%d-%d" % (i, k) for k in range(3)) for i in range(50)}


# -- Backpressure -------------------------------------------------------------------------

def test_background_yields_same_items_in_order():
    with cs.background(iter(range(1000)), maxsize=7) as items:
        assert list(items) == list(range(1000))


def test_background_reraises_producer_error_with_its_traceback():
    def source():
        yield 1
        raise KeyError("from the producer")
    items = cs.background(source())
    assert next(items) == 1
    with pytest.raises(KeyError, match="from the producer") as info:
        next(items)
    assert any(entry.name == "source" for entry in info.traceback)


def test_background_bounds_the_producer_lead_for_a_slow_consumer(serve):
    server = serve(many_deltas(10000))
    pulled = [0]
    with client_for(server).messages.stream(**PARAMS) as stream:
        def counted():
            for text in stream.text_stream:
                pulled[0] += 1
                yield text
        lead = 0
        with cs.background(counted(), maxsize=50) as items:
            for n, _ in enumerate(items, 1):
                lead = max(lead, pulled[0] - n)
                if n % 100 == 0:
                    time.sleep(0.002)
    assert n == 10000 and lead <= 51  # the queue's 50, plus the one the producer holds


def test_background_close_on_a_stalled_stream_is_prompt_and_leaves_no_thread(serve):
    server = serve(sse(HELLO, pause_after=3, pause=10))
    baseline = threading.active_count()
    stream = client_for(server).messages.stream(**PARAMS).__enter__()
    items = cs.background(stream.text_stream)
    assert next(items) == "Hello"
    started = time.monotonic()
    items.close()
    assert time.monotonic() - started < 1.0
    assert wait_threads(baseline) == baseline


def test_background_close_frees_a_producer_blocked_on_a_full_queue():
    baseline = threading.active_count()
    items = cs.background(iter(range(10**9)), maxsize=3)
    assert next(items) == 0
    time.sleep(0.05)
    started = time.monotonic()
    items.close()
    assert time.monotonic() - started < 1.0 and wait_threads(baseline) == baseline


def test_background_close_from_another_thread_wakes_the_consumer(serve):
    # review finding: close() from another thread left a consumer blocked on the queue
    server = serve(sse(HELLO, pause_after=3, pause=10))
    with client_for(server).messages.stream(**PARAMS) as stream:
        items = cs.background(stream.text_stream)
        assert next(items) == "Hello"
        threading.Timer(0.2, items.close).start()
        started = time.monotonic()
        assert list(items) == [] and time.monotonic() - started < 1.0


def test_background_break_in_with_and_garbage_collection_stop_the_thread(serve):
    server = serve(many_deltas(5000))
    baseline = threading.active_count()
    with client_for(server).messages.stream(**PARAMS) as stream:
        with cs.background(stream, maxsize=5) as events:
            for event in events:
                break
    assert wait_threads(baseline) == baseline
    items = cs.background(iter(range(10**9)), maxsize=3)
    next(items)
    del items
    gc.collect()
    assert wait_threads(baseline) == baseline


def test_background_get_with_timeout(serve):
    server = serve(sse(HELLO, pause_after=3, pause=0.5))
    with client_for(server).messages.stream(**PARAMS) as stream, cs.background(stream.text_stream) as items:
        assert items.get(timeout=2) == "Hello"
        with pytest.raises(queue.Empty):
            items.get(timeout=0.05)
        assert items.get(timeout=2) == ", world"
        with pytest.raises(StopIteration):
            items.get(timeout=2)


# -- Async --------------------------------------------------------------------------------

def run_async(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def async_client(server, max_retries=0):
    return cs.AsyncAnthropic(api_key=TEST_KEY, base_url=server.url, max_retries=max_retries)


def test_async_stream_events_text_and_final_message(serve):
    server = serve(sse(HELLO))

    async def main():
        client = async_client(server)
        async with client.messages.stream(**PARAMS) as stream:
            kinds = [event.type async for event in stream]
            message = await stream.get_final_message()
            text = await stream.get_final_text()
        return kinds, message, text, stream.request_id
    kinds, message, text, request_id = run_async(main())
    assert kinds == ["message_start", "content_block_start", "content_block_delta", "text", "content_block_delta",
                     "text", "content_block_stop", "message_delta", "message_stop"]
    assert text == "Hello, world" and message.stop_reason == "end_turn" and request_id == "req_test_200"


def test_async_text_stream_create_stream_and_create(serve):
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": "whole"}], "usage": {"input_tokens": 1, "output_tokens": 1}}
    server = serve(sse(HELLO), sse(HELLO), status(200, body))

    async def main():
        client = async_client(server)
        async with client.messages.stream(**PARAMS) as stream:
            texts = [t async for t in stream.text_stream]
        raw = await client.messages.create(stream=True, **PARAMS)
        async with raw:
            kinds = [e.type async for e in raw]
        message = await client.messages.create(**PARAMS)
        return texts, kinds, message
    texts, kinds, message = run_async(main())
    assert texts == ["Hello", ", world"] and kinds[0] == "message_start" and "text" not in kinds
    assert message.content[0].text == "whole"


def test_async_final_message_after_a_failed_stream_raises_not_partial(serve):
    error = ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = serve(sse([message_start(), text_block(), text_delta("partial "), error]))

    async def main():
        async with async_client(server).messages.stream(**PARAMS) as stream:
            with pytest.raises(cs.OverloadedError):
                await stream.until_done()
            with pytest.raises(cs.APIConnectionError, match="incomplete"):
                await stream.get_final_message()
            return stream.current_message_snapshot.content[0].text
    assert run_async(main()) == "partial "


def test_async_errors_are_the_same_classes(serve):
    server = serve(status(529))

    async def main():
        async with async_client(server).messages.stream(**PARAMS) as stream:
            await stream.until_done()
    with pytest.raises(cs.OverloadedError):
        run_async(main())


def test_async_stream_does_not_block_the_loop(serve):
    server = serve(sse(HELLO, pause_after=3, pause=0.4))

    async def main():
        ticks = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)
        task = asyncio.ensure_future(ticker())
        async with async_client(server).messages.stream(**PARAMS) as stream:
            text = await stream.get_final_text()
        task.cancel()
        return text, ticks
    text, ticks = run_async(main())
    assert text == "Hello, world"
    assert len(ticks) >= 20 and max(b - a for a, b in zip(ticks, ticks[1:])) < 0.1


def test_async_malformed_stream_frees_its_thread_at_once(serve):
    pairs = TRANSCRIPTS["invalid_tool_json"]
    stop = [name for name, _ in pairs].index("content_block_stop")  # where the bad JSON shows
    server = serve(sse(pairs, pause_after=stop, pause=5))  # ... and the server then holds the rest

    async def main():
        async with async_client(server).messages.stream(**PARAMS) as stream:
            with pytest.raises(cs.APIResponseValidationError, match="not valid JSON"):
                await stream.until_done()
            await wait_for_async(lambda: not any(
                t.name == "claude_stream.background" for t in threading.enumerate()), timeout=1.0)
            return [t for t in threading.enumerate() if t.name == "claude_stream.background"]
    assert run_async(main()) == []


def test_async_cancel_during_retry_wait_sends_no_more_requests(serve):
    server = serve(*[status(529, headers=[("retry-after-ms", "500")]) for _ in range(3)])

    async def main():
        task = asyncio.ensure_future(async_client(server, max_retries=2).messages.create(**PARAMS))
        await asyncio.sleep(0.2)  # the first 529 is in; the client waits 0.5 s to retry
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.8)  # past the moment the retry would have gone out
    run_async(main())
    assert len(server.requests) == 1
    assert request_threads() == []


@pytest.mark.parametrize("how", ["create", "stream"])
def test_async_cancel_of_a_stalled_request_closes_it_at_once(serve, how):
    server = serve(stall(5))

    async def main():
        messages = async_client(server, max_retries=2).messages
        if how == "create":
            waiting = messages.create(stream=True, **PARAMS)
        else:
            waiting = messages.stream(**PARAMS).__aenter__()
        task = asyncio.ensure_future(waiting)
        await asyncio.sleep(0.2)  # the request is out; the server never answers
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    run_async(main())
    wait_for(lambda: not request_threads(), timeout=1.0)
    assert request_threads() == [] and len(server.requests) == 1  # not retried either


def test_cancelling_an_async_stream_frees_its_thread_and_connection(serve):
    server = serve(sse(HELLO, pause_after=3, pause=10))
    baseline = threading.active_count()
    seen = texts_until_timeout(server, 0.3)
    assert seen == ["Hello"] and wait_threads(baseline) == baseline


def texts_until_timeout(server, seconds):
    """The texts an async message stream gave before ``asyncio.wait_for`` cancelled it."""
    seen = []

    async def consume():
        async with async_client(server).messages.stream(**PARAMS) as stream:
            async for text in stream.text_stream:
                seen.append(text)

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(consume(), seconds)
    asyncio.run(main())
    return seen


MESSAGE_BODY = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1, "output_tokens": 1}}


def test_async_cancel_on_a_kept_connection_is_not_sent_again(serve):
    # review finding: closing the kept connection looked like "dead while idle", so the
    # request went out again on a new one -- a second billed request nobody would read
    ok = keep(status(200, MESSAGE_BODY))
    server = serve(ok, slowly(ok, 2), ok)

    async def main():
        client = async_client(server, max_retries=2)
        await client.messages.create(**PARAMS)  # leaves its connection in the pool
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.messages.create(**PARAMS), 0.3)
        await asyncio.sleep(0.3)
    run_async(main())
    assert wait_for_request_threads() == [] and len(server.requests) == 2


def test_async_cancel_after_the_answer_leaves_the_reused_connection_alone(serve):
    # review finding (thread-based client): a task cancelled just as its answer came closed the
    # connection it had already given back to the pool, cutting off the next request that took it.
    # On asyncio the answer and the pool hand-over happen in one step, so a cancel lands before or after.
    words = [message_start(), text_block()] + [text_delta("w%d " % i) for i in range(10)] + finish()
    server = serve(keep(status(200, MESSAGE_BODY)), keep(sse(words, pause_after=3, pause=0.3)))

    async def main():
        client = async_client(server)
        first = asyncio.ensure_future(client.messages.create(**PARAMS))
        assert await wait_for_async(first.done, 2.0)
        first.cancel()  # as asyncio.wait_for would, just after the answer came
        assert (await first).content[0].text == "ok"

        async def read_all():
            async with client.messages.stream(**PARAMS) as stream:  # takes the kept connection
                texts = [t async for t in stream.text_stream]
                return texts, (await stream.get_final_message()).content[0].text
        return await read_all()
    texts, final = run_async(main())
    assert len(texts) == 10 and final == "".join("w%d " % i for i in range(10))
    assert server.connections == 1


def test_fifty_async_streams_each_get_their_own_events(serve):
    server = serve(echo(pause=0.01))

    async def one(client, i):
        async with client.messages.stream(model="m", max_tokens=10,
                                          messages=[{"role": "user", "content": "q%d" % i}]) as stream:
            return i, await stream.get_final_text()

    async def main():
        client = async_client(server)
        return dict(await asyncio.gather(*(one(client, i) for i in range(50))))
    results = run_async(main())
    assert results == {i: "".join(" q%d-%d" % (i, k) for k in range(3)) for i in range(50)}


def test_async_resume_gives_one_seamless_answer_and_refuses_what_it_cannot_resume(serve):
    first = sse([message_start(), text_block(), text_delta("The answer "), text_delta("is ")], end=False)
    rest = sse([message_start(), text_block(), text_delta(" forty-two."), ev("content_block_stop", index=0)]
               + finish())
    thinking = sse([message_start(), ev("content_block_start", index=0, content_block={
        "type": "thinking", "thinking": "", "signature": ""}),
        ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hm"})], end=False)
    server = serve(first, rest, thinking, sse(HELLO))

    async def main():
        client = async_client(server)
        async with client.messages.stream(max_resumes=1, **PARAMS) as stream:
            texts = [t async for t in stream.text_stream]
            message = await stream.get_final_message()
        async with client.messages.stream(max_resumes=3, **PARAMS) as stream:
            with pytest.raises(cs.APIConnectionError):
                await stream.until_done()
        return texts, message
    texts, message = run_async(main())
    assert texts == ["The answer ", "is ", "forty-two."]  # the prefill's trailing space is not repeated
    assert message.content[0].text == "The answer is forty-two." and len(message.content) == 1
    assert server.requests[1]["body"]["messages"][-1] == {"role": "assistant", "content": "The answer is"}
    assert len(server.requests) == 3  # the thinking answer was not re-requested


def test_async_close_during_a_resume_calls_the_new_request_off(serve):
    server = serve(sse([message_start(), text_block(), text_delta("Half an ")], end=False), stall(5))

    async def main():
        async with async_client(server, max_retries=1).messages.stream(max_resumes=1, **PARAMS) as stream:
            async def close_once_resuming():
                await wait_for_async(lambda: len(server.requests) >= 2, timeout=10.0)
                await asyncio.sleep(0.1)
                await stream.close()
            closer = asyncio.ensure_future(close_once_resuming())
            started = time.monotonic()
            texts = [t async for t in stream.text_stream]  # ends quietly: the caller closed it
            await closer
            return texts, time.monotonic() - started
    texts, took = run_async(main())
    assert texts == ["Half an "] and took < 1.5
    time.sleep(0.3)
    assert len(server.requests) == 2 and wait_for(lambda: request_threads() == [])


# The native-asyncio client, as a user sees it: no thread of its own, TLS and proxies, the
# kept connections, failures and cancellation at each stage, many streams at once, errors
# only of claude_stream's classes, and the fast paths against the SDK. Helpers first; they
# are named aio_* so they stay apart from the ones above.

def aio_run(coro, seconds=10.0):
    """Run ``coro`` in a new event loop, failing (never hanging) after ``seconds``."""
    return asyncio.run(asyncio.wait_for(coro, seconds))


def aio_client(server, **kw):
    kw.setdefault("api_key", TEST_KEY)
    kw.setdefault("max_retries", 0)
    return cs.AsyncAnthropic(base_url=kw.pop("base_url", None) or server.url, **kw)


def aio_params(prompt):
    return dict(PARAMS, messages=[{"role": "user", "content": prompt}])


def aio_clear_proxy_env(monkeypatch):
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)


async def aio_consume(client, how, **params):
    """The whole answer's text, read the way ``how`` says: ``stream`` (text_stream),
    ``create-stream`` (the raw events' text deltas) or ``create`` (the message)."""
    if how == "stream":
        async with client.messages.stream(**params) as stream:
            return "".join([text async for text in stream.text_stream])
    if how == "create-stream":
        raw = await client.messages.create(stream=True, **params)
        async with raw:
            return "".join([e.delta.text async for e in raw
                            if e.type == "content_block_delta" and e.delta.type == "text_delta"])
    message = await client.messages.create(**params)
    return "".join(block.text for block in message.content if block.type == "text")


def aio_read(server, how="stream", seconds=5.0, **options):
    """One whole answer, as ``aio_consume`` reads it, by a client made inside a new event loop."""
    async def main():
        return await aio_consume(aio_client(server, **options), how, **PARAMS)
    return aio_run(main(), seconds)


def aio_answer(words=3, gate=None):
    """Answers each request with its own prompt ``p``: the text `` p-0 p-1 ...`` (``words``
    pieces) in a message whose id is ``msg_p``; an event stream when the request asks for
    one, else one JSON message. With ``gate`` (a threading.Event) the reply holds, at most
    5 s, after the first delta (before the message, when not streaming) until it is set."""
    def reply(h, server):
        prompt = h.body["messages"][0]["content"]
        pieces = [" %s-%d" % (prompt, i) for i in range(words)]

        def opened():
            return gate is None or gate.is_set() or server.stopping.is_set()
        if not h.body.get("stream"):
            wait_for(opened, 5.0, interval=0.01)
            status(200, dict(MESSAGE_BODY, id="msg_" + prompt, content=[{"type": "text", "text": "".join(pieces)}]))(
                h, server)
            return
        head(h)
        chunk(h, sse_of([message_start(id="msg_" + prompt), text_block(), text_delta(pieces[0])]))
        wait_for(opened, 5.0, interval=0.01)
        chunk(h, sse_of([text_delta(piece) for piece in pieces[1:]] + [ev("content_block_stop", index=0)] + finish()))
        h.wfile.write(b"0\r\n\r\n")
    return reply


def aio_held(pairs=None, seconds=5.0):
    """A reply held for ``seconds``: before the status line when ``pairs`` is None, else after
    a 200 event stream of ``pairs``. ``reply.hangups`` gets the time the client hung up."""
    def reply(h, server):
        if pairs is not None:
            head(h)
            chunk(h, sse_of(pairs))
        try:
            hold(h, server, seconds)
        except OSError:  # hold()'s ConnectionAbortedError on EOF, or a reset
            reply.hangups.append(time.monotonic())
            return
        if pairs is not None:
            h.wfile.write(b"0\r\n\r\n")
    reply.hangups = []
    return reply


def aio_raw(data):
    """A reply of exactly these bytes, then the connection closed."""
    def reply(h, server):
        h.wfile.write(data)
        h.wfile.flush()
    return reply


def aio_count_accepts(server):
    """The times ``server`` accepted a TCP connection (for TLS: before its handshake, which
    Server.connections never counts when it fails)."""
    accepts = []
    get_request = server.httpd.get_request

    def counted():
        accepts.append(time.monotonic())
        return get_request()
    server.httpd.get_request = counted
    return accepts


class AioSilent:
    """A TCP listener on 127.0.0.1 that accepts and never answers (a TLS server or a proxy
    that hangs mid-handshake); ``accepts`` and ``hangups`` are the times connections came and
    the client closed them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepts, self.hangups = [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="test.silent", daemon=True)
        self.thread.start()

    def run(self):
        conns = []
        while not self.stop.is_set():
            for s in select.select([self.sock] + conns, [], [], 0.01)[0]:
                if s is self.sock:
                    conns.append(s.accept()[0])
                    self.accepts.append(time.monotonic())
                    continue
                try:
                    data = s.recv(65536)  # the ClientHello or the CONNECT: read, never answered
                except OSError:
                    data = b""
                if not data:
                    self.hangups.append(time.monotonic())
                    conns.remove(s)
                    s.close()
        for s in conns + [self.sock]:
            s.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)


def aio_new_threads(baseline):
    """Names of the live threads that are not in ``baseline`` and that no test server (a
    socketserver: its serve_forever and per-request threads) started."""
    import socketserver
    return sorted(t.name for t in threading.enumerate() if t not in baseline and not isinstance(
        getattr(getattr(t, "_target", None), "__self__", None), socketserver.BaseServer))


@pytest.fixture
def aio_thread_starts(monkeypatch):
    """(name, where) of every thread started while claude_stream's code is on the stack --
    directly, or through asyncio (run_in_executor, to_thread, getaddrinfo)."""
    library = os.path.realpath(cs.__file__)
    real = {}
    starts = []
    start = threading.Thread.start

    def recording(thread, *args, **kwargs):
        ours = [f for f in traceback.extract_stack()
                if real.setdefault(f.filename, os.path.realpath(f.filename)) == library]
        if ours:
            starts.append((thread.name, "%s:%d" % (ours[-1].name, ours[-1].lineno)))
        return start(thread, *args, **kwargs)
    monkeypatch.setattr(threading.Thread, "start", recording)
    return starts


# No threads: the library starts none, for any kind of call, one at a time or fifty at once.

@pytest.mark.parametrize("how,n", [("stream", 1), ("create-stream", 1), ("create", 1), ("stream", 50)],
                         ids=["stream", "create-stream", "create", "fifty-streams"])
def test_async_client_starts_no_thread(serve, aio_thread_starts, how, n):
    gate = threading.Event()
    server = serve(aio_answer(gate=gate))
    baseline = set(threading.enumerate())
    count = threading.active_count()
    during = []

    async def one(client, i, firsts, go):
        params = aio_params("p%d" % i)
        if how == "create":
            return (await client.messages.create(**params)).content[0].text
        texts = []
        if how == "create-stream":
            raw = await client.messages.create(stream=True, **params)
            async with raw:
                async for event in raw:
                    if event.type == "content_block_delta":
                        texts.append(event.delta.text)
                        if len(texts) == 1:
                            firsts.append(i)
                            await go.wait()
            return "".join(texts)
        async with client.messages.stream(**params) as stream:
            async for text in stream.text_stream:
                texts.append(text)
                if len(texts) == 1:
                    firsts.append(i)
                    await go.wait()
            assert (await stream.get_final_message()).id == "msg_p%d" % i
        return "".join(texts)

    async def main():
        client = aio_client(server)
        firsts, go = [], asyncio.Event()
        tasks = [asyncio.ensure_future(one(client, i, firsts, go)) for i in range(n)]
        arrived = await wait_for_async(
            lambda: len(server.requests) == n and len(firsts) == (0 if how == "create" else n), 5.0)
        await asyncio.sleep(0.05)
        during.extend(aio_new_threads(baseline))  # every request is out, every answer held mid-way
        gate.set()
        go.set()
        texts = await asyncio.gather(*tasks)
        await client.close()  # kept connections go: the server's threads for them end too
        return arrived, texts
    arrived, texts = aio_run(main())
    assert arrived and texts == ["".join(" p%d-%d" % (i, k) for k in range(3)) for i in range(n)]
    wait_for(lambda: not aio_new_threads(baseline), 1.0)
    after = aio_new_threads(baseline)
    started = ["%s from %s" % start for start in aio_thread_starts]
    tally = {"alive mid-way": during, "left after": after, "started by the library": started}
    assert not (during or after or started), "; ".join("%s: %s" % (what, {n: names.count(n) for n in set(names)})
                                                         for what, names in tally.items())
    assert wait_for(lambda: threading.active_count() <= count, 2.0)


# TLS with a private CA, and a server nobody trusts.

@pytest.mark.parametrize("trust", ["ssl_context", "SSL_CERT_FILE"])
def test_async_tls_with_a_private_ca(serve, certs, monkeypatch, trust):
    server = serve(keep(sse(HELLO)), keep(status(200, MESSAGE_BODY)), tls=certs["server"])
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if trust == "SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", certs["ca"])
        options = {}
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        options = {"ssl_context": certs["client"]}

    async def main():
        client = aio_client(server, **options)
        return await aio_consume(client, "stream", **PARAMS), await aio_consume(client, "create", **PARAMS)
    assert aio_run(main()) == ("Hello, world", "ok")
    assert len(server.requests) == 2 and server.connections == 1  # a TLS connection is kept too


def test_async_tls_untrusted_server_is_a_certificate_error_not_retried(serve, certs, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server = serve(sse(HELLO), tls=certs["server"])
    accepts = aio_count_accepts(server)
    for how in ("stream", "create"):
        started = time.monotonic()
        with pytest.raises(cs.APIConnectionError) as info:
            aio_read(server, how, max_retries=2)
        assert "certificate" in str(info.value), (how, str(info.value))
        assert not isinstance(info.value, cs.APITimeoutError)
        assert time.monotonic() - started < 0.3, how  # no backoff: not retried
    assert len(accepts) == 2 and server.requests == []  # one connection per call


# Proxies: a CONNECT tunnel with credentials (argument or environment), a refused tunnel,
# plain HTTP in absolute form, and NO_PROXY.

@pytest.mark.parametrize("how", ["proxy=", "HTTPS_PROXY"])
def test_async_https_through_a_connect_tunnel_with_credentials(serve, proxy, certs, monkeypatch, how):
    aio_clear_proxy_env(monkeypatch)
    server = serve(sse(HELLO), tls=certs["server"])
    auth = "Basic " + base64.b64encode(b"user:p@ss word").decode()
    tunnel = proxy(require_auth=auth)
    url = tunnel.url.replace("//", "//user:p%40ss%20word@")
    if how == "HTTPS_PROXY":
        monkeypatch.setenv("HTTPS_PROXY", url)
        options = {"ssl_context": certs["client"]}
    else:
        options = {"ssl_context": certs["client"], "proxy": url}

    async def main():
        client = aio_client(server, **options)
        return await aio_consume(client, "stream", **PARAMS), repr(client)
    text, shown = aio_run(main())
    assert text == "Hello, world"
    line, headers = tunnel.seen[0]
    assert line.startswith("CONNECT 127.0.0.1:%s HTTP/1." % server.url.rsplit(":", 1)[1])
    assert headers["proxy-authorization"] == auth and len(tunnel.seen) == 1
    assert "proxy-authorization" not in server.requests[0]["headers"]  # credentials go to the proxy only
    assert "p@ss" not in shown and "p%40ss" not in shown


def test_async_refused_tunnel_names_407_and_is_not_retried(serve, proxy, certs, monkeypatch):
    aio_clear_proxy_env(monkeypatch)
    server = serve(sse(HELLO), tls=certs["server"])
    tunnel = proxy(refuse=407)
    started = time.monotonic()
    with pytest.raises(cs.APIConnectionError) as info:
        aio_read(server, ssl_context=certs["client"], max_retries=2, proxy=tunnel.url.replace("//", "//alice:hunter2@"))
    assert "407" in str(info.value) and "hunter2" not in str(info.value) and "alice" not in str(info.value)
    assert time.monotonic() - started < 0.3 and len(tunnel.seen) == 1 and server.requests == []


def test_async_http_through_a_proxy_in_absolute_form(serve, proxy, monkeypatch):
    aio_clear_proxy_env(monkeypatch)
    server = serve(sse(HELLO))
    auth = "Basic " + base64.b64encode(b"bob:pw").decode()
    forward = proxy(require_auth=auth)
    assert aio_read(server, proxy=forward.url.replace("//", "//bob:pw@")) == "Hello, world"
    line, headers = forward.seen[0]
    assert line == "POST %s/v1/messages HTTP/1.1" % server.url and headers["proxy-authorization"] == auth
    assert server.requests[0]["body"]["messages"] == PARAMS["messages"]


def test_async_no_proxy_bypasses_the_environment_proxy(serve, proxy, certs, monkeypatch):
    aio_clear_proxy_env(monkeypatch)
    server = serve(sse(HELLO), tls=certs["server"])
    tunnel = proxy()
    monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    assert aio_read(server, ssl_context=certs["client"]) == "Hello, world"
    assert tunnel.seen == [] and len(server.requests) == 1


# Kept connections.

def test_async_sequential_requests_reuse_one_connection(serve):
    server = serve(keep(sse(HELLO)), keep(sse(HELLO)), keep(sse(HELLO)), keep(status(200, MESSAGE_BODY)))

    async def main():
        client = aio_client(server)
        return [await aio_consume(client, how, **PARAMS) for how in ("stream", "stream", "create-stream", "create",
                                                                       "create")]
    assert aio_run(main()) == ["Hello, world"] * 3 + ["ok"] * 2
    assert len(server.requests) == 5 and server.connections == 1


@pytest.mark.parametrize("body", ["held", "sent-whole"])
@pytest.mark.parametrize("how", ["stream", "create-stream"])
def test_async_abandoned_stream_does_not_give_back_its_connection(serve, how, body):
    # "held": the server holds the rest of the body until the client hangs up; "sent-whole":
    # the whole body is on its way, and the client read only its start
    first = keep(aio_held(HELLO[:4])) if body == "held" else keep(sse(HELLO))
    server = serve(first, keep(sse(HELLO)))

    async def main():
        client = aio_client(server)
        if how == "stream":
            async with client.messages.stream(**PARAMS) as stream:
                async for item in stream.text_stream:
                    break  # the rest of the body is unread
        else:
            async with await client.messages.create(stream=True, **PARAMS) as raw:
                async for item in raw:
                    break
            item = item.type
        left = time.monotonic()
        return item, left, await aio_consume(client, "stream", **PARAMS), await aio_consume(client, "stream", **PARAMS)
    item, left, second, third = aio_run(main(), 5.0)
    assert (item, second, third) == ("Hello" if how == "stream" else "message_start", "Hello, world", "Hello, world")
    assert server.connections == 2, "the abandoned connection was reused"  # a new one, kept for the third
    if body == "held":
        assert wait_for(lambda: first.hangups, 1.0) and first.hangups[0] - left < 0.5


@pytest.mark.parametrize("how", ["closed-while-idle", "reset-on-reuse"])
def test_async_kept_connection_the_server_closed_is_replaced_transparently(serve, how):
    if how == "closed-while-idle":  # the server ends the connection right after the answer
        server = serve(sse(HELLO), keep(sse(HELLO)))
    else:  # the server resets the kept connection when the next request arrives on it
        server = serve(keep(sse(HELLO)), reset(), keep(sse(HELLO)))

    async def main():
        client = aio_client(server)  # max_retries=0: the replacement is not a retry
        first = await aio_consume(client, "stream", **PARAMS)
        await asyncio.sleep(0.1)
        return first, await aio_consume(client, "stream", **PARAMS)
    assert aio_run(main()) == ("Hello, world", "Hello, world")
    assert server.connections == 2 and len(server.requests) == (2 if how == "closed-while-idle" else 3)


# Failures mid-stream: a stall times out, a drop is a connection error, and both keep the text.

@pytest.mark.parametrize("where", ["before-headers", "mid-body"])
def test_async_stall_times_out_within_the_timeout(serve, where):
    server = serve(aio_held(None) if where == "before-headers" else aio_held(PARTIAL))
    texts = []

    async def main():
        async with aio_client(server, timeout=0.4).messages.stream(**PARAMS) as stream:
            async for text in stream.text_stream:
                texts.append(text)
        return stream
    started = time.monotonic()
    with pytest.raises(cs.APITimeoutError):
        aio_run(main(), 5.0)
    assert 0.35 <= time.monotonic() - started < 0.4 + 1.0
    assert texts == ([] if where == "before-headers" else ["kept "])


@pytest.mark.parametrize("how", ["dropped", "chunked-end-without-message-stop", "close-delimited"])
def test_async_drop_mid_stream_is_a_connection_error_that_keeps_the_text(serve, how):
    server = serve({"dropped": sse(PARTIAL, end=False), "chunked-end-without-message-stop": sse(PARTIAL),
                    "close-delimited": sse(PARTIAL, chunked=False)}[how])
    texts = []

    async def main():
        async with aio_client(server, max_retries=2).messages.stream(**PARAMS) as stream:
            try:
                async for text in stream.text_stream:
                    texts.append(text)
            except cs.APIConnectionError as exc:
                return exc, stream.current_message_snapshot.content[0].text
    error, snapshot = aio_run(main(), 5.0)
    assert type(error) is cs.APIConnectionError and re.search("incomplete|closed", str(error)), repr(error)
    assert texts == ["kept "] and snapshot == "kept " and len(server.requests) == 1


@pytest.mark.parametrize("how", ["stall", "drop"])
def test_async_resume_gives_each_piece_once(serve, how):
    pairs = [message_start(), text_block(), text_delta("The answer "), text_delta("is ")]
    first = aio_held(pairs) if how == "stall" else sse(pairs, end=False)
    rest = sse([message_start(), text_block(), text_delta(" forty-two."), ev("content_block_stop", index=0)]
               + finish())
    closed_first = []

    def second(h, server):  # a stalled answer must be hung up before this one is read
        closed_first.append(how == "drop" or wait_for(lambda: first.hangups, 0.25, interval=0.005))
        rest(h, server)
    server = serve(first, second)

    async def main():
        async with aio_client(server, timeout=0.3).messages.stream(max_resumes=1, **PARAMS) as stream:
            return [t async for t in stream.text_stream], (await stream.get_final_message()).content
    texts, content = aio_run(main(), 5.0)
    assert texts == ["The answer ", "is ", "forty-two."] and len(content) == 1
    assert content[0].text == "The answer is forty-two."
    assert server.requests[1]["body"]["messages"][-1] == {"role": "assistant", "content": "The answer is"}
    assert closed_first == [True]  # the stalled connection was closed, not left streaming


# Cancellation at each stage: asyncio.wait_for gives up promptly, the client hangs up at
# once, and nothing more is sent (max_retries=2, and max_resumes=1 where a body is read).

AIO_STAGES = ["tls-handshake", "proxy-connect", "headers", "retry-wait", "mid-body"]


@pytest.mark.parametrize("stage", AIO_STAGES)
def test_async_wait_for_cancels_promptly_at_each_stage(serve, certs, monkeypatch, stage):
    aio_clear_proxy_env(monkeypatch)
    silent = AioSilent()
    try:
        reply = {"headers": aio_held(None), "mid-body": aio_held(HELLO[:4]),
                 "retry-wait": status(529, headers=[("retry-after-ms", "5000")])}.get(stage, sse(HELLO))
        server = serve(reply)
        options = {"max_retries": 2, "ssl_context": certs["client"]}
        if stage == "tls-handshake":
            options["base_url"] = "https://127.0.0.1:%d" % silent.port
        elif stage == "proxy-connect":
            options["base_url"] = "https://127.0.0.1:1"  # never reached: the proxy never answers
            options["proxy"] = "http://127.0.0.1:%d" % silent.port
        texts = []

        async def consume():
            async with aio_client(server, **options).messages.stream(max_resumes=1, **PARAMS) as stream:
                async for text in stream.text_stream:
                    texts.append(text)

        async def main():
            ours = asyncio.all_tasks()  # this one, and aio_run's
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(consume(), 0.3)
            gave_up = time.monotonic()
            await asyncio.sleep(0.25)  # a retry, resume or late write would show by now
            return started, gave_up, asyncio.all_tasks() - ours  # a task left would send it later
        started, gave_up, tasks = aio_run(main(), 5.0)
        assert gave_up - started < 1.0
        working = wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("claude_stream")], 1.0)
        assert tasks == set() and working, "the request is still being worked on after the cancel"
        if stage in ("tls-handshake", "proxy-connect"):
            wait_for(lambda: silent.hangups, 1.0)
            assert len(silent.accepts) == 1 and len(silent.hangups) == 1 and server.requests == []
            hung_up = silent.hangups[0]
        else:
            assert len(server.requests) == 1 and len(silent.accepts) == 0
            hung_up = reply.hangups[0] if getattr(reply, "hangups", None) else gave_up
        assert hung_up - gave_up < 0.5, "the client kept the connection %.2f s after the cancel" % (hung_up - gave_up)
        assert texts == (["Hello"] if stage == "mid-body" else [])
    finally:
        silent.close()


@pytest.mark.parametrize("how", ["stream", "create-stream"])
def test_async_close_from_another_task_ends_a_blocked_read_promptly(serve, how):
    reply = aio_held(HELLO[:4])
    server = serve(reply)

    async def main():
        client = aio_client(server)
        if how == "stream":
            stream = await client.messages.stream(**PARAMS).__aenter__()
            items = stream.text_stream
        else:
            stream = items = await client.messages.create(stream=True, **PARAMS)
        seen = []

        async def closer():
            await asyncio.sleep(0.2)  # the reader is blocked on the held body by now
            await stream.close()
            return time.monotonic()
        closing = asyncio.ensure_future(closer())
        async for item in items:  # ends quietly: the caller closed it
            seen.append(item if how == "stream" else item.type)
        ended = time.monotonic()
        return seen, await closing, ended
    seen, closed, ended = aio_run(main(), 5.0)
    assert seen == (["Hello"] if how == "stream" else ["message_start", "content_block_start",
                                                       "content_block_delta"])
    assert ended - closed < 0.5
    assert wait_for(lambda: reply.hangups, 1.0) and reply.hangups[0] - closed < 0.5


# Many at once: 300 streams on one client, each assembling exactly its own answer.

def test_async_three_hundred_concurrent_streams_each_get_their_own_answer(serve):
    server = serve(aio_answer(words=4))
    server.httpd.socket.listen(1024)  # more than Server's 128 may knock at once

    async def one(client, i):
        async with client.messages.stream(**aio_params("c%d" % i)) as stream:
            texts = [t async for t in stream.text_stream]
            message = await stream.get_final_message()
        return texts, message.id, message.content[0].text

    async def main():
        client = aio_client(server)
        return await asyncio.gather(*(one(client, i) for i in range(300)))
    started = time.monotonic()
    results = aio_run(main(), 20.0)
    took = time.monotonic() - started
    for i, (texts, message_id, text) in enumerate(results):
        pieces = [" c%d-%d" % (i, k) for k in range(4)]
        assert (texts, message_id, text) == (pieces, "msg_c%d" % i, "".join(pieces)), i
    assert len(server.requests) == 300 and took < 6.0, took


# Broken servers: whatever the bytes, the caller sees claude_stream's exception classes only.

AIO_CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
AIO_BROKEN = [
    # id, reply, the classes allowed, what the message says (a regular expression) or None
    ("not-http", aio_raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), (cs.APIConnectionError, cs.APIResponseValidationError),
     None),
    ("bad-status-code", aio_raw(b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n"),
     (cs.APIConnectionError, cs.APIResponseValidationError), None),
    ("garbage-header-lines", aio_raw(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\x00\x01\xff no colon\r\n"
                                     b": \r\ntransfer-encoding: chunked\r\n\r\nzz\r\n\r\n"),
     (cs.APIConnectionError, cs.APIResponseValidationError), None),
    ("header-line-over-64-KiB", sse(HELLO, headers=[("x-long", "v" * 70000)]), (cs.APIResponseValidationError,),
     "header"),
    ("more-than-100-headers", sse(HELLO, headers=[("x-h%d" % i, "v") for i in range(101)]),
     (cs.APIResponseValidationError,), "header"),
    ("not-sse-200", status(200, b"<html>captive portal</html>", content_type="text/html"),
     (cs.APIResponseValidationError,), "captive portal"),
    ("reset-before-status-line", reset(), (cs.APIConnectionError,), None),
    ("eof-before-status-line", aio_raw(b""), (cs.APIConnectionError,), None),
    ("bad-chunk-size", aio_raw(AIO_CHUNKED_HEAD + b"zz\r\nevent: ping\r\n\r\n"),
     (cs.APIConnectionError, cs.APIResponseValidationError), None),
    ("body-shorter-than-content-length", aio_raw(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"id\": "),
     (cs.APIConnectionError, cs.APIResponseValidationError), None),
]


@pytest.mark.parametrize("reply,allowed,says", [b[1:] for b in AIO_BROKEN], ids=[b[0] for b in AIO_BROKEN])
def test_async_broken_servers_raise_only_claude_stream_errors(serve, reply, allowed, says):
    server = serve(reply)
    for how in ("stream", "create-stream", "create"):
        if how == "create" and says == "captive portal":
            allowed, says = (cs.APIResponseValidationError,), "not JSON"
        started = time.monotonic()
        try:
            aio_read(server, how)
        except BaseException as exc:  # noqa: B036 -- any type at all is what this test inspects
            assert isinstance(exc, allowed) and type(exc).__module__ == cs.__name__, (how, repr(exc))
            assert says is None or re.search(says, str(exc)), (how, str(exc))
        else:
            raise AssertionError("%s: no error" % how)
        assert time.monotonic() - started < 2.0, how


# The fast paths: text_stream, events and get_final_message give what the SDK gave, and
# mixing the two iterators gives what the sync stream gives for the same mix.

@pytest.mark.parametrize("name", sorted(SDK_FINAL))
def test_async_text_stream_events_and_final_message_match_sdk(serve, name):
    spellings = sorted(SPELLINGS)
    server = serve(*[sse(SPELLINGS[s](TRANSCRIPTS[name])) for s in spellings for _ in range(3)])

    async def main():
        client = aio_client(server)
        runs = []
        for spelling in spellings:
            async with client.messages.stream(**PARAMS) as stream:
                texts = [t async for t in stream.text_stream]
                runs.append((spelling, "text_stream", texts, (await stream.get_final_message()).to_dict()))
            async with client.messages.stream(**PARAMS) as stream:
                events = [e async for e in stream]
                runs.append((spelling, "events", events, (await stream.get_final_message()).to_dict()))
            async with client.messages.stream(**PARAMS) as stream:
                runs.append((spelling, "final alone", None, (await stream.get_final_message()).to_dict()))
        return runs
    sdk_texts = [rec[1]["text"] for rec in SDK_EVENTS[name] if rec[0] == "text"]
    for spelling, how, got, final in aio_run(main()):
        if how == "text_stream":
            assert got == sdk_texts, spelling
        elif how == "events":
            assert_sdk_events(got, name, spelling)
        assert final == SDK_FINAL[name], (spelling, how)


def aio_item(step, item):
    return ("text", item) if step == "t" else ("event", type(item).__name__, item.to_dict())


def aio_mixes(name, n=6):
    """``n`` orders of reads: 'e' an event, 't' a text; a few fixed, the rest seeded random."""
    length = len(SDK_EVENTS[name]) + 3
    rng = random.Random(name)
    return ["et" * length, "t" + "e" * length, "eee" + "t" * length] + [
        "".join(rng.choice("eet") for _ in range(length)) for _ in range(n - 3)]


@pytest.mark.parametrize("name", ["text", "citations", "thinking", "server_tool"])
def test_async_mixed_event_and_text_reads_match_the_sync_stream(serve, name):
    mixes = aio_mixes(name)
    server = serve(sse(TRANSCRIPTS[name]))
    expected = []
    for mix in mixes:
        got = []
        with client_for(server).messages.stream(**PARAMS) as stream:
            for step in mix:
                try:
                    got.append(aio_item(step, next(stream) if step == "e" else next(stream.text_stream)))
                except StopIteration:
                    got.append(("end", step))
            expected.append((got, stream.get_final_message().to_dict()))

    async def main():
        client = aio_client(server)
        runs = []
        for mix in mixes:
            got = []
            async with client.messages.stream(**PARAMS) as stream:
                for step in mix:
                    try:
                        got.append(aio_item(step, await (
                            stream.__anext__() if step == "e" else stream.text_stream.__anext__())))
                    except StopAsyncIteration:
                        got.append(("end", step))
                runs.append((got, (await stream.get_final_message()).to_dict()))
        return runs
    for mix, want, run in zip(mixes, expected, aio_run(main())):
        assert run == want, mix
        assert run[1] == SDK_FINAL[name]


# review findings on the asyncio client, each a regression test

def crlf_sse(pairs):
    return sse_of(pairs).replace(b"\n", b"\r\n")


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\ncontent-type: text/event-stream\nconnection: close\n\n",  # LF-only head, CRLF body
    b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
], ids=["lf-head-crlf-body", "lf-100-then-crlf-200"])
def test_async_head_ends_at_its_first_blank_line(serve, head):
    # review finding: the head was cut at the body's first CRLF blank line when the head used bare LF
    server = serve(aio_raw(head + crlf_sse(HELLO)))

    async def main():
        async with aio_client(server).messages.stream(**PARAMS) as s:
            return "".join([t async for t in s.text_stream])
    assert aio_run(main(), 5) == "Hello, world"


def test_async_chunked_framing_bytewise_and_a_negative_size():
    chunks = [b"hello", b"x" * 20, b"world!"]
    wire = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nTrailer: x\r\n\r\nEXTRA"
    framing = cs._Framing(cs._Headers({"transfer-encoding": "chunked"}), 200)
    assert b"".join(framing.feed(wire[i:i + 1]) for i in range(len(wire))) == b"".join(chunks)
    assert framing.done and framing.extra == b"EXTRA"
    # review finding: a size of -5 made the framing loop spin forever, the event loop with it
    for size in (b"-5", b"+5", b"", b"5g"):
        with pytest.raises(ValueError):
            cs._Framing(cs._Headers({"transfer-encoding": "chunked"}), 200).feed(size + b"\r\n" + b"A" * 50)


def test_async_negative_chunk_size_is_a_connection_error(serve):
    data = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n-5\r\n"
    server = serve(aio_raw(data + sse_of(HELLO)))

    async def main():
        async with aio_client(server).messages.stream(**PARAMS) as s:
            return "".join([t async for t in s.text_stream])
    with pytest.raises(cs.APIConnectionError):
        aio_run(main(), 3)


def test_async_repeated_identical_content_length_is_accepted(serve):
    # review finding: "191, 191" was refused (the sync client accepts it, as RFC 9110 allows)
    body = json.dumps(MESSAGE_BODY).encode()
    data = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % (len(body), len(body))) + body
    server = serve(aio_raw(data))

    async def main():
        return await aio_client(server).messages.create(**PARAMS)
    assert aio_run(main(), 5).content[0].text == "ok"


def test_async_pooled_connection_closed_from_another_loop_hangs_up(serve):
    # review finding: closing it after its asyncio.run had ended left the socket connected
    seen = []

    def answer(h, server):
        sse(HELLO)(h, server)
        h.wfile.flush()
        h.connection.settimeout(5)
        seen.append(h.connection.recv(1))  # b"" once the client hangs up on the kept connection
    answer.keep_alive = True
    server = serve(answer)
    client = aio_client(server)
    assert aio_run(aio_consume(client, "stream", **PARAMS)) == "Hello, world"

    async def later():
        await client.close()
    aio_run(later())
    assert wait_for(lambda: seen == [b""], 2.0), seen


def test_async_stream_read_in_another_asyncio_run_is_a_connection_error(serve):
    # review finding: a raw RuntimeError (event loop is closed) escaped
    gate = threading.Event()
    server = serve(aio_answer(words=3, gate=gate))
    client = aio_client(server)

    async def first():
        stream = await client.messages.stream(**PARAMS).__aenter__()
        return stream, await stream.text_stream.__anext__()
    stream, text = aio_run(first())
    gate.set()

    async def second():
        return await stream.get_final_text()
    with pytest.raises(cs.APIConnectionError, match="another event loop"):
        aio_run(second())


# -- CLI ----------------------------------------------------------------------------------
# ``python -m claude_stream`` in a subprocess against the scripted loopback server.

def cli(server, *args, stdin=b"", env=None, timeout=20):
    full_env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, ANTHROPIC_BASE_URL=server.url if server else "")
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "claude_stream"] + list(args), input=stdin, env=full_env,
                          cwd=HERE, capture_output=True, timeout=timeout)


def sent_prompt(server):
    return server.requests[-1]["body"]["messages"][0]["content"]


@pytest.mark.parametrize("stdin,args,expected", [
    (b"DATA\n", ["Q?"], "DATA\n\nQ?"),          # text ending in a newline: one more
    (b"DATA", ["Q?"], "DATA\n\nQ?"),            # no newline: two
    (b"  indented\n\tkept  \n", ["what", "is", "this?"], "  indented\n\tkept  \n\nwhat is this?"),
    (b"only stdin\n", [], "only stdin\n"),
    (b"", ["just", "words"], "just words"),
    (b"bad \xff bytes", ["x"], "bad \ufffd bytes\n\nx"),
])
def test_cli_prompt_assembly(serve, stdin, args, expected):
    server = serve(sse(HELLO))
    result = cli(server, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert sent_prompt(server) == expected
    assert result.stdout == b"Hello, world\n" and result.stderr == b""


def test_cli_request_body_and_headers(serve):
    server = serve(sse(HELLO))
    result = cli(server, "-m", "claude-x", "-s", "be brief", "--max-tokens", "50", "--temperature", "0.5",
                 "--extra", '{"top_k": 5}', "--extra", '{"metadata": {"user_id": "u"}}', "hi")
    assert result.returncode == 0, result.stderr
    body = server.requests[0]["body"]
    assert body == {"model": "claude-x", "max_tokens": 50, "system": "be brief", "temperature": 0.5, "top_k": 5,
                    "metadata": {"user_id": "u"}, "stream": True,
                    "messages": [{"role": "user", "content": "hi"}]}
    assert server.requests[0]["headers"]["x-api-key"] == TEST_KEY


def test_cli_default_model_from_environment(serve):
    server = serve(sse(HELLO))
    cli(server, "hi", env={"CLAUDE_STREAM_MODEL": "claude-from-env"})
    assert server.requests[0]["body"]["model"] == "claude-from-env"
    cli(server, "hi")
    assert server.requests[1]["body"]["model"] == cs.DEFAULT_MODEL


def test_cli_no_stdin_pipe_kept_open_does_not_block(serve):
    server = serve(sse(HELLO))
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, ANTHROPIC_BASE_URL=server.url)
    r, w = os.pipe()  # a stdin pipe whose write end stays open for the whole run
    try:
        result = subprocess.run([sys.executable, "-m", "claude_stream", "--no-stdin", "hi"], stdin=r,
                                capture_output=True, env=env, cwd=HERE, timeout=10)
    finally:
        os.close(r)
        os.close(w)
    assert result.returncode == 0 and result.stdout == b"Hello, world\n"


@pytest.mark.parametrize("stdin,args", [(b"", []), (b"   \n", []), (b"", [""])])
def test_cli_empty_prompt_is_usage_error(serve, stdin, args):
    server = serve(sse(HELLO))
    result = cli(server, *args, stdin=stdin)
    assert result.returncode == 2 and b"no prompt" in result.stderr and server.requests == []
    assert result.stderr.count(b"\n") == 1


def test_cli_terminal_stdin_without_prompt_exits_at_once(serve):
    import pty
    server = serve(sse(HELLO))
    master, slave = pty.openpty()
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, ANTHROPIC_BASE_URL=server.url)
    try:
        result = subprocess.run([sys.executable, "-m", "claude_stream"], stdin=slave, capture_output=True,
                                env=env, cwd=HERE, timeout=10)
    finally:
        os.close(master)
        os.close(slave)
    assert result.returncode == 2 and b"no prompt" in result.stderr and server.requests == []


@pytest.mark.parametrize("args,env,message", [
    (["hi"], {"ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": ""}, b"ANTHROPIC_API_KEY"),
    (["--extra", "{not json", "hi"], {}, b"--extra"),
    (["--extra", "[1, 2]", "hi"], {}, b"JSON object"),
    (["--temperature", "1.5", "hi"], {}, b"--temperature"),
    (["--max-tokens", "lots", "hi"], {}, b"--max-tokens"),
    (["--thinking", "--thinking-budget", "2000", "hi"], {}, b"not both"),
])
def test_cli_configuration_errors_exit_2_before_connecting(serve, args, env, message):
    server = serve(sse(HELLO))
    result = cli(server, *args, env=env)
    assert result.returncode == 2 and message in result.stderr and server.requests == []
    assert b"Traceback" not in result.stderr and TEST_KEY.encode() not in result.stderr


def test_cli_first_delta_reaches_the_pipe_while_server_streams(serve):
    server = serve(sse(HELLO, pause_after=3, pause=3.0))
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, ANTHROPIC_BASE_URL=server.url)
    proc = subprocess.Popen([sys.executable, "-m", "claude_stream", "hi"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=HERE)
    try:
        started = time.monotonic()
        first = os.read(proc.stdout.fileno(), 100)
        assert first == b"Hello" and time.monotonic() - started < 2.5
    finally:
        proc.kill()
        proc.communicate()


def test_cli_closed_stdout_exits_141_quietly(serve):
    long_answer = [message_start(), text_block()] + [text_delta("word %d " % i) for i in range(3000)] + [
        ev("content_block_stop", index=0)] + finish()
    server = serve(sse(long_answer))
    script = '%s -m claude_stream hi | head -c 5 >/dev/null; echo "${PIPESTATUS[0]}"' % sys.executable
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, ANTHROPIC_BASE_URL=server.url)
    result = subprocess.run(["bash", "-c", script], capture_output=True, env=env, cwd=HERE, timeout=20)
    assert result.stdout.strip() == b"141" and result.stderr == b""


def test_cli_sigint_mid_stream(serve):
    import signal
    server = serve(sse(HELLO, pause_after=3, pause=10))
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, ANTHROPIC_BASE_URL=server.url)
    proc = subprocess.Popen([sys.executable, "-m", "claude_stream", "hi"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=HERE)
    assert os.read(proc.stdout.fileno(), 100) == b"Hello"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == -signal.SIGINT
    assert out == b"\n" and err == b"claude_stream: interrupted\n"


def test_cli_retries_529_then_succeeds(serve):
    server = serve(status(529, headers=[("retry-after-ms", "5")]), status(529, headers=[("retry-after-ms", "5")]),
                   sse(HELLO))
    result = cli(server, "hi")
    assert result.returncode == 0 and result.stdout == b"Hello, world\n" and len(server.requests) == 3
    assert result.stderr.count(b"retrying") == 2


def test_cli_gives_up_after_retries_with_one_line(serve):
    server = serve(status(529, headers=[("retry-after-ms", "5")]))
    result = cli(server, "-q", "--retries", "2", "hi")
    assert result.returncode == 1 and len(server.requests) == 3
    assert result.stderr == (b"claude_stream: error: overloaded_error: Overloaded "
                             b"(HTTP 529, request-id req_test_529)\n")


def test_cli_error_event_mid_stream_keeps_partial_text(serve):
    error = ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = serve(sse([message_start(), text_block(), text_delta("partial"), error]))
    result = cli(server, "hi")
    assert result.returncode == 1 and result.stdout == b"partial\n"
    assert b"overloaded_error: Overloaded" in result.stderr and b"req_test_200" in result.stderr
    assert result.stderr.count(b"\n") == 1


def test_cli_dropped_stream_keeps_partial_text(serve):
    server = serve(sse([message_start(), text_block(), text_delta("partial")], end=False))
    result = cli(server, "hi")
    assert result.returncode == 1 and result.stdout == b"partial\n"
    assert result.stderr.startswith(b"claude_stream: error: connection failed") and result.stderr.count(b"\n") == 1


def test_cli_incomplete_stream_is_a_failure(serve):
    server = serve(sse([message_start(), text_block(), text_delta("partial")]))
    result = cli(server, "hi")
    assert result.returncode == 1 and result.stdout == b"partial\n" and b"incomplete" in result.stderr


def test_cli_malformed_stream_and_bad_settings_give_one_line(serve):
    # review finding: a stream without message_start, --timeout inf or an unusable base URL
    # gave a traceback instead of one error line
    server = serve(sse([ev("message_stop")]))
    result = cli(server, "hi")
    assert result.returncode == 1 and result.stderr.count(b"\n") == 1 and b"message_start" in result.stderr
    for args, env in ((["--timeout", "inf", "hi"], {}), (["hi"], {"ANTHROPIC_BASE_URL": "ftp://u:pw@h"})):
        result = cli(server, *args, env=env)
        assert result.returncode == 2 and result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr


def test_cli_max_tokens_exits_3_with_warning(serve):
    server = serve(sse([message_start(), text_block(), text_delta("cut")] + finish("max_tokens")))
    result = cli(server, "hi")
    assert result.returncode == 3 and result.stdout == b"cut\n" and b"max_tokens" in result.stderr
    quiet = cli(server, "-q", "hi")
    assert quiet.returncode == 3 and quiet.stderr == b""


def test_cli_thinking_request_and_output(serve):
    pairs = [message_start(), ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}),
             ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "pondering"}),
             ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "sig"}),
             ev("content_block_stop", index=0), text_block(1), text_delta("answer", 1),
             ev("content_block_stop", index=1)] + finish()
    server = serve(sse(pairs))
    result = cli(server, "--thinking", "hi")
    assert server.requests[0]["body"]["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert result.returncode == 0 and result.stdout == b"answer\n"
    assert b"pondering" in result.stderr and b"sig" not in result.stderr and b"\x1b" not in result.stderr
    cli(server, "--thinking-budget", "2048", "hi")
    assert server.requests[1]["body"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_cli_json_lines_pass_every_event_through(serve):
    pairs = HELLO[:3] + [("brand_new_event", '{"type": "brand_new_event", "x": 1}')] + HELLO[3:]
    server = serve(sse(pairs))
    result = cli(server, "--json", "hi")
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 0
    assert [line["type"] for line in lines] == [json.loads(d)["type"] for _, d in pairs]
    assert lines[-1] == {"type": "message_stop"}


def test_cli_json_failure_adds_error_line(serve):
    server = serve(sse([message_start(), text_block(), text_delta("partial")], end=False))
    result = cli(server, "--json", "hi")
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 1
    assert lines[-1]["type"] == "error" and lines[-1]["error"]["type"] == "connection_error"
    assert lines[-1]["status"] is None and lines[-1]["request_id"] == "req_test_200"
    server = serve(status(529))
    result = cli(server, "--json", "--retries", "0", "hi")
    assert json.loads(result.stdout) == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                         "status": 529, "request_id": "req_test_529"}


def test_cli_json_passes_the_error_event_through_once(serve):
    # review finding: --json raised on the error event before writing it out; and it then
    # wrote a second error line, so select(.type == "error") matched twice
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server = serve(sse([message_start(), text_block(), ("error", json.dumps(error))]))
    result = cli(server, "--json", "hi")
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 1 and lines[-1] == error and [line["type"] for line in lines].count("error") == 1
    # the stderr line does not claim an HTTP status the response never had (it was a 200)
    assert b"HTTP 529" not in result.stderr and b"error event mid-stream" in result.stderr


def test_cli_json_no_stream_prints_the_message(serve):
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
            "stop_sequence": None, "content": [{"type": "text", "text": "hi"}],
            "usage": {"input_tokens": 1, "output_tokens": 2}}
    server = serve(status(200, body))
    result = cli(server, "--json", "--no-stream", "hi")
    assert result.returncode == 0 and json.loads(result.stdout) == body
    assert "stream" not in server.requests[0]["body"]
    text = cli(server, "--no-stream", "hi")
    assert text.returncode == 0 and text.stdout == b"hi\n"


def test_cli_usage_line(serve):
    server = serve(sse(HELLO))
    result = cli(server, "-u", "hi")
    assert result.returncode == 0 and result.stderr == b"claude_stream: usage: 1 input, 5 output tokens\n"


def test_cli_utf8_output_split_across_chunks(serve):
    word = "na\u00efve \u2713 \U0001f600"
    data = sse_of([message_start(), text_block(), text_delta(word), ev("content_block_stop", index=0)] + finish())

    def reply(h, server):  # one byte per chunk: every multi-byte character is split
        head(h)
        for i in range(len(data)):
            chunk(h, data[i:i + 1])
        h.wfile.write(b"0\r\n\r\n")
    server = serve(reply)
    result = cli(server, "hi", env={"PYTHONIOENCODING": "latin-1"})
    assert result.returncode == 0 and result.stdout.decode("utf-8") == word + "\n"


def test_cli_version_and_help():
    result = subprocess.run([sys.executable, "-m", "claude_stream", "--version"], capture_output=True, cwd=HERE)
    assert result.returncode == 0 and result.stdout.strip() == ("claude_stream " + cs.__version__).encode()
    result = subprocess.run([sys.executable, "-m", "claude_stream", "-h"], capture_output=True, cwd=HERE)
    assert result.returncode == 0 and b"--no-stdin" in result.stdout and b"exit codes" in result.stdout


def test_cli_reads_long_options_from_files(serve, tmp_path):
    (tmp_path / "system.txt").write_text("You are terse.\nVery terse.")
    (tmp_path / "extra.json").write_text('{"temperature": 0.25, "metadata": {"user_id": "u1"}}')
    server = serve(sse(HELLO))
    for system in (["-s", "@%s" % (tmp_path / "system.txt")], ["--system-file", str(tmp_path / "system.txt")]):
        result = cli(server, "--no-stdin", *system, "--extra", "@%s" % (tmp_path / "extra.json"), "hi")
        assert result.returncode == 0, result.stderr
        body = server.requests[-1]["body"]
        assert body["system"] == "You are terse.\nVery terse." and body["temperature"] == 0.25
        assert body["metadata"] == {"user_id": "u1"}
    missing = cli(server, "--no-stdin", "-s", "@%s" % (tmp_path / "nope.txt"), "hi")
    assert missing.returncode == 2 and b"cannot read" in missing.stderr and missing.stderr.count(b"\n") == 1
    assert len(server.requests) == 2  # nothing was sent for the missing file


def test_cli_prompt_word_dash_is_standard_input_in_its_place(serve):
    server = serve(sse(HELLO))
    result = cli(server, "Translate", "-", "into French", stdin=b"good morning")
    assert result.returncode == 0 and sent_prompt(server) == "Translate good morning into French"


def test_cli_resume_carries_on_after_a_drop(serve):
    first = sse([message_start(), text_block(), text_delta("The answer "), text_delta("is")], end=False)
    rest = sse([message_start(), text_block(), text_delta(" forty-two."), ev("content_block_stop", index=0)]
               + finish())
    server = serve(first, rest)
    result = cli(server, "--no-stdin", "--resume", "1", "hi")
    assert result.returncode == 0 and result.stdout == b"The answer is forty-two.\n", result.stderr
    assert server.requests[1]["body"]["messages"][-1] == {"role": "assistant", "content": "The answer is"}
    refused = cli(server, "--no-stdin", "--resume", "1", "--json", "hi")
    assert refused.returncode == 2 and b"--resume" in refused.stderr


def test_count_tokens_sends_only_what_the_endpoint_takes(serve):
    server = serve(keep(status(200, {"input_tokens": 42})))
    client = client_for(server)
    count = client.messages.count_tokens(model="m", messages=PARAMS["messages"], system="s",
                                         extra_headers={"x-trace": "1"})
    assert count.input_tokens == 42 and isinstance(count, cs.MessageTokensCount)
    request = server.requests[-1]
    assert request["path"] == "/v1/messages/count_tokens" and request["headers"]["x-trace"] == "1"
    assert request["body"] == {"model": "m", "messages": PARAMS["messages"], "system": "s"}
    with pytest.raises(TypeError):  # as the SDK: count_tokens takes no max_tokens
        client.messages.count_tokens(max_tokens=5, **PARAMS)
    assert len(server.requests) == 1

    async def main():
        return await async_client(server).messages.count_tokens(model="m", messages=PARAMS["messages"])
    assert run_async(main()).input_tokens == 42


def test_cli_count_tokens_prints_the_count_without_generating(serve):
    server = serve(status(200, {"input_tokens": 17}))
    result = cli(server, "--no-stdin", "--count-tokens", "-s", "be brief", "--max-tokens", "50",
                 "--temperature", "0.5", "hi")
    assert result.returncode == 0 and result.stdout == b"17\n", result.stderr
    request = server.requests[-1]
    assert request["path"] == "/v1/messages/count_tokens"
    assert set(request["body"]) == {"model", "messages", "system"}  # no max_tokens, stream or temperature
    as_json = cli(server, "--no-stdin", "--count-tokens", "--json", "hi")
    assert json.loads(as_json.stdout) == {"input_tokens": 17}


PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_cli_attaches_files_by_their_content(serve, tmp_path):
    (tmp_path / "pixel.dat").write_bytes(PNG_1PX)  # the name says nothing: the bytes do
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n")
    (tmp_path / "notes.md").write_text("# Notes\nplain text")
    server = serve(keep(sse(HELLO)))
    result = cli(server, "--no-stdin", "-a", str(tmp_path / "pixel.dat"), "--attach", str(tmp_path / "paper.pdf"),
                 "-a", str(tmp_path / "notes.md"), "What are these?")
    assert result.returncode == 0, result.stderr
    image, pdf, text, words = sent_prompt(server)
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": base64.b64encode(PNG_1PX).decode()}}
    assert pdf["type"] == "document" and pdf["source"]["media_type"] == "application/pdf"
    assert text == {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                                   "data": "# Notes\nplain text"}}
    assert words == {"type": "text", "text": "What are these?"}
    piped = cli(server, "-a", "-", "Describe it", stdin=PNG_1PX)  # -a -: binary standard input
    assert piped.returncode == 0 and sent_prompt(server)[0]["source"]["media_type"] == "image/png"


def test_cli_refuses_unfit_attachments_and_binary_stdin_before_connecting(serve, tmp_path):
    (tmp_path / "big.png").write_bytes(PNG_1PX + b"\0" * (5 * 1024 * 1024))
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02\xff" * 10)
    server = serve(sse(HELLO))
    for path, says in ((tmp_path / "big.png", b"at most 5 MiB"), (tmp_path / "blob.bin", b"not a PNG"),
                       (tmp_path / "missing.png", b"cannot read")):
        result = cli(server, "--no-stdin", "-a", str(path), "hi")
        assert result.returncode == 2 and says in result.stderr and str(path.name).encode() in result.stderr
        assert result.stderr.count(b"\n") == 1
    binary = cli(server, "describe", stdin=PNG_1PX)
    assert binary.returncode == 2 and b"use -a -" in binary.stderr
    assert server.requests == []  # nothing was sent


def test_cli_saves_and_continues_a_conversation(serve, tmp_path):
    saved = tmp_path / "chat.json"
    server = serve(keep(sse(HELLO)))
    first = cli(server, "--no-stdin", "-s", "be brief", "--save", str(saved), "first question")
    assert first.returncode == 0, first.stderr
    data = json.loads(saved.read_text())
    assert data["messages"] == [{"role": "user", "content": "first question"},
                                {"role": "assistant", "content": [{"type": "text", "text": "Hello, world"}]}]
    assert data["system"] == "be brief" and "incomplete" not in data
    second = cli(server, "--no-stdin", "-c", str(saved), "--save", str(saved), "and then?")
    assert second.returncode == 0, second.stderr
    sent = server.requests[-1]["body"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"] and sent["system"] == "be brief"
    assert sent["messages"][-1] == {"role": "user", "content": "and then?"}
    assert len(json.loads(saved.read_text())["messages"]) == 4


def test_cli_saves_a_failed_answer_as_incomplete_and_does_not_send_it_back(serve, tmp_path):
    saved = tmp_path / "chat.json"
    server = serve(sse([message_start(), text_block(), text_delta("Half an ans")], end=False), sse(HELLO))
    failed = cli(server, "--no-stdin", "--save", str(saved), "question")
    assert failed.returncode == 1
    data = json.loads(saved.read_text())
    assert data["incomplete"] is True and data["messages"][-1]["content"][0]["text"] == "Half an ans"
    again = cli(server, "--no-stdin", "-c", str(saved), "try again")
    assert again.returncode == 0 and b"incomplete" in again.stderr
    assert [m["role"] for m in server.requests[-1]["body"]["messages"]] == ["user", "user"]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path in (broken, tmp_path / "missing.json"):
        result = cli(server, "--no-stdin", "-c", str(path), "hi")
        assert result.returncode == 2 and b"cannot continue" in result.stderr
    assert len(server.requests) == 2


def test_cli_calls_itself_by_the_name_it_was_run_as():
    # the console script is claude-stream: its usage, errors and --version say so
    code = "import sys; sys.argv[0] = %r; import claude_stream; sys.exit(claude_stream.main(sys.argv[1:]))"
    env = dict(os.environ, ANTHROPIC_API_KEY="", ANTHROPIC_AUTH_TOKEN="")
    for name, expected in (("/usr/local/bin/claude-stream", "claude-stream"), ("claude_stream.py", "claude_stream")):
        version = subprocess.run([sys.executable, "-c", code % name, "--version"], capture_output=True, cwd=HERE)
        assert version.stdout.strip() == ("%s %s" % (expected, cs.__version__)).encode()
        missing = subprocess.run([sys.executable, "-c", code % name, "--no-stdin", "hi"], capture_output=True,
                                 cwd=HERE, env=env)
        assert missing.returncode == 2 and missing.stderr.startswith(expected.encode() + b": error: no API key")
        assert b"fake_api.py --run" in missing.stderr  # and how to try it offline


def test_cli_tells_each_retry_once_when_logging_is_on(serve):
    server = serve(status(529, headers=[("retry-after-ms", "1")]), sse(HELLO))
    result = cli(server, "--no-stdin", "--retries", "1", "hi", env={"ANTHROPIC_LOG": "info"})
    assert result.returncode == 0 and result.stdout == b"Hello, world\n"
    assert result.stderr.count(b"retrying") == 1, result.stderr


# -- Examples -----------------------------------------------------------------------------
# Every script in examples/ runs against the stdlib fake API, as a user would run it.


def test_fake_api_runs_a_command_against_itself_and_stops():
    # the one-command offline try-out the README's quick start and the missing-key message show
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    result = subprocess.run([sys.executable, os.path.join("examples", "fake_api.py"), "--run", sys.executable,
                             "-m", "claude_stream", "--no-stdin", "hello", "there"], capture_output=True, cwd=HERE,
                            env=env, timeout=20)
    assert result.returncode == 0 and result.stdout == b"You said: hello there\n", result.stderr
    failing = subprocess.run([sys.executable, os.path.join("examples", "fake_api.py"), "--fail-first", "1",
                              "--fail-status", "400", "--run", sys.executable, "-m", "claude_stream", "--no-stdin",
                              "hi"], capture_output=True, cwd=HERE, env=env, timeout=20)
    assert failing.returncode == 1  # the command's exit status


def test_fake_api_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, os.path.join("examples", "fake_api.py"), "--port", str(port)],
                                capture_output=True, cwd=HERE, timeout=20)
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1 and b"cannot listen" in result.stderr

sys.path.insert(0, os.path.join(HERE, "examples"))
from fake_api import FakeAPI  # noqa: E402

EXAMPLES = {
    # script: (fake API options, expected exit code, text expected on stdout)
    "text_stream.py": ({}, 0, "You said: Write a haiku about streams."),
    "events.py": ({}, 0, "[stop_reason: end_turn]"),
    "final_message.py": ({}, 0, '"stop_reason": "end_turn"'),
    "raw_stream.py": ({}, 0, "Count to five."),
    "tool_use.py": ({}, 0, '"forecast": "sunny"'),
    "errors.py": ({"fail_first": 5, "fail_status": 529, "retry_after_ms": 1}, 1, ""),
    "resume.py": ({"text": "Rainbows form when sunlight is refracted, reflected and dispersed in droplets.",
                   "drop_after": 8}, 0, "droplets."),
    "progress.py": ({}, 0, "output tokens, first text after"),
    "timeout.py": ({"stall_after": 3, "stall_seconds": 5}, 1, ""),
    "async_stream.py": ({}, 0, "[end_turn,"),
    "slow_consumer.py": ({}, 0, "You said: List five colours."),
}


def run_example(name, options):
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY, EXAMPLE_TIMEOUT="0.5")
    with FakeAPI(**options) as api:
        env["ANTHROPIC_BASE_URL"] = api.base_url
        return subprocess.run([sys.executable, os.path.join(HERE, "examples", name)], env=env,
                              capture_output=True, text=True, timeout=30), api


def test_every_example_is_listed():
    scripts = {f for f in os.listdir(os.path.join(HERE, "examples")) if f.endswith(".py") and f != "fake_api.py"}
    assert scripts == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs_against_fake_api(name):
    options, code, expected = EXAMPLES[name]
    result, api = run_example(name, options)
    assert result.returncode == code, result.stderr
    assert expected in result.stdout
    assert "Traceback" not in result.stderr


def test_resume_example_with_max_resumes_gives_the_whole_answer():
    options = EXAMPLES["resume.py"][0]
    env = dict(os.environ, ANTHROPIC_API_KEY=TEST_KEY)
    with FakeAPI(**options) as api:
        env["ANTHROPIC_BASE_URL"] = api.base_url
        result = subprocess.run([sys.executable, os.path.join(HERE, "examples", "resume.py"), "--max-resumes"],
                                env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout == options["text"] + "\n", result.stderr
    assert len(api.requests) == 2  # dropped once, resumed once


def test_resume_example_continues_from_the_partial_answer():
    options = EXAMPLES["resume.py"][0]
    result, api = run_example("resume.py", options)
    assert "resuming after" in result.stderr
    second = api.requests[1]["body"]["messages"]
    assert second[-1]["role"] == "assistant" and second[-1]["content"].startswith("Rainbows form")


# -- Real infrastructure: nginx and squid in front of the loopback server ------------------
# nginx (a TLS reverse proxy) and squid (a forward proxy) run as foreground subprocesses
# from configs written into temporary directories, listening on 127.0.0.1 only, with the
# scripted Server behind them. A test skips, saying why, when its binary is not installed
# (.ci/run installs nginx-light and squid when it runs as root).

INFRA_DIR = os.path.dirname(os.path.abspath(__file__))
SQUID_USER, SQUID_PASSWORD = "alice", "p@ss word"  # "@" and " " exercise the URL's %-decoding
NCSA_HELPERS = ["/usr/lib/squid/basic_ncsa_auth", "/usr/lib64/squid/basic_ncsa_auth",
                "/usr/libexec/squid/basic_ncsa_auth", "/usr/local/libexec/squid/basic_ncsa_auth",
                "/usr/lib/squid3/basic_ncsa_auth"]


def infra_binary(name):
    """``name`` on PATH, else in the sbin directories a non-root PATH often lacks; or None."""
    found = shutil.which(name)
    for path in [found] + [os.path.join(d, name) for d in ("/usr/sbin", "/usr/local/sbin", "/sbin")]:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_url():
    """An http:// URL where nothing listens."""
    return "http://127.0.0.1:%d" % free_port()


def proc_tcp():
    """Rows (local, remote, state, inode) of /proc/net/tcp and tcp6; [] where there is no /proc."""
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        rows += [(f[1], f[2], f[3], f[9]) for f in (line.split() for line in lines)]
    return rows


def is_listening(port, pid):
    """True once process ``pid`` listens on ``port``. Reads /proc rather than connecting: a probe
    connect to a port in the ephemeral range can connect to itself and then hold the port."""
    if os.path.exists("/proc/net/tcp"):
        listening = {inode for local, _, state, inode in proc_tcp() if local.endswith(":%04X" % port) and state == "0A"}
        return bool(listening & socket_inodes(pid))
    with socket.socket() as s:
        s.settimeout(0.2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return False
        return s.getsockname() != s.getpeername()


def socket_inodes(pid="self"):
    """The inodes of the sockets process ``pid`` has open (Linux)."""
    inodes = set()
    try:
        fds = os.listdir("/proc/%s/fd" % pid)
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def own_connections(port):
    """TCP states of this process's sockets whose far end is ``port`` (Linux)."""
    inodes = socket_inodes()
    return [state for _, remote, state, inode in proc_tcp() if inode in inodes and remote.endswith(":%04X" % port)]


def no_proxy_settings(monkeypatch):
    """Ignore the proxy and CA settings of the machine running the tests."""
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file", "ssl_cert_dir"):
            monkeypatch.delenv(name)


class Daemon:
    """A server binary run in the foreground in its own process group, ready once it listens."""

    def __init__(self, argv, port, directory, seconds=10.0):
        self.port, self.output = port, os.path.join(str(directory), "daemon.out")
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=str(directory), start_new_session=True)
        deadline = time.monotonic() + seconds
        while not is_listening(port, self.proc.pid):
            with open(self.output, "rb") as f:
                output = f.read()
            if self.proc.poll() is not None or time.monotonic() > deadline or b"in use" in output:
                self.stop()  # nginx would retry a port in use for 2.5 s: give up on it at once
                raise RuntimeError("%s did not start listening on %d: %s" % (
                    argv[0], port, output[-2000:].decode("utf-8", "replace")))
            time.sleep(0.005)

    def stop(self, first=None):
        """Send ``first`` (if any) and give the server 2 s to exit; then kill its whole group."""
        if first is not None and self.proc.poll() is None:
            self.proc.send_signal(first)
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
        try:  # the group: an nginx worker, squid's auth helpers
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(5)


def start_daemon(make_argv, directory, tries=3):
    """Start on a free port; another port if that one was taken in the meantime."""
    for attempt in range(tries):
        port = free_port()
        try:
            return Daemon(make_argv(port), port, directory)
        except RuntimeError as exc:
            if attempt == tries - 1 or "in use" not in str(exc):
                raise


class Nginx:
    def __init__(self, directory, upstream, location, server, tls):
        self.dir = directory
        os.makedirs(str(directory / "temp"))
        (directory / "cert.pem").write_text(TEST_SERVER_PEM)
        (directory / "key.pem").write_text(TEST_SERVER_KEY)
        user = "user root;" if os.geteuid() == 0 else ""  # the worker must reach tmp_path (0700)

        def argv(port):
            self.port = port
            conf = directory / "nginx.conf"
            conf.write_text(NGINX_CONF % dict(
                dir=directory, user=user, port=port, ssl=" ssl" if tls else "", upstream=upstream,
                location=location, server=server))
            return [infra_binary("nginx"), "-p", str(directory), "-c", str(conf)]
        self.daemon = start_daemon(argv, directory)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)

    def errors(self):
        with open(str(self.dir / "error.log")) as f:
            return f.read()

    def log(self):
        """The access log: one "connection requests-on-it status method uri" line a request."""
        with open(str(self.dir / "access.log")) as f:
            return f.read().splitlines()


NGINX_CONF = """
daemon off;
%(user)s
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log info;
events { worker_connections 64; }
http {
    log_format cs '$connection $connection_requests $status $request_method $request_uri';
    access_log %(dir)s/access.log cs;
    client_body_temp_path %(dir)s/temp/body;
    proxy_temp_path %(dir)s/temp/proxy;
    fastcgi_temp_path %(dir)s/temp/fastcgi;
    uwsgi_temp_path %(dir)s/temp/uwsgi;
    scgi_temp_path %(dir)s/temp/scgi;
    server {
        listen 127.0.0.1:%(port)d%(ssl)s;
        ssl_certificate %(dir)s/cert.pem;
        ssl_certificate_key %(dir)s/key.pem;
        %(server)s
        location / {
            proxy_pass %(upstream)s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            %(location)s
        }
    }
}
"""


@pytest.fixture
def nginx(tmp_path):
    """Start nginx in front of a Server (or URL): ``nginx(upstream, location="...", server="...")``."""
    if os.name != "posix":
        pytest.skip("the nginx tests need a POSIX system")
    if infra_binary("nginx") is None:
        pytest.skip("nginx not installed: no nginx on PATH or in /usr/sbin (apt-get install nginx-light)")
    started = []

    def start(upstream, location="", server="", tls=True):
        url = upstream if isinstance(upstream, str) else upstream.url
        started.append(Nginx(tmp_path / ("nginx%d" % len(started)), url, location, server, tls))
        return started[-1]
    yield start
    for front in started:
        front.daemon.stop(signal.SIGTERM)  # nginx's fast shutdown: it reaps its worker


def apr1(password, salt):
    """The Apache MD5 ($apr1$) crypt hash of ``password``, as htpasswd -m writes it."""
    pw, salt, magic = password.encode(), salt.encode()[:8], b"$apr1$"
    alternate = hashlib.md5(pw + salt + pw).digest()
    data = pw + magic + salt + (alternate * (len(pw) // 16 + 1))[:len(pw)]
    n = len(pw)
    while n:
        data += b"\0" if n & 1 else pw[:1]
        n >>= 1
    digest = hashlib.md5(data).digest()
    for i in range(1000):
        digest = hashlib.md5((pw if i & 1 else digest) + (salt if i % 3 else b"") + (pw if i % 7 else b"")
                             + (digest if i & 1 else pw)).digest()
    alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        value = digest[a] << 16 | digest[b] << 8 | digest[c]
        out += "".join(alphabet[value >> shift & 63] for shift in (0, 6, 12, 18))
    out += alphabet[digest[11] & 63] + alphabet[digest[11] >> 6]
    return "$apr1$%s$%s" % (salt.decode(), out)


def test_apr1_matches_a_known_hash():
    assert apr1("s3cret pass", "cstest01") == "$apr1$cstest01$mqaNKDBlY1/K.CoKODin00"  # openssl passwd -apr1


class Squid:
    def __init__(self, directory, helper, owner):
        self.dir, self.service = directory, "cs%dx%d" % (os.getpid(), int(time.time() * 1000) % 100000)
        with open(os.path.join(directory, "passwd"), "w") as f:
            f.write("%s:%s\n" % (SQUID_USER, apr1(SQUID_PASSWORD, "cstest01")))
        run_as = "" if owner is None else "cache_effective_user %s\ncache_effective_group %s\n" % owner

        def argv(port):
            self.port = port
            conf = os.path.join(directory, "squid.conf")
            with open(conf, "w") as f:
                f.write(SQUID_CONF % dict(dir=directory, port=port, run_as=run_as, helper=helper))
            return [infra_binary("squid"), "-N", "-d", "1", "-n", self.service, "-f", conf]
        started = time.monotonic()
        self.daemon = start_daemon(argv, directory)
        self.startup = time.monotonic() - started
        self.url = "http://127.0.0.1:%d" % self.port

    def proxy_url(self, user=SQUID_USER, password=SQUID_PASSWORD):
        from urllib.parse import quote
        return "http://%s:%s@127.0.0.1:%d" % (quote(user, safe=""), quote(password, safe=""), self.port)

    def log(self, server):
        """The access log's [method, URL, status, user] of requests to ``server`` (squid writes
        an entry when the request has ended: for CONNECT, when the tunnel closes)."""
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                entries = [line.split() for line in f.read().splitlines()]
        except FileNotFoundError:
            return []
        where = server.url.split("//")[1]
        return [e for e in entries if len(e) == 4 and (e[1] == where or e[1].startswith(server.url + "/"))]

    def wait_log(self, server, count=1, seconds=3.0):
        wait_for(lambda: len(self.log(server)) >= count, seconds)
        return self.log(server)

    def stop(self):
        self.daemon.stop()
        for name in os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else []:
            if name.startswith(self.service + "-"):  # its shared memory, left behind by SIGKILL
                os.unlink(os.path.join("/dev/shm", name))


SQUID_CONF = """
http_port 127.0.0.1:%(port)d
visible_hostname claude-stream-test
%(run_as)s
pid_filename %(dir)s/squid.pid
cache_log %(dir)s/cache.log
coredump_dir %(dir)s
logformat cs %%rm %%ru %%>Hs %%un
access_log stdio:%(dir)s/access.log logformat=cs
cache_store_log none
netdb_filename none
pinger_enable off
icp_port 0
htcp_port 0
udp_incoming_address 127.0.0.1
udp_outgoing_address 127.0.0.1
dns_nameservers 127.0.0.1
cache deny all
cache_mem 0 MB
shutdown_lifetime 0 seconds
auth_param basic program %(helper)s %(dir)s/passwd
auth_param basic children 2 startup=0 idle=1
auth_param basic realm claude_stream test
acl authenticated proxy_auth REQUIRED
http_access allow authenticated
http_access deny all
"""


@pytest.fixture(scope="module")
def squid(tmp_path_factory):
    """One squid for the module: it starts in ~50-100 ms; tests tell their entries apart by upstream port."""
    if os.name != "posix":
        pytest.skip("the squid tests need a POSIX system")
    if infra_binary("squid") is None:
        pytest.skip("squid not installed: no squid on PATH or in /usr/sbin (apt-get install squid)")
    helper = next((p for p in NCSA_HELPERS if os.access(p, os.X_OK)), None)
    if helper is None:
        pytest.skip("squid's basic_ncsa_auth helper not found in %s" % ", ".join(NCSA_HELPERS))
    owner, scratch = None, None
    if os.geteuid() == 0:
        # squid refuses to run as root: it drops to cache_effective_user, which must reach its
        # logs and password file; pytest's tmp dirs are private (0700), so use a dir of its own
        import grp
        import pwd
        names = {p.pw_name for p in pwd.getpwall()}
        account = next((pwd.getpwnam(n) for n in ("proxy", "squid", "nobody") if n in names), None)
        if account is None:
            pytest.skip("running as root and no proxy/squid/nobody user for squid to run as")
        owner = (account.pw_name, grp.getgrgid(account.pw_gid).gr_name)
        scratch = directory = tempfile.mkdtemp(prefix="claude-stream-squid-", dir="/tmp")
        os.chown(directory, account.pw_uid, account.pw_gid)
    else:
        directory = str(tmp_path_factory.mktemp("squid"))
    proxy_server = Squid(directory, helper, owner)
    yield proxy_server
    proxy_server.stop()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)


def gated(pairs, after):
    """An event stream that sends ``pairs[:after + 1]``, then waits (at most 5 s) until the test
    sets ``reply.release`` before it sends the rest."""
    def reply(h, server):
        head(h)
        for i, pair in enumerate(pairs):
            chunk(h, sse_of([pair]))
            deadline = time.monotonic() + 5
            while i == after and not reply.release.wait(0.01) and not server.stopping.is_set():
                if time.monotonic() > deadline:
                    break
        h.wfile.write(b"0\r\n\r\n")
    reply.release = threading.Event()
    return reply


def held(pairs, after, seconds):
    """An event stream that holds after ``pairs[:after + 1]`` for ``seconds``; when the client
    goes away meanwhile, the time is added to ``reply.hangups`` and the reply ends."""
    def reply(h, server):
        head(h)
        for i, pair in enumerate(pairs):
            chunk(h, sse_of([pair]))
            if i == after:
                try:
                    hold(h, server, seconds)
                except ConnectionAbortedError:
                    reply.hangups.append(time.monotonic())
                    raise
        h.wfile.write(b"0\r\n\r\n")
    reply.hangups = []
    return reply


def through(front, **kw):
    """A client for ``front`` (an nginx) that trusts the test CA unless told otherwise."""
    kw.setdefault("api_key", TEST_KEY)
    kw.setdefault("max_retries", 0)
    kw.setdefault("proxy", None)
    return cs.Anthropic(base_url=front.url, **kw)


@pytest.mark.parametrize("buffering,trust", [("off", "ssl_context"), ("on", "SSL_CERT_FILE")])
def test_nginx_tls_reverse_proxy_streams(serve, nginx, certs, monkeypatch, buffering, trust):
    no_proxy_settings(monkeypatch)
    reply = gated(HELLO, after=3) if buffering == "off" else sse(HELLO)
    upstream = serve(reply)
    front = nginx(upstream, location="proxy_buffering %s;" % buffering)
    if trust == "SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", certs["ca"])
        client = through(front)
    else:
        client = through(front, ssl_context=certs["client"])
    with client.messages.stream(**PARAMS) as stream:
        if buffering == "off":  # "Hello" gets through while the upstream holds the rest back
            started = time.monotonic()
            assert next(stream.text_stream) == "Hello" and time.monotonic() - started < 1.0
            reply.release.set()
        assert stream.get_final_text() == "Hello, world"
        assert stream.request_id == "req_test_200"  # the upstream's headers pass through
    sent = upstream.requests[0]
    assert sent["body"] == dict(PARAMS, stream=True) and sent["headers"]["x-api-key"] == TEST_KEY


# nginx answers the client with "Connection: close" (keepalive_timeout 0), and with a body
# that only the close ends (chunked_transfer_encoding off); "keep-alive" is the control.
NGINX_CLOSING = {"keep-alive": "", "keepalive_timeout 0": "keepalive_timeout 0;",
                 "chunked off": "chunked_transfer_encoding off;"}


@pytest.mark.parametrize("config", sorted(NGINX_CLOSING))
def test_nginx_closing_responses_complete(serve, nginx, certs, config):
    upstream = serve(sse(HELLO))
    front = nginx(upstream, location="proxy_buffering off; " + NGINX_CLOSING[config])
    with through(front, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
        assert stream.get_final_message().stop_reason == "end_turn"


@pytest.mark.parametrize("config", sorted(NGINX_CLOSING))
def test_nginx_close_from_another_thread_hangs_up_at_once(serve, nginx, certs, config):
    reply = held(HELLO, after=3, seconds=2.5)
    upstream = serve(reply)
    front = nginx(upstream, location="proxy_buffering off; " + NGINX_CLOSING[config])
    with through(front, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        assert next(stream.text_stream) == "Hello"
        threading.Timer(0.2, stream.close).start()
        started = time.monotonic()
        rest = list(stream.text_stream)  # blocked in a read until close() ends it
        waited = time.monotonic() - started
        hung_up = wait_for(lambda: reply.hangups, started + 2.0 - time.monotonic())
    assert (rest, waited < 1.0, hung_up) == ([], True, True), (
        "close() left the connection open: the read went on for %.1f s and got %r; "
        "the upstream %s the client hang up" % (waited, rest, "saw" if hung_up else "never saw"))
    assert reply.hangups[0] - started < 1.5
    assert wait_for(lambda: "client prematurely closed connection" in front.errors(), 1.0)


@pytest.mark.parametrize("config", sorted(NGINX_CLOSING))
def test_nginx_leaving_the_with_block_early_hangs_up_at_once(serve, nginx, certs, config):
    reply = held(HELLO, after=3, seconds=2.5)
    upstream = serve(reply)
    front = nginx(upstream, location="proxy_buffering off; " + NGINX_CLOSING[config])
    with through(front, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        assert next(stream.text_stream) == "Hello"
    left = time.monotonic()
    hung_up = wait_for(lambda: reply.hangups, 2.0)
    assert hung_up, "the upstream never saw the client go: the `with` block left the connection open"
    assert reply.hangups[0] - left < 1.5
    assert stream.current_message_snapshot.content[0].text == "Hello"


def test_nginx_own_413_is_request_too_large_and_the_socket_closes_at_once(nginx, certs):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counts open sockets in /proc (Linux)")
    front = nginx(dead_url(), server="client_max_body_size 1k;")
    client = through(front, ssl_context=certs["client"], max_retries=2)
    big = dict(PARAMS, messages=[{"role": "user", "content": "x" * 20000}])
    before = len(socket_inodes())
    with pytest.raises(cs.RequestTooLargeError) as info:
        with client.messages.stream(**big):
            pass
    assert info.value.status_code == 413 and "Too Large" in str(info.value)
    assert wait_for(lambda: front.log(), 1.0) and len(front.log()) == 1  # not retried
    # while the error (and its response) is still referenced, nothing of the request is open
    assert own_connections(front.port) == [] and len(socket_inodes()) <= before, (
        "the 413's connection is still open: %r" % own_connections(front.port))


def test_nginx_502_is_internal_server_error_and_retried(nginx, certs):
    front = nginx(dead_url(), location="add_header retry-after-ms 10 always;")  # nginx's own 502 page
    client = through(front, ssl_context=certs["client"], max_retries=2)
    started = time.monotonic()
    with pytest.raises(cs.InternalServerError) as info:
        with client.messages.stream(**PARAMS):
            pass
    assert info.value.status_code == 502 and "502 Bad Gateway" in str(info.value)
    assert time.monotonic() - started < 2.0
    assert wait_for(lambda: len(front.log()) >= 3, 1.0)
    assert [line.split()[2] for line in front.log()] == ["502"] * 3  # the first try and two retries


def test_nginx_dropping_an_idle_kept_connection_is_replaced_transparently(serve, nginx, certs):
    upstream = serve(sse(HELLO))
    front = nginx(upstream, server="keepalive_timeout 100ms;")
    client = through(front, ssl_context=certs["client"])
    for i in range(2):
        with client.messages.stream(**PARAMS) as stream:
            assert stream.get_final_text() == "Hello, world"
        if i == 0:
            time.sleep(0.3)  # nginx closes the kept connection meanwhile
    # two client connections, no error (nginx logs a request once it has finished it: wait for both lines)
    assert wait_for(lambda: len({line.split()[0] for line in front.log()}) == 2, 2.0), front.log()


@pytest.mark.parametrize("chunked", ["on", "off"])
def test_nginx_read_timeout_mid_stream_ends_in_a_connection_error(serve, nginx, certs, chunked):
    upstream = serve(sse(HELLO, pause_after=3, pause=5))
    front = nginx(upstream, location="proxy_buffering off; proxy_read_timeout 300ms; chunked_transfer_encoding %s;"
                  % chunked)
    with through(front, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        assert next(stream.text_stream) == "Hello"
        started = time.monotonic()
        with pytest.raises(cs.APIConnectionError) as info:
            stream.until_done()
        waited = time.monotonic() - started
    assert 0.2 < waited < 2.0 and not isinstance(info.value, cs.APITimeoutError)
    assert stream.current_message_snapshot.content[0].text == "Hello"


@pytest.mark.parametrize("how", ["proxy=", "HTTPS_PROXY"])
def test_squid_connect_tunnel_with_basic_auth(serve, squid, certs, monkeypatch, how):
    no_proxy_settings(monkeypatch)
    upstream = serve(sse(HELLO), tls=certs["server"])
    if how == "HTTPS_PROXY":
        monkeypatch.setenv("HTTPS_PROXY", squid.proxy_url())
        client = client_for(upstream, ssl_context=certs["client"])
    else:
        client = client_for(upstream, ssl_context=certs["client"], proxy=squid.proxy_url())
    with client.messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert squid.wait_log(upstream) == [["CONNECT", upstream.url.split("//")[1], "200", SQUID_USER]]
    assert "proxy-authorization" not in upstream.requests[0]["headers"]


def test_squid_wrong_password_is_a_407_connection_error_not_retried(serve, squid, certs, monkeypatch):
    no_proxy_settings(monkeypatch)
    upstream = serve(sse(HELLO), tls=certs["server"])
    client = client_for(upstream, ssl_context=certs["client"], max_retries=2,
                        proxy=squid.proxy_url(password="not-the-password"))
    started = time.monotonic()
    with pytest.raises(cs.APIConnectionError) as info:
        client.messages.create(**PARAMS)
    assert "407" in str(info.value) and "proxy" in str(info.value) and "not-the-password" not in str(info.value)
    assert time.monotonic() - started < 0.5  # no backoff: not retried
    assert squid.wait_log(upstream)
    time.sleep(0.1)  # a retry would have been logged by now
    assert [e[:3] for e in squid.log(upstream)] == [["CONNECT", upstream.url.split("//")[1], "407"]]
    assert upstream.requests == []


def test_squid_is_bypassed_for_no_proxy(serve, squid, certs, monkeypatch):
    no_proxy_settings(monkeypatch)
    bypassing, proxied = serve(sse(HELLO), tls=certs["server"]), serve(sse(HELLO), tls=certs["server"])
    monkeypatch.setenv("HTTPS_PROXY", squid.proxy_url())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with client_for(bypassing, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    monkeypatch.delenv("NO_PROXY")  # then one through squid, which it logs after the first if that went through it
    with client_for(proxied, ssl_context=certs["client"]).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert [e[0] for e in squid.wait_log(proxied)] == ["CONNECT"]
    assert squid.log(bypassing) == [] and len(bypassing.requests) == 1


def test_squid_plain_http_in_absolute_form_streams(serve, squid, monkeypatch):
    no_proxy_settings(monkeypatch)
    reply = gated(HELLO, after=3)
    upstream = serve(reply)
    client = client_for(upstream, proxy=squid.proxy_url())
    with client.messages.stream(**PARAMS) as stream:
        started = time.monotonic()
        assert next(stream.text_stream) == "Hello" and time.monotonic() - started < 1.0  # not buffered
        reply.release.set()
        assert stream.get_final_text() == "Hello, world"
    headers = upstream.requests[0]["headers"]
    assert "squid" in headers.get("via", "") and "proxy-authorization" not in headers
    client.close()
    assert squid.wait_log(upstream) == [["POST", upstream.url + "/v1/messages", "200", SQUID_USER]]


def run_cli(env):
    clean = {k: v for k, v in os.environ.items()
             if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file",
                                  "ssl_cert_dir", "anthropic_auth_token")}
    clean.update(env, ANTHROPIC_API_KEY=TEST_KEY)
    return subprocess.run([sys.executable, "-m", "claude_stream", "--no-stdin", "hi"], env=clean, cwd=INFRA_DIR,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)


def test_cli_through_nginx_tls(serve, nginx, certs):
    upstream = serve(sse(HELLO))
    front = nginx(upstream, location="proxy_buffering off;")
    result = run_cli({"ANTHROPIC_BASE_URL": front.url, "SSL_CERT_FILE": certs["ca"]})
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "Hello, world" and len(upstream.requests) == 1


def test_cli_through_squid(serve, squid, certs):
    upstream = serve(sse(HELLO), tls=certs["server"])
    result = run_cli({"ANTHROPIC_BASE_URL": upstream.url, "SSL_CERT_FILE": certs["ca"],
                      "HTTPS_PROXY": squid.proxy_url()})
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "Hello, world"
    assert [e[0] for e in squid.wait_log(upstream)] == ["CONNECT"]


# -- Reliability regressions: hang-ups, hostile field values, injected and early errors --------
# Each test states what the fixed library does; the loopback servers above play the bytes.



def held_close_delimited(pairs, seconds=10.0):
    """A 200 event stream with ``connection: close`` and no chunking (the body ends when the
    socket does): ``pairs``, then the connection held open. ``reply.hung_up`` is set, and
    ``reply.hung_up_at`` stamped, when the client hangs up."""
    def reply(h, server):
        head(h, chunked=False)
        chunk(h, sse_of(pairs), chunked=False)
        wait_for_hangup(h, server, seconds, reply)
    reply.hung_up = threading.Event()
    reply.hung_up_at = None
    return reply


def wait_for_hangup(h, server, seconds, reply):
    try:
        hold(h, server, seconds)
    except OSError:  # hold()'s ConnectionAbortedError on EOF, or a reset: the client hung up
        reply.hung_up_at = time.monotonic()
        reply.hung_up.set()


def error_then_held(code, body):
    """An error status (content-length body, ``connection: close``), then the socket held open."""
    def reply(h, server):
        status(code, body)(h, server)
        wait_for_hangup(h, server, 10.0, reply)
    reply.hung_up = threading.Event()
    reply.hung_up_at = None
    return reply


HELD = [message_start(), text_block(), text_delta("Hello")]


def test_close_from_another_thread_hangs_up_a_close_delimited_stream(serve):
    # Fixed: close() closes the socket even when http.client handed it to the response
    # (connection: close), so a consumer blocked reading wakes and the server sees EOF.
    reply = held_close_delimited(HELD)
    server = serve(reply)
    with client_for(server).messages.stream(**PARAMS) as stream:
        texts = iter(stream.text_stream)
        assert next(texts) == "Hello"
        rest = []
        consumer = threading.Thread(target=lambda: rest.extend(texts), daemon=True)
        consumer.start()
        time.sleep(0.1)  # the consumer is now blocked reading the held socket
        stream.close()
        assert reply.hung_up.wait(1.0), "the server never saw the client hang up"
        consumer.join(1.0)
        assert not consumer.is_alive() and rest == []  # ends quietly: the caller closed it


def test_leaving_with_hangs_up_a_close_delimited_stream(serve):
    reply = held_close_delimited(HELD)
    server = serve(reply)
    with client_for(server).messages.stream(**PARAMS) as stream:
        for text in stream.text_stream:
            break
    assert text == "Hello"
    assert reply.hung_up.wait(1.0), "leaving `with` kept the socket open"
    assert stream.current_message_snapshot.content[0].text == "Hello"  # the stream object is still alive


def test_raw_stream_close_hangs_up_a_close_delimited_stream(serve):
    reply = held_close_delimited(HELD)
    server = serve(reply)
    raw = client_for(server).messages.create(stream=True, **PARAMS)
    assert next(iter(raw)).type == "message_start"
    raw.close()
    assert reply.hung_up.wait(1.0), "Stream.close() kept the socket open"
    assert raw.response.status == 200  # the stream object is still alive


def test_async_wait_for_timeout_hangs_up_a_close_delimited_stream(serve):
    reply = held_close_delimited(HELD)
    server = serve(reply)
    started = time.monotonic()
    seen = texts_until_timeout(server, 0.3)
    assert seen == ["Hello"]
    assert reply.hung_up.wait(1.5), "the cancelled async stream kept the socket open"
    assert reply.hung_up_at - started < 0.3 + 1.0


@pytest.mark.parametrize("how", ["create", "stream"])
def test_error_status_with_connection_close_frees_the_socket_at_once(serve, how):
    # Fixed: the socket of an error response is closed before the exception is raised, not
    # when the exception (which holds the response) is garbage collected.
    body = {"type": "error", "error": {"type": "request_too_large", "message": "Request exceeds the maximum size"}}
    reply = error_then_held(413, body)
    server = serve(reply)
    client = client_for(server, max_retries=2)
    err = None
    try:
        if how == "create":
            client.messages.create(**PARAMS)
        else:
            with client.messages.stream(**PARAMS) as stream:
                stream.until_done()
    except cs.RequestTooLargeError as exc:
        err = exc
    assert err is not None and err.status_code == 413 and err.type == "request_too_large"
    assert reply.hung_up.wait(1.0), "the error's socket stays open while the exception is alive"
    assert err.body == body and len(server.requests) == 1  # still alive, and 413 is not retried


# Field values no one should have to survive: the SSE retry field and the Retry-After date.

HUGE_RETRY = b"retry: " + b"7" * 5000 + b"\n"
FAR_DATE = "Fri, 31 Dec 99999 23:59:59 GMT"


def raw_body(data):
    """A chunked 200 event stream whose body is exactly ``data``."""
    def reply(h, server):
        head(h)
        chunk(h, data)
        h.wfile.write(b"0\r\n\r\n")
    return reply


def test_sse_retry_field_of_5000_digits_is_ignored(serve):
    data = sse_of(HELLO[:3]) + HUGE_RETRY + sse_of(HELLO[3:])  # inside the "Hello" delta's block
    events = list(cs.iter_sse([data]))
    assert [e.data for e in events] == [d for _, d in HELLO] and [e.retry for e in events] == [None] * len(HELLO)
    server = serve(raw_body(data), raw_body(data))
    client = client_for(server)
    with client.messages.stream(**PARAMS) as stream:
        assert list(stream.text_stream) == ["Hello", ", world"]
        assert stream.get_final_text() == "Hello, world"
    with client.messages.stream(**PARAMS) as stream:
        assert [e.text for e in stream if e.type == "text"] == ["Hello", ", world"]


@pytest.mark.parametrize("value", [FAR_DATE, "Sat, 01 Jan 10000 00:00:00 GMT"])
def test_retry_after_date_out_of_range_backs_off_by_default(value):
    assert cs._retry_delay(0, {"retry-after": value}, rand=0.0) == 0.5
    assert cs._retry_delay(2, {"retry-after": value}, rand=1.0) == 1.5


def test_retry_after_date_out_of_range_on_529_retries_and_succeeds(serve):
    server = serve(status(529, headers=[("retry-after", FAR_DATE)]), sse(HELLO))
    started = time.monotonic()
    with client_for(server, max_retries=1).messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "Hello, world"
    assert len(server.requests) == 2 and 0.3 <= time.monotonic() - started < 2.0  # the default 0.375-0.5 s


# Hostile JSON shapes: each is a cs.APIResponseValidationError naming the event, from the
# event iterator, text_stream and get_final_message alike, and the snapshot stays readable.

def deep(depth):
    return "[" * depth + "]" * depth


def block_start(block):
    fields = {"type": "content_block_start", "index": 0}
    if block is not MISSING:
        fields["content_block"] = block
    return ("content_block_start", json.dumps(fields))


def around(*events):
    """A whole stream: message_start, ``events``, then a normal ending."""
    return [message_start()] + list(events) + [ev("content_block_stop", index=0)] + finish()


MISSING = object()
A_CITATION = {"type": "char_location", "cited_text": "c", "document_index": 0, "start_char_index": 0,
              "end_char_index": 1}
TEXT_DELTA_HEAD = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
HOSTILE = [
    # id, the stream, the event names the error may name (the bad event, or the one it trips)
    ("deep-1000", around(("content_block_start", deep(1000))), {"content_block_start"}),
    ("deep-100000", around(("content_block_start", deep(100000))), {"content_block_start"}),
    ("deep-100000-in-a-field", around(text_block(), ("content_block_delta", TEXT_DELTA_HEAD + deep(100000) + "}}")),
     {"content_block_delta"}),
    ("type-is-a-list", around(("content_block_start", '{"type": [], "index": 0, "content_block": {"type": "text"}}')),
     {"content_block_start"}),
    ("index-is-a-list", around(text_block(), ev("content_block_delta", index=[0], delta={"type": "text_delta", "text": "x"})),
     {"content_block_delta"}),
    ("text-is-a-number", around(text_block(), ev("content_block_delta", index=0, delta={"type": "text_delta", "text": 1})),
     {"content_block_delta"}),
    ("no-content-block", around(block_start(MISSING), text_delta("x")), {"content_block_start", "content_block_delta"}),
    ("null-content-block", around(block_start(None), text_delta("x")), {"content_block_start", "content_block_delta"}),
    ("list-content-block", around(block_start([]), text_delta("x")), {"content_block_start", "content_block_delta"}),
    ("string-content-block", around(block_start("text"), text_delta("x")), {"content_block_start", "content_block_delta"}),
    ("citations-is-a-string", around(block_start({"type": "text", "text": "", "citations": "none"}), ev(
        "content_block_delta", index=0, delta={"type": "citations_delta", "citation": A_CITATION})),
     {"content_block_start", "content_block_delta"}),
    ("message-delta-is-a-string", [message_start(), text_block(), ev("content_block_stop", index=0),
                                   ev("message_delta", delta="end_turn", usage={"output_tokens": 5}), ev("message_stop")],
     {"message_delta"}),
    ("message-delta-usage-is-a-list", [message_start(), text_block(), ev("content_block_stop", index=0),
                                       ev("message_delta", delta={"stop_reason": "end_turn"}, usage=[5]),
                                       ev("message_stop")], {"message_delta"}),
    ("message-is-a-list", [ev("message_start", message=[]), text_block(), text_delta("x"),
                           ev("content_block_stop", index=0)] + finish(), {"message_start"}),
]


def assert_names_event(error, names):
    assert isinstance(error, cs.APIResponseValidationError), "%s: %s" % (type(error).__name__, error)
    assert any(name in str(error) for name in names), "the message names none of %s: %s" % (sorted(names), error)


@pytest.mark.parametrize("pairs,names", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_json_shapes_sans_io(pairs, names):
    acc = cs.MessageAccumulator()
    with pytest.raises(Exception) as info:
        for sse in cs.iter_sse([sse_of(pairs)]):
            acc.feed(cs.parse_event(sse))
    assert_names_event(info.value, names)
    acc.message  # noqa: B018 -- still readable
    with pytest.raises(Exception) as info:
        cs.accumulate(cs.parse_event(sse) for sse in cs.iter_sse([sse_of(pairs)]))
    assert_names_event(info.value, names)


@pytest.mark.parametrize("mode", ["text_stream", "events", "final_message"])
@pytest.mark.parametrize("pairs,names", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_json_shapes_on_the_wire(serve, pairs, names, mode):
    server = serve(sse(pairs))
    with client_for(server).messages.stream(**PARAMS) as stream:
        with pytest.raises(Exception) as info:
            if mode == "text_stream":
                for text in stream.text_stream:
                    assert isinstance(text, str), "text_stream yielded %r" % (text,)
            elif mode == "events":
                for event in stream:
                    pass
            else:
                stream.get_final_message()
        assert_names_event(info.value, names)
        snapshot = stream.current_message_snapshot  # readable, whatever it holds
        assert snapshot is None or isinstance(snapshot, cs.Message)


# Events named like the derived ones ("text", ...) are the server's, not ours: text_stream
# never takes text from them, and the event iterator yields them as unknown events.

DERIVED = (cs.TextEvent, cs.ThinkingEvent, cs.InputJsonEvent, cs.CitationEvent, cs.SignatureEvent)
IMPOSTORS = {
    "text": {"type": "text", "text": "INJECTED"},
    "thinking": {"type": "thinking", "thinking": "INJECTED", "snapshot": "INJECTED"},
    "input_json": {"type": "input_json", "partial_json": "INJECTED", "snapshot": {"x": "INJECTED"}},
    "citation": {"type": "citation", "citation": dict(A_CITATION, cited_text="INJECTED"), "snapshot": []},
    "signature": {"type": "signature", "signature": "INJECTED"},
}


def impostor_pairs(name):
    return HELLO[:4] + [(name, json.dumps(IMPOSTORS[name]))] + HELLO[4:]  # after the "Hello" delta


@pytest.mark.parametrize("name", sorted(IMPOSTORS))
def test_events_named_like_derived_events_are_not_ours(serve, name):
    events, acc = run_stream([sse_of(impostor_pairs(name))])
    assert [e.text for e in events if isinstance(e, cs.TextEvent)] == ["Hello", ", world"]
    impostor = [e for e in events if "INJECTED" in e.to_json()]
    assert len(impostor) == 1 and not isinstance(impostor[0], DERIVED)  # passed through, as unknown
    assert "INJECTED" not in acc.message.to_json()
    server = serve(sse(impostor_pairs(name)))
    client = client_for(server)
    with client.messages.stream(**PARAMS) as stream:
        assert list(stream.text_stream) == ["Hello", ", world"]
        assert "INJECTED" not in stream.get_final_message().to_json()
    with client.messages.stream(**PARAMS) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [e.text for e in events if isinstance(e, cs.TextEvent)] == ["Hello", ", world"]
    impostor = [e for e in events if "INJECTED" in e.to_json()]
    assert len(impostor) == 1 and not isinstance(impostor[0], DERIVED)
    assert final.content[0].text == "Hello, world" and "INJECTED" not in final.to_json()

    async def main():
        async with async_client(server).messages.stream(**PARAMS) as stream:
            return [t async for t in stream.text_stream], await stream.get_final_text()
    assert run_async(main()) == (["Hello", ", world"], "Hello, world")


# An error event before any content block means the request produced nothing: it is retried
# like the same error as an HTTP status, within the same budget, and the caller sees one answer.

def error_event(kind):
    return ("error", json.dumps({"type": "error", "error": {"type": kind, "message": "try again"}}))


ERROR_CLASSES = {"overloaded_error": cs.OverloadedError, "api_error": cs.InternalServerError,
                 "rate_limit_error": cs.RateLimitError}
FAST_RETRY = [("retry-after-ms", "1")]
SECOND = [message_start(id="msg_second"), text_block(), text_delta("Hello"), text_delta(", world"),
          ev("content_block_stop", index=0)] + finish()


def early_error(kind):
    return sse([message_start(id="msg_first"), ("ping", '{"type": "ping"}'), error_event(kind)], headers=FAST_RETRY)


@pytest.mark.parametrize("kind,mode", [(k, "text_stream") for k in sorted(ERROR_CLASSES)] +
                         [("overloaded_error", "events"), ("overloaded_error", "final_message")])
def test_error_event_before_any_block_is_retried(serve, kind, mode):
    server = serve(early_error(kind), sse(SECOND))
    with client_for(server, max_retries=2).messages.stream(**PARAMS) as stream:
        if mode == "text_stream":
            assert list(stream.text_stream) == ["Hello", ", world"]
        elif mode == "events":
            events = list(stream)
            starts = [e for e in events if e.type == "message_start"]
            assert [e.message.id for e in starts] == ["msg_second"]
            assert [e.text for e in events if e.type == "text"] == ["Hello", ", world"]
        final = stream.get_final_message()
    assert final.id == "msg_second" and final.content[0].text == "Hello, world" and len(final.content) == 1
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", sorted(ERROR_CLASSES))
def test_error_event_before_any_block_raises_without_retries(serve, kind):
    server = serve(early_error(kind), sse(SECOND))
    with client_for(server, max_retries=0).messages.stream(**PARAMS) as stream:
        with pytest.raises(ERROR_CLASSES[kind]):
            list(stream.text_stream)
    assert len(server.requests) == 1


@pytest.mark.parametrize("after", ["content_block_start", "text_delta"])
def test_error_event_after_a_block_started_raises_at_once(serve, after):
    pairs = [message_start(), text_block()] + ([text_delta("Hel")] if after == "text_delta" else [])
    server = serve(sse(pairs + [error_event("overloaded_error")], headers=FAST_RETRY), sse(SECOND))
    with client_for(server, max_retries=2).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.OverloadedError):
            list(stream.text_stream)
    assert len(server.requests) == 1


def test_error_event_retries_share_the_budget_with_status_retries(serve):
    server = serve(status(529, headers=FAST_RETRY), early_error("overloaded_error"), sse(SECOND))
    with client_for(server, max_retries=1).messages.stream(**PARAMS) as stream:
        with pytest.raises(cs.OverloadedError):
            stream.get_final_message()
    assert len(server.requests) == 2


# -- Fuzzing ---------------------------------------------------------------------------------
# Recorded transcripts, mutated at the event, JSON and byte level with a seeded random.Random,
# are decoded sans-IO and streamed over loopback. The oracle: the stream completes and the
# texts text_stream gave are the final message's text blocks joined, or it raises a
# cs.AnthropicError. Any other exception, a hang, or a mismatch is a bug. A failure message
# names the seed and case, one example of each distinct failure with its bytes cut down to the
# lines it needs; fuzz_sans_io(fuzz_case(seed, index)[0]) replays a case (the wire cases are
# indexes 10000 and up).

FUZZ_SEEDS = [11, 22, 33, 44]
FUZZ_SANS_IO_CASES = 800  # per seed
FUZZ_WIRE_CASES = 80  # per seed, each streamed twice (text_stream, then event iteration)
FUZZ_NAMES = ["text", "error", "ping", "thinking", "input_json", "citation", "signature", "brand_new_event",
              "message_start", "content_block_start", "content_block_delta", "content_block_stop",
              "message_delta", "message_stop", "", "TEXT", "text "]
FUZZ_RAW = "\u0000fuzz-raw:%s\u0000"  # its JSON string is replaced by the raw text after json.dumps
FUZZ_WRONG = [[], {}, 1, "x", None, True, -1, 1.5, 10 ** 30, [[["x"]]], {"type": "text"},
              FUZZ_RAW % deep(50), FUZZ_RAW % deep(900), FUZZ_RAW % deep(100000), FUZZ_RAW % ("7" * 5000),
              FUZZ_RAW % "NaN", FUZZ_RAW % "-Infinity", FUZZ_RAW % "1e400"]
FUZZ_BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x00", b"\x00\x00"]


def fuzz_paths(value):
    """Every (path, value) inside a JSON value, the root included (20 levels at most)."""
    out, todo = [], [((), value)]
    while todo:
        path, value = todo.pop()
        out.append((path, value))
        if len(path) < 20:
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
            todo.extend((path + (key,), inner) for key, inner in items)
    return out


def fuzz_set(value, path, new):
    if not path:
        return new
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


def fuzz_dumps(value):
    text = json.dumps(value, ensure_ascii=False)
    return re.sub(r'"\\u0000fuzz-raw:(.*?)\\u0000"', lambda m: m.group(1), text)


def fuzz_event_mutation(rng, pairs, log):
    pairs = list(pairs)
    op = rng.choice(["drop", "duplicate", "swap", "move", "rename", "rename", "wrong-type", "wrong-type",
                     "wrong-type", "delete-field", "giant", "inject"])
    i = rng.randrange(len(pairs))
    if op in ("rename", "wrong-type", "delete-field", "giant") and (
            "[" * 40 in pairs[i][1] or "7" * 1000 in pairs[i][1] or "NaN" in pairs[i][1]):
        op = "duplicate"  # raw JSON from an earlier mutation the test's own json.loads may refuse
    if op == "drop" and len(pairs) > 1:
        log.append("drop %d" % i)
        del pairs[i]
    elif op == "duplicate":
        log.append("duplicate %d" % i)
        pairs.insert(i, pairs[i])
    elif op == "swap":
        j = rng.randrange(len(pairs))
        log.append("swap %d %d" % (i, j))
        pairs[i], pairs[j] = pairs[j], pairs[i]
    elif op == "move":
        pair = pairs.pop(i)
        j = rng.randrange(len(pairs) + 1)
        log.append("move %d to %d" % (i, j))
        pairs.insert(j, pair)
    elif op == "rename":  # the SSE name and the JSON type alike (the type is what counts)
        name = rng.choice(FUZZ_NAMES)
        data = json.loads(pairs[i][1])
        if isinstance(data, dict):
            data["type"] = name
        log.append("rename %d to %r" % (i, name))
        pairs[i] = (name, json.dumps(data))
    elif op == "inject":
        name = rng.choice(FUZZ_NAMES)
        data = {"type": name, "text": "INJECTED", "index": rng.choice([0, 1, -1]),
                "error": {"type": rng.choice(["overloaded_error", "api_error", "x"]), "message": "m"}}
        log.append("inject %r at %d" % (name, i))
        pairs.insert(i, (name, json.dumps(data)))
    elif op == "delete-field":
        data = json.loads(pairs[i][1])
        path = rng.choice([p for p, _ in fuzz_paths(data)])
        if path:
            parent = data
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
        log.append("event %d del %s" % (i, "/".join(map(str, path)) or "<nothing>"))
        pairs[i] = (pairs[i][0], json.dumps(data))
    else:  # a value replaced: any type, or a 100 KB string
        data = json.loads(pairs[i][1])
        paths = fuzz_paths(data)
        if op == "giant":
            path = rng.choice([p for p, v in paths if isinstance(v, str)] or [p for p, _ in paths])
            new = "g" * 100000
        else:
            path = rng.choice([p for p, _ in paths[1:]] or [()])
            new = rng.choice(FUZZ_WRONG)
        log.append("event %d %s = %.40r" % (i, "/".join(map(str, path)) or "<root>", new))
        pairs[i] = (pairs[i][0], fuzz_dumps(fuzz_set(data, path, new)))
    return pairs


def fuzz_byte_mutation(rng, data, log):
    op = rng.choice(["truncate", "flip", "bad-utf8", "nul", "delete", "newline"])
    i = rng.randrange(len(data) + 1)
    if op == "truncate":
        log.append("truncate at %d" % i)
        return data[:i]
    if op == "flip" and i < len(data):
        bit = 1 << rng.randrange(8)
        log.append("flip bit %d of byte %d" % (bit, i))
        return data[:i] + bytes([data[i] ^ bit]) + data[i + 1:]
    if op == "delete":
        log.append("delete byte %d" % i)
        return data[:i] + data[i + 1:]
    if op == "newline":
        log.append("newline at %d" % i)
        return data[:i] + rng.choice([b"\n", b"\r", b"\n\n"]) + data[i:]
    bad = rng.choice(FUZZ_BAD_BYTES) if op == "bad-utf8" else b"\x00"
    log.append("insert %r at %d" % (bad, i))
    return data[:i] + bad + data[i:]


def fuzz_case(seed, index):
    """The chunks and mutation log of case ``index`` of ``seed``: the same every run."""
    rng = random.Random(seed * 1000003 + index)
    name = rng.choice(sorted(TRANSCRIPTS))
    log = [name]
    pairs = TRANSCRIPTS[name]
    if rng.random() < 0.3:
        pairs = spaced(pairs)  # off the delta fast path
        log.append("spaced")
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
        pairs = fuzz_event_mutation(rng, pairs, log)
    data = sse_of(pairs)
    ending = rng.choice(["\n", "\n", "\r\n", "\r", "mixed"])
    if ending == "mixed":
        lines = data.split(b"\n")
        data = b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines[:-1]) + lines[-1]
    elif ending != "\n":
        data = data.replace(b"\n", ending.encode())
    log.append("line ends %r" % ending)
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        data = fuzz_byte_mutation(rng, data, log)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.choice([0, 1, 3, 10, 40])))) if data else []
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    log.append("%d chunks" % len(chunks))
    return chunks, log


def fuzz_start_texts(chunks):
    """The text each text block of the final message started with (None for other blocks), in
    content order. text_stream yields only what deltas add, as the SDK's does, so a block's
    starting text is in the final message but never in the texts."""
    acc, starts = cs.MessageAccumulator(), []
    try:
        for sse in cs.iter_sse(chunks):
            event = cs.parse_event(sse)
            acc.feed(event)
            if event.type == "content_block_start":
                block = acc.message.content[-1]
                starts.append(block.text if block.type == "text" else None)
    except cs.AnthropicError:
        pass
    return starts


def fuzz_block_text(message, starts=()):
    """``(text, None)``: the final message's text blocks joined; or ``(None, (class, detail))``
    if its content is not a list of blocks that have a type (what ``get_final_text()`` and
    every caller's loop read), or a text block's text is not a str."""
    content = message.content
    if not isinstance(content, list):
        return None, ("final message content is not a list", "%.80r" % (content,))
    texts = []
    for position, block in enumerate(content):
        if not isinstance(block, cs.BaseModel):
            return None, ("final message content holds a non-block", "%.80r" % (block,))
        kind = block.__dict__.get("type", type(block).__dict__.get("type", fuzz_block_text))
        if kind is fuzz_block_text:  # block.type would raise AttributeError
            return None, ("final message holds a block without a type", "%.80r" % (block,))
        text = block.__dict__.get("text", "")
        if kind == "text" and not isinstance(text, str):
            return None, ("final message holds a text block whose text is not a str", "%.80r" % (block,))
        if kind == "text":
            start = starts[position] if position < len(starts) else None
            texts.append(text[len(start):] if start and text.startswith(start) else text)
    return "".join(texts), None


def fuzz_signature(exc):
    """What makes two failures the same bug: the exception type and where ours raised it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith("claude_stream.py")]
    where = "%s:%s" % (frames[-1].name, frames[-1].lineno) if frames else "test"
    return "%s at %s" % (type(exc).__name__, where)


def fuzz_check(run, snapshot, stats, starts=()):
    """Run one case: None if the oracle holds, else (failure class, detail). ``stats`` counts
    the outcomes, so a harness that fails every case (and so passes) is caught."""
    try:
        texts, final, after = run()
    except cs.AnthropicError:
        stats["raised"] = stats.get("raised", 0) + 1
        try:
            snapshot()  # what arrived before the failure stays readable
        except Exception as exc:
            return "%s reading the snapshot after the error" % fuzz_signature(exc), str(exc)[:200]
        return None
    except Exception as exc:  # noqa: BLE001 -- exactly what the oracle forbids
        return fuzz_signature(exc), str(exc)[:200]
    expected, problem = fuzz_block_text(final, starts)
    if problem:
        return problem
    if not all(isinstance(t, str) for t in texts):
        return "text_stream yielded a non-str", repr([t for t in texts if not isinstance(t, str)])[:200]
    if "".join(texts) != expected:
        return "texts differ from the final text", "%.100r != %.100r" % ("".join(texts), expected)
    stats["completed"] = stats.get("completed", 0) + 1
    return after


def fuzz_sans_io(chunks, stats=None):
    """iter_sse -> parse_event -> MessageAccumulator.feed, then cs.accumulate on the same events."""
    acc = cs.MessageAccumulator()

    def run():
        texts = []
        for sse in cs.iter_sse(chunks):
            for out in acc.feed(cs.parse_event(sse)):
                if isinstance(out, cs.TextEvent):
                    texts.append(out.text)
        if not acc.done:
            raise cs.APIConnectionError("incomplete")  # as accumulate() and the streams say
        final = acc.message
        other = cs.accumulate(cs.parse_event(sse) for sse in cs.iter_sse(chunks))
        after = None if other.to_dict() == final.to_dict() else ("accumulate() differs from feed()", "")
        return texts, final, after

    return fuzz_check(run, lambda: acc.message, {} if stats is None else stats, fuzz_start_texts(chunks))


def fuzz_run_bounded(work, seconds):
    """Run ``work()`` in a daemon thread; AssertionError (with its progress note) if it hangs."""
    progress = {}
    done = threading.Event()
    outcome = []

    def target():
        try:
            outcome.append(work(progress))
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)
        finally:
            done.set()
    threading.Thread(target=target, daemon=True, name="fuzz").start()
    assert done.wait(seconds), "hang: no result after %.0f s in %s" % (seconds, progress.get("case"))
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def fuzz_minimize(chunks, kind):
    """The case's bytes with every line removed that the failure ``kind`` does not need
    (sans-IO, in one chunk); the bytes unchanged if the failure needs the chunking."""
    def fails(lines):
        problem = fuzz_sans_io([b"".join(lines)])
        return problem is not None and problem[0] == kind
    lines = b"".join(chunks).splitlines(True)
    if len(lines) > 400 or not fails(lines):
        return b"".join(chunks)
    changed = True
    while changed:
        changed = False
        for i in reversed(range(len(lines))):
            if i < len(lines) and fails(lines[:i] + lines[i + 1:]):
                del lines[i]
                changed = True
    return b"".join(lines)


def fuzz_report(failures):
    """One example of each distinct failure class, with what rebuilds it."""
    classes = {}
    for where, (kind, detail), log, chunks in failures:
        classes.setdefault(kind, (where, detail, log, chunks, []))[4].append(where)
    lines = ["%d failing case(s), %d distinct:" % (len(failures), len(classes))]
    for kind, (where, detail, log, chunks, all_) in classes.items():
        lines.append("- %s (%d cases), e.g. %s: %s\n    mutations: %s\n    minimal: %.600r"
                     % (kind, len(all_), where, detail, "; ".join(log), fuzz_minimize(chunks, kind)))
    return "\n".join(lines)


@pytest.mark.parametrize("seed", FUZZ_SEEDS)
def test_fuzz_sans_io(seed):
    stats = {}

    def work(progress):
        failures = []
        for index in range(FUZZ_SANS_IO_CASES):
            chunks, log = fuzz_case(seed, index)
            progress["case"] = "fuzz_case(%d, %d): %s" % (seed, index, "; ".join(log))
            problem = fuzz_sans_io(chunks, stats)
            if problem:
                failures.append(("fuzz_case(%d, %d)" % (seed, index), problem, log, chunks))
        return failures
    failures = fuzz_run_bounded(work, 30)
    assert not failures, "%s\noutcomes of the other cases: %r" % (fuzz_report(failures), stats)
    assert stats.get("completed", 0) >= FUZZ_SANS_IO_CASES // 5, stats  # the mutations leave some streams whole


def fuzz_reply(cases):
    """Plays the case the request names (its prompt), one write per fuzz chunk: chunked, or
    for every third case close-delimited (``connection: close``, the body ends with the socket)."""
    def reply(h, server):
        chunks, chunked = cases[h.body["messages"][0]["content"]]
        head(h, chunked=chunked)
        for piece in chunks:
            if piece:
                chunk(h, piece, chunked)
        if chunked:
            h.wfile.write(b"0\r\n\r\n")
    return reply


class FuzzHang(Exception):
    """A wire case timed out though the server had sent it all at once."""


def fuzz_wire(client, key, mode, stats, starts=()):
    params = dict(PARAMS, messages=[{"role": "user", "content": key}])
    holder = []

    def run():
        started = time.monotonic()
        try:
            with client.messages.stream(**params) as stream:
                holder.append(stream)
                if mode == "text_stream":
                    texts = list(stream.text_stream)
                else:
                    texts = [e.text for e in stream if isinstance(e, cs.TextEvent)]
                final = stream.get_final_message()
        except cs.APITimeoutError as exc:
            raise FuzzHang("%s after %.1f s" % (exc, time.monotonic() - started)) from exc
        took = time.monotonic() - started
        return texts, final, ("slow", "%.1f s" % took) if took > 1.5 else None

    def snapshot():
        if holder:
            holder[0].current_message_snapshot  # noqa: B018

    return fuzz_check(run, snapshot, stats, starts)


@pytest.mark.parametrize("seed", FUZZ_SEEDS)
def test_fuzz_on_the_wire(serve, seed):
    cases = {}
    for index in range(FUZZ_WIRE_CASES):
        # the wire cases are another slice of the same generator as the sans-IO ones
        cases["fuzz_case(%d, %d)" % (seed, 10000 + index)] = fuzz_case(seed, 10000 + index)
    server = serve(fuzz_reply({key: (chunks, i % 3 != 2) for i, (key, (chunks, _)) in enumerate(cases.items())}))
    client = client_for(server, timeout=2)
    stats = {}

    def work(progress):
        failures = []
        for key, (chunks, log) in cases.items():
            for mode in ("text_stream", "events"):
                progress["case"] = "%s %s: %s" % (key, mode, "; ".join(log))
                problem = fuzz_wire(client, key, mode, stats, fuzz_start_texts(chunks))
                if problem:
                    failures.append(("%s via %s" % (key, mode), problem, log, chunks))
        return failures
    failures = fuzz_run_bounded(work, 30)
    assert not failures, "%s\noutcomes of the other cases: %r" % (fuzz_report(failures), stats)
    assert stats.get("completed", 0) >= FUZZ_WIRE_CASES // 5, stats  # the server did play the cases


def test_resume_closes_the_stalled_connection_before_asking_again(serve):
    # review finding: the abandoned answer kept streaming (and billing) during the resume
    log = {}
    def first(h, server):
        head(h)
        chunk(h, sse_of([message_start(), text_block(), text_delta("Hello")]))
        t0 = time.monotonic()
        try:
            hold(h, server, 10)
        except ConnectionAbortedError:
            log["first_hung_up"] = time.monotonic()
    def second(h, server):
        log["second_arrived"] = time.monotonic()
        time.sleep(0.3)  # the resumed request takes a while to answer
        log["first_closed_at_second_answer"] = "first_hung_up" in log
        sse([text_block(), text_delta(", world"), ev("content_block_stop", index=0)] + finish())(h, server)
    server = serve(first, second)
    client = client_for(server, timeout=0.6)
    with client.messages.stream(max_resumes=1, **PARAMS) as stream:
        text = "".join(stream.text_stream)
        time.sleep(0.3)
        log["first_closed_after_stream_done"] = "first_hung_up" in log
    assert log["first_closed_at_second_answer"], log


def test_message_start_reaches_the_reader_when_a_drop_follows_it(serve):
    # review finding: message_start, held for a possible retry, was lost when the body dropped
    server = serve(sse([message_start()], end=False),
                   sse([message_start(), text_block(), text_delta("Hi"), ev("content_block_stop", index=0)] + finish()))
    with client_for(server).messages.stream(max_resumes=1, **PARAMS) as stream:
        types = [e.type for e in stream]
    assert types[0] == "message_start", types


def test_error_event_after_a_fast_path_delta_is_not_retried(serve):
    # review finding: a delta in the API's spelling did not count as content, so text was shown twice
    err = ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    server = serve(sse([message_start(content=[{"type": "text", "text": ""}]), ("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"AB"}}'), err]),
                   sse(HELLO))
    texts = []
    with pytest.raises(cs.OverloadedError):
        with client_for(server, max_retries=2).messages.stream(**PARAMS) as stream:
            for text in stream.text_stream:
                texts.append(text)
    assert texts == ["AB"] and len(server.requests) == 1


def test_message_start_comes_first_when_its_message_already_has_a_block(serve):
    server = serve(sse([message_start(content=[{"type": "text", "text": ""}]), ("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"AB"}}'),
                        ev("content_block_stop", index=0)] + finish()))
    with client_for(server).messages.stream(**PARAMS) as stream:
        types = [e.type for e in stream]
    assert types[0] == "message_start", types


def test_async_message_start_reaches_the_reader_when_a_drop_follows_it(serve):
    server = serve(sse([message_start()], end=False),
                   sse([message_start(), text_block(), text_delta("Hi"), ev("content_block_stop", index=0)] + finish()))
    async def main():
        client = cs.AsyncAnthropic(base_url=server.url, api_key=TEST_KEY, max_retries=0)
        async with client.messages.stream(max_resumes=1, **PARAMS) as stream:
            return [e.type async for e in stream]
    types = asyncio.run(main())
    assert types[0] == "message_start", types


# The status classes of SDK 2.12 (anthropic._error_classes.ERROR_CLASSES with no error_code):
# status -> (class name, the class it derives from).
SDK_STATUS_CLASSES = {
    400: ("BadRequestError", "APIStatusError"), 401: ("AuthenticationError", "APIStatusError"),
    402: ("PaymentRequiredError", "APIStatusError"), 403: ("PermissionDeniedError", "APIStatusError"),
    404: ("NotFoundError", "APIStatusError"), 408: ("RequestTimeoutError", "APIStatusError"),
    409: ("ConflictError", "APIStatusError"), 412: ("PreconditionFailedError", "APIStatusError"),
    413: ("ContentTooLargeError", "APIStatusError"), 422: ("UnprocessableEntityError", "APIStatusError"),
    429: ("RateLimitError", "APIStatusError"), 431: ("RequestHeaderFieldsTooLargeError", "APIStatusError"),
    499: ("ClientClosedRequestError", "APIStatusError"), 500: ("InternalServerError", "APIStatusError"),
    501: ("HTTPNotImplementedError", "InternalServerError"), 502: ("InternalServerError", "APIStatusError"),
    503: ("ServiceUnavailableError", "InternalServerError"), 504: ("GatewayTimeoutError", "InternalServerError"),
    529: ("OverloadedError", "InternalServerError"),
}


@pytest.mark.parametrize("code", sorted(SDK_STATUS_CLASSES))
def test_each_status_raises_the_sdk_class_by_its_sdk_name(serve, code):
    name, parent = SDK_STATUS_CLASSES[code]
    server = serve(status(code, headers=[("x-should-retry", "false")]))
    with pytest.raises(getattr(cs, name)) as info:
        client_for(server).messages.create(**PARAMS)
    assert type(info.value).__name__ == name and type(info.value).__mro__[1].__name__ == parent
    assert info.value.status_code == code and isinstance(info.value, cs.APIStatusError)


def test_old_sdk_names_are_the_same_classes():
    assert cs.RequestTooLargeError is cs.ContentTooLargeError and cs.DeadlineExceededError is cs.GatewayTimeoutError


# SDK 2.12 raises a class of its own for these (status, error.details.error_code) pairs
# (anthropic._error_classes.ERROR_CLASSES, the classes it exports at its top level):
SDK_ERROR_CODE_CLASSES = [
    (400, "claude_code_key_creator_not_member", "ClaudeCodeKeyCreatorNotMemberError", "BadRequestError"),
    (400, "claude_code_version_too_old", "ClaudeCodeVersionTooOldError", "BadRequestError"),
    (400, "cmek_key_disabled", "CMEKKeyDisabledError", "BadRequestError"),
    (400, "cmek_key_network_blocked", "CMEKKeyNetworkBlockedError", "BadRequestError"),
    (400, "organization_on_hold", "OrganizationOnHoldError", "BadRequestError"),
    (400, "organization_type_not_supported", "OrganizationTypeNotSupportedError", "BadRequestError"),
    (400, "parent_organization_required", "ParentOrganizationRequiredError", "BadRequestError"),
    (400, "request_body_encoding_invalid", "RequestBodyEncodingInvalidError", "BadRequestError"),
    (400, "request_body_encoding_unsupported", "RequestBodyEncodingUnsupportedError", "BadRequestError"),
    (402, "linked_organization_billing_unavailable", "LinkedOrganizationBillingUnavailableError", "PaymentRequiredError"),
    (402, "linked_organization_spend_limit_reached", "LinkedOrganizationSpendLimitReachedError", "PaymentRequiredError"),
    (403, "sandbox_egress_restricted", "SandboxEgressRestrictedError", "PermissionDeniedError"),
    (413, "request_body_too_large_after_decoding", "RequestBodyTooLargeAfterDecodingError", "ContentTooLargeError"),
    (429, "contract_spend_limit_reached", "ContractSpendLimitReachedError", "RateLimitError"),
    (429, "enforced_spend_limit_reached", "EnforcedSpendLimitReachedError", "RateLimitError"),
    (429, "ramp_limit_exceeded", "RampLimitExceededError", "RateLimitError"),
    (503, "cmek_context_unavailable", "CMEKContextUnavailableError", "ServiceUnavailableError"),
    (503, "cmek_key_unreachable", "CMEKKeyUnreachableError", "ServiceUnavailableError"),
]


@pytest.mark.parametrize("code,error_code,name,parent", SDK_ERROR_CODE_CLASSES,
                         ids=[row[1] for row in SDK_ERROR_CODE_CLASSES])
def test_status_with_an_error_code_raises_the_sdk_class(serve, code, error_code, name, parent):
    body = {"type": "error", "error": {"type": "some_error", "message": "m", "details": {"error_code": error_code}}}
    server = serve(status(code, body, headers=[("x-should-retry", "false")]))
    with pytest.raises(getattr(cs, name)) as info:
        client_for(server).messages.create(**PARAMS)
    assert type(info.value).__mro__[1].__name__ == parent and info.value.error_code == error_code
    assert name in cs.__all__


def test_an_error_code_that_does_not_fit_the_status_keeps_the_status_class(serve):
    body = {"type": "error", "error": {"type": "x", "message": "m", "details": {"error_code": "cmek_key_disabled"}}}
    server = serve(status(429, body, headers=[("x-should-retry", "false")]))
    with pytest.raises(cs.RateLimitError) as info:
        client_for(server).messages.create(**PARAMS)
    assert type(info.value) is cs.RateLimitError and info.value.error_code == "cmek_key_disabled"
    # a 500 with a code the SDK keys to 503 stays an InternalServerError, as in the SDK
    body["error"]["details"]["error_code"] = "cmek_key_unreachable"
    server = serve(status(500, body, headers=[("x-should-retry", "false")]))
    with pytest.raises(cs.InternalServerError) as info:
        client_for(server).messages.create(**PARAMS)
    assert type(info.value) is cs.InternalServerError


def test_a_non_json_error_body_is_kept_stripped_as_the_sdk_keeps_it(serve):
    server = serve(status(502, b"\n  <html>Bad gateway</html>\r\n", content_type="text/html"))
    with pytest.raises(cs.InternalServerError) as info:
        client_for(server).messages.create(**PARAMS)
    assert info.value.body == "<html>Bad gateway</html>" and info.value.status_code == 502
