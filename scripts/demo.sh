#!/usr/bin/env bash
# make demo: a local cluster, a Git repository made from examples/, and the
# Tether agent reconciling it. Ctrl-C stops everything it started and exits
# 0, also when the output goes into a pipe that Ctrl-C ended too
# (`make demo | tee log`).
#
# TETHER_DEMO_LISTEN (default 127.0.0.1:8080) is the agent's address;
# TETHER_DEMO_DIR (default .cache/demo) is the demo's own directory, emptied
# at start.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
demo=${TETHER_DEMO_DIR:-$top/.cache/demo}
listen=${TETHER_DEMO_LISTEN:-127.0.0.1:8080}
secret=demo-webhook-secret
tether=$top/bin/tether
devcluster=$top/.cache/bin/devcluster
repo=$demo/repo

# say writes to stderr and never fails: after Ctrl-C, stdout (or stderr)
# may be a pipe whose reader is gone.
say() { printf '%s\n' "$*" >&2 2>/dev/null || true; }

# cleanup stops the agent and the cluster whatever happened: no set -e, a
# broken pipe or a second Ctrl-C does not cut it short. It exits with $1,
# or with the script's status when it runs on EXIT.
cleanup() {
  local status=${1:-$?}
  trap '' INT TERM PIPE
  trap - EXIT
  set +e
  say ""
  say "stopping the agent and the cluster..."
  if [ -n "${agent:-}" ]; then
    kill "$agent" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$agent" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$agent" 2>/dev/null && kill -KILL "$agent" 2>/dev/null
    wait "$agent" 2>/dev/null
  fi
  if ! "$devcluster" down -dir "$demo/cluster" >"$demo/down.log" 2>&1; then
    say "stopping the cluster failed:"
    say "$(cat "$demo/down.log" 2>/dev/null)"
    status=1
  fi
  exit "$status"
}

go build -o "$tether" ./cmd/tether
go build -o "$devcluster" ./internal/testenv/devcluster
"$devcluster" down -dir "$demo/cluster" 2>/dev/null || true
rm -rf "$demo" && mkdir -p "$demo"
trap 'cleanup 0' INT TERM
trap cleanup EXIT
kubeconfig_line=$("$devcluster" up -dir "$demo/cluster")
export KUBECONFIG=$demo/cluster/kubeconfig

# The repository: examples/ committed on branch main. A post-commit hook
# tells the agent at once, through its (HMAC-signed) generic webhook, which
# branch moved: the one the commit was made on.
cp -r examples "$repo"
git -C "$repo" init -q -b main
git -C "$repo" config user.name "Tether Demo"
git -C "$repo" config user.email demo@tether.invalid
{
  echo '#!/usr/bin/env bash'
  printf 'repo=%q url=%q secret=%q\n' "$repo" "http://$listen/webhooks/generic" "$secret"
  cat <<'HOOK'
branch=$(git symbolic-ref -q --short HEAD) || exit 0 # detached HEAD: no branch moved
json() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
body="{\"repoURL\":$(json "$repo"),\"branch\":$(json "$branch")}"
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.* //')
curl -s -o /dev/null --max-time 5 -X POST -H "X-Tether-Signature: sha256=$sig" -d "$body" "$url" || true
HOOK
} > "$repo/.git/hooks/post-commit"
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

# --api-insecure: the demo's API accepts actions (sync, rollback, ...)
# without a token, from anyone who can reach $listen.
"$tether" run -f "$demo/apps.yaml" --listen "$listen" --webhook-secret "$secret" --api-insecure > "$demo/agent.log" 2>&1 &
agent=$!
for _ in $(seq 1 100); do
  curl -sf "http://$listen/readyz" >/dev/null 2>&1 && break
  kill -0 "$agent" 2>/dev/null || { say "the agent exited; its log, $demo/agent.log:"; say "$(cat "$demo/agent.log")"; exit 1; }
  sleep 0.2
done
sleep 1

# The steps work pasted in order into one shell: absolute paths, no cd.
q_tether=$(printf %q "$tether")
q_repo=$(printf %q "$repo")
cat <<MSG

Tether is running.  UI and API: http://$listen/   metrics: http://$listen/metrics
The demo's API accepts actions without a token (--api-insecure); give a
real agent --api-token instead.
Agent log: $demo/agent.log

In another terminal (the lines work pasted in order into one shell):
  $kubeconfig_line
  $q_tether status                      # the two apps, their revision, sync and health
  kubectl get deploy -A -l tether.dev/app

Commit a change and watch it land (the repo's post-commit hook calls the webhook):
  sed -i 's/replicas: 2/replicas: 3/' $q_repo/nginx/deployment.yaml
  git -C $q_repo commit -qam "nginx: 3 replicas"
  kubectl -n web get deploy nginx        # 3/3 within a second

Change the cluster behind Tether's back and watch it heal:
  kubectl -n web scale deploy nginx --replicas=5
  kubectl -n web get deploy nginx        # back to what Git says

Roll back in an emergency (here to the commit before the last), and resume:
  $q_tether history nginx
  $q_tether rollback nginx "\$(git -C $q_repo rev-parse HEAD~1)"
  $q_tether rollback nginx --resume

Ctrl-C here stops the agent and the cluster.
MSG
wait "$agent"
