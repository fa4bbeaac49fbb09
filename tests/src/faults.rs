//! A fault network for cluster tests: userspace TCP proxies in front of every agent's RPC
//! port, through which all agent-to-agent traffic flows, and rules per directed link.
//!
//! ```text
//!   s1 (binds 127.0.1.1) ──> proxy for s2 (127.0.0.1:p2, advertised as s2's RPC) ──> s2
//!        the proxy knows the sender by its source address and applies rule(s1 → s2) to the
//!        bytes s1 sends and rule(s2 → s1) to the bytes s2 answers
//!   c1 ──> its own proxy per server (the client's `servers` list) ──> s1
//! ```
//!
//! A rule can cut a direction (bytes are swallowed, as a partition does: the sender sees
//! timeouts, never a reset), delay it, or lose a share of its segments (each lost segment
//! holds up the stream for a retransmission timeout, as TCP would). When a cut heals, every
//! connection that lost bytes is reset, since its stream can no longer be parsed; the agents
//! dial again, as they would after a real partition.
//!
//! The proxies run on their own threads, so a test that blocks (waiting for a process to
//! exit) never stalls the network.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// How long one lost segment holds up its stream (Linux's minimum retransmission timeout).
const RETRANSMIT_DELAY: Duration = Duration::from_millis(200);
/// How long dialing the proxied agent may take.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What happens to the bytes one node sends another.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rule {
    /// The bytes are swallowed.
    pub cut: bool,
    /// Added to every segment.
    pub delay: Duration,
    /// Share of segments (0.0-1.0) lost once and retransmitted after [`RETRANSMIT_DELAY`].
    pub loss: f64,
}

/// The rules and connections of one test's network.
pub struct Net {
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Default)]
struct Shared {
    /// Rules per directed link `(from, to)`; links without one pass everything.
    rules: Mutex<HashMap<(String, String), Rule>>,
    /// Which node sends from which source address.
    sources: Mutex<HashMap<IpAddr, String>>,
    /// Open proxied connections.
    conns: Mutex<Vec<Conn>>,
    /// State of the loss dice.
    dice: AtomicU64,
}

/// One proxied connection: its ends, whether it lost bytes, and its tasks.
struct Conn {
    damaged: Arc<AtomicBool>,
    tasks: Vec<AbortHandle>,
}

impl Conn {
    fn finished(&self) -> bool {
        self.tasks.iter().all(AbortHandle::is_finished)
    }

    fn reset(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Shared {
    fn rule(&self, from: &str, to: &str) -> Rule {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(from.to_string(), to.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// A uniform number in [0, 1) (xorshift; the network's randomness needs no seed of its
    /// own: loss timing is not part of a test's replayable schedule).
    fn roll(&self) -> f64 {
        let mut x = self.dice.load(Ordering::Relaxed) | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.dice.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Net {
    /// A network where every link passes everything.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-net")
            .enable_all()
            .build()
            .expect("fault network runtime");
        let shared = Shared {
            dice: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            ..Shared::default()
        };
        Net {
            shared: Arc::new(shared),
            runtime: Some(runtime),
        }
    }

    /// Declares that `node` sends from `ip` (a server whose outgoing RPC leaves from its bind
    /// address).
    pub fn source(&self, ip: IpAddr, node: &str) {
        self.shared
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ip, node.to_string());
    }

    /// Starts a proxy in front of `node` at `upstream`; returns the address it listens on
    /// (127.0.0.1). Senders are named by their source address, or are `sender` when given
    /// (a proxy dedicated to one client).
    pub fn proxy(&self, node: &str, upstream: SocketAddr, sender: Option<&str>) -> SocketAddr {
        let runtime = self.runtime.as_ref().expect("network running");
        // Bound here, so the address is known at once; served on the network's runtime.
        let listener = crate::agent::fresh_listener(std::net::Ipv4Addr::LOCALHOST.into());
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let shared = self.shared.clone();
        let node = node.to_string();
        let sender = sender.map(str::to_string);
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("proxy listener");
            loop {
                let Ok((inbound, peer)) = listener.accept().await else {
                    continue;
                };
                let from = sender.clone().unwrap_or_else(|| {
                    shared
                        .sources
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&peer.ip())
                        .cloned()
                        .unwrap_or_else(|| peer.ip().to_string())
                });
                tokio::spawn(connect(
                    shared.clone(),
                    inbound,
                    upstream,
                    from,
                    node.clone(),
                ));
            }
        });
        addr
    }

    /// Sets the rule for bytes `from` sends `to`.
    pub fn set(&self, from: &str, to: &str, rule: Rule) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((from.to_string(), to.to_string()), rule);
        if !rule.cut {
            self.reset_damaged();
        }
    }

    /// Cuts `from → to` only: `to` still reaches `from`.
    pub fn cut_one_way(&self, from: &str, to: &str) {
        let rule = Rule {
            cut: true,
            ..self.shared.rule(from, to)
        };
        self.set(from, to, rule);
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut(&self, a: &str, b: &str) {
        self.cut_one_way(a, b);
        self.cut_one_way(b, a);
    }

    /// Cuts every link between the two sides.
    pub fn partition(&self, side_a: &[&str], side_b: &[&str]) {
        for a in side_a {
            for b in side_b {
                self.cut(a, b);
            }
        }
    }

    /// Adds `delay` (and `loss`) to both directions between `a` and `b`, leaving cuts as
    /// they are.
    pub fn slow(&self, a: &str, b: &str, delay: Duration, loss: f64) {
        for (from, to) in [(a, b), (b, a)] {
            let cut = self.shared.rule(from, to).cut;
            self.set(from, to, Rule { cut, delay, loss });
        }
    }

    /// Lifts every cut and slowdown; connections that lost bytes are reset.
    pub fn heal_all(&self) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.reset_damaged();
    }

    /// Lifts the cuts between `a` and `b` (both ways), keeping delays.
    pub fn heal(&self, a: &str, b: &str) {
        for (from, to) in [(a, b), (b, a)] {
            let rule = Rule {
                cut: false,
                ..self.shared.rule(from, to)
            };
            self.set(from, to, rule);
        }
    }

    /// Open proxied connections (for tests of the network itself).
    pub fn open_connections(&self) -> usize {
        let mut conns = self.shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.retain(|c| !c.finished());
        conns.len()
    }

    fn reset_damaged(&self) {
        let mut conns = self.shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.retain(|c| {
            if c.damaged.load(Ordering::SeqCst) {
                c.reset();
                return false;
            }
            !c.finished()
        });
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Dials `upstream` for one accepted connection and pumps both directions under the rules.
async fn connect(
    shared: Arc<Shared>,
    inbound: TcpStream,
    upstream: SocketAddr,
    from: String,
    to: String,
) {
    let Ok(Ok(outbound)) =
        tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(upstream)).await
    else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let damaged = Arc::new(AtomicBool::new(false));
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let mut tasks = Vec::new();
    let mut pump = |read, write, from: &str, to: &str| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tasks.push(tokio::spawn(deliver(rx, write)).abort_handle());
        let carried = carry(
            shared.clone(),
            read,
            tx,
            from.to_string(),
            to.to_string(),
            damaged.clone(),
        );
        tasks.push(tokio::spawn(carried).abort_handle());
    };
    pump(in_read, out_write, &from, &to);
    pump(out_read, in_write, &to, &from);
    shared
        .conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Conn { damaged, tasks });
}

/// Reads what `from` sends `to` and queues it for delivery at the time the rule says, or
/// swallows it while the link is cut.
async fn carry(
    shared: Arc<Shared>,
    mut read: tokio::net::tcp::OwnedReadHalf,
    tx: tokio::sync::mpsc::UnboundedSender<(Instant, Vec<u8>)>,
    from: String,
    to: String,
    damaged: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let rule = shared.rule(&from, &to);
        if rule.cut {
            damaged.store(true, Ordering::SeqCst);
            continue;
        }
        let mut delay = rule.delay;
        if rule.loss > 0.0 && shared.roll() < rule.loss {
            delay += RETRANSMIT_DELAY;
        }
        if tx
            .send((Instant::now() + delay, buf[..n].to_vec()))
            .is_err()
        {
            return;
        }
    }
}

/// Writes queued segments in order, each no earlier than its delivery time.
async fn deliver(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
    mut write: tokio::net::tcp::OwnedWriteHalf,
) {
    while let Some((at, bytes)) = rx.recv().await {
        tokio::time::sleep_until(at).await;
        if write.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on loopback; returns its address.
    fn echo(rt: &tokio::runtime::Runtime) -> SocketAddr {
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("echo listener");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    /// Sends `msg` from `source` through `proxy` and waits up to `within` for the echo.
    async fn round_trip(source: IpAddr, proxy: SocketAddr, msg: &[u8], within: Duration) -> bool {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind source");
        let mut s = socket.connect(proxy).await.expect("connect proxy");
        s.write_all(msg).await.expect("send");
        let mut got = vec![0u8; msg.len()];
        matches!(
            tokio::time::timeout(within, s.read_exact(&mut got)).await,
            Ok(Ok(_))
        ) && got == msg
    }

    #[test]
    fn links_cut_heal_one_way_and_slow_down() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let target = echo(&rt);
        let net = Net::new();
        let a: IpAddr = "127.0.1.1".parse().expect("ip");
        let b: IpAddr = "127.0.1.2".parse().expect("ip");
        net.source(a, "a");
        net.source(b, "b");
        let proxy = net.proxy("echo", target, None);
        let short = Duration::from_millis(300);
        rt.block_on(async {
            assert!(round_trip(a, proxy, b"hello", short).await, "open link");
            net.cut("a", "echo");
            assert!(!round_trip(a, proxy, b"cut", short).await, "cut link");
            assert!(round_trip(b, proxy, b"other", short).await, "other link");
            // The echo's answers to a are lost, a's requests arrive.
            net.heal_all();
            net.cut_one_way("echo", "a");
            assert!(!round_trip(a, proxy, b"one-way", short).await, "one way");
            net.heal("echo", "a");
            assert!(round_trip(a, proxy, b"healed", short).await, "healed");
            net.slow("a", "echo", Duration::from_millis(150), 0.0);
            let started = Instant::now();
            assert!(round_trip(a, proxy, b"slow", Duration::from_secs(2)).await);
            assert!(
                started.elapsed() >= Duration::from_millis(300),
                "delayed both ways: {:?}",
                started.elapsed()
            );
        });
    }

    #[test]
    fn connections_that_lost_bytes_are_reset_when_the_cut_heals() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let target = echo(&rt);
        let net = Net::new();
        let proxy = net.proxy("echo", target, Some("c1"));
        rt.block_on(async {
            let mut s = TcpStream::connect(proxy).await.expect("connect");
            s.write_all(b"x").await.expect("send");
            let mut one = [0u8; 1];
            s.read_exact(&mut one).await.expect("echo");
            net.cut("c1", "echo");
            s.write_all(b"lost").await.expect("send into the cut");
            tokio::time::sleep(Duration::from_millis(100)).await;
            net.heal_all();
            let mut rest = [0u8; 4];
            let read = tokio::time::timeout(Duration::from_secs(2), s.read(&mut rest)).await;
            assert!(
                matches!(read, Ok(Ok(0)) | Ok(Err(_))),
                "the damaged connection was closed: {read:?}"
            );
            assert!(
                round_trip(
                    "127.0.0.1".parse().expect("ip"),
                    proxy,
                    b"new",
                    Duration::from_secs(1)
                )
                .await
            );
        });
    }
}
