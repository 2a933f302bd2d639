#!/usr/bin/env bash
# Validates deploy/ with no cluster and no Docker daemon (.ci/deploy-check.py
# says what is checked): Kubernetes manifests in strict mode with
# kubernetes-validate, deploy/compose.yaml against the vendored Compose
# Specification schema, image tags, pod hardening and the drain arithmetic.
#
# Needs python3 (3.9+) with pip 22.3+ and PyPI; nothing else. The validators
# live in a venv in the tools cache, outside the checkout, keyed by the hash
# of .ci/deploy-check.requirements.txt: the first run installs them, later
# runs reuse them. Arguments are passed to deploy-check.py (--kubernetes-dir,
# --compose, --dockerfile: to check other copies).
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=.ci/deploy-check.requirements.txt
tools=${ATELIER_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier-ci}
key=$( { cat "$requirements"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
venv=$tools/deploy-check-$key
mkdir -p "$tools"

# Two runs sharing a cache must not build the same venv at once.
exec 9>"$tools/deploy-check.lock"
flock 9

# .complete is written last: a run killed mid-install leaves a venv without
# it, and the next run starts that venv over.
if [[ ! -f $venv/.complete ]]; then
  echo "deploy-check: installing validators into $venv"
  if ! python3 -c 'import sys, pip; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (22, 3))' 2>/dev/null; then
    echo "deploy-check: needs pip 22.3 or newer for python3 (it installs with pip --python)" >&2
    exit 1
  fi
  rm -rf "$venv"
  # --without-pip, and the machine's pip installs into the venv: no ensurepip
  # needed (Debian ships it apart, as python3-venv) and a few seconds saved.
  python3 -m venv --without-pip "$venv"
  python3 -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check \
    --no-input --no-deps --only-binary=:all: -r "$requirements"
  # The pins are the whole closure (--no-deps): this fails if one is missing.
  python3 -m pip --python "$venv/bin/python" check --disable-pip-version-check >/dev/null
  touch "$venv/.complete"
fi
exec 9>&-

exec "$venv/bin/python" .ci/deploy-check.py "$@"
