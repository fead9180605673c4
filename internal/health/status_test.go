package health

import (
	"encoding/json"
	"testing"
)

func TestStatusOrder(t *testing.T) {
	order := []Status{Healthy, Suspended, Progressing, Unknown, Missing, Degraded}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("%s >= %s, want it less severe", order[i-1], order[i])
		}
	}
	if got := Status(0); got != Healthy {
		t.Errorf("zero Status = %s, want Healthy (the identity of Worst)", got)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{
		Healthy: "Healthy", Suspended: "Suspended", Progressing: "Progressing",
		Unknown: "Unknown", Missing: "Missing", Degraded: "Degraded", Status(42): "Status(42)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestResultJSON(t *testing.T) {
	in := Result{Status: Progressing, Message: "1/2 replicas available"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"status":"Progressing","message":"1/2 replicas available"}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	var out Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %v, want %v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"status":"Fine"}`), &out); err == nil {
		t.Error("unmarshal of unknown status: no error")
	}
	if _, err := json.Marshal(Result{Status: Status(-1)}); err == nil {
		t.Error("marshal of out-of-range status: no error")
	}
}

func TestWorst(t *testing.T) {
	progressingA := Result{Status: Progressing, Message: "a"}
	progressingB := Result{Status: Progressing, Message: "b"}
	degradedPod := Result{Status: Degraded, Message: "container web: CrashLoopBackOff"}
	tests := []struct {
		name string
		in   []Result
		want Result
	}{
		{"none is healthy", nil, Result{}},
		{"one", []Result{progressingA}, progressingA},
		{"first of equals", []Result{progressingA, progressingB}, progressingA},
		{"degraded beats missing", []Result{{Status: Missing}, degradedPod, {Status: Healthy}}, degradedPod},
		{"suspended beats healthy", []Result{{Status: Healthy}, {Status: Suspended}}, Result{Status: Suspended}},
		{"unknown beats progressing", []Result{progressingA, {Status: Unknown}}, Result{Status: Unknown}},
	}
	for _, tt := range tests {
		if got := Worst(tt.in...); got != tt.want {
			t.Errorf("%s: Worst = %v, want %v", tt.name, got, tt.want)
		}
	}
}
