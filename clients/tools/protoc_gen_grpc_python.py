#!/usr/bin/env python3
"""A protoc plugin that runs grpcio-tools' built-in gRPC Python generator.

grpcio-tools compiles the `grpc_python` generator into its own protoc
(`python -m grpc_tools.protoc --grpc_python_out=...`) and ships no separate
`protoc-gen-grpc_python` binary, and buf's `protoc_builtin` only knows
protoc's own languages. This shim lets buf drive it as an ordinary local
plugin: it reads buf's CodeGeneratorRequest, hands the already-parsed
descriptors to grpcio-tools' protoc through `--descriptor_set_in`, and sends
the files it wrote back in a CodeGeneratorResponse. The output is exactly
what `python -m grpc_tools.protoc --grpc_python_out` writes.

Run it with the generator venv's python (clients/generate puts it first on
PATH): it needs grpcio-tools and protobuf.
"""

import os
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def main() -> int:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = os.path.join(tmp, "descriptors.binpb")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        with open(descriptors, "wb") as f:
            f.write(
                descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString()
            )
        grpc_out = f"{request.parameter}:{out}" if request.parameter else out
        # protoc writes its own diagnostics to stderr; buf shows them.
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"--descriptor_set_in={descriptors}",
                f"--grpc_python_out={grpc_out}",
                *request.file_to_generate,
            ]
        )
        if code != 0:
            response.error = f"grpc_tools.protoc --grpc_python_out exited with {code}"
        else:
            for root, _dirs, files in sorted(os.walk(out)):
                for name in sorted(files):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8") as f:
                        response.file.add(
                            name=os.path.relpath(path, out).replace(os.sep, "/"),
                            content=f.read(),
                        )
    sys.stdout.buffer.write(response.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
