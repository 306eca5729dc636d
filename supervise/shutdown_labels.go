package supervise

// The busy labels' guard: a label a Service selects on must not be one
// the pod's controller selects on too. A ReplicaSet whose selector has
// the busy label lets a busy pod go (it no longer matches) and makes
// another in its place; drainit cannot read the selector without more
// RBAC, but the answer to its own patch says who controls the pod, and
// once its controller has let go, drainit keeps the labels at their idle
// value (which the selector matches: the controller adopts the pod again)
// and says why.

import (
	"log/slog"

	"github.com/drainit/drainit/kube"
)

// labelGuard is what the guard knows.
type labelGuard struct {
	controller string // the owner that controlled the pod at the read at start; "" when none or not read
	off        bool   // the labels stay at their idle value from now on
}

// read takes the controller from the read at start.
func (g *labelGuard) read(e podRead) {
	if !e.atTrigger && e.err == nil && g.controller == "" {
		g.controller = e.pod.Controller
	}
}

// controllerKept looks at the answer to a write: a pod whose controller
// let it go after drainit changed its labels is one whose controller
// selects on them.
func (m *machine) controllerKept(e annotated) []action {
	if !m.busyLabels || m.labels.off || m.labels.controller == "" || e.controller != "" {
		return nil
	}
	m.labels.off = true
	acts := []action{logAt(slog.LevelError, "the pod's controller let it go after drainit changed its --busy-label: its selector has that label; "+
		"drainit keeps the label at its idle value from now on, and the controller takes the pod back",
		"controller", m.labels.controller, "hint", "the Service's selector has the busy label, the Deployment's must not")}
	if e.busy {
		// The label says busy now: write it idle at once.
		m.written = writtenNothing
	}
	return acts
}

// labelsIdle is anns with every label at its idle value.
func labelsIdle(anns []kube.Annotation) []kube.Annotation {
	out := make([]kube.Annotation, len(anns))
	for i, a := range anns {
		if a.Label {
			a.Busy = a.Idle
		}
		out[i] = a
	}
	return out
}
