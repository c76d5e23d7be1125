#!/usr/bin/env python3
"""Validates custom resources against the openAPIV3Schema of their CustomResourceDefinitions.

kubernetes-validate knows Kubernetes' own kinds only: for an Istio kind it finds no schema and
passes it with a warning. scripts/k8s-check.sh sends every document through this step first:

- a document whose API group is networking.istio.io, or the group of one of the CRDs given, is
  checked here against the schema of the CRD with its group, kind and version, made strict as
  the API server's strict field validation is (an unknown field is an error); a document with
  no such CRD is an error;
- every other document is written to --builtin-out, for kubernetes-validate.

Usage: k8s-crd-check.py --crds CRDS.yaml [--builtin-out FILE] [--source NAME] FILE...
Each error names the file (or NAME: what a rendered file was rendered from), the document's
kind and name, and the field's path. Exit status 1
on any error, 2 on bad input (an unreadable file, YAML that does not parse).
"""

import argparse
import copy
import sys

import jsonschema
import yaml

# The groups whose kinds are always custom: Istio's routing API, which the mesh reads.
CUSTOM_GROUPS = {"networking.istio.io"}


def documents(path):
    """The non-empty YAML documents of `path` ("-": standard input), with their index."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        return [(i, doc) for i, doc in enumerate(yaml.safe_load_all(text)) if doc is not None]
    except (OSError, yaml.YAMLError) as error:
        sys.exit(f"{path}: cannot read: {error}")


def group_version(doc):
    """("networking.istio.io", "v1") from apiVersion; ("", "v1") for the core group."""
    api_version = str(doc.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    return group, version


def describe(doc):
    """`Kind namespace/name` (or `Kind name`), as the errors name an object."""
    meta = doc.get("metadata") or {}
    name = meta.get("name", "<no name>")
    namespace = meta.get("namespace")
    return f"{doc.get('kind', '<no kind>')} {namespace + '/' if namespace else ''}{name}"


def strict(schema):
    """The schema with unknown fields refused: every object that lists its properties and does
    not keep unknown fields gets additionalProperties: false; `nullable` allows null. Inside
    allOf/anyOf/oneOf/not, a branch lists only some of the properties (a structural schema
    declares them all outside), so the branches are left as they are."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for key, value in node.items():
            if key in ("properties", "patternProperties", "definitions"):
                for child in value.values():
                    walk(child)
            elif key in ("items", "additionalProperties"):
                walk(value)

    walk(schema)
    return schema


def with_object_fields(schema):
    """The schema with the fields every object has, which the API server takes whether the CRD's
    schema lists them or not (a generated one often lists only spec and status)."""
    schema = copy.deepcopy(schema)
    properties = schema.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties.setdefault("metadata", {"type": "object"})
    return schema


def load_crds(path):
    """{(group, kind, version): validator} for every served version of every CRD in `path`."""
    validators = {}
    for index, doc in documents(path):
        if doc.get("kind") != "CustomResourceDefinition":
            sys.exit(f"{path}: document {index} is a {doc.get('kind')}, not a CRD")
        spec = doc.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or None
            if schema is None or not version.get("served", False):
                continue
            key = (spec.get("group"), (spec.get("names") or {}).get("kind"), version.get("name"))
            validators[key] = jsonschema.Draft4Validator(strict(with_object_fields(schema)))
    return validators


def field_path(error):
    """`spec.http[0].route` from a jsonschema error's absolute path."""
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the object)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crds", required=True, help="the CRDs, as one multi-document YAML file")
    parser.add_argument("--builtin-out", help="where the documents of Kubernetes' own kinds go")
    parser.add_argument("--source", help="the name of the input in messages, instead of its path")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    validators = load_crds(args.crds)
    custom_groups = CUSTOM_GROUPS | {group for group, _, _ in validators}
    errors, checked, builtin, uncheckable = [], {}, [], {}
    for path in args.files:
        for index, doc in documents(path):
            group, version = group_version(doc)
            if group not in custom_groups:
                builtin.append(doc)
                continue
            where = f"{args.source or path}: document {index + 1}, {describe(doc)}"
            if not validators:
                uncheckable[doc.get("kind")] = uncheckable.get(doc.get("kind"), 0) + 1
                continue
            validator = validators.get((group, doc.get("kind"), version))
            if validator is None:
                errors.append(
                    f"{where}: no CustomResourceDefinition of {doc.get('kind')} in "
                    f"{group}/{version} among the {len(validators)} CRD versions of {args.crds}"
                )
                continue
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                errors.append(f"{where}: {field_path(error)}: {error.message}")
            checked[doc.get("kind")] = checked.get(doc.get("kind"), 0) + 1

    if args.builtin_out:
        with open(args.builtin_out, "w", encoding="utf-8") as out:
            yaml.safe_dump_all(builtin, out, sort_keys=False)
    if uncheckable:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(uncheckable.items()))
        source = args.source or (args.files[0] if len(args.files) == 1 else f"{len(args.files)} files")
        errors.append(
            f"{source}: no CustomResourceDefinition at all in "
            f"{args.crds}, so none of its custom resources can be validated ({kinds})"
        )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(checked.items())) or "none"
    print(
        f"custom resources checked against {len(validators)} CRD versions: {kinds}; "
        f"{len(builtin)} documents of Kubernetes' own kinds passed on; {len(errors)} errors"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
