//! Progress of long work on the command line (an import, the check of a
//! large export, a report): a bar on a terminal, and plain lines (every
//! tenth of the work, or every ten seconds) when standard error is a file
//! or a pipe, as in a scheduled job's log.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a plain line is written at least.
const EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    label: String,
    total: u64,
    done: AtomicU64,
    bar: Option<ProgressBar>,
    /// When the last plain line was written, and at which tenth.
    last: Mutex<(Instant, u64)>,
}

impl Progress {
    /// `total` units of work: bytes when `bytes`, otherwise steps.
    pub fn new(label: &str, total: u64, bytes: bool) -> Arc<Self> {
        let bar = std::io::stderr().is_terminal().then(|| {
            let template = if bytes {
                "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})"
            } else {
                "{msg} [{bar:40}] {pos}/{len}"
            };
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_string());
            bar
        });
        if bar.is_none() {
            eprintln!("{label}: started ({total} {})", unit(bytes));
        }
        Arc::new(Self {
            label: label.to_string(),
            total,
            done: AtomicU64::new(0),
            bar,
            last: Mutex::new((Instant::now(), 0)),
        })
    }

    pub fn inc(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        let tenth = (done.saturating_mul(10)) / self.total.max(1);
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if tenth > last.1 || last.0.elapsed() >= EVERY {
            *last = (Instant::now(), tenth);
            let percent = done.saturating_mul(100) / self.total.max(1);
            eprintln!("{}: {percent}% ({done} of {})", self.label, self.total);
        }
    }

    /// Starts the next step of work counted in steps, saying what it is:
    /// the line names it, so no percentage line follows.
    pub fn step(&self, what: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{}: {what}", self.label));
                bar.set_position(done);
            }
            None => eprintln!("{}: {what} ({done} of {})", self.label, self.total),
        }
    }

    pub fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln!("{}: done", self.label),
        }
    }
}

fn unit(bytes: bool) -> &'static str {
    if bytes {
        "bytes"
    } else {
        "steps"
    }
}

/// A reader that reports the bytes read through it.
pub struct ProgressRead<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R> ProgressRead<R> {
    pub fn new(inner: R, progress: Arc<Progress>) -> Self {
        Self { inner, progress }
    }
}

impl<R: Read> Read for ProgressRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Opens a file for reading, with its progress shown under `label`.
pub fn open(
    path: &std::path::Path,
    label: &str,
) -> Result<(ProgressRead<std::fs::File>, Arc<Progress>), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(label, size, true);
    Ok((ProgressRead::new(file, progress.clone()), progress))
}
