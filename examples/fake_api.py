#!/usr/bin/env python3
"""A fake Anthropic Messages API, for trying claude_stream offline and for tests.

Command line (serves until Ctrl-C)::

    python examples/fake_api.py --port 8765 --fail-first 2 --drop-after 6
    export ANTHROPIC_BASE_URL=http://127.0.0.1:8765 ANTHROPIC_API_KEY=test

From Python::

    from fake_api import FakeAPI
    with FakeAPI(error_after=4) as api:
        ...  # point a client at api.base_url, then inspect api.requests

POST /v1/messages answers "You said: <last user text>" (or the ``text`` option),
as Server-Sent Events when the body has "stream": true, else as one JSON Message.
Fault options (fail_first, drop_after, stall_after, error_after, delay, ...) can
be given to FakeAPI(...), as command-line flags, or per request as a JSON object
in an ``x-fake-options`` header. The *_after faults hit only the first request
(fault_requests=1), so a retry or resume succeeds; an assistant prefill is
continued. Standard library only; Python 3.8+.
"""
from __future__ import annotations

import argparse
import base64
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Set, Tuple

__all__ = ["FakeAPI"]

Event = Tuple[str, Dict[str, Any]]
Block = Dict[str, Any]  # {"start": content_block, "deltas": [...counted], "tail": [...]}

DEFAULTS: Dict[str, Any] = {
    "text": None, "delay": 0.0, "pause_after_first": 0.0, "chunked": True,
    "fail_first": 0, "fail_status": 529, "retry_after": None,
    "retry_after_ms": None, "should_retry": None,
    "drop_after": None, "stall_after": None, "stall_seconds": 30.0,
    "error_after": None, "error_type": "overloaded_error",
    "fault_requests": 1,  # requests after fail_first that get the *_after faults; 0: all
    "tag": None,  # no effect; makes an x-fake-options value unique (see fail_first)
}
ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}
ERROR_MESSAGES = {
    "invalid_request_error": "Invalid request", "authentication_error": "invalid x-api-key",
    "permission_error": "Permission denied", "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Rate limited", "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}
DELTA_FIELDS = {"text_delta": "text", "thinking_delta": "thinking",
                "signature_delta": "signature", "input_json_delta": "partial_json"}
EXAMPLE_VALUES = {"string": "example", "number": 1, "integer": 1, "boolean": True}
THINKING = ["Let me think", " about this.", " A short, friendly", " reply will do."]


# --- building the reply -----------------------------------------------------

def split_words(text: str) -> List[str]:
    """Split text into word-ish pieces, each word keeping its leading space."""
    pieces = re.findall(r"\s*\S+(?:\s+\Z)?", text)
    rest = text[len("".join(pieces)):]
    return pieces + [rest] if rest else pieces


def content_text(content: Any) -> str:
    """Text of message content: a string, or text (and tool_result) blocks."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, dict) and block.get("type") == "tool_result":
            parts.append(content_text(block.get("content", "")))
    return " ".join(p for p in parts if p)


def pick_tool(body: Dict[str, Any], last_user: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The tool to call, or None (no tools, tool_choice none, or answering a tool_result)."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    content = last_user.get("content")
    answering = isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    if not tools or choice.get("type") == "none" or answering:
        return None
    named = [t for t in tools if choice.get("type") == "tool" and t["name"] == choice.get("name")]
    return (named or tools)[0]


def text_block(text: str) -> Block:
    deltas = [{"type": "text_delta", "text": w} for w in split_words(text)]
    return {"start": {"type": "text", "text": ""}, "deltas": deltas, "tail": []}


def thinking_block(n: int) -> Block:
    signature = base64.b64encode(("fake-signature-%d" % n).encode()).decode()
    return {"start": {"type": "thinking", "thinking": "", "signature": ""},
            "deltas": [{"type": "thinking_delta", "thinking": t} for t in THINKING],
            "tail": [{"type": "signature_delta", "signature": signature}]}


def tool_block(tool: Dict[str, Any], n: int) -> Block:
    properties = (tool.get("input_schema") or {}).get("properties") or {}
    raw = json.dumps({name: EXAMPLE_VALUES.get(schema.get("type") if isinstance(schema, dict) else None)
                      for name, schema in properties.items()})
    fragments = [raw[i:i + 7] for i in range(0, len(raw), 7)]
    return {"start": {"type": "tool_use", "id": "toolu_fake_%d" % n, "name": tool["name"], "input": {}},
            "deltas": [{"type": "input_json_delta", "partial_json": f} for f in fragments], "tail": []}


def cut_at_stop_sequence(text: str, sequences: Any) -> Tuple[str, Optional[str]]:
    """Cut text before the earliest stop sequence; return (text, sequence or None)."""
    hits = [(text.find(s), s) for s in sequences or [] if isinstance(s, str) and s and s in text]
    if not hits:
        return text, None
    index, sequence = min(hits)
    return text[:index], sequence


def assemble(block: Block) -> Dict[str, Any]:
    """The finished content block, as a non-streaming response would contain it."""
    out, raw_json = dict(block["start"]), ""
    for delta in block["deltas"] + block["tail"]:
        field = DELTA_FIELDS[delta["type"]]
        if field == "partial_json":
            raw_json += delta[field]
        else:
            out[field] = out.get(field, "") + delta[field]
    if out["type"] == "tool_use":
        try:
            out["input"] = json.loads(raw_json) if raw_json else {}
        except ValueError:  # cut short by max_tokens
            out["input"] = {}
    return out


@dataclass
class Reply:
    id: str
    model: str
    input_tokens: int
    blocks: List[Block]
    stop_reason: str
    stop_sequence: Optional[str]

    @property
    def output_tokens(self) -> int:
        return sum(len(b["deltas"]) for b in self.blocks)

    def message(self) -> Dict[str, Any]:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": [assemble(b) for b in self.blocks],
                "stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}

    def events(self) -> List[Event]:
        start = dict(self.message(), content=[], stop_reason=None, stop_sequence=None,
                     usage={"input_tokens": self.input_tokens, "output_tokens": 1})
        events: List[Event] = [("message_start", {"type": "message_start", "message": start}),
                               ("ping", {"type": "ping"})]
        for i, block in enumerate(self.blocks):
            events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": block["start"]}))
            events += [("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
                       for d in block["deltas"] + block["tail"]]
            events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
        events.append(("message_delta", {
            "type": "message_delta", "usage": {"output_tokens": self.output_tokens},
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence}}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events


def build_reply(body: Dict[str, Any], opts: Dict[str, Any], n: int) -> Reply:
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    tool = pick_tool(body, last_user)
    if opts["text"] is not None:
        text = str(opts["text"])
    elif tool:
        text = "I'll use the %s tool." % tool["name"]
    else:
        text = "You said: " + content_text(last_user.get("content", ""))
    if messages and messages[-1].get("role") == "assistant":  # prefill: continue after it
        prefill = content_text(messages[-1].get("content", ""))
        text = text[len(prefill):] if text.startswith(prefill) else text
    text, stop_sequence = cut_at_stop_sequence(text, body.get("stop_sequences"))
    thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    blocks = [thinking_block(n)] if thinking.get("type") in ("enabled", "adaptive") else []
    blocks.append(text_block(text))
    stop_reason = "stop_sequence" if stop_sequence else "end_turn"
    if tool and not stop_sequence:
        blocks.append(tool_block(tool, n))
        stop_reason = "tool_use"
    limit = body.get("max_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool) and sum(len(b["deltas"]) for b in blocks) > limit:
        blocks, stop_reason, stop_sequence = truncate(blocks, limit), "max_tokens", None
    words = sum(len(content_text(m.get("content")).split()) for m in messages)
    return Reply("msg_fake_%d" % n, str(body.get("model") or "claude-fake"), max(1, words),
                 blocks, stop_reason, stop_sequence)


def truncate(blocks: List[Block], budget: int) -> List[Block]:
    """Keep the first `budget` deltas (one token each); drop blocks past the cut."""
    kept = []
    for block in blocks:
        if budget <= 0:
            break
        kept.append(dict(block, deltas=block["deltas"][:budget]))
        budget -= len(block["deltas"])
    return kept


def request_options(base: Dict[str, Any], header: Optional[str]) -> Dict[str, Any]:
    """Server options overridden by the request's x-fake-options JSON object."""
    opts = dict(base)
    if header:
        try:
            extra = json.loads(header)
        except ValueError:
            raise ValueError("x-fake-options is not valid JSON") from None
        if not isinstance(extra, dict):
            raise ValueError("x-fake-options must be a JSON object")
        unknown = sorted(set(extra) - set(DEFAULTS))
        if unknown:
            raise ValueError("unknown x-fake-options: %s" % ", ".join(unknown))
        opts.update(extra)
    return opts


def retry_headers(opts: Dict[str, Any]) -> Dict[str, str]:
    headers = {}
    if opts["retry_after"] is not None:
        headers["retry-after"] = str(opts["retry_after"])
    if opts["retry_after_ms"] is not None:
        headers["retry-after-ms"] = str(opts["retry_after_ms"])
    if opts["should_retry"] is not None:
        yes = opts["should_retry"] is True or str(opts["should_retry"]).lower() == "true"
        headers["x-should-retry"] = "true" if yes else "false"
    return headers


# --- HTTP --------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"
    request_id = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, False)
        super().finish()

    def do_POST(self) -> None:
        fake = self.server.fake
        self.request_id = "req_fake_%d" % fake._count("request")
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record({"method": self.command, "path": self.path, "headers": headers, "body": body})
        try:
            self._respond(headers, body)
        except OSError:  # client went away, or stop() closed the socket
            self.close_connection = True

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _respond(self, headers: Dict[str, str], body: Any) -> None:
        """Check path, auth, options and body; then fail, stream or answer with JSON.

        Attempts are counted per distinct x-fake-options value: the first fail_first
        get an error, the next fault_requests streams get the mid-stream faults. Add
        a "tag" to the header to give a test its own count."""
        fake = self.server.fake
        if self.command != "POST" or self.path.split("?")[0] != "/v1/messages":
            return self._send_error(404, "%s %s not found" % (self.command, self.path))
        if "x-api-key" not in headers and "authorization" not in headers:
            return self._send_error(401, "x-api-key header is required")
        try:
            opts = request_options(fake.options, headers.get("x-fake-options"))
        except ValueError as exc:
            return self._send_error(400, str(exc))
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self._send_error(400, "body must be a JSON object with a messages list")
        attempt = fake._count("attempt:" + headers.get("x-fake-options", "")) - int(opts["fail_first"] or 0)
        if attempt <= 0:
            return self._send_error(int(opts["fail_status"]), None, retry_headers(opts))
        if opts["fault_requests"] and attempt > int(opts["fault_requests"]):
            opts.update(drop_after=None, stall_after=None, error_after=None)
        reply = build_reply(body, opts, fake._count("message"))
        if body.get("stream") is True:
            self._send_stream(reply.events(), opts)
        else:
            self._send_json(200, reply.message())

    def _begin(self, status: int, content_type: str, headers: Dict[str, str]) -> None:
        self.send_response(status, None if status in self.responses else
                           "Overloaded" if status == 529 else "Error")
        self.send_header("request-id", self.request_id)
        self.send_header("content-type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)

    def _error_body(self, error_type: str, message: Optional[str] = None) -> Dict[str, Any]:
        error = {"type": error_type, "message": message or ERROR_MESSAGES.get(error_type, "Error")}
        return {"type": "error", "error": error, "request_id": self.request_id}

    def _send_error(self, status: int, message: Optional[str], headers: Optional[Dict[str, str]] = None) -> None:
        self._send_json(status, self._error_body(ERROR_TYPES.get(status, "api_error"), message), headers)

    def _send_json(self, status: int, obj: Any, headers: Optional[Dict[str, str]] = None) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self._begin(status, "application/json", dict(headers or {}, **{"content-length": str(len(data))}))
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, events: List[Event], opts: Dict[str, Any]) -> None:
        fake = self.server.fake
        chunked = bool(opts["chunked"]) and self.request_version != "HTTP/1.0"
        framing = {"transfer-encoding": "chunked"} if chunked else {"connection": "close"}
        self._begin(200, "text/event-stream; charset=utf-8", dict(framing, **{"cache-control": "no-cache"}))
        self.end_headers()
        self.close_connection = self.close_connection or not chunked
        paused = False
        for sent in range(len(events) + 1):
            if 0 < sent < len(events):
                fake._sleep(float(opts["delay"] or 0))
            if opts["stall_after"] == sent:
                fake._sleep(float(opts["stall_seconds"]))
            if fake._stopping.is_set() or opts["drop_after"] == sent:
                return self._drop()
            if opts["error_after"] == sent:
                self._write_event("error", self._error_body(str(opts["error_type"])), chunked)
                break
            if sent == len(events):
                break
            name, data = events[sent]
            self._write_event(name, data, chunked)
            if not paused and data.get("delta", {}).get("type") == "text_delta":
                paused = True
                fake._sleep(float(opts["pause_after_first"] or 0))
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write_event(self, name: str, data: Dict[str, Any], chunked: bool) -> None:
        text = "event: %s\ndata: %s\n\n" % (name, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        payload = text.encode("utf-8")
        if chunked:
            payload = b"%x\r\n%s\r\n" % (len(payload), payload)
        self.wfile.write(payload)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close abruptly: no terminating chunk, socket shut down."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    block_on_close = False
    fake: "FakeAPI"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeAPI:
    """A fake Messages API server; options are the keys of DEFAULTS."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise TypeError("unknown FakeAPI options: %s" % ", ".join(unknown))
        self.host, self.port = host, port
        self.options: Dict[str, Any] = dict(DEFAULTS, **options)
        self.requests: List[Dict[str, Any]] = []
        self.base_url = ""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._counters: Dict[str, int] = {}
        self._connections: Set[socket.socket] = set()
        self._server: Optional[_Server] = None

    def start(self) -> str:
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self.base_url = "http://%s:%d" % (self.host, self.port)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="FakeAPI", daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes stalled handlers
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "FakeAPI":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _count(self, key: str) -> int:
        """Bump and return a per-server counter (request ids, message ids, attempts)."""
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            return self._counters[key]

    def _record(self, request: Dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(request)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)  # returns early when stop() is called


FLAGS = [  # (flag, type, help): the faults and the answer, as FakeAPI options
    ("fail-first", int, "answer the first N requests with --fail-status (retries then succeed)"),
    ("fail-status", int, "the status of those failures (default 529)"),
    ("retry-after", str, "a retry-after header on the failures (seconds or an HTTP date)"),
    ("drop-after", int, "drop the connection after N events of the first stream"),
    ("stall-after", int, "go silent after N events of the first stream ..."),
    ("stall-seconds", float, "... for this long (default 30)"),
    ("error-after", int, "send an error event after N events of the first stream"),
    ("error-type", str, "its error.type (default overloaded_error)"),
    ("delay", float, "seconds between events (default 0)"),
    ("pause-after-first", float, "seconds to wait after the first text delta"),
    ("text", str, "the answer's text (default: You said: <prompt>)"),
    ("fault-requests", int, "how many requests after --fail-first get the *-after faults "
                            "(default 1: a retry or resume succeeds; 0: all)"),
]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="A fake Anthropic Messages API on 127.0.0.1, for trying claude_stream offline. "
        "Faults hit only the first request(s) of the server's life (see --fault-requests).",
        epilog="example: %(prog)s --run python3 -m claude_stream hello")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8765; with --run, a free one)")
    for flag, kind, text in FLAGS:
        parser.add_argument("--" + flag, type=kind, help=text)
    parser.add_argument("--no-chunked", dest="chunked", action="store_false", default=None,
                        help="close-delimited streams instead of chunked")
    parser.add_argument("--run", nargs=argparse.REMAINDER, metavar="COMMAND",
                        help="run COMMAND with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY set for this "
                        "server, then stop; exit with its status")
    args = vars(parser.parse_args(argv))
    host, port, command = args.pop("host"), args.pop("port"), args.pop("run")
    api = FakeAPI(host, port if port is not None else 0 if command else 8765,
                  **{k: v for k, v in args.items() if v is not None})
    try:
        url = api.start()
    except OSError as exc:
        print("fake_api: cannot listen on %s:%s: %s" % (host, api.port, exc.strerror or exc), file=sys.stderr)
        return 2
    try:
        if command:
            return _run(command, url)
        print("fake Anthropic API on %s  (export ANTHROPIC_BASE_URL=%s ANTHROPIC_API_KEY=test)" % (url, url),
              flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 130
    finally:
        api.stop()


def _run(command: List[str], url: str) -> int:
    import os
    import subprocess
    env = dict(os.environ, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="test")
    env.pop("ANTHROPIC_AUTH_TOKEN", None)
    try:
        return subprocess.call(command, env=env)
    except OSError as exc:
        print("fake_api: cannot run %s: %s" % (command[0], exc.strerror or exc), file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
