#!/usr/bin/env bash
# Launch IMAGE as the running worker: the "launch" half of deploy.yml, which runs this after
# `register`. It is the one place that knows where the worker runs; replace its body to run the
# worker somewhere else (see README, "CI/CD").
#   scripts/launch.sh ghcr.io/OWNER/REPO:SHA
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:?usage: scripts/launch.sh IMAGE (e.g. ghcr.io/owner/repo:sha)}
{%- if cookiecutter.kubernetes %}
name={{ cookiecutter.project_slug }}

# Rolls out k8s/ with kubectl (on GitHub's runners already): the Deployment runs IMAGE, and the
# ScaledObject reads the queue depth from the same server `register` just wrote to.
# Needs: KUBE_CONFIG (a kubeconfig's content), CONDUCTOR_SERVER_URL; optional KUBE_NAMESPACE, and
# CONDUCTOR_WORKER_ALL_DOMAIN: the domain the worker polls, set on the Deployment and counted by KEDA.
: "${KUBE_CONFIG:?KUBE_CONFIG must hold a kubeconfig for the target cluster}"
: "${CONDUCTOR_SERVER_URL:?CONDUCTOR_SERVER_URL must be set (the server the worker polls)}"
namespace=${KUBE_NAMESPACE:-default}
case $image in
  *@*) echo "error: give IMAGE as NAME:TAG, not a digest (got $image)" >&2; exit 2 ;;
  */*:*) ;;
  *) echo "error: IMAGE must be REGISTRY/NAME:TAG (got $image)" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(umask 077 && printf '%s\n' "$KUBE_CONFIG" >"$work/kubeconfig")
export KUBECONFIG=$work/kubeconfig

if ! kubectl -n "$namespace" get secret "$name-conductor" >/dev/null; then
  echo "error: the Secret $name-conductor is missing in namespace $namespace; create it first (README, Kubernetes)" >&2
  exit 1
fi

# A throwaway overlay on top of k8s/: this image, this environment's domain, and the depth of the
# queue the worker polls for each trigger of the ScaledObject (one per task, in the file's order).
domain=${CONDUCTOR_WORKER_ALL_DOMAIN:-}
case $domain in
  *[!A-Za-z0-9_-]*) echo "error: CONDUCTOR_WORKER_ALL_DOMAIN must be letters, digits, '_' or '-' (got $domain)" >&2; exit 2 ;;
esac
cp -R k8s "$work/base"
patches=
index=0
while read -r task; do
  patches+="
      - op: replace
        path: /spec/triggers/$index/metadata/url
        value: \"${CONDUCTOR_SERVER_URL%/}/tasks/queue/size?taskType=$task${domain:+&domain=$domain}\""
  index=$((index + 1))
done < <(grep -o 'taskType=[A-Za-z0-9_]\+' k8s/scaledobject.yaml | cut -d= -f2)
deployment_patch=
if [ -n "$domain" ]; then
  deployment_patch="
  - target:
      kind: Deployment
      name: $name
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value: {name: CONDUCTOR_WORKER_ALL_DOMAIN, value: \"$domain\"}"
fi
mkdir "$work/overlay"
cat >"$work/overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $namespace
resources:
  - ../base
images:
  - name: $name
    newName: ${image%:*}
    newTag: ${image##*:}
patches:
  - target:
      kind: ScaledObject
      name: $name
    patch: |-$patches$deployment_patch
YAML

kubectl apply -k "$work/overlay"
# Old pods drain (SIGTERM, then up to WORKER_SHUTDOWN_GRACE_SECONDS) while new ones become ready.
kubectl -n "$namespace" rollout status "deployment/$name" --timeout=10m
echo "launched $image in namespace $namespace"
{%- else %}

# No launch target is configured: deploy.yml registered the definitions and stops here.
# Replace this with the command that runs IMAGE as a long-lived process with the worker's
# environment (CONDUCTOR_SERVER_URL, CONDUCTOR_AUTH_KEY, CONDUCTOR_AUTH_SECRET), for example
#   aws ecs update-service ... / gcloud run deploy ... / ssh host docker compose up -d
# and a stop that sends SIGTERM and waits longer than WORKER_SHUTDOWN_GRACE_SECONDS (25 s).
echo "::notice title=launch::definitions registered; $image was not started because scripts/launch.sh has no launch target yet (README, CI/CD)"
{%- endif %}
