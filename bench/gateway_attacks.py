#!/usr/bin/env python3
"""Upstream and probes of bench/gateway-attacks.sh (Python standard library; the HTTP/2 probes need `h2`).

  gateway_attacks.py upstream --root DIR --log FILE --port P [--port P2 ...]
      the recording upstream: an HTTP/1.1 file server (SimpleHTTPRequestHandler, so paths are
      percent-decoded and normalised as Python's http.server does) that appends every request it
      receives, as it received it, as one JSON line to FILE: the port it came in on, the time its
      first line arrived, the raw request line and header lines, the body length, the status
      served, whether the file served contains SECRET, and what the path resolves to.
  gateway_attacks.py probe --log FILE --key KEY --out JSON --proxy NAME:PLAIN:TLS:UPPORT ...
      sends the attack probes (raw bytes over sockets, HTTP/2 over TLS) to every proxy (the
      proxies in parallel, the probes of one proxy one after another), matches what reached the
      upstream to each probe by port and time, prints the table and one summary line per proxy.
  gateway_attacks.py window --log FILE --port P --start T0 --end T1
      what reached the upstream on port P between two times (for the public testers).
  gateway_attacks.py summarize-smuggler|summarize-smugglex|summarize-h2csmuggler FILE
      one line on what a public tester reported.
"""
import argparse
import http.server
import json
import os
import re
import socket
import ssl
import threading
import time

ADMIN_HOST = "admin.example"

# ---------------------------------------------------------------------------------------------
# the recording upstream


class RecordingReader:
    """Wraps the handler's rfile: remembers the lines read (the head) and when the first came."""

    def __init__(self, raw):
        self.raw = raw
        self.lines = None
        self.t0 = None

    def readline(self, size=-1):
        line = self.raw.readline(size)
        if self.lines is not None and line:
            if self.t0 is None:
                self.t0 = time.time()
            self.lines.append(line)
        return line

    def __getattr__(self, name):
        return getattr(self.raw, name)


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 2  # idle keep-alive connections and partial heads end after this
    log_file = None
    log_lock = threading.Lock()
    root = "."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=self.root, **kwargs)

    def setup(self):
        super().setup()
        self.rfile = RecordingReader(self.rfile)

    def log_message(self, format, *args):  # quiet
        pass

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def copyfile(self, source, outputfile):
        data = source.read()
        if b"SECRET" in data:
            self._secret = True
        outputfile.write(data)

    def handle_one_request(self):
        self.rfile.lines, self.rfile.t0 = [], None
        self._status, self._secret, self._body = None, False, None
        self._logged, self._error = False, None
        try:
            super().handle_one_request()
        except Exception as e:  # noqa: BLE001 — a broken request must not kill the upstream
            self.close_connection = True
            self._error = type(e).__name__
        finally:
            if self.rfile.lines and not self._logged:
                self._record(complete=self._status is not None)

    def __getattr__(self, name):
        # every method (GPOST, PATCH, ...) is served like GET after its body has been read
        if name.startswith("do_") and name != "do_HEAD":
            return self._serve
        raise AttributeError(name)

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._read_body()
        if self._status is None:
            super().do_HEAD()

    def _serve(self):
        self._read_body()
        if self._status is not None:
            return
        try:
            http.server.SimpleHTTPRequestHandler.do_GET(self)
        except ValueError:  # e.g. a NUL byte in the decoded path
            self.send_error(400)

    def _read_body(self):
        te = [v.lower() for v in self.headers.get_all("Transfer-Encoding", [])]
        cl = self.headers.get_all("Content-Length", [])
        raw = self.rfile.raw
        try:
            if te and te[-1].strip().endswith("chunked"):
                n = 0
                while True:
                    line = raw.readline(65537)
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        while raw.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    n += len(raw.read(size))
                    raw.readline(65537)
                self._body = n
            elif cl:
                self._body = len(raw.read(int(cl[0])))
            else:
                self._body = 0
        except ValueError:
            self.close_connection = True
            self.send_error(400, "bad body framing")

    def _area(self):
        target = self.path if hasattr(self, "path") else ""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", target):
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        try:
            local = self.translate_path(target)
            rel = os.path.relpath(local, self.root)
        except ValueError:
            return "?"
        first = rel.split(os.sep)[0]
        return first if first in ("open", "private", "denied") else "other"

    def _record(self, complete):
        self._logged = True
        lines = [ln.decode("latin-1").rstrip("\r\n") for ln in self.rfile.lines]
        head = lines[1:]
        if head and head[-1] == "":
            head = head[:-1]
        rec = {
            "port": self.server.server_address[1],
            "t0": self.rfile.t0,
            "line": lines[0] if lines else "",
            "headers": head,
            "body": self._body,
            "status": self._status,
            "secret": self._secret,
            "area": self._area() if complete else "?",
            "complete": complete,
            "error": self._error,
        }
        with self.log_lock, open(self.log_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")


def cmd_upstream(a):
    RecordingHandler.root = os.path.abspath(a.root)
    RecordingHandler.log_file = a.log
    os.makedirs(os.path.join(a.root, "open"), exist_ok=True)
    os.makedirs(os.path.join(a.root, "private"), exist_ok=True)
    os.makedirs(os.path.join(a.root, "denied"), exist_ok=True)
    for rel, text in (("open/index.txt", "open\n"), ("private/secret.txt", "SECRET\n"),
                      ("denied/secret.txt", "SECRET (denied)\n")):
        with open(os.path.join(a.root, rel), "w", encoding="utf-8") as f:
            f.write(text)
    servers = []
    for port in a.port:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), RecordingHandler)
        srv.daemon_threads = True
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("upstream listening on", ", ".join(str(p) for p in a.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------------------------------------
# probes

SMUG = b"GET /private/secret.txt HTTP/1.1\r\nX-Ignore: x"  # no end: the next request completes it
FOLLOW = b"GET /open/index.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


def get(target, *headers, version=b"HTTP/1.1", host=b"localhost"):
    h = b"".join(x + b"\r\n" for x in headers)
    hostline = b"Host: " + host + b"\r\n" if host is not None else b""
    return b"GET " + target + b" " + version + b"\r\n" + hostline + h + b"\r\n"


def post(head_lines, body, target=b"/open/index.txt"):
    return (b"POST " + target + b" HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(x + b"\r\n" for x in head_lines) + b"\r\n" + body)


def cl_te(te_lines, cl=None):
    """CL.TE: the whole body by Content-Length, a chunked end and a smuggled request by TE."""
    body = b"0\r\n\r\n" + SMUG
    return post([b"Content-Length: %d" % (cl if cl is not None else len(body))] + te_lines, body)


def te_cl():
    """TE.CL: a chunk that holds a smuggled request, Content-Length covering its size line."""
    smug = b"GET /private/secret.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nx="
    size = b"%x\r\n" % len(smug)
    return post([b"Content-Length: %d" % len(size), b"Transfer-Encoding: chunked"],
                size + smug + b"\r\n0\r\n\r\n")


class Probe:
    def __init__(self, name, family, raw=None, follow=False, key=False, h2=None, h2body=None,
                 watch=(), expect=1):
        self.name, self.family, self.raw, self.follow = name, family, raw, follow
        self.expect = expect  # responses to the first send
        self.key, self.h2, self.h2body, self.watch = key, h2, h2body, watch


def probes(key):
    K = b"x-api-key: " + key.encode()
    P = []
    # controls: the set-up answers as configured
    P.append(Probe("control: /open/index.txt", "control", get(b"/open/index.txt")))
    P.append(Probe("control: /private without key", "control", get(b"/private/secret.txt")))
    P.append(Probe("control: /private with key", "control", get(b"/private/secret.txt", K), key=True))
    P.append(Probe("control: /denied with key", "control", get(b"/denied/secret.txt", K), key=True))
    P.append(Probe("control: Host admin.example", "control", get(b"/open/index.txt", host=b"admin.example")))
    P.append(Probe("control: Host admin.example + key", "control",
                   get(b"/open/index.txt", K, host=b"admin.example"), key=True))
    # path confusion
    for t in (b"/open/../private/secret.txt", b"/open/%2e%2e/private/secret.txt",
              b"/open/%2E%2E/private/secret.txt", b"/open/..%2fprivate/secret.txt",
              b"/open/%2e%2e%2fprivate%2fsecret.txt", b"/open/%252e%252e/private/secret.txt",
              b"//private/secret.txt", b"/%70rivate/secret.txt", b"/private%2fsecret.txt",
              b"/private;x/secret.txt", b"/open/..;/private/secret.txt",
              b"/open/..\\private\\secret.txt", b"/open/..%5cprivate%5csecret.txt",
              b"/private%00/secret.txt", b"/open/%00/../../private/secret.txt",
              b"/open/%c0%ae%c0%ae/private/secret.txt", b"/PRIVATE/secret.txt",
              b"/open/./../private/secret.txt", b"/open/../denied/secret.txt",
              b"/open/%2e%2e/denied/secret.txt", b"/%64enied/secret.txt"):
        P.append(Probe("path " + t.decode("latin-1"), "path", get(t)))
    # host confusion
    O = b"/open/index.txt"
    P.append(Probe("GET http://localhost/open/index.txt + Host admin.example", "host",
                   get(b"http://localhost" + O, host=b"admin.example")))
    P.append(Probe("GET http://admin.example/open/index.txt + Host localhost", "host",
                   get(b"http://admin.example" + O)))
    P.append(Probe("HTTP/1.1 without Host", "host", get(O, host=None)))
    P.append(Probe("HTTP/1.0 without Host", "host", get(O, version=b"HTTP/1.0", host=None)))
    P.append(Probe("two Host: localhost, admin.example", "host", get(O, b"Host: admin.example")))
    P.append(Probe("two Host: admin.example, localhost", "host",
                   get(O, b"Host: localhost", host=b"admin.example")))
    P.append(Probe("Host admin.example. (trailing dot)", "host", get(O, host=b"admin.example.")))
    P.append(Probe("Host ADMIN.EXAMPLE:80", "host", get(O, host=b"ADMIN.EXAMPLE:80")))
    P.append(Probe('Host x";for=6.6.6.6;by="y', "host",
                   get(b"/open/index.txt", host=b'x";for=6.6.6.6;by="y'),
                   watch=(("forwarded-for", "6.6.6.6"),)))
    P.append(Probe("h2 :authority localhost + host admin.example", "h2",
                   h2=[(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"),
                       (b":path", O), (b"host", ADMIN_HOST.encode())]))
    P.append(Probe("h2 :authority admin.example (no key)", "h2",
                   h2=[(b":method", b"GET"), (b":scheme", b"https"),
                       (b":authority", ADMIN_HOST.encode()), (b":path", O)]))
    for t in (b"/open/../private/secret.txt", b"/open/%2e%2e/private/secret.txt",
              b"//private/secret.txt"):
        P.append(Probe("h2 :path " + t.decode(), "h2",
                       h2=[(b":method", b"GET"), (b":scheme", b"https"),
                           (b":authority", b"localhost"), (b":path", t)]))
    # forged identity, credentials
    for h, name, val in ((b"X_Consumer_Id: admin", "x_consumer_id", "admin"),
                         (b"X-Consumer-Id: admin", "x-consumer-id", "admin"),
                         (b"X_Forwarded_For: 6.6.6.6", "x_forwarded_for", "6.6.6.6"),
                         (b"X-Forwarded-For: 6.6.6.6", "x-forwarded-for", "6.6.6.6"),
                         (b"X-Real-IP: 6.6.6.6", "x-real-ip", "6.6.6.6"),
                         (b"Forwarded: for=6.6.6.6", "forwarded-for", "6.6.6.6")):
        P.append(Probe(h.decode(), "identity", get(b"/open/index.txt", h), watch=((name, val),)))
    P.append(Probe("key + Connection: X-Consumer-Id", "identity",
                   get(b"/private/secret.txt", K, b"Connection: X-Consumer-Id"), key=True,
                   watch=(("x-consumer-id", "-missing-"),)))
    P.append(Probe("key + Connection: X-Forwarded-For", "identity",
                   get(b"/private/secret.txt", K, b"Connection: X-Forwarded-For",
                       b"X-Forwarded-For: 6.6.6.6"), key=True,
                   watch=(("x-forwarded-for", "6.6.6.6"),)))
    P.append(Probe("API key sent to public /open", "identity", get(b"/open/index.txt", K),
                   key=True, watch=(("x-api-key", key),)))
    P.append(Probe("h2 x-consumer-id: admin", "identity",
                   h2=[(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"),
                       (b":path", b"/open/index.txt"), (b"x-consumer-id", b"admin")],
                   watch=(("x-consumer-id", "admin"),)))
    P.append(Probe("h2 CRLF in value (x: a\\r\\nX-Consumer-Id: admin)", "identity",
                   h2=[(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"),
                       (b":path", b"/open/index.txt"), (b"x", b"a\r\nX-Consumer-Id: admin")],
                   watch=(("x-consumer-id", "admin"),)))
    P.append(Probe("h2c upgrade (Upgrade: h2c)", "identity",
                   get(b"/open/index.txt", b"Upgrade: h2c",
                       b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
                       b"Connection: Upgrade, HTTP2-Settings"),
                   watch=(("upgrade", "h2c"),)))
    # bodies
    P.append(Probe("chunked: invalid size 'zz'", "body",
                   post([b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n")))
    P.append(Probe("chunked: size overflow", "body",
                   post([b"Transfer-Encoding: chunked"], b"fffffffffffffffff1\r\nhello\r\n0\r\n\r\n")))
    P.append(Probe("chunked: bare LF line ends", "body",
                   post([b"Transfer-Encoding: chunked"], b"5\nhello\n0\n\n")))
    P.append(Probe("chunked: ext with bare LF + smuggle", "body",
                   post([b"Transfer-Encoding: chunked"],
                        b"2;x\nxx\r\n45\r\n0\r\n\r\n" + SMUG), follow=True))
    # desync
    P.append(Probe("CL.TE", "desync", cl_te([b"Transfer-Encoding: chunked"]), follow=True))
    P.append(Probe("TE.CL", "desync", te_cl(), follow=True))
    for name, te in (("TE.TE chunked + 'x'", [b"Transfer-Encoding: chunked", b"Transfer-Encoding: x"]),
                     ("TE.TE 'Transfer-Encoding : chunked'", [b"Transfer-Encoding : chunked"]),
                     ("TE.TE 'xchunked'", [b"Transfer-Encoding: xchunked"]),
                     ("TE.TE 'chunked, identity'", [b"Transfer-Encoding: chunked, identity"]),
                     ("TE.TE quoted \"chunked\"", [b'Transfer-Encoding: "chunked"']),
                     ("TE.TE leading space (obs-fold)", [b"X: y", b" Transfer-Encoding: chunked"]),
                     ("TE.TE tab before value", [b"Transfer-Encoding:\tchunked"]),
                     ("TE.TE vertical tab", [b"Transfer-Encoding:\x0bchunked"]),
                     ("TE.TE Transfer_Encoding", [b"Transfer_Encoding: chunked"])):
        P.append(Probe(name, "desync", cl_te(te), follow=True))
    body = b"0\r\n\r\n" + SMUG
    P.append(Probe("CL.CL (0 and N)", "desync",
                   post([b"Content-Length: 0", b"Content-Length: %d" % len(body)], body), follow=True))
    P.append(Probe("CL '+N'", "desync", post([b"Content-Length: +%d" % len(body)], body), follow=True))
    P.append(Probe("TE chunked in HTTP/1.0", "desync",
                   cl_te([b"Transfer-Encoding: chunked"]).replace(b"HTTP/1.1", b"HTTP/1.0", 1),
                   follow=True))
    P.append(Probe("bare LF head + smuggle", "desync",
                   b"POST /open/index.txt HTTP/1.1\nHost: localhost\nContent-Length: %d\n"
                   b"Transfer-Encoding: chunked\n\n" % len(body) + body, follow=True))
    P.append(Probe("pipelined /private after chunked", "desync",
                   post([b"Transfer-Encoding: chunked"], b"0\r\n\r\n") + get(b"/private/secret.txt"),
                   follow=True, expect=2))
    P.append(Probe("h2 content-length 0 + smuggled body (H2.CL)", "desync",
                   h2=[(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"localhost"),
                       (b":path", b"/open/index.txt"), (b"content-length", b"0")],
                   h2body=b"GET /private/secret.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"))
    P.append(Probe("h2 transfer-encoding chunked (H2.TE)", "desync",
                   h2=[(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"localhost"),
                       (b":path", b"/open/index.txt"), (b"transfer-encoding", b"chunked")],
                   h2body=b"0\r\n\r\nGET /private/secret.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"))
    return P


def read_responses(sock, want, deadline):
    """Reads up to `want` HTTP/1 responses; returns (status codes, ended) where ended is
    'closed', 'reset', 'timeout' or ''."""
    buf, codes, pos = b"", [], 0
    while True:
        # parse what we have
        while len(codes) < want:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = buf[pos:end].decode("latin-1")
            m = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", head)
            if not m:
                return codes + ["garbage"], "closed"
            code = int(m.group(1))
            lower = head.lower()
            body_start = end + 4
            te = re.search(r"\r\ntransfer-encoding:[^\r]*chunked", lower)
            cl = re.search(r"\r\ncontent-length:\s*(\d+)", lower)
            if 100 <= code < 200 or code in (204, 304):
                body_end = body_start
            elif te:
                body_end = chunked_end(buf, body_start)
                if body_end is None:
                    break
            elif cl:
                body_end = body_start + int(cl.group(1))
                if body_end > len(buf):
                    break
            else:
                break  # until close
            pos = body_end
            if 100 <= code < 200:
                continue
            codes.append(str(code))
        if len(codes) >= want:
            return codes, ""
        left = deadline - time.time()
        if left <= 0:
            return codes, "timeout"
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return codes, "timeout"
        except (ConnectionResetError, BrokenPipeError):
            return codes, "reset"
        except OSError:
            return codes, "closed"
        if not data:
            if pos < len(buf):  # a response delimited by the close
                m = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", buf[pos:])
                if m and len(codes) < want:
                    codes.append(m.group(1).decode())
            return codes, "closed"
        buf += data


def chunked_end(buf, i):
    while True:
        nl = buf.find(b"\r\n", i)
        if nl < 0:
            return None
        try:
            size = int(buf[i:nl].split(b";")[0], 16)
        except ValueError:
            return len(buf)
        i = nl + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", i - 2)
            return None if end < 0 else end + 4
        i += size + 2
        if i > len(buf):
            return None


def run_h1(port, p, timeout):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return "connect: " + e.strerror if e.strerror else "connect failed"
    try:
        s.sendall(p.raw)
        codes, ended = read_responses(s, p.expect, time.time() + timeout)
        if p.follow and not ended:
            time.sleep(0.05)
            try:
                s.sendall(FOLLOW)
                more, ended = read_responses(s, 1, time.time() + timeout)
                codes += more
            except OSError:
                ended = "closed"
        out = ",".join(codes)
        if ended and (not codes or p.follow):
            out = (out + "," + ended) if out else ended
        return out
    except OSError:
        return "reset"
    finally:
        s.close()


def run_h2(port, p, timeout):
    try:
        import h2.config
        import h2.connection
        import h2.events
    except ImportError:
        return "skipped (no h2)"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    except OSError as e:
        return "tls: %s" % e
    try:
        if s.selected_alpn_protocol() != "h2":
            return "no h2 by ALPN"
        cfg = h2.config.H2Configuration(client_side=True, header_encoding=None,
                                        validate_outbound_headers=False,
                                        normalize_outbound_headers=False,
                                        validate_inbound_headers=False)
        c = h2.connection.H2Connection(config=cfg)
        c.initiate_connection()
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, p.h2, end_stream=p.h2body is None)
        if p.h2body is not None:
            c.send_data(sid, p.h2body, end_stream=True)
        s.sendall(c.data_to_send())
        status, deadline = None, time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return status or "timeout"
            s.settimeout(left)
            try:
                data = s.recv(65536)
            except socket.timeout:
                return status or "timeout"
            if not data:
                return status or "closed"
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = dict(ev.headers).get(b":status", b"?").decode()
                elif isinstance(ev, h2.events.DataReceived):
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    return status or "ended"
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    return "RST_STREAM(%s)" % getattr(ev.error_code, "name", ev.error_code)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return status or "GOAWAY(%s)" % getattr(ev.error_code, "name", ev.error_code)
            out = c.data_to_send()
            if out:
                s.sendall(out)
    except Exception as e:  # noqa: BLE001 — report, never hang or crash the run
        return "error: %s" % type(e).__name__
    finally:
        s.close()


def read_log(path):
    recs = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return recs


def header_values(rec, name):
    out = []
    for h in rec["headers"]:
        n, sep, v = h.partition(":")
        if sep and n.strip().lower() == name:
            out.append(v.strip())
    return out


def forwarded_fors(rec):
    """The for= parameters of Forwarded headers, quoted strings respected."""
    fors = []
    for v in header_values(rec, "forwarded"):
        for elem in re.findall(r'(?:[^,;"]|"(?:[^"\\]|\\.)*")+', v):
            k, _, val = elem.strip().partition("=")
            if k.strip().lower() == "for":
                fors.append(val.strip().strip('"'))
    return fors


def host_of(value):
    v = value.strip().lower()
    if v.startswith("["):
        return v
    return v.rsplit(":", 1)[0].rstrip(".") if ":" in v else v.rstrip(".")


def judge(p, recs):
    """Bypass reasons and watched headers that reached the upstream, for one probe/proxy."""
    bypass, passed = [], []
    for r in recs:
        hosts = [host_of(h) for h in header_values(r, "host")]
        if r.get("secret") and not (p.key and r.get("area") == "private"):
            bypass.append("served SECRET")
        if r.get("area") == "denied":
            bypass.append("/denied reached")
        elif r.get("area") == "private" and not p.key:
            bypass.append("/private reached without key")
        if ADMIN_HOST in hosts and not p.key:
            bypass.append("admin.example reached without key")
        for name, val in p.watch:
            if name == "forwarded-for":
                if val in forwarded_fors(r):
                    passed.append("Forwarded for=" + val)
            elif val == "-missing-":
                if not header_values(r, name):
                    passed.append(name + " missing")
            elif any(val in v for v in header_values(r, name)):
                passed.append(name + ": " + val)
    return sorted(set(bypass)), sorted(set(passed))


def describe(recs):
    if not recs:
        return "—"
    parts = []
    for r in recs:
        line = r["line"]
        if len(line) > 60:
            line = line[:57] + "..."
        extra = []
        if r.get("status"):
            extra.append(str(r["status"]))
        else:
            extra.append("no answer: " + r["error"] if r.get("error") else "incomplete")
        if r.get("secret"):
            extra.append("SECRET")
        hosts = header_values(r, "host")
        if hosts != ["localhost"]:
            extra.append("Host " + "|".join(hosts) if hosts else "no Host")
        parts.append("%s [%s]" % (line, " ".join(extra)))
    return "; ".join(parts)


def cmd_probe(a):
    proxies = []
    for spec in a.proxy:
        name, plain, tls, up = spec.split(":")
        proxies.append((name, int(plain), int(tls), int(up)))
    plist = probes(a.key)
    windows = {name: [] for name, *_ in proxies}
    answers = {name: [] for name, *_ in proxies}

    def run_all(name, plain, tls):
        for p in plist:
            t0 = time.time()
            ans = run_h2(tls, p, a.timeout) if p.h2 else run_h1(plain, p, a.timeout)
            time.sleep(0.05)
            answers[name].append(ans)
            windows[name].append(t0)

    threads = [threading.Thread(target=run_all, args=(n, pl, tl)) for n, pl, tl, _ in proxies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(a.settle)  # partial heads left in the upstream end by its timeout
    recs = read_log(a.log)

    summary = {}
    for name, _plain, _tls, up in proxies:
        mine = [r for r in recs if r.get("port") == up and r.get("t0")]
        starts = windows[name] + [float("inf")]
        per = [[r for r in mine if starts[i] <= r["t0"] < starts[i + 1]] for i in range(len(plist))]
        summary[name] = per
    results = []
    for i, p in enumerate(plist):
        row = {"probe": p.name, "family": p.family}
        for name, *_ in proxies:
            b, passed = judge(p, summary[name][i])
            row[name] = {"answer": answers[name][i], "upstream": summary[name][i],
                         "bypass": b, "passed": passed}
        results.append(row)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)

    names = [n for n, *_ in proxies]
    hdr = ["probe"] + names + ["what reached the upstream (%s)" % n for n in names] + ["bypass"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")

    def cell(s):
        return s.replace("|", "\\|").replace("\r", "\\r").replace("\n", "\\n")

    for row in results:
        ups, flags = [], []
        for n in names:
            d = row[n]
            text = describe(d["upstream"])
            if d["passed"]:
                text += " {passed: " + ", ".join(d["passed"]) + "}"
            ups.append(text)
            if d["bypass"]:
                flags.append("**%s: %s**" % (n, ", ".join(d["bypass"])))
        print("| " + " | ".join(cell(x) for x in [row["probe"]] + [row[n]["answer"] for n in names]
                                + ups + ["; ".join(flags)]) + " |")
    print()
    for n in names:
        nb = sum(1 for r in results if r[n]["bypass"])
        npass = sum(1 for r in results if r[n]["passed"])
        print("summary %-6s probes %d, bypasses %d, rows where a forged or hop-by-hop header "
              "passed %d" % (n + ":", len(results), nb, npass))


def cmd_window(a):
    recs = [r for r in read_log(a.log)
            if r.get("port") == a.port and r.get("t0") and a.start <= r["t0"] < a.end]
    bad = [r for r in recs if r.get("area") in ("private", "denied") or r.get("secret")
           or ADMIN_HOST in [host_of(h) for h in header_values(r, "host")]]
    lines = sorted({r["line"][:70] for r in bad})
    msg = "%d requests reached the upstream" % len(recs)
    if bad:
        msg += "; %d for /private, /denied or admin.example: %s" % (len(bad), "; ".join(lines[:5]))
    else:
        msg += ", none for /private, /denied or admin.example"
    print(msg)


def cmd_summarize(a):
    text = open(a.file, encoding="utf-8", errors="replace").read()
    if a.what == "summarize-smuggler":
        results = re.findall(r"\[([^\]\r\n]+)\]\s*: (OK|DISCONNECTED|SOCKET ERROR|"
                             r"CLTE TIMEOUT ON BOTH[^\r\n]*|TECL TIMEOUT ON BOTH[^\r\n]*|"
                             r"Potential (?:CLTE|TECL) Issue Found)", text)
        final = {}
        for mut, res in results:
            if mut != "CRITICAL":
                final[mut] = res
        counts = {}
        for res in final.values():
            key = res.split(" ON BOTH")[0].lower() if "ON BOTH" in res else res.lower()
            counts[key] = counts.get(key, 0) + 1
        issues = sorted("%s (%s)" % (res.split()[1], m) for m, res in final.items()
                        if res.startswith("Potential"))
        if "Unable to connect" in text:
            print("could not connect")
            return
        desc = ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items()))
        codes = {}
        for c in re.findall(r"\((?:TECL|CLTE): [0-9.]+ - ([^)]*)\)", text):
            codes[c or "?"] = codes.get(c or "?", 0) + 1
        if codes:
            desc += " (answers: %s)" % ", ".join("%s x%d" % kv for kv in sorted(codes.items()))
        print("%d mutations: %s; %s" % (len(final), desc or "none",
                                         ("potential issues: " + ", ".join(issues)) if issues
                                         else "no issues found"))
    elif a.what == "summarize-smugglex":
        m = re.search(r"\{.*\}", text, re.S)
        if not m:
            tail = text.strip().splitlines()[-1:] or ["no output"]
            print("no JSON output: " + tail[0][:200])
            return
        try:
            doc = json.loads(m.group(0))
        except ValueError:
            print("unreadable JSON output")
            return
        docs = doc.get("results", [doc]) if isinstance(doc, dict) else doc
        parts = []
        for d in docs:
            if d.get("error"):
                parts.append("error: %s" % d["error"])
            for c in d.get("checks", []):
                if c.get("vulnerable"):
                    parts.append("%s VULNERABLE (%s; %s)" % (
                        c.get("check_type"), c.get("confidence"),
                        ", ".join(c.get("detection_signals", [])) or c.get("attack_status")))
                else:
                    parts.append("%s ok" % c.get("check_type"))
        print("; ".join(parts) if parts else "no checks reported")
    else:  # h2csmuggler
        if "can be used for tunneling" in text or "h2c stream established" in text:
            print("h2c upgrade ACCEPTED: tunnel established")
        elif "Failed to upgrade" in text:
            st = re.search(r"HTTP/1\.[01] (\d{3})", text)
            print("no tunnel (upgrade refused%s)" % (", " + st.group(1) if st else ""))
        else:
            lines = [ln for ln in text.strip().splitlines() if ln.strip()]
            print("no tunnel (%s)" % (lines[-1][:120] if lines else "no output"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("upstream")
    u.add_argument("--root", required=True)
    u.add_argument("--log", required=True)
    u.add_argument("--port", type=int, action="append", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--log", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--proxy", action="append", required=True, help="NAME:PLAIN:TLS:UPSTREAM_PORT")
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--settle", type=float, default=2.5)
    w = sub.add_parser("window")
    w.add_argument("--log", required=True)
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--start", type=float, required=True)
    w.add_argument("--end", type=float, required=True)
    for what in ("summarize-smuggler", "summarize-smugglex", "summarize-h2csmuggler"):
        s = sub.add_parser(what)
        s.add_argument("file")
    a = ap.parse_args()
    if a.cmd == "upstream":
        cmd_upstream(a)
    elif a.cmd == "probe":
        cmd_probe(a)
    elif a.cmd == "window":
        cmd_window(a)
    else:
        a.what = a.cmd
        cmd_summarize(a)


if __name__ == "__main__":
    main()
