#!/usr/bin/env bash
# CI for the generated clients (clients/) and the API reference (docs/api/).
#
#   bash .ci/clients.sh fresh
#       Runs clients/generate, then fails, showing the difference, when that
#       changed anything under clients/ or docs/: a proto change committed
#       without regenerating fails here. In a clean checkout (as in CI) the
#       test is `git status --porcelain clients docs` after generating; when
#       clients/ or docs/ already held uncommitted work before the run, it
#       compares their contents before and after instead.
#
#   bash .ci/clients.sh examples HOST:PORT
#       Installs what the examples need (the Python client into a venv in the
#       cache, `npm ci` in clients/typescript), compiles the TypeScript and
#       runs clients/python/examples/scenario.py and
#       clients/typescript/examples/scenario.ts against a running server at
#       HOST:PORT, failing when either fails.
#
# Both are idempotent, print one line on success and everything they have on
# failure. The cache is $ATELIER_TOOLS_CACHE or ~/.cache/atelier-ci.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${ATELIER_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier-ci}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

die() { echo "clients.sh: $*" >&2; exit 1; }

# Every file under clients/ and docs/ that git would see (tracked or not,
# not ignored), as a tar, for a before/after comparison.
snapshot() { # DIR
  mkdir -p "$1"
  git ls-files -co --exclude-standard -z -- clients docs |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$1"
}

fresh() {
  local before after
  before=$(git status --porcelain -- clients docs)
  [[ -z $before ]] || snapshot "$tmp/before"
  if ! bash clients/generate >"$tmp/generate.log" 2>&1; then
    cat "$tmp/generate.log" >&2
    die "fresh: clients/generate failed"
  fi
  if [[ -z $before ]]; then
    after=$(git status --porcelain -- clients docs)
    if [[ -n $after ]]; then
      {
        echo "clients.sh fresh: the generated code is stale: regenerating from proto/ changed these files"
        echo "(run clients/generate and commit the result):"
        echo "$after"
        git --no-pager diff --stat -- clients docs
        git --no-pager diff -- clients docs
        git ls-files -o --exclude-standard -z -- clients docs |
          xargs -0 -r -I{} git --no-pager diff --no-index -- /dev/null {} || true
      } >&2
      exit 1
    fi
  else
    snapshot "$tmp/after"
    if ! diff -ruN "$tmp/before" "$tmp/after" >"$tmp/diff"; then
      {
        echo "clients.sh fresh: the generated code is stale: regenerating from proto/ changed clients/ or docs/"
        echo "(the run left the regenerated files in place; review and commit them):"
        cat "$tmp/diff"
      } >&2
      exit 1
    fi
  fi
  echo "clients.sh fresh: clients/ and docs/api/ match proto/"
}

examples() {
  local address=$1 stamp venv node_stamp
  command -v python3 >/dev/null || die "examples: python3 is missing"
  command -v npm >/dev/null || die "examples: npm is missing"
  mkdir -p "$cache/clients-examples"

  # The Python client, installed (not editable) the way a user installs it;
  # reinstalled whenever its sources or this checkout's path change.
  venv=$cache/clients-examples/venv
  stamp="$(python3 --version 2>&1) $root $(
    find clients/python/pyproject.toml clients/python/README.md clients/python/src -type f \
      -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
  )"
  if [[ "$(cat "$venv/.atelier-stamp" 2>/dev/null)" != "$stamp" ]]; then
    {
      [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
      rm -f "$venv/.atelier-stamp"
      # pip always rebuilds and reinstalls a local directory; deps only when missing.
      "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input ./clients/python
    } >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; die "examples: installing clients/python failed"; }
    echo "$stamp" >"$venv/.atelier-stamp"
  fi

  # The TypeScript client: npm ci (only when the lock file changed), tsc.
  node_stamp="$(node --version) $(sha256sum clients/typescript/package-lock.json | cut -d' ' -f1)"
  if [[ "$(cat clients/typescript/node_modules/.atelier-stamp 2>/dev/null)" != "$node_stamp" ]]; then
    (cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1 ||
      { cat "$tmp/npm.log" >&2; die "examples: npm ci in clients/typescript failed"; }
    echo "$node_stamp" >clients/typescript/node_modules/.atelier-stamp
  fi
  (cd clients/typescript && ./node_modules/.bin/tsc -p .) >"$tmp/tsc.log" 2>&1 ||
    { cat "$tmp/tsc.log" >&2; die "examples: tsc in clients/typescript failed"; }

  # Both scenarios at once (each uses its own random slugs and users).
  local py_rc=0 ts_rc=0
  timeout 120 "$venv/bin/python" clients/python/examples/scenario.py "$address" >"$tmp/py.log" 2>&1 &
  local py_pid=$!
  (cd clients/typescript && timeout 120 node dist/examples/scenario.js "$address") >"$tmp/ts.log" 2>&1 &
  local ts_pid=$!
  wait "$py_pid" || py_rc=$?
  wait "$ts_pid" || ts_rc=$?
  if ((py_rc != 0 || ts_rc != 0)); then
    {
      echo "--- python scenario (exit $py_rc):"
      cat "$tmp/py.log"
      echo "--- typescript scenario (exit $ts_rc):"
      cat "$tmp/ts.log"
    } >&2
    die "examples: a scenario failed against $address"
  fi
  echo "clients.sh examples: python and typescript scenarios passed against $address"
}

case "${1:-}" in
  fresh) fresh ;;
  examples)
    [[ $# -eq 2 ]] || die "usage: bash .ci/clients.sh examples HOST:PORT"
    examples "$2"
    ;;
  *) die "usage: bash .ci/clients.sh fresh | examples HOST:PORT" ;;
esac
