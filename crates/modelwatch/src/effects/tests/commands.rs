//! A command trainer's time limit on tokio's paused clock: a real process group (a shell and
//! the child it leaves behind), killed whole when a limit of 30 s runs out, without waiting 30
//! real seconds. The child holds a FIFO open while it lives: the test's blocking open of it
//! holds the clock still until the child runs (so the limit cannot run out before there is a
//! group to kill), and reading it to its end awaits the child's death, without polling.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use modelwatch_engine::Timestamp;

use super::switchboard::start;
use super::{WATCHDOG, accuracy, off_runtime};
use crate::clock::TokioClock;

/// Makes a FIFO at `path` and opens it for reading on a blocking thread, which returns once a
/// process opens it for writing (tokio's paused clock stands still meanwhile). `None` when
/// nothing did within the watchdog's time: a thread of its own then opens it, so that the test
/// fails instead of hanging.
fn open_when_written(path: &Path) -> tokio::task::JoinHandle<Option<File>> {
    assert!(
        Command::new("mkfifo").arg(path).status().unwrap().success(),
        "mkfifo {}",
        path.display()
    );
    let expired = Arc::new(AtomicBool::new(false));
    let (opened, finished) = std::sync::mpsc::channel::<()>();
    let (unblock, flag) = (path.to_path_buf(), expired.clone());
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(WATCHDOG) {
            flag.store(true, Ordering::SeqCst);
            let _ = std::fs::OpenOptions::new().write(true).open(&unblock);
        }
    });
    let path: PathBuf = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let file = File::open(&path).unwrap();
        drop(opened);
        (!expired.load(Ordering::SeqCst)).then_some(file)
    })
}

/// Whether every writer of `fifo` closed it (its processes are gone) within the watchdog's
/// time. The read runs on a thread of its own, which a surviving writer leaves blocked.
async fn closed_by_every_writer(mut fifo: File) -> bool {
    let (done, closed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = fifo.read_to_end(&mut rest);
        let _ = done.send(());
    });
    off_runtime(move || closed.recv_timeout(WATCHDOG).is_ok()).await
}

#[tokio::test(start_paused = true)]
async fn a_command_past_its_time_limit_is_killed_with_its_process_group() {
    let scripts = tempfile::tempdir().unwrap();
    let lifeline = scripts.path().join("child-alive");
    let script = scripts.path().join("hang.sh");
    // The shell leaves a child of its own, which holds the FIFO open while it lives.
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsleep 600 > {} &\nwait\n", lifeline.display()),
    )
    .unwrap();
    let config = format!(
        r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
actions = ["retrain"]

[[trainers]]
kind = "command"
command = ["sh", "{}"]
timeout_secs = 30
max_attempts = 1
"#,
        script.display()
    );
    let start_time = Timestamp::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
    let (harness, _) = start(&config, Arc::new(TokioClock::new(start_time))).await;
    let opened = open_when_written(&lifeline);
    harness.ingest(&[accuracy(0, 0.95), accuracy(1, 0.5)]).await;
    let lifeline = opened
        .await
        .unwrap()
        .expect("the script's child never started");

    let (job, attempts) = harness.finished_job().await;
    assert_eq!(job.state.as_str(), "timed_out", "{job:?}");
    assert_eq!(
        job.error.as_deref(),
        Some("timed out after 30 s; the process group was killed")
    );
    let [attempt] = attempts.as_slice() else {
        panic!("{attempts:?}");
    };
    assert_eq!(attempt.started_at, start_time);
    // Killed at the limit; the end is recorded once the group is reaped, which a paused clock
    // may pass over to the runner's next timer.
    let limit = start_time.plus_secs(30);
    assert!(
        attempt.finished_at.is_some_and(|ended| ended >= limit),
        "{attempt:?}"
    );
    assert!(
        closed_by_every_writer(lifeline).await,
        "the trainer's own child survived"
    );
    harness.stop().await;
}
