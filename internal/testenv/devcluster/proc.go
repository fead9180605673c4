package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// members returns the running processes of process group pgid, from
// /proc. Zombies do not count: the components' parent (devcluster up) has
// exited, and whoever inherited them may never reap them.
func members(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pgrp, ok := stat(pid)
		if ok && pgrp == pgid && state != 'Z' && state != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stat reads a process's state and process group from /proc/PID/stat
// ("PID (COMM) STATE PPID PGRP ..."; COMM may hold spaces and parentheses).
func stat(pid int) (state byte, pgrp int, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	return parseStat(data)
}

func parseStat(data []byte) (state byte, pgrp int, ok bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err := strconv.Atoi(string(f[2]))
	return f[0][0], pgrp, err == nil
}

// startedIn reports whether process pid runs in dir, as every component
// does (testenv starts them there). A PID recorded in a stale state file
// may belong to an unrelated process by now; that one must not be killed.
func startedIn(pid int, dir string) bool {
	cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil {
		// The leader is gone but its group is not, or /proc hides it:
		// the group is still the one we recorded.
		return true
	}
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		want = dir
	}
	return cwd == want
}
