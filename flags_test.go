package main

// Unit tests of the command line's flags (flags.go): what kubectl drainit
// inject, the README and the help page say of them. The end-to-end tests,
// which run the built binary, are in integration/.

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/drainit/drainit/internal/early"
	"github.com/drainit/drainit/supervise"
)

func TestMain(m *testing.M) {
	// The test binary links internal/early, whose init subscribes to every
	// signal drainit acts on: the tests are not drainit, and keep Go's
	// default handling (go test's own TERM and INT stop them).
	early.Unsubscribe()
	os.Exit(m.Run())
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// helpPage is what drainit --help prints: the command line's own app,
// run with --help, as run runs it (groups kept).
func helpPage(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	app := newApp(func(supervise.Config) {}, new(string))
	app.Writer, app.ErrWriter = &out, &out
	if err := app.Run([]string{"drainit", "--help"}); err != nil {
		t.Fatalf("drainit --help: %v\n%s", err, out.Bytes())
	}
	return out.Bytes()
}

// kubectl drainit inject turns a pod template's drainit.dev/OPTION
// annotations into drainit's variables: its list of options (in its own
// module, which cannot import this one) is drainit's flags, but for
// --copy-to, which its init container runs and no annotation should.
func TestInjectKnowsEveryOption(t *testing.T) {
	src := string(mustRead(t, "cmd/kubectl-drainit/inject/env.go"))
	_, list, ok := strings.Cut(src, "var annotationOptions = []string{")
	list, _, _ = strings.Cut(list, "}")
	if !ok {
		t.Fatal("cmd/kubectl-drainit/inject/env.go has no annotationOptions list")
	}
	var known []string
	for _, q := range strings.Split(list, ",") {
		if q = strings.Trim(strings.TrimSpace(q), `"`); q != "" {
			known = append(known, q)
		}
	}
	var flags []string
	for _, f := range newApp(func(supervise.Config) {}, new(string)).Flags {
		if name := f.Names()[0]; name != "copy-to" {
			flags = append(flags, name)
		}
	}
	slices.Sort(known)
	slices.Sort(flags)
	if !slices.Equal(known, flags) {
		t.Errorf("kubectl drainit inject knows the options %q, drainit has %q", known, flags)
	}
	// The kinds of value inject checks: each as drainit's flag takes it.
	_, table, ok := strings.Cut(src, "var optionKinds = map[string]string{")
	table, _, _ = strings.Cut(table, "}")
	if !ok {
		t.Fatal("cmd/kubectl-drainit/inject/env.go has no optionKinds table")
	}
	kinds := map[string]string{}
	for _, m := range regexp.MustCompile(`"([a-z-]+)": kind(\w+)`).FindAllStringSubmatch(table, -1) {
		kinds[m[1]] = strings.ToLower(m[2])
	}
	for _, f := range newApp(func(supervise.Config) {}, new(string)).Flags {
		name := f.Names()[0]
		if name == "copy-to" {
			continue
		}
		if want := flagKind(f); kinds[name] != want {
			t.Errorf("inject checks drainit.dev/%s as %q, drainit's --%s (%T) takes %q", name, kinds[name], name, f, want)
		}
		delete(kinds, name)
	}
	for name := range kinds {
		t.Errorf("inject checks drainit.dev/%s, which drainit does not have", name)
	}
}

// flagKind is the kind of value inject checks for a flag of drainit's:
// a switch for a BoolFlag, a duration for a flag of a DURATION, a signal
// for one of a SIGNAL, signals for a repeatable one of a SIGNAL; "" (any
// value) for every other.
func flagKind(f cli.Flag) string {
	// The value's name in the help, as urfave/cli takes it: the first
	// word of the usage in back quotes.
	placeholder := ""
	if m := regexp.MustCompile("`([^`]*)`").FindStringSubmatch(f.(cli.DocGenerationFlag).GetUsage()); m != nil {
		placeholder = m[1]
	}
	switch f.(type) {
	case boolFlag:
		return "switch"
	case stringFlag:
		switch placeholder {
		case "SIGNAL":
			return "signal"
		case "DURATION":
			return "duration"
		}
	case stringSliceFlag:
		if placeholder == "SIGNAL" {
			return "signals"
		}
	}
	return ""
}

// Every option has its DRAINIT_* variable and a group on the help page, and
// the README documents it with its variable.
func TestEveryOptionHasAVariableAGroupAndAREADMERow(t *testing.T) {
	app := newApp(func(supervise.Config) {}, new(string))
	readme := string(mustRead(t, "README.md"))
	for _, f := range app.Flags {
		name := f.Names()[0]
		env := f.(cli.DocGenerationFlag).GetEnvVars()
		want := "DRAINIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if !slices.Equal(env, []string{want}) {
			t.Errorf("--%s reads %v, want %s", name, env, want)
		}
		if cat := f.(cli.CategorizableFlag).GetCategory(); !slices.Contains(groups, cat) {
			t.Errorf("--%s is in group %q, want one of %q", name, cat, groups)
		}
		if !strings.Contains(readme, "`--"+name) || !strings.Contains(readme, "`"+want+"`") {
			t.Errorf("README.md lacks --%s with %s", name, want)
		}
	}
	// The groups come in the README's order, on the help page and in the
	// README's tables, and the help page leaves no option out.
	out := helpPage(t)
	help, last, lastReadme := string(out), -1, -1
	for _, g := range groups {
		i := strings.Index(help, "   "+g+"\n")
		if i < 0 || i < last {
			t.Errorf("drainit --help lacks the group %q or has it out of the README's order %q:\n%s", g, groups, out)
		}
		last = i
		j := strings.Index(readme, "**"+strings.ToUpper(g[:1])+g[1:]+"**")
		if j < 0 || j < lastReadme {
			t.Errorf("README.md lacks the table heading for %q or has it out of order %q", g, groups)
		}
		lastReadme = j
	}
	for _, f := range app.Flags {
		if !strings.Contains(help, "--"+f.Names()[0]+" ") && !strings.Contains(help, "--"+f.Names()[0]+",") {
			t.Errorf("drainit --help leaves out --%s", f.Names()[0])
		}
	}
}

// Where a usage error is recorded when the flag parser itself failed: the
// command line read without it, up to the workload.
func TestTerminationLogArg(t *testing.T) {
	flags := newApp(func(supervise.Config) {}, new(string)).Flags
	t.Setenv("DRAINIT_TERMINATION_LOG", "/env/log")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--termination-log", "/a", "--bogus"}, "/a"},
		{[]string{"--bogus", "--termination-log=/b"}, "/b"},
		{[]string{"-g", "--termination-log", "/c"}, "/c"},                           // a boolean takes no value
		{[]string{"--grace", "--termination-log", "--termination-log", "/d"}, "/d"}, // a value that looks like a flag
		{[]string{"--", "worker", "--termination-log", "/e"}, "/env/log"},           // the workload's own options
		{[]string{"worker", "--termination-log", "/e"}, "/env/log"},
	} {
		if got := terminationLogArg(flags, tc.args); got != tc.want {
			t.Errorf("terminationLogArg(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	os.Unsetenv("DRAINIT_TERMINATION_LOG")
	if got := terminationLogArg(flags, nil); got != "auto" {
		t.Errorf("with nothing given: %q, want auto", got)
	}
}
