package localfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// process is one run of a child process. Its output goes to a log file, and it dies with
// the fleet's process even when that one is killed without a chance to clean up.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func startProcess(name, binary, logDir string, args ...string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, binary, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// openLog opens a log for appending. A log left by an earlier fleet in the same folder is
// appended to only if it is the user's own regular file; it is made 0600 as well.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil {
		st, ok := info.Sys().(*syscall.Stat_t)
		switch {
		case !info.Mode().IsRegular():
			err = fmt.Errorf("%s is not a regular file: remove it", path)
		case !ok || int(st.Uid) != os.Geteuid():
			err = fmt.Errorf("%s is not yours: remove it", path)
		default:
			err = f.Chmod(0o600)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end, and kills it if it has not ended within the grace period.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill ends the process and its group at once, as a crash would, and waits for it.
func (p *process) kill() {
	if p == nil || p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// failure describes why a process that should be running is not, with the end of its log.
func (p *process) failure() error {
	tail, _ := tailFile(p.logPath, 2048)
	return fmt.Errorf("%s exited (%w); the end of %s:\n%s", p.name, p.err, p.logPath, tail)
}

// RestartPolicy says what a fleet does when a child process dies that nobody stopped.
type RestartPolicy struct {
	// MaxRestarts is how many times a child is restarted within Window. A child that dies
	// once more is not restarted: the fleet fails (Fleet.Failed). 0 never restarts.
	MaxRestarts int
	// Window is the period over which restarts are counted.
	Window time.Duration
}

// restartAllowed says whether a child that died at now may be restarted, given the times
// of its earlier restarts.
func restartAllowed(policy RestartPolicy, earlier []time.Time, now time.Time) bool {
	recent := 0
	for _, t := range earlier {
		if now.Sub(t) < policy.Window {
			recent++
		}
	}
	return recent < policy.MaxRestarts
}

// child is one child process the fleet runs, by name: etcd, an API server, a controller
// manager, a scheduler or kwok. It can start again with the same arguments, so that the
// supervisor can restart it after a crash, and a test can stop and start it on purpose.
type child struct {
	name   string
	binary string
	logDir string
	// args gives the arguments at each start; they may depend on a port chosen late.
	args func() []string
	// ready, when set, says whether a started process serves; a start waits for it.
	ready        func(context.Context) (bool, error)
	readyTimeout time.Duration
	stopGrace    time.Duration
	// needs are the children this one cannot work without: etcd for an API server, the
	// API server for its controller manager. A child that dies while one of them is away
	// (or has just come back) died of that, and is started again once it runs.
	needs []*child

	mu sync.Mutex
	// ended is when the child's last run ended, for whatever reason.
	ended time.Time
	proc  *process
	// starting is set while a start waits for the process to be ready: an exit then is the
	// start's failure, which the starter reports.
	starting bool
	// stopped is set by a stop on purpose and cleared by the next start: the exit of a
	// stopped child is no crash.
	stopped bool
	// stops counts the stops on purpose, so that a restart can tell that one came between.
	stops    int
	restarts []time.Time
}

// supervisor runs the fleet's children and watches them: a child that dies while nobody
// stopped it is restarted as its policy allows, or else the fleet fails with an error that
// names the child.
type supervisor struct {
	policy RestartPolicy
	log    io.Writer

	ctx    context.Context // cancelled when the fleet stops, ending restarts in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup // restarts in flight

	mu       sync.Mutex
	children []*child
	stopping bool
	failed   chan struct{}
	failure  error
}

func newSupervisor(policy RestartPolicy, log io.Writer) *supervisor {
	if log == nil {
		log = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &supervisor{policy: policy, log: log, ctx: ctx, cancel: cancel, failed: make(chan struct{})}
}

func (s *supervisor) add(c *child) *child {
	if c.stopGrace == 0 {
		c.stopGrace = stopGrace
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.children = append(s.children, c)
	return c
}

func (s *supervisor) child(name string) (*child, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, c := range s.children {
		if c.name == name {
			return c, nil
		}
		names = append(names, c.name)
	}
	return nil, fmt.Errorf("the fleet has no child process %q; it has %v", name, names)
}

func (s *supervisor) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.children))
	for i, c := range s.children {
		names[i] = c.name
	}
	return names
}

// start starts the child and waits until it is ready. It fails if the child runs already.
func (s *supervisor) start(ctx context.Context, c *child) error {
	c.mu.Lock()
	if c.proc != nil && !c.proc.exited() {
		c.mu.Unlock()
		return fmt.Errorf("%s is already running", c.name)
	}
	p, err := startProcess(c.name, c.binary, c.logDir, c.args()...)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.proc, c.starting, c.stopped = p, true, false
	c.mu.Unlock()
	go s.watch(c, p)

	if c.ready != nil {
		err = poll(ctx, p, c.readyTimeout, c.name+" to be ready", c.ready)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.starting = false
	if err == nil && p.exited() {
		err = p.failure()
	}
	if err != nil {
		// Not ready is not running: stop it as on purpose, so that nobody restarts it.
		c.stopped = true
		go p.stop(c.stopGrace)
	}
	return err
}

// stop ends the child on purpose: with SIGTERM and a grace period, or at once with kill.
func (s *supervisor) stop(c *child, kill bool) {
	c.mu.Lock()
	c.stopped = true
	c.stops++
	p := c.proc
	c.mu.Unlock()
	if kill {
		p.kill()
	} else {
		p.stop(c.stopGrace)
	}
}

// watch waits for one run of a child to end, and handles the end if it is a crash.
func (s *supervisor) watch(c *child, p *process) {
	<-p.done
	now := time.Now()
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	c.mu.Lock()
	c.ended = now
	crashed := !stopping && c.proc == p && !c.starting && !c.stopped
	c.mu.Unlock()
	if crashed {
		if need, away := c.needAway(now); away {
			s.restartAfterNeed(c, p, need)
			return
		}
	}
	c.mu.Lock()
	restart := crashed && restartAllowed(s.policy, c.restarts, now)
	stopsBefore := c.stops
	if restart {
		c.restarts = append(c.restarts, time.Now())
		s.wg.Add(1)
	}
	c.mu.Unlock()
	if !crashed {
		return
	}
	err := p.failure()
	if !restart {
		s.fail(fmt.Errorf("child process %s died and is not restarted: %w", c.name, err))
		return
	}
	fmt.Fprintf(s.log, "%s died (%v); restarting it (log: %s)\n", c.name, p.err, p.logPath)
	go func() {
		defer s.wg.Done()
		if err := s.start(s.ctx, c); err != nil {
			// A stop on purpose during the restart (a test killing it again) is no failure.
			if s.ctx.Err() == nil && !c.stoppedSince(stopsBefore) {
				s.fail(fmt.Errorf("child process %s died and did not start again: %w", c.name, err))
			}
			return
		}
		fmt.Fprintf(s.log, "%s runs again\n", c.name)
	}()
}

// needGrace is how long after a needed child came back a death still counts as caused by
// its absence: clients notice a lost server only after their own timeouts.
const needGrace = 2 * time.Minute

// needAway names a child this one needs, directly or not, that is not running now or ended
// within needGrace of now.
func (c *child) needAway(now time.Time) (string, bool) {
	for _, n := range c.needs {
		n.mu.Lock()
		down := n.proc == nil || n.proc.exited() || (!n.ended.IsZero() && now.Sub(n.ended) < needGrace)
		n.mu.Unlock()
		if down {
			return n.name, true
		}
		if name, away := n.needAway(now); away {
			return name, true
		}
	}
	return "", false
}

// needsRunning reports whether every child c needs, directly or not, runs.
func (c *child) needsRunning() bool {
	for _, n := range c.needs {
		if !n.running() || !n.needsRunning() {
			return false
		}
	}
	return true
}

// restartAfterNeed starts a child that died while a child it needs was away, once that one
// runs again. Such a death is no crash of its own: it does not count against the restart
// policy. A start that fails is tried again a few times, waiting for the needs each time.
func (s *supervisor) restartAfterNeed(c *child, p *process, need string) {
	fmt.Fprintf(s.log, "%s exited (%v) while %s was away or had just come back; it starts again once %s runs (log: %s)\n",
		c.name, p.err, need, need, p.logPath)
	c.mu.Lock()
	stopsBefore := c.stops
	c.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var err error
		backoff := time.Second
		for attempt := 0; attempt < needRestartAttempts; attempt++ {
			if !pollUntil(s.ctx, c.needsRunning) {
				return
			}
			if c.stoppedSince(stopsBefore) || c.running() {
				return // someone stopped it, or started it, in the meantime
			}
			if err = s.start(s.ctx, c); err == nil {
				fmt.Fprintf(s.log, "%s runs again\n", c.name)
				return
			}
			if s.ctx.Err() != nil {
				return
			}
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		if !c.stoppedSince(stopsBefore) {
			s.fail(fmt.Errorf("child process %s died while %s was away and did not start again: %w", c.name, need, err))
		}
	}()
}

// needRestartAttempts bounds the starts of a child that died of a needed child's absence.
const needRestartAttempts = 5

// pollUntil polls cond until it holds (true) or ctx ends (false).
func pollUntil(ctx context.Context, cond func() bool) bool {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-ticker.C:
		}
	}
	return true
}

// fail records the first failure and closes the failed channel.
func (s *supervisor) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure != nil || s.stopping {
		return
	}
	s.failure = err
	fmt.Fprintln(s.log, err)
	close(s.failed)
}

// shutdown stops watching: from now on no exit is a crash, and restarts in flight end.
func (s *supervisor) shutdown() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// pid returns the process id of the child's current run, if it runs.
func (c *child) pid() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil || c.proc.exited() {
		return 0, false
	}
	return c.proc.cmd.Process.Pid, true
}

// stoppedSince says whether the child was stopped on purpose since its stop count was stops.
func (c *child) stoppedSince(stops int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stops != stops
}

func (c *child) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proc != nil && !c.proc.exited()
}

func tailFile(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := info.Size() - n
	if off < 0 {
		off = 0
	}
	buf := make([]byte, info.Size()-off)
	_, err = f.ReadAt(buf, off)
	return string(buf), err
}

// freePort asks the kernel for an unused loopback port. Another process could take it before
// we bind it; the callers retry a start that fails.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// poll calls check until it returns true, an error, the process exits, or the deadline passes.
func poll(ctx context.Context, p *process, timeout time.Duration, what string, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var lastErr error
	for {
		ok, err := check(ctx)
		if ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		if p != nil && p.exited() {
			return p.failure()
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("timed out after %s waiting for %s", timeout, what)
			if lastErr != nil {
				msg += ": " + lastErr.Error()
			}
			if p != nil {
				msg += " (log: " + p.logPath + ")"
			}
			return errors.New(msg)
		case <-ticker.C:
		}
	}
}
