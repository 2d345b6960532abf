package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// memory reads the process's memory fields (VmRSS, VmHWM, …) in bytes from
// /proc/<pid>/status; empty where there is none.
func (p *process) memory() map[string]int64 {
	m := map[string]int64{}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return m
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if fs := strings.Fields(v); ok && len(fs) == 2 && fs[1] == "kB" {
			n, _ := strconv.ParseInt(fs[0], 10, 64)
			m[k] = n << 10
		}
	}
	return m
}

// resetPeak sets VmHWM back to the current RSS (proc(5), clear_refs 5), so
// the peak read later is that of what ran in between.
func (p *process) resetPeak() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0)
}

// printMemory prints each server's peak RSS during the rounds above its
// idle RSS before them.
func printMemory(baseline *process, targets []*target) {
	fmt.Println()
	line := func(name string, p *process) {
		if p.idleRSS == 0 || p.peakRSS == 0 {
			fmt.Printf("Server RSS during the rounds, %s: not known (no /proc)\n", name)
			return
		}
		fmt.Printf("Server RSS during the rounds, %s: peak (VmHWM) %.1f MiB, idle %.1f MiB: %+.1f MiB above idle\n",
			name, mib(p.peakRSS), mib(p.idleRSS), mib(p.peakRSS-p.idleRSS))
	}
	line("baseline", baseline)
	for _, t := range targets {
		line(t.name, t.srv)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
