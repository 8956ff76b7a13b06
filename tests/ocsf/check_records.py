#!/usr/bin/env python3
"""Independent validation of the service's OCSF records (tests/fixtures/ocsf/records.json).

Shares no code with the service: each record is validated with `jsonschema` (draft 2020-12)
against the JSON Schema of its class, which `ocsf-json-schema` generates, offline, from the
OCSF schema it ships for the version the records name. That schema forbids attributes the
class does not define (at every depth), requires the class's required attributes, checks
types and enumerations, and the constraints of objects (e.g. an endpoint needs one of its
identifying attributes). On top, checks the derived identifiers (type_uid, category_uid),
that every enumerated id agrees with its caption sibling at every depth (`status_id` and
`status`, `severity_id` and `severity`, `activity_id` and `activity_name`, `type_id` and
`type`, ...: the caption of the id in the OCSF schema, or any text for 99 Other), which
the JSON Schema does not check, and that every event type of the catalog has at least one
record. First, the five records of tests/fixtures/ocsf/inconsistent.json must each be
refused by that caption check: a check that lets one through fails the run.

Prints one line per record and exits non-zero on any failure.

    .venv/ocsf/bin/python tests/ocsf/check_records.py [records.json]
"""

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "ocsf" / "records.json"
INCONSISTENT = Path(__file__).resolve().parents[1] / "fixtures" / "ocsf" / "inconsistent.json"
OTHER = "99"


def caption_problems(value, attributes, objects, path=""):
    """Every enumerated id of `value` (an OCSF object whose attributes are `attributes`)
    whose sibling is not its caption, at every depth."""
    problems = []
    for name, item in value.items():
        spec = attributes.get(name)
        if spec is None:
            continue
        where = f"{path}{name}"
        enum, sibling = spec.get("enum"), spec.get("sibling")
        if enum and sibling and not isinstance(item, (dict, list)):
            entry = enum.get(str(item))
            if entry is None:
                problems.append(f"{where} {item} is not one of its values")
            elif sibling in value:
                text = value[sibling]
                if str(item) == OTHER:
                    if not isinstance(text, str) or not text:
                        problems.append(f"{where} 99 (Other) needs its own text in {sibling}")
                elif text != entry["caption"]:
                    problems.append(f'{where} {item} is "{entry["caption"]}", not {sibling} "{text}"')
        object_type = spec.get("object_type")
        if object_type in objects:
            inner = objects[object_type]["attributes"]
            for i, element in enumerate(item if isinstance(item, list) else [item]):
                if isinstance(element, dict):
                    suffix = f"[{i}]" if isinstance(item, list) else ""
                    problems += caption_problems(element, inner, objects, f"{where}{suffix}.")
    return problems


def class_attributes(ocsf, class_uid):
    """The attributes of the class `class_uid` in the raw OCSF schema (profiles included)."""
    for cls in ocsf["classes"].values():
        if cls.get("uid") == class_uid:
            return cls["attributes"]
    return {}


def check_caption_check(ocsf):
    """The caption check refuses each of the five inconsistent records."""
    failures = []
    for case in json.loads(INCONSISTENT.read_text(encoding="utf-8"))["records"]:
        record = case["record"]
        found = caption_problems(record, class_attributes(ocsf, record["class_uid"]), ocsf["objects"])
        if found:
            print(f'ok inconsistent record refused ({case["why"]}): {"; ".join(found)}')
        else:
            failures.append(f'the caption check let through: {case["why"]}')
            print(f'FAIL the caption check let through: {case["why"]}')
    return failures
# docs/events.md, the catalog: 36 event types.
EVENT_TYPES = 36


def main(path):
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    version = document["ocsfVersion"]
    ocsf = get_ocsf_schema(version=version)
    schema = OcsfJsonSchemaEmbedded(ocsf)
    validators = {}
    failures = check_caption_check(ocsf)
    types = set()
    samples = document["samples"]
    for sample in samples:
        event, record = sample["event"], sample.get("record")
        where = f'{event["eventId"]} ({event["eventType"]} {event["eventTypeName"]})'
        if record is None:
            failures.append(f"{where}: no record")
            continue
        types.add(event["eventType"])
        class_uid = record.get("class_uid")
        # The profiles the record declares add their attributes to the class (OCSF's rule).
        profiles = tuple(record.get("metadata", {}).get("profiles", []))
        key = (class_uid, profiles)
        if key not in validators:
            name = schema.lookup_class_name_from_uid(class_uid=class_uid)
            class_schema = schema.get_class_schema(class_name=name, profiles=list(profiles))
            Draft202012Validator.check_schema(class_schema)
            validators[key] = Draft202012Validator(class_schema)
        errors = sorted(validators[key].iter_errors(record), key=lambda e: list(e.path))
        problems = [f'{"/".join(map(str, e.path)) or "(record)"}: {e.message}' for e in errors]
        if record.get("metadata", {}).get("version") != version:
            problems.append(f"metadata.version is not {version}")
        if record.get("type_uid") != class_uid * 100 + record.get("activity_id", -1):
            problems.append("type_uid is not class_uid * 100 + activity_id")
        if record.get("category_uid") != class_uid // 1000:
            problems.append("category_uid is not the class's category")
        problems += caption_problems(record, class_attributes(ocsf, class_uid), ocsf["objects"])
        unmapped = record.get("unmapped", {})
        for ours, theirs in (("eventType", "eventType"), ("eventTypeName", "eventTypeName"),
                             ("category", "category")):
            if unmapped.get(ours) != event[theirs]:
                problems.append(f"unmapped.{ours} does not keep the event's {theirs}")
        if problems:
            failures.append(f"{where}: " + "; ".join(problems))
            print(f"FAIL {where} class {class_uid}: " + "; ".join(problems))
        else:
            print(f"ok {where} class {class_uid} activity {record['activity_id']}")
    if len(types) != EVENT_TYPES:
        failures.append(f"records cover {len(types)} event types, not {EVENT_TYPES}")
    print(f"{len(samples) - len(failures)} passed, {len(failures)} failed "
          f"({len(samples)} OCSF {version} records, {len(types)} event types, "
          f"{len({k[0] for k in validators})} classes)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT))
