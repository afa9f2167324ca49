#!/usr/bin/python3
"""docs/config.schema.json checked with a real validator (Debian's python3-jsonschema, draft 2020-12).

  config_schema_test.py FXCONNECT ROOT

1. `FXCONNECT config-schema` is a valid draft 2020-12 schema and equals docs/config.schema.json.
2. Every connector config in the repo (a YAML file with a top-level `kafka:` key under examples/,
   bench/ or test/fuzz/corpus/config/) is valid against it.
3. Mutations of examples/echo.yaml, made from the schema's own fields (each integer at its bounds
   and one past them, each enum's choices and a wrong one, booleans, durations, percentages and
   rates right and wrong, a required key removed, an unknown key added, both `input.topic` and
   `input.pattern`): for each, the schema's verdict and `FXCONNECT lint`'s. A config the schema
   accepts must be one lint accepts (the schema is what an editor shows: it must never approve a
   config that will not run). Lint may refuse more (documented in src/config/schema.cc); each
   mutation the schema refuses must be refused by lint too, so neither side is vacuous.
Exit status 0 when all hold; every disagreement is printed.
"""
import copy
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml
from jsonschema import Draft202012Validator


class Yaml12Loader(yaml.SafeLoader):
    """YAML as fxconnect (yaml-cpp) and editors (the YAML language server) read it: 1.2 booleans
    only. PyYAML's YAML 1.1 would read the key `on` of `retry: { on: [...] }` as true."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


def load_yaml(text):
    return yaml.load(text, Loader=Yaml12Loader)


def main() -> int:
    fxconnect, root = sys.argv[1], pathlib.Path(sys.argv[2])
    failures = []

    generated = subprocess.run([fxconnect, "config-schema"], check=True, capture_output=True, text=True).stdout
    schema = json.loads(generated)
    Draft202012Validator.check_schema(schema)
    committed = (root / "docs/config.schema.json").read_text()
    if committed != generated:
        failures.append("docs/config.schema.json is stale: run `build/bin/fxconnect config-schema > docs/config.schema.json`")
    validator = Draft202012Validator(schema)

    # 2. every connector config in the repo
    # (the fuzz corpus holds broken configs on purpose: only those lint accepts count there)
    configs = 0
    for folder in ("examples", "bench", "test/fuzz/corpus/config"):
        for path in sorted((root / folder).rglob("*.yaml")):
            doc = load_yaml(path.read_text())
            if not isinstance(doc, dict) or "kafka" not in doc:
                continue  # a process definition, a tests file
            if folder.startswith("test/") and subprocess.run([fxconnect, "lint", str(path)], capture_output=True,
                                                             env=dict(os.environ, FXC_KAFKA_BOOTSTRAP="x")).returncode:
                continue
            configs += 1
            for error in validator.iter_errors(doc):
                failures.append(f"{path.relative_to(root)}: {'.'.join(map(str, error.absolute_path))}: {error.message}")
    if configs < 10:
        failures.append(f"only {configs} connector configs found; expected the examples' (>= 10)")

    # 3. mutations: the schema's verdict against lint's
    base = load_yaml((root / "examples/echo.yaml").read_text())
    base["kafka"]["bootstrap"] = "127.0.0.1:9092"  # no ${} left: lint runs without the environment
    mutations = list(mutate(schema, base))
    agreed_refused = agreed_accepted = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, doc in mutations:
            schema_ok = validator.is_valid(doc)
            path = os.path.join(tmp, "connector.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(doc, f)
            lint = subprocess.run([fxconnect, "lint", path], capture_output=True, text=True)
            lint_ok = lint.returncode == 0
            if schema_ok and not lint_ok:
                failures.append(f"mutation {name}: the schema accepts it, lint refuses it: {lint.stderr.strip()}")
            elif not schema_ok and lint_ok:
                failures.append(f"mutation {name}: the schema refuses it, lint accepts it")
            elif schema_ok:
                agreed_accepted += 1
            else:
                agreed_refused += 1
    print(f"config-schema: {configs} repo configs valid; {len(mutations)} mutations: "
          f"{agreed_accepted} accepted by both, {agreed_refused} refused by both, "
          f"{len(mutations) - agreed_accepted - agreed_refused} disagreements")
    if agreed_refused < 20 or agreed_accepted < 20:
        failures.append("too few mutations on one side: the comparison would prove nothing")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


def leaves(schema, prefix=()):
    """(path, field schema) of every typed field in fixed sections (not under a `named` map)."""
    for key, sub in schema.get("properties", {}).items():
        path = prefix + (key,)
        if sub.get("type") == "object" and "properties" in sub:
            yield from leaves(sub, path)
        elif "properties" not in sub:
            yield path, sub


def typed(sub):
    """The typed alternative of an `anyOf: [typed, ${VAR}]` field."""
    for alt in sub.get("anyOf", []):
        if "pattern" not in alt:
            return alt
    return sub


def with_value(base, path, value):
    doc = copy.deepcopy(base)
    at = doc
    for key in path[:-1]:
        at = at.setdefault(key, {})
        if not isinstance(at, dict):
            return None
    at[path[-1]] = value
    return doc


# Right and wrong values for a field, from its schema: (value, label).
def values_for(sub):
    t = typed(sub)
    if t.get("type") == "integer":
        lo, hi = t["minimum"], t["maximum"]
        return [(lo, "min"), (hi, "max"), (lo - 1, "min-1"), (hi + 1, "max+1"), ("many", "word")]
    if t.get("type") == "boolean":
        return [(True, "true"), (False, "false"), ("yes", "yes")]
    if "enum" in t:
        return [(c, c) for c in t["enum"]] + [("bogus", "bogus")]
    pattern = sub.get("pattern", "")
    if "(ms|s|m|h)$" in pattern and "/" not in pattern:
        return [("1s", "1s"), ("250ms", "250ms"), ("0s", "0s"), ("10", "unitless"), ("5 minutes", "words")]
    if "%" in pattern:
        return [("50%", "50%"), ("100%", "100%"), ("150%", "150%"), ("half", "word")]
    if "/" in pattern:
        return [("10/s", "10/s"), ("600/m", "600/m"), ("10 per s", "words")]
    return []


def mutate(schema, base):
    for path, sub in leaves(schema):
        if path[0] in ("systems", "lists", "flow", "handler"):
            continue  # named maps and the flow: their own tests (config_test, flow tests)
        for value, label in values_for(sub):
            doc = with_value(base, path, value)
            if doc is not None:
                yield f"{'.'.join(path)}={label}", doc
    for section, key in (("kafka", "bootstrap"), ("kafka", "group_id"), ("reply", "topic")):
        doc = copy.deepcopy(base)
        del doc[section][key]
        yield f"without {section}.{key}", doc
    for section in ("kafka", "input", "reply"):
        doc = copy.deepcopy(base)
        del doc[section]
        yield f"without {section}", doc
    yield "unknown top-level key", dict(copy.deepcopy(base), kafak={"bootstrap": "x"})
    doc = copy.deepcopy(base)
    doc["kafka"]["bootstrap_servers"] = "x"
    yield "unknown kafka key", doc
    doc = copy.deepcopy(base)
    doc["input"]["pattern"] = "ai\\.flowx\\..*"
    yield "input.topic and input.pattern", doc
    doc = copy.deepcopy(base)
    del doc["input"]["topic"]
    yield "input without topic or pattern", doc
    doc = copy.deepcopy(base)
    doc["input"] = {"pattern": "ai\\.flowx\\.dev\\.plugin\\..*\\.in\\.v1"}
    yield "input.pattern alone", doc
    doc = copy.deepcopy(base)
    doc["kafka"]["properties"] = {"fetch.max.bytes": 1048576, "client.rack": "a"}
    yield "kafka.properties as a map of scalars", doc
    doc = copy.deepcopy(base)
    doc["kafka"]["properties"] = ["fetch.max.bytes"]
    yield "kafka.properties as a list", doc
    doc = copy.deepcopy(base)
    doc["processing"]["max_in_flight"] = "${FXC_SCHEMA_TEST_UNSET:-100}"
    yield "an interpolated integer with a default", doc


if __name__ == "__main__":
    sys.exit(main())
