#!/usr/bin/env bash
# Offline checks of the deployment files: the kustomize base and overlays
# render and hold what the server, the Dockerfile and the alert rules rely
# on, every YAML file lints, the Dockerfile lints. A missing tool is a
# failure: scripts/setup.sh test installs them all (the pinned kubectl and
# dockerfile-utils under tests/deploy/node_modules, yamllint from Debian).
# Usage: deploy/check.sh   (from anywhere; KUBECTL=... picks another kubectl)
set -uo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$deploy_dir")"
tools="$root/tests/deploy/node_modules"
passed=0
failed=0

pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The pinned kubectl (kustomize v5) first: Debian's own is too old.
kubectl="${KUBECTL:-}"
[ -z "$kubectl" ] && [ -x "$tools/.quantd/kubectl" ] && kubectl="$tools/.quantd/kubectl"
[ -z "$kubectl" ] && kubectl="$(command -v kubectl || true)"
dockerfile_utils="$tools/.bin/dockerfile-utils"
[ -x "$dockerfile_utils" ] || dockerfile_utils="$(command -v dockerfile-utils || true)"

# render DIR: renders deploy/DIR into $rendered; false when it does not.
render() {
  rendered="$tmp/$(echo "$1" | tr / _).yaml"
  if KUBECONFIG=/dev/null "$kubectl" kustomize "$deploy_dir/$1" >"$rendered" 2>"$tmp/kustomize.err"; then
    pass "kubectl kustomize deploy/$1 renders"
  else
    cat "$tmp/kustomize.err"
    fail "kubectl kustomize deploy/$1"
    return 1
  fi
}
# field KIND/NAME JSONPATH: that object's value in $rendered, read offline by
# kubectl (annotate --local never contacts a cluster).
field() {
  KUBECONFIG=/dev/null "$kubectl" annotate --local -f "$rendered" quantd-check=1 \
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

# --- the base ----------------------------------------------------------
if [ -z "$kubectl" ]; then
  fail "kubectl not found: run scripts/setup.sh test"
elif render kubernetes; then
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
  # The pool alerts (deploy/prometheus) take quantd's default task limit.
  if field Deployment/quantd "$c.args[*]" | grep -q -- '--max_pending_tasks'; then
    fail "--max_pending_tasks is set: QuantdPoolQueueNearlyFull and the dashboard assume the default"
  else
    pass "--max_pending_tasks is quantd's default, as the pool alerts assume"
  fi
  # NetworkPolicy: the pods, both ports and nothing else, metrics to Prometheus.
  expect "NetworkPolicy selects the Deployment's pods" NetworkPolicy/quantd \
    '.spec.podSelector.matchLabels.app\.kubernetes\.io/name' \
    "$(field Deployment/quantd '.spec.template.metadata.labels.app\.kubernetes\.io/name')"
  expect "NetworkPolicy governs ingress and egress" NetworkPolicy/quantd '.spec.policyTypes[*]' "Ingress Egress"
  expect "NetworkPolicy admits exactly the container ports" NetworkPolicy/quantd \
    '.spec.ingress[*].ports[*].port' "$(field Deployment/quantd "$c.ports[*].containerPort")"
  expect "NetworkPolicy admits metrics from Prometheus pods only" NetworkPolicy/quantd \
    '.spec.ingress[?(@.ports[0].port==9464)].from[*].podSelector.matchLabels.app\.kubernetes\.io/name' prometheus
  expect "NetworkPolicy allows no egress" NetworkPolicy/quantd '.spec.egress[*]' ""
fi

# --- overlays/tls --------------------------------------------------------
if [ -n "$kubectl" ] && render overlays/tls; then
  tls_args="$(field Deployment/quantd "$c.args[*]" | tr ' ' '\n' | grep '^--tls_' | paste -sd ' ')"
  want="--tls_cert=/etc/quantd/tls/tls.crt --tls_key=/etc/quantd/tls/tls.key --tls_client_ca=/etc/quantd/tls/ca.crt"
  if [ "$tls_args" = "$want" ]; then
    pass "TLS flags (API.md, Security) point into the mounted Secret"
  else
    fail "TLS flags are '$tls_args', want '$want'"
  fi
  expect "TLS Secret mounted read-only at /etc/quantd/tls" Deployment/quantd \
    "$c.volumeMounts[?(@.name==\"tls\")].mountPath}:{$c.volumeMounts[?(@.name==\"tls\")].readOnly" \
    "/etc/quantd/tls:true"
  expect "TLS volume: Secret quantd-tls, mode 0440, all three keys" Deployment/quantd \
    '.spec.template.spec.volumes[?(@.name=="tls")].secret.secretName}:{.spec.template.spec.volumes[?(@.name=="tls")].secret.defaultMode}:{.spec.template.spec.volumes[?(@.name=="tls")].secret.items[*].key' \
    "quantd-tls:288:tls.crt tls.key ca.crt"
  expect "TLS files readable by the pod's group" Deployment/quantd \
    '.spec.template.spec.securityContext.fsGroup}:{.spec.template.spec.securityContext.runAsGroup' "10001:10001"
  # Native gRPC probes cannot speak TLS (deploy/overlays/tls/deployment-tls.yaml).
  expect "no probe is a plaintext gRPC probe" Deployment/quantd \
    "$c.startupProbe.grpc}{$c.readinessProbe.grpc}{$c.livenessProbe.grpc" ""
  expect "startup and readiness connect to the gRPC port" Deployment/quantd \
    "$c.startupProbe.tcpSocket.port}:{$c.readinessProbe.tcpSocket.port" "50051:50051"
  expect "liveness GETs /metrics on the metrics port" Deployment/quantd \
    "$c.livenessProbe.httpGet.path}:{$c.livenessProbe.httpGet.port}:{$c.livenessProbe.httpGet.scheme" \
    "/metrics:$(field Deployment/quantd "$c.ports[?(@.name==\"metrics\")].containerPort"):HTTP"
  expect "TLS keeps reflection off and the non-root user" Deployment/quantd \
    "$c.args[?(@==\"--reflection=false\")]}:{$c.securityContext.runAsUser" "--reflection=false:10001"
fi

# --- overlays/prometheus-operator --------------------------------------
if [ -n "$kubectl" ] && render overlays/prometheus-operator; then
  expect "ServiceMonitor scrapes /metrics on the port named metrics" ServiceMonitor/quantd \
    '.spec.endpoints[*].port}:{.spec.endpoints[*].path' "metrics:/metrics"
  expect "ServiceMonitor selects the Services labelled like Service quantd" ServiceMonitor/quantd \
    '.spec.selector.matchLabels.app\.kubernetes\.io/name' \
    "$(field Service/quantd '.metadata.labels.app\.kubernetes\.io/name')"
  expect "Service quantd has the metrics port" Service/quantd '.spec.ports[?(@.name=="metrics")].port' 9464
  expect "the headless Service has no metrics port (each pod scraped once)" Service/quantd-headless \
    '.spec.ports[?(@.name=="metrics")].port' ""
  # The alert rules select up{job="quantd"}: the operator names the job
  # after the Service unless jobLabel says otherwise.
  expect "targets get job=quantd, as the alert rules expect" ServiceMonitor/quantd \
    '.spec.jobLabel}:{.spec.endpoints[*].relabelings' ":"
fi

# --- yamllint ----------------------------------------------------------
if ! command -v yamllint >/dev/null 2>&1; then
  fail "yamllint not found: run scripts/setup.sh test"
elif yamllint --strict -c "$deploy_dir/.yamllint" "$deploy_dir"; then
  pass "yamllint deploy/"
else
  fail "yamllint deploy/"
fi

# --- Dockerfile lint ---------------------------------------------------
if [ -z "$dockerfile_utils" ]; then
  fail "dockerfile-utils not found: run scripts/setup.sh test"
else
  # It prints its findings and exits 0 either way.
  out="$("$dockerfile_utils" lint "$root/Dockerfile" 2>&1)"
  if [ -z "$out" ]; then
    pass "dockerfile-utils lint Dockerfile"
  else
    echo "$out"
    fail "dockerfile-utils lint Dockerfile"
  fi
fi

echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
