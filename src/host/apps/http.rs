//! `http-server PORT` and `curl URL`: HTTP/1.1 GET over smoltcp TCP.
//!
//! The server answers `/` with a line naming itself and the address the client came from (so a
//! NAT lab shows what the server saw), `/bytes/N` with N bytes of a checkable pattern, and
//! anything else with 404. Each response closes the connection.

use std::fmt::Write;

use smoltcp::socket::tcp;
use smoltcp::wire::IpEndpoint;

use super::bulk::Pattern;
use super::tcp::{self as tcpx, Client, Conn};
use super::{App, Held};
use crate::host::cmd::CurlArgs;
use crate::host::net::{Net, SockRef};
use crate::host::resolve::Dest;
use crate::sim::CmdResult;
use crate::time::Instant;

const SERVER_RX: usize = 16 * 1024;
const SERVER_TX: usize = 256 * 1024;
const CLIENT_RX: usize = 256 * 1024;
const CLIENT_TX: usize = 4 * 1024;
/// Response bytes curl keeps for its output; beyond it bytes are counted, not kept.
const KEEP: usize = 128 * 1024;
/// The server's listening descriptor and backlog: `python3 -m http.server`'s socket (fd 3)
/// and its `request_queue_size`.
const SERVER_FD: u32 = 3;
const SERVER_BACKLOG: u32 = 5;
/// curl 7.88's connection descriptor: its wakeup socketpair takes 3 and 4 first.
const CURL_FD: u32 = 5;

struct Exchange {
    sock: SockRef,
    /// The accepted connection's descriptor, the lowest free after the listener's.
    fd: u32,
    request: Vec<u8>,
    head: Vec<u8>,
    head_sent: usize,
    body: Body,
    responded: bool,
}

enum Body {
    Text(Vec<u8>, usize),
    Pattern(Pattern, u64),
    None,
}

pub struct HttpServer {
    host: String,
    port: u16,
    /// `--bind ::`: both families, a client's IPv4 address logged as `::ffff:a.b.c.d`.
    dual: bool,
    listeners: Vec<SockRef>,
    exchanges: Vec<Exchange>,
    out: String,
    requests: u64,
}

impl HttpServer {
    pub fn start(host: &str, port: u16, dual: bool, net: &mut Net) -> HttpServer {
        let listeners = tcpx::listen_all_family(net, port, SERVER_RX, SERVER_TX, dual);
        let out = match dual {
            false => format!("Serving HTTP on 0.0.0.0 port {port} ...\n"),
            // python3 -m http.server --bind :: (3.11).
            true => format!("Serving HTTP on :: port {port} (http://[::]:{port}/) ...\n"),
        };
        HttpServer {
            host: host.to_string(),
            port,
            dual,
            listeners,
            exchanges: Vec::new(),
            out,
            requests: 0,
        }
    }

    fn respond(&mut self, now: Instant, net: &mut Net, i: usize) {
        let ex = &mut self.exchanges[i];
        let Some(end) = find(&ex.request, b"\r\n\r\n") else {
            return;
        };
        let head = String::from_utf8_lossy(&ex.request[..end]).to_string();
        let line = head.lines().next().unwrap_or("").to_string();
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let s = net.socket::<tcp::Socket>(ex.sock);
        let peer = s.remote_endpoint();
        let local = s.local_endpoint();
        let (status, reason, body) = match (method, path) {
            ("GET" | "HEAD", "/") => {
                let text = format!(
                    "Hello from {} ({}). You came from {}.\n",
                    self.host,
                    endpoint(local),
                    endpoint(peer)
                );
                (200, "OK", Body::Text(text.into_bytes(), 0))
            }
            ("GET" | "HEAD", p) if p.starts_with("/bytes/") => {
                match p["/bytes/".len()..].parse::<u64>() {
                    Ok(n) => (200, "OK", Body::Pattern(Pattern::default(), n)),
                    Err(_) => (400, "Bad Request", Body::Text(b"Bad Request\n".to_vec(), 0)),
                }
            }
            ("GET" | "HEAD", _) => (404, "Not Found", Body::Text(b"Not Found\n".to_vec(), 0)),
            _ => (
                501,
                "Not Implemented",
                Body::Text(b"Not Implemented\n".to_vec(), 0),
            ),
        };
        let len = match &body {
            Body::Text(b, _) => b.len() as u64,
            Body::Pattern(_, n) => *n,
            Body::None => 0,
        };
        let ctype = if matches!(body, Body::Pattern(..)) {
            "application/octet-stream"
        } else {
            "text/plain"
        };
        ex.head = format!(
            "HTTP/1.1 {status} {reason}\r\nServer: hoplab-http\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        ex.body = if method == "HEAD" { Body::None } else { body };
        ex.responded = true;
        self.requests += 1;
        let peer_ip = match peer.map(|e| e.addr) {
            Some(smoltcp::wire::IpAddress::Ipv4(a)) if self.dual => format!("::ffff:{a}"),
            Some(a) => a.to_string(),
            None => String::new(),
        };
        let _ = writeln!(self.out, "{peer_ip} - - [{now}] \"{line}\" {status} {len}",);
    }
}

/// An endpoint as programs print one: `10.0.0.1:80`, `[2001:db8::1]:80`; none is empty.
pub(super) fn endpoint(e: Option<IpEndpoint>) -> String {
    match e {
        Some(IpEndpoint {
            addr: smoltcp::wire::IpAddress::Ipv6(a),
            port,
        }) => format!("[{a}]:{port}"),
        Some(e) => format!("{}:{}", e.addr, e.port),
        None => String::new(),
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl App for HttpServer {
    fn iface_up(&mut self, net: &mut Net, iface: usize) {
        if let Some(l) = net.listen_family(iface, self.port, SERVER_RX, SERVER_TX, self.dual) {
            self.listeners.push(l);
        }
    }

    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        // A listener that took a connection becomes an exchange; a fresh one replaces it.
        for l in 0..self.listeners.len() {
            let sock = self.listeners[l];
            if net.socket::<tcp::Socket>(sock).is_listening() {
                continue;
            }
            let fd = super::lowest_free_fd(4, self.exchanges.iter().map(|e| e.fd));
            self.exchanges.push(Exchange {
                sock,
                fd,
                request: Vec::new(),
                head: Vec::new(),
                head_sent: 0,
                body: Body::None,
                responded: false,
            });
            let fresh = net.listen_family(sock.iface, self.port, SERVER_RX, SERVER_TX, self.dual);
            if let Some(fresh) = fresh {
                self.listeners[l] = fresh;
            }
        }
        let mut i = 0;
        while i < self.exchanges.len() {
            let sock = self.exchanges[i].sock;
            if !self.exchanges[i].responded {
                let ex = &mut self.exchanges[i];
                tcpx::drain(net, sock, &mut ex.request, 8192);
                self.respond(now, net, i);
            }
            let ex = &mut self.exchanges[i];
            if ex.responded {
                tcpx::push(net, sock, &ex.head, &mut ex.head_sent);
                if ex.head_sent == ex.head.len() {
                    let s = net.socket::<tcp::Socket>(sock);
                    match &mut ex.body {
                        Body::Text(b, sent) => {
                            if *sent < b.len()
                                && let Ok(n) = s.send_slice(&b[*sent..])
                            {
                                *sent += n;
                            }
                            if *sent == b.len() {
                                ex.body = Body::None;
                            }
                        }
                        Body::Pattern(p, left) => {
                            while *left > 0 && s.can_send() {
                                let n = s
                                    .send(|buf| {
                                        let n = buf.len().min(*left as usize);
                                        p.fill(&mut buf[..n]);
                                        (n, n)
                                    })
                                    .unwrap_or(0);
                                if n == 0 {
                                    break;
                                }
                                *left -= n as u64;
                            }
                            if *left == 0 {
                                ex.body = Body::None;
                            }
                        }
                        Body::None => {}
                    }
                    if matches!(ex.body, Body::None) {
                        net.orphan(sock);
                        self.exchanges.swap_remove(i);
                        continue;
                    }
                }
            }
            let s = net.socket::<tcp::Socket>(sock);
            if !s.is_open() {
                net.remove(sock);
                self.exchanges.swap_remove(i);
                continue;
            }
            i += 1;
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        None
    }

    fn held(&self, out: &mut Vec<Held>) {
        let listeners = self.listeners.iter();
        out.extend(listeners.map(|&l| Held::listener(l, SERVER_FD, SERVER_BACKLOG)));
        out.extend(self.exchanges.iter().map(|e| Held::socket(e.sock, e.fd)));
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        for s in self.listeners.drain(..) {
            net.remove(s);
        }
        for ex in self.exchanges.drain(..) {
            super::tcp::abort(net, ex.sock);
            net.orphan(ex.sock);
        }
        CmdResult {
            exit_code: 0,
            output: std::mem::take(&mut self.out),
            received: Some(self.requests),
            stopped: true,
            ..CmdResult::default()
        }
    }
}

pub struct Curl {
    args: CurlArgs,
    conn: Option<Client>,
    start: Instant,
    request: Vec<u8>,
    sent: usize,
    response: Vec<u8>,
    head_end: Option<usize>,
    status: Option<u16>,
    content_length: Option<u64>,
    body_bytes: u64,
    total_read: u64,
    /// A failure known at start (the name did not resolve, no route): exit code and message,
    /// reported at the first poll so that `-w` still prints.
    early_error: Option<(i32, String)>,
}

impl Curl {
    pub fn start(args: CurlArgs, now: Instant, net: &mut Net) -> Result<Curl, String> {
        let method = if args.head { "HEAD" } else { "GET" };
        let request = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
            args.path, args.host_header
        )
        .into_bytes();
        let connected = match (&args.dest6, args.host.resolve(&net.names)) {
            (Some(d), _) => {
                // curl 7.88 says "Couldn't connect to server" whatever connect(2) said: no
                // route, or a zone that names no interface (scope id 0: EINVAL).
                let dev = d.scope.as_ref().map(|z| net.iface_named(z));
                let connected = match dev {
                    Some(None) => Err(String::new()),
                    Some(Some(i)) => Client::connect6(
                        net,
                        d.addr,
                        Some(i),
                        args.port,
                        args.local_port,
                        CLIENT_RX,
                        CLIENT_TX,
                    ),
                    None => Client::connect6(
                        net,
                        d.addr,
                        None,
                        args.port,
                        args.local_port,
                        CLIENT_RX,
                        CLIENT_TX,
                    ),
                };
                connected.map_err(|_| {
                    let (host, port) = (d.addr, args.port);
                    let msg = format!(
                        "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server"
                    );
                    (7, msg)
                })
            }
            // `-6`: a name has no IPv6 address here (the resolver answers A records only);
            // an IPv4 address is no IPv6 destination (curl 7.88's words for it).
            (None, Ok(_)) if args.ipv6_only => match args.host {
                Dest::Name(_) => Err((
                    6,
                    format!("curl: (6) Could not resolve host: {}", args.host),
                )),
                Dest::Addr(_) => Err((7, "curl: (7) Couldn't connect to server".to_string())),
            },
            // As over IPv6: curl 7.88 words every failed connect(2) the same.
            (None, Ok((ip, _))) => {
                Client::connect(net, ip, args.port, args.local_port, CLIENT_RX, CLIENT_TX).map_err(
                    |_| {
                        let (host, port) = (&args.host, args.port);
                        let msg = format!(
                            "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server"
                        );
                        (7, msg)
                    },
                )
            }
            (None, Err(_)) => Err((
                6,
                format!("curl: (6) Could not resolve host: {}", args.host),
            )),
        };
        let (conn, early_error) = match connected {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        Ok(Curl {
            args,
            conn,
            start: now,
            request,
            sent: 0,
            response: Vec::new(),
            head_end: None,
            status: None,
            content_length: None,
            body_bytes: 0,
            total_read: 0,
            early_error,
        })
    }

    /// The host as curl names it in its messages: an IPv6 address without brackets or zone.
    fn host_text(&self) -> String {
        match &self.args.dest6 {
            Some(d) => d.addr.to_string(),
            None => self.args.host.to_string(),
        }
    }

    fn elapsed_ms(&self, now: Instant) -> u64 {
        now.saturating_sub(self.start).nanos() / 1_000_000
    }

    fn fail(&mut self, code: i32, msg: String, net: &mut Net) -> CmdResult {
        if let Some(c) = self.conn.take() {
            super::tcp::abort(net, c.sock);
            net.orphan(c.sock);
        }
        let mut output = self.write_out();
        // curl's error line, unless `-s` without `-S` silences it.
        if !self.args.silent || self.args.show_error {
            output.push_str(&msg);
            output.push('\n');
        }
        CmdResult {
            exit_code: code,
            output,
            status: self.status,
            bytes: Some(self.body_bytes),
            ..CmdResult::default()
        }
    }

    fn parse_head(&mut self) {
        let Some(end) = find(&self.response, b"\r\n\r\n") else {
            return;
        };
        let head = String::from_utf8_lossy(&self.response[..end]).to_string();
        self.status = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok());
        self.content_length = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        });
        self.head_end = Some(end + 4);
    }

    fn write_out(&self) -> String {
        let Some(fmt) = &self.args.write_out else {
            return String::new();
        };
        let remote = self.conn.as_ref().map(|c| c.remote);
        fmt.replace("%{http_code}", &format!("{:03}", self.status.unwrap_or(0)))
            .replace(
                "%{response_code}",
                &format!("{:03}", self.status.unwrap_or(0)),
            )
            .replace("%{size_download}", &self.body_bytes.to_string())
            .replace(
                "%{remote_ip}",
                &remote.map(|r| r.addr.to_string()).unwrap_or_default(),
            )
            .replace(
                "%{remote_port}",
                &remote.map(|r| r.port.to_string()).unwrap_or_default(),
            )
            .replace(
                "%{local_port}",
                &self
                    .conn
                    .as_ref()
                    .map(|c| c.local_port.to_string())
                    .unwrap_or_default(),
            )
            .replace("\\n", "\n")
    }

    fn complete(&mut self, net: &mut Net) -> CmdResult {
        let status = self.status.unwrap_or(0);
        if self.args.fail && status >= 400 {
            let msg = format!("curl: (22) The requested URL returned error: {status}");
            return self.fail(22, msg, net);
        }
        if let Some(c) = &self.conn {
            net.orphan(c.sock);
        }
        let head_end = self.head_end.unwrap_or(self.response.len());
        let mut output = String::new();
        if self.args.include_headers || self.args.head {
            output.push_str(&String::from_utf8_lossy(&self.response[..head_end]));
        }
        if !self.args.discard_body && !self.args.head {
            output.push_str(&String::from_utf8_lossy(&self.response[head_end..]));
        }
        output.push_str(&self.write_out());
        CmdResult {
            exit_code: 0,
            output,
            status: self.status,
            bytes: Some(self.body_bytes),
            ..CmdResult::default()
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let connect = self
            .args
            .connect_timeout
            .filter(|_| !self.conn.as_ref().is_some_and(Client::was_established));
        match (self.args.max_time, connect) {
            (Some(a), Some(b)) => Some(self.start + a.min(b)),
            (Some(a), None) | (None, Some(a)) => Some(self.start + a),
            (None, None) => None,
        }
    }

    fn timeout_message(&self, now: Instant) -> String {
        let ms = self.elapsed_ms(now);
        if self.conn.as_ref().is_some_and(Client::was_established) {
            format!(
                "curl: (28) Operation timed out after {ms} milliseconds with {} bytes received",
                self.body_bytes
            )
        } else {
            format!(
                "curl: (28) Failed to connect to {} port {} after {ms} ms: Timeout was reached",
                self.host_text(),
                self.args.port
            )
        }
    }
}

impl App for Curl {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        if let Some((code, msg)) = self.early_error.take() {
            return Some(self.fail(code, msg, net));
        }
        if self.deadline().is_some_and(|d| now >= d) {
            let msg = self.timeout_message(now);
            return Some(self.fail(28, msg, net));
        }
        let conn = self.conn.as_mut()?;
        let sock = conn.sock;
        match conn.state(net) {
            Conn::Connecting => None,
            Conn::Refused => {
                let msg = format!(
                    "curl: (7) Failed to connect to {} port {} after {} ms: Couldn't connect to server",
                    self.host_text(),
                    self.args.port,
                    self.elapsed_ms(now)
                );
                Some(self.fail(7, msg, net))
            }
            state => {
                tcpx::push(net, sock, &self.request, &mut self.sent);
                self.total_read += tcpx::drain(net, sock, &mut self.response, KEEP) as u64;
                if self.head_end.is_none() {
                    self.parse_head();
                }
                if let Some(h) = self.head_end {
                    self.body_bytes = self.total_read - h as u64;
                }
                let body_done = match (self.head_end, self.content_length) {
                    (Some(_), Some(len)) => self.body_bytes >= len,
                    (Some(_), None) => false,
                    _ => false,
                } || (self.args.head && self.head_end.is_some());
                if body_done || state == Conn::PeerClosed {
                    if self.head_end.is_none() {
                        return Some(self.fail(
                            52,
                            "curl: (52) Empty reply from server".into(),
                            net,
                        ));
                    }
                    return Some(self.complete(net));
                }
                None
            }
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.early_error.is_some() {
            return Some(self.start);
        }
        self.deadline()
    }

    fn held(&self, out: &mut Vec<Held>) {
        out.extend(self.conn.as_ref().map(|c| Held::socket(c.sock, CURL_FD)));
    }

    fn stop(&mut self, now: Instant, net: &mut Net) -> CmdResult {
        let msg = self.timeout_message(now);
        let mut r = self.fail(28, msg, net);
        r.stopped = true;
        r
    }
}
