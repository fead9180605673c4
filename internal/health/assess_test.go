package health

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/object"
)

// loadFixture decodes a YAML object the way client-go decodes the API
// server's JSON into an Unstructured (integers as int64).
func loadFixture(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

var assessTests = []struct {
	file string
	want Status
	msg  string
}{
	{"deployment-healthy.yaml", Healthy, "3/3 replicas available"},
	{"deployment-rolling.yaml", Progressing, "1/3 replicas updated"},
	{"deployment-old-replicas.yaml", Progressing, "1 old replicas pending termination"},
	{"deployment-unavailable.yaml", Progressing, "1/2 replicas available"},
	{"deployment-stale-generation.yaml", Progressing, "waiting for the controller to observe generation 3 (observed 2)"},
	{"deployment-no-status.yaml", Progressing, "waiting for the controller to observe generation 1"},
	{"deployment-deadline-exceeded.yaml", Degraded, `progress deadline exceeded: ReplicaSet "nginx-5d9f8b7c6d" has timed out progressing.`},
	{"deployment-paused.yaml", Suspended, "deployment is paused"},
	{"deployment-replica-failure.yaml", Degraded, `FailedCreate: pods "nginx-7c5ddbdf54-x2x9k" is forbidden: exceeded quota: compute, requested: limits.cpu=500m, used: limits.cpu=2, limited: limits.cpu=2`},
	{"deployment-scaled-to-zero.yaml", Healthy, "0/0 replicas available"},
	{"deployment-malformed-status.yaml", Unknown, "cannot read .status.replicas: want integer, got string"},

	{"statefulset-healthy.yaml", Healthy, "3/3 replicas ready"},
	{"statefulset-not-ready.yaml", Progressing, "1/3 replicas ready"},
	{"statefulset-rolling.yaml", Progressing, "1/3 replicas updated to revision postgres-84c7d9b5f6"},
	{"statefulset-partition-done.yaml", Healthy, "partitioned rollout complete: 1/3 replicas updated"},
	{"statefulset-partition-rolling.yaml", Progressing, "1/3 replicas updated (partition 2)"},
	{"statefulset-ondelete.yaml", Healthy, "3/3 replicas ready (OnDelete: pods update when deleted)"},
	{"statefulset-stale-generation.yaml", Progressing, "waiting for the controller to observe generation 5 (observed 4)"},

	{"daemonset-healthy.yaml", Healthy, "3/3 pods available"},
	{"daemonset-updating.yaml", Progressing, "1/3 pods updated"},
	{"daemonset-unavailable.yaml", Progressing, "2/3 pods available"},
	{"daemonset-ondelete.yaml", Healthy, "3/3 pods available"},

	{"replicaset-healthy.yaml", Healthy, "3/3 replicas available"},
	{"replicaset-progressing.yaml", Progressing, "1/3 replicas available"},
	{"replicaset-replica-failure.yaml", Degraded, `FailedCreate: pods "nginx-7c5ddbdf54-abcde" is forbidden: error looking up service account web/nginx: serviceaccount "nginx" not found`},

	{"pod-running-ready.yaml", Healthy, "running"},
	{"pod-running-not-ready.yaml", Progressing, "0/1 containers ready"},
	{"pod-running-to-completion.yaml", Progressing, "running to completion"},
	{"pod-succeeded.yaml", Healthy, "pod completed"},
	{"pod-failed.yaml", Degraded, "container migrate exited: Error, code 2"},
	{"pod-evicted.yaml", Degraded, "Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 81232Ki."},
	{"pod-crashloop.yaml", Degraded, "container web: CrashLoopBackOff (last exit: OOMKilled, code 137)"},
	{"pod-init-crashloop.yaml", Degraded, "container wait-for-db: CrashLoopBackOff (last exit: Error, code 1)"},
	{"pod-image-pull-backoff.yaml", Degraded, `container web: ImagePullBackOff: Back-off pulling image "web:1.0"`},
	{"pod-err-image-pull.yaml", Degraded, `container web: ErrImagePull: failed to pull and unpack image "docker.io/library/web:1.0": pull access denied, repository does not exist or may require authorization`},
	{"pod-unschedulable.yaml", Progressing, "not scheduled: Unschedulable: 0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."},
	{"pod-container-creating.yaml", Progressing, "container web: ContainerCreating"},
	{"pod-unknown-phase.yaml", Unknown, "node is not reporting the pod's state"},
	{"pod-terminating.yaml", Progressing, "being deleted (waiting for finalizers: example.com/drain)"},

	{"job-complete.yaml", Healthy, "job completed: 1 succeeded"},
	{"job-failed.yaml", Degraded, "BackoffLimitExceeded: Job has reached the specified backoff limit"},
	{"job-failure-target.yaml", Degraded, "DeadlineExceeded: Job was active longer than specified deadline"},
	{"job-running.yaml", Progressing, "0/1 completions, 1 active"},
	{"job-suspended.yaml", Suspended, "job is suspended"},

	{"pvc-bound.yaml", Healthy, "bound to pvc-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"},
	{"pvc-pending.yaml", Progressing, "waiting for a volume to be bound"},
	{"pvc-lost.yaml", Degraded, "bound volume pvc-7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d is lost"},

	{"service-clusterip.yaml", Healthy, ""},
	{"service-loadbalancer-pending.yaml", Progressing, "waiting for a load balancer address"},
	{"service-loadbalancer-ready.yaml", Healthy, "load balancer at 203.0.113.10"},

	{"ingress-pending.yaml", Progressing, "waiting for a load balancer address"},
	{"ingress-ready.yaml", Healthy, "load balancer at a1b2c3-123456789.eu-west-1.elb.amazonaws.com"},

	{"crd-established.yaml", Healthy, "established"},
	{"crd-installing.yaml", Progressing, "waiting for the CRD to be established"},
	{"crd-names-conflict.yaml", Degraded, `ShortNamesConflict: "app" is already in use`},

	{"namespace-active.yaml", Healthy, ""},
	{"namespace-terminating.yaml", Progressing, "namespace is terminating: Some resources are remaining: persistentvolumeclaims. has 1 resource instances"},

	{"configmap.yaml", Healthy, ""},
	{"secret.yaml", Healthy, ""},
	{"clusterrole.yaml", Healthy, ""},
	{"conditions-ready.yaml", Healthy, "Applied revision: main@sha1:1a2b3c4d5e6f"},
	{"conditions-ready-false.yaml", Degraded, "BuildFailed: kustomize build failed: accumulating resources from './web': must build at directory: not a valid directory"},
	{"conditions-ready-unknown.yaml", Progressing, "Progressing: Reconciliation in progress"},
	{"conditions-reconciling.yaml", Progressing, "ProgressingWithRetry: Reconciliation in progress"},
	{"conditions-stalled.yaml", Degraded, "InvalidPath: invalid 'path': must be relative to the repository root"},
	{"conditions-stale.yaml", Progressing, "waiting for the controller to observe generation 3 (Ready condition is for generation 2)"},
	{"conditions-available-false.yaml", Progressing, `MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"`},
	{"conditions-available-true.yaml", Healthy, "all checks passed"},
	{"conditions-ready-false-creating.yaml", Progressing, "Creating"},

	{"flux-kustomization-suspended.yaml", Suspended, "Kustomization is suspended"},
	{"flux-kustomization-dependency.yaml", Progressing, "DependencyNotReady: dependency 'flux-system/infra' is not ready"},
	{"flux-helmrelease-no-status.yaml", Progressing, "waiting for the controller to report Ready"},
	{"flux-helmrelease-ready.yaml", Healthy, "Helm install succeeded for release web/podinfo.v1 with chart podinfo@6.7.1"},
	{"flux-helmrelease-install-failed.yaml", Degraded, "InstallFailed: Helm install failed for release web/podinfo with chart podinfo@6.7.1: context deadline exceeded"},
	{"flux-gitrepository-ready.yaml", Healthy, "stored artifact for revision 'main@sha1:1a2b3c4d5e6f'"},
	{"flux-helmrepository-oci.yaml", Healthy, "OCI Helm repository: static, nothing to reconcile"},

	{"certmanager-certificate-ready.yaml", Healthy, "Certificate is up to date and has not expired"},
	{"certmanager-certificate-issuing.yaml", Progressing, "DoesNotExist: Issuing certificate as Secret does not exist"},
	{"certmanager-certificate-renewing.yaml", Progressing, "Renewing: Renewing certificate as renewal was scheduled at 2026-08-30 09:02:40 +0000 UTC"},
	{"certmanager-certificate-failed.yaml", Degraded, `Failed: The certificate request has failed to complete and will be retried: Failed to wait for order resource "web-tls-1-3052712512" to become ready: order is in "invalid" state`},
	{"certmanager-certificate-no-status.yaml", Progressing, "waiting for the certificate to be issued"},
	{"certmanager-certificate-stale.yaml", Progressing, "waiting for cert-manager to observe generation 2 (Ready condition is for generation 1)"},
	{"certmanager-clusterissuer-ready.yaml", Healthy, "The ACME account was registered with the ACME server"},
	{"certmanager-issuer-not-ready.yaml", Degraded, `ErrGetKeyPair: Error getting keypair for CA issuer: secrets "ca-key-pair" not found`},
	{"certmanager-issuer-no-status.yaml", Progressing, "waiting for the issuer to be initialised"},

	{"rollout-healthy.yaml", Healthy, ""},
	{"rollout-paused.yaml", Suspended, "paused: CanaryPauseStep"},
	{"rollout-aborted.yaml", Degraded, "RolloutAborted: Rollout aborted update to revision 2"},
	{"rollout-progressing.yaml", Progressing, "more replicas need to be updated"},
	{"rollout-stale-generation.yaml", Progressing, "waiting for the controller to observe generation 5 (observed 4)"},
	{"rollout-no-status.yaml", Progressing, "waiting for the rollout controller to observe the rollout"},
	{"rollout-workload-generation.yaml", Progressing, "waiting for the rollout controller to observe generation 2 of the referenced workload"},
	{"rollout-legacy-healthy.yaml", Healthy, "3/3 replicas available"},
	{"rollout-legacy-paused.yaml", Suspended, "rollout is paused"},
	{"rollout-legacy-steps.yaml", Progressing, "1 old replicas pending termination"},
}

func TestAssess(t *testing.T) {
	for _, tt := range assessTests {
		t.Run(tt.file, func(t *testing.T) {
			got := Assess(loadFixture(t, tt.file))
			want := Result{Status: tt.want, Message: tt.msg}
			if got != want {
				t.Errorf("Assess(%s)\n got: %s\nwant: %s", tt.file, got, want)
			}
		})
	}
}

// TestEveryFixtureIsTested keeps testdata and the table in step: a fixture
// nobody asserts on is a branch nobody checks.
func TestEveryFixtureIsTested(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, tt := range assessTests {
		tested[tt.file] = true
	}
	for _, f := range files {
		if !tested[filepath.Base(f)] {
			t.Errorf("fixture %s has no row in assessTests", f)
		}
	}
	if len(files) != len(tested) {
		t.Errorf("%d fixtures on disk, %d in the table", len(files), len(tested))
	}
}

func TestAssessNil(t *testing.T) {
	got := Assess(nil)
	if got.Status != Missing {
		t.Errorf("Assess(nil) = %s, want Missing", got)
	}
}

func TestSummarize(t *testing.T) {
	web := object.ID{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web"}
	api := object.ID{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"}
	cm := object.ID{Kind: "ConfigMap", Namespace: "web", Name: "cfg"}
	for _, tc := range []struct {
		in   map[object.ID]Result
		want string
	}{
		{map[object.ID]Result{cm: {Status: Healthy}, web: {Status: Healthy, Message: "2/2 replicas available"}}, "Healthy: 2 objects healthy"},
		{map[object.ID]Result{cm: {Status: Healthy}, web: {Status: Progressing, Message: "1/2 replicas available"}},
			"Progressing: Deployment.apps/web/web: 1/2 replicas available"},
		// Equal statuses: the first by ID, whatever the map order.
		{map[object.ID]Result{web: {Status: Progressing, Message: "a"}, api: {Status: Progressing, Message: "b"}},
			"Progressing: Deployment.apps/web/api: b (and 1 more not healthy)"},
		{map[object.ID]Result{web: {Status: Progressing}, cm: {Status: Missing, Message: "not found"}},
			"Missing: ConfigMap/web/cfg: not found (and 1 more not healthy)"},
	} {
		for range 5 { // map order varies
			if got := Summarize(tc.in).String(); got != tc.want {
				t.Fatalf("Summarize(%v) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}
