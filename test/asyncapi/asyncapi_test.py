#!/usr/bin/python3
"""`fxconnect docs asyncapi` checked with the official AsyncAPI parser and by content.

  asyncapi_test.py FXCONNECT ROOT PARSER_DIR

For connector configs of every shape (a C++ handler with a DLQ, a flow whose `validate:` names a
schema, an input pattern without a DLQ): the document is written, the official parser
(@asyncapi/parser, node; scripts/setup.sh installs it in PARSER_DIR) must find no error, and its
content must say what the config says: the input topic or pattern, the reply topic, the required
engine headers, the flow's request schema byte for byte, the error reply's schema, the DLQ only
when configured. A config lint refuses must be refused here too. Exit status 0 when all hold.
"""
import copy
import json
import os
import pathlib
import subprocess
import sys
import tempfile


def main() -> int:
    fxconnect, root, parser_dir = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    if not (pathlib.Path(parser_dir) / "node_modules/@asyncapi/parser").is_dir():
        print(f"FAIL: no @asyncapi/parser in {parser_dir}: run scripts/setup.sh")
        return 1
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        pattern_config = os.path.join(tmp, "pattern.yaml")
        with open(pattern_config, "w") as f:
            f.write("kafka: { bootstrap: '127.0.0.1:9092,127.0.0.1:9093', group_id: any-plugin }\n"
                    "input: { pattern: 'ai\\.flowx\\.dev\\.plugin\\..*\\.in\\.v1' }\n"
                    "reply: { topic: ai.flowx.dev.engine.receive.plugin.any.out.v1, "
                    "engine_pattern: 'ai.flowx.dev.engine.receive.*' }\n"
                    "handler: { name: echo }\n")
        cases = {
            "echo": root / "examples/echo.yaml",
            "flow": root / "examples/onboarding-flow/onboarding.yaml",
            "pattern": pathlib.Path(pattern_config),
        }
        docs = {}
        for name, config in cases.items():
            out = os.path.join(tmp, f"{name}.asyncapi.json")
            run = subprocess.run([fxconnect, "docs", "asyncapi", str(config), "--output", out],
                                 capture_output=True, text=True, env=dict(os.environ, FXC_KAFKA_BOOTSTRAP="127.0.0.1:9092"))
            if run.returncode != 0:
                failures.append(f"{name}: docs asyncapi exit {run.returncode}: {run.stderr.strip()}")
                continue
            docs[name] = (out, json.load(open(out)))
        parsed = subprocess.run(["node", str(root / "test/asyncapi/validate.cjs"), parser_dir,
                                 *[out for out, _ in docs.values()]], capture_output=True, text=True)
        print(parsed.stdout, end="")
        if parsed.returncode != 0:
            failures.append(f"the AsyncAPI parser refused a document (exit {parsed.returncode}): {parsed.stderr.strip()}")
        if parsed.stdout.count(": valid AsyncAPI 3.0.0") != len(docs):
            failures.append("not every document was reported valid AsyncAPI 3.0.0")

        def expect(name, what, ok):
            if not ok:
                failures.append(f"{name}: {what}")

        if "echo" in docs:
            d = docs["echo"][1]
            expect("echo", "asyncapi 3.0.0", d.get("asyncapi") == "3.0.0")
            expect("echo", "input topic", d["channels"]["requests"]["address"] == "ai.flowx.dev.plugin.echo.in.v1")
            expect("echo", "reply topic",
                   d["channels"]["replies"]["address"] == "ai.flowx.dev.engine.receive.plugin.echo.out.v1")
            expect("echo", "dead-letter topic", d["channels"]["deadLetters"]["address"] == "ai.flowx.dev.plugin.echo.dlq.v1")
            msgs = d["components"]["messages"]
            expect("echo", "required engine headers",
                   {"processInstanceUuid", "fxContext"} <= set(msgs["request"]["headers"]["required"]))
            expect("echo", "the reply carries the same headers", msgs["reply"]["headers"] == msgs["request"]["headers"])
            err = msgs["errorReply"]["payload"]
            expect("echo", "error reply schema", err["required"] == ["errorMessage", "error"] and
                   "legacy_unavailable" in err["properties"]["error"]["properties"]["code"]["enum"])
            expect("echo", "dead letter headers", "fxconnect-source-topic" in msgs["deadLetter"]["headers"]["properties"])
            expect("echo", "operations", set(d["operations"]) == {"receiveRequest", "sendReply", "sendDeadLetter"})
        if "flow" in docs:
            d = docs["flow"][1]
            schema = json.load(open(root / "examples/onboarding-flow/schemas/onboarding-request.json"))
            payload = d["components"]["messages"]["request"]["payload"]
            expect("flow", "the flow's validate schema as the request payload",
                   payload.get("schema") == schema and payload.get("schemaFormat", "").startswith("application/schema+json"))
        if "pattern" in docs:
            d = docs["pattern"][1]
            req = d["channels"]["requests"]
            expect("pattern", "a pattern input has no fixed address", req["address"] is None)
            expect("pattern", "the pattern is named", "ai\\.flowx\\.dev\\.plugin\\..*\\.in\\.v1" in req["description"])
            expect("pattern", "no DLQ channel without errors.dlq_topic", "deadLetters" not in d["channels"])
            expect("pattern", "the first bootstrap server", d["servers"]["kafka"]["host"] == "127.0.0.1:9092")

        # The parser is not vacuous: a v2 word in the echo document is refused.
        if "echo" in docs:
            broken = copy.deepcopy(docs["echo"][1])
            broken["operations"]["sendReply"]["action"] = "publish"
            broken_path = os.path.join(tmp, "broken.asyncapi.json")
            with open(broken_path, "w") as f:
                json.dump(broken, f)
            refused = subprocess.run(["node", str(root / "test/asyncapi/validate.cjs"), parser_dir, broken_path],
                                     capture_output=True, text=True)
            expect("broken", f"the parser refuses action: publish (exit {refused.returncode})",
                   refused.returncode == 1 and "INVALID" in refused.stdout)

        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("kafka: { bootstrap: x, group_id: y }\ninput: { topic: a }\n")
        run = subprocess.run([fxconnect, "docs", "asyncapi", bad], capture_output=True, text=True)
        expect("bad config", f"refused with exit 2 (got {run.returncode})", run.returncode == 2 and "reply" in run.stderr)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
