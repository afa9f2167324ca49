#!/usr/bin/env python3
"""A stand-in for a legacy batch system that exchanges files through a folder.

It plays the other side of fxconnect's `dir:` and `sftp:` systems (a `file_exchange` step or
`call->file_exchange(...)`): it watches a folder for request files, answers each with an answer
file, and consumes (removes) the request. Python 3 standard library only.

Usage:
  batch-system.py --dir DIR [--delay 0.5] [--chunks N] [--chunk-pause 0.2] [--marker .done]
                  [--poll 0.1] [--once]

  --dir DIR          the exchange folder: for `dir:` the system's `path`; for `sftp:` the folder
                     on the SFTP server's machine (scripts/sftp.sh prints it as `sftp_dir=`)
  --delay S          seconds between seeing a request and starting its answer (default 0.5)
  --chunks N         write the answer in N pieces, --chunk-pause apart (default 1: at once). This
                     is a slow writer for `complete: size_stable`: keep the pause below the
                     system's `stable_for`, or the half-written answer counts as complete.
  --chunk-pause S    seconds between pieces (default 0.2)
  --marker SUFFIX    after the answer, create the empty file <answer><SUFFIX> (for
                     `complete: marker`, with the system's `marker_suffix`)
  --poll S           how often the folder is looked at (default 0.1)
  --once             exit after answering one request

Protocol:
  - A request is a file named `REQ-<rest>.json` (its content normally JSON). Dot files are
    ignored: they are fxconnect's temporary names (`.REQ-<rest>.json.part`) while a request is
    being written; the request appears under its real name only once complete (a rename).
  - Its answer is `RSP-<rest>.json`:
      {"status": "DONE", "reference": "BATCH-...", "received": <the request's JSON, or its text
       when it is not JSON>}
    written straight under its name (so, in pieces, a reader sees it grow), then the marker if
    asked for, then the request file is removed.
  - A request whose answer is already there is not answered again (the stand-in restarted).

Files are written with this process's user and umask. With scripts/sftp.sh the folder belongs to
the SFTP user; run this as root (as the tests do) or as a member of that user's group, so the SFTP
client can later rename and remove the answers (that takes write permission on the folder only).

Example (a dir: system whose path is /tmp/exchange, marker mode):
  mkdir -p /tmp/exchange && ./batch-system.py --dir /tmp/exchange --marker .done
"""
import argparse
import json
import os
import signal
import sys
import time
import uuid

REQUEST_PREFIX = "REQ-"
ANSWER_PREFIX = "RSP-"
SUFFIX = ".json"


def log(text):
    print(f"batch-system: {text}", file=sys.stderr, flush=True)


def answer_name(request):
    return ANSWER_PREFIX + request[len(REQUEST_PREFIX):]


def pending(folder):
    """Request files waiting for an answer, oldest name first."""
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if name.startswith(".") or not name.startswith(REQUEST_PREFIX) or not name.endswith(SUFFIX):
            continue
        if not os.path.isfile(os.path.join(folder, name)):
            continue
        out.append(name)
    return out


def answer(folder, name, args):
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return False  # taken meanwhile (archived by the other side after a timeout, say)
    try:
        received = json.loads(raw)
    except ValueError:
        received = raw.decode("utf-8", "replace")
    target = os.path.join(folder, answer_name(name))
    if os.path.exists(target):
        log(f"{name}: already answered ({answer_name(name)} is there); consuming the request")
    else:
        time.sleep(args.delay)
        body = json.dumps({"status": "DONE", "reference": "BATCH-" + uuid.uuid4().hex[:12].upper(),
                           "received": received}, indent=2).encode() + b"\n"
        chunks = max(1, args.chunks)
        step = -(-len(body) // chunks)  # ceiling division
        with open(target, "wb") as f:
            for i in range(0, len(body), step):
                if i:
                    time.sleep(args.chunk_pause)
                f.write(body[i:i + step])
                f.flush()
                os.fsync(f.fileno())
        if args.marker:
            open(target + args.marker, "wb").close()
        log(f"{name}: answered {answer_name(name)} ({len(body)} bytes in {chunks} piece(s)"
            f"{', marker ' + answer_name(name) + args.marker if args.marker else ''})")
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    return True


def main():
    parser = argparse.ArgumentParser(description="A legacy batch system stand-in: answers REQ-*.json "
                                     "files in a folder with RSP-*.json files.")
    parser.add_argument("--dir", required=True, help="the exchange folder")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before answering (default 0.5)")
    parser.add_argument("--chunks", type=int, default=1, help="write the answer in N pieces (default 1)")
    parser.add_argument("--chunk-pause", type=float, default=0.2, help="seconds between pieces (default 0.2)")
    parser.add_argument("--marker", default="", help="create <answer><MARKER> once the answer is written")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between looks at the folder (default 0.1)")
    parser.add_argument("--once", action="store_true", help="exit after one answer")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        parser.error(f"--dir {args.dir}: not a folder")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(f"watching {args.dir} for {REQUEST_PREFIX}*{SUFFIX}")
    try:
        while True:
            for name in pending(args.dir):
                if answer(args.dir, name, args) and args.once:
                    return 0
            time.sleep(args.poll)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
