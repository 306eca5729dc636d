package supervise

import (
	"log/slog"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/kube"
)

// The machine's vocabulary: what happens to it (events, which the
// supervisor feeds to step) and what step asks the supervisor to do
// (actions).

// event is something that happened.
type event interface{ isEvent() }

type (
	signalReceived struct{ sig unix.Signal } // from anyone but the reaper's doorbell
	workloadExited struct {                  // the reaper collected the workload's status
		status    unix.WaitStatus
		remaining bool // other children are still there to be reaped
	}
	workloadStopped struct{ sig unix.Signal } // job-control stop of the workload
	noChildrenLeft  struct{}                  // wait4 has nobody left to report
	timerFired      struct{}                  // the time machine.wake asked for has come
	treeSignalled   struct {                  // the answer to signalTree
		sig   unix.Signal
		count int
		reach reach
	}
	fileWritten struct { // the answer to writeFile
		err     error
		rewrite bool
	}
	podRead struct { // the answer to readPod, or the read at start
		pod       kube.Pod
		err       error
		atTrigger bool
		final     bool // no more answers to this read follow; an error before this is a first failure
		retried   bool // the read succeeded after failures
		lasting   bool // err is an answer asking again would not change (403, 404): not retried
	}
	annotated struct { // the answer to writeAnnotations
		busy       bool
		err        error
		controller string // the owner that controls the pod as patched, "" for none (shutdown_labels.go)
	}
	busyChanged struct { // the busy lock was taken or released, or its file replaced
		busy bool
		note string
	}
	trafficSeen struct { // a sample of the workload's TCP sockets, while a drain watches them
		listening   bool      // the workload listens on a TCP port now
		watched     bool      // it listened on one since the watch began: its connections are followed
		open        int       // its connections on those ports, accepted before or after a listener closed
		busy        int       // of them, those whose exchange is unfinished (exchangeUnfinished)
		lastTraffic time.Time // the last new connection or data received on those ports
		lastNew     time.Time // the last new connection
		namespace   bool      // some of the workload's processes could not be read: the namespace's sockets were counted
		unreadable  unreadable
		err         error // the sockets could not be read
	}
	requestDone struct { // the answer to request: how a drain request ended
		req    drain.Request
		result string // "exit 0", "200 OK", "written"
		err    error
	}
	requestRetrying struct { // a drain request under way could not be delivered yet, and is tried again; told again only when the error changes
		req drain.Request
		err error
	}
	lockClaimed struct{ note string } // the first answer to takeLock: no task can start any more
	lockTaken   struct{ err error }   // the last answer to takeLock: drainit holds the busy lock
	unreadable  struct {              // processes of the workload whose sockets drainit may not read, not told before
		who []string // "nginx (pid 12, user www-data)"
		why string   // "drainit lacks CAP_SYS_PTRACE …"
	}
)

func (signalReceived) isEvent()  {}
func (workloadExited) isEvent()  {}
func (workloadStopped) isEvent() {}
func (noChildrenLeft) isEvent()  {}
func (timerFired) isEvent()      {}
func (treeSignalled) isEvent()   {}
func (fileWritten) isEvent()     {}
func (podRead) isEvent()         {}
func (busyChanged) isEvent()     {}
func (annotated) isEvent()       {}
func (lockTaken) isEvent()       {}
func (lockClaimed) isEvent()     {}
func (requestDone) isEvent()     {}
func (requestRetrying) isEvent() {}
func (trafficSeen) isEvent()     {}
func (unreadable) isEvent()      {}

// action is something for the supervisor to do.
type action interface{ isAction() }

type (
	forward   struct{ received, sent unix.Signal } // send sent to the workload (its group with -g)
	send      struct{ sig unix.Signal }            // a drain step: the drain signal or an escalation
	writeFile struct {                             // write the drain file; answer fileWritten
		deadline time.Time
		rewrite  bool // the deadline moved: the file is there already
	}
	readPod      struct{ until time.Time } // read the pod off the loop, retrying until then; answer podRead
	watchTraffic struct{}                  // sample the workload's TCP sockets off the loop while the drain lasts; answers trafficSeen
	request      struct {                  // carry out a drain request off the loop, until the deadline; answer requestDone
		req      drain.Request
		deadline time.Time
	}
	takeLock         struct{} // wait for the busy lock off the loop, and keep it; answer lockTaken
	writeAnnotations struct { // patch the pod's annotations off the loop; answer annotated
		busy       bool
		labelsIdle bool // the labels at their idle value whatever busy says (shutdown_labels.go)
	}
	signalTree struct { // signal every process drainit answers for; answer treeSignalled
		sig   unix.Signal
		group bool  // the workload's group may be used: it is not reaped yet, so its number is not reused
		reach reach // all of them, or all but the drain commands, or only those
	}
	provisional struct { // the record of a drain under way: the termination log's line until the summary replaces it
		what, who string // "draining since …, deadline … (deletion)"; who would have killed first if no summary follows
	}
	postEvent struct { // post an Event on the pod off the loop, bounded; a failure is one warning
		ev  kube.Event
		uid string // the pod's, when a read told it
	}
	resume   struct{} // job control: hand the terminal on if drainit holds it, continue the workload
	stopSelf struct{} // job control: stop with the workload so the shell sees the job stop
	logLine  struct { // one log line
		level slog.Level
		msg   string
		args  []any
	}
	progressLine struct { // count what is alive and log it
		traffic  string // "2 open, 1 busy, last accepted in the network namespace 2.1s ago", or "" when the drain does not watch the sockets
		left     time.Duration
		busy     string // "task in flight for 12s", "idle", or "" without a busy file
		delaying bool   // the drain delay lasts: nothing has been asked yet
	}
	exit struct { // the end: log and record summary, exit with code
		code    int
		summary string
	}
)

func (forward) isAction()          {}
func (send) isAction()             {}
func (writeFile) isAction()        {}
func (readPod) isAction()          {}
func (request) isAction()          {}
func (watchTraffic) isAction()     {}
func (takeLock) isAction()         {}
func (writeAnnotations) isAction() {}
func (signalTree) isAction()       {}
func (resume) isAction()           {}
func (provisional) isAction()      {}
func (postEvent) isAction()        {}
func (stopSelf) isAction()         {}
func (logLine) isAction()          {}
func (progressLine) isAction()     {}
func (exit) isAction()             {}
