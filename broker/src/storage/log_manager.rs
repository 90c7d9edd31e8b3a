//! All partition logs under the log directory (Kafka's `LogManager`): it
//! opens them with what the directory's checkpoints say of them, keeps the
//! checkpoints (`recovery-point-offset-checkpoint`,
//! `log-start-offset-checkpoint`) and the clean shutdown marker
//! (`.kafka_cleanshutdown`), and runs the log flusher, retention and
//! cleaner threads.

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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};
use uuid::Uuid;

/// Kafka's clean shutdown marker in the log directory.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";

/// Settings of the log manager itself (the broker-level `log.*` keys).
#[derive(Debug, Clone, Copy)]
pub struct LogManagerConfig {
    pub num_recovery_threads: usize,
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
            num_recovery_threads: 2,
            flush_check_interval: Duration::from_secs(1),
            recovery_point_checkpoint_interval: Duration::from_secs(60),
            log_start_offset_checkpoint_interval: Duration::from_secs(60),
            retention_check_interval: Duration::from_secs(300),
            cleaner: CleanerConfig::default(),
        }
    }
}

/// A log to open: its partition, topic id and settings.
pub struct LogToOpen {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    pub config: LogConfig,
}

/// Name of the file in each partition directory that records its topic id.
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";
/// Suffix of a log directory being deleted.
const DELETE_SUFFIX: &str = "-delete";

/// The open logs of one topic.
struct TopicLogs {
    id: Uuid,
    partitions: HashMap<i32, Arc<UnifiedLog>>,
}

type LogsByTopic = HashMap<Arc<str>, TopicLogs>;

pub struct LogManager {
    log_dir: PathBuf,
    config: LogConfig,
    manager_config: LogManagerConfig,
    logs: RwLock<LogsByTopic>,
    /// Serialises opening logs, so the map lock is never held across I/O.
    opening: Mutex<()>,
    /// Whether the last run left the clean shutdown marker.
    had_clean_shutdown: bool,
    recovery_points: HashMap<TopicPartition, i64>,
    log_start_offsets: HashMap<TopicPartition, i64>,
    /// The metadata log, which is not a partition of a topic in the image
    /// but is checkpointed and closed with the others.
    metadata_log: Mutex<Option<Arc<UnifiedLog>>>,
    scanned_bytes: AtomicU64,
    loaded_logs: AtomicUsize,
    /// Serialises checkpoint writes.
    checkpointing: Mutex<()>,
    /// The log flusher and retention threads.
    background: Mutex<Vec<std::thread::JoinHandle<()>>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    /// Compaction of the logs with `cleanup.policy=compact`.
    cleaner: LogCleaner,
    /// The cleaner threads, by id.
    cleaner_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Files renamed `.deleted` and when to remove them.
    pending_deletes: Mutex<Vec<(Instant, PathBuf)>>,
}

impl LogManager {
    /// Uses `log_dir`, creating it if missing, and finishes deleting logs
    /// a previous run left marked for deletion.
    pub fn new(log_dir: &Path, config: LogConfig) -> io::Result<Self> {
        Self::with_config(log_dir, config, LogManagerConfig::default())
    }

    pub fn with_config(
        log_dir: &Path,
        config: LogConfig,
        manager_config: LogManagerConfig,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        for entry in std::fs::read_dir(log_dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().ends_with(DELETE_SUFFIX) {
                warn!(dir = %entry.path().display(), "removing a log left marked for deletion");
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        let had_clean_shutdown = log_dir.join(CLEAN_SHUTDOWN_FILE).exists();
        let read_checkpoint = |name: &str| {
            checkpoint_file::read_offsets(&log_dir.join(name)).unwrap_or_else(|e| {
                warn!("{e}; the logs will be recovered without it");
                HashMap::new()
            })
        };
        let recovery_points = read_checkpoint(RECOVERY_POINT_CHECKPOINT_FILE);
        let log_start_offsets = read_checkpoint(LOG_START_OFFSET_CHECKPOINT_FILE);
        Ok(LogManager {
            log_dir: log_dir.to_path_buf(),
            config,
            manager_config,
            logs: RwLock::new(HashMap::new()),
            opening: Mutex::new(()),
            had_clean_shutdown,
            recovery_points,
            log_start_offsets,
            metadata_log: Mutex::new(None),
            scanned_bytes: AtomicU64::new(0),
            loaded_logs: AtomicUsize::new(0),
            checkpointing: Mutex::new(()),
            background: Mutex::new(Vec::new()),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
            cleaner: LogCleaner::new(log_dir, manager_config.cleaner),
            cleaner_threads: Mutex::new(Vec::new()),
            pending_deletes: Mutex::new(Vec::new()),
        })
    }

    /// Whether the previous run shut down cleanly.
    pub fn had_clean_shutdown(&self) -> bool {
        self.had_clean_shutdown
    }

    /// What the checkpoints say of `tp`'s log.
    pub fn load_params(&self, tp: &TopicPartition) -> LoadParams {
        LoadParams {
            had_clean_shutdown: self.had_clean_shutdown,
            recovery_point: self.recovery_points.get(tp).copied(),
            log_start_offset: self.log_start_offsets.get(tp).copied(),
        }
    }

    /// Opens a log that lives outside the topics (the metadata log) with
    /// what the checkpoints say of it; it is checkpointed and closed with
    /// the others.
    pub fn open_metadata_log(
        &self,
        dir: &Path,
        tp: TopicPartition,
        config: LogConfig,
    ) -> io::Result<Arc<UnifiedLog>> {
        let params = self.load_params(&tp);
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

    /// Opens the given logs, `num.recovery.threads.per.data.dir` at a time.
    pub fn open_logs(&self, logs: Vec<LogToOpen>) -> io::Result<()> {
        let threads = self
            .manager_config
            .num_recovery_threads
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
                        let opened =
                            self.load_log(&log.tp, log.topic_id, log.config)
                                .and_then(|opened| {
                                    let _opening = self.opening.lock();
                                    self.insert_log(&log.tp, log.topic_id, opened)
                                });
                        if let Err(e) = opened {
                            warn!(log = %log.tp, "cannot open log: {e}");
                            failure.lock().get_or_insert(e);
                            break;
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

    /// Loading is done: the clean shutdown marker goes (a crash from now on
    /// is not a clean shutdown) and the log flusher and retention threads
    /// start.
    pub fn startup(self: &Arc<Self>) -> io::Result<()> {
        match std::fs::remove_file(self.log_dir.join(CLEAN_SHUTDOWN_FILE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let manager = Arc::clone(self);
        let flusher = std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || manager.run_flusher())?;
        let manager = Arc::clone(self);
        let retention = std::thread::Builder::new()
            .name("log-retention".into())
            .spawn(move || manager.run_retention())?;
        self.background.lock().extend([flusher, retention]);
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
                            error!(log = %log.topic_partition(), "cannot delete old segments: {e}")
                        }
                    }
                }
                if moved && let Err(e) = self.checkpoint_log_start_offsets() {
                    error!("cannot write {LOG_START_OFFSET_CHECKPOINT_FILE}: {e}");
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
        let mut recovery_flushes_pending = !self.had_clean_shutdown;
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
                    Err(e) => error!(log = %log.topic_partition(), "cannot flush log: {e}"),
                }
            }
            // The first flushes after a crash's recovery are checkpointed
            // at once, so that a second crash does not check that data again.
            if recovery_flushes_pending && flushed
                || last_recovery_checkpoint.elapsed() >= config.recovery_point_checkpoint_interval
            {
                recovery_flushes_pending = false;
                last_recovery_checkpoint = Instant::now();
                if let Err(e) = self.checkpoint_recovery_points() {
                    error!("cannot write {RECOVERY_POINT_CHECKPOINT_FILE}: {e}");
                }
            }
            if last_start_checkpoint.elapsed() >= config.log_start_offset_checkpoint_interval {
                last_start_checkpoint = Instant::now();
                if let Err(e) = self.checkpoint_log_start_offsets() {
                    error!("cannot write {LOG_START_OFFSET_CHECKPOINT_FILE}: {e}");
                }
            }
        }
    }

    /// Every log, the metadata log included.
    fn checkpointed_logs(&self) -> Vec<Arc<UnifiedLog>> {
        let mut logs = self.all_logs();
        logs.extend(self.metadata_log.lock().clone());
        logs
    }

    pub fn checkpoint_recovery_points(&self) -> io::Result<()> {
        let _writing = self.checkpointing.lock();
        let entries: Vec<(TopicPartition, i64)> = self
            .checkpointed_logs()
            .iter()
            .map(|log| (log.topic_partition().clone(), log.recovery_point()))
            .collect();
        checkpoint_file::write_offsets(
            &self.log_dir.join(RECOVERY_POINT_CHECKPOINT_FILE),
            &entries,
        )?;
        // With one replica the high watermark is the log end; Kafka keeps it
        // beside the recovery points, so a directory moved to Kafka has it.
        let high_watermarks: Vec<(TopicPartition, i64)> = self
            .all_logs()
            .iter()
            .map(|log| (log.topic_partition().clone(), log.high_watermark()))
            .collect();
        checkpoint_file::write_offsets(
            &self.log_dir.join(HIGH_WATERMARK_CHECKPOINT_FILE),
            &high_watermarks,
        )
    }

    pub fn checkpoint_log_start_offsets(&self) -> io::Result<()> {
        let _writing = self.checkpointing.lock();
        let entries: Vec<(TopicPartition, i64)> = self
            .checkpointed_logs()
            .iter()
            .map(|log| (log.topic_partition().clone(), log.log_start_offset()))
            .collect();
        checkpoint_file::write_offsets(
            &self.log_dir.join(LOG_START_OFFSET_CHECKPOINT_FILE),
            &entries,
        )
    }

    /// A clean shutdown (Kafka's `LogManager.shutdown`): the flusher stops,
    /// every log is closed (flushed, indexes trimmed, producers
    /// snapshotted), the checkpoints are written and, last, the clean
    /// shutdown marker, so the next start trusts all of it.
    pub fn shutdown(&self) -> io::Result<()> {
        {
            let (stopped, wake) = &*self.stop;
            *stopped.lock() = true;
            wake.notify_all();
        }
        self.cleaner.shutdown();
        for handle in std::mem::take(&mut *self.background.lock()) {
            let _ = handle.join();
        }
        for handle in std::mem::take(&mut *self.cleaner_threads.lock()) {
            let _ = handle.join();
        }
        for log in self.checkpointed_logs() {
            log.close()?;
        }
        self.checkpoint_recovery_points()?;
        self.checkpoint_log_start_offsets()?;
        let path = self.log_dir.join(CLEAN_SHUTDOWN_FILE);
        let mut file = std::fs::File::create(&path)?;
        file.write_all(br#"{"version":0,"brokerEpoch":-1}"#)?;
        file.sync_all()?;
        std::fs::File::open(&self.log_dir)?.sync_all()
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The log directory as an absolute path, as Kafka names its log
    /// directories to clients (DescribeLogDirs, AlterReplicaLogDirs).
    pub fn absolute_log_dir(&self) -> PathBuf {
        std::path::absolute(&self.log_dir).unwrap_or_else(|_| self.log_dir.clone())
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
    /// `config`. A new partition directory gets its `partition.metadata`.
    pub fn get_or_create_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
    ) -> io::Result<Arc<UnifiedLog>> {
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let _opening = self.opening.lock();
        if let Some(log) = self.get_log(&tp.topic, tp.partition) {
            return Ok(log);
        }
        let log = self.load_log(tp, topic_id, config)?;
        self.insert_log(tp, topic_id, log)
    }

    /// Prepares `tp`'s directory and loads its log, without any lock.
    fn load_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
    ) -> io::Result<Arc<UnifiedLog>> {
        let dir = self.log_dir.join(tp.to_string());
        let metadata_file = dir.join(PARTITION_METADATA_FILE);
        if let Some(stale) = read_partition_metadata(&metadata_file).filter(|id| *id != topic_id) {
            // The directory belongs to a deleted topic of the same name.
            warn!(log = %tp, stale_topic_id = %stale, %topic_id, "removing the log of a deleted topic");
            remove_dir(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        if !metadata_file.exists() {
            write_partition_metadata(&metadata_file, topic_id)?;
        }
        let log = Arc::new(UnifiedLog::load(
            &dir,
            tp.clone(),
            config,
            self.load_params(tp),
        )?);
        self.count_loaded(&log);
        Ok(log)
    }

    fn insert_log(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
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
    /// crash midway leaves nothing that looks live) and then removed.
    pub fn delete_topic_logs(&self, topic: &str) -> io::Result<()> {
        let removed = self.logs.write().remove(topic);
        self.cleaner.forget(topic);
        for log in removed.into_iter().flat_map(|t| t.partitions.into_values()) {
            log.mark_deleted();
            remove_dir(log.dir())?;
            info!(log = %log.topic_partition(), "deleted log");
        }
        Ok(())
    }

    /// The total and usable bytes of the file system holding the log
    /// directory (Java's `FileStore.getTotalSpace` and `getUsableSpace`,
    /// as Kafka's DescribeLogDirs reports them). It may block on the file
    /// system: call it off the runtime's threads.
    pub fn disk_space(&self) -> io::Result<(u64, u64)> {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(self.log_dir().as_os_str().as_bytes())
            .map_err(io::Error::other)?;
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

    /// Forces every log to disk (on shutdown).
    pub fn flush_all(&self) -> io::Result<()> {
        for log in self.all_logs() {
            log.flush()?;
        }
        Ok(())
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
            .get_or_create_log(&tp, id, LogConfig::default())
            .unwrap();
        let again = manager
            .get_or_create_log(&tp, id, LogConfig::default())
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
