#!/usr/bin/env python3
"""Benchmark claude_stream against the least work pure Python can do ("limit") and the SDK.

    python benchmarks/bench.py [--quick] [--json FILE] [--sdk-python PATH] [--profile]

Every measurement runs in a fresh subprocess (``bench.py --worker CLIENT CASE k=v ...``,
which prints one JSON line); the SSE server runs in its own process (``--serve``), and also
listens with TLS (``tls=CHAIN``) for the HTTPS connection-reuse case.
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
            tool=(10000, 40000), bg=(100000, 1000), reuse=(50, 20))
QUICK = dict(rounds=2, import_runs=3, n=5000, lat_n=50, pause=0.1, sansio=(2000, 20000),
             tool=(1000, 4000), bg=(10000, 1000), reuse=(10, 20))
NAMES = {"cs": "claude_stream", "limit": "limit", "sdk": "SDK"}


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

    argv holds KIND:N bodies to pre-build and, optionally, tls=CHAIN (a PEM file with the server
    certificate and key): then a second listener speaks HTTPS. Prints the HTTP port, then the
    HTTPS port, one per line."""
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

    class TLSServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], OSError):  # closes without close_notify are noise
                super().handle_error(request, client_address)

    chains = [arg[4:] for arg in argv if arg.startswith("tls=")]
    for spec in argv:
        if not spec.startswith("tls="):
            kind, n = spec.split(":")
            body(kind, int(n))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
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
    sys.path.insert(0, ROOT)
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


CASES = {"stream": case_stream, "sansio": case_sansio, "background": case_background,
         "reuse": case_reuse, "features": case_features}


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
            stmt = "import sys; sys.path.insert(0, %r); %s" % (ROOT, stmt) if key == "cs" else stmt
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


def plan(cfg, clients, features, tls=None):
    """(case id, clients, worker case, options, expected chars) for each measurement of a round.
    tls: {"port": HTTPS port, "cafile": CA file}, or None to leave out the HTTPS reuse case."""
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


def start_server(cfg, features, chain=None):
    """The server process, its HTTP port and (with chain, a cert + key PEM file) its HTTPS port."""
    import subprocess
    specs = ["text:%d" % cfg["n"], "text:%d" % cfg["lat_n"], "text:5", "text:%d" % cfg["reuse"][1]]
    specs += ["text:%d" % n for n in cfg["bg"]] if features.get("background") else []
    specs += ["tls=%s" % chain] if chain else []
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"] + specs, stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    return proc, port, int(proc.stdout.readline()) if chain else None


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
                res = run_worker(ctx, client, case, port=port, **opts)
                if expect and "chars" in res and res["chars"] != expected_chars(*expect):
                    res["error"] = "got %d chars, expected %d" % (res["chars"], expected_chars(*expect))
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


def build_rows(samples, imports, cfg):
    """[(metric, {client: value}, show ratios)]; lower is better unless the metric says higher."""
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


def main(argv):
    import argparse
    import platform
    p = argparse.ArgumentParser(description="Benchmark claude_stream vs the pure-Python limit and the SDK.")
    p.add_argument("--quick", action="store_true", help="2 rounds, small sizes: a smoke test")
    p.add_argument("--json", metavar="FILE", help="write every raw number to FILE")
    p.add_argument("--sdk-python", default=os.environ.get("SDK_PYTHON"), metavar="PATH",
                   help="python of a virtualenv with anthropic installed (default: $SDK_PYTHON)")
    p.add_argument("--profile", action="store_true", help="cProfile the claude_stream text_stream worker")
    args = p.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    print("Python %s (%s)" % (platform.python_version(), sys.executable))
    print("Machine: %s" % platform.platform())
    if args.sdk_python and os.sep in args.sdk_python:  # workers run elsewhere: make a relative path whole
        args.sdk_python = os.path.abspath(args.sdk_python)
    ctx = {"sdk_python": args.sdk_python}
    clients = ["cs", "limit"]
    if args.sdk_python:
        clients.append("sdk")
        print("SDK: %s" % args.sdk_python)
    else:
        print("SDK: skipped (pass --sdk-python PATH or set SDK_PYTHON)")
    features = run_worker(ctx, "cs", "features")
    for name, on in (("background", "background"), ("connection reuse", "pool")):
        print("%s case: %s" % (name, "on" if features.get(on) else "skipped (claude_stream has no %s)" % name))
    import shutil
    import tempfile
    certdir = tempfile.mkdtemp(prefix="claude_stream_bench_")
    ca, chain, why = write_test_certs(certdir) if features.get("pool") else (None, None, None)
    if features.get("pool"):
        print("HTTPS reuse case: %s" % ("on" if chain else "skipped (%s)" % why))
    print("rounds: %d, stream: %d deltas\n" % (cfg["rounds"], cfg["n"]))
    server, port, tls_port = start_server(cfg, features, chain)
    try:
        imports = measure_imports(ctx, cfg["import_runs"])
        cases = plan(cfg, clients, features, dict(port=tls_port, cafile=ca) if chain else None)
        samples = run_rounds(ctx, cfg, cases, port)
        rows = build_rows(samples, imports, cfg)
        print_table(rows)
        failed = sum("error" in s for runs in samples.values() for rs in runs.values() for s in rs)
        if failed:
            print("note: %d worker runs failed (listed above); medians use the rest" % failed)
        checks = targets(rows)
        print("\nTargets:")
        for name, verdict, detail in checks:
            print("  %-4s %-45s %s" % (verdict, name, detail))
        if args.profile:
            print("\ncProfile: claude_stream worker, text_stream, %d deltas (top 15 by tottime)" % cfg["n"])
            sys.stdout.flush()
            run_worker(ctx, "cs", "stream", show_stderr=True, port=port, mode="text", n=cfg["n"], profile=1)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(certdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version, "platform": platform.platform(), "config": cfg,
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
