#!/usr/bin/env python3
"""End-to-end scenario against a running Atelier server, with the Python client.

    python examples/scenario.py HOST:PORT

Registry: create a skill, add a SKILL.md version (CreateSkillVersion),
publish it, rename it with an update mask in its JSON form
("name,description", as grpcurl users write it), record a use and wait
until the worker counts it. Workshop:
create a workshop, complete its first step with an output, ask for a
Markdown build pack, wait until it is rendered, download it (a server
stream) and check that it holds the step's output. Errors: send a
CreateSkill with an empty name and check the decoded ErrorInfo and
BadRequest. Slugs and users are random, so it can run again and again
against the same server. Exits 1 on the first mismatch.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
import time
from typing import Callable, TypeVar

import grpc
from google.protobuf import json_format, struct_pb2

from atelier_client import Atelier, AtelierError, connect, registry_pb2, workshop_pb2

TIMEOUT_S = 30.0  # how long to wait for the asynchronous worker
RPC_DEADLINE_S = 10.0
T = TypeVar("T")


class Mismatch(Exception):
    pass


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Mismatch(what)


def poll(what: str, fetch: Callable[[], T], done: Callable[[T], bool]) -> T:
    deadline = time.monotonic() + TIMEOUT_S
    delay = 0.05
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise Mismatch(f"{what}: still not there after {TIMEOUT_S:.0f} s (last: {value})")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def registry_part(atelier: Atelier, run: str) -> None:
    r = atelier.registry
    slug = f"py-scenario-{run}"
    skill = r.CreateSkill(
        registry_pb2.CreateSkillRequest(
            slug=slug,
            name="Scenario skill",
            description="Created by clients/python/examples/scenario.py",
            category=registry_pb2.SKILL_CATEGORY_PROMPT,
            request_id=f"create-{run}",
        ),
        timeout=RPC_DEADLINE_S,
    ).skill
    check(skill.slug == slug and skill.id != "", f"CreateSkill returned {skill}")
    check(not skill.HasField("published_version"), "a new skill has no published version")

    content = (
        "---\nname: Scenario skill\ndescription: Says hello\nlicense: MIT\n---\n"
        f"# Scenario skill\nRun {run}.\n"
    ).encode()
    created = r.CreateSkillVersion(
        registry_pb2.CreateSkillVersionRequest(
            skill_id=skill.id,
            content=content,
            content_type="text/markdown",
            expected_sha256=hashlib.sha256(content).hexdigest(),
        ),
        timeout=RPC_DEADLINE_S,
    )
    version = created.version
    check(version.version == 1, f"first version is 1, got {version.version}")
    check(version.sha256 == hashlib.sha256(content).hexdigest(), "version sha256")
    check(version.size_bytes == len(content), "version size")
    check(
        version.metadata.fields["license"].string_value == "MIT",
        f"front matter license lands in metadata, got {version.metadata}",
    )
    check(created.skill.draft_version == 1, "the new version is the draft")

    published = r.PublishSkillVersion(
        registry_pb2.PublishSkillVersionRequest(skill_id=skill.id, version=1),
        timeout=RPC_DEADLINE_S,
    ).skill
    check(published.published_version == 1, f"published_version, got {published}")
    check(not published.HasField("draft_version"), "publishing the draft clears it")

    # An update written as grpcurl users write it: the JSON form of a
    # FieldMask is one comma-separated string.
    rename = json_format.Parse(
        json.dumps(
            {
                "skill": {"id": skill.id, "name": "Renamed", "description": "Through a JSON mask"},
                "updateMask": "name,description",
            }
        ),
        registry_pb2.UpdateSkillRequest(),
    )
    check(list(rename.update_mask.paths) == ["name", "description"], "JSON mask paths")
    renamed = r.UpdateSkill(rename, timeout=RPC_DEADLINE_S).skill
    check(
        (renamed.name, renamed.description) == ("Renamed", "Through a JSON mask"),
        f"UpdateSkill with a JSON mask, got {renamed.name!r} / {renamed.description!r}",
    )

    use = r.RecordUsage(
        registry_pb2.RecordUsageRequest(
            skill_slug=slug, version=1, tool_name="scenario.py", request_id=f"use-{run}"
        ),
        timeout=RPC_DEADLINE_S,
    ).usage_event
    check(use.skill_id == skill.id and use.version == 1, f"RecordUsage returned {use}")

    counted = poll(
        "GetSkill total_uses == 1",
        lambda: r.GetSkill(registry_pb2.GetSkillRequest(id=skill.id), timeout=RPC_DEADLINE_S).skill,
        lambda s: s.total_uses >= 1,
    )
    check(counted.total_uses == 1, f"total_uses is exactly 1, got {counted.total_uses}")
    print(f"registry: skill {slug} v1 published, total_uses={counted.total_uses}")


def workshop_part(atelier: Atelier, run: str) -> None:
    w = atelier.workshop
    ws = w.CreateWorkshop(
        workshop_pb2.CreateWorkshopRequest(
            title=f"Scenario {run}", original_idea="Nurses lose an hour a shift to paper charts"
        ),
        timeout=RPC_DEADLINE_S,
    ).workshop
    check(ws.status == workshop_pb2.WORKSHOP_STATUS_DRAFT, f"new workshop is DRAFT, got {ws.status}")
    first = ws.current_step_id
    check(first == "empathize", f"current step of a new workshop, got {first!r}")

    persona = f"Night-shift nurse {run}"
    output = struct_pb2.Struct()
    output.update({"persona": persona, "pains": ["paper charts", "double entry"]})
    updated = w.UpdateWorkshopStep(
        workshop_pb2.UpdateWorkshopStepRequest(
            workshop_id=ws.id,
            step_id=first,
            status=workshop_pb2.STEP_STATUS_COMPLETE,
            output=output,
        ),
        timeout=RPC_DEADLINE_S,
    )
    check(updated.step.status == workshop_pb2.STEP_STATUS_COMPLETE, "step is COMPLETE")
    check(updated.step.output.fields["persona"].string_value == persona, "step output kept")
    check(updated.workshop.current_step_id == "define", "current step moves on to define")
    check(updated.workshop.completed_step_count == 1, "one step complete")

    pack = w.CreateBuildPack(
        workshop_pb2.CreateBuildPackRequest(
            workshop_id=ws.id, format=workshop_pb2.BUILD_PACK_FORMAT_MARKDOWN
        ),
        timeout=RPC_DEADLINE_S,
    ).build_pack
    ready = poll(
        "build pack READY",
        lambda: w.GetBuildPack(
            workshop_pb2.GetBuildPackRequest(id=pack.id), timeout=RPC_DEADLINE_S
        ).build_pack,
        lambda p: p.status != workshop_pb2.BUILD_PACK_STATUS_PENDING,
    )
    check(
        ready.status == workshop_pb2.BUILD_PACK_STATUS_READY,
        f"build pack status {workshop_pb2.BuildPackStatus.Name(ready.status)}: {ready.failure_reason}",
    )

    body = bytearray()
    header = None
    for msg in w.ReadBuildPackContent(
        workshop_pb2.ReadBuildPackContentRequest(id=pack.id), timeout=RPC_DEADLINE_S
    ):
        if header is None:
            check(msg.HasField("build_pack"), "the first message carries the build pack")
            header = msg.build_pack
        body += msg.chunk
    check(header is not None, "the content stream sent at least one message")
    check(len(body) == ready.size_bytes, f"size {len(body)} != {ready.size_bytes}")
    check(hashlib.sha256(body).hexdigest() == ready.sha256, "content sha256 matches")
    text = body.decode("utf-8")
    check(text.startswith(f"# Scenario {run}"), f"pack starts with the title: {text[:80]!r}")
    check(persona in text, f"the pack holds the step output {persona!r}")
    print(f"workshop: step {first} complete, {len(body)}-byte Markdown pack holds its output")


def error_part(atelier: Atelier, run: str) -> None:
    try:
        atelier.registry.CreateSkill(
            registry_pb2.CreateSkillRequest(
                slug=f"py-bad-{run}",
                name="",
                description="no name",
                category=registry_pb2.SKILL_CATEGORY_PROMPT,
            ),
            timeout=RPC_DEADLINE_S,
        )
    except grpc.RpcError as e:
        err = AtelierError.from_rpc_error(e)
    else:
        raise Mismatch("CreateSkill with an empty name succeeded")
    check(err.code == grpc.StatusCode.INVALID_ARGUMENT, f"code {err.code}")
    check(err.domain == "atelier", f"ErrorInfo.domain {err.domain!r}")
    check(err.reason == "INVALID_ARGUMENT", f"ErrorInfo.reason {err.reason!r}")
    check(err.fields == ["name"], f"BadRequest fields {err.fields}")
    v = err.violation("name")
    if v is None or v.description != "must not be empty":
        raise Mismatch(f"violation of name: {v}")
    print(f"error: {err.code.name} reason={err.reason} field={v.field} ({v.description})")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    address = argv[1]
    run = secrets.token_hex(4)
    try:
        with connect(address, user_id=f"py-scenario-{run}") as atelier:
            registry_part(atelier, run)
            workshop_part(atelier, run)
            error_part(atelier, run)
    except Mismatch as m:
        print(f"MISMATCH: {m}", file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print(f"UNEXPECTED RPC ERROR: {AtelierError.from_rpc_error(e)}", file=sys.stderr)
        return 1
    print("python scenario: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
