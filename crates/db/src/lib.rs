//! Meeboter's persistence layer.
//!
//! One SQL dialect runs on both backends through sqlx's `Any` driver: PostgreSQL in
//! production, SQLite as the zero-setup default. To keep that true, the schema sticks
//! to `TEXT` and `BIGINT` columns (UUIDv7 ids, millisecond timestamps, JSON as text),
//! and the few places where the backends must differ (transaction start, row locking)
//! go through [`Db::backend`].
//!
//! **Architecture invariant:** all state that must survive a restart or be shared by
//! several server replicas lives here, never in process memory.

pub mod accounts;
pub mod api_keys;
pub mod audio_segments;
pub mod bots;
pub mod chat;
mod error;
pub mod events;
pub mod history;
pub mod idempotency;
pub mod jobs;
pub mod leases;
pub mod media;
pub mod participants;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod slots;
pub mod stats;
pub mod testing;
pub mod transcripts;
pub mod webhooks;

pub use error::DbError;
pub use sqlx::AnyConnection;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Convenience alias for fallible database calls.
pub type DbResult<T> = Result<T, DbError>;

/// Which database server sits behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// Detects the backend from a connection URL, or `None` if it is neither.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Pool settings that are not part of the URL.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A connection pool plus the knowledge of which backend it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects to `url` (`postgres://…` or `sqlite://…`). A SQLite file is created if
    /// missing and opened in WAL mode with foreign keys on.
    pub async fn connect(url: &str, settings: &PoolSettings) -> DbResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| DbError::InvalidUrl(redact_url(url)))?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|_| DbError::InvalidUrl(redact_url(&url)))?;
        let max_connections = match backend {
            Backend::Postgres => settings.max_connections,
            // SQLite has one writer; a few readers are plenty and keep lock waits short.
            Backend::Sqlite => settings.max_connections.min(4),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(DbError::from)?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies pending migrations. Safe to run from several processes at once
    /// (PostgreSQL takes an advisory lock; SQLite serialises writers).
    pub async fn migrate(&self) -> DbResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| DbError::Migration(e.to_string()))
    }

    /// Starts a transaction that will write.
    ///
    /// On SQLite this is `BEGIN IMMEDIATE`, taking the write lock up front; a plain
    /// `BEGIN` that reads and then writes can fail with `SQLITE_BUSY` when two such
    /// transactions race, instead of waiting its turn.
    pub async fn begin_write(&self) -> DbResult<Transaction<'static, Any>> {
        let tx = match self.backend {
            Backend::Postgres => self.pool.begin().await,
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
        };
        tx.map_err(DbError::from)
    }

    /// A pooled connection, with pool errors classified like every other database error.
    pub async fn acquire(&self) -> DbResult<sqlx::pool::PoolConnection<Any>> {
        self.pool.acquire().await.map_err(DbError::from)
    }

    /// Checks the database answers (for readiness probes).
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Refreshes the planner's statistics (`ANALYZE`, on either backend).
pub async fn analyze(db: &Db) -> DbResult<()> {
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(())
}

/// The current time at the precision we store (milliseconds), so a value returned
/// right after a write equals the one read back later.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    from_millis(to_millis(chrono::Utc::now()))
}

/// Milliseconds since the Unix epoch, the storage form of every timestamp.
pub fn to_millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// Inverse of [`to_millis`]; out-of-range values clamp to the epoch rather than panic.
pub fn from_millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A URL with any password replaced by `***`, safe for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".to_string(),
    }
}

/// `$1, $2, …` placeholders starting at `$start`, for `IN (…)` lists.
pub(crate) fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_detection() {
        assert_eq!(Backend::from_url("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("postgresql://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("sqlite://meeboter.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("mysql://x"), None);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert!(!redact_url("postgres://u:secret@h/db").contains("secret"));
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn placeholder_lists() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}
