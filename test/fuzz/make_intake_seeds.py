#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_intake (corpus/intake/): runs scripted in the byte layout of
intake_fuzz.cc, read through libFuzzer's FuzzedDataProvider (strings from the front, each ended by
a backslash and another character; integers from the back, one byte per 8 bits of their range).
Keep in step with intake_fuzz.cc when its script changes. Usage: test/fuzz/make_intake_seeds.py"""
import json
import os

HEADER_NAMES = ["traceparent", "tracestate", "uber-trace-id", "processInstanceUuid", "fxContext", "Fx-AppId", "",
                "fxconnect-error-code"]


class Seed:
    def __init__(self):
        self.front = bytearray()
        self.back = []  # integers' bytes, in the order they are consumed

    def string(self, text):
        self.front += text.encode().replace(b"\\", b"\\\\") + b"\\n"

    def int(self, value, lo, hi):
        rng, v, shift = hi - lo, value - lo, 0
        assert 0 <= v <= rng
        data = []
        while shift < 64 and (rng >> shift) > 0:
            data.append(v & 0xFF)  # placeholder, fixed below
            shift += 8
        # FuzzedDataProvider builds result = (result << 8) | next byte from the back: the first
        # byte consumed is the most significant one.
        n = len(data)
        self.back += [(v >> (8 * (n - 1 - i))) & 0xFF for i in range(n)]

    def bool(self, value):
        self.back.append(1 if value else 0)

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.back))


def world(s, ordering=0, deadline=30000, dlq=True, log_bodies=False, max_requests=8, max_bytes=65536):
    s.int(ordering, 0, 2)
    s.int(deadline, 1, 60000)
    s.bool(dlq)
    s.bool(log_bodies)
    s.int(max_requests, 1, 8)
    s.int(max_bytes, 1, 1 << 16)


def admit(s, key, headers, body, partition=0):
    s.int(0, 0, 7)
    s.int(partition, 0, 2)
    s.bool(key is not None)
    if key is not None:
        s.string(key)
    s.int(len(headers), 0, 6)
    for name, value in headers:
        if name in HEADER_NAMES:
            s.int(HEADER_NAMES.index(name), 0, len(HEADER_NAMES))
        else:
            s.int(len(HEADER_NAMES), 0, len(HEADER_NAMES))
            s.string(name)
        s.int(0 if value is None else 1, 0, 7)
        if value is not None:
            s.string(value)
    s.string(body)


def answer(s, held, index=0, how=0, text="", retriable=False):
    s.int(2, 0, 7)
    s.int(index, 0, held - 1)
    s.int(how, 0, 4)
    if how == 1:
        s.string(text)
    elif how == 2:
        s.string(text)
        s.bool(retriable)
    elif how == 3:
        s.string(text)


def deliver(s, unacked, index=0, failure=0, too_large=False):
    s.int(3, 0, 7)
    s.int(index, 0, unacked - 1)
    s.int(failure, 0, 3)
    if failure == 3:
        s.bool(too_large)


def advance(s, ms):
    s.int(4, 0, 7)
    s.int(ms, 0, 70000)


def op(s, n):
    s.int(n, 0, 7)


UUID = "7f1c3a52-8c1e-4b6e-9a55-3f0f8a1c2b44"
ENGINE = [("processInstanceUuid", UUID), ("fxContext", "main"), ("Fx-AppId", "8a2e4f3c-1b7d-4e9a-b2c5-6d8f0a1e3b57"),
          ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("tracestate", "flowx=p1")]
BODY = json.dumps({"customer": {"id": "C-000123", "firstName": "Ana", "lastName": "Pop", "birthDate": "24/02/1990"},
                   "loan": {"amount": "1234.56", "currency": "RON"}})


def seeds():
    s = Seed()  # an engine request echoed and acknowledged
    world(s)
    admit(s, UUID, ENGINE, BODY)
    answer(s, 1)
    op(s, 5)
    deliver(s, 1)
    yield "echo", s

    s = Seed()  # not JSON, and empty: error replies (and dead letters)
    world(s, ordering=1)
    admit(s, "k1", [("processInstanceUuid", "")], '{"a": [1, 2,')
    admit(s, None, [("uber-trace-id", "3e5b6a8c1d2f4a7b%3A9c8d7e6f5a4b3c2d%3A0%3A1")], "")
    deliver(s, 4, index=1)
    yield "invalid-json", s

    s = Seed()  # two requests of one key: the second waits; the handler fails the first
    world(s, ordering=0, dlq=False)
    admit(s, "same", ENGINE[:2], '{"n":1}')
    admit(s, "same", ENGINE[:2], '{"n":2}')
    answer(s, 1, how=2, text="account blocked", retriable=False)
    op(s, 5)
    yield "same-key-failed", s

    s = Seed()  # past the deadline, the handler answers late
    world(s, deadline=1000)
    admit(s, UUID, ENGINE, BODY)
    advance(s, 1500)
    answer(s, 1)
    op(s, 5)
    yield "deadline", s

    s = Seed()  # a reply that may have been written, then too large: given up, never contradicted
    world(s, dlq=True, log_bodies=True)
    admit(s, UUID, ENGINE, BODY)
    answer(s, 1)
    op(s, 5)
    deliver(s, 1, failure=2)
    advance(s, 600)
    deliver(s, 1, failure=3, too_large=True)
    yield "reply-maybe-written", s

    s = Seed()  # the in-flight bound: one request at most, held, then paused
    world(s, max_requests=1, max_bytes=4096)
    admit(s, "a", ENGINE, BODY)
    admit(s, "b", [("x-custom", "\u0000\u00ff")], '"just a string"')
    advance(s, 6000)
    op(s, 7)
    answer(s, 1, how=4)
    op(s, 5)
    yield "bound", s

    s = Seed()  # the handler throws, then a transient failure (not written): reply_failed
    world(s, ordering=2)
    op(s, 6)
    admit(s, "t", ENGINE, "[1,2,3]")
    answer(s, 1, how=1, text='{"ok":true}')
    op(s, 5)
    deliver(s, 1, failure=1)
    yield "throw-transient", s


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "intake")
    os.makedirs(out, exist_ok=True)
    for name, seed in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed.bytes())


if __name__ == "__main__":
    main()
