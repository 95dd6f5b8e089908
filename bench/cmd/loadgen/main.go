// Command loadgen is the harness's load client for what wrk cannot do:
// streamed bodies checked byte for byte, Server-Sent Events with the delay
// of every event, WebSocket echo, idle WebSocket sessions, and a
// closed-loop HTTP client that counts every answer (and every request left
// without one) second by second, and the loop lag histogram of a /metrics
// page over a window, scraped or not meanwhile.
//
//	loadgen download -url http://127.0.0.1:PORT/bytes/16777216 -requests 64 -pid PID
//	loadgen upload   -url http://127.0.0.1:PORT/sha256 -bytes 1073741824 [-chunked] -pid PID
//	loadgen sse      -url 'http://127.0.0.1:PORT/sse?n=100&every=20' -clients 1000
//	loadgen slowread -url http://127.0.0.1:PORT/bytes/1073741824 -rate 1048576 -for 10s -pid PID
//	loadgen ws       -url ws://127.0.0.1:PORT/ws -clients 64 -size 64 -d 5s -pid PID
//	loadgen wsidle   -url ws://127.0.0.1:PORT/ws -n 10000 -pid PID
//	loadgen wscheck  -url ws://127.0.0.1:PORT/ws
//	loadgen hammer   -url http://127.0.0.1:PORT/cpu -c 16 -d 20s -timeout 6s
//	loadgen promlag  -url http://127.0.0.1:PORT/metrics -d 5s -every 1s
//
// With -pid, the server's VmRSS is sampled every 10 ms (before the load,
// its peak, and the growth: peak minus before) and its CPU time (user +
// system, all threads, from /proc) is read around the measured window.
//
// Every subcommand prints its results as key=value lines on stdout (run.sh
// reads them) and exits 1 when the load itself failed (a wrong byte, a
// wrong digest, a connection that could not be made), 3 when wscheck finds
// no WebSocket route (404 or 405). Only loopback
// addresses are accepted: this is a benchmark client, not a load tester
// for other machines.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
)

var commands = map[string]func(args []string) error{
	"download": download,
	"upload":   upload,
	"sse":      sse,
	"slowread": slowRead,
	"ws":       wsEcho,
	"wsidle":   wsIdle,
	"wscheck":  wsCheck,
	"hammer":   hammer,
	"promlag":  promLag,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: loadgen COMMAND [flags]; commands: %v\n", names)
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen %s: %v\n", os.Args[1], err)
		fmt.Printf("error=%q\n", err.Error())
		if errors.Is(err, errNoWebSocket) {
			os.Exit(3) // the server does not serve the route
		}
		os.Exit(1)
	}
}

// newFlags returns a FlagSet for a subcommand that exits on -h and on a
// bad flag, like the top-level flag package.
func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("loadgen "+name, flag.ExitOnError)
}

// out prints one result line.
func out(key string, value any) { fmt.Printf("%s=%v\n", key, value) }
