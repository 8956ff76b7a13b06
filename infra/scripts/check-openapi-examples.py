"""Checks every example of an OpenAPI 3.1 document against the schema it illustrates.

openapi-spec-validator checks the document's structure but not whether its examples are
right; a wrong example misleads every reader of the API. This walks the schemas (including
nested properties), parameters, request bodies and responses, and validates each `example`
and `examples` entry with the OpenAPI 3.1 schema validator, formats included.

    python check-openapi-examples.py docs/openapi.json
"""

import json
import sys

from openapi_schema_validator import OAS31Validator

# Keywords whose value is a schema, a list of schemas or a map of schemas.
ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
MAP = ("properties", "patternProperties", "$defs")


def main(path):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    components = document.get("components", {})
    failures = []
    checked = 0

    def check(where, instance, schema):
        nonlocal checked
        checked += 1
        # The components ride along so that `#/components/...` references resolve.
        root = dict(schema, components=components)
        validator = OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)
        for error in validator.iter_errors(instance):
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            failures.append(f"{where}: example at {at}: {error.message}")

    def schema_examples(where, schema):
        if not isinstance(schema, dict):
            return
        if "example" in schema:
            check(f"{where}.example", schema["example"], schema)
        for i, example in enumerate(schema.get("examples") or []):
            check(f"{where}.examples[{i}]", example, schema)
        for key in ONE:
            if key in schema:
                schema_examples(f"{where}.{key}", schema[key])
        for key in MANY:
            for i, sub in enumerate(schema.get(key) or []):
                schema_examples(f"{where}.{key}[{i}]", sub)
        for key in MAP:
            for name, sub in (schema.get(key) or {}).items():
                schema_examples(f"{where}.{key}.{name}", sub)

    def media_examples(where, media):
        schema = media.get("schema")
        if schema is None:
            return
        schema_examples(f"{where}.schema", schema)
        if "example" in media:
            check(f"{where}.example", media["example"], schema)
        for name, example in (media.get("examples") or {}).items():
            if "value" in example:
                check(f"{where}.examples.{name}", example["value"], schema)

    def parameter_examples(where, parameter):
        schema = parameter.get("schema")
        if schema is not None:
            schema_examples(f"{where}.schema", schema)
            if "example" in parameter:
                check(f"{where}.example", parameter["example"], schema)
            for name, example in (parameter.get("examples") or {}).items():
                if "value" in example:
                    check(f"{where}.examples.{name}", example["value"], schema)
        for media_type, media in (parameter.get("content") or {}).items():
            media_examples(f"{where}.content.{media_type}", media)

    for name, schema in (components.get("schemas") or {}).items():
        schema_examples(f"components.schemas.{name}", schema)
    for name, parameter in (components.get("parameters") or {}).items():
        parameter_examples(f"components.parameters.{name}", parameter)
    for name, response in (components.get("responses") or {}).items():
        for media_type, media in (response.get("content") or {}).items():
            media_examples(f"components.responses.{name}.content.{media_type}", media)

    for route, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method.startswith("x-"):
                continue
            where = f"{method.upper()} {route}"
            for parameter in operation.get("parameters") or []:
                parameter_examples(f"{where} parameter {parameter.get('name')}", parameter)
            body = operation.get("requestBody") or {}
            for media_type, media in (body.get("content") or {}).items():
                media_examples(f"{where} requestBody.{media_type}", media)
            for status, response in (operation.get("responses") or {}).items():
                for media_type, media in (response.get("content") or {}).items():
                    media_examples(f"{where} {status} {media_type}", media)

    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        print(f"{path}: {len(failures)} of {checked} examples do not match their schema",
              file=sys.stderr)
        return 1
    print(f"{path}: all {checked} examples match their schemas")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
