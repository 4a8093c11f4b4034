// The h2 transport of the load driver (-transport=h2): the same exchange as the grpc-go one, spoken as
// HTTP/2 frames directly (golang.org/x/net/http2's Framer and hpack), so that the driver's CPU per
// request is a small fraction of the server's and a 2-core machine can show the server's scaling
// (docs/architecture.md "Every core, latency and memory"). Nothing of grpc-go is on the hot path:
//
//   - the three ProcessingRequest messages are marshalled once at start from the go-control-plane
//     types (main.go builds them, as the grpc transport sends them) and framed as gRPC messages once;
//   - the gRPC request headers are encoded with the connection's HPACK encoder until the block no
//     longer changes (every field indexed), then that block is reused;
//   - each connection is driven by one goroutine reading the server's frames: a reply completes a
//     step of its stream, the next message (or the next stream, closed loop) is written at once into
//     a buffer, and the buffer is flushed when no more of the server's bytes are waiting, so one read
//     and one write serve every stream they carry;
//   - a reply is decoded only as far as telling its kind: the ProcessingResponse's oneof field number
//     and, for an ImmediateResponse, its status code;
//   - the end of an exchange is Envoy's: an empty DATA with END_STREAM and RST_STREAM(CANCEL) in one
//     write (Envoy's deferred reset), whatever ended it.
//
// The HTTP/2 protocol is kept: SETTINGS (acknowledged; the peer's initial window, frame size, header
// table size and concurrent-stream limit applied, the last one by queueing starts), PING answered,
// flow control both ways (WINDOW_UPDATE for what is received, at the connection and stream levels;
// DATA held back while the peer's window is short), GOAWAY (streams above its last id failed, the
// others finished, later streams on a new connection), RST_STREAM, header blocks decoded on every
// stream (closed ones too, to keep the HPACK table in step) and trailers' grpc-status read: 0 before
// the last reply is "closed", 4 is "timeout", any other "grpc", as the grpc transport counts them.
// The request carries no grpc-timeout (Envoy's ext_proc stream sends none); -timeout is kept by the
// driver, which resets a stream past it and counts it "timeout".
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	extproc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

const (
	processPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process"
	// Our receive windows: SETTINGS_INITIAL_WINDOW_SIZE for each stream, and what the connection's is
	// raised to at start. WINDOW_UPDATEs give back what was received once half of it is used.
	streamWindow = 1 << 20
	connWindow   = 1 << 24
	// The last client stream id (2^31 - 1): a connection that reaches it takes no more streams.
	maxStreamID = 1<<31 - 1
	maxWindow   = 1<<31 - 1
	// ProcessingResponse's oneof fields, and ImmediateResponse's status.
	fieldRequestHeaders   = 1
	fieldResponseHeaders  = 2
	fieldRequestBody      = 3
	fieldImmediate        = 7
	fieldImmediateStatus  = 1
	fieldHTTPStatusCode   = 1
	grpcStatusOK          = "0"
	grpcStatusDeadline    = "4"
	sweepEvery            = 50 * time.Millisecond
	dialTimeout           = 5 * time.Second
	settingsAtDialTimeout = 5 * time.Second
)

// h2Driver holds what every connection sends: the header fields and the framed messages.
type h2Driver struct {
	addr    string
	headers []hpack.HeaderField
	// The gRPC-framed messages, in order, and the reply field each one expects.
	msgs    [][]byte
	expects []protowire.Number
	timeout time.Duration
	slots   []*h2Slot
}

// An exchange's owner: told when it ends (under its slot's lock).
type h2Owner interface {
	finish(s *h2Slot, o outcome, st *h2Stream)
}

// h2Slot is one of -conns connections: the transport new streams go to and older ones (after a
// GOAWAY) still finishing theirs, under one lock.
type h2Slot struct {
	d   *h2Driver
	mu  sync.Mutex
	cur *h2Transport
	all []*h2Transport
}

type h2Transport struct {
	slot *h2Slot
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	fr   *http2.Framer

	enc       *hpack.Encoder
	encBuf    bytes.Buffer
	lastBlock []byte
	block     []byte // the steady-state request header block, once it stopped changing

	dec *hpack.Decoder
	// The header block being decoded: its stream (nil if closed or unknown) and the fields that matter.
	blockStream                                *h2Stream
	blockEnd                                   bool
	hStatus, hGrpcStatus, hGrpcMsg, hHasStatus string

	streams  map[uint32]*h2Stream
	nextID   uint32
	closed   bool // takes no new stream (GOAWAY, ids used up, failed)
	dead     bool // the connection is gone
	dirty    bool // frames written and not flushed
	queued   []h2Start
	blocked  []*h2Stream
	peerMax  uint32 // SETTINGS_MAX_CONCURRENT_STREAMS
	maxFrame uint32 // the peer's SETTINGS_MAX_FRAME_SIZE
	initWin  int64  // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	sendWin  int64  // the connection's send window
	recvUsed uint32 // received on the connection since the last WINDOW_UPDATE
}

type h2Start struct {
	owner    h2Owner
	from     time.Time
	deadline time.Time
}

type h2Stream struct {
	id       uint32
	owner    h2Owner
	from     time.Time // latency counts from here (start, or the scheduled start)
	deadline time.Time
	step     int
	sendWin  int64
	out      []byte // what of the current message waits for window
	in       []byte // a reply received in part
	headers  bool   // the response headers came
	remote   bool   // the server ended the stream
	recvUsed uint32
	isBlock  bool
}

func newH2Driver(addr string, cfg *config, conns int) (*h2Driver, error) {
	d := &h2Driver{addr: addr, timeout: cfg.timeout}
	d.headers = []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: processPath},
		{Name: ":authority", Value: addr},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: "gatehouse-bench-loaddriver-h2"},
	}
	if cfg.route != "" {
		d.headers = append(d.headers, hpack.HeaderField{Name: "x-gatehouse-route", Value: cfg.route})
	}
	add := func(m *extproc.ProcessingRequest, expect protowire.Number) error {
		if m == nil {
			return nil
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			return err
		}
		framed := make([]byte, 5+len(b))
		binary.BigEndian.PutUint32(framed[1:5], uint32(len(b)))
		copy(framed[5:], b)
		d.msgs = append(d.msgs, framed)
		d.expects = append(d.expects, expect)
		return nil
	}
	if err := add(cfg.reqHeaders, fieldRequestHeaders); err != nil {
		return nil, err
	}
	if err := add(cfg.reqBody, fieldRequestBody); err != nil {
		return nil, err
	}
	if err := add(cfg.respHeaders, fieldResponseHeaders); err != nil {
		return nil, err
	}
	for range max(1, conns) {
		s := &h2Slot{d: d}
		s.mu.Lock()
		// A server that is not there yet is dialled again at the first stream (and counted failed then).
		if t, err := d.dial(s); err == nil {
			s.cur = t
			s.all = append(s.all, t)
			go t.readLoop()
		}
		s.mu.Unlock()
		d.slots = append(d.slots, s)
	}
	go d.sweep()
	return d, nil
}

// dial opens a connection, sends the preface and our settings, and applies the server's first SETTINGS
// before any stream (so its concurrent-stream limit is known).
func (d *h2Driver) dial(s *h2Slot) (*h2Transport, error) {
	nc, err := net.DialTimeout("tcp", d.addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	t := &h2Transport{
		slot:     s,
		nc:       nc,
		br:       bufio.NewReaderSize(nc, 64<<10),
		bw:       bufio.NewWriterSize(nc, 64<<10),
		streams:  map[uint32]*h2Stream{},
		nextID:   1,
		peerMax:  math.MaxUint32,
		maxFrame: 16384,
		initWin:  65535,
		sendWin:  65535,
	}
	t.fr = http2.NewFramer(t.bw, t.br)
	t.fr.SetReuseFrames()
	t.fr.SetMaxReadFrameSize(16384)
	t.enc = hpack.NewEncoder(&t.encBuf)
	t.dec = hpack.NewDecoder(4096, t.onField)
	fail := func(err error) (*h2Transport, error) {
		_ = nc.Close()
		return nil, err
	}
	if _, err := t.bw.WriteString(http2.ClientPreface); err != nil {
		return fail(err)
	}
	if err := t.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
	); err != nil {
		return fail(err)
	}
	if err := t.fr.WriteWindowUpdate(0, connWindow-65535); err != nil {
		return fail(err)
	}
	if err := t.bw.Flush(); err != nil {
		return fail(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(settingsAtDialTimeout))
	f, err := t.fr.ReadFrame()
	_ = nc.SetReadDeadline(time.Time{})
	if err != nil {
		return fail(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fail(fmt.Errorf("the server's first frame is %v, not SETTINGS", f.Header().Type))
	}
	if err := t.settings(sf); err != nil {
		return fail(err)
	}
	if err := t.bw.Flush(); err != nil {
		return fail(err)
	}
	return t, nil
}

// start begins one exchange on the slot (under s.mu): on the current connection, a new one if it takes
// no more streams; an error when no connection can be had.
func (s *h2Slot) start(owner h2Owner, from time.Time) error {
	t := s.cur
	if t == nil || t.closed {
		nt, err := s.d.dial(s)
		if err != nil {
			return err
		}
		s.cur, t = nt, nt
		s.all = append(s.all, nt)
		go nt.readLoop()
	}
	if uint32(len(t.streams)) >= t.peerMax {
		t.queued = append(t.queued, h2Start{owner: owner, from: from, deadline: time.Now().Add(s.d.timeout)})
		return nil
	}
	t.open(owner, from)
	return nil
}

// flush writes what every connection of the slot has buffered (under s.mu).
func (s *h2Slot) flush() {
	for _, t := range s.all {
		if t.dirty && !t.dead {
			t.dirty = false
			if err := t.bw.Flush(); err != nil {
				t.fail(err)
			}
		}
	}
}

// forget drops a connection that is done.
func (s *h2Slot) forget(t *h2Transport) {
	for i, o := range s.all {
		if o == t {
			s.all = append(s.all[:i], s.all[i+1:]...)
			break
		}
	}
	if s.cur == t {
		s.cur = nil
	}
}

func (t *h2Transport) headerBlock() []byte {
	if t.block != nil {
		return t.block
	}
	t.encBuf.Reset()
	for _, f := range t.slot.d.headers {
		_ = t.enc.WriteField(f)
	}
	b := bytes.Clone(t.encBuf.Bytes())
	if bytes.Equal(b, t.lastBlock) {
		t.block = b // every field indexed: the block no longer changes
	}
	t.lastBlock = b
	return b
}

func (t *h2Transport) open(owner h2Owner, from time.Time) {
	id := t.nextID
	t.nextID += 2
	if t.nextID > maxStreamID {
		t.closed = true
	}
	st := &h2Stream{id: id, owner: owner, from: from, deadline: time.Now().Add(t.slot.d.timeout), sendWin: t.initWin}
	t.streams[id] = st
	t.dirty = true
	block := t.headerBlock()
	if uint32(len(block)) > t.maxFrame {
		t.endStream(st, outcome{code: "grpc", why: "request header block larger than the peer's frame size"}, false)
		return
	}
	_ = t.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true})
	t.send(st, t.slot.d.msgs[0])
}

// send writes a message on the stream as far as the windows allow; the rest waits for WINDOW_UPDATE.
func (t *h2Transport) send(st *h2Stream, msg []byte) {
	st.out = msg
	t.pump(st)
}

func (t *h2Transport) pump(st *h2Stream) {
	for len(st.out) > 0 {
		n := min(int64(len(st.out)), int64(t.maxFrame), st.sendWin, t.sendWin)
		if n <= 0 {
			if !st.isBlock {
				st.isBlock = true
				t.blocked = append(t.blocked, st)
			}
			return
		}
		_ = t.fr.WriteData(st.id, false, st.out[:n])
		t.dirty = true
		st.sendWin -= n
		t.sendWin -= n
		st.out = st.out[n:]
	}
}

// unblock pumps the streams waiting for window, in order.
func (t *h2Transport) unblock() {
	waiting := t.blocked
	t.blocked = nil
	for _, st := range waiting {
		st.isBlock = false
		if t.streams[st.id] == st {
			t.pump(st)
		}
	}
}

// endStream ends an exchange: Envoy's close (END_STREAM and RST_STREAM(CANCEL) in one write) unless the
// server reset it or the connection is gone, then its owner is told.
func (t *h2Transport) endStream(st *h2Stream, o outcome, reset bool) {
	delete(t.streams, st.id)
	st.out = nil
	if !reset && !t.dead {
		if !st.remote {
			_ = t.fr.WriteData(st.id, true, nil)
		}
		_ = t.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
		t.dirty = true
	}
	// A start that waited for the concurrent-stream limit takes the freed place.
	if len(t.queued) > 0 && !t.closed && uint32(len(t.streams)) < t.peerMax {
		q := t.queued[0]
		t.queued = t.queued[1:]
		t.open(q.owner, q.from)
	}
	st.owner.finish(t.slot, o, st)
	t.retire()
}

// retire closes a connection that takes no new streams once its last one has ended.
func (t *h2Transport) retire() {
	if t.closed && !t.dead && len(t.streams) == 0 && len(t.queued) == 0 {
		if t.dirty {
			t.dirty = false
			_ = t.bw.Flush()
		}
		t.dead = true
		t.slot.forget(t)
		_ = t.nc.Close()
	}
}

// fail ends the connection: every stream on it failed with err, queued starts sent elsewhere.
func (t *h2Transport) fail(err error) {
	if t.dead {
		return
	}
	t.dead, t.closed = true, true
	t.slot.forget(t)
	_ = t.nc.Close()
	o := outcome{code: "grpc", why: "connection: " + err.Error()}
	for _, st := range t.streams {
		t.endStream(st, o, true)
	}
	t.requeue()
}

// requeue moves the starts waiting on this connection to the slot's current one.
func (t *h2Transport) requeue() {
	queued := t.queued
	t.queued = nil
	for _, q := range queued {
		if err := t.slot.start(q.owner, q.from); err != nil {
			q.owner.finish(t.slot, outcome{code: "grpc", why: err.Error()}, &h2Stream{from: q.from})
		}
	}
}

func (t *h2Transport) readLoop() {
	s := t.slot
	for {
		f, err := t.fr.ReadFrame()
		s.mu.Lock()
		if t.dead {
			s.flush()
			s.mu.Unlock()
			return
		}
		if err == nil {
			err = t.handle(f)
		}
		if err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				_ = t.fr.WriteGoAway(0, http2.ErrCode(ce), nil)
				_ = t.bw.Flush()
			}
			t.fail(err)
		}
		if t.br.Buffered() == 0 {
			s.flush()
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (t *h2Transport) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return t.onData(f)
	case *http2.HeadersFrame:
		t.blockStream = t.streams[f.StreamID]
		t.blockEnd = f.StreamEnded()
		t.hStatus, t.hGrpcStatus, t.hGrpcMsg, t.hHasStatus = "", "", "", ""
		return t.onBlock(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		return t.onBlock(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		return t.settings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			t.dirty = true
			return t.fr.WritePing(true, f.Data)
		}
	case *http2.WindowUpdateFrame:
		// A window past 2^31-1 is the peer's flow-control error (RFC 9113 section 6.9.1).
		if f.StreamID == 0 {
			t.sendWin += int64(f.Increment)
			if t.sendWin > maxWindow {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		} else if st := t.streams[f.StreamID]; st != nil {
			st.sendWin += int64(f.Increment)
			if st.sendWin > maxWindow {
				_ = t.fr.WriteRSTStream(st.id, http2.ErrCodeFlowControl)
				t.dirty = true
				t.endStream(st, outcome{code: "grpc", why: "the server overflowed the stream's window"}, true)
			}
		}
		t.unblock()
	case *http2.RSTStreamFrame:
		if st := t.streams[f.StreamID]; st != nil {
			t.endStream(st, outcome{code: "grpc", why: "stream reset by the server: " + f.ErrCode.String()}, true)
		}
	case *http2.GoAwayFrame:
		t.closed = true
		why := fmt.Sprintf("GOAWAY %v (last stream %d) %s", f.ErrCode, f.LastStreamID, f.DebugData())
		for id, st := range t.streams {
			if id > f.LastStreamID {
				t.endStream(st, outcome{code: "grpc", why: why}, true)
			}
		}
		t.requeue()
		t.retire()
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil
}

func (t *h2Transport) settings(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			t.peerMax = s.Val
		case http2.SettingMaxFrameSize:
			t.maxFrame = s.Val
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - t.initWin
			t.initWin = int64(s.Val)
			for _, st := range t.streams {
				st.sendWin += delta
			}
		case http2.SettingHeaderTableSize:
			t.enc.SetMaxDynamicTableSize(s.Val)
			t.block, t.lastBlock = nil, nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.dirty = true
	if err := t.fr.WriteSettingsAck(); err != nil {
		return err
	}
	t.unblock()
	return nil
}

func (t *h2Transport) onField(f hpack.HeaderField) {
	switch f.Name {
	case ":status":
		t.hStatus = f.Value
	case "grpc-status":
		t.hGrpcStatus, t.hHasStatus = f.Value, "y"
	case "grpc-message":
		t.hGrpcMsg = f.Value
	}
}

// onBlock decodes a header block fragment (always: the HPACK table must stay in step) and, at its end,
// applies it to its stream: the response headers, or trailers.
func (t *h2Transport) onBlock(frag []byte, ended bool) error {
	if _, err := t.dec.Write(frag); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	if !ended {
		return nil
	}
	if err := t.dec.Close(); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	st := t.blockStream
	t.blockStream = nil
	if st == nil || t.streams[st.id] != st {
		return nil
	}
	if !t.blockEnd {
		if st.headers {
			t.endStream(st, outcome{code: "grpc", why: "a second HEADERS without END_STREAM"}, false)
		} else if t.hStatus != "200" {
			t.endStream(st, outcome{code: "grpc", why: "HTTP status " + t.hStatus}, false)
		} else {
			st.headers = true
		}
		return nil
	}
	// Trailers (or a trailers-only response): the server ended the stream before the last reply.
	st.remote = true
	switch {
	case t.hHasStatus == "":
		t.endStream(st, outcome{code: "grpc", why: "stream ended without grpc-status (HTTP status " + t.hStatus + ")"}, false)
	case t.hGrpcStatus == grpcStatusOK:
		t.endStream(st, outcome{code: "closed", why: "server closed the stream before answering"}, false)
	case t.hGrpcStatus == grpcStatusDeadline:
		t.endStream(st, outcome{code: "timeout", why: "grpc-status 4: " + t.hGrpcMsg}, false)
	default:
		t.endStream(st, outcome{code: "grpc", why: "grpc-status " + t.hGrpcStatus + ": " + t.hGrpcMsg}, false)
	}
	return nil
}

func (t *h2Transport) onData(f *http2.DataFrame) error {
	n := f.Header().Length
	t.recvUsed += n
	if t.recvUsed >= connWindow/2 {
		_ = t.fr.WriteWindowUpdate(0, t.recvUsed)
		t.recvUsed = 0
		t.dirty = true
	}
	st := t.streams[f.StreamID]
	if st == nil {
		return nil // a stream we ended: its window is the connection's only
	}
	if !st.headers {
		t.endStream(st, outcome{code: "grpc", why: "DATA before the response headers"}, false)
		return nil
	}
	st.recvUsed += n
	if st.recvUsed >= streamWindow/2 && !f.StreamEnded() {
		_ = t.fr.WriteWindowUpdate(st.id, st.recvUsed)
		st.recvUsed = 0
		t.dirty = true
	}
	buf := f.Data()
	if len(st.in) > 0 {
		st.in = append(st.in, buf...)
		buf = st.in
	}
	for len(buf) >= 5 {
		size := binary.BigEndian.Uint32(buf[1:5])
		if uint64(len(buf)-5) < uint64(size) {
			break
		}
		if !t.reply(st, buf[0], buf[5:5+size]) {
			return nil // the exchange ended
		}
		buf = buf[5+size:]
	}
	// Keep a partial reply (copied: the frame's buffer is reused).
	st.in = append(st.in[:0], buf...)
	if f.StreamEnded() {
		st.remote = true
		t.endStream(st, outcome{code: "grpc", why: "the server ended the stream without trailers"}, false)
	}
	return nil
}

// reply takes one ProcessingResponse: the exchange's next step, or its end (false).
func (t *h2Transport) reply(st *h2Stream, flags byte, msg []byte) bool {
	d := t.slot.d
	if flags != 0 {
		t.endStream(st, outcome{code: "grpc", why: "compressed reply"}, false)
		return false
	}
	field, status, ok := replyKind(msg)
	switch {
	case !ok:
		t.endStream(st, outcome{code: "grpc", why: "reply is not a ProcessingResponse"}, false)
		return false
	case field == fieldImmediate:
		if status == 0 {
			status = 200 // Envoy's default for an ImmediateResponse without a status
		}
		t.endStream(st, outcome{status: int(status)}, false)
		return false
	case field != d.expects[st.step]:
		t.endStream(st, outcome{code: "spurious", why: fmt.Sprintf("reply field %d to message %d", field, st.step)}, false)
		return false
	}
	st.step++
	if st.step == len(d.msgs) {
		t.endStream(st, outcome{status: 200}, false)
		return false
	}
	t.send(st, d.msgs[st.step])
	return true
}

// replyKind reads a ProcessingResponse only as far as its oneof: the field number set and, for an
// ImmediateResponse, the HTTP status code.
func replyKind(b []byte) (field protowire.Number, status uint64, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, false
		}
		b = b[n:]
		if typ == protowire.BytesType && num >= fieldRequestHeaders && num <= fieldImmediate {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return 0, 0, false
			}
			field = num
			if num == fieldImmediate {
				status = nestedVarint(v, fieldImmediateStatus, fieldHTTPStatusCode)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0, 0, false
		}
		b = b[m:]
	}
	return field, status, field != 0
}

// nestedVarint reads message field `outer`, then varint field `inner` of it (0 when absent).
func nestedVarint(b []byte, outer, inner protowire.Number) uint64 {
	var found uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return found
		}
		b = b[n:]
		switch {
		case num == outer && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return found
			}
			found = nestedVarint(v, inner, 0)
			b = b[m:]
		case inner == 0 && num == outer && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return found
			}
			found = v
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return found
			}
			b = b[m:]
		}
	}
	return found
}

// sweep resets the streams past their deadline (Envoy's message_timeout stands behind it) as "timeout".
func (d *h2Driver) sweep() {
	for now := range time.Tick(sweepEvery) {
		for _, s := range d.slots {
			s.mu.Lock()
			for _, t := range append([]*h2Transport(nil), s.all...) {
				for _, st := range t.streams {
					if now.After(st.deadline) && t.streams[st.id] == st {
						t.endStream(st, outcome{code: "timeout", why: "no reply within -timeout"}, false)
					}
				}
				// Starts still waiting for the peer's concurrent-stream limit (it may be 0 for a while).
				for len(t.queued) > 0 && now.After(t.queued[0].deadline) {
					q := t.queued[0]
					t.queued = t.queued[1:]
					q.owner.finish(s, outcome{code: "timeout", why: "no stream allowed by the server within -timeout"}, &h2Stream{from: q.from})
				}
			}
			s.flush()
			s.mu.Unlock()
		}
	}
}

// closedRun: `streams` loops, each starting its next exchange on its connection when the last ends.
type closedRun struct {
	rec  *recorder
	done func() bool
	end  time.Time
	wg   sync.WaitGroup
}

func (c *closedRun) more() bool { return (c.end.IsZero() || time.Now().Before(c.end)) && !c.done() }

func (c *closedRun) next(s *h2Slot) {
	for c.more() {
		start := time.Now()
		err := s.start(c, start)
		if err == nil {
			return
		}
		if c.rec != nil {
			c.rec.add(outcome{code: "grpc", why: err.Error()}, time.Since(start))
		}
	}
	c.wg.Done()
}

func (c *closedRun) finish(s *h2Slot, o outcome, st *h2Stream) {
	if c.rec != nil {
		c.rec.add(o, time.Since(st.from))
	}
	c.next(s)
}

func (d *h2Driver) closed(streams int, done func() bool, end time.Time, rec *recorder) {
	c := &closedRun{rec: rec, done: done, end: end}
	c.wg.Add(streams)
	for i := range streams {
		s := d.slots[i%len(d.slots)]
		s.mu.Lock()
		c.next(s)
		s.flush()
		s.mu.Unlock()
	}
	c.wg.Wait()
}

// openRun: exchanges started on schedule, latency from the scheduled start.
type openRun struct {
	rec      *recorder
	inFlight atomic.Int64
	wg       sync.WaitGroup
}

func (r *openRun) finish(_ *h2Slot, o outcome, st *h2Stream) {
	r.rec.add(o, time.Since(st.from))
	r.inFlight.Add(-1)
	r.wg.Done()
}

func (d *h2Driver) open(maxInFlight int, rate float64, started, end time.Time, rec *recorder) {
	r := &openRun{rec: rec}
	schedule(rate, started, end, func(k int, scheduled time.Time) {
		if r.inFlight.Load() >= int64(maxInFlight) {
			rec.add(overloaded, 0)
			return
		}
		r.inFlight.Add(1)
		r.wg.Add(1)
		s := d.slots[k%len(d.slots)]
		s.mu.Lock()
		if err := s.start(r, scheduled); err != nil {
			r.finish(s, outcome{code: "grpc", why: err.Error()}, &h2Stream{from: scheduled})
		}
		s.flush()
		s.mu.Unlock()
	})
	r.wg.Wait()
}
