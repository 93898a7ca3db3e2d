#!/usr/bin/env python3
"""Inbound webhooks at a fixed rate, a cross-check of autocannon's latency (standard library only).

Each thread keeps one keep-alive connection and sends signed GitHub pushes (a new X-GitHub-Delivery each) on its own
schedule, rate/threads per second; latency is measured from sending to the whole answer. The source `bench` (secret
`bench-secret`) must exist: run tests/Benchmarks/wrk/inbound.sh or the autocannon script once first.
    python3 tests/Benchmarks/python/inbound_rate.py [rate=1000] [seconds=20] [threads=16] [url=http://127.0.0.1:7071]
"""
import hashlib
import hmac
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

rate = float(sys.argv[1]) if len(sys.argv) > 1 else 1000
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 16
url = urllib.parse.urlparse(sys.argv[4] if len(sys.argv) > 4 else "http://127.0.0.1:7071")
body = json.dumps({
    "ref": "refs/heads/main", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5", "repository": {"full_name": "retail/checkout"},
    "pusher": {"name": "octocat"}, "commits": [],
}).encode()
signature = "sha256=" + hmac.new(b"bench-secret", body, hashlib.sha256).hexdigest()
latencies, other, lock = [], [0], threading.Lock()


def worker():
    connection = http.client.HTTPConnection(url.hostname, url.port or 80)
    interval = threads / rate
    due = time.perf_counter()
    end = due + seconds
    while due < end:
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        started = time.perf_counter()
        connection.request("POST", "/api/webhooks/in/bench", body=body, headers={
            "content-type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature})
        answer = connection.getresponse()
        answer.read()
        took = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(took)
            other[0] += answer.status != 202
        due += interval


workers = [threading.Thread(target=worker) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
latencies.sort()
n = len(latencies)
print(f"requests {n} in {seconds:.0f} s at a target of {rate:.0f}/s; answers other than 202: {other[0]} "
      f"latency ms: p50 {latencies[n // 2]:.1f}  p90 {latencies[int(n * .9)]:.1f}  p99 {latencies[int(n * .99)]:.1f}  max {latencies[-1]:.1f}")
