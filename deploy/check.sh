#!/usr/bin/env bash
# Offline checks of the deployment files: the kustomize base renders and holds
# what the server and the Dockerfile promise, and every YAML file lints.
# A missing tool skips its checks (exit 0 with "skipped: ..."); a failed
# check exits 1. Usage: deploy/check.sh   (from anywhere)
set -uo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$deploy_dir")"
passed=0
failed=0
skipped=0

pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
skip() { echo "skipped: $1"; skipped=$((skipped + 1)); }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- kustomize ---------------------------------------------------------
if command -v kubectl >/dev/null 2>&1; then
  if kubectl kustomize "$deploy_dir/kubernetes" >"$tmp/rendered.yaml" 2>"$tmp/kustomize.err"; then
    pass "kubectl kustomize deploy/kubernetes renders"
    rendered="$tmp/rendered.yaml"
    # field KIND/NAME JSONPATH: that object's value, read offline by kubectl
    # (annotate --local never contacts a cluster).
    field() {
      KUBECONFIG=/dev/null kubectl annotate --local -f "$rendered" quantd-check=1 \
        -o jsonpath="{.kind}/{.metadata.name}=<{$2}>{\"\\n\"}" 2>/dev/null |
        sed -n "s|^$1=<\\(.*\\)>\$|\\1|p"
    }
    # expect DESCRIPTION KIND/NAME JSONPATH VALUE
    expect() {
      local got
      got="$(field "$2" "$3")"
      if [ "$got" = "$4" ]; then pass "$1"; else fail "$1: $2 $3 is '$got', want '$4'"; fi
    }
    c='.spec.template.spec.containers[?(@.name=="quantd")]'
    # Facts other parts of the project rely on (API.md, ARCHITECTURE.md, the
    # Dockerfile).
    expect "Deployment quantd selects app.kubernetes.io/name=quantd" Deployment/quantd \
      '.spec.selector.matchLabels.app\.kubernetes\.io/name' quantd
    expect "container ports grpc 50051, metrics 9464" Deployment/quantd \
      "$c.ports[*].name}:{$c.ports[*].containerPort" "grpc metrics:50051 9464"
    expect "reflection is off (API.md)" Deployment/quantd \
      "$c.args[?(@==\"--reflection=false\")]" "--reflection=false"
    expect "liveness is a gRPC probe of the empty service" Deployment/quantd \
      "$c.livenessProbe.grpc.port}:{$c.livenessProbe.grpc.service" "50051:"
    expect "readiness is a gRPC probe of quantd.v1.Quantizer" Deployment/quantd \
      "$c.readinessProbe.grpc.port}:{$c.readinessProbe.grpc.service" "50051:quantd.v1.Quantizer"
    expect "startup is a gRPC probe" Deployment/quantd "$c.startupProbe.grpc.port" "50051"
    expect "runs as non-root UID 10001" Deployment/quantd \
      "$c.securityContext.runAsNonRoot}:{$c.securityContext.runAsUser" "true:10001"
    expect "read-only root, no privilege escalation, no capabilities" Deployment/quantd \
      "$c.securityContext.readOnlyRootFilesystem}:{$c.securityContext.allowPrivilegeEscalation}:{$c.securityContext.capabilities.drop[*]" \
      "true:false:ALL"
    expect "seccomp RuntimeDefault" Deployment/quantd \
      '.spec.template.spec.securityContext.seccompProfile.type' RuntimeDefault
    expect "CPU and memory limits" Deployment/quantd \
      "$c.resources.limits.cpu}:{$c.resources.limits.memory" "2:4Gi"
    expect "Service quantd is ClusterIP" Service/quantd '.spec.type' ClusterIP
    expect "Service quantd ports grpc (appProtocol grpc) and metrics" Service/quantd \
      '.spec.ports[*].name}:{.spec.ports[?(@.name=="grpc")].appProtocol' "grpc metrics:grpc"
    expect "Service quantd-headless is headless" Service/quantd-headless '.spec.clusterIP' None
    expect "Service quantd-headless serves grpc on 50051" Service/quantd-headless \
      '.spec.ports[?(@.name=="grpc")].port' 50051
    # The pod must outlive preStop plus quantd's drain (--shutdown_grace_seconds).
    grace="$(field Deployment/quantd '.spec.template.spec.terminationGracePeriodSeconds')"
    drain="$(field Deployment/quantd "$c.args[*]" | tr ' ' '\n' | sed -n 's/^--shutdown_grace_seconds=//p')"
    pre="$(field Deployment/quantd "$c.lifecycle.preStop.exec.command[1]")"
    if [ -n "$grace" ] && [ "$grace" -gt "$(( ${drain:-20} + ${pre:-0} ))" ]; then
      pass "terminationGracePeriodSeconds $grace > preStop ${pre:-0} s + drain ${drain:-20} s"
    else
      fail "terminationGracePeriodSeconds '$grace' must exceed preStop ${pre:-0} s + drain ${drain:-20} s"
    fi
    # The pod's user and ports match the image's.
    if [ -f "$root/Dockerfile" ]; then
      if grep -Eq '^USER 10001(:10001)?$' "$root/Dockerfile"; then
        pass "Dockerfile runs as UID 10001 like the pod"
      else
        fail "Dockerfile USER is not 10001"
      fi
      if grep -Eq '^EXPOSE 50051 9464$' "$root/Dockerfile"; then
        pass "Dockerfile exposes 50051 and 9464 like the pod"
      else
        fail "Dockerfile does not EXPOSE 50051 9464"
      fi
    fi
  else
    cat "$tmp/kustomize.err"
    fail "kubectl kustomize deploy/kubernetes"
  fi
else
  skip "kubectl not found"
fi

# --- yamllint ----------------------------------------------------------
if command -v yamllint >/dev/null 2>&1; then
  if yamllint --strict -c "$deploy_dir/.yamllint" "$deploy_dir"; then
    pass "yamllint deploy/"
  else
    fail "yamllint deploy/"
  fi
else
  skip "yamllint not found"
fi

# --- Dockerfile lint (only when installed: this test never downloads) --
if command -v dockerfile-utils >/dev/null 2>&1 && [ -f "$root/Dockerfile" ]; then
  out="$(dockerfile-utils lint "$root/Dockerfile" 2>&1)"
  if [ -z "$out" ]; then
    pass "dockerfile-utils lint Dockerfile"
  else
    echo "$out"
    fail "dockerfile-utils lint Dockerfile"
  fi
fi

echo "deploy: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
