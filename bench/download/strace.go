package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tracedCalls are the system calls that move content and requests: with
// sendfile the file's bytes never pass through the server's memory.
var tracedCalls = []string{"sendfile", "read", "write", "writev", "pread64", "pwrite64", "copy_file_range", "splice"}

// straceResult is one traced run: the calls of the server, per answer.
type straceResult struct {
	size, server, path string
	answers            int64
	calls              map[string]int64
}

// traceSyscalls drives each size, server and path once for --duration
// with strace -f -c attached to the server, and counts the calls.
func traceSyscalls(c config, work string, baseline *process, targets []*target, paths []string) ([]straceResult, error) {
	if _, err := exec.LookPath("strace"); err != nil {
		return nil, fmt.Errorf("--strace: %w (apt-get install -y strace)", err)
	}
	var out []straceResult
	for _, sz := range sizes {
		one := func(server, path string, proc *process, p probe) (int64, error) {
			fmt.Fprintf(os.Stderr, "strace  %-6s %-10s %-9s…\n", sz.name, server, path)
			file := filepath.Join(work, "strace.out")
			os.Remove(file)
			cmd := exec.Command("strace", "-f", "-c", "-o", file, "-e", "trace="+strings.Join(tracedCalls, ","),
				"-p", strconv.Itoa(proc.cmd.Process.Pid))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			if err := waitTraced(proc.cmd.Process.Pid, 10*time.Second); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				return 0, fmt.Errorf("strace: %w\n%s", err, stderr.String())
			}
			_, answers, err := drive(p, sz.n, c.clients, c.duration)
			cmd.Process.Signal(os.Interrupt)
			if werr := cmd.Wait(); err == nil && werr != nil && !strings.Contains(werr.Error(), "interrupt") {
				err = fmt.Errorf("strace: %v\n%s", werr, stderr.String())
			}
			if err != nil {
				return answers, err
			}
			calls, err := parseStraceSummary(file)
			if err != nil {
				return answers, err
			}
			out = append(out, straceResult{size: sz.name, server: server, path: path, answers: answers, calls: calls})
			return answers, nil
		}
		if _, err := one("baseline", "baseline", baseline, probe{url: baseline.base + "/f/" + fileName(sz.name)}); err != nil {
			return nil, err
		}
		for _, t := range targets {
			for _, p := range paths {
				n, err := one(t.name, p, t.srv, t.probes[p][sz.name])
				t.counted.Add(n)
				if err != nil {
					return nil, fmt.Errorf("strace %s %s %s: %w", sz.name, t.name, p, err)
				}
			}
		}
	}
	return out, nil
}

// waitTraced waits until every thread of pid has a tracer.
func waitTraced(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
		if err != nil || len(tasks) == 0 {
			return fmt.Errorf("no threads of %d in /proc", pid)
		}
		all := true
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			_, v, _ := strings.Cut(string(b), "TracerPid:")
			if fs := strings.Fields(v); len(fs) == 0 || fs[0] == "0" {
				all = false
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not every thread of %d was attached after %s", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parseStraceSummary reads the calls column of strace -c's table.
func parseStraceSummary(file string) (map[string]int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	calls := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || f[0] == "%" || strings.HasPrefix(f[0], "-") {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("strace summary line %q", l)
		}
		calls[f[len(f)-1]] = n
	}
	return calls, nil
}

func printSyscalls(c config, res []straceResult) {
	fmt.Printf("\nServer system calls per answer, strace -f -c, one run of %s per row with %d clients (the tracer slows the server; only the counts mean something):\n\n", c.duration, c.clients)
	fmt.Println("| size | server | path | answers | " + strings.Join(tracedCalls, " | ") + " |")
	fmt.Println("|---|---|---|---|" + strings.Repeat("---|", len(tracedCalls)))
	for _, r := range res {
		line := fmt.Sprintf("| %s | %s | %s | %d |", r.size, r.server, r.path, r.answers)
		for _, name := range tracedCalls {
			line += fmt.Sprintf(" %.2f |", float64(r.calls[name])/float64(max(r.answers, 1)))
		}
		fmt.Println(line)
	}
}
