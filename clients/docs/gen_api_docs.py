#!/usr/bin/env python3
"""protoc-gen-atelier-docs: a protoc/buf plugin that writes the API reference.

From the files buf asks it to generate (the atelier packages in proto/) and
their source comments it writes one Markdown file per proto package,
`<package>.md` (every service, RPC, message and enum in source order, with
the comments), and an index `README.md`. Output depends only on the
descriptors, so it is deterministic.

buf.gen.yaml runs it with `strategy: all` (so the index sees every package):

    - local: ["python3", "clients/docs/gen_api_docs.py"]
      out: docs/api
      strategy: all

It needs the `protobuf` package (the generator venv that clients/generate
puts first on PATH has it). Options (`opt:`): none.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

FDP = descriptor_pb2.FieldDescriptorProto

# Field numbers of the descriptor messages, for SourceCodeInfo paths.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE, FILE_SYNTAX, FILE_PACKAGE = 4, 5, 6, 12, 2
MSG_FIELD, MSG_NESTED, MSG_ENUM, MSG_ONEOF = 2, 3, 4, 8
ENUM_VALUE = 2
SERVICE_METHOD = 2

SCALARS = {
    FDP.TYPE_DOUBLE: "double",
    FDP.TYPE_FLOAT: "float",
    FDP.TYPE_INT64: "int64",
    FDP.TYPE_UINT64: "uint64",
    FDP.TYPE_INT32: "int32",
    FDP.TYPE_FIXED64: "fixed64",
    FDP.TYPE_FIXED32: "fixed32",
    FDP.TYPE_BOOL: "bool",
    FDP.TYPE_STRING: "string",
    FDP.TYPE_BYTES: "bytes",
    FDP.TYPE_UINT32: "uint32",
    FDP.TYPE_SFIXED32: "sfixed32",
    FDP.TYPE_SFIXED64: "sfixed64",
    FDP.TYPE_SINT32: "sint32",
    FDP.TYPE_SINT64: "sint64",
}

WKT_DOCS = "https://protobuf.dev/reference/protobuf/google.protobuf/"


@dataclass
class Comments:
    leading: str = ""
    trailing: str = ""
    detached: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [p for p in (self.leading, self.trailing) if p]
        return "\n\n".join(parts)


def clean(comment: str) -> str:
    """Strip protoc's one leading space per line and surrounding blank lines."""
    lines = [ln[1:] if ln.startswith(" ") else ln for ln in comment.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(ln.rstrip() for ln in lines)


class Locations:
    def __init__(self, file: descriptor_pb2.FileDescriptorProto):
        self.by_path: dict[tuple[int, ...], Comments] = {}
        for loc in file.source_code_info.location:
            self.by_path[tuple(loc.path)] = Comments(
                clean(loc.leading_comments),
                clean(loc.trailing_comments),
                [clean(c) for c in loc.leading_detached_comments],
            )

    def get(self, *path: int) -> Comments:
        return self.by_path.get(tuple(path), Comments())


def anchor(full_name: str) -> str:
    return full_name.lstrip(".")


def one_line(text: str) -> str:
    """A comment made fit for a table cell: paragraphs kept apart by <br>."""
    paras = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    return "<br><br>".join(paras).replace("|", "\\|")


@dataclass
class TypeInfo:
    full_name: str  # without the leading dot
    package: str
    kind: str  # "message" or "enum"
    map_entry: descriptor_pb2.DescriptorProto | None = None


class Docs:
    def __init__(self, request: plugin_pb2.CodeGeneratorRequest):
        self.request = request
        self.types: dict[str, TypeInfo] = {}
        for f in request.proto_file:
            for m in f.message_type:
                self._index_message(f.package, f.package, m)
            for e in f.enum_type:
                name = f"{f.package}.{e.name}"
                self.types[name] = TypeInfo(name, f.package, "enum")
        self.files = [f for f in request.proto_file if f.name in set(request.file_to_generate)]

    def _index_message(self, package: str, scope: str, m: descriptor_pb2.DescriptorProto) -> None:
        name = f"{scope}.{m.name}"
        self.types[name] = TypeInfo(
            name, package, "message", m if m.options.map_entry else None
        )
        for n in m.nested_type:
            self._index_message(package, name, n)
        for e in m.enum_type:
            en = f"{name}.{e.name}"
            self.types[en] = TypeInfo(en, package, "enum")

    # --- types -------------------------------------------------------------

    def type_link(self, type_name: str, from_package: str) -> str:
        name = type_name.lstrip(".")
        info = self.types.get(name)
        if info is None:
            return f"`{name}`"
        if info.package == "google.protobuf":
            short = name.rsplit(".", 1)[-1].lower()
            return f"[`{name}`]({WKT_DOCS}#{short})"
        if info.package not in self.documented_packages:
            return f"`{name}`"
        shown = name[len(info.package) + 1 :] if info.package == from_package else name
        target = "" if info.package == from_package else f"{info.package}.md"
        return f"[`{shown}`]({target}#{anchor(name)})"

    def field_type(self, f: descriptor_pb2.FieldDescriptorProto, package: str) -> str:
        if f.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM, FDP.TYPE_GROUP):
            info = self.types.get(f.type_name.lstrip("."))
            if info is not None and info.map_entry is not None:
                k, v = info.map_entry.field[0], info.map_entry.field[1]
                return f"map&lt;{self.field_type(k, package)}, {self.field_type(v, package)}&gt;"
            return self.type_link(f.type_name, package)
        return f"`{SCALARS[f.type]}`"

    # --- rendering ---------------------------------------------------------

    def render(self) -> list[tuple[str, str]]:
        by_package: "OrderedDict[str, list[descriptor_pb2.FileDescriptorProto]]" = OrderedDict()
        for f in sorted(self.files, key=lambda f: (f.package, f.name)):
            by_package.setdefault(f.package, []).append(f)
        self.documented_packages = set(by_package)
        out = [(f"{pkg}.md", self.render_package(pkg, files)) for pkg, files in by_package.items()]
        out.append(("README.md", self.render_index(by_package)))
        return out

    def render_index(self, by_package) -> str:
        lines = [
            "# Atelier API reference",
            "",
            "Generated from the comments in `proto/` by `clients/generate`"
            " (`clients/docs/gen_api_docs.py`); do not edit by hand.",
            "",
            "| Package | Services | Summary |",
            "|---|---|---|",
        ]
        for pkg, files in by_package.items():
            services = []
            summary = ""
            for f in files:
                loc = Locations(f)
                for i, s in enumerate(f.service):
                    services.append(f"[`{s.name}`]({pkg}.md#{anchor(pkg + '.' + s.name)})")
                    if not summary:
                        summary = loc.get(FILE_SERVICE, i).text().split("\n\n")[0]
            if not summary:
                summary = self.file_comment(files[0]).split("\n\n")[0]
            lines.append(f"| [`{pkg}`]({pkg}.md) | {', '.join(services)} | {one_line(summary)} |")
        lines += [
            "",
            "Errors are `google.rpc.Status` details in `grpc-status-details-bin`: every error"
            " carries a `google.rpc.ErrorInfo` (domain `atelier`, a stable `reason`) and"
            " INVALID_ARGUMENT also a `google.rpc.BadRequest` listing the violated fields"
            " (see `google/rpc/error_details.proto` in googleapis).",
            "",
        ]
        return "\n".join(lines)

    def file_comment(self, f: descriptor_pb2.FileDescriptorProto) -> str:
        loc = Locations(f)
        for path in ((FILE_SYNTAX,), (FILE_PACKAGE,)):
            c = loc.get(*path)
            if c.leading:
                return c.leading
            if c.detached:
                return "\n\n".join(c.detached)
        return ""

    def render_package(self, pkg: str, files) -> str:
        lines = [f"# {pkg}", ""]
        lines += [
            "<!-- Generated from proto/ by clients/generate (clients/docs/gen_api_docs.py); do not edit. -->",
            "",
        ]
        for f in files:
            c = self.file_comment(f)
            if c:
                lines += [c, ""]
        lines += ["Source: " + ", ".join(f"`proto/{f.name}`" for f in files), ""]

        services, messages, enums = [], [], []
        for f in files:
            loc = Locations(f)
            for i, s in enumerate(f.service):
                services.append((s, loc, (FILE_SERVICE, i)))
            for i, m in enumerate(f.message_type):
                self._collect_messages(m, pkg, loc, (FILE_MESSAGE, i), messages, enums)
            for i, e in enumerate(f.enum_type):
                enums.append((e, f"{pkg}.{e.name}", loc, (FILE_ENUM, i)))

        lines += ["## Contents", ""]
        if services:
            lines.append(
                "- Services: "
                + ", ".join(f"[`{s.name}`](#{anchor(pkg + '.' + s.name)})" for s, _, _ in services)
            )
        if messages:
            lines.append(
                "- Messages: "
                + ", ".join(
                    f"[`{full[len(pkg) + 1:]}`](#{anchor(full)})" for _, full, _, _ in messages
                )
            )
        if enums:
            lines.append(
                "- Enums: "
                + ", ".join(f"[`{full[len(pkg) + 1:]}`](#{anchor(full)})" for _, full, _, _ in enums)
            )
        lines.append("")

        if services:
            lines += ["## Services", ""]
            for s, loc, path in services:
                lines += self.render_service(pkg, s, loc, path)
        if messages:
            lines += ["## Messages", ""]
            for m, full, loc, path in messages:
                lines += self.render_message(pkg, m, full, loc, path)
        if enums:
            lines += ["## Enums", ""]
            for e, full, loc, path in enums:
                lines += self.render_enum(e, full, loc, path)
        while lines and lines[-1] == "":
            lines.pop()
        return "\n".join(lines) + "\n"

    def _collect_messages(self, m, scope, loc, path, messages, enums) -> None:
        if m.options.map_entry:
            return
        full = f"{scope}.{m.name}"
        messages.append((m, full, loc, path))
        for i, n in enumerate(m.nested_type):
            self._collect_messages(n, full, loc, path + (MSG_NESTED, i), messages, enums)
        for i, e in enumerate(m.enum_type):
            enums.append((e, f"{full}.{e.name}", loc, path + (MSG_ENUM, i)))

    def render_service(self, pkg, s, loc, path) -> list[str]:
        full = f"{pkg}.{s.name}"
        lines = [f'<a id="{anchor(full)}"></a>', "", f"### {s.name}", ""]
        c = loc.get(*path).text()
        if c:
            lines += [c, ""]
        lines += [f"Full name: `{full}`", ""]
        lines += ["| RPC | Request | Response |", "|---|---|---|"]
        for i, m in enumerate(s.method):
            req = ("stream " if m.client_streaming else "") + self.type_link(m.input_type, pkg)
            res = ("stream " if m.server_streaming else "") + self.type_link(m.output_type, pkg)
            lines.append(f"| [`{m.name}`](#{anchor(full + '.' + m.name)}) | {req} | {res} |")
        lines.append("")
        for i, m in enumerate(s.method):
            mfull = f"{full}.{m.name}"
            lines += [f'<a id="{anchor(mfull)}"></a>', "", f"#### {s.name}.{m.name}", ""]
            req = ("stream " if m.client_streaming else "") + self.type_link(m.input_type, pkg)
            res = ("stream " if m.server_streaming else "") + self.type_link(m.output_type, pkg)
            kind = {
                (False, False): "unary",
                (True, False): "client streaming",
                (False, True): "server streaming",
                (True, True): "bidirectional streaming",
            }[(m.client_streaming, m.server_streaming)]
            lines += [f"Request: {req} · Response: {res} · {kind}", ""]
            if m.options.deprecated:
                lines += ["**Deprecated.**", ""]
            c = loc.get(*path, SERVICE_METHOD, i).text()
            if c:
                lines += [c, ""]
        return lines

    def render_message(self, pkg, m, full, loc, path) -> list[str]:
        lines = [f'<a id="{anchor(full)}"></a>', "", f"### {full[len(pkg) + 1:]}", ""]
        if m.options.deprecated:
            lines += ["**Deprecated.**", ""]
        c = loc.get(*path).text()
        if c:
            lines += [c, ""]
        if not m.field:
            lines += ["No fields.", ""]
            return lines
        lines += ["| Field | Number | Type | Description |", "|---|---|---|---|"]
        for i, f in enumerate(m.field):
            t = self.field_type(f, pkg)
            if f.label == FDP.LABEL_REPEATED and not t.startswith("map&lt;"):
                t = "repeated " + t
            elif f.proto3_optional:
                t = "optional " + t
            elif f.HasField("oneof_index"):
                t += f" (oneof `{m.oneof_decl[f.oneof_index].name}`)"
            desc = loc.get(*path, MSG_FIELD, i).text()
            if f.options.deprecated:
                desc = "**Deprecated.** " + desc
            lines.append(f"| `{f.name}` | {f.number} | {t} | {one_line(desc)} |")
        lines.append("")
        return lines

    def render_enum(self, e, full, loc, path) -> list[str]:
        info = self.types.get(full)
        shown = full[len(info.package) + 1 :] if info else full
        lines = [f'<a id="{anchor(full)}"></a>', "", f"### {shown}", ""]
        c = loc.get(*path).text()
        if c:
            lines += [c, ""]
        lines += ["| Value | Number | Description |", "|---|---|---|"]
        for i, v in enumerate(e.value):
            desc = loc.get(*path, ENUM_VALUE, i).text()
            if v.options.deprecated:
                desc = "**Deprecated.** " + desc
            lines.append(f"| `{v.name}` | {v.number} | {one_line(desc)} |")
        lines.append("")
        return lines


def main() -> int:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    for name, content in Docs(request).render():
        response.file.add(name=name, content=content)
    sys.stdout.buffer.write(response.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
