#!/usr/bin/env bash
# `make lint`: clang-format on every tracked C++ file, clang-tidy on the C++ files that
# changed (against $LINT_BASE, default: the upstream branch if any, else HEAD~1), buf lint
# (run by the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
status=0

unformatted=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done < <(git ls-files '*.cc' '*.h')
if ((${#unformatted[@]})); then
  echo "lint: clang-format would change these files (run 'make format'):"
  printf '  %s\n' "${unformatted[@]}"
  status=1
fi

base=${LINT_BASE:-$(git rev-parse --abbrev-ref --symbolic-full-name '@{u}' 2>/dev/null || echo HEAD~1)}
mapfile -t changed < <({ git diff --name-only "$base" -- '*.cc'; git ls-files --others --exclude-standard '*.cc'; } | sort -u)
existing=()
for f in "${changed[@]}"; do [[ -f $f ]] && existing+=("$f"); done
if ((${#existing[@]})); then
  echo "lint: clang-tidy on ${#existing[@]} changed file(s)"
  clang-tidy -p "$BUILD_DIR" --quiet "${existing[@]}" || status=1
fi
exit $status
