#!/usr/bin/env python3
"""Benchmark claude_stream against the least work pure Python can do ("limit") and the SDK.

    python benchmarks/bench.py [--quick] [--only sync|async] [--json FILE] [--sdk-python PATH] [--profile]

Every measurement runs in a fresh subprocess (``bench.py --worker CLIENT CASE k=v ...``,
which prints one JSON line); the SSE server runs in its own process (``--serve``), and also
listens with TLS (``tls=CHAIN``) for the HTTPS connection-reuse case. The async cases run
AsyncAnthropic (and an asyncio limit client) on one event loop per worker.
Standard library only; Python 3.8+. See README.md for what each row means.
"""
import http.client
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHUNK = 64 * 1024
MODEL = "claude-sonnet-5"  # any name the SDK does not flag as deprecated (a warning per request)
FULL = dict(rounds=5, import_runs=10, n=50000, lat_n=200, pause=0.5, sansio=(10000, 100000),
            tool=(10000, 40000), bg=(100000, 1000), reuse=(50, 20), conc=(1, 10, 100, 300), conc_n=500)
QUICK = dict(rounds=2, import_runs=3, n=5000, lat_n=50, pause=0.1, sansio=(2000, 20000),
             tool=(1000, 4000), bg=(10000, 1000), reuse=(10, 20), conc=(1, 10, 100, 300), conc_n=100)
NAMES = {"cs": "claude_stream", "limit": "limit", "sdk": "SDK"}
CS_DIR = os.environ.get("BENCH_CS_DIR") or ROOT  # where claude_stream.py is read from (--cs-dir)


# -- SSE bodies (used by the server and by the in-memory sans-IO cases) ---------------------

def sse(name, data):
    return b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data, separators=(",", ":")).encode())


def tool_document(n):
    """A JSON text of about 100 bytes per fragment, as a tool's input would stream."""
    rows = [{"id": i, "name": "row %d" % i, "note": "value %d of the benchmark input" % (i * 7919)}
            for i in range(n)]
    return json.dumps({"rows": rows})


def fragments(kind, n):
    if kind == "text":
        return [" tok%d" % i for i in range(n)]
    doc = tool_document(n)
    return [doc[len(doc) * i // n: len(doc) * (i + 1) // n] for i in range(n)]


def build_events(kind, n):
    """message_start, content_block_start, ping, n deltas, content_block_stop, message_delta, message_stop."""
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    if kind == "text":
        block, dtype, key, stop = {"type": "text", "text": ""}, "text_delta", "text", "end_turn"
    else:
        block = {"type": "tool_use", "id": "toolu_bench", "name": "record", "input": {}}
        dtype, key, stop = "input_json_delta", "partial_json", "tool_use"
    events = [sse("message_start", {"type": "message_start", "message": message}),
              sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
              sse("ping", {"type": "ping"})]
    events += [sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": dtype, key: frag}}) for frag in fragments(kind, n)]
    events += [sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
               sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": n}}),
               sse("message_stop", {"type": "message_stop"})]
    return events


def expected_chars(kind, n, _cache={}):
    if (kind, n) not in _cache:
        _cache[kind, n] = len(tool_document(n)) if kind == "tool" else sum(len(f) for f in fragments(kind, n))
    return _cache[kind, n]


def split(data, size=CHUNK):
    return [data[i:i + size] for i in range(0, len(data), size)]


# -- server process -------------------------------------------------------------------------

def serve(argv):
    """Answer POST /v1/messages?n=N&kind=text&pause=P&ka=1 with a pre-built chunked SSE body.

    argv holds KIND:N bodies to pre-build and, optionally, "async" (then an asyncio listener
    also serves them, for the concurrent async cases) and tls=CHAIN (a PEM file with the server
    certificate and key: then another listener speaks HTTPS). Prints the HTTP port, then the
    asyncio listener's port, then the HTTPS port, one per line."""
    import socket
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit
    bodies = {}

    def body(kind, n):
        if (kind, n) not in bodies:  # (head: first 4 events, framed chunks of the rest)
            events = build_events(kind, n)
            framed = [b"%x\r\n%s\r\n" % (len(p), p) for p in split(b"".join(events[4:]))]
            bodies[kind, n] = (b"".join(events[:4]), framed + [b"0\r\n\r\n"])
        return bodies[kind, n]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            if hasattr(self.request, "do_handshake"):  # TLS: handshake in this connection's thread
                self.request.do_handshake()
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def do_POST(self):
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            head, rest = body(query.get("kind", "text"), int(query.get("n", "100")))
            keep = query.get("ka") == "1"
            self.close_connection = not keep
            start = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                     b"transfer-encoding: chunked\r\nrequest-id: req_bench\r\n"
                     + (b"" if keep else b"connection: close\r\n") + b"\r\n")
            self.wfile.write(start + b"%x\r\n%s\r\n" % (len(head), head))
            if float(query.get("pause", 0)):
                time.sleep(float(query["pause"]))
            for piece in rest:
                self.wfile.write(piece)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # listen backlog: the async cases open up to 300 connections at once

    class TLSServer(Server):

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], OSError):  # closes without close_notify are noise
                super().handle_error(request, client_address)

    def serve_async(ready):
        """The async cases' listener: one asyncio loop in its own thread, so that accepting and
        answering 300 connections at once costs little (ThreadingHTTPServer starts a thread and
        parses headers with the email package for each; at 300 connections that, not the client,
        would set the pace). Same bodies, same framing, same query."""
        import asyncio

        async def handle(reader, writer):
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                while True:
                    try:
                        head = await reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                    lines = head.split(b"\r\n")
                    length = next((int(line.split(b":")[1]) for line in lines
                                   if line.lower().startswith(b"content-length:")), 0)
                    await reader.readexactly(length)
                    query = {k: v[-1] for k, v in parse_qs(urlsplit(lines[0].split()[1].decode()).query).items()}
                    first, rest = body(query.get("kind", "text"), int(query.get("n", "100")))
                    keep = query.get("ka") == "1"
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                                 b"transfer-encoding: chunked\r\nrequest-id: req_bench\r\n"
                                 + (b"" if keep else b"connection: close\r\n") + b"\r\n"
                                 + b"%x\r\n%s\r\n" % (len(first), first))
                    if float(query.get("pause", 0)):
                        await writer.drain()
                        await asyncio.sleep(float(query["pause"]))
                    for piece in rest:
                        writer.write(piece)
                    await writer.drain()
                    if not keep:
                        return
            except ConnectionError:
                pass
            finally:
                writer.close()

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
            ready.append(server.sockets[0].getsockname()[1])
            await asyncio.Event().wait()  # forever (a daemon thread)

        asyncio.new_event_loop().run_until_complete(main())

    chains = [arg[4:] for arg in argv if arg.startswith("tls=")]
    for spec in argv:
        if ":" in spec and not spec.startswith("tls="):
            kind, n = spec.split(":")
            body(kind, int(n))
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    if "async" in argv:
        import threading
        ready = []
        threading.Thread(target=serve_async, args=(ready,), daemon=True).start()
        while not ready:
            time.sleep(0.01)
        print(ready[0], flush=True)
    if chains:
        import ssl
        import threading
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chains[0])
        tls = TLSServer(("127.0.0.1", 0), Handler)
        tls.socket = context.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
        print(tls.server_address[1], flush=True)
    server.serve_forever()


# -- clients (worker side) ------------------------------------------------------------------

def limit_collect(chunks, key="text"):
    """The limit: split lines, json.loads each data line, keep the deltas' text; (text, t_first)."""
    loads, parts, tail, first = json.loads, [], b"", None
    for chunk in chunks:
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            if line[:5] == b"data:":
                event = loads(line[5:])
                if event["type"] == "content_block_delta":
                    if first is None:
                        first = time.perf_counter()
                    parts.append(event["delta"][key])
    return "".join(parts), first


def import_cs():
    sys.path.insert(0, CS_DIR)
    import claude_stream
    return claude_stream


def make_api(client, port, tls=None):
    """What the timed part needs: a constructed SDK-style client, or (host, port) for the limit.
    With tls (an ssl.SSLContext that trusts the server), the client talks HTTPS."""
    if client == "limit":
        return ("127.0.0.1", port)
    module = import_cs() if client == "cs" else __import__("anthropic")
    if tls is None:
        return module.Anthropic(api_key="bench", base_url="http://127.0.0.1:%d" % port, max_retries=0, timeout=60)
    extra = dict(ssl_context=tls) if client == "cs" else dict(http_client=module.DefaultHttpxClient(verify=tls))
    return module.Anthropic(api_key="bench", base_url="https://127.0.0.1:%d" % port, max_retries=0, timeout=60,
                            **extra)


def limit_read(resp):
    read1 = resp.read1
    while True:
        chunk = read1(CHUNK)
        if not chunk:
            return
        yield chunk


def limit_stream(api, query, conn=None):
    conn = conn or http.client.HTTPConnection(*api, timeout=60)
    body = json.dumps({"model": MODEL, "max_tokens": 1024, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    conn.request("POST", "/v1/messages?" + "&".join("%s=%s" % kv for kv in query.items()), body,
                 {"content-type": "application/json", "x-api-key": "bench", "anthropic-version": "2023-06-01"})
    return limit_collect(limit_read(conn.getresponse()))


def consume(client, api, query, mode):
    """One streamed request, consumed via text_stream or get_final_message; (text, t_first)."""
    if client == "limit":
        return limit_stream(api, query)
    first, parts = None, []
    with api.messages.stream(model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hi"}],
                             extra_query=query) as stream:
        if mode == "final":
            return stream.get_final_message().content[0].text, None
        if mode == "events":  # every raw and derived event object, the text taken from the text events
            for event in stream:
                if event.type == "text":
                    parts.append(event.text)
            return "".join(parts), None
        for text in stream.text_stream:
            if first is None:
                first = time.perf_counter()
            parts.append(text)
    return "".join(parts), first


def peak_rss_kib():
    """This process's peak RSS. On Linux, ru_maxrss also counts the parent's RSS at fork time
    (it survives exec), so VmHWM, which covers only this process image, is read first."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        import resource
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kib // 1024 if sys.platform == "darwin" else kib  # macOS reports bytes


def case_stream(client, o):
    api = make_api(client, int(o["port"]))
    query = {"n": o["n"], "pause": o.get("pause", "0")}
    if o.get("warm"):  # one short request first: cold-start costs are not what latency measures
        consume(client, api, {"n": "5"}, "text")
    profiler = None
    if o.get("profile"):
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    text, first = consume(client, api, query, o["mode"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if profiler:
        import pstats
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    return {"wall": wall, "cpu": cpu, "chars": len(text), "rss_kib": peak_rss_kib(),
            "first_ms": None if first is None else (first - t0) * 1000}


def case_sansio(client, o):
    kind, n = o["kind"], int(o["n"])
    chunks = split(b"".join(build_events(kind, n)))
    key = "text" if kind == "text" else "partial_json"
    t0 = time.perf_counter()
    if client == "limit":
        text, _ = limit_collect(chunks, key)
        value = text if kind == "text" else json.loads(text)
    else:
        cs = import_cs()
        t0 = time.perf_counter()
        acc, parse = cs.MessageAccumulator(), cs.parse_event
        for event in cs.iter_sse(chunks):
            acc.feed(parse(event))
        block = acc.message.content[0]
        value = block.text if kind == "text" else block.input
    seconds = time.perf_counter() - t0
    chars = len(value) if kind == "text" else len(json.dumps(value))
    return {"seconds": seconds, "events": n + 6, "chars": chars}


def case_background(client, o):
    cs = import_cs()
    api = make_api("cs", int(o["port"]))
    t0, count = time.perf_counter(), 0
    with api.messages.stream(model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hi"}],
                             extra_query={"n": o["n"]}) as stream:
        items = cs.background(stream.text_stream, maxsize=100)
        for count, _ in enumerate(items, 1):
            if count % 1000 == 0:
                time.sleep(0.001)
        getattr(items, "close", lambda: None)()
    return {"wall": time.perf_counter() - t0, "items": count, "rss_kib": peak_rss_kib()}


def case_reuse(client, o):
    """count sequential n-delta streams, on one client or a fresh client (so connection) each.
    With tls_port and cafile, over HTTPS; the SSL context is made once, before the timed part."""
    count, n, fresh = int(o["count"]), o["n"], o["fresh"] == "1"
    port, query, tls = int(o.get("tls_port") or o["port"]), {"n": o["n"], "ka": "1"}, None
    if o.get("cafile"):
        import ssl
        tls = ssl.create_default_context(cafile=o["cafile"])
    api = make_api(client, port, tls)
    if tls is None:
        connect = lambda: http.client.HTTPConnection(*api, timeout=60)
    else:
        connect = lambda: http.client.HTTPSConnection(*api, timeout=60, context=tls)
    conn = None if client != "limit" or fresh else connect()
    t0 = time.perf_counter()
    for _ in range(count):
        if client == "limit":
            limit_stream(api, query, conn or connect())
            continue
        if fresh:
            api = make_api(client, port, tls)
        consume(client, api, query, "text")
        if fresh and hasattr(api, "close"):
            api.close()
    return {"ms_per_stream": (time.perf_counter() - t0) * 1000 / count}


def case_features(client, o):
    cs = import_cs()
    api = cs.Anthropic(api_key="x")
    pool = any(hasattr(cs.Anthropic, a) or hasattr(api, a) for a in ("_pool", "_connections", "_idle", "_transport"))
    return {"background": hasattr(cs, "background"), "pool": pool}


# -- async clients (worker side) ------------------------------------------------------------

def make_async_api(client, port):
    """A constructed AsyncAnthropic, or (host, port) for the async limit."""
    if client == "limit":
        return ("127.0.0.1", port)
    module = import_cs() if client == "cs" else __import__("anthropic")
    return module.AsyncAnthropic(api_key="bench", base_url="http://127.0.0.1:%d" % port, max_retries=0, timeout=60)


async def async_close(api):
    close = getattr(api, "close", None)  # the SDK's is a coroutine; claude_stream's may be either
    if close is not None:
        result = close()
        if hasattr(result, "__await__"):
            await result


async def limit_body(reader):
    """A minimal HTTP/1.1 response reader: status line, headers, then the body's bytes as they
    arrive (chunked, content-length or up to EOF), at most CHUNK at a time."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if status != 200:
        raise RuntimeError("HTTP %d" % status)
    read = reader.read
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if not size:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return
            while size:
                piece = await read(min(size, CHUNK))
                if not piece:
                    raise ConnectionError("body ended inside a chunk")
                size -= len(piece)
                yield piece
            await reader.readexactly(2)  # the CRLF after the chunk
    elif b"content-length" in headers:
        left = int(headers[b"content-length"])
        while left:
            piece = await read(min(left, CHUNK))
            if not piece:
                raise ConnectionError("body ended early")
            left -= len(piece)
            yield piece
    else:
        while True:
            piece = await read(CHUNK)
            if not piece:
                return
            yield piece


async def limit_async_stream(api, query, on_first=None):
    """The async limit: asyncio.open_connection, the POST, limit_body, then limit_collect's loop."""
    import asyncio
    host, port = api
    reader, writer = await asyncio.open_connection(host, port)
    try:
        body = json.dumps({"model": MODEL, "max_tokens": 1024, "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        writer.write(b"POST /v1/messages?%s HTTP/1.1\r\nhost: %s:%d\r\ncontent-type: application/json\r\n"
                     b"x-api-key: bench\r\nanthropic-version: 2023-06-01\r\ncontent-length: %d\r\n\r\n%s"
                     % ("&".join("%s=%s" % kv for kv in query.items()).encode(), host.encode(), port,
                        len(body), body))
        loads, parts, tail, first = json.loads, [], b"", None
        async for chunk in limit_body(reader):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            for line in lines:
                if line[:5] == b"data:":
                    event = loads(line[5:])
                    if event["type"] == "content_block_delta":
                        if first is None:
                            first = time.perf_counter()
                            if on_first:
                                on_first()
                        parts.append(event["delta"]["text"])
        return "".join(parts), first
    finally:
        writer.close()
        await writer.wait_closed()


async def async_consume(client, api, query, mode, on_first=None):
    """One streamed request on an async client: text_stream, get_final_message or every event;
    (text, t_first). on_first runs once, when the first text reaches the consumer."""
    if client == "limit":
        return await limit_async_stream(api, query, on_first)
    first, parts = None, []
    async with api.messages.stream(model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hi"}],
                                   extra_query=query) as stream:
        if mode == "final":
            return (await stream.get_final_message()).content[0].text, None
        if mode == "events":
            async for event in stream:
                if event.type == "text":
                    parts.append(event.text)
            return "".join(parts), None
        async for text in stream.text_stream:
            if first is None:
                first = time.perf_counter()
                if on_first:
                    on_first()
            parts.append(text)
    return "".join(parts), first


def case_astream(client, o):
    """One stream on an async client: as case_stream, inside asyncio.run."""
    import asyncio

    async def run():
        api = make_async_api(client, int(o["port"]))
        query = {"n": o["n"], "pause": o.get("pause", "0")}
        if o.get("warm"):
            await async_consume(client, api, {"n": "5"}, "text")
        c0, t0 = time.process_time(), time.perf_counter()
        text, first = await async_consume(client, api, query, o["mode"])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        await async_close(api)
        return {"wall": wall, "cpu": cpu, "chars": len(text), "rss_kib": peak_rss_kib(),
                "first_ms": None if first is None else (first - t0) * 1000}
    return asyncio.run(run())


def case_aconc(client, o):
    """count concurrent n-delta streams on one async client (asyncio.gather on one loop), with a
    ticker task on the same loop that wakes every 10 ms: it records how late each wake-up is and
    samples threading.active_count(), as does each stream when its first text arrives."""
    import asyncio
    import threading
    count, query = int(o["count"]), {"n": o["n"]}

    async def run():
        api = make_async_api(client, int(o["port"]))
        before = threading.active_count()  # the caller's threads, before the client's first request
        await async_consume(client, api, {"n": "5"}, "text")  # warm-up, as the latency case does
        peak = {"threads": before, "lag": 0.0}

        def sample():
            peak["threads"] = max(peak["threads"], threading.active_count())

        async def ticker():
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                peak["lag"] = max(peak["lag"], time.perf_counter() - t - 0.01)
                sample()

        tick = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)  # the ticker is asleep before the streams start
        c0, t0 = time.process_time(), time.perf_counter()
        results = await asyncio.gather(*[async_consume(client, api, query, "text", sample) for _ in range(count)])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        tick.cancel()
        sample()
        await async_close(api)
        firsts = sorted((first - t0) * 1000 for _, first in results if first is not None)
        return {"wall": wall, "cpu": cpu, "chars": sum(len(text) for text, _ in results), "rss_kib": peak_rss_kib(),
                "threads_before": before, "threads_peak": peak["threads"], "lag_ms": peak["lag"] * 1000,
                "first_median_ms": median(firsts),
                "first_max_ms": firsts[-1] if firsts else None, "streams_with_text": len(firsts)}
    return asyncio.run(run())


CASES = {"stream": case_stream, "sansio": case_sansio, "background": case_background,
         "reuse": case_reuse, "features": case_features, "astream": case_astream, "aconc": case_aconc}


def worker(argv):
    client, case = argv[0], argv[1]
    options = dict(arg.split("=", 1) for arg in argv[2:])
    print(json.dumps(CASES[case](client, options)), flush=True)


# -- orchestration (main process) -----------------------------------------------------------

def child_env(sdk):
    """Allow .pyc caching (PYTHONDONTWRITEBYTECODE would time compiling), outside the repo."""
    import tempfile
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not sdk:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "claude_stream_bench_pycache")
    return env


def run_worker(ctx, client, case, show_stderr=False, **opts):
    import subprocess
    py = ctx["sdk_python"] if client == "sdk" else sys.executable
    argv = [py, os.path.abspath(__file__), "--worker", client, case] + ["%s=%s" % kv for kv in opts.items()]
    proc = subprocess.run(argv, capture_output=True, text=True, env=child_env(client == "sdk"), cwd=HERE)
    if show_stderr:
        sys.stderr.write(proc.stderr)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]}
    return json.loads(lines[-1])


def rotate(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def measure_imports(ctx, runs):
    """Median wall time of ``python -c "import X"`` minus that of ``python -c "pass"``, in ms."""
    import subprocess
    import tempfile
    cmds = {"cs": (sys.executable, "import claude_stream"), "limit": (sys.executable, "import json, http.client"),
            "base": (sys.executable, "pass")}
    if ctx["sdk_python"]:
        cmds.update(sdk=(ctx["sdk_python"], "import anthropic"), sdk_base=(ctx["sdk_python"], "pass"))
    times = {k: [] for k in cmds}
    for i in range(runs + 1):  # the first pass warms the caches and is dropped
        for key in rotate(sorted(cmds), i):
            py, stmt = cmds[key]
            stmt = "import sys; sys.path.insert(0, %r); %s" % (CS_DIR, stmt) if key == "cs" else stmt
            t0 = time.perf_counter()
            subprocess.run([py, "-c", stmt], check=True, env=child_env(py != sys.executable),
                           cwd=tempfile.gettempdir())
            if i:
                times[key].append((time.perf_counter() - t0) * 1000)
    med = {k: median(v) for k, v in times.items()}
    result = {"cs": med["cs"] - med["base"], "limit": med["limit"] - med["base"], "raw": times}
    if "sdk" in med:
        result["sdk"] = med["sdk"] - med["sdk_base"]
    return result


def median(values):
    import statistics
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def plan(cfg, clients, features, tls=None, parts=("sync", "async"), aport=None):
    """(case id, clients, worker case, options, expected chars) for each measurement of a round.
    tls: {"port": HTTPS port, "cafile": CA file}, or None to leave out the HTTPS reuse case;
    aport: the asyncio listener, for the concurrent async cases.
    Expected chars is (kind, deltas) or (kind, deltas, streams)."""
    cases = sync_plan(cfg, clients, features, tls) if "sync" in parts else []
    if "async" in parts:
        n = cfg["n"]
        for mode in ("text", "final", "events"):
            cases.append(("a_" + mode, clients, "astream", dict(mode=mode, n=n), ("text", n)))
        cases.append(("a_latency", clients, "astream", dict(mode="text", n=cfg["lat_n"], pause=cfg["pause"], warm=1),
                      ("text", cfg["lat_n"])))
        for count in cfg["conc"]:
            cases.append(("a_conc_%d" % count, clients, "aconc", dict(count=count, n=cfg["conc_n"], port=aport),
                          ("text", cfg["conc_n"], count)))
    return cases


def sync_plan(cfg, clients, features, tls):
    n, both = cfg["n"], ["cs", "limit"]
    cases = [("text_stream", clients, "stream", dict(mode="text", n=n), ("text", n)),
             ("final", clients, "stream", dict(mode="final", n=n), ("text", n)),
             ("events", clients, "stream", dict(mode="events", n=n), ("text", n)),
             ("latency", clients, "stream", dict(mode="text", n=cfg["lat_n"], pause=cfg["pause"], warm=1),
              ("text", cfg["lat_n"]))]
    for kind, key in (("text", "sansio"), ("tool", "tool")):
        for size in cfg[key]:
            cases.append(("%s_%d" % (key, size), both, "sansio", dict(kind=kind, n=size), (kind, size)))
    if features.get("background"):
        for size in cfg["bg"]:
            cases.append(("bg_%d" % size, ["cs"], "background", dict(n=size), None))
    if features.get("pool"):
        count, size = cfg["reuse"]
        for fresh in (0, 1):
            cases.append(("reuse_fresh%d" % fresh, clients, "reuse", dict(count=count, n=size, fresh=fresh), None))
        for fresh in (0, 1) if tls else ():
            cases.append(("tls_reuse_fresh%d" % fresh, clients, "reuse",
                          dict(count=count, n=size, fresh=fresh, tls_port=tls["port"], cafile=tls["cafile"]), None))
    return cases


def start_server(cfg, features, chain=None, asyncio_port=False):
    """The server process and its ports: HTTP, the asyncio listener's (with asyncio_port) and
    HTTPS (with chain, a cert + key PEM file); None for a listener not asked for."""
    import subprocess
    specs = ["text:%d" % n for n in (cfg["n"], cfg["lat_n"], 5, cfg["reuse"][1], cfg["conc_n"])]
    specs += ["text:%d" % n for n in cfg["bg"]] if features.get("background") else []
    specs += ["async"] if asyncio_port else []
    specs += ["tls=%s" % chain] if chain else []
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"] + specs, stdout=subprocess.PIPE)
    read = lambda listening: int(proc.stdout.readline()) if listening else None
    return proc, read(True), read(asyncio_port), read(chain)  # in the order the server prints them


def write_test_certs(directory):
    """The test suite's CA and 127.0.0.1 server certificate, written to directory.

    Returns (CA file, cert + key file, None), or (None, None, why not). The PEMs come from
    test_claude_stream (TEST_CA_PEM, TEST_SERVER_PEM, TEST_SERVER_KEY); if that module can't be
    imported (it needs pytest), the three constants are read out of its text."""
    names = ("TEST_CA_PEM", "TEST_SERVER_PEM", "TEST_SERVER_KEY")
    try:
        import ssl
    except ImportError:
        return None, None, "this Python has no ssl module"
    sys.path.insert(0, ROOT)
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no .pyc in the repository
    try:
        import test_claude_stream
        pems = [getattr(test_claude_stream, name) for name in names]
    except Exception:
        import re
        try:
            with open(os.path.join(ROOT, "test_claude_stream.py")) as f:
                text = f.read()
            pems = [re.search(r'^%s = """(.*?)"""' % name, text, re.M | re.S).group(1) for name in names]
        except (OSError, AttributeError):
            return None, None, "no %s in test_claude_stream.py" % "/".join(names)
    finally:
        sys.dont_write_bytecode = dont_write
        sys.path.remove(ROOT)
    ca, chain = os.path.join(directory, "ca.pem"), os.path.join(directory, "server.pem")
    with open(ca, "w") as f:
        f.write(pems[0])
    with open(chain, "w") as f:
        f.write(pems[1] + pems[2])
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(chain)
        ssl.create_default_context(cafile=ca)
    except ssl.SSLError as exc:
        return None, None, "the test certificates don't load: %s" % exc
    return ca, chain, None


def run_rounds(ctx, cfg, cases, port):
    samples = {case[0]: {c: [] for c in case[1]} for case in cases}
    for r in range(cfg["rounds"]):
        for case_id, clients, case, opts, expect in cases:
            for client in rotate(clients, r):
                res = run_worker(ctx, client, case, **dict(dict(port=port), **opts))
                want = expected_chars(*expect[:2]) * (expect[2] if len(expect) > 2 else 1) if expect else None
                if want is not None and "chars" in res and res["chars"] != want:
                    res["error"] = "got %d chars, expected %d" % (res["chars"], want)
                if "items" in res and res["items"] != int(opts["n"]):
                    res["error"] = "got %d items, expected %s" % (res["items"], opts["n"])
                if "error" in res:
                    print("  ! %s %s: %s" % (NAMES[client], case_id, res["error"]), file=sys.stderr)
                samples[case_id][client].append(res)
    return samples


# -- report ---------------------------------------------------------------------------------

def stat(samples, case, client, fn):
    runs = samples.get(case, {}).get(client) or []
    return median([fn(s) for s in runs if "error" not in s])


def build_rows(samples, imports, cfg, parts=("sync", "async")):
    """[(metric, {client: value}, show ratios)]; lower is better unless the metric says higher."""
    return (sync_rows(samples, imports, cfg) if "sync" in parts else []) + \
        (async_rows(samples, cfg) if "async" in parts else [])


MODES = (("text", "text_stream"), ("final", "get_final_message"), ("events", "event loop"))


def async_rows(samples, cfg):
    """The async part: single streams (three modes, latency), then N concurrent streams."""
    n, m, rows = cfg["n"], cfg["conc_n"], []

    def row(metric, case, fn, ratios=True):
        rows.append((metric, {c: stat(samples, case, c, fn) for c in NAMES}, ratios))
    for mode, label in MODES:
        row("async %s events/s [higher]" % label, "a_" + mode, lambda s: n / s["wall"])
        row("async %s CPU s/10k events" % label, "a_" + mode, lambda s: s["cpu"] / n * 1e4)
    row("async first-text latency, ms", "a_latency", lambda s: s["first_ms"])
    for label, fn, ratios in (
            ("events/s [higher]", lambda s, count: count * m / s["wall"], True),
            ("peak RSS, MiB", lambda s, count: s["rss_kib"] / 1024, True),
            ("threads added", lambda s, count: s["threads_peak"] - s["threads_before"], False),
            ("max loop lag, ms", lambda s, count: s["lag_ms"], True),
            ("first text median, ms", lambda s, count: s["first_median_ms"], True),
            ("first text slowest, ms", lambda s, count: s["first_max_ms"], True)):
        for count in cfg["conc"]:
            row("async %d x %d-delta streams %s" % (count, m, label), "a_conc_%d" % count,
                lambda s, fn=fn, count=count: fn(s, count), ratios)
    return rows


def sync_rows(samples, imports, cfg):
    n, per = cfg["n"], lambda s: s["seconds"] / s["events"] * 1e6
    rows = [("import time, ms", {c: imports.get(c) for c in NAMES}, True)]
    for case, label in (("text_stream", "text_stream"), ("final", "get_final_message"), ("events", "event loop")):
        rows.append(("%s events/s [higher]" % label, {c: stat(samples, case, c, lambda s: n / s["wall"]) for c in NAMES}, True))
        rows.append(("%s CPU s/10k events" % label, {c: stat(samples, case, c, lambda s: s["cpu"] / n * 1e4) for c in NAMES}, True))
    rows.append(("first-text latency, ms", {c: stat(samples, "latency", c, lambda s: s["first_ms"]) for c in NAMES}, True))
    rows.append(("peak RSS after final, MiB", {c: stat(samples, "final", c, lambda s: s["rss_kib"] / 1024) for c in NAMES}, True))
    for key, unit, fn in (("sansio", "us/event", per), ("tool", "ms", lambda s: s["seconds"] * 1000)):
        small, big = cfg[key]
        vals = [{c: stat(samples, "%s_%d" % (key, size), c, fn) for c in ("cs", "limit")} for size in (small, big)]
        label = "sans-IO" if key == "sansio" else "tool input"
        rows.append(("%s %dk, %s" % (label, small // 1000, unit), vals[0], True))
        rows.append(("%s %dk, %s" % (label, big // 1000, unit), vals[1], True))
        rows.append(("%s %dk/%dk ratio" % (label, big // 1000, small // 1000),
                     {c: vals[1][c] / vals[0][c] if vals[0][c] and vals[1][c] else None for c in vals[0]}, False))
    for size in cfg["bg"] if "bg_%d" % cfg["bg"][0] in samples else ():
        rows.append(("background %dk slow consumer RSS, MiB" % (size // 1000),
                     {"cs": stat(samples, "bg_%d" % size, "cs", lambda s: s["rss_kib"] / 1024)}, False))
    if "bg_%d" % cfg["bg"][0] in samples:
        big, small = rows[-2][1]["cs"], rows[-1][1]["cs"]
        rows.append(("background RSS %dk/%dk ratio" % (cfg["bg"][0] // 1000, cfg["bg"][1] // 1000),
                     {"cs": big / small if big and small else None}, False))
    for prefix, scheme in (("", "HTTP"), ("tls_", "HTTPS")):
        if prefix + "reuse_fresh0" not in samples:
            continue
        for fresh in (0, 1):
            rows.append(("%s%d x %d-delta, %s, ms/stream" % ((scheme + " " if prefix else "",) + cfg["reuse"]
                                                              + ("fresh client" if fresh else "one client",)),
                         {c: stat(samples, "%sreuse_fresh%d" % (prefix, fresh), c, lambda s: s["ms_per_stream"])
                          for c in NAMES}, True))
        one, fresh = rows[-2][1], rows[-1][1]
        rows.append(("%s reuse saving (fresh/one)" % scheme,
                     {c: fresh[c] / one[c] if one[c] and fresh[c] else None for c in NAMES}, False))
    return rows


def fmt(value):
    if value is None:
        return "-"
    return "%.3g" % value if abs(value) < 100 else "%.0f" % value


def print_table(rows):
    ratio = lambda v, a, b: fmt(v[a] / v[b]) if v.get(a) and v.get(b) else "-"
    table = [("metric", "claude_stream", "limit", "SDK", "cs/limit", "cs/SDK")]
    for metric, v, ratios in rows:
        table.append((metric, fmt(v.get("cs")), fmt(v.get("limit")), fmt(v.get("sdk")),
                      ratio(v, "cs", "limit") if ratios else "-", ratio(v, "cs", "sdk") if ratios else "-"))
    widths = [max(len(r[i]) for r in table) for i in range(6)]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def targets(rows):
    """(name, verdict, detail) for each target; verdict PASS, FAIL or SKIP (missing data)."""
    v = {metric: vals for metric, vals, _ in rows}
    find = lambda start: next(vals for metric, vals in v.items() if metric.startswith(start))
    checks = []

    def check(name, a, b, ok, show):
        if a is None or b is None:
            checks.append((name, "SKIP", "no data"))
        else:
            checks.append((name, "PASS" if ok(a, b) else "FAIL", show(a, b)))

    x = lambda a, b: "%.2fx" % (a / b)
    imp = find("import time")
    check("import <= 2x limit", imp["cs"], imp["limit"], lambda a, b: a <= 2 * b, x)
    check("import <= 1/40 SDK", imp["cs"], imp.get("sdk"), lambda a, b: a <= b / 40, lambda a, b: "1/%.0f" % (b / a))
    for label in ("text_stream", "get_final_message"):
        e = find(label + " events/s")
        check("%s events/s >= 0.5x limit" % label, e["cs"], e["limit"], lambda a, b: a >= 0.5 * b, x)
        check("%s events/s >= 15x SDK" % label, e["cs"], e.get("sdk"), lambda a, b: a >= 15 * b, x)
    s = next(vals for metric, vals in v.items() if metric.startswith("sans-IO") and "ratio" in metric)
    check("sans-IO per-event growth <= 1.2", s["cs"], 1.2, lambda a, b: a <= b, lambda a, b: "%.2f" % a)
    lat = find("first-text")
    check("first-text latency within 1 ms of limit", lat["cs"], lat["limit"], lambda a, b: a - b <= 1.0,
          lambda a, b: "%+.2f ms" % (a - b))
    rss = find("peak RSS")
    check("peak RSS <= 1.25x limit", rss["cs"], rss["limit"], lambda a, b: a <= 1.25 * b, x)
    return checks


def async_targets(rows, cfg):
    v = {metric: vals for metric, vals, _ in rows}
    conc = lambda count, label: v["async %d x %d-delta streams %s" % (count, cfg["conc_n"], label)]
    checks, x = [], lambda a, b: "%.2fx" % (a / b)

    def check(name, a, b, ok, show):
        if a is None or b is None:
            checks.append((name, "SKIP", "no data"))
        else:
            checks.append((name, "PASS" if ok(a, b) else "FAIL", show(a, b)))

    for _, label in MODES:
        e = v["async %s events/s [higher]" % label]
        check("async %s events/s >= 0.8x limit" % label, e["cs"], e["limit"], lambda a, b: a >= 0.8 * b, x)
        check("async %s events/s >= 10x SDK" % label, e["cs"], e.get("sdk"), lambda a, b: a >= 10 * b, x)
    top = max(cfg["conc"])
    e = conc(top, "events/s [higher]")
    check("async %d streams events/s >= 0.7x limit" % top, e["cs"], e["limit"], lambda a, b: a >= 0.7 * b, x)
    added = [conc(count, "threads added")["cs"] for count in cfg["conc"]]
    most = None if None in added else max(added)
    check("async threads added <= 1 (every N)", most, 1, lambda a, b: a <= b,
          lambda a, b: "+%d at most (N=%s)" % (a, "/".join("%d" % c for c in cfg["conc"])))
    lag = conc(top, "max loop lag, ms")
    check("async %d streams max loop lag <= 2x limit" % top, lag["cs"], lag["limit"], lambda a, b: a <= 2 * b,
          lambda a, b: "%.1f vs %.1f ms (%.2fx)" % (a, b, a / b) if b else "%.1f vs %.1f ms" % (a, b))
    first = conc(top, "first text median, ms")
    check("async %d streams median first text <= 20 ms" % top, first["cs"], 20, lambda a, b: a <= b,
          lambda a, b: "%.1f ms (limit %s ms)" % (a, fmt(first["limit"])))
    rss = conc(top, "peak RSS, MiB")
    check("async %d streams peak RSS <= 1.5x limit" % top, rss["cs"], rss["limit"], lambda a, b: a <= 1.5 * b, x)
    return checks


def main(argv):
    import argparse
    import platform
    p = argparse.ArgumentParser(description="Benchmark claude_stream vs the pure-Python limit and the SDK.")
    p.add_argument("--quick", action="store_true", help="2 rounds, small sizes: a smoke test")
    p.add_argument("--json", metavar="FILE", help="write every raw number to FILE")
    p.add_argument("--sdk-python", default=os.environ.get("SDK_PYTHON"), metavar="PATH",
                   help="python of a virtualenv with anthropic installed (default: $SDK_PYTHON)")
    p.add_argument("--profile", action="store_true", help="cProfile the claude_stream text_stream worker")
    p.add_argument("--only", choices=("sync", "async"), help="run only the sync or only the async cases")
    p.add_argument("--cs-dir", metavar="DIR", help="benchmark the claude_stream.py in DIR (default: the repository's)")
    args = p.parse_args(argv)
    global CS_DIR
    if args.cs_dir:
        CS_DIR = os.environ["BENCH_CS_DIR"] = os.path.abspath(args.cs_dir)  # the workers inherit it
    if not os.path.exists(os.path.join(CS_DIR, "claude_stream.py")):
        p.error("no claude_stream.py in %s" % CS_DIR)
    cfg = QUICK if args.quick else FULL
    parts = (args.only,) if args.only else ("sync", "async")
    print("Python %s (%s)" % (platform.python_version(), sys.executable))
    print("Machine: %s" % platform.platform())
    print("claude_stream: %s" % os.path.join(CS_DIR, "claude_stream.py"))
    if args.sdk_python and os.sep in args.sdk_python:  # workers run elsewhere: make a relative path whole
        args.sdk_python = os.path.abspath(args.sdk_python)
    ctx = {"sdk_python": args.sdk_python}
    clients = ["cs", "limit"]
    if args.sdk_python:
        clients.append("sdk")
        print("SDK: %s" % args.sdk_python)
    else:
        print("SDK: skipped (pass --sdk-python PATH or set SDK_PYTHON)")
    features = run_worker(ctx, "cs", "features") if "sync" in parts else {}
    if "sync" in parts:
        for name, on in (("background", "background"), ("connection reuse", "pool")):
            print("%s case: %s" % (name, "on" if features.get(on) else "skipped (claude_stream has no %s)" % name))
    import shutil
    import tempfile
    certdir = tempfile.mkdtemp(prefix="claude_stream_bench_")
    ca, chain, why = write_test_certs(certdir) if features.get("pool") else (None, None, None)
    if features.get("pool"):
        print("HTTPS reuse case: %s" % ("on" if chain else "skipped (%s)" % why))
    print("parts: %s; rounds: %d, stream: %d deltas" % (" + ".join(parts), cfg["rounds"], cfg["n"]))
    if "async" in parts:
        print("async concurrency: %s streams of %d deltas on one client" %
              ("/".join("%d" % c for c in cfg["conc"]), cfg["conc_n"]))
    print()
    server, port, aport, tls_port = start_server(cfg, features, chain, "async" in parts)
    try:
        imports = measure_imports(ctx, cfg["import_runs"]) if "sync" in parts else {}
        cases = plan(cfg, clients, features, dict(port=tls_port, cafile=ca) if chain else None, parts, aport)
        samples = run_rounds(ctx, cfg, cases, port)
        rows = build_rows(samples, imports, cfg, parts)
        print_table(rows)
        failed = sum("error" in s for runs in samples.values() for rs in runs.values() for s in rs)
        if failed:
            print("note: %d worker runs failed (listed above); medians use the rest" % failed)
        checks = (targets(rows) if "sync" in parts else []) + (async_targets(rows, cfg) if "async" in parts else [])
        print("\nTargets:")
        for name, verdict, detail in checks:
            print("  %-4s %-48s %s" % (verdict, name, detail))
        if args.profile and "sync" in parts:
            print("\ncProfile: claude_stream worker, text_stream, %d deltas (top 15 by tottime)" % cfg["n"])
            sys.stdout.flush()
            run_worker(ctx, "cs", "stream", show_stderr=True, port=port, mode="text", n=cfg["n"], profile=1)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(certdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version, "platform": platform.platform(), "config": cfg, "parts": parts,
                       "sdk_python": args.sdk_python, "features": features, "imports": imports,
                       "samples": samples, "rows": [[m, v] for m, v, _ in rows], "targets": checks}, f, indent=1)
    return 1 if failed else 0  # target FAILs are results, not errors


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2:])
    elif sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1:]))
