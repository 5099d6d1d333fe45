//! Large request bodies go to a file in the data folder as they arrive,
//! never whole into memory: a 64 MiB import costs a few chunks of memory,
//! however many arrive at once.

use actix_web::dev::Payload;
use actix_web::web;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::AppError;

/// Chunks gathered before one write to the file.
const WRITE_SIZE: usize = 256 * 1024;

/// A spooled body. The file goes when this does.
pub struct Spooled {
    path: PathBuf,
    pub len: usize,
}

impl Spooled {
    pub fn open(&self) -> std::io::Result<File> {
        File::open(&self.path)
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn create(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    crate::config::private_dir(dir).map_err(std::io::Error::other)?;
    let path = dir.join(format!("body-{}", uuid::Uuid::now_v7().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    Ok((path, file))
}

fn io_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("spooling a request body: {e}"))
}

/// Writes `payload` to a new file under `dir`, refusing it with 413 once
/// it passes `limit`, and feeding every byte to `hasher` when given.
pub async fn spool(
    mut payload: Payload,
    dir: &Path,
    limit: usize,
    mut hasher: Option<&mut Sha256>,
) -> Result<Spooled, AppError> {
    let dir = dir.to_path_buf();
    let (path, file) = web::block(move || create(&dir)).await?.map_err(io_error)?;
    // From here the file is removed on every way out.
    let mut spooled = Spooled { path, len: 0 };
    let mut file = Some(file);
    let mut pending = web::BytesMut::new();
    loop {
        let chunk = payload.next().await;
        if let Some(chunk) = &chunk {
            let chunk = chunk
                .as_ref()
                .map_err(|e| AppError::bad_request("unreadable_body", e.to_string()))?;
            spooled.len += chunk.len();
            if spooled.len > limit {
                return Err(AppError::PayloadTooLarge { limit });
            }
            if let Some(h) = hasher.as_deref_mut() {
                h.update(chunk);
            }
            pending.extend_from_slice(chunk);
        }
        let last = chunk.is_none();
        if pending.len() >= WRITE_SIZE || (last && !pending.is_empty()) {
            let bytes = std::mem::take(&mut pending).freeze();
            let mut f = file.take().ok_or_else(|| io_error("file gone"))?;
            let written = web::block(move || f.write_all(&bytes).map(|()| f)).await?;
            file = Some(written.map_err(io_error)?);
        }
        if last {
            return Ok(spooled);
        }
    }
}
