package v1alpha1

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

//go:embed crd.yaml
var crdYAML []byte

// CRD returns the Application CustomResourceDefinition.
func CRD() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(crdYAML, &u.Object); err != nil {
		panic(fmt.Sprintf("embedded CRD: %v", err)) // a build defect, caught by tests
	}
	return u
}

// FromUnstructured converts a live or parsed object into an Application.
func FromUnstructured(u *unstructured.Unstructured) (*Application, error) {
	app := &Application{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, app); err != nil {
		return nil, fmt.Errorf("application %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	return app, nil
}

// ToUnstructured converts an Application for the dynamic client.
func ToUnstructured(app *Application) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(Group + "/" + Version)
	u.SetKind(Kind)
	return u, nil
}

// Condition types and reasons (kstatus conventions: Ready, Reconciling, Stalled).
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionPinned is True while spec.pin holds the app at a revision.
	ConditionPinned = "Pinned"
)

// SetCondition adds or replaces a condition, keeping LastTransitionTime
// when the status did not change.
func (s *ApplicationStatus) SetCondition(c metav1.Condition) {
	for i, old := range s.Conditions {
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		s.Conditions[i] = c
		return
	}
	s.Conditions = append(s.Conditions, c)
}

// Condition returns the condition of a type, or nil.
func (s *ApplicationStatus) Condition(typ string) *metav1.Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// DeepCopy copies the status through JSON (no generated code; the status
// is small and copied once per sync).
func (s *ApplicationStatus) DeepCopy() *ApplicationStatus {
	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("status: %v", err)) // plain data: cannot fail
	}
	out := &ApplicationStatus{}
	if err := json.Unmarshal(data, out); err != nil {
		panic(fmt.Sprintf("status: %v", err))
	}
	return out
}

// DisplayURL is the repository URL with its credentials hidden, for
// anything shown to people (API, UI, CLI): in an HTTP(S) URL a user name
// alone can be a token (https://TOKEN@github.com/…), and any password is
// one. SSH user names such as "git" are kept.
func (s Source) DisplayURL() string {
	u, err := url.Parse(s.RepoURL)
	if err != nil || u.User == nil {
		return s.RepoURL
	}
	_, hasPassword := u.User.Password()
	if !hasPassword && u.Scheme != "http" && u.Scheme != "https" {
		return s.RepoURL
	}
	u.User = url.User("redacted")
	return u.String()
}
