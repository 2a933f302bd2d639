"""Checks deploy/ without a cluster or a Docker daemon.

* Every manifest under deploy/kubernetes/ (the Secret template included)
  validates in strict mode (unknown fields refused) against each Kubernetes
  version in KUBERNETES_VERSIONS, with kubernetes-validate; an unknown kind
  or apiVersion is an error, not a warning. kustomization.yaml is not a
  Kubernetes object: its resources must exist.
* deploy/compose.yaml validates against the Compose Specification schema
  (.ci/compose-spec/compose-spec.json), and its depends_on and named volumes
  refer to what it defines.
* No image, in the manifests, the compose file or the Dockerfile, uses
  `latest` or no tag at all.
* Pod templates keep the hardening deploy/README.md describes, and the
  server's terminationGracePeriodSeconds exceeds preStop sleep + drain delay
  + shutdown grace.

YAML with a duplicate key is refused everywhere (a YAML parser silently keeps
the last one). Run by .ci/deploy-check.sh inside its venv; prints every
problem found, exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import kubernetes_validate
import yaml

# The oldest version the manifests support (the preStop `sleep` action is
# on by default from 1.30) and the newest this kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

# The server's own defaults (README, Configuration) and Kubernetes' default
# grace, for manifests that leave them out.
DEFAULT_DRAIN_DELAY_SECS = 5
DEFAULT_SHUTDOWN_GRACE_SECS = 30
DEFAULT_TERMINATION_GRACE_SECS = 30

problems: list[str] = []


def problem(where: str, message: str) -> None:
    problems.append(f"{where}: {message}")


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (merge keys
    `<<` may still be overridden, as YAML intends)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_documents(path: Path) -> list[Any] | None:
    try:
        with path.open() as f:
            return [doc for doc in yaml.load_all(f, Loader=StrictLoader) if doc is not None]
    except yaml.YAMLError as error:
        problem(str(path), f"not valid YAML: {error}")
        return None


def image_problem(ref: Any) -> str | None:
    """Why an image reference is not pinned, or None when it is."""
    if not isinstance(ref, str) or not ref.strip():
        return "has an empty image"
    if "$" in ref:
        return f"image {ref!r} is interpolated, so its tag cannot be checked"
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    if tag == "latest":
        return f"image {ref!r} uses the tag latest"
    if tag is None and not digest:
        return f"image {ref!r} has no tag (which means latest)"
    return None


def json_path(path: Iterator[Any]) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


# Kubernetes ---------------------------------------------------------------

def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {}).get("spec")
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    return None


def check_pod(where: str, spec: dict) -> None:
    pod_sc = spec.get("securityContext") or {}
    if pod_sc.get("runAsNonRoot") is not True:
        problem(where, "securityContext.runAsNonRoot must be true")
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problem(where, "securityContext.seccompProfile.type must be RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        problem(where, "automountServiceAccountToken must be false")
    containers = [
        c for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]
    for c in containers:
        at = f"{where} container {c.get('name')}"
        reason = image_problem(c.get("image"))
        if reason:
            problem(at, reason)
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(at, "securityContext.allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(at, "securityContext.readOnlyRootFilesystem must be true")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problem(at, "securityContext.capabilities.drop must include ALL")
        if (c.get("args") or [None])[0] == "serve":
            check_drain(at, spec, c)


def check_drain(where: str, spec: dict, container: dict) -> None:
    env = {e.get("name"): e.get("value") for e in container.get("env") or []}
    try:
        drain = int(env.get("ATELIER_DRAIN_DELAY_SECS", DEFAULT_DRAIN_DELAY_SECS))
        grace = int(env.get("ATELIER_SHUTDOWN_GRACE_SECS", DEFAULT_SHUTDOWN_GRACE_SECS))
    except (TypeError, ValueError):
        problem(where, "ATELIER_DRAIN_DELAY_SECS and ATELIER_SHUTDOWN_GRACE_SECS must be literal integers")
        return
    pre_stop = ((container.get("lifecycle") or {}).get("preStop") or {})
    sleep = int((pre_stop.get("sleep") or {}).get("seconds", 0))
    total = spec.get("terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_SECS)
    needed = sleep + drain + grace
    if not isinstance(total, int) or total <= needed:
        problem(where, f"terminationGracePeriodSeconds {total} must exceed preStop sleep {sleep}"
                       f" + drain delay {drain} + shutdown grace {grace} = {needed}")


def check_kustomization(path: Path, doc: dict) -> None:
    for entry in doc.get("resources") or []:
        if not (path.parent / entry).is_file():
            problem(str(path), f"resource {entry!r} does not exist")
    for image in doc.get("images") or []:
        if image.get("newTag") == "latest" or not (image.get("newTag") or image.get("digest")):
            problem(str(path), f"images entry {image.get('name')!r} needs a newTag other than latest, or a digest")


def check_kubernetes(directory: Path) -> None:
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        problem(str(directory), "no manifests found")
        return
    resources = 0
    for path in files:
        docs = load_documents(path)
        if docs is None:
            continue
        if path.name in ("kustomization.yaml", "kustomization.yml"):
            for doc in docs:
                check_kustomization(path, doc)
            continue
        if not docs:
            problem(str(path), "holds no Kubernetes object")
        for doc in docs:
            if not isinstance(doc, dict) or not all(k in doc for k in ("apiVersion", "kind")):
                problem(str(path), "a document without apiVersion and kind is not a Kubernetes object")
                continue
            name = (doc.get("metadata") or {}).get("name")
            where = f"{path} {doc['kind']}/{name}"
            resources += 1
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    problem(where, f"Kubernetes {error.version} (strict): "
                                   f"{json_path(error.path)}: {error.message}")
                except kubernetes_validate.SchemaNotFoundError as error:
                    problem(where, error.message)
            spec = pod_spec(doc)
            if spec is not None:
                check_pod(where, spec)
    print(f"kubernetes: {len(files)} files, {resources} objects checked "
          f"(strict, against {', '.join(KUBERNETES_VERSIONS)})")


# Compose -------------------------------------------------------------------

def deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific cause of a oneOf/anyOf failure."""
    return jsonschema.exceptions.best_match(error.context) if error.context else error


def compose_message(error: jsonschema.ValidationError) -> str:
    """jsonschema words an unknown key as "does not match any of the
    regexes: '^x-'" where extensions are allowed; name the key instead."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        unknown = sorted(k for k in error.instance
                         if k not in known and not any(re.search(p, k) for p in patterns))
        if unknown:
            return "unknown key " + ", ".join(repr(k) for k in unknown)
    return error.message


def check_compose(path: Path, schema_path: Path) -> None:
    docs = load_documents(path)
    if docs is None:
        return
    if len(docs) != 1 or not isinstance(docs[0], dict):
        problem(str(path), "must hold exactly one mapping")
        return
    compose = docs[0]
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(compose), key=lambda e: list(map(str, e.absolute_path))):
        cause = deepest(error)
        problem(str(path), f"Compose Specification: {json_path(cause.absolute_path)}: {compose_message(cause)}")
    services = compose.get("services") or {}
    volumes = compose.get("volumes") or {}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        where = f"{path} service {name}"
        if "image" in service:
            reason = image_problem(service["image"])
            if reason:
                problem(where, reason)
        elif "build" not in service:
            problem(where, "has neither image nor build")
        depends = service.get("depends_on") or {}
        for dependency in depends if isinstance(depends, (dict, list)) else []:
            if dependency not in services:
                problem(where, f"depends_on names no service: {dependency!r}")
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else (mount or {}).get("source")
            if source and re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", source) and source not in volumes:
                problem(where, f"volume {source!r} is not defined under volumes")
    print(f"compose: {path} checked against the Compose Specification ({len(services)} services)")


# Dockerfile ---------------------------------------------------------------

def check_dockerfile(path: Path) -> None:
    args: dict[str, str] = {}
    stages: set[str] = set()
    count = 0
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "ARG" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            args.setdefault(key, value)
        if len(words) >= 2 and words[0].upper() == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            ref = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), rest[0])
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.add(rest[2])
            if ref in stages or ref == "scratch":
                continue
            count += 1
            reason = image_problem(ref)
            if reason:
                problem(f"{path} FROM", reason)
    print(f"dockerfile: {path}: {count} base images checked")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-dir", type=Path, default=Path("deploy/kubernetes"))
    parser.add_argument("--compose", type=Path, default=Path("deploy/compose.yaml"))
    parser.add_argument("--compose-schema", type=Path, default=Path(".ci/compose-spec/compose-spec.json"))
    parser.add_argument("--dockerfile", type=Path, default=Path("deploy/Dockerfile"))
    args = parser.parse_args()
    check_kubernetes(args.kubernetes_dir)
    check_compose(args.compose, args.compose_schema)
    check_dockerfile(args.dockerfile)
    sys.stdout.flush()
    for line in problems:
        print(f"FAIL {line}", file=sys.stderr)
    if problems:
        print(f"deploy-check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("deploy-check: deploy/ is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
