package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Profile selects which components run.
type Profile string

const (
	// APIServer runs etcd and kube-apiserver: objects are stored and
	// validated, but no controller acts on them. Ready in about 2 s.
	APIServer Profile = "apiserver"
	// Full adds kube-controller-manager, kube-scheduler and kwok with fake
	// nodes, so Deployments roll out and Pods become Ready.
	Full Profile = "full"
)

// Options configures Start.
type Options struct {
	Profile Profile
	// Dir holds certificates, data and logs; a new temporary directory
	// (removed by Stop) when empty.
	Dir string
	// Nodes is the number of fake nodes in the Full profile (default 1).
	Nodes int
	// Detach leaves the processes running when this process exits
	// (make cluster-up); otherwise they die with it.
	Detach bool
	// Log receives build output (default io.Discard).
	Log io.Writer
	// Timeout bounds the wait for readiness (default 60 s).
	Timeout time.Duration
	// NodeLeaseDuration is the Lease kwok holds for each fake node in the
	// Full profile and renews every quarter of it, as the kubelet does
	// (default 40 s, the kubelet's and kwokctl's). The lease is the node's
	// heartbeat: without one kube-controller-manager marked the node
	// NotReady after NodeMonitorGracePeriod (issue 8).
	NodeLeaseDuration time.Duration
	// NodeMonitorGracePeriod is how long kube-controller-manager lets a
	// node go without a heartbeat before it marks it NotReady (default: its
	// own, 50 s). Setting it also checks the nodes every eighth of it
	// (within 1–5 s), so a missed heartbeat shows within seconds in a test.
	NodeMonitorGracePeriod time.Duration
}

// ControlPlane is a running local control plane.
type ControlPlane struct {
	Profile    Profile
	Dir        string
	Kubeconfig string
	Host       string // https://127.0.0.1:PORT
	token      string
	caPEM      []byte
	procs      []*process
	ownDir     bool
}

// Start builds the binaries if needed and starts a control plane; it
// returns once the API server (and, for Full, the fake nodes) are ready.
// On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	if opts.Profile == "" {
		opts.Profile = APIServer
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 1
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.NodeLeaseDuration <= 0 {
		opts.NodeLeaseDuration = 40 * time.Second
	}
	bin, err := BinDir(ctx, opts.Log)
	if err != nil {
		return nil, err
	}
	cp = &ControlPlane{Profile: opts.Profile, Dir: opts.Dir}
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "tether-testenv-"); err != nil {
			return nil, err
		}
		cp.ownDir = true
	}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := cp.startAPIServer(ctx, bin, opts.Detach); err != nil {
		return cp, err
	}
	if opts.Profile == Full {
		if err := cp.startControllers(ctx, bin, opts); err != nil {
			return cp, err
		}
	}
	return cp, nil
}

func (cp *ControlPlane) startAPIServer(ctx context.Context, bin string, detach bool) error {
	p, err := newPKI(cp.Dir)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	cp.caPEM = p.caCert
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	tok := make([]byte, 16)
	rand.Read(tok)
	cp.token = hex.EncodeToString(tok)
	tokens := filepath.Join(cp.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(cp.token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	etcd, err := startProcess("etcd", filepath.Join(bin, "etcd"), []string{
		"--data-dir=" + filepath.Join(cp.Dir, "etcd"),
		"--listen-client-url=" + etcdURL,
		"--listen-peer-url=http://127.0.0.1:" + strconv.Itoa(peerPort),
	}, cp.Dir, detach)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, etcd)
	cp.Host = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	api, err := startProcess("kube-apiserver", filepath.Join(bin, "kube-apiserver"), []string{
		"--etcd-servers=" + etcdURL,
		"--secure-port=" + strconv.Itoa(apiPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// A loopback advertise address is refused by the endpoint reconciler;
		// nothing here needs the kubernetes Service's endpoints.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(cp.Dir, "certs"),
		"--tls-cert-file=" + p.serverCert,
		"--tls-private-key-file=" + p.serverKey,
		"--client-ca-file=" + p.caFile,
		"--service-account-key-file=" + p.saPub,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--profiling=false",
	}, cp.Dir, detach)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, api)
	if err := cp.writeKubeconfig(); err != nil {
		return err
	}
	hc, err := rest.HTTPClientFor(cp.RESTConfig())
	if err != nil {
		return err
	}
	err = poll(ctx, 100*time.Millisecond, cp.procs, func(ctx context.Context) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cp.Host+"/readyz", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready: %w", err)
	}
	return nil
}

func (cp *ControlPlane) startControllers(ctx context.Context, bin string, opts Options) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	sa := filepath.Join(cp.Dir, "sa.key")
	specs := []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", append([]string{
			"--kubeconfig=" + cp.Kubeconfig,
			"--authentication-kubeconfig=" + cp.Kubeconfig,
			"--authorization-kubeconfig=" + cp.Kubeconfig,
			// node-ipam needs a cluster CIDR we do not have; node-lifecycle
			// must stay: it removes the not-ready taint from fake nodes.
			"--controllers=*,-node-ipam-controller",
			"--leader-elect=false",
			"--service-account-private-key-file=" + sa,
			"--root-ca-file=" + filepath.Join(cp.Dir, "ca.crt"),
			"--use-service-account-credentials=false",
			"--bind-address=127.0.0.1",
			"--secure-port=0",
		}, nodeMonitorArgs(opts.NodeMonitorGracePeriod)...)},
		{"kube-scheduler", []string{
			"--kubeconfig=" + cp.Kubeconfig,
			"--authentication-kubeconfig=" + cp.Kubeconfig,
			"--authorization-kubeconfig=" + cp.Kubeconfig,
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=0",
		}},
		{"kwok", []string{
			"--kubeconfig=" + cp.Kubeconfig,
			"--config=" + stagesFile(bin),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--node-ip=127.0.0.1",
			// The node-heartbeat-with-lease stage posts node status only
			// every 10–20 minutes, as a kubelet with a lease does; the
			// lease is the heartbeat the node-lifecycle controller watches.
			"--node-lease-duration-seconds=" + leaseSeconds(opts.NodeLeaseDuration),
			"--server-address=127.0.0.1:" + strconv.Itoa(ports[0]),
		}},
	}
	for _, s := range specs {
		p, err := startProcess(s.name, filepath.Join(bin, s.name), s.args, cp.Dir, opts.Detach)
		if err != nil {
			return err
		}
		cp.procs = append(cp.procs, p)
	}
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		return err
	}
	for i := range opts.Nodes {
		if _, err := cs.CoreV1().Nodes().Create(ctx, fakeNode(fmt.Sprintf("fake-node-%d", i)), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create fake node: %w", err)
		}
	}
	err = poll(ctx, 200*time.Millisecond, cp.procs, func(ctx context.Context) bool {
		return nodesReady(ctx, cs, opts.Nodes) && defaultSAExists(ctx, cs)
	})
	if err != nil {
		return fmt.Errorf("full control plane not ready: %w", err)
	}
	return nil
}

// nodeMonitorArgs are kube-controller-manager's node-lifecycle flags for a
// grace period (none for the default).
func nodeMonitorArgs(grace time.Duration) []string {
	if grace <= 0 {
		return nil
	}
	period := min(max(grace/8, time.Second), 5*time.Second)
	return []string{"--node-monitor-grace-period=" + grace.String(), "--node-monitor-period=" + period.String()}
}

// leaseSeconds is kwok's --node-lease-duration-seconds for d: whole
// seconds, at least 1 (0 would turn the lease off).
func leaseSeconds(d time.Duration) string {
	return strconv.Itoa(int(max(d.Round(time.Second)/time.Second, 1)))
}

// fakeNode is a Node that kwok manages (by its annotation) and makes Ready.
func fakeNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "type": "kwok",
			},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
				corev1.ResourcePods: resource.MustParse("110"),
			},
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
				corev1.ResourcePods: resource.MustParse("110"),
			},
		},
	}
}

func nodesReady(ctx context.Context, cs kubernetes.Interface, want int) bool {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && len(n.Spec.Taints) == 0 {
				ready++
			}
		}
	}
	return ready >= want
}

func defaultSAExists(ctx context.Context, cs kubernetes.Interface) bool {
	_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	return err == nil
}

// RESTConfig returns an admin client configuration with client-go's rate
// limiter turned up (the default 5 QPS would dominate every test).
func (cp *ControlPlane) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            cp.Host,
		BearerToken:     cp.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.caPEM},
		QPS:             200,
		Burst:           400,
	}
}

func (cp *ControlPlane) writeKubeconfig() error {
	cp.Kubeconfig = filepath.Join(cp.Dir, "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["tether-local"] = &clientcmdapi.Cluster{Server: cp.Host, CertificateAuthorityData: cp.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: cp.token}
	cfg.Contexts["tether-local"] = &clientcmdapi.Context{Cluster: "tether-local", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "tether-local"
	return clientcmd.WriteToFile(*cfg, cp.Kubeconfig)
}

// PIDs returns the process IDs (and process-group IDs) of the components.
func (cp *ControlPlane) PIDs() []int {
	var pids []int
	for _, p := range cp.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

// Stop stops every component (controllers first, etcd last) and removes
// the directory if Start created it.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop(5 * time.Second)
	}
	cp.procs = nil
	if cp.ownDir {
		os.RemoveAll(cp.Dir)
	}
}

// Token returns the admin bearer token (for state files and kubeconfigs).
func (cp *ControlPlane) Token() string { return cp.token }
