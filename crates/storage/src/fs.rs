//! Filesystem backend: key `a/b` is the file `<root>/a/b`.
//!
//! Writes go to a temp file in the destination directory, are fsynced, then renamed over the
//! destination, so readers see the old object or the new one, never a partial one. Temp names
//! contain `~`, which keys cannot, so they never collide with objects and `list` skips them.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{ByteRange, CHUNK, ObjectBody, ObjectInfo, StorageError, Tally, Written, read_stream};

pub(crate) struct FsBackend {
    root: PathBuf,
}

fn other(what: impl std::fmt::Display, e: io::Error) -> StorageError {
    if e.kind() == io::ErrorKind::PermissionDenied {
        StorageError::Denied(format!("{what}: {e} (check the permissions of the storage directory)"))
    } else {
        StorageError::Other(format!("{what}: {e}"))
    }
}

/// `NotFound` for the errors that mean "no such file": missing, or a path component that is a
/// file (`a` exists as an object and `a/b` is asked for).
fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

/// A temp file next to the destination that becomes the object on [`TempFile::commit`] and is
/// removed if dropped before that (error or cancelled future).
struct TempFile {
    path: PathBuf,
    file: tokio::fs::File,
    tally: Tally,
    committed: bool,
}

impl TempFile {
    async fn create(dest: &Path) -> Result<TempFile, StorageError> {
        let dir = dest
            .parent()
            .ok_or_else(|| StorageError::Other("destination has no parent".into()))?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                if matches!(e.kind(), io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory) {
                    StorageError::Other(format!(
                        "cannot create directory {}: a path component is an object (a key cannot also be a \
                         prefix of other keys on the filesystem backend)",
                        dir.display()
                    ))
                } else {
                    other(format_args!("creating {}", dir.display()), e)
                }
            })?;
            let path = dir.join(format!(".~{:016x}.tmp", rand::random::<u64>()));
            match tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file,
                        tally: Tally::default(),
                        committed: false,
                    });
                }
                // A name clash, or a concurrent delete pruned the just-created directory: retry.
                Err(e)
                    if attempts < 5 && matches!(e.kind(), io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound) => {}
                Err(e) => return Err(other(format_args!("creating temp file in {}", dir.display()), e)),
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), StorageError> {
        self.file
            .write_all(data)
            .await
            .map_err(|e| other(format_args!("writing {}", self.path.display()), e))?;
        self.tally.update(data);
        Ok(())
    }

    async fn copy_from(&mut self, mut reader: impl AsyncRead + Unpin, what: &str) -> Result<(), StorageError> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| StorageError::Other(format!("reading {what}: {e}")))?;
            if n == 0 {
                return Ok(());
            }
            self.write(&buf[..n]).await?;
        }
    }

    /// fsync, rename over `dest`, fsync the directory: after this returns the object survives a
    /// crash, and at no point could a reader see a partial file under `dest`.
    async fn commit(mut self, dest: &Path, key: &str) -> Result<Written, StorageError> {
        let what = || format!("storing {key}");
        self.file.flush().await.map_err(|e| other(what(), e))?;
        self.file.sync_all().await.map_err(|e| other(what(), e))?;
        tokio::fs::rename(&self.path, dest)
            .await
            .map_err(|e| other(what(), e))?;
        self.committed = true;
        if let Some(dir) = dest.parent() {
            let dir = tokio::fs::File::open(dir).await.map_err(|e| other(what(), e))?;
            dir.sync_all().await.map_err(|e| other(what(), e))?;
        }
        let tally = std::mem::take(&mut self.tally);
        Ok(tally.finish(key))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort and synchronous: an unlink is quick, and Drop cannot await.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl FsBackend {
    pub(crate) async fn connect(root: PathBuf) -> Result<FsBackend, StorageError> {
        tokio::fs::create_dir_all(&root)
            .await
            .map_err(|e| other(format_args!("cannot create storage directory {}", root.display()), e))?;
        let root = tokio::fs::canonicalize(&root)
            .await
            .map_err(|e| other(format_args!("cannot resolve storage directory {}", root.display()), e))?;
        tracing::info!(root = %root.display(), "filesystem storage ready");
        Ok(FsBackend { root })
    }

    /// The file for a validated key. Validation rules out absolute paths and `..`, so this is
    /// always inside the root.
    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    pub(crate) async fn put(&self, key: &str, data: Bytes) -> Result<Written, StorageError> {
        let dest = self.path(key);
        let mut tmp = TempFile::create(&dest).await?;
        tmp.write(&data).await?;
        tmp.commit(&dest, key).await
    }

    pub(crate) async fn put_reader(&self, key: &str, reader: impl AsyncRead + Unpin) -> Result<Written, StorageError> {
        let dest = self.path(key);
        let mut tmp = TempFile::create(&dest).await?;
        tmp.copy_from(reader, &format!("upload for {key}")).await?;
        tmp.commit(&dest, key).await
    }

    async fn metadata(&self, key: &str) -> Result<Option<std::fs::Metadata>, StorageError> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(meta) if meta.is_file() => Ok(Some(meta)),
            Ok(_) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(other(format_args!("looking up {key}"), e)),
        }
    }

    pub(crate) async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        Ok(self.metadata(key).await?.map(|meta| info(key.to_string(), &meta)))
    }

    /// Opens a key for reading; `NotFound` when it is missing or a directory.
    async fn open(&self, key: &str) -> Result<(tokio::fs::File, u64), StorageError> {
        let file = match tokio::fs::File::open(self.path(key)).await {
            Ok(file) => file,
            Err(e) if is_missing(&e) => return Err(StorageError::NotFound(key.to_string())),
            Err(e) => return Err(other(format_args!("opening {key}"), e)),
        };
        let meta = file
            .metadata()
            .await
            .map_err(|e| other(format_args!("opening {key}"), e))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound(key.to_string()));
        }
        Ok((file, meta.len()))
    }

    pub(crate) async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        // The open handle keeps reading the same inode even if the key is replaced meanwhile
        // (writes rename a new file in), so the body is always one consistent version.
        let (mut file, total) = self.open(key).await?;
        let (first, last) = match range {
            Some(range) => {
                let (first, last) = range.resolve(total)?;
                (first, Some(last))
            }
            None => (0, None),
        };
        let size = match last {
            Some(last) => last - first + 1,
            None => total,
        };
        if first > 0 {
            file.seek(io::SeekFrom::Start(first))
                .await
                .map_err(|e| other(format_args!("reading {key}"), e))?;
        }
        Ok(ObjectBody {
            size,
            total_size: total,
            range: last.map(|last| (first, last)),
            stream: read_stream(file, size, key.to_string()),
        })
    }

    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        // Start at the deepest directory the prefix names; everything else cannot match.
        let (start_key, mut stack) = match prefix.rsplit_once('/') {
            Some((dir, _)) => (format!("{dir}/"), vec![(self.root.join(dir), format!("{dir}/"))]),
            None => (String::new(), vec![(self.root.clone(), String::new())]),
        };
        debug_assert!(prefix.starts_with(&start_key));
        let mut found = Vec::new();
        while let Some((dir, dir_key)) = stack.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(other(format_args!("listing {}", dir.display()), e)),
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| other(format_args!("listing {}", dir.display()), e))?
            {
                // Names that are not valid key segments (temp files, foreign files) are skipped.
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let key = format!("{dir_key}{name}");
                if crate::validate_key(&key).is_err() {
                    continue;
                }
                // Symlinks are not followed: the backend never creates them, and following them
                // could leave the root.
                let file_type = entry
                    .file_type()
                    .await
                    .map_err(|e| other(format_args!("listing {}", dir.display()), e))?;
                if file_type.is_dir() {
                    let sub = format!("{key}/");
                    if sub.starts_with(prefix) || prefix.starts_with(&sub) {
                        stack.push((entry.path(), sub));
                    }
                } else if file_type.is_file() && key.starts_with(prefix) {
                    match entry.metadata().await {
                        Ok(meta) => found.push(info(key, &meta)),
                        // Deleted between read_dir and stat: not there any more.
                        Err(e) if is_missing(&e) => {}
                        Err(e) => return Err(other(format_args!("listing {key}"), e)),
                    }
                }
            }
        }
        Ok(found)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::IsADirectory => return Ok(()),
            Err(e) => return Err(other(format_args!("deleting {key}"), e)),
        }
        // Prune directories left empty, so per-recording prefixes do not pile up. remove_dir
        // fails on a non-empty directory, which ends the walk; a concurrent write that loses its
        // fresh directory here retries in TempFile::create.
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.root || tokio::fs::remove_dir(d).await.is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    pub(crate) async fn delete_many(&self, keys: &[String]) -> Result<u64, StorageError> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(keys.len() as u64)
    }

    pub(crate) async fn concat(&self, parts: &[String], dest: &str) -> Result<Written, StorageError> {
        let dest_path = self.path(dest);
        let mut tmp = TempFile::create(&dest_path).await?;
        for part in parts {
            let (file, _) = self.open(part).await?;
            tmp.copy_from(file, part).await?;
        }
        tmp.commit(&dest_path, dest).await
    }
}

fn info(key: String, meta: &std::fs::Metadata) -> ObjectInfo {
    ObjectInfo {
        key,
        size: meta.len(),
        last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
    }
}
