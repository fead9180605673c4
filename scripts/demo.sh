#!/usr/bin/env bash
# make demo: a local cluster, a Git repository made from examples/, and the
# Tether agent reconciling it. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
demo=$top/.cache/demo
listen=${TETHER_DEMO_LISTEN:-127.0.0.1:8080}
secret=demo-webhook-secret

go build -o bin/tether ./cmd/tether
go run ./internal/testenv/devcluster down -dir "$demo/cluster" 2>/dev/null || true
rm -rf "$demo" && mkdir -p "$demo"
kubeconfig_line=$(go run ./internal/testenv/devcluster up -dir "$demo/cluster")
export KUBECONFIG=$demo/cluster/kubeconfig

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping the agent and the cluster..."
  [ -n "${agent:-}" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null || true
  go run ./internal/testenv/devcluster down -dir "$demo/cluster" || true
}
trap cleanup INT TERM EXIT

# The repository: examples/ committed on branch main. A post-commit hook
# tells the agent at once through its (HMAC-signed) generic webhook.
repo=$demo/repo
cp -r examples "$repo"
git -C "$repo" init -q -b main
git -C "$repo" config user.name "Tether Demo"
git -C "$repo" config user.email demo@tether.invalid
cat > "$repo/.git/hooks/post-commit" <<HOOK
#!/bin/sh
body='{"repoURL":"$repo","branch":"main"}'
sig=\$(printf '%s' "\$body" | openssl dgst -sha256 -hmac '$secret' | sed 's/^.* //')
curl -s -o /dev/null -X POST -H "X-Tether-Signature: sha256=\$sig" -d "\$body" http://$listen/webhooks/generic || true
HOOK
chmod +x "$repo/.git/hooks/post-commit"
git -C "$repo" add -A
git -C "$repo" commit -qm "Initial: the article's nginx app" --no-verify

cat > "$demo/apps.yaml" <<APPS
apiVersion: tether.dev/v1alpha1
kind: Application
metadata: {name: nginx, namespace: tether-system}
spec:
  source: {repoURL: $repo, targetRevision: main, path: nginx}
  destination: {namespace: web}
  syncPolicy: {automated: true, selfHeal: true, prune: true, interval: 30s}
---
apiVersion: tether.dev/v1alpha1
kind: Application
metadata: {name: nginx-hcl, namespace: tether-system}
spec:
  source: {repoURL: $repo, targetRevision: main, path: nginx-hcl}
  destination: {namespace: web-hcl}
  syncPolicy: {automated: true, selfHeal: true, prune: true, interval: 30s}
APPS

bin/tether run -f "$demo/apps.yaml" --listen "$listen" --webhook-secret "$secret" > "$demo/agent.log" 2>&1 &
agent=$!
for _ in $(seq 1 100); do
  curl -sf "http://$listen/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 1

cat <<MSG

Tether is running.  UI and API: http://$listen/   metrics: http://$listen/metrics
Agent log: $demo/agent.log

In another terminal:
  $kubeconfig_line
  bin/tether status                      # the two apps, their revision, sync and health
  kubectl get deploy -A -l tether.dev/app

Commit a change and watch it land (the repo's post-commit hook calls the webhook):
  cd $repo && sed -i 's/replicas: 2/replicas: 3/' nginx/deployment.yaml && git commit -qam "nginx: 3 replicas"
  kubectl -n web get deploy nginx        # 3/3 within a second

Change the cluster behind Tether's back and watch it heal:
  kubectl -n web scale deploy nginx --replicas=5
  kubectl -n web get deploy nginx        # back to what Git says

Roll back in an emergency, and resume:
  bin/tether history nginx
  bin/tether rollback nginx <REVISION>   # then: bin/tether rollback nginx --resume

Ctrl-C here stops the agent and the cluster.
MSG
wait "$agent"
