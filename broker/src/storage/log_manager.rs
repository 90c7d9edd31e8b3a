//! All partition logs under the log directories (Kafka's `LogManager`,
//! several directories as KIP-112 / KIP-858 have them): it places new
//! partitions, opens logs with what their directory's checkpoints say of
//! them, keeps each directory's checkpoints
//! (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`) and
//! clean shutdown marker (`.kafka_cleanshutdown`), takes a directory that
//! fails offline, moves partitions between directories (a `-future` copy
//! that catches up, then takes over), and runs the log flusher,
//! retention, mover and cleaner threads.

use super::checkpoint_file::{
    self, HIGH_WATERMARK_CHECKPOINT_FILE, LOG_START_OFFSET_CHECKPOINT_FILE,
    RECOVERY_POINT_CHECKPOINT_FILE,
};
use super::log_cleaner::{CleanerConfig, LogCleaner};
use super::log_loader::LoadParams;
use super::{LogConfig, TopicPartition, UnifiedLog};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};
use uuid::Uuid;

/// Kafka's clean shutdown marker in the log directory.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";

/// Settings of the log manager itself (the broker-level `log.*` keys).
#[derive(Debug, Clone, Copy)]
pub struct LogManagerConfig {
    pub flush_check_interval: Duration,
    pub recovery_point_checkpoint_interval: Duration,
    pub log_start_offset_checkpoint_interval: Duration,
    /// `log.retention.check.interval.ms`: how often logs are checked for
    /// segments retention deletes.
    pub retention_check_interval: Duration,
    /// The log cleaner's settings.
    pub cleaner: CleanerConfig,
}

/// Kafka's `InitialTaskDelayMs`: the first retention check comes this
/// long after the start (or after one interval, if that is shorter).
const RETENTION_INITIAL_DELAY: Duration = Duration::from_secs(30);

impl Default for LogManagerConfig {
    fn default() -> Self {
        LogManagerConfig {
            flush_check_interval: Duration::from_secs(1),
            recovery_point_checkpoint_interval: Duration::from_secs(60),
            log_start_offset_checkpoint_interval: Duration::from_secs(60),
            retention_check_interval: Duration::from_secs(300),
            cleaner: CleanerConfig::default(),
        }
    }
}

/// A log to open: its partition, topic id, settings and the directory the
/// metadata assigns it to (if any).
pub struct LogToOpen {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    pub config: LogConfig,
    pub target_dir: Option<Uuid>,
}

/// Name of the file in each partition directory that records its topic id.
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";
/// The metadata log's directory, in the first log directory.
const METADATA_LOG_DIR_NAME: &str = "__cluster_metadata-0";
/// Suffix of a log directory being deleted.
const DELETE_SUFFIX: &str = "-delete";
/// Suffix of a partition's copy being moved into another log directory
/// (Kafka's `UnifiedLog.FutureDirSuffix`).
const FUTURE_SUFFIX: &str = "-future";
/// What the mover copies at a time.
const MOVE_CHUNK_BYTES: usize = 1 << 20;

/// A configured log directory and its `directory.id` (from its
/// `meta.properties`).
#[derive(Debug, Clone)]
pub struct LogDirSpec {
    pub path: PathBuf,
    pub id: Uuid,
    /// It failed before the start (it cannot be created or read): it is
    /// offline from the start.
    pub failed: bool,
}

/// One log directory as clients see it.
#[derive(Debug, Clone)]
pub struct LogDirState {
    /// As configured.
    pub path: PathBuf,
    /// Absolute, as Kafka names log directories to clients.
    pub absolute_path: PathBuf,
    pub id: Uuid,
    pub offline: bool,
}

/// Why a partition cannot be moved to another directory.
#[derive(Debug, PartialEq, Eq)]
pub enum MoveError {
    /// No configured directory has that path (LOG_DIR_NOT_FOUND).
    UnknownDir,
    /// The directory, or the partition's own, has failed (KAFKA_STORAGE_ERROR).
    DirOffline,
    /// This broker has no log of the partition (REPLICA_NOT_AVAILABLE).
    NotHosted,
    /// The copy could not be started (KAFKA_STORAGE_ERROR).
    Io(String),
}

/// Errors of a log directory that failed: an operation on a partition
/// in it answers with this.
#[derive(Debug)]
pub struct LogDirOffline {
    pub dir: PathBuf,
}

impl std::fmt::Display for LogDirOffline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the log directory {} is offline", self.dir.display())
    }
}

impl std::error::Error for LogDirOffline {}

/// Kafka's reserved directory ids (`DirectoryId.UNASSIGNED`, `LOST`,
/// `MIGRATING` and the rest below 100): they name no directory.
pub fn is_reserved_dir_id(id: &Uuid) -> bool {
    id.as_u128() < 100
}

/// Whether `e` says a partition's log directory has failed.
pub fn is_log_dir_offline(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LogDirOffline>())
}

struct LogDir {
    path: PathBuf,
    id: Uuid,
    offline: AtomicBool,
    /// Whether the last run left the clean shutdown marker here.
    had_clean_shutdown: bool,
    recovery_points: HashMap<TopicPartition, i64>,
    log_start_offsets: HashMap<TopicPartition, i64>,
}

/// The open logs of one topic.
struct TopicLogs {
    id: Uuid,
    partitions: HashMap<i32, Arc<UnifiedLog>>,
}

type LogsByTopic = HashMap<Arc<str>, TopicLogs>;

/// A partition's copy in another directory (Kafka's future log), which
/// the mover fills from the current log until it takes over.
struct FutureLog {
    log: Arc<UnifiedLog>,
    dir: usize,
    topic_id: Uuid,
}

/// Called when a partition's directory changed or a directory failed, so
/// that the metadata can record it (Kafka's `DirectoryEventHandler`).
pub type DirectoryListener = Box<dyn Fn() + Send + Sync>;

pub struct LogManager {
    dirs: Vec<LogDir>,
    config: LogConfig,
    manager_config: LogManagerConfig,
    logs: RwLock<LogsByTopic>,
    /// Serialises opening logs, so the map lock is never held across I/O.
    opening: Mutex<()>,
    /// Partition directories found at the start and not opened yet, and
    /// the log directory holding each.
    on_disk: Mutex<HashMap<TopicPartition, usize>>,
    /// `-future` copies found at the start whose move resumes once the
    /// current logs are open.
    futures_to_resume: Mutex<Vec<(TopicPartition, usize, PathBuf)>>,
    /// Moves under way.
    futures: Mutex<HashMap<TopicPartition, FutureLog>>,
    /// Partitions whose directory failed or is not configured, and that
    /// directory (its path, or its id when it is not one of ours).
    offline_logs: RwLock<HashMap<TopicPartition, PathBuf>>,
    listener: RwLock<Option<DirectoryListener>>,
    /// The metadata log, which is not a partition of a topic in the image
    /// but is checkpointed and closed with the others.
    metadata_log: Mutex<Option<Arc<UnifiedLog>>>,
    scanned_bytes: AtomicU64,
    loaded_logs: AtomicUsize,
    /// Serialises checkpoint writes.
    checkpointing: Mutex<()>,
    /// The log flusher, retention and mover threads.
    background: Mutex<Vec<std::thread::JoinHandle<()>>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    /// Wakes the mover (a move requested).
    moves_wake: Condvar,
    /// `replica.alter.log.dirs.io.max.bytes.per.second`.
    move_rate: AtomicU64,
    /// Bytes the mover copied since the start of its current second.
    move_window: Mutex<(Instant, u64)>,
    /// Compaction of the logs with `cleanup.policy=compact`.
    cleaner: LogCleaner,
    /// The cleaner threads, by id.
    cleaner_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Files renamed `.deleted` and when to remove them.
    pending_deletes: Mutex<Vec<(Instant, PathBuf)>>,
}

/// The partition a `<topic>-<partition>.<id>-future` directory copies.
fn future_dir_partition(name: &str) -> Option<TopicPartition> {
    let stem = name.strip_suffix(FUTURE_SUFFIX)?;
    let (base, id) = stem.rsplit_once('.')?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    TopicPartition::from_dir_name(base)
}

impl LogManager {
    /// One log directory, `log_dir` (a fresh directory id): for tests and
    /// tools.
    pub fn new(log_dir: &Path, config: LogConfig) -> io::Result<Self> {
        Self::with_config(
            vec![LogDirSpec {
                path: log_dir.to_path_buf(),
                id: Uuid::new_v4(),
                failed: false,
            }],
            config,
            LogManagerConfig::default(),
        )
    }

    /// Uses `dirs` (the first also holds the metadata log), creating them
    /// if missing; finishes deleting logs a previous run left marked for
    /// deletion, finds every partition directory in them, and completes or
    /// resumes moves a previous run left (`-future` copies).
    pub fn with_config(
        specs: Vec<LogDirSpec>,
        config: LogConfig,
        manager_config: LogManagerConfig,
    ) -> io::Result<Self> {
        if specs.is_empty() {
            return Err(io::Error::other("no log directory"));
        }
        let mut dirs = Vec::with_capacity(specs.len());
        let mut on_disk: HashMap<TopicPartition, usize> = HashMap::new();
        let mut futures = Vec::new();
        for (index, spec) in specs.into_iter().enumerate() {
            let log_dir = spec.path.as_path();
            if spec.failed {
                error!(log_dir = %log_dir.display(), "the log directory failed before the start: it is offline");
                dirs.push(LogDir {
                    had_clean_shutdown: false,
                    recovery_points: HashMap::new(),
                    log_start_offsets: HashMap::new(),
                    offline: AtomicBool::new(true),
                    path: spec.path,
                    id: spec.id,
                });
                continue;
            }
            std::fs::create_dir_all(log_dir)?;
            for entry in std::fs::read_dir(log_dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(DELETE_SUFFIX) {
                    warn!(dir = %entry.path().display(), "removing a log left marked for deletion");
                    std::fs::remove_dir_all(entry.path())?;
                } else if let Some(tp) = future_dir_partition(&name) {
                    futures.push((tp, index, entry.path()));
                } else if entry.path().is_dir()
                    && let Some(tp) = TopicPartition::from_dir_name(&name)
                    && !(index == 0 && name == METADATA_LOG_DIR_NAME)
                    && let Some(other) = on_disk.insert(tp.clone(), index)
                {
                    // Kafka refuses to start the same way.
                    return Err(io::Error::other(format!(
                        "duplicate log directories for {tp} are found in both {} and {}: \
                         remove one of the two",
                        dirs.get(other)
                            .map_or(log_dir, |d: &LogDir| d.path.as_path())
                            .display(),
                        log_dir.display()
                    )));
                }
            }
            let read_checkpoint = |name: &str| {
                checkpoint_file::read_offsets(&log_dir.join(name)).unwrap_or_else(|e| {
                    warn!("{e}; the logs will be recovered without it");
                    HashMap::new()
                })
            };
            dirs.push(LogDir {
                had_clean_shutdown: log_dir.join(CLEAN_SHUTDOWN_FILE).exists(),
                recovery_points: read_checkpoint(RECOVERY_POINT_CHECKPOINT_FILE),
                log_start_offsets: read_checkpoint(LOG_START_OFFSET_CHECKPOINT_FILE),
                offline: AtomicBool::new(false),
                path: spec.path,
                id: spec.id,
            });
        }
        // A copy whose current log is gone was complete: the move stopped
        // between retiring the current log and renaming the copy.
        let mut to_resume = Vec::new();
        for (tp, index, path) in futures {
            if on_disk.contains_key(&tp) {
                to_resume.push((tp, index, path));
                continue;
            }
            let live = dirs[index].path.join(tp.to_string());
            warn!(log = %tp, dir = %path.display(), "completing a move a previous run left: the copy becomes the log");
            std::fs::rename(&path, &live)?;
            std::fs::File::open(&dirs[index].path)?.sync_all()?;
            on_disk.insert(tp, index);
        }
        let paths: Vec<PathBuf> = dirs.iter().map(|d| d.path.clone()).collect();
        Ok(LogManager {
            dirs,
            config,
            manager_config,
            logs: RwLock::new(HashMap::new()),
            opening: Mutex::new(()),
            on_disk: Mutex::new(on_disk),
            futures_to_resume: Mutex::new(to_resume),
            futures: Mutex::new(HashMap::new()),
            offline_logs: RwLock::new(HashMap::new()),
            listener: RwLock::new(None),
            metadata_log: Mutex::new(None),
            scanned_bytes: AtomicU64::new(0),
            loaded_logs: AtomicUsize::new(0),
            checkpointing: Mutex::new(()),
            background: Mutex::new(Vec::new()),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
            moves_wake: Condvar::new(),
            move_rate: AtomicU64::new(i64::MAX as u64),
            move_window: Mutex::new((Instant::now(), 0)),
            cleaner: LogCleaner::new(&paths, manager_config.cleaner),
            cleaner_threads: Mutex::new(Vec::new()),
            pending_deletes: Mutex::new(Vec::new()),
        })
    }

    /// Sets what is called when a partition's directory changes or a
    /// directory fails.
    pub fn set_directory_listener(&self, listener: DirectoryListener) {
        *self.listener.write() = Some(listener);
    }

    fn directories_changed(&self) {
        if let Some(listener) = &*self.listener.read() {
            listener();
        }
    }

    /// Whether the previous run shut down cleanly (every directory had
    /// the marker).
    pub fn had_clean_shutdown(&self) -> bool {
        self.dirs
            .iter()
            .all(|d| d.had_clean_shutdown || d.offline.load(Ordering::Acquire))
    }

    /// What directory `dir`'s checkpoints say of `tp`'s log.
    fn load_params(&self, dir: usize, tp: &TopicPartition) -> LoadParams {
        let dir = &self.dirs[dir];
        LoadParams {
            had_clean_shutdown: dir.had_clean_shutdown,
            recovery_point: dir.recovery_points.get(tp).copied(),
            log_start_offset: dir.log_start_offsets.get(tp).copied(),
        }
    }

    /// Opens a log that lives outside the topics (the metadata log, in the
    /// first directory) with what the checkpoints say of it; it is
    /// checkpointed and closed with the others.
    pub fn open_metadata_log(
        &self,
        dir: &Path,
        tp: TopicPartition,
        config: LogConfig,
    ) -> io::Result<Arc<UnifiedLog>> {
        let params = self.load_params(0, &tp);
        let log = Arc::new(UnifiedLog::load(dir, tp, config, params)?);
        self.count_loaded(&log);
        *self.metadata_log.lock() = Some(Arc::clone(&log));
        Ok(log)
    }

    fn count_loaded(&self, log: &UnifiedLog) {
        self.scanned_bytes
            .fetch_add(log.scanned_bytes(), Ordering::Relaxed);
        self.loaded_logs.fetch_add(1, Ordering::Relaxed);
    }

    /// Logs loaded so far and the bytes of segment data their loading read.
    pub fn load_stats(&self) -> (usize, u64) {
        (
            self.loaded_logs.load(Ordering::Relaxed),
            self.scanned_bytes.load(Ordering::Relaxed),
        )
    }

    /// Opens the given logs, `threads_per_dir` (Kafka's
    /// `num.recovery.threads.per.data.dir`) for each directory at a time.
    pub fn open_logs(&self, logs: Vec<LogToOpen>, threads_per_dir: usize) -> io::Result<()> {
        let threads = threads_per_dir
            .max(1)
            .saturating_mul(self.dirs.len())
            .clamp(1, logs.len().max(1));
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<io::Error>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(log) = logs.get(i) else { break };
                        if self.get_log(&log.tp.topic, log.tp.partition).is_some() {
                            continue;
                        }
                        let opened = self
                            .load_log(&log.tp, log.topic_id, log.config, log.target_dir)
                            .and_then(|(dir, opened)| {
                                let _opening = self.opening.lock();
                                self.insert_log(&log.tp, log.topic_id, dir, opened)
                            });
                        match opened {
                            // Its directory failed: it stays offline, the
                            // others open.
                            Err(e) if is_log_dir_offline(&e) => {
                                warn!(log = %log.tp, "cannot open log: {e}");
                            }
                            Err(e) => {
                                warn!(log = %log.tp, "cannot open log: {e}");
                                failure.lock().get_or_insert(e);
                                break;
                            }
                            Ok(_) => {}
                        }
                    }
                });
            }
        });
        match failure.into_inner() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Loading is done: the clean shutdown markers go (a crash from now
    /// on is not a clean shutdown), moves a previous run left resume, and
    /// the log flusher, retention and mover threads start.
    pub fn startup(self: &Arc<Self>) -> io::Result<()> {
        for dir in self
            .dirs
            .iter()
            .filter(|d| !d.offline.load(Ordering::Acquire))
        {
            match std::fs::remove_file(dir.path.join(CLEAN_SHUTDOWN_FILE)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        self.resume_moves();
        let manager = Arc::clone(self);
        let flusher = std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || manager.run_flusher())?;
        let manager = Arc::clone(self);
        let retention = std::thread::Builder::new()
            .name("log-retention".into())
            .spawn(move || manager.run_retention())?;
        let manager = Arc::clone(self);
        let mover = std::thread::Builder::new()
            .name("replica-alter-log-dirs".into())
            .spawn(move || manager.run_mover())?;
        self.background.lock().extend([flusher, retention, mover]);
        self.start_cleaner_threads()
    }

    /// Starts the cleaner threads that should run and do not (at the start,
    /// and when `log.cleaner.threads` grew).
    fn start_cleaner_threads(self: &Arc<Self>) -> io::Result<()> {
        if *self.stop.0.lock() {
            return Ok(());
        }
        let mut threads = self.cleaner_threads.lock();
        for id in 0..self.cleaner.wanted_threads() {
            if threads.get(id).is_some_and(|t| !t.is_finished()) {
                continue;
            }
            let manager = Arc::clone(self);
            let handle = std::thread::Builder::new()
                .name(format!("kafka-log-cleaner-thread-{id}"))
                .spawn(move || {
                    manager
                        .cleaner
                        .run_thread(id, &|| manager.all_logs(), &|files, delay| {
                            manager.delete_later(files, delay)
                        })
                })?;
            if id < threads.len() {
                let old = std::mem::replace(&mut threads[id], handle);
                let _ = old.join();
            } else {
                threads.push(handle);
            }
        }
        Ok(())
    }

    /// The log cleaner (its settings, checkpoints and counters).
    pub fn cleaner(&self) -> &LogCleaner {
        &self.cleaner
    }

    /// Takes new cleaner settings (dynamic `log.cleaner.*` configs).
    pub fn update_cleaner_config(self: &Arc<Self>, config: CleanerConfig) {
        if self.cleaner.config() == config {
            return;
        }
        info!(?config, "log cleaner configuration updated");
        self.cleaner.update_config(config);
        if let Err(e) = self.start_cleaner_threads() {
            error!("cannot start log cleaner threads: {e}");
        }
    }

    /// Takes a new `replica.alter.log.dirs.io.max.bytes.per.second`.
    pub fn set_move_rate(&self, bytes_per_second: u64) {
        let old = self
            .move_rate
            .swap(bytes_per_second.max(1), Ordering::Relaxed);
        if old != bytes_per_second.max(1) {
            info!(
                bytes_per_second,
                "the copy rate of moves between log directories changed"
            );
        }
    }

    /// Holds the mover back to `replica.alter.log.dirs.io.max.bytes.per.second`
    /// after it copied `bytes` (Kafka's alter-log-dirs replication quota):
    /// it sleeps until the second's bytes are within the rate.
    fn throttle_move(&self, bytes: u64) {
        let rate = self.move_rate.load(Ordering::Relaxed);
        let wait = {
            let mut window = self.move_window.lock();
            if window.0.elapsed() >= Duration::from_secs(1) {
                *window = (Instant::now(), 0);
            }
            window.1 += bytes;
            let allowed = Duration::from_secs_f64(window.1 as f64 / rate as f64);
            allowed.saturating_sub(window.0.elapsed())
        };
        if !wait.is_zero() {
            let mut stopped = self.stop.0.lock();
            if !*stopped {
                self.moves_wake.wait_for(&mut stopped, wait);
            }
        }
    }

    /// Removes `files` (renamed `.deleted`) after `delay`, on the retention
    /// thread.
    fn delete_later(&self, files: Vec<PathBuf>, delay: Duration) {
        if files.is_empty() {
            return;
        }
        let due = Instant::now() + delay;
        self.pending_deletes
            .lock()
            .extend(files.into_iter().map(|f| (due, f)));
        // Under the lock the retention thread holds from reading the queue
        // until it waits, so the wakeup cannot fall in between.
        let _stopped = self.stop.0.lock();
        self.stop.1.notify_all();
    }

    /// The retention thread (Kafka's `kafka-log-retention` and
    /// `delete-file` tasks): every `log.retention.check.interval.ms` each
    /// log deletes the segments its retention settings no longer keep; the
    /// renamed files are removed `file.delete.delay.ms` later, and the log
    /// start offsets are checkpointed when they moved. Files still waiting
    /// at shutdown are removed by the next start's loading.
    fn run_retention(&self) {
        let interval = self.manager_config.retention_check_interval;
        let mut next_check = Instant::now() + interval.min(RETENTION_INITIAL_DELAY);
        loop {
            {
                let (stopped, wake) = &*self.stop;
                let mut stopped = stopped.lock();
                let wake_at = self
                    .pending_deletes
                    .lock()
                    .iter()
                    .map(|(due, _)| *due)
                    .fold(next_check, Instant::min);
                if !*stopped {
                    wake.wait_until(&mut stopped, wake_at);
                }
                if *stopped {
                    return;
                }
            }
            let now = Instant::now();
            if now >= next_check {
                next_check = now + interval;
                let mut moved = false;
                for log in self.all_logs() {
                    match log.delete_old_segments(now_ms()) {
                        Ok(deleted) if deleted.segments > 0 => {
                            moved = true;
                            let delay = Duration::from_millis(log.config().file_delete_delay_ms);
                            let due = now + delay;
                            self.pending_deletes
                                .lock()
                                .extend(deleted.files.into_iter().map(|f| (due, f)));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            error!(log = %log.topic_partition(), "cannot delete old segments: {e}");
                            self.handle_log_error(&log, &e);
                        }
                    }
                }
                if moved {
                    self.checkpoint_log_start_offsets();
                }
            }
            self.pending_deletes.lock().retain(|(due, path)| {
                if *due > now {
                    return true;
                }
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => warn!(file = %path.display(), "cannot remove a deleted file: {e}"),
                }
                false
            });
        }
    }

    /// The log flusher: flushes rolled segments and data older than
    /// `flush.ms`, and writes the checkpoints on their intervals.
    fn run_flusher(&self) {
        let config = self.manager_config;
        let mut last_recovery_checkpoint = Instant::now();
        let mut last_start_checkpoint = Instant::now();
        let mut recovery_flushes_pending = !self.had_clean_shutdown();
        let (stopped, wake) = &*self.stop;
        loop {
            {
                let mut stopped = stopped.lock();
                if !*stopped {
                    wake.wait_for(&mut stopped, config.flush_check_interval);
                }
                if *stopped {
                    return;
                }
            }
            let mut flushed = false;
            for log in self.checkpointed_logs() {
                match log.flush_if_due() {
                    Ok(done) => flushed |= done,
                    Err(e) => {
                        error!(log = %log.topic_partition(), "cannot flush log: {e}");
                        self.handle_log_error(&log, &e);
                    }
                }
            }
            // The first flushes after a crash's recovery are checkpointed
            // at once, so that a second crash does not check that data again.
            if recovery_flushes_pending && flushed
                || last_recovery_checkpoint.elapsed() >= config.recovery_point_checkpoint_interval
            {
                recovery_flushes_pending = false;
                last_recovery_checkpoint = Instant::now();
                self.checkpoint_recovery_points();
            }
            if last_start_checkpoint.elapsed() >= config.log_start_offset_checkpoint_interval {
                last_start_checkpoint = Instant::now();
                self.checkpoint_log_start_offsets();
            }
        }
    }

    /// The index of the directory holding `log`.
    fn dir_index_of(&self, log: &UnifiedLog) -> Option<usize> {
        let parent = log.dir().parent()?;
        self.dirs.iter().position(|d| d.path == parent)
    }

    /// The directory id of the directory holding `log`.
    pub fn dir_id_of(&self, log: &UnifiedLog) -> Option<Uuid> {
        self.dir_index_of(log).map(|i| self.dirs[i].id)
    }

    /// Every log, the metadata log included.
    fn checkpointed_logs(&self) -> Vec<Arc<UnifiedLog>> {
        let mut logs = self.all_logs();
        logs.extend(self.metadata_log.lock().clone());
        logs
    }

    /// The online directories, each with the logs in it.
    fn logs_by_dir(&self) -> Vec<(usize, Vec<Arc<UnifiedLog>>)> {
        let mut by_dir: Vec<(usize, Vec<Arc<UnifiedLog>>)> = (0..self.dirs.len())
            .filter(|&i| !self.dirs[i].offline.load(Ordering::Acquire))
            .map(|i| (i, Vec::new()))
            .collect();
        for log in self.checkpointed_logs() {
            if let Some(i) = self.dir_index_of(&log)
                && let Some((_, logs)) = by_dir.iter_mut().find(|(d, _)| *d == i)
            {
                logs.push(log);
            }
        }
        by_dir
    }

    /// Writes each online directory's `recovery-point-offset-checkpoint`
    /// (and, beside it, the high watermarks Kafka keeps); a directory whose
    /// checkpoint cannot be written has failed.
    pub fn checkpoint_recovery_points(&self) {
        let _writing = self.checkpointing.lock();
        let metadata_log = self.metadata_log.lock().clone();
        for (dir, logs) in self.logs_by_dir() {
            let path = &self.dirs[dir].path;
            let entries: Vec<(TopicPartition, i64)> = logs
                .iter()
                .map(|log| (log.topic_partition().clone(), log.recovery_point()))
                .collect();
            // With one replica the high watermark is the log end; Kafka keeps
            // it beside the recovery points, so a directory moved to Kafka has it.
            let high_watermarks: Vec<(TopicPartition, i64)> = logs
                .iter()
                .filter(|log| metadata_log.as_ref().is_none_or(|m| !Arc::ptr_eq(m, log)))
                .map(|log| (log.topic_partition().clone(), log.high_watermark()))
                .collect();
            let written = checkpoint_file::write_offsets(
                &path.join(RECOVERY_POINT_CHECKPOINT_FILE),
                &entries,
            )
            .and_then(|()| {
                checkpoint_file::write_offsets(
                    &path.join(HIGH_WATERMARK_CHECKPOINT_FILE),
                    &high_watermarks,
                )
            });
            if let Err(e) = written {
                error!(log_dir = %path.display(), "cannot write {RECOVERY_POINT_CHECKPOINT_FILE}: {e}");
                self.mark_dir_offline(dir, &e);
            }
        }
    }

    /// Writes each online directory's `log-start-offset-checkpoint`.
    pub fn checkpoint_log_start_offsets(&self) {
        let _writing = self.checkpointing.lock();
        for (dir, logs) in self.logs_by_dir() {
            let path = &self.dirs[dir].path;
            let entries: Vec<(TopicPartition, i64)> = logs
                .iter()
                .map(|log| (log.topic_partition().clone(), log.log_start_offset()))
                .collect();
            if let Err(e) = checkpoint_file::write_offsets(
                &path.join(LOG_START_OFFSET_CHECKPOINT_FILE),
                &entries,
            ) {
                error!(log_dir = %path.display(), "cannot write {LOG_START_OFFSET_CHECKPOINT_FILE}: {e}");
                self.mark_dir_offline(dir, &e);
            }
        }
    }

    /// A clean shutdown (Kafka's `LogManager.shutdown`): the flusher stops,
    /// every log is closed (flushed, indexes trimmed, producers
    /// snapshotted), the checkpoints are written and, last, each online
    /// directory's clean shutdown marker, so the next start trusts all of
    /// it. A move under way stops; its copy is closed too and resumes at the
    /// next start.
    pub fn shutdown(&self) -> io::Result<()> {
        {
            let (stopped, wake) = &*self.stop;
            *stopped.lock() = true;
            wake.notify_all();
            self.moves_wake.notify_all();
        }
        self.cleaner.shutdown();
        for handle in std::mem::take(&mut *self.background.lock()) {
            let _ = handle.join();
        }
        for handle in std::mem::take(&mut *self.cleaner_threads.lock()) {
            let _ = handle.join();
        }
        let futures: Vec<Arc<UnifiedLog>> = self
            .futures
            .lock()
            .values()
            .map(|f| Arc::clone(&f.log))
            .collect();
        for log in self.checkpointed_logs().into_iter().chain(futures) {
            if self.dir_index_of(&log).is_some_and(|d| self.is_offline(d)) {
                continue;
            }
            log.close()?;
        }
        self.checkpoint_recovery_points();
        self.checkpoint_log_start_offsets();
        for (index, dir) in self.dirs.iter().enumerate() {
            if self.is_offline(index) {
                continue;
            }
            let path = dir.path.join(CLEAN_SHUTDOWN_FILE);
            let mut file = std::fs::File::create(&path)?;
            file.write_all(br#"{"version":0,"brokerEpoch":-1}"#)?;
            file.sync_all()?;
            std::fs::File::open(&dir.path)?.sync_all()?;
        }
        Ok(())
    }

    /// The directory that holds the metadata log (the first configured).
    pub fn metadata_log_dir(&self) -> &Path {
        &self.dirs[0].path
    }

    /// Every configured directory, in the configured order.
    pub fn log_dirs(&self) -> Vec<LogDirState> {
        self.dirs
            .iter()
            .enumerate()
            .map(|(i, d)| LogDirState {
                absolute_path: std::path::absolute(&d.path).unwrap_or_else(|_| d.path.clone()),
                path: d.path.clone(),
                id: d.id,
                offline: self.is_offline(i),
            })
            .collect()
    }

    fn is_offline(&self, dir: usize) -> bool {
        self.dirs[dir].offline.load(Ordering::Acquire)
    }

    pub fn config(&self) -> LogConfig {
        self.config
    }

    pub fn get_log(&self, topic: &str, partition: i32) -> Option<Arc<UnifiedLog>> {
        self.logs
            .read()
            .get(topic)?
            .partitions
            .get(&partition)
            .cloned()
    }

    /// The topics with open logs, and their ids.
    pub fn topics(&self) -> Vec<(String, Uuid)> {
        self.logs
            .read()
            .iter()
            .map(|(name, logs)| (name.to_string(), logs.id))
            .collect()
    }

    /// The log of `tp`, opened (and recovered) or created on first use with
    /// `config`, in the directory it is found in, else in `target_dir` if
    /// that is an online directory, else in the online directory with the
    /// fewest partitions (Kafka's `LogManager.nextLogDirs`). A new partition
    /// directory gets its `partition.metadata`. A partition whose directory
    /// failed is [`LogDirOffline`].
    pub fn get_or_create_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
        target_dir: Option<Uuid>,
    ) -> io::Result<Arc<UnifiedLog>> {
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let _opening = self.opening.lock();
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let (dir, log) = self.load_log(tp, topic_id, config, target_dir)?;
        self.insert_log(tp, topic_id, dir, log)
    }

    /// The directory for `tp`'s log, as [`LogManager::get_or_create_log`]
    /// chooses it.
    fn choose_dir(&self, tp: &TopicPartition, target_dir: Option<Uuid>) -> io::Result<usize> {
        if let Some(dir) = self.offline_logs.read().get(tp) {
            return Err(io::Error::other(LogDirOffline { dir: dir.clone() }));
        }
        if let Some(&dir) = self.on_disk.lock().get(tp) {
            if self.is_offline(dir) {
                return Err(io::Error::other(LogDirOffline {
                    dir: self.dirs[dir].path.clone(),
                }));
            }
            return Ok(dir);
        }
        if let Some(id) = target_dir.filter(|id| !is_reserved_dir_id(id)) {
            match self.dirs.iter().position(|d| d.id == id) {
                Some(dir) if !self.is_offline(dir) => return Ok(dir),
                Some(dir) => {
                    return Err(io::Error::other(LogDirOffline {
                        dir: self.dirs[dir].path.clone(),
                    }));
                }
                None => {
                    // Its log is in a directory this broker does not have
                    // (failed at the start, or taken out of log.dirs): an
                    // empty log elsewhere would hide that, so it is offline,
                    // as Kafka counts a replica whose directory is not
                    // among its broker's online ones.
                    let dir = PathBuf::from(format!("<directory {}>", topic_id_to_string(id)));
                    warn!(log = %tp, directory_id = %topic_id_to_string(id), "the partition's log directory is not online: the partition is offline");
                    self.offline_logs.write().insert(tp.clone(), dir.clone());
                    self.directories_changed();
                    return Err(io::Error::other(LogDirOffline { dir }));
                }
            }
        }
        let mut counts = vec![0usize; self.dirs.len()];
        for log in self.all_logs() {
            if let Some(i) = self.dir_index_of(&log) {
                counts[i] += 1;
            }
        }
        for future in self.futures.lock().values() {
            counts[future.dir] += 1;
        }
        (0..self.dirs.len())
            .filter(|&d| !self.is_offline(d))
            .min_by_key(|&d| counts[d])
            .ok_or_else(|| {
                io::Error::other(LogDirOffline {
                    dir: self.dirs[0].path.clone(),
                })
            })
    }

    /// Prepares `tp`'s directory and loads its log, without any lock.
    fn load_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
        target_dir: Option<Uuid>,
    ) -> io::Result<(usize, Arc<UnifiedLog>)> {
        let index = self.choose_dir(tp, target_dir)?;
        let dir = self.dirs[index].path.join(tp.to_string());
        let loaded = (|| {
            let metadata_file = dir.join(PARTITION_METADATA_FILE);
            if let Some(stale) =
                read_partition_metadata(&metadata_file).filter(|id| *id != topic_id)
            {
                // The directory belongs to a deleted topic of the same name.
                warn!(log = %tp, stale_topic_id = %stale, %topic_id, "removing the log of a deleted topic");
                remove_dir(&dir)?;
            }
            std::fs::create_dir_all(&dir)?;
            if !metadata_file.exists() {
                write_partition_metadata(&metadata_file, topic_id)?;
            }
            UnifiedLog::load(&dir, tp.clone(), config, self.load_params(index, tp))
        })();
        let log = match loaded {
            Ok(log) => Arc::new(log),
            Err(e) => {
                error!(log = %tp, log_dir = %self.dirs[index].path.display(), "cannot open log: {e}");
                self.mark_dir_offline(index, &e);
                return Err(e);
            }
        };
        self.on_disk.lock().remove(tp);
        self.count_loaded(&log);
        Ok((index, log))
    }

    fn insert_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        dir: usize,
        log: Arc<UnifiedLog>,
    ) -> io::Result<Arc<UnifiedLog>> {
        let mut logs = self.logs.write();
        if logs
            .get(tp.topic.as_str())
            .is_some_and(|t| t.id != topic_id)
        {
            return Err(io::Error::other(format!(
                "{tp}: the logs of an older topic of this name are still open"
            )));
        }
        if self.is_offline(dir) {
            // The directory failed while the log was being opened.
            self.offline_logs
                .write()
                .insert(tp.clone(), self.dirs[dir].path.clone());
            return Err(io::Error::other(LogDirOffline {
                dir: self.dirs[dir].path.clone(),
            }));
        }
        let topic = match logs.get_mut(tp.topic.as_str()) {
            Some(topic) => topic,
            None => logs
                .entry(Arc::from(tp.topic.as_str()))
                .or_insert_with(|| TopicLogs {
                    id: topic_id,
                    partitions: HashMap::new(),
                }),
        };
        topic.partitions.insert(tp.partition, Arc::clone(&log));
        Ok(log)
    }

    /// Deletes the logs of every partition of `topic`: they refuse appends
    /// from now on, their directories are renamed `<dir>.<id>-delete` (so a
    /// crash midway leaves nothing that looks live) and then removed. A
    /// move of one of them stops and its copy goes too.
    pub fn delete_topic_logs(&self, topic: &str) -> io::Result<()> {
        let removed = self.logs.write().remove(topic);
        self.cleaner.forget(topic);
        self.offline_logs.write().retain(|tp, _| tp.topic != topic);
        self.on_disk.lock().retain(|tp, _| tp.topic != topic);
        let futures: Vec<FutureLog> = {
            let mut futures = self.futures.lock();
            let doomed: Vec<TopicPartition> = futures
                .keys()
                .filter(|tp| tp.topic == topic)
                .cloned()
                .collect();
            doomed.iter().filter_map(|tp| futures.remove(tp)).collect()
        };
        for future in futures {
            future.log.mark_deleted();
            remove_dir(future.log.dir())?;
        }
        for log in removed.into_iter().flat_map(|t| t.partitions.into_values()) {
            log.mark_deleted();
            remove_dir(log.dir())?;
            info!(log = %log.topic_partition(), "deleted log");
        }
        Ok(())
    }

    /// The total and usable bytes of the file system holding `dir`
    /// (Java's `FileStore.getTotalSpace` and `getUsableSpace`, as Kafka's
    /// DescribeLogDirs reports them). It may block on the file system:
    /// call it off the runtime's threads.
    pub fn disk_space(dir: &Path) -> io::Result<(u64, u64)> {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: `path` is a NUL-terminated string and `stats` a plain
        // struct that statvfs(3) fills in; nothing is kept past the call.
        let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let fragment = stats.f_frsize as u64;
        Ok((
            (stats.f_blocks as u64).saturating_mul(fragment),
            (stats.f_bavail as u64).saturating_mul(fragment),
        ))
    }

    pub fn all_logs(&self) -> Vec<Arc<UnifiedLog>> {
        self.logs
            .read()
            .values()
            .flat_map(|topic| topic.partitions.values().cloned())
            .collect()
    }

    /// The logs in directory `dir` (an id), and the copies being moved into it
    /// (`true`), with the log end offset of the log each copies.
    pub fn logs_in_dir(&self, dir: Uuid) -> Vec<(Arc<UnifiedLog>, Option<i64>)> {
        let Some(index) = self.dirs.iter().position(|d| d.id == dir) else {
            return Vec::new();
        };
        let mut logs: Vec<(Arc<UnifiedLog>, Option<i64>)> = self
            .all_logs()
            .into_iter()
            .filter(|log| self.dir_index_of(log) == Some(index))
            .map(|log| (log, None))
            .collect();
        for (tp, future) in self.futures.lock().iter() {
            if future.dir == index {
                let current = self
                    .get_log(&tp.topic, tp.partition)
                    .map_or(future.log.log_end_offset(), |l| l.log_end_offset());
                logs.push((Arc::clone(&future.log), Some(current)));
            }
        }
        logs
    }

    /// Forces every log to disk (on shutdown).
    pub fn flush_all(&self) -> io::Result<()> {
        for log in self.all_logs() {
            log.flush()?;
        }
        Ok(())
    }

    /// An I/O error from `log`: its directory has failed (Kafka's
    /// `LogDirFailureChannel.maybeAddOfflineLogDir`). Errors saying the
    /// log is closed, and errors of a log deleted or moved away (its files
    /// are gone on purpose), are not the directory's.
    pub fn handle_log_error(&self, log: &UnifiedLog, e: &io::Error) {
        if log.is_deleted()
            || log.is_moved()
            || is_log_dir_offline(e)
            || e.kind() == io::ErrorKind::Other
        {
            return;
        }
        if let Some(dir) = self.dir_index_of(log) {
            self.mark_dir_offline(dir, e);
        }
    }

    /// Takes directory `dir` offline (Kafka's `handleLogDirFailure`): its
    /// logs are no longer served, moves into or out of it stop, and the
    /// listener is told so the metadata records it. Logged once. Without
    /// the metadata log's directory, or without any directory, the broker
    /// cannot go on and halts, as Kafka does.
    pub fn mark_dir_offline(&self, dir: usize, cause: &io::Error) {
        if self.dirs[dir].offline.swap(true, Ordering::AcqRel) {
            return;
        }
        let path = self.dirs[dir].path.display().to_string();
        error!(log_dir = %path, "Stopping serving logs in dir {path}: {cause}");
        if dir == 0 {
            error!("Shutdown broker because the metadata log dir {path} has failed");
            std::process::exit(1);
        }
        if (0..self.dirs.len()).all(|d| self.is_offline(d)) {
            error!("Shutdown broker because all log dirs have failed");
            std::process::exit(1);
        }
        let mut offline = Vec::new();
        {
            let mut logs = self.logs.write();
            for topic in logs.values_mut() {
                topic.partitions.retain(|_, log| {
                    let here = log.dir().parent() == Some(self.dirs[dir].path.as_path());
                    if here {
                        offline.push(log.topic_partition().clone());
                    }
                    !here
                });
            }
            logs.retain(|_, t| !t.partitions.is_empty());
        }
        {
            let path = &self.dirs[dir].path;
            let mut map = self.offline_logs.write();
            for tp in &offline {
                map.insert(tp.clone(), path.clone());
            }
            for (tp, &d) in self.on_disk.lock().iter() {
                if d == dir {
                    map.insert(tp.clone(), path.clone());
                }
            }
        }
        let aborted: Vec<(TopicPartition, FutureLog)> = {
            let mut futures = self.futures.lock();
            let gone: Vec<TopicPartition> = futures
                .iter()
                .filter(|(tp, f)| f.dir == dir || offline.contains(tp))
                .map(|(tp, _)| tp.clone())
                .collect();
            gone.into_iter()
                .filter_map(|tp| futures.remove(&tp).map(|f| (tp, f)))
                .collect()
        };
        for (tp, future) in aborted {
            warn!(log = %tp, "the move of the partition stops: a directory it involves failed");
            future.log.mark_deleted();
            if future.dir != dir {
                let _ = remove_dir(future.log.dir());
            }
        }
        warn!(log_dir = %path, partitions = offline.len(), "partitions in the failed log directory are offline");
        self.directories_changed();
    }

    /// The partitions whose directory failed.
    pub fn offline_partitions(&self) -> Vec<TopicPartition> {
        self.offline_logs.read().keys().cloned().collect()
    }

    /// Whether `tp`'s directory failed.
    pub fn is_partition_offline(&self, tp: &TopicPartition) -> bool {
        self.offline_logs.read().contains_key(tp)
    }

    /// Moves under way.
    pub fn future_log_count(&self) -> usize {
        self.futures.lock().len()
    }

    /// The ids of the directories that failed.
    pub fn offline_dir_ids(&self) -> Vec<Uuid> {
        (0..self.dirs.len())
            .filter(|&d| self.is_offline(d))
            .map(|d| self.dirs[d].id)
            .collect()
    }

    /// The number of directories that failed.
    pub fn offline_dir_count(&self) -> usize {
        (0..self.dirs.len()).filter(|&d| self.is_offline(d)).count()
    }

    /// Moves `tp`'s log to the directory at `path` (AlterReplicaLogDirs,
    /// Kafka's `ReplicaManager.alterReplicaLogDirs`): a `-future` copy is
    /// created there and filled by the mover thread until it takes over.
    /// Asking for the directory the log is in cancels a move under way.
    pub fn alter_log_dir(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        path: &Path,
    ) -> Result<(), MoveError> {
        let dest = self
            .dirs
            .iter()
            .position(|d| std::path::absolute(&d.path).is_ok_and(|a| a == path))
            .ok_or(MoveError::UnknownDir)?;
        if self.is_offline(dest) || self.is_partition_offline(tp) {
            return Err(MoveError::DirOffline);
        }
        let log = self
            .get_log(&tp.topic, tp.partition)
            .ok_or(MoveError::NotHosted)?;
        let current = self.dir_index_of(&log).ok_or(MoveError::NotHosted)?;
        let mut futures = self.futures.lock();
        if let Some(existing) = futures.get(tp) {
            if existing.dir == dest {
                return Ok(());
            }
            if let Some(old) = futures.remove(tp) {
                info!(log = %tp, "the move under way is replaced");
                old.log.mark_deleted();
                let _ = remove_dir(old.log.dir());
            }
        }
        if dest == current {
            return Ok(());
        }
        let dir = self.dirs[dest]
            .path
            .join(format!("{tp}.{}{FUTURE_SUFFIX}", Uuid::new_v4().simple()));
        let created = (|| {
            std::fs::create_dir_all(&dir)?;
            write_partition_metadata(&dir.join(PARTITION_METADATA_FILE), topic_id)?;
            UnifiedLog::load(
                &dir,
                tp.clone(),
                log.config(),
                LoadParams {
                    had_clean_shutdown: false,
                    recovery_point: None,
                    log_start_offset: Some(log.log_start_offset()),
                },
            )
        })();
        let future = created.map_err(|e| {
            warn!(log = %tp, dir = %dir.display(), "cannot create the copy for a move: {e}");
            let _ = std::fs::remove_dir_all(&dir);
            MoveError::Io(e.to_string())
        })?;
        info!(log = %tp, from = %self.dirs[current].path.display(), to = %self.dirs[dest].path.display(), "moving the partition to another log directory");
        futures.insert(
            tp.clone(),
            FutureLog {
                log: Arc::new(future),
                dir: dest,
                topic_id,
            },
        );
        drop(futures);
        let _stopped = self.stop.0.lock();
        self.moves_wake.notify_all();
        Ok(())
    }

    /// Loads the `-future` copies a previous run left beside a current log:
    /// their moves go on.
    fn resume_moves(&self) {
        for (tp, dir, path) in std::mem::take(&mut *self.futures_to_resume.lock()) {
            let Some(current) = self.get_log(&tp.topic, tp.partition) else {
                warn!(log = %tp, dir = %path.display(), "removing the copy of a partition this broker no longer has");
                let _ = std::fs::remove_dir_all(&path);
                continue;
            };
            let topic_id = read_partition_metadata(&path.join(PARTITION_METADATA_FILE));
            let loaded = UnifiedLog::load(
                &path,
                tp.clone(),
                current.config(),
                LoadParams {
                    had_clean_shutdown: false,
                    recovery_point: None,
                    log_start_offset: None,
                },
            );
            match (loaded, topic_id) {
                (Ok(log), Some(topic_id)) => {
                    info!(log = %tp, dir = %path.display(), end_offset = log.log_end_offset(), "resuming the move of the partition");
                    self.futures.lock().insert(
                        tp,
                        FutureLog {
                            log: Arc::new(log),
                            dir,
                            topic_id,
                        },
                    );
                }
                (loaded, _) => {
                    let why = loaded
                        .err()
                        .map_or("no topic id".to_string(), |e| e.to_string());
                    warn!(log = %tp, dir = %path.display(), "cannot resume a move, the copy is removed: {why}");
                    let _ = std::fs::remove_dir_all(&path);
                }
            }
        }
    }

    /// The mover (Kafka's `ReplicaAlterLogDirsThread`): copies each move's
    /// current log into its `-future` copy and, once the copy has caught
    /// up, lets it take over.
    fn run_mover(&self) {
        loop {
            {
                let mut stopped = self.stop.0.lock();
                if !*stopped && self.futures.lock().is_empty() {
                    self.moves_wake
                        .wait_for(&mut stopped, Duration::from_secs(1));
                }
                if *stopped {
                    return;
                }
            }
            let moves: Vec<(TopicPartition, Arc<UnifiedLog>)> = self
                .futures
                .lock()
                .iter()
                .map(|(tp, f)| (tp.clone(), Arc::clone(&f.log)))
                .collect();
            let mut idle = true;
            for (tp, future) in moves {
                match self.copy_some(&tp, &future) {
                    Ok(true) => idle = false,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(log = %tp, "the move of the partition failed: {e}");
                        self.abort_move(&tp, &future);
                    }
                }
            }
            if idle {
                let mut stopped = self.stop.0.lock();
                if !*stopped {
                    self.moves_wake
                        .wait_for(&mut stopped, Duration::from_millis(10));
                }
            }
        }
    }

    /// One step of a move: copies a chunk of the current log into the
    /// copy, or swaps them when the copy is close enough. Returns whether
    /// it did anything.
    fn copy_some(&self, tp: &TopicPartition, future: &Arc<UnifiedLog>) -> io::Result<bool> {
        let Some(current) = self.get_log(&tp.topic, tp.partition) else {
            return Err(io::Error::other("the partition is no longer hosted"));
        };
        if future.is_deleted() {
            return Ok(false);
        }
        if current.log_start_offset() > future.log_end_offset() {
            // Retention went past the copy's end: it starts again there.
            return Err(io::Error::other("the log start moved past the copy"));
        }
        let lag = current.log_end_offset() - future.log_end_offset();
        if lag > 0 && current.size_in_bytes() > future.size_in_bytes() + MOVE_CHUNK_BYTES as u64 {
            let data = current
                .read(future.log_end_offset(), MOVE_CHUNK_BYTES, true)
                .map_err(|e| io::Error::other(e.to_string()))?;
            if !data.records.is_empty() {
                future
                    .append_as_follower(&data.records)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                self.throttle_move(data.records.len() as u64);
                return Ok(true);
            }
        }
        // Close enough: the rest is copied with appends held off, then the
        // copy takes over.
        let Some(dest) = self.futures.lock().get(tp).map(|f| (f.dir, f.topic_id)) else {
            return Ok(false);
        };
        let (dest, topic_id) = dest;
        let source_dir = current.dir().to_path_buf();
        let mut replacement: Option<Arc<UnifiedLog>> = None;
        current.replace_with_future(future, || {
            future.close()?;
            let live = self.dirs[dest].path.join(tp.to_string());
            let doomed = source_dir.with_file_name(format!(
                "{tp}.{}{DELETE_SUFFIX}",
                Uuid::new_v4().simple()
            ));
            std::fs::rename(&source_dir, &doomed)?;
            if let Err(e) = std::fs::rename(future.dir(), &live) {
                // Put the current log back where it was.
                let _ = std::fs::rename(&doomed, &source_dir);
                return Err(e);
            }
            if let Some(parent) = source_dir.parent() {
                std::fs::File::open(parent)?.sync_all()?;
            }
            std::fs::File::open(&self.dirs[dest].path)?.sync_all()?;
            let end = future.log_end_offset();
            let log = Arc::new(UnifiedLog::load(
                &live,
                tp.clone(),
                current.config(),
                LoadParams {
                    had_clean_shutdown: true,
                    recovery_point: Some(end),
                    log_start_offset: Some(future.log_start_offset()),
                },
            )?);
            {
                let mut logs = self.logs.write();
                if let Some(topic) = logs.get_mut(tp.topic.as_str())
                    && topic.id == topic_id
                {
                    topic.partitions.insert(tp.partition, Arc::clone(&log));
                }
            }
            replacement = Some(log);
            if let Err(e) = std::fs::remove_dir_all(&doomed) {
                warn!(dir = %doomed.display(), "cannot remove the moved partition's old directory: {e}");
            }
            Ok(())
        })?;
        self.futures.lock().remove(tp);
        if let Some(log) = replacement {
            info!(log = %tp, dir = %self.dirs[dest].path.display(), end_offset = log.log_end_offset(), "the partition moved to another log directory");
        }
        self.directories_changed();
        Ok(true)
    }

    fn abort_move(&self, tp: &TopicPartition, future: &Arc<UnifiedLog>) {
        let mut futures = self.futures.lock();
        if futures.get(tp).is_some_and(|f| Arc::ptr_eq(&f.log, future)) {
            futures.remove(tp);
            future.mark_deleted();
            let _ = remove_dir(future.dir());
        }
    }
}

/// Kafka's textual form of a topic id: URL-safe base64 without padding.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn topic_id_to_string(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Renames a log directory to `<dir>.<id>-delete`, then removes it.
fn remove_dir(dir: &Path) -> io::Result<()> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doomed = dir.with_file_name(format!("{name}.{}{DELETE_SUFFIX}", Uuid::new_v4().simple()));
    std::fs::rename(dir, &doomed)?;
    std::fs::remove_dir_all(&doomed)
}

/// The topic id a `partition.metadata` file records, if it can be read.
fn read_partition_metadata(path: &Path) -> Option<Uuid> {
    let text = std::fs::read_to_string(path).ok()?;
    let encoded = text
        .lines()
        .find_map(|line| line.strip_prefix("topic_id:"))?
        .trim();
    let bytes: [u8; 16] = URL_SAFE_NO_PAD.decode(encoded).ok()?.try_into().ok()?;
    Some(Uuid::from_bytes(bytes))
}

/// Writes `partition.metadata` (atomically) the way Kafka does.
pub fn write_partition_metadata(path: &Path, topic_id: Uuid) -> io::Result<()> {
    let content = format!("version: 0\ntopic_id: {}", topic_id_to_string(topic_id));
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_partition_directories_once() {
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::new(&dir.path().join("logs"), LogConfig::default()).unwrap();
        let tp = TopicPartition::new("orders", 3);
        let id = Uuid::from_u128(0xbfd9_9e5e_3235_4552_81f8_d4af_1741_970c);
        let log = manager
            .get_or_create_log(&tp, id, LogConfig::default(), None)
            .unwrap();
        let again = manager
            .get_or_create_log(&tp, id, LogConfig::default(), None)
            .unwrap();
        assert!(Arc::ptr_eq(&log, &again));
        let metadata =
            std::fs::read_to_string(dir.path().join("logs/orders-3/partition.metadata")).unwrap();
        assert_eq!(metadata, "version: 0\ntopic_id: v9meXjI1RVKB-NSvF0GXDA");
        assert!(
            dir.path()
                .join("logs/orders-3/00000000000000000000.log")
                .exists()
        );
        assert_eq!(manager.all_logs().len(), 1);

        assert_eq!(
            read_partition_metadata(&dir.path().join("logs/orders-3/partition.metadata")),
            Some(id)
        );
        assert_eq!(manager.topics(), vec![("orders".to_string(), id)]);
        manager.delete_topic_logs("orders").unwrap();
        assert!(manager.get_log("orders", 3).is_none());
        assert!(!dir.path().join("logs/orders-3").exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("logs")).unwrap().count(),
            0
        );
    }
}

#[cfg(test)]
mod jbod_tests {
    use super::*;
    use crate::storage::AppendError;
    use crate::storage::record_batch::{self, NewRecord};

    fn specs(root: &Path) -> Vec<LogDirSpec> {
        (0..2)
            .map(|i| LogDirSpec {
                path: root.join(format!("d{i}")),
                id: Uuid::from_u128(1000 + i),
                failed: false,
            })
            .collect()
    }

    fn manager(root: &Path) -> Arc<LogManager> {
        Arc::new(
            LogManager::with_config(
                specs(root),
                LogConfig::default(),
                LogManagerConfig::default(),
            )
            .unwrap(),
        )
    }

    fn append(log: &UnifiedLog, value: &str) -> i64 {
        let batch = record_batch::build_batch(
            1_700_000_000_000,
            &[NewRecord {
                key: None,
                value: Some(value.as_bytes()),
            }],
        );
        log.append_as_leader(&batch, 0).unwrap().first_offset
    }

    /// Every record's offset and value, read from the start.
    fn contents(log: &UnifiedLog) -> Vec<(i64, usize)> {
        let mut out = Vec::new();
        let mut offset = log.log_start_offset();
        while offset < log.log_end_offset() {
            let data = log.read(offset, 1 << 20, true).unwrap();
            let mut last = offset;
            for batch in record_batch::Batches::new(&data.records) {
                let batch = batch.unwrap();
                out.push((batch.header.base_offset, batch.bytes.len()));
                last = batch.header.last_offset() + 1;
            }
            assert!(last > offset, "no progress at {offset}");
            offset = last;
        }
        out
    }

    const TOPIC_ID: Uuid = Uuid::from_u128(77);

    #[test]
    fn partitions_spread_over_directories_and_are_found_again() {
        let root = tempfile::tempdir().unwrap();
        let logs = manager(root.path());
        for p in 0..4 {
            logs.get_or_create_log(
                &TopicPartition::new("t", p),
                TOPIC_ID,
                LogConfig::default(),
                None,
            )
            .unwrap();
        }
        // A target directory is honoured.
        let targeted = logs
            .get_or_create_log(
                &TopicPartition::new("t", 4),
                TOPIC_ID,
                LogConfig::default(),
                Some(Uuid::from_u128(1001)),
            )
            .unwrap();
        assert_eq!(logs.dir_id_of(&targeted), Some(Uuid::from_u128(1001)));
        let in_dir = |i: usize| {
            std::fs::read_dir(root.path().join(format!("d{i}")))
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("t-")
                })
                .count()
        };
        assert_eq!((in_dir(0), in_dir(1)), (2, 3));
        logs.shutdown().unwrap();
        assert!(root.path().join("d1").join(CLEAN_SHUTDOWN_FILE).exists());
        assert!(
            root.path()
                .join("d1")
                .join(RECOVERY_POINT_CHECKPOINT_FILE)
                .exists()
        );
        drop(logs);

        // Found where they are, whatever the metadata's target says.
        let again = manager(root.path());
        assert!(again.had_clean_shutdown());
        let log = again
            .get_or_create_log(
                &TopicPartition::new("t", 4),
                TOPIC_ID,
                LogConfig::default(),
                Some(Uuid::from_u128(1000)),
            )
            .unwrap();
        assert_eq!(again.dir_id_of(&log), Some(Uuid::from_u128(1001)));
    }

    #[test]
    fn a_move_copies_everything_while_appends_go_on() {
        let root = tempfile::tempdir().unwrap();
        let logs = manager(root.path());
        logs.startup().unwrap();
        let tp = TopicPartition::new("t", 0);
        let log = logs
            .get_or_create_log(
                &tp,
                TOPIC_ID,
                LogConfig::default(),
                Some(Uuid::from_u128(1000)),
            )
            .unwrap();
        for i in 0..5000 {
            append(&log, &format!("before-{i}"));
        }
        let dest = std::path::absolute(root.path().join("d1")).unwrap();
        assert_eq!(
            logs.alter_log_dir(&tp, TOPIC_ID, Path::new("/nowhere")),
            Err(MoveError::UnknownDir)
        );
        logs.alter_log_dir(&tp, TOPIC_ID, &dest).unwrap();
        // Appends go on during the move, to whichever log is current.
        let mut appended = 5000;
        while logs.future_log_count() > 0 {
            let current = logs.get_log("t", 0).unwrap();
            let batch = record_batch::build_batch(
                1_700_000_000_000,
                &[NewRecord {
                    key: None,
                    value: Some(b"during"),
                }],
            );
            match current.append_as_leader(&batch, 0) {
                Ok(info) => {
                    assert_eq!(info.first_offset, appended);
                    appended += 1;
                }
                Err(AppendError::Moved) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let moved = logs.get_log("t", 0).unwrap();
        assert_eq!(logs.dir_id_of(&moved), Some(Uuid::from_u128(1001)));
        assert_eq!(moved.log_end_offset(), appended);
        let offsets: Vec<i64> = contents(&moved).into_iter().map(|(o, _)| o).collect();
        assert_eq!(offsets, (0..appended).collect::<Vec<_>>());
        assert!(!root.path().join("d0/t-0").exists());
        assert_eq!(append(&moved, "after"), appended);
        logs.shutdown().unwrap();
    }

    #[test]
    fn a_move_copies_no_faster_than_its_rate() {
        let root = tempfile::tempdir().unwrap();
        let logs = manager(root.path());
        logs.set_move_rate(2 << 20);
        logs.startup().unwrap();
        let tp = TopicPartition::new("t", 0);
        let log = logs
            .get_or_create_log(
                &tp,
                TOPIC_ID,
                LogConfig::default(),
                Some(Uuid::from_u128(1000)),
            )
            .unwrap();
        // 6 MiB in 64 KiB records.
        let value = "v".repeat(64 << 10);
        for _ in 0..96 {
            append(&log, &value);
        }
        let started = Instant::now();
        let dest = std::path::absolute(root.path().join("d1")).unwrap();
        logs.alter_log_dir(&tp, TOPIC_ID, &dest).unwrap();
        while logs.future_log_count() > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the move did not finish"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // At 2 MiB/s, the first 5 MiB copied outside the swap take two
        // seconds at least.
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(logs.get_log("t", 0).unwrap().log_end_offset(), 96);
        logs.shutdown().unwrap();
    }

    #[test]
    fn a_move_cut_short_leaves_one_copy() {
        let root = tempfile::tempdir().unwrap();
        let tp = TopicPartition::new("t", 0);
        {
            let logs = manager(root.path());
            let log = logs
                .get_or_create_log(
                    &tp,
                    TOPIC_ID,
                    LogConfig::default(),
                    Some(Uuid::from_u128(1000)),
                )
                .unwrap();
            for i in 0..100 {
                append(&log, &format!("r{i}"));
            }
            log.flush().unwrap();
        }
        // A copy half done, as a crash mid-move leaves it: the move resumes.
        let future = root
            .path()
            .join(format!("d1/t-0.{}-future", Uuid::new_v4().simple()));
        {
            let copy = UnifiedLog::open(&future, tp.clone(), LogConfig::default()).unwrap();
            let source = UnifiedLog::open(
                &root.path().join("d0/t-0"),
                tp.clone(),
                LogConfig::default(),
            )
            .unwrap();
            let data = source.read(0, 600, false).unwrap();
            copy.append_as_follower(&data.records).unwrap();
            assert!(copy.log_end_offset() > 0 && copy.log_end_offset() < 100);
            copy.close().unwrap();
            write_partition_metadata(&future.join(PARTITION_METADATA_FILE), TOPIC_ID).unwrap();
        }
        let logs = manager(root.path());
        logs.open_logs(
            vec![LogToOpen {
                tp: tp.clone(),
                topic_id: TOPIC_ID,
                config: LogConfig::default(),
                target_dir: None,
            }],
            2,
        )
        .unwrap();
        logs.startup().unwrap();
        assert_eq!(logs.future_log_count(), 1);
        let deadline = Instant::now() + Duration::from_secs(20);
        while logs.future_log_count() > 0 {
            assert!(Instant::now() < deadline, "the move did not finish");
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = logs.get_log("t", 0).unwrap();
        assert_eq!(logs.dir_id_of(&log), Some(Uuid::from_u128(1001)));
        assert_eq!(contents(&log).len(), 100);
        assert!(!root.path().join("d0/t-0").exists());
        logs.shutdown().unwrap();
        drop(logs);

        // Stopped between retiring the current log and renaming the copy:
        // the copy is the log.
        let live = root.path().join("d1/t-0");
        let doomed = root
            .path()
            .join(format!("d1/t-0.{}-delete", Uuid::new_v4().simple()));
        std::fs::rename(&live, &doomed).unwrap();
        let copy = root
            .path()
            .join(format!("d0/t-0.{}-future", Uuid::new_v4().simple()));
        copy_dir(&doomed, &copy);
        let logs = manager(root.path());
        assert!(!doomed.exists());
        let log = logs
            .get_or_create_log(
                &tp,
                TOPIC_ID,
                LogConfig::default(),
                Some(Uuid::from_u128(1001)),
            )
            .unwrap();
        assert_eq!(logs.dir_id_of(&log), Some(Uuid::from_u128(1000)));
        assert_eq!(contents(&log).len(), 100);
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
