// The Go load driver of bench:workers, bench:latency and bench:rss (bench/go-driver.ts builds and runs
// it): it plays Envoy's ext_proc filter for one HTTP request per gRPC stream, as bench/extproc-worker.ts
// does with devproxy's client, but costs far less CPU per request, so that on a small machine the
// driver does not take the cores the server is measured on. Per stream: x-gatehouse-route initial
// metadata; request headers (pseudo-headers first, raw_value bytes, the request attributes
// source.address and request.id); the buffered JSON body; the upstream's response headers; then
// Envoy's close (half-close and reset). An ImmediateResponse ends the stream with its status.
//
// Closed loop: -streams streams in flight over -conns HTTP/2 connections for -duration (or exactly
// -requests exchanges). Open loop: -rate exchanges per second started on schedule whatever the answers,
// at most -streams in flight (one more is counted failed, "overload"); latency counts from each
// exchange's scheduled start (no coordinated omission). With -hold the driver prints "warm" after the
// warm-up and waits for a line on stdin before measuring; with -owned it stops when stdin closes.
// Prints one JSON object (Result) on stdout.
//
// Two transports carry the same exchange (-transport): grpc, grpc-go's client with go-control-plane's
// types; h2 (h2.go), the messages marshalled once from those types and written as HTTP/2 frames
// directly, one goroutine per connection: a fraction of grpc-go's CPU per request.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extproc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// Result is what the driver prints; bench/go-driver.ts reads it (GoDriverResult).
type Result struct {
	Completed int            `json:"completed"`
	Failed    int            `json:"failed"`
	Statuses  map[string]int `json:"statuses"`
	ElapsedMs float64        `json:"elapsedMs"`
	// Latency percentiles of the measured phase, milliseconds (NaN-free: 0 when nothing completed).
	Latency map[string]float64 `json:"latencyMs"`
	// Every measured latency, milliseconds, with -raw.
	Latencies []float64 `json:"latenciesMs,omitempty"`
	// The driver's own CPU time (getrusage RUSAGE_SELF, user + system) during the measured phase.
	CPUMs    float64                 `json:"cpuMs"`
	Failures map[string]*failureKind `json:"failures,omitempty"`
}

type failureKind struct {
	Count int    `json:"count"`
	First string `json:"first"`
}

type config struct {
	route       string
	reqHeaders  *extproc.ProcessingRequest
	reqBody     *extproc.ProcessingRequest
	respHeaders *extproc.ProcessingRequest
	timeout     time.Duration
}

// outcome of one exchange: status 0 means failed with code/why.
type outcome struct {
	status int
	code   string
	why    string
}

type headerFlag [][2]string

func (h *headerFlag) String() string { return fmt.Sprint(*h) }
func (h *headerFlag) Set(v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] == ':' && i > 0 {
			*h = append(*h, [2]string{v[:i], v[i+1:]})
			return nil
		}
	}
	return fmt.Errorf("-header %q: want name:value", v)
}

func headerMap(pairs [][2]string) *core.HeaderMap {
	m := &core.HeaderMap{}
	for _, p := range pairs {
		m.Headers = append(m.Headers, &core.HeaderValue{Key: p[0], RawValue: []byte(p[1])})
	}
	return m
}

func main() {
	addr := flag.String("addr", "", "ext_proc server host:port")
	route := flag.String("route", "", "x-gatehouse-route metadata (namespace/proxy)")
	method := flag.String("method", "POST", "request method")
	path := flag.String("path", "/", "request path")
	authority := flag.String("authority", "bench.test", "request :authority")
	body := flag.String("body", "", "request body, sent BUFFERED when not empty")
	var headers headerFlag
	flag.Var(&headers, "header", "request header name:value (repeatable)")
	streams := flag.Int("streams", 64, "streams in flight (closed loop), the cap on streams in flight (open loop)")
	conns := flag.Int("conns", 8, "HTTP/2 connections the streams are spread over")
	duration := flag.Duration("duration", 10*time.Second, "measured phase (closed and open loop)")
	warmup := flag.Duration("warmup", 3*time.Second, "closed-loop warm-up before measuring, not counted")
	requests := flag.Int("requests", -1, "closed loop: measure exactly this many exchanges instead of -duration")
	rate := flag.Float64("rate", 0, "open loop: exchanges started per second")
	hold := flag.Bool("hold", false, `print "warm" after the warm-up and wait for a line on stdin`)
	raw := flag.Bool("raw", false, "print every latency")
	progress := flag.Int("progress", 0, `print "progress ENDED FAILED" each time N more measured exchanges have ended`)
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of one exchange (stands in for Envoy's message_timeout)")
	owned := flag.Bool("owned", false, "stop when stdin closes (the bench that started the driver is gone)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured phase to this file (go tool pprof)")
	transport := flag.String("transport", "grpc", "grpc (grpc-go) or h2 (the same exchange as HTTP/2 frames, h2.go: far less CPU per request)")
	flag.Parse()
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "-addr is required")
		os.Exit(2)
	}

	reqPairs := append([][2]string{{":method", *method}, {":path", *path}, {":scheme", "http"}, {":authority", *authority}}, headers...)
	attrs, err := structpb.NewStruct(map[string]any{"source.address": "198.51.100.7:40000", "request.id": "bench"})
	if err != nil {
		panic(err)
	}
	cfg := &config{
		route:   *route,
		timeout: *timeout,
		reqHeaders: &extproc.ProcessingRequest{
			Request: &extproc.ProcessingRequest_RequestHeaders{RequestHeaders: &extproc.HttpHeaders{
				Headers: headerMap(reqPairs), EndOfStream: *body == "",
			}},
			Attributes: map[string]*structpb.Struct{"envoy.filters.http.ext_proc": attrs},
		},
		respHeaders: &extproc.ProcessingRequest{
			Request: &extproc.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extproc.HttpHeaders{
				Headers: headerMap([][2]string{{":status", "200"}, {"content-type", "application/json"}}),
			}},
		},
	}
	if *body != "" {
		cfg.reqBody = &extproc.ProcessingRequest{
			Request: &extproc.ProcessingRequest_RequestBody{RequestBody: &extproc.HttpBody{Body: []byte(*body), EndOfStream: true}},
		}
	}

	var d driver
	switch *transport {
	case "grpc":
		clients := make([]extproc.ExternalProcessorClient, max(1, *conns))
		for i := range clients {
			// One ClientConn per connection: grpc-go holds one HTTP/2 connection per ClientConn.
			cc, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			cc.Connect()
			defer cc.Close()
			clients[i] = extproc.NewExternalProcessorClient(cc)
		}
		d = grpcDriver{clients: clients, cfg: cfg}
	case "h2":
		h, err := newH2Driver(*addr, cfg, *conns)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		d = h
	default:
		fmt.Fprintf(os.Stderr, "-transport %q: want grpc or h2\n", *transport)
		os.Exit(2)
	}

	// stdin: the line -hold waits for, and with -owned its end stops the driver.
	goLine := make(chan struct{}, 1)
	go func() {
		in := bufio.NewReader(os.Stdin)
		for {
			if _, err := in.ReadString('\n'); err != nil {
				if *owned {
					os.Exit(3)
				}
				return
			}
			select {
			case goLine <- struct{}{}:
			default:
			}
		}
	}()

	// Warm-up: closed loop, nothing counted.
	if *warmup > 0 {
		d.closed(*streams, func() bool { return false }, time.Now().Add(*warmup), nil)
	}
	if *hold {
		fmt.Println("warm")
		<-goLine
	}

	rec := newRecorder(*raw, *progress)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	cpuBefore := cpuTime()
	started := time.Now()
	switch {
	case *rate > 0:
		d.open(*streams, *rate, started, started.Add(*duration), rec)
	case *requests >= 0:
		var left atomic.Int64
		left.Store(int64(*requests))
		d.closed(*streams, func() bool { return left.Add(-1) < 0 }, time.Time{}, rec)
	default:
		d.closed(*streams, func() bool { return false }, started.Add(*duration), rec)
	}
	elapsed := time.Since(started)
	out := rec.result()
	out.ElapsedMs = float64(elapsed) / float64(time.Millisecond)
	out.CPUMs = float64(cpuTime()-cpuBefore) / float64(time.Millisecond)
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// driver runs exchanges over one of the transports: grpc (grpc-go, below) or h2 (h2.go).
type driver interface {
	// closed runs `streams` loops, each starting its next exchange when the last one ends, until
	// `done()` says so or `end` passes (a zero end: only done() stops); rec nil: nothing recorded.
	closed(streams int, done func() bool, end time.Time, rec *recorder)
	// open starts exchanges on schedule (rate per second from `started` until `end`), at most
	// maxInFlight at once (one more is counted failed, "overload").
	open(maxInFlight int, rate float64, started, end time.Time, rec *recorder)
}

type grpcDriver struct {
	clients []extproc.ExternalProcessorClient
	cfg     *config
}

func (g grpcDriver) closed(streams int, done func() bool, end time.Time, rec *recorder) {
	closedLoop(g.clients, g.cfg, streams, done, end, rec)
}

func (g grpcDriver) open(maxInFlight int, rate float64, started, end time.Time, rec *recorder) {
	openLoop(g.clients, g.cfg, maxInFlight, rate, started, end, rec)
}

// closedLoop runs `streams` loops, each starting its next exchange when the last one ends, until
// `done()` says so or `end` passes (a zero end: only done() stops).
func closedLoop(clients []extproc.ExternalProcessorClient, cfg *config, streams int, done func() bool, end time.Time, rec *recorder) {
	var wg sync.WaitGroup
	for i := range streams {
		client := clients[i%len(clients)]
		wg.Go(func() {
			for (end.IsZero() || time.Now().Before(end)) && !done() {
				start := time.Now()
				o := exchange(client, cfg)
				if rec != nil {
					rec.add(o, time.Since(start))
				}
			}
		})
	}
	wg.Wait()
}

// schedule calls launch for exchange k once it is due, at k/rate after `started`, until `end` (the
// open loop of both transports), sleeping until the next one is due between (the timer wakes late by
// tens of microseconds; the latency of a late start counts from its schedule all the same).
func schedule(rate float64, started, end time.Time, launch func(k int, scheduled time.Time)) {
	at := func(k int) time.Time { return started.Add(time.Duration(float64(k) / rate * float64(time.Second))) }
	sent := 0
	for time.Now().Before(end) {
		due := int(math.Floor(time.Since(started).Seconds()*rate)) + 1
		for ; sent < due; sent++ {
			launch(sent, at(sent))
		}
		time.Sleep(time.Until(at(sent)))
	}
}

// overloaded is the outcome of a start that found maxInFlight exchanges in flight.
var overloaded = outcome{code: "overload", why: "more than -streams in flight"}

// openLoop starts exchanges on schedule (rate per second from `started` until `end`).
func openLoop(clients []extproc.ExternalProcessorClient, cfg *config, maxInFlight int, rate float64, started, end time.Time, rec *recorder) {
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	schedule(rate, started, end, func(k int, scheduled time.Time) {
		if inFlight.Load() >= int64(maxInFlight) {
			rec.add(overloaded, 0)
			return
		}
		inFlight.Add(1)
		client := clients[k%len(clients)]
		wg.Go(func() {
			defer inFlight.Add(-1)
			o := exchange(client, cfg)
			rec.add(o, time.Since(scheduled))
		})
	})
	wg.Wait()
}

// exchange is one request through the ext_proc filter: headers, buffered body, response headers.
func exchange(client extproc.ExternalProcessorClient, cfg *config) outcome {
	// The exchange's deadline stands in for Envoy's per-message timeout (one timer per stream, not per message).
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	// Envoy's close(): half-close, then reset.
	defer cancel()
	if cfg.route != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-gatehouse-route", cfg.route)
	}
	stream, err := client.Process(ctx)
	if err != nil {
		return outcome{code: "grpc", why: err.Error()}
	}
	defer func() { _ = stream.CloseSend() }()
	for _, msg := range []*extproc.ProcessingRequest{cfg.reqHeaders, cfg.reqBody, cfg.respHeaders} {
		if msg == nil {
			continue
		}
		if err := stream.Send(msg); err != nil {
			return outcome{code: "grpc", why: err.Error()}
		}
		reply, err := stream.Recv()
		if err != nil {
			if status.Code(err) == codes.DeadlineExceeded {
				return outcome{code: "timeout", why: err.Error()}
			}
			if errors.Is(err, io.EOF) {
				return outcome{code: "closed", why: "server closed the stream before answering"}
			}
			return outcome{code: "grpc", why: err.Error()}
		}
		if ir := reply.GetImmediateResponse(); ir != nil {
			code := int(ir.GetStatus().GetCode())
			if code == 0 {
				code = 200 // Envoy's default for an ImmediateResponse without a status
			}
			return outcome{status: code}
		}
		if !answers(msg, reply) {
			return outcome{code: "spurious", why: fmt.Sprintf("reply %T to %T", reply.Response, msg.Request)}
		}
	}
	return outcome{status: 200}
}

func answers(msg *extproc.ProcessingRequest, reply *extproc.ProcessingResponse) bool {
	switch msg.Request.(type) {
	case *extproc.ProcessingRequest_RequestHeaders:
		return reply.GetRequestHeaders() != nil
	case *extproc.ProcessingRequest_RequestBody:
		return reply.GetRequestBody() != nil
	case *extproc.ProcessingRequest_ResponseHeaders:
		return reply.GetResponseHeaders() != nil
	}
	return false
}

type recorder struct {
	mu        sync.Mutex
	raw       bool
	progress  int
	completed int
	failed    int
	statuses  map[string]int
	latencies []float64
	failures  map[string]*failureKind
}

func newRecorder(raw bool, progress int) *recorder {
	return &recorder{raw: raw, progress: progress, statuses: map[string]int{}, failures: map[string]*failureKind{}}
}

func (r *recorder) add(o outcome, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.status == 0 {
		r.failed++
		f := r.failures[o.code]
		if f == nil {
			f = &failureKind{First: o.why}
			r.failures[o.code] = f
		}
		f.Count++
		if o.code == "overload" {
			return // never sent: no status, no latency (as bench/extproc-worker.ts counts it)
		}
		// devproxy answers a failed exchange with Envoy's local reply: 504 for a timeout, else 500.
		if o.code == "timeout" {
			r.statuses["504"]++
		} else {
			r.statuses["500"]++
		}
	} else {
		r.completed++
		r.statuses[strconv.Itoa(o.status)]++
	}
	r.latencies = append(r.latencies, float64(latency)/float64(time.Millisecond))
	if ended := r.completed + r.failed; r.progress > 0 && ended%r.progress == 0 {
		// Under the lock, so the lines come in order; the reader samples the server as it reads one.
		fmt.Printf("progress %d %d\n", ended, r.failed)
	}
}

func (r *recorder) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	pct := func(p float64) float64 {
		if len(sorted) == 0 {
			return 0
		}
		return sorted[min(len(sorted)-1, int(math.Floor(p/100*float64(len(sorted)))))]
	}
	mean := 0.0
	for _, l := range sorted {
		mean += l
	}
	if len(sorted) > 0 {
		mean /= float64(len(sorted))
	}
	out := Result{
		Completed: r.completed,
		Failed:    r.failed,
		Statuses:  r.statuses,
		Latency:   map[string]float64{"p50": pct(50), "p90": pct(90), "p99": pct(99), "p999": pct(99.9), "max": pct(100), "mean": mean},
	}
	if r.raw {
		out.Latencies = r.latencies
	}
	if len(r.failures) > 0 {
		out.Failures = r.failures
	}
	return out
}

// cpuTime is this process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
