#!/usr/bin/env python3
"""A hostile fake of the Copilot CLI server, for tests/hostile.rs.

libcopilot launches it as its `cliPath`:

    fake_cli.py [--log-level L] --headless --no-auto-update ... --stdio
    fake_cli.py ... [--port N]        (TCP: prints "CLI server listening on port N")

It speaks JSON-RPC 2.0 with LSP framing (`Content-Length: N\\r\\n\\r\\n` + JSON),
answers the handshake (`connect` -> {"protocolVersion": 3, "version": ...}),
`ping`, `session.create`/`session.resume` (-> {"sessionId": ...}) and every
other request with a plausible result, then misbehaves as FAKE_CLI_MODE says.

Environment (all optional):
  FAKE_CLI_MODE      normal | mute | input_then_exit | stop_reading |
                     stop_reading_then_exit | close_input_then_exit |
                     flood_requests | flood_events | bad_events |
                     destroy_race (session.send is answered only when its
                     session is destroyed: after the destroy's reply, with the
                     error CLI 1.0.102's teardown gives)
  FAKE_DELAY_MS      delay before the mode's action (default 100)
  FAKE_EXIT_CODE     exit code of the modes that exit (default 42)
  FAKE_COUNT         how many events / requests a flood sends
  FAKE_SIZE          bytes of payload per flooded event / request
  FAKE_WRAP          flood_events: 1 = user.message before and assistant.message +
                     session.idle after the deltas (COUNT + 3 events in all)
  FAKE_METHOD        flood_requests: hooks.invoke (default) | systemMessage.transform |
                     userInput.request
  FAKE_PROTOCOL_VERSION  what `connect` reports (default 3)
  FAKE_LIFETIME_S    self-destruct timer (SIGALRM, default 120)

Control methods, answered in every mode (also while `mute`):
  fake.stats   -> {"framesRead", "bytesRead", "sends", "sendBytes", "corruptFrames", ...}
  fake.pause   {"ms": N}: answers, then reads nothing for N ms
  fake.echo    -> its params
  fake.abuse   {"kind": K}: sends something hostile (see abuse()), then, for the
               kinds a client must ignore, the real reply {"real": true}

Every frame the library sends is validated: the header must be exactly
`Content-Length: N`, the body valid UTF-8 JSON-RPC, and no raw CR may occur
inside a body (compact JSON never has one: a CR there is the header of the
next frame, i.e. the frame before was cut short). On a violation the fake
writes `FAKE_CLI_CORRUPT_FRAME: <why>` to stderr and exits with code 97, so
the library's disconnect error (exit status + stderr tail) says so.

It never outlives its purpose: it exits when its input ends, when its parent
dies (it is re-parented), on any write error, and after FAKE_LIFETIME_S.
"""

import collections
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time

ENV = os.environ


def env_int(name, default):
    try:
        return int(ENV.get(name, default))
    except ValueError:
        return default


MODE = ENV.get("FAKE_CLI_MODE", "normal")
DELAY_MS = env_int("FAKE_DELAY_MS", 100)
EXIT_CODE = env_int("FAKE_EXIT_CODE", 42)
COUNT = env_int("FAKE_COUNT", 1000)
SIZE = env_int("FAKE_SIZE", 64)
WRAP = env_int("FAKE_WRAP", 0) == 1
METHOD = ENV.get("FAKE_METHOD", "hooks.invoke")
PROTOCOL_VERSION = env_int("FAKE_PROTOCOL_VERSION", 3)
LIFETIME_S = env_int("FAKE_LIFETIME_S", 120)

CORRUPT_EXIT = 97
STDERR_MARKER = "FAKE_CLI_STDERR_MARKER"
# Producers (floods) wait while this much is queued for writing, as a Node
# stream's writer would; replies are queued regardless, behind what is queued.
HIGH_WATER = 4 * 1024 * 1024


def log(msg):
    try:
        sys.stderr.write("fake-cli[%d]: %s\n" % (os.getpid(), msg))
        sys.stderr.flush()
    except Exception:
        pass


def die(code, msg=None):
    if msg:
        log(msg)
    os._exit(code)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.frames_read = 0
        self.bytes_read = 0
        self.requests = 0
        self.sends = 0
        self.send_bytes = 0
        self.replies = 0
        self.notifications = 0
        self.unanswered = 0
        self.events_sent = 0
        self.requests_sent = 0
        self.sessions = []
        self.held_sends = {}  # destroy_race: session id -> ids of unanswered session.send
        self.muted = False
        self.paused_until = 0.0
        self.stop_reading = False
        self.reader_stopped = threading.Event()
        self.next_id = 1
        self.event_seq = 0

    def new_id(self):
        with self.lock:
            i = self.next_id
            self.next_id += 1
            return i


S = State()


# ---- output: one writer thread, a FIFO of byte chunks -----------------------------------


class Out:
    def __init__(self, write):
        self.write = write  # write(memoryview) -> bytes written; raises OSError
        self.q = collections.deque()
        self.bytes = 0
        self.busy = False
        self.cv = threading.Condition()
        t = threading.Thread(target=self.run, name="writer", daemon=True)
        t.start()

    def put(self, chunks, wait=False):
        """Queues chunks in order (whole, never interleaved with another put).
        wait=True: first waits while more than HIGH_WATER is queued."""
        with self.cv:
            if wait:
                while self.bytes > HIGH_WATER:
                    self.cv.wait(0.5)
            for c in chunks:
                if c:
                    self.q.append(c)
                    self.bytes += len(c)
            self.cv.notify_all()

    def flush(self, timeout):
        """Waits until everything queued is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while self.q or self.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(min(left, 0.1))
        return True

    def run(self):
        while True:
            with self.cv:
                while not self.q:
                    self.cv.wait()
                chunk = self.q.popleft()
                self.busy = True
            mv = memoryview(chunk)
            off = 0
            try:
                while off < len(mv):
                    off += self.write(mv[off:])
            except OSError as e:
                die(0, "write failed (%s): the library closed the connection; exiting" % e)
            with self.cv:
                self.busy = False
                self.bytes -= len(chunk)
                self.cv.notify_all()


OUT = None
CONN = {}  # "rfd", "sock"


def encode(obj):
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def frame_raw(body):
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def reply(rid, result):
    OUT.put([encode({"jsonrpc": "2.0", "id": rid, "result": result})])


def reply_error(rid, code, message):
    OUT.put([encode({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})])


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def event(etype, data, ephemeral=False):
    with S.lock:
        S.event_seq += 1
        seq = S.event_seq
    ev = {"id": "fake-ev-%d" % seq, "timestamp": now_iso(), "parentId": None, "type": etype, "data": data}
    if ephemeral:
        ev["ephemeral"] = True
    return ev


def event_frame(sid, ev):
    # Key order as the real CLI writes it (the library's fast path expects it).
    return encode({"jsonrpc": "2.0", "method": "session.event", "params": {"sessionId": sid, "event": ev}})


# ---- input: frames validated as they arrive -----------------------------------------------

HEADER_RE = re.compile(rb"Content-Length: (\d{1,15})")


def corrupt(why):
    sys.stderr.write("FAKE_CLI_CORRUPT_FRAME: %s\n" % why)
    sys.stderr.flush()
    os._exit(CORRUPT_EXIT)


def reader():
    rfd = CONN["rfd"]
    buf = bytearray()
    need = None  # body length of the frame being read
    scanned = 0  # bytes of that body already checked for a raw CR
    poller = select.poll()
    poller.register(rfd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while True:
        if S.stop_reading:
            S.reader_stopped.set()
            return
        pause = S.paused_until - time.monotonic()
        if pause > 0:
            time.sleep(min(pause, 0.02))
            continue
        if not poller.poll(50):
            continue
        try:
            data = os.read(rfd, 1 << 20)
        except OSError as e:
            die(0, "read failed (%s); exiting" % e)
        if not data:
            if need is not None or buf:
                corrupt("input ended inside a frame (%d bytes of %s read)" % (len(buf), need))
            die(0, "input closed; exiting")
        with S.lock:
            S.bytes_read += len(data)
        buf += data
        while True:
            if need is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > 8192:
                        corrupt("no end of header within 8 KiB: %r" % bytes(buf[:80]))
                    break
                m = HEADER_RE.fullmatch(bytes(buf[:end]))
                if not m:
                    corrupt("bad header %r" % bytes(buf[:min(end, 200)]))
                need = int(m.group(1))
                del buf[: end + 4]
                scanned = 0
            upto = min(len(buf), need)
            cr = buf.find(b"\r", scanned, upto)
            if cr >= 0:
                corrupt(
                    "raw CR at byte %d of a %d-byte body: a frame was cut short and the next "
                    "header follows (%r)" % (cr, need, bytes(buf[max(0, cr - 40): cr + 40]))
                )
            if len(buf) < need:
                scanned = len(buf)
                break
            body = bytes(buf[:need])
            del buf[:need]
            need = None
            try:
                msg = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                corrupt("body is not UTF-8 JSON (%s): %r" % (e, body[:120]))
            if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
                corrupt("not a JSON-RPC 2.0 object: %r" % body[:120])
            with S.lock:
                S.frames_read += 1
            handle(msg, len(body))
            if S.stop_reading:
                break


def stop_reader(timeout=5.0):
    S.stop_reading = True
    S.reader_stopped.wait(timeout)


def close_input():
    """Stops reading and closes our reading side: the library's next write
    fails (EPIPE on the stdio pipe) while this process still lives."""
    stop_reader()
    if "sock" in CONN:
        # A socket cannot be closed for reading alone in a way the peer sees.
        try:
            CONN["sock"].shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    else:
        os.close(CONN["rfd"])


# ---- requests -------------------------------------------------------------------------------


def handle(msg, size):
    method = msg.get("method")
    if method is None:
        with S.lock:
            S.replies += 1
        return
    if "id" not in msg:
        with S.lock:
            S.notifications += 1
        return
    rid = msg["id"]
    params = msg.get("params") or {}
    with S.lock:
        S.requests += 1
    if method in CONTROL:
        return CONTROL[method](rid, params)
    if S.muted:
        with S.lock:
            S.unanswered += 1
        return
    if method == "connect":
        token = ENV.get("COPILOT_CONNECTION_TOKEN")
        if "sock" in CONN and token and params.get("token") != token:
            return reply_error(rid, -32001, "bad connection token")
        return reply(rid, {"ok": True, "protocolVersion": PROTOCOL_VERSION, "version": "fake-cli/1.0"})
    if method == "ping":
        return reply(rid, {"message": "pong: %s" % params.get("message", ""),
                           "timestamp": int(time.time() * 1000), "protocolVersion": 3})
    if method in ("session.create", "session.resume"):
        sid = params.get("sessionId", "fake-session")
        S.sessions.append(sid)
        before = MODES.get(MODE, {}).get("before_create_reply")
        if before:
            before(sid)
        reply(rid, {"sessionId": sid, "workspacePath": "/tmp/fake-cli-workspace"})
        after = MODES.get(MODE, {}).get("after_create")
        if after:
            threading.Thread(target=after, args=(sid,), daemon=True).start()
        return
    if method == "session.send":
        with S.lock:
            S.sends += 1
            n = S.sends
            S.send_bytes += size
        if MODE == "destroy_race":
            # Held until the session is destroyed, then failed as the CLI's teardown does.
            S.held_sends.setdefault(params.get("sessionId", ""), []).append(rid)
            return
        reply(rid, {"messageId": "fake-msg-%d" % n})
        on_send = MODES.get(MODE, {}).get("on_send")
        if on_send:
            threading.Thread(target=on_send, args=(params.get("sessionId", ""), n), daemon=True).start()
        return
    if method == "session.getMessages":
        return reply(rid, {"events": []})
    if method == "session.destroy" and MODE == "destroy_race":
        sid = params.get("sessionId", "")
        reply(rid, {})
        for held in S.held_sends.pop(sid, []):
            reply_error(held, -32603, "Unknown session '%s' for native host effect 'managed_plugin_admission'" % sid)
        return
    return reply(rid, {})


def c_stats(rid, _params):
    with S.lock:
        stats = {
            "framesRead": S.frames_read, "bytesRead": S.bytes_read, "requests": S.requests,
            "sends": S.sends, "sendBytes": S.send_bytes, "replies": S.replies,
            "notifications": S.notifications, "unanswered": S.unanswered,
            "eventsSent": S.events_sent, "requestsSent": S.requests_sent,
            "corruptFrames": 0, "mode": MODE, "pid": os.getpid(),
            "transport": "tcp" if "sock" in CONN else "stdio",
        }
    reply(rid, stats)


def c_pause(rid, params):
    reply(rid, {"paused": True})
    S.paused_until = time.monotonic() + float(params.get("ms", 1000)) / 1000.0


def c_echo(rid, params):
    reply(rid, params)


def c_abuse(rid, params):
    kind = params.get("kind", "")
    log("abuse: %s" % kind)
    real = encode({"jsonrpc": "2.0", "id": rid, "result": {"real": True, "kind": kind}})
    if kind == "huge_length":
        OUT.put([b"Content-Length: 1099511627776\r\n\r\n{\"jsonrpc\":\"2.0\""])
    elif kind == "negative_length":
        OUT.put([b"Content-Length: -5\r\n\r\n{}"])
    elif kind == "endless_headers":
        def endless():
            line = b"X-Endless: " + b"a" * 100 + b"\r\n"
            chunk = line * 10000
            OUT.put([b"Content-Length: 2\r\n"], wait=True)
            for _ in range(256):  # at most ~256 MiB, then give up
                OUT.put([chunk], wait=True)
            log("endless headers: 256 MiB written and still connected")
        threading.Thread(target=endless, daemon=True).start()
    elif kind == "deep_json":
        depth = 1000000
        deep = b"[" * depth + b"]" * depth
        OUT.put([
            frame_raw(b'{"jsonrpc":"2.0","method":"fake.deep","params":' + deep + b"}"),
            frame_raw(b'{"jsonrpc":"2.0","id":"deep-1","method":"fake.deep","params":{"a":' + deep + b"}}"),
            frame_raw(deep),
            real,
        ])
    elif kind == "invalid_utf8":
        OUT.put([
            frame_raw(b'{"jsonrpc":"2.0","method":"fake.bytes","params":{"s":"\xff\xfe\xc3("}}'),
            frame_raw(b'{"jsonrpc":"2.0","id":"bad-\xff","method":"fake.bytes","params":{}}'),
            frame_raw(b"\xff\xfe\xfd"),
            real,
        ])
    elif kind == "odd_ids":
        bogus = {"real": False}
        odd = []
        if isinstance(rid, int):
            odd.append(('"%d"' % rid).encode())    # string id
            odd.append(("%d.0" % rid).encode())    # float id
            odd.append(("%d" % (rid + 1000000)).encode())  # id of a request never sent
        odd += [b"987654321", b"-1", b"null", b'{"id":1}', b"[1]", b"1e400"]
        chunks = []
        for i in odd:
            chunks.append(frame_raw(b'{"jsonrpc":"2.0","id":' + i + b',"result":' +
                                    json.dumps(bogus).encode() + b"}"))
        chunks.append(frame_raw(b'{"jsonrpc":"2.0","id":4242424242,"error":{"code":-1,"message":"never asked"}}'))
        chunks.append(real)
        OUT.put(chunks)
    else:
        reply_error(rid, -32602, "unknown abuse kind %r" % kind)


CONTROL = {"fake.stats": c_stats, "fake.pause": c_pause, "fake.echo": c_echo, "fake.abuse": c_abuse}


# ---- modes ------------------------------------------------------------------------------------


def sleep_ms(ms):
    if ms > 0:
        time.sleep(ms / 1000.0)


def m_input_then_exit(sid):
    """Sends userInput.request for the session and exits at once; its input is
    closed first, so even the library's immediate default answer meets a
    closed pipe."""
    sleep_ms(DELAY_MS)
    rid = S.new_id()
    log("%s: sending userInput.request id %d, then exiting with code %d" % (STDERR_MARKER, rid, EXIT_CODE))
    if "sock" in CONN:
        stop_reader()  # the socket goes as the process exits
    else:
        close_input()
    OUT.put([encode({"jsonrpc": "2.0", "id": rid, "method": "userInput.request",
                     "params": {"sessionId": sid, "question": "Shall we go on?",
                                "choices": ["yes", "no"], "allowFreeform": True}})])
    OUT.flush(5)
    die(EXIT_CODE)


def m_stop_reading_then_exit(sid):
    """Reads nothing after the create reply; once the host's next write has
    begun (its input turns readable), waits DELAY_MS, closes its input (the
    host's blocked write fails at once, the process still alive) and exits
    200 ms after that (TCP: exits at once, unread data and all)."""
    waiting = select.poll()
    waiting.register(CONN["rfd"], select.POLLIN)
    if not waiting.poll(20000):
        log("the host wrote nothing within 20 s")
    sleep_ms(DELAY_MS)
    log("%s: stopped reading, closing my input and exiting with code %d while the host writes"
        % (STDERR_MARKER, EXIT_CODE))
    if "sock" in CONN:
        die(EXIT_CODE)  # a socket closes as a whole: exit at once, as a crash would
    close_input()
    sleep_ms(200)
    die(EXIT_CODE)


def m_close_input_then_exit(sid):
    # The session.create reply must leave first: on TCP the close below shuts
    # the whole socket, and a reply still queued would be lost with it.
    OUT.flush(5)
    log("%s: closing my input on purpose, exit code %d in %d ms" % (STDERR_MARKER, EXIT_CODE, DELAY_MS))
    close_input()
    sleep_ms(DELAY_MS)
    die(EXIT_CODE)


def m_mute(sid):
    S.muted = True


def stop_reading_now(sid):
    """Set before the session.create reply goes out: nothing the host sends
    after that reply is read (the reader stops right after this frame)."""
    S.stop_reading = True


def m_flood_requests(sid):
    sleep_ms(DELAY_MS)
    log("flood: %d %s requests of %d payload bytes, never reading the answers" % (COUNT, METHOD, SIZE))
    payload = "y" * SIZE
    if METHOD == "systemMessage.transform":
        params = {"sessionId": sid, "sections": {"identity": {"content": payload}}}
    elif METHOD == "userInput.request":
        params = {"sessionId": sid, "question": payload, "allowFreeform": True}
    else:
        params = {"sessionId": sid, "hookType": "preToolUse",
                  "input": {"toolName": "bash", "toolArgs": payload}}
    # One template, only the id varies: fast enough to outrun the library.
    tail = (',"method":%s,"params":%s}' % (json.dumps(METHOD), json.dumps(params, separators=(",", ":")))).encode()
    first = S.new_id()
    with S.lock:
        S.next_id += COUNT
    batch = []
    batch_bytes = 0
    for rid in range(first, first + COUNT):
        body = b'{"jsonrpc":"2.0","id":%d' % rid + tail
        f = b"Content-Length: %d\r\n\r\n" % len(body) + body
        batch.append(f)
        batch_bytes += len(f)
        if batch_bytes >= 256 * 1024:
            OUT.put([b"".join(batch)], wait=True)
            with S.lock:
                S.requests_sent += len(batch)
            batch, batch_bytes = [], 0
    if batch:
        OUT.put([b"".join(batch)], wait=True)
        with S.lock:
            S.requests_sent += len(batch)
    log("flood: all %d requests queued" % COUNT)


def m_flood_events(sid, _n):
    """COUNT assistant.message_delta events with SIZE bytes of deltaContent
    (WRAP: user.message first, assistant.message and session.idle last)."""
    total = COUNT + (3 if WRAP else 0)
    log("flood: %d events (%d deltas of %d bytes)" % (total, COUNT, SIZE))
    if WRAP:
        OUT.put([event_frame(sid, event("user.message", {"content": "flood", "messageId": "fake-msg-%d" % _n}))],
                wait=True)
    if SIZE >= 1 << 20:
        big = b"x" * SIZE
        for _ in range(COUNT):
            ev = event("assistant.message_delta", {"messageId": "fake-reply", "deltaContent": "@@BIG@@"}, True)
            head, tail = event_frame(sid, ev).split(b"\r\n\r\n", 1)[1].split(b"@@BIG@@")
            body_len = len(head) + len(big) + len(tail)
            OUT.put([b"Content-Length: %d\r\n\r\n" % body_len, head, big, tail], wait=True)
    else:
        # One template, only the event id varies.
        ev = event("assistant.message_delta", {"messageId": "fake-reply", "deltaContent": "d" * SIZE}, True)
        head, tail = event_frame(sid, ev).split(b"\r\n\r\n", 1)[1].split(ev["id"].encode())
        with S.lock:
            first = S.event_seq + 1
            S.event_seq += COUNT
        batch = []
        for seq in range(first, first + COUNT):
            body = head + b"fake-ev-%d" % seq + tail
            batch.append(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            if len(batch) == 256:
                OUT.put([b"".join(batch)], wait=True)
                batch = []
        if batch:
            OUT.put([b"".join(batch)], wait=True)
    if WRAP:
        OUT.put([event_frame(sid, event("assistant.message", {"messageId": "fake-reply", "content": "done"})),
                 event_frame(sid, event("session.idle", {}, True))], wait=True)
    with S.lock:
        S.events_sent += total
    log("flood: all %d events queued" % total)


def m_bad_events(sid, _n):
    """Three events the library must drop (and count), then session.idle."""
    depth = 1000000
    prefix = b'{"jsonrpc":"2.0","method":"session.event","params":{"sessionId":"' + sid.encode() + b'","event":'
    deep_ev = (b'{"id":"bad-deep","timestamp":"' + now_iso().encode() +
               b'","parentId":null,"type":"assistant.message_delta","data":{"deltaContent":"deep","nest":' +
               b"[" * depth + b"]" * depth + b"}}")
    utf8_ev = (b'{"id":"bad-utf8","timestamp":"' + now_iso().encode() +
               b'","parentId":null,"type":"assistant.message_delta","data":{"deltaContent":"\xff\xfe\xc3("}}')
    unknown = event_frame("00000000-0000-4000-8000-00000000dead",
                          event("assistant.message_delta", {"deltaContent": "for nobody"}, True))
    OUT.put([frame_raw(prefix + deep_ev + b"}}"), frame_raw(prefix + utf8_ev + b"}}"), unknown,
             event_frame(sid, event("session.idle", {}, True))])
    with S.lock:
        S.events_sent += 4


MODES = {
    "normal": {},
    "mute": {"before_create_reply": m_mute},
    "input_then_exit": {"before_create_reply": stop_reading_now, "after_create": m_input_then_exit},
    "stop_reading": {"before_create_reply": stop_reading_now},
    "stop_reading_then_exit": {"before_create_reply": stop_reading_now, "after_create": m_stop_reading_then_exit},
    "close_input_then_exit": {"before_create_reply": stop_reading_now, "after_create": m_close_input_then_exit},
    "flood_requests": {"before_create_reply": stop_reading_now, "after_create": m_flood_requests},
    "flood_events": {"on_send": m_flood_events},
    "bad_events": {"on_send": m_bad_events},
    "destroy_race": {},
}


# ---- start ------------------------------------------------------------------------------------


def parent_watch():
    ppid = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            die(0, "parent %d is gone; exiting" % ppid)


def main():
    if MODE not in MODES:
        die(2, "unknown FAKE_CLI_MODE %r" % MODE)
    signal.alarm(LIFETIME_S)  # default SIGALRM action: terminate
    threading.Thread(target=parent_watch, name="parent-watch", daemon=True).start()
    global OUT
    argv = sys.argv[1:]
    if "--stdio" in argv:
        CONN["rfd"] = 0

        def write(mv):
            return os.write(1, mv)
        OUT = Out(write)
    else:
        port = 0
        if "--port" in argv:
            port = int(argv[argv.index("--port") + 1])
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        listener.settimeout(30)
        sys.stdout.write("CLI server listening on port %d\n" % listener.getsockname()[1])
        sys.stdout.flush()
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            die(5, "nobody connected within 30 s")
        listener.close()
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        CONN["sock"] = sock
        CONN["rfd"] = sock.fileno()

        def write(mv):
            return sock.send(mv)
        OUT = Out(write)
    log("mode %s, %s, pid %d" % (MODE, "tcp" if "sock" in CONN else "stdio", os.getpid()))
    reader()
    # The reader stopped on purpose (a mode stopped reading): live on until
    # killed, the parent goes, or the self-destruct timer fires.
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
