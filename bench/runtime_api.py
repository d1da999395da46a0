#!/usr/bin/env python3
"""A local Lambda runtime API for benchmarks: cold start and peak memory.

A Lambda custom runtime (our `bootstrap` binaries, through `lambda_runtime`)
polls `GET /2018-06-01/runtime/invocation/next` for an event and posts the
answer to `POST /2018-06-01/runtime/invocation/<id>/response` (or `/error`).
This is that API, enough of it to serve a release binary a fixed number of
copies of one event, on loopback, with the standard library only.

    runtime_api.py cold   --binary B --env env.json --event event.json [--runs 20]
    runtime_api.py memory --binary B --env env.json --event event.json [--events 1000]
    runtime_api.py delay  --binary AUTHORIZER --signout-api B --env env.json --events-dir D [--runs 20]

`cold` starts a fresh process per run and measures, from just before the
process is spawned: `init_ms`, until its first `GET .../next` (what Lambda
reports as Init Duration), and `first_response_ms`, until the answer to the
first event arrives. One discarded run first (so the binary is in the page
cache, as it is on a Lambda host that has unpacked the code), then `--runs`
measured ones; the medians are reported. With `--emulator-wait`, `--runs`
more starts go through a timing proxy in front of the emulator (the
`AWS_ENDPOINT_URL*` and `JWKS_URL` settings rewritten to it), which adds up,
per start, how long the emulator took to answer each request (last request
byte to first answer byte): `emulator_wait_ms`, the part of the first
response no function can remove, since moto is the same for every function.

`memory` serves `--events` events to one process and reads its peak resident
set (`VmHWM` in /proc/<pid>/status) after the last answer, before stopping it.

`delay` measures revocation delay as a client sees it: one authorizer process
is served its user's token event back to back, without pause (as a busy API
would call it); once it allowed the token, after a random wait within the
verdict cache's lifetime, a second process, the sign-out API, is served that
user's `POST /signout`; the delay runs from the arrival of the sign-out's
answer (acknowledged) to the arrival of the authorizer's first refusal of the
token. `--runs` users in turn (`D/<i>-authorizer.json`, `D/<i>-signout.json`),
the same two processes throughout; median and worst are reported.

The process gets only the settings in `env.json` (the function's variables and
credentials) plus the variables Lambda itself sets (function name, memory size,
version, `AWS_LAMBDA_RUNTIME_API`, ...), nothing of this shell's environment.
Its stdout (the JSON logs) is discarded; its stderr is kept for failures.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"
TIMEOUT_S = 60


class Invocations:
    """What one process is served and what it answered, with timestamps."""

    def __init__(self, events: list[bytes], count: int, function: str) -> None:
        self.events = events
        self.count = count
        self.arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        self.lock = threading.Lock()
        self.served = 0
        self.answered = 0
        self.errors: list[str] = []
        self.first_next: float | None = None
        self.first_answer: float | None = None
        self.done = threading.Event()
        self.stop = threading.Event()

    def next_event(self) -> tuple[str, bytes] | None:
        with self.lock:
            if self.first_next is None:
                self.first_next = time.perf_counter()
            if self.served >= self.count:
                return None
            self.served += 1
            return f"bench-{self.served:06d}", self.events[(self.served - 1) % len(self.events)]

    def answer(self, kind: str, body: bytes) -> None:
        with self.lock:
            if self.first_answer is None:
                self.first_answer = time.perf_counter()
            self.answered += 1
            if kind != "response":
                self.errors.append(f"{kind}: {body[:300].decode('utf-8', 'replace')}")
            if self.answered >= self.count or kind == "init-error":
                self.done.set()


class ApiHandler(BaseHTTPRequestHandler):
    """The runtime API's HTTP side: keep-alive, quiet, JSON replies."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def handler_for(inv: Invocations) -> type[BaseHTTPRequestHandler]:
    class Handler(ApiHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path != f"{PREFIX}/invocation/next":
                self.reply(404, b'{"errorMessage":"not found"}')
                return
            nxt = inv.next_event()
            if nxt is None:
                # Nothing more to serve: hold the poll until the process is stopped.
                inv.stop.wait()
                self.close_connection = True
                return
            request_id, event = nxt
            deadline_ms = int(time.time() * 1000) + 30_000
            self.reply(
                200,
                event,
                {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": inv.arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-00000000-{request_id:0>24}",
                },
            )

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == f"{PREFIX}/init/error":
                kind = "init-error"
            elif self.path.startswith(f"{PREFIX}/invocation/") and self.path.endswith("/response"):
                kind = "response"
            elif self.path.startswith(f"{PREFIX}/invocation/") and self.path.endswith("/error"):
                kind = "error"
            else:
                self.reply(404, b'{"errorMessage":"not found"}')
                return
            self.reply(202, b'{"status":"OK"}')
            inv.answer(kind, body)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A stopped process resets its kept-alive connection: expected, not worth a traceback.
        pass


def lambda_env(settings: dict[str, str], function: str, port: int) -> dict[str, str]:
    """The function's settings plus what Lambda sets for every function."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "_HANDLER": "bootstrap",
    }
    env.update(settings)
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
    return env


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


def serve(binary: str, settings: dict[str, str], events: list[bytes], count: int, measure_memory: bool) -> dict:
    """Starts `binary`, serves it `count` events (`events` in turn), stops it; timings relative to the spawn."""
    function = Path(binary).name
    inv = Invocations(events, count, function)
    server = Server(("127.0.0.1", 0), handler_for(inv))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = lambda_env(settings, function, server.server_address[1])
    with tempfile.TemporaryFile() as stderr:
        t0 = time.perf_counter()
        proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd="/")
        try:
            finished = inv.done.wait(TIMEOUT_S)
            exited = proc.poll()
            peak = peak_rss_kib(proc.pid) if measure_memory and exited is None else None
            elapsed = time.perf_counter() - t0
        finally:
            proc.kill()
            proc.wait()
            inv.stop.set()
            server.shutdown()
            server.server_close()
        if not finished or exited is not None:
            stderr.seek(0)
            tail = stderr.read()[-2000:].decode("utf-8", "replace")
            raise SystemExit(
                f"{function}: {inv.answered}/{count} answers"
                f"{'' if exited is None else f', exited with {exited}'}; stderr:\n{tail}"
            )
    return {
        "init_ms": (inv.first_next - t0) * 1000,
        "first_response_ms": (inv.first_answer - t0) * 1000,
        "seconds": elapsed,
        "answered": inv.answered,
        "errors": inv.errors,
        "peak_rss_kib": peak,
    }


class WaitingProxy:
    """A TCP proxy to the emulator that adds up how long the emulator took to
    answer: per connection, from the last request byte forwarded to the first
    answer byte that follows (HTTP/1.1 asks one request at a time)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.waited = 0.0
        threading.Thread(target=self.accept, daemon=True).start()

    def take(self) -> float:
        """The wait added up since the last call, in seconds."""
        with self.lock:
            waited, self.waited = self.waited, 0.0
        return waited

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            asked = [None]  # when the latest request bytes went upstream, until answered
            threading.Thread(target=self.pump, args=(client, server, asked, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, asked, False), daemon=True).start()

    def pump(self, src: socket.socket, dst: socket.socket, asked: list, request: bool) -> None:
        try:
            while data := src.recv(65536):
                now = time.perf_counter()
                with self.lock:
                    if request:
                        asked[0] = now
                    elif asked[0] is not None:
                        self.waited += now - asked[0]
                        asked[0] = None
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def rewrite(self, settings: dict[str, str]) -> dict[str, str]:
        """The settings with every emulator URL pointed at the proxy."""
        host, port = self.upstream
        out = dict(settings)
        for k, v in settings.items():
            if k.startswith("AWS_ENDPOINT_URL") or k == "JWKS_URL":
                out[k] = v.replace(f"{host}:{port}", f"127.0.0.1:{self.port}")
        return out


def emulator_of(settings: dict[str, str]) -> tuple[str, int]:
    url = urllib.parse.urlsplit(settings["AWS_ENDPOINT_URL_DYNAMODB"])
    return url.hostname, url.port


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def cold(binary: str, settings: dict[str, str], event: bytes, runs: int, emulator_wait: bool) -> dict:
    serve(binary, settings, [event], 1, False)  # page cache, not measured
    samples = [serve(binary, settings, [event], 1, False) for _ in range(runs)]
    out = {
        "function": Path(binary).name,
        "runs": runs,
        "init_ms": spread([s["init_ms"] for s in samples]),
        "first_response_ms": spread([s["first_response_ms"] for s in samples]),
        "errors": sorted({e for s in samples for e in s["errors"]}),
    }
    if emulator_wait:
        proxy = WaitingProxy(emulator_of(settings))
        proxied = proxy.rewrite(settings)
        waits = []
        for _ in range(runs):
            serve(binary, proxied, [event], 1, False)
            waits.append(proxy.take() * 1000)
        out["emulator_wait_ms"] = spread(waits)
    return out


def memory(binary: str, settings: dict[str, str], event: list[bytes], events: int) -> dict:
    r = serve(binary, settings, event, events, True)
    return {
        "function": Path(binary).name,
        "events": events,
        "peak_rss_kib": r["peak_rss_kib"],
        "peak_rss_mib": r["peak_rss_kib"] / 1024,
        "seconds": r["seconds"],
        "errors": len(r["errors"]),
        "first_error": r["errors"][0] if r["errors"] else None,
    }


class Feed:
    """Serves one authorizer process the current event again and again."""

    def __init__(self, function: str) -> None:
        self.arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        self.cond = threading.Condition()
        self.event: tuple[int, bytes] | None = None
        self.served: dict[str, int] = {}
        self.answers: list[tuple[float, int, bool]] = []  # (arrival, event index, allowed)
        self.seq = 0
        self.stop = threading.Event()
        self.errors: list[str] = []

    def set(self, index: int, event: bytes) -> None:
        with self.cond:
            self.event = (index, event)
            self.cond.notify_all()

    def next_event(self) -> tuple[str, bytes] | None:
        with self.cond:
            while self.event is None and not self.stop.is_set():
                self.cond.wait(0.1)
            if self.stop.is_set():
                return None
            index, event = self.event
            self.seq += 1
            request_id = f"feed-{self.seq:08d}"
            self.served[request_id] = index
            return request_id, event

    def answer(self, request_id: str, kind: str, body: bytes) -> None:
        now = time.perf_counter()
        with self.cond:
            index = self.served.pop(request_id, -1)
            if kind == "init-error":
                self.errors.append(body[:300].decode("utf-8", "replace"))
            allowed = kind == "response" and b'"Allow"' in body
            self.answers.append((now, index, allowed))
            self.cond.notify_all()

    def wait_for(self, index: int, allowed: bool, after: float, timeout: float) -> float:
        """Arrival of the first answer for `index` with `allowed`, arriving after `after`."""
        deadline = time.perf_counter() + timeout
        with self.cond:
            while True:
                for t, i, a in self.answers:
                    if i == index and a == allowed and t > after:
                        return t
                if self.errors or time.perf_counter() > deadline:
                    raise SystemExit(f"authorizer: no {'allow' if allowed else 'refusal'} of user {index}: {self.errors}")
                self.cond.wait(0.05)


class Queue:
    """Serves a process the events put in it, one at a time; records the answers."""

    def __init__(self, function: str) -> None:
        self.arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
        self.cond = threading.Condition()
        self.pending: list[bytes] = []
        self.seq = 0
        self.answers: dict[str, tuple[float, str, bytes]] = {}
        self.stop = threading.Event()

    def put(self, event: bytes) -> str:
        with self.cond:
            self.pending.append(event)
            self.cond.notify_all()
            return f"queue-{self.seq + len(self.pending):08d}"

    def next_event(self) -> tuple[str, bytes] | None:
        with self.cond:
            while not self.pending and not self.stop.is_set():
                self.cond.wait(0.1)
            if self.stop.is_set():
                return None
            self.seq += 1
            return f"queue-{self.seq:08d}", self.pending.pop(0)

    def answer(self, request_id: str, kind: str, body: bytes) -> None:
        with self.cond:
            self.answers[request_id] = (time.perf_counter(), kind, body)
            self.cond.notify_all()

    def wait_for(self, request_id: str, timeout: float) -> tuple[float, str, bytes]:
        deadline = time.perf_counter() + timeout
        with self.cond:
            while request_id not in self.answers:
                if time.perf_counter() > deadline:
                    raise SystemExit(f"sign-out API: no answer to {request_id}")
                self.cond.wait(0.05)
            return self.answers[request_id]


def streaming_handler(source: Feed | Queue) -> type[BaseHTTPRequestHandler]:
    class Handler(ApiHandler):
        def do_GET(self) -> None:  # noqa: N802
            nxt = source.next_event()
            if nxt is None:
                self.close_connection = True
                return
            request_id, event = nxt
            self.reply(200, event, {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                "Lambda-Runtime-Invoked-Function-Arn": source.arn,
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            })

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path.rstrip("/").split("/")
            self.reply(202, b'{"status":"OK"}')
            if self.path == f"{PREFIX}/init/error":
                source.answer("", "init-error", body)
            elif len(parts) >= 2:
                source.answer(parts[-2], parts[-1], body)

    return Handler


def start_streaming(binary: str, settings: dict[str, str], source: Feed | Queue):
    server = Server(("127.0.0.1", 0), streaming_handler(source))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = lambda_env(settings, Path(binary).name, server.server_address[1])
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
    return server, proc


def delay(authorizer: str, signout_api: str, settings: dict[str, str], events_dir: Path, runs: int) -> dict:
    import random

    cache_ms = int(settings.get("REVOCATION_CACHE_MS", "1000"))
    rng = random.Random(9)
    feed, queue = Feed("authorizer"), Queue("signout-api")
    servers = [start_streaming(authorizer, settings, feed), start_streaming(signout_api, settings, queue)]
    delays = []
    try:
        for i in range(runs):
            feed.set(i, (events_dir / f"{i}-authorizer.json").read_bytes())
            feed.wait_for(i, True, 0.0, TIMEOUT_S)
            # A random phase against the verdict cache's lifetime.
            time.sleep(rng.uniform(0, cache_ms / 1000))
            request_id = queue.put((events_dir / f"{i}-signout.json").read_bytes())
            acked, kind, body = queue.wait_for(request_id, TIMEOUT_S)
            if kind != "response" or b'"statusCode":200' not in body.replace(b" ", b""):
                raise SystemExit(f"sign-out {i} not acknowledged: {kind} {body[:300]!r}")
            refused = feed.wait_for(i, False, 0.0, TIMEOUT_S)
            delays.append(max(0.0, (refused - acked) * 1000))
    finally:
        feed.stop.set()
        queue.stop.set()
        with feed.cond:
            feed.cond.notify_all()
        with queue.cond:
            queue.cond.notify_all()
        for server, proc in servers:
            proc.kill()
            proc.wait()
            server.shutdown()
            server.server_close()
    return {
        "function": "authorizer",
        "runs": runs,
        "revocation_cache_ms": cache_ms,
        "delay_ms": {"median": statistics.median(delays), "max": max(delays), "min": min(delays)},
        "samples_ms": delays,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["cold", "memory", "delay"])
    p.add_argument("--binary", required=True, help="the function's release binary (delay: the authorizer's)")
    p.add_argument("--env", required=True, help="JSON object: the function's settings and credentials")
    p.add_argument("--event", help="cold, memory: the event to serve (JSON file)")
    p.add_argument("--events-file", help="memory: events to serve in turn instead (one JSON per line)")
    p.add_argument("--signout-api", help="delay: the sign-out API's release binary")
    p.add_argument("--events-dir", help="delay: <i>-authorizer.json and <i>-signout.json per user")
    p.add_argument("--runs", type=int, default=20, help="cold: measured process starts")
    p.add_argument(
        "--emulator-wait", action="store_true", help="cold: also measure the emulator's share, through a timing proxy"
    )
    p.add_argument("--events", type=int, default=1000, help="memory: events served to one process")
    a = p.parse_args()
    settings = json.loads(Path(a.env).read_text())
    binary = os.path.abspath(a.binary)
    if a.mode == "delay":
        out = delay(binary, os.path.abspath(a.signout_api), settings, Path(a.events_dir), a.runs)
        print(
            f"revocation delay: median {out['delay_ms']['median']:.0f} ms, worst {out['delay_ms']['max']:.0f} ms"
            f" over {a.runs} sign-outs (REVOCATION_CACHE_MS {out['revocation_cache_ms']})",
            file=sys.stderr,
        )
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    if a.mode == "memory" and a.events_file:
        lines = Path(a.events_file).read_bytes().splitlines()
        out = memory(binary, settings, [line for line in lines if line.strip()], a.events)
        print(f"{out['function']}: peak RSS {out['peak_rss_kib']} KiB after {a.events} events", file=sys.stderr)
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    event = Path(a.event).read_bytes()
    if a.mode == "cold":
        out = cold(binary, settings, event, a.runs, a.emulator_wait)
        note = (
            f"first response {out['first_response_ms']['median']:.1f} ms"
            f" (init {out['init_ms']['median']:.1f} ms), median of {a.runs}"
        )
        if a.emulator_wait:
            note += f"; waiting on the emulator {out['emulator_wait_ms']['median']:.1f} ms"
    else:
        out = memory(binary, settings, [event], a.events)
        note = f"peak RSS {out['peak_rss_kib']} KiB after {a.events} events"
    print(f"{out['function']}: {note}", file=sys.stderr)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
