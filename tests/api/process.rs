//! Processes a test starts (workers, brokers, TLS proxies, the independent client) and the
//! deadlines every wait in the suite runs under.
//!
//! Each child is owned by a [`Guarded`], which kills it when dropped, on every exit path,
//! panics included; and each child is asked (PR_SET_PDEATHSIG) to die with the thread that
//! started it, so a test binary killed by a timeout leaves nothing behind either.

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (-9) and reaped when dropped.
pub struct Guarded {
    child: Option<Child>,
    what: String,
}

impl Guarded {
    /// Starts `command`; `what` names it in failure messages.
    pub fn spawn(command: &mut Command, what: &str) -> Self {
        die_with_parent(command);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Self {
            child: Some(child),
            what: what.to_owned(),
        }
    }

    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on a pid this guard still owns (not yet reaped).
            unsafe {
                libc::kill(child.id() as i32, signal);
            }
        }
    }

    /// kill -9 and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the process to exit on its own; kills it and fails the test after `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                return status;
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!("{} did not exit within {limit:?}", self.what);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("running")
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

/// PR_SET_PDEATHSIG: the child gets SIGKILL when the thread that spawned it ends, which is
/// when its test ends (each test runs on a thread or in a process of its own).
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// [`run_bounded`] on a blocking thread, for a test whose app runs in the test's own runtime.
/// That runtime has one thread: waiting on it freezes the app under test, with whatever
/// transaction it had open, and a command that needs the app's database (an operator's
/// CLI) then waits out its busy timeout and fails with "database is locked".
pub async fn run_bounded_async(mut command: Command, input: Vec<u8>, limit: Duration, what: &str) -> Output {
    let what = what.to_owned();
    match tokio::task::spawn_blocking(move || run_bounded(&mut command, &input, limit, &what)).await {
        Ok(output) => output,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("the wait for a command stopped: {error}"),
    }
}

/// Runs `command` to completion with `input` on its stdin, failing the test (and killing it)
/// if it takes longer than `limit`.
/// Blocks the calling thread: in an async test with an app running, use
/// [`run_bounded_async`].
pub fn run_bounded(command: &mut Command, input: &[u8], limit: Duration, what: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = Guarded::spawn(command, what);
    let child = guard.child_mut();
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let stdout = read_all(child.stdout.take().expect("stdout"));
    let stderr = read_all(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = guard.child_mut().try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            guard.kill();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        buffer
    })
}

/// Polls `probe` until it returns `Some`, at most `limit`; fails the test saying what it
/// waited for and what it saw last (`describe` renders the last probe result).
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last = match probe().await {
            Ok(value) => return value,
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
