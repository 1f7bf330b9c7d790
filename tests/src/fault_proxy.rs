//! A fault-injecting HTTP/1.1 proxy for end-to-end tests: it sits between phones and the real
//! server on 127.0.0.1 and, driven by a seeded RNG, does one thing to each connection it accepts
//! — passes it, cuts it mid-request, cuts it mid-response after the server has answered, sends the
//! whole request to the server twice, delays it, or truncates the answer's body.
//!
//! Every exchange goes to the server on a connection of its own with `Connection: close`, and the
//! answer goes back with `Connection: close` too: one exchange per connection, so "per connection"
//! and "per request" are the same thing and a phone never reuses a connection the proxy cut.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forwarded as it is.
    Pass,
    /// Part of the request reaches the server, then both sides are closed: the server never
    /// processes it, the phone gets no answer.
    CutRequest,
    /// The server processes the whole request and answers; the phone gets part of the answer's
    /// head (perhaps nothing) before the connection closes. The phone must retry, and the server
    /// must recognise what it already did.
    CutResponse,
    /// The whole request goes to the server twice (the first answer is thrown away); the phone
    /// gets the second answer.
    Replay,
    /// Forwarded whole, late, and the answer in two parts with a pause between them.
    Delay,
    /// The answer's head and part of its body, then the connection closes.
    Truncate,
}

impl Fault {
    pub const ALL: [Fault; 6] =
        [Fault::Pass, Fault::CutRequest, Fault::CutResponse, Fault::Replay, Fault::Delay, Fault::Truncate];

    fn index(self) -> usize {
        Self::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// How often each fault is drawn: relative weights, in the order of `Fault::ALL`.
#[derive(Debug, Clone, Copy)]
pub struct FaultMix(pub [u32; 6]);

impl FaultMix {
    /// Every connection passes.
    pub const CALM: FaultMix = FaultMix([1, 0, 0, 0, 0, 0]);
    /// About a third of the connections fail one way or another; the rest pass, are replayed or
    /// are slow.
    pub const STORMY: FaultMix = FaultMix([4, 1, 1, 1, 1, 1]);

    fn draw(&self, rng: &mut StdRng) -> Fault {
        let total: u32 = self.0.iter().sum();
        if total == 0 {
            return Fault::Pass;
        }
        let mut pick = rng.gen_range(0..total);
        for (fault, weight) in Fault::ALL.iter().zip(self.0) {
            if pick < weight {
                return *fault;
            }
            pick -= weight;
        }
        Fault::Pass
    }
}

/// How many connections met each fault, and how many requests reached the server.
#[derive(Debug, Default)]
struct Counters {
    by_fault: [AtomicU64; 6],
    upstream_requests: AtomicU64,
}

/// What the proxy did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    pub pass: u64,
    pub cut_request: u64,
    pub cut_response: u64,
    pub replay: u64,
    pub delay: u64,
    pub truncate: u64,
    /// Whole requests the server received (a replay counts twice, a cut request not at all).
    pub upstream_requests: u64,
}

/// The proxy, listening on a free loopback port until dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give it to the phones instead of the server's.
    pub url: String,
    counters: Arc<Counters>,
    mix: Arc<std::sync::Mutex<FaultMix>>,
    task: tokio::task::JoinHandle<()>,
}

/// Longest request head the proxy reads (the phones' heads are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;
/// Longest request body it reads (a push of a few batches is far below this).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long one exchange with the server may take before the proxy gives up on it (and closes
/// the phone's connection, so nothing ever hangs on the proxy).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream` (`http://host:port` or `host:port`).
    /// Connection n's fault and cut points come from an RNG seeded with `seed` and n.
    pub async fn start(upstream: &str, seed: u64, mix: FaultMix) -> std::io::Result<Self> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{upstream}: {e}")))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let counters = Arc::new(Counters::default());
        let mix = Arc::new(std::sync::Mutex::new(mix));
        let task = tokio::spawn(accept_loop(listener, upstream, seed, counters.clone(), mix.clone()));
        Ok(Self { url, counters, mix, task })
    }

    /// Changes the mix for connections accepted from now on.
    pub fn set_mix(&self, mix: FaultMix) {
        *self.mix.lock().unwrap_or_else(|p| p.into_inner()) = mix;
    }

    pub fn counts(&self) -> FaultCounts {
        let n = |f: Fault| self.counters.by_fault[f.index()].load(Ordering::Relaxed);
        FaultCounts {
            pass: n(Fault::Pass),
            cut_request: n(Fault::CutRequest),
            cut_response: n(Fault::CutResponse),
            replay: n(Fault::Replay),
            delay: n(Fault::Delay),
            truncate: n(Fault::Truncate),
            upstream_requests: self.counters.upstream_requests.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    seed: u64,
    counters: Arc<Counters>,
    mix: Arc<std::sync::Mutex<FaultMix>>,
) {
    let mut n: u64 = 0;
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        n += 1;
        // each connection its own stream of draws, so one connection's cut points do not shift
        // every later connection's fault
        let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let fault = mix.lock().unwrap_or_else(|p| p.into_inner()).draw(&mut rng);
        let counters = counters.clone();
        tokio::spawn(async move {
            // a phone that went away, or a server that did not answer, ends the connection
            let _ = handle(client, upstream, fault, rng, &counters).await;
        });
    }
}

/// One request as the phone sent it: its head (up to the blank line) and its body.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Request {
    /// The bytes the server gets: the head with `Connection: close`, then the body.
    fn bytes(&self) -> Vec<u8> {
        let mut out = with_connection_close(&self.head);
        out.extend_from_slice(&self.body);
        out
    }
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    mut rng: StdRng,
    counters: &Counters,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut client).await? else { return Ok(()) };
    counters.by_fault[fault.index()].fetch_add(1, Ordering::Relaxed);
    let wire = request.bytes();
    match fault {
        Fault::Pass => {
            let answer = exchange(upstream, &wire, counters).await?;
            client.write_all(&answer).await?;
        }
        Fault::CutRequest => {
            let mut server = TcpStream::connect(upstream).await?;
            let cut = rng.gen_range(1..wire.len().max(2));
            server.write_all(&wire[..cut]).await?;
            // both sides closed: the server sees a request that never ends, the phone no answer
        }
        Fault::CutResponse => {
            let answer = exchange(upstream, &wire, counters).await?;
            let head_end = head_len(&answer).unwrap_or(answer.len());
            let cut = rng.gen_range(0..head_end.max(1));
            client.write_all(&answer[..cut]).await?;
        }
        Fault::Replay => {
            let _first = exchange(upstream, &wire, counters).await?;
            let answer = exchange(upstream, &wire, counters).await?;
            client.write_all(&answer).await?;
        }
        Fault::Delay => {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(5..60))).await;
            let answer = exchange(upstream, &wire, counters).await?;
            let split = rng.gen_range(0..=answer.len());
            client.write_all(&answer[..split]).await?;
            client.flush().await?;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(5..60))).await;
            client.write_all(&answer[split..]).await?;
        }
        Fault::Truncate => {
            let answer = exchange(upstream, &wire, counters).await?;
            let head_end = head_len(&answer).unwrap_or(answer.len());
            // an answer without a body can only be cut in its head
            let cut = if answer.len() > head_end {
                rng.gen_range(head_end..answer.len())
            } else {
                rng.gen_range(0..head_end.max(1))
            };
            client.write_all(&answer[..cut]).await?;
        }
    }
    client.shutdown().await
}

/// Reads one whole request (head, then `Content-Length` bytes of body). `None` when the phone
/// closed the connection before sending anything.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(end) = head_len(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "request head too long"));
        }
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "request head cut"))
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = buf[..head_end].to_vec();
    let text = String::from_utf8_lossy(&head);
    if header(&text, "transfer-encoding").is_some() {
        // the phones send bodies of known length; a chunked one would need a parser this test
        // proxy does not have
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "chunked requests are not proxied"));
    }
    let length: usize = match header(&text, "content-length") {
        Some(v) => v.parse().map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad Content-Length"))?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "request body too long"));
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "request body cut"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request { head, body }))
}

/// Sends one request to the server on a new connection and reads its whole answer (the server
/// closes the connection after it, as the request asked), with `Connection: close` in its head.
async fn exchange(upstream: SocketAddr, wire: &[u8], counters: &Counters) -> std::io::Result<Vec<u8>> {
    let work = async {
        let mut server = TcpStream::connect(upstream).await?;
        server.write_all(wire).await?;
        counters.upstream_requests.fetch_add(1, Ordering::Relaxed);
        let mut answer = Vec::new();
        server.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(UPSTREAM_TIMEOUT, work)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the server did not answer"))??;
    let Some(head_end) = head_len(&answer) else {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the server's answer has no head"));
    };
    let mut out = with_connection_close(&answer[..head_end]);
    out.extend_from_slice(&answer[head_end..]);
    Ok(out)
}

/// The length of an HTTP head including its blank line, once the buffer holds all of it.
fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// A header's value (the first), by case-insensitive name.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The head with any `Connection` header replaced by `Connection: close`.
fn with_connection_close(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(head.len() + 20);
    for line in text.trim_end_matches("\r\n").split("\r\n") {
        let is_connection = line.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_found_and_rewritten_to_close() {
        let head = b"POST /v1/push HTTP/1.1\r\nHost: x\r\nconnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc";
        let end = head_len(head).unwrap();
        assert_eq!(&head[end..], b"abc");
        let text = String::from_utf8(with_connection_close(&head[..end])).unwrap();
        assert_eq!(text, "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
        assert_eq!(header(&text, "content-length"), Some("3"));
        assert_eq!(header(&text, "transfer-encoding"), None);
    }

    #[test]
    fn the_mix_draws_only_faults_it_weighs() {
        let mut rng = StdRng::seed_from_u64(1);
        assert!((0..200).all(|_| FaultMix::CALM.draw(&mut rng) == Fault::Pass));
        let drawn: std::collections::HashSet<_> = (0..500).map(|_| FaultMix::STORMY.draw(&mut rng)).collect();
        assert_eq!(drawn.len(), Fault::ALL.len());
        let only_cuts = FaultMix([0, 1, 0, 0, 0, 0]);
        assert!((0..50).all(|_| only_cuts.draw(&mut rng) == Fault::CutRequest));
    }
}
