//! A broker process that the bench starts, stops, kills and watches itself
//! (`--broker-cmd`), and a raw-TCP ApiVersions probe that tells when a broker
//! answers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// How often a starting broker is probed.
const PROBE_INTERVAL: Duration = Duration::from_millis(5);

/// Resolves `host:port` to the first socket address.
pub fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("resolving {addr}"))?
        .next()
        .ok_or_else(|| anyhow!("{addr} resolves to no address"))
}

/// Sends one ApiVersions v0 request on a new connection and waits for its
/// response. Any well-formed response with our correlation id counts as an
/// answer, whatever its error code: the broker is serving requests.
pub fn api_versions(addr: SocketAddr, timeout: Duration) -> io::Result<()> {
    api_versions_body(addr, timeout).map(drop)
}

/// The API keys a broker advertises in its ApiVersions v0 response, with
/// their version ranges.
pub fn supported_apis(addr: SocketAddr, timeout: Duration) -> Result<Vec<ApiRange>> {
    let body = api_versions_body(addr, timeout)
        .with_context(|| format!("ApiVersions request to {addr}"))?;
    parse_api_versions_v0(&body)
        .ok_or_else(|| anyhow!("malformed ApiVersions v0 response from {addr}"))
}

/// One entry of an ApiVersions response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRange {
    pub key: i16,
    pub min: i16,
    pub max: i16,
}

/// The response body after the correlation id: error code (i16), then an
/// array (i32 length) of api key, min version, max version (3 × i16). The
/// error code is ignored: a broker that does not support v0 still lists its
/// keys (KIP-511).
fn parse_api_versions_v0(body: &[u8]) -> Option<Vec<ApiRange>> {
    let i16_at = |at: usize| -> Option<i16> {
        Some(i16::from_be_bytes(body.get(at..at + 2)?.try_into().ok()?))
    };
    let count = i32::from_be_bytes(body.get(2..6)?.try_into().ok()?);
    let count = usize::try_from(count).ok()?;
    if body.len() < 6 + count * 6 {
        return None;
    }
    (0..count)
        .map(|i| {
            let at = 6 + i * 6;
            Some(ApiRange {
                key: i16_at(at)?,
                min: i16_at(at + 2)?,
                max: i16_at(at + 4)?,
            })
        })
        .collect()
}

/// The exchange behind [`api_versions`]; returns the response body after
/// the correlation id.
fn api_versions_body(addr: SocketAddr, timeout: Duration) -> io::Result<Vec<u8>> {
    const CORRELATION_ID: i32 = 0x0BE7_C000;
    const CLIENT_ID: &[u8] = b"bench";
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    // Request header v1 (api key, version, correlation id, client id) and an
    // empty v0 body, after the 4-byte size.
    let mut request = Vec::with_capacity(64);
    let size = 2 + 2 + 4 + 2 + CLIENT_ID.len();
    request.extend_from_slice(&(size as i32).to_be_bytes());
    request.extend_from_slice(&18i16.to_be_bytes());
    request.extend_from_slice(&0i16.to_be_bytes());
    request.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    request.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    request.extend_from_slice(CLIENT_ID);
    stream.write_all(&request)?;
    let mut head = [0u8; 8];
    stream.read_exact(&mut head)?;
    let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let correlation = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if correlation != CORRELATION_ID || !(4..=64 << 20).contains(&size) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an ApiVersions response (size {size}, correlation id {correlation})"),
        ));
    }
    let mut rest = vec![0u8; size as usize - 4];
    stream.read_exact(&mut rest)?;
    Ok(rest)
}

/// A broker run by the bench through `sh -c <cmd>` in a process group of its
/// own, so that signals reach the broker even when the shell forks it.
pub struct Broker {
    cmd: String,
    addr: SocketAddr,
    log: Option<PathBuf>,
    child: Option<Child>,
    /// The reading with the largest VmHWM seen before a stop.
    peak: Memory,
    /// How many times a VmHWM was read.
    hwm_reads: u32,
}

impl Broker {
    pub fn new(cmd: String, addr: SocketAddr, log: Option<PathBuf>) -> Self {
        Broker {
            cmd,
            addr,
            log,
            child: None,
            peak: Memory::default(),
            hwm_reads: 0,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the broker and waits until it answers ApiVersions; returns when
    /// it was spawned and how long after that it first answered.
    pub fn start(&mut self, timeout: Duration) -> Result<(Instant, Duration)> {
        if self.child.is_some() {
            bail!("broker already running");
        }
        if api_versions(self.addr, Duration::from_millis(200)).is_ok() {
            bail!(
                "something already answers Kafka requests on {}: stop it or choose another --port",
                self.addr
            );
        }
        let (stdout, stderr) = match &self.log {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening broker log {}", path.display()))?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            // Keep stdout clean for the table.
            None => (
                Stdio::from(io::stderr().as_fd().try_clone_to_owned()?),
                Stdio::inherit(),
            ),
        };
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.cmd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill
        // the child if the bench dies without stopping it.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting `{}`", self.cmd))?;
        self.child = Some(child);
        let answered = self.wait_ready(spawned, timeout)?;
        Ok((spawned, answered))
    }

    fn wait_ready(&mut self, spawned: Instant, timeout: Duration) -> Result<Duration> {
        loop {
            if api_versions(self.addr, Duration::from_millis(500)).is_ok() {
                return Ok(spawned.elapsed());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "the broker exited ({status}) before answering on {}{}",
                    self.addr,
                    self.log_hint()
                );
            }
            if spawned.elapsed() > timeout {
                bail!(
                    "the broker did not answer on {} within {timeout:?}{}",
                    self.addr,
                    self.log_hint()
                );
            }
            thread::sleep(PROBE_INTERVAL);
        }
    }

    fn log_hint(&self) -> String {
        match &self.log {
            Some(path) => format!(" (its log: {})", path.display()),
            None => String::new(),
        }
    }

    fn pgid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// Reads VmHWM of every process of the broker's group and keeps the max.
    pub fn record_hwm(&mut self) {
        let Some(pgid) = self.pgid() else { return };
        let biggest = group_members(pgid)
            .into_iter()
            .filter_map(|pid| memory(pid).ok())
            .max_by_key(|m| m.hwm_kib);
        if let Some(m) = biggest {
            if m.hwm_kib > self.peak.hwm_kib {
                self.peak = m;
            }
            self.hwm_reads += 1;
        }
    }

    /// The reading with the peak VmHWM and how many broker runs it covers.
    pub fn peak_rss(&self) -> Option<(Memory, u32)> {
        (self.hwm_reads > 0).then_some((self.peak, self.hwm_reads))
    }

    /// SIGTERM, then waits for the whole process group to exit; returns how
    /// long that took. Falls back to SIGKILL after `timeout`.
    pub fn stop(&mut self, timeout: Duration) -> Result<Duration> {
        self.record_hwm();
        let Some(pgid) = self.pgid() else {
            bail!("broker not running")
        };
        let sent = Instant::now();
        signal_group(pgid, libc::SIGTERM)?;
        match self.wait_exit(pgid, timeout) {
            Ok(()) => Ok(sent.elapsed()),
            Err(err) => {
                let _ = self.kill9();
                Err(err.context("the broker did not stop after SIGTERM; killed it"))
            }
        }
    }

    /// SIGKILL to the whole process group, and waits until it is gone.
    pub fn kill9(&mut self) -> Result<()> {
        self.record_hwm();
        let Some(pgid) = self.pgid() else {
            bail!("broker not running")
        };
        signal_group(pgid, libc::SIGKILL)?;
        self.wait_exit(pgid, Duration::from_secs(30))
    }

    fn wait_exit(&mut self, pgid: i32, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("broker not running"))?;
        loop {
            let shell_done = child.try_wait()?.is_some();
            if shell_done && group_members(pgid).is_empty() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                self.child = Some(child);
                bail!("the broker did not exit within {timeout:?}");
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid() {
            let _ = signal_group(pgid, libc::SIGKILL);
            if let Some(mut child) = self.child.take() {
                let _ = child.wait();
            }
        }
    }
}

fn signal_group(pgid: i32, signal: i32) -> Result<()> {
    // SAFETY: kill(2) with a negative pid signals the process group we made.
    if unsafe { libc::kill(-pgid, signal) } != 0 {
        let err = io::Error::last_os_error();
        // ESRCH: the group is already gone.
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(anyhow!(err).context(format!("signal {signal} to process group {pgid}")));
        }
    }
    Ok(())
}

/// Live (non-zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after "(comm)": state ppid pgrp ...
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                return false;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
            pgrp == Some(pgid) && state != Some("Z") && state != Some("X")
        })
        .collect()
}

/// VmHWM, RssAnon and RssFile of a process, in KiB.
#[derive(Clone, Copy, Default)]
pub struct Memory {
    pub hwm_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
}

fn memory(pid: i32) -> Result<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow!("no {name} for {pid}"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| anyhow!("bad line {line:?}"))?
            .parse()?)
    };
    Ok(Memory {
        hwm_kib: field("VmHWM:")?,
        anon_kib: field("RssAnon:").unwrap_or(0),
        file_kib: field("RssFile:").unwrap_or(0),
    })
}

/// Writes back dirty pages and drops the page cache; returns how, for the
/// row. Falls back to posix_fadvise(POSIX_FADV_DONTNEED) on every file under
/// the `log_dirs` when /proc/sys/vm/drop_caches is not writable.
pub fn drop_page_cache(log_dirs: &[PathBuf]) -> String {
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    let err = match fs::write("/proc/sys/vm/drop_caches", "3\n") {
        Ok(()) => return "page cache dropped".into(),
        Err(err) => err,
    };
    if log_dirs.is_empty() {
        return format!("page cache NOT dropped: drop_caches failed ({err}) and no --log-dir");
    }
    let mut files = 0;
    let mut failed = 0;
    for dir in log_dirs {
        fadvise_tree(dir, &mut files, &mut failed);
    }
    format!(
        "drop_caches failed ({err}): fadvise(DONTNEED) on {files} files of --log-dir{}",
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    )
}

fn fadvise_tree(dir: &Path, files: &mut u32, failed: &mut u32) {
    let Ok(entries) = fs::read_dir(dir) else {
        *failed += 1;
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => fadvise_tree(&path, files, failed),
            Ok(t) if t.is_file() => match fadvise_dontneed(&path) {
                Ok(()) => *files += 1,
                Err(_) => *failed += 1,
            },
            _ => {}
        }
    }
}

fn fadvise_dontneed(path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = File::open(path)?;
    file.sync_all()?;
    // SAFETY: the descriptor is open for the duration of the call.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fadvise_walks_a_tree() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("bench-fadvise-{}", std::process::id()));
        fs::create_dir_all(dir.join("topic-0"))?;
        fs::write(dir.join("meta.properties"), "x")?;
        fs::write(dir.join("topic-0/00000000000000000000.log"), [0u8; 4096])?;
        let (mut files, mut failed) = (0, 0);
        fadvise_tree(&dir, &mut files, &mut failed);
        fs::remove_dir_all(&dir)?;
        assert_eq!((files, failed), (2, 0));
        Ok(())
    }

    #[test]
    fn a_closed_port_does_not_answer() -> Result<()> {
        // Bind then drop a listener to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        assert!(api_versions(port, Duration::from_millis(200)).is_err());
        Ok(())
    }

    #[test]
    fn api_versions_v0_bodies_are_parsed() {
        // Error code 0, two entries: Produce 0-11, EndTxn 0-4.
        let body = [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 11, 0, 26, 0, 0, 0, 4];
        assert_eq!(
            parse_api_versions_v0(&body),
            Some(vec![
                ApiRange {
                    key: 0,
                    min: 0,
                    max: 11
                },
                ApiRange {
                    key: 26,
                    min: 0,
                    max: 4
                },
            ])
        );
        assert_eq!(parse_api_versions_v0(&body[..17]), None);
        assert_eq!(parse_api_versions_v0(&[0, 35, 0, 0, 0, 0]), Some(vec![]));
        assert_eq!(parse_api_versions_v0(&[0, 0, 255, 255, 255, 255]), None);
    }

    #[test]
    fn our_own_memory_is_readable() -> Result<()> {
        let m = memory(std::process::id() as i32)?;
        assert!(m.hwm_kib > 0);
        Ok(())
    }
}
