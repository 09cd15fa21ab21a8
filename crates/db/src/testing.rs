//! Fresh databases for tests: one real database per test, on the backend the test run
//! selects with `MEEBOTER_TEST_DATABASE_URL` (unset or `sqlite` → a temporary SQLite
//! file; `postgres://…` → a new database `mbt_<uuid>` on that server).

use crate::{Backend, Db, DbResult, PoolSettings};
use sqlx::{Connection, Executor};

/// Environment variable that picks the backend for the test suite.
pub const TEST_DATABASE_ENV: &str = "MEEBOTER_TEST_DATABASE_URL";
/// Prefix of databases created for tests, so a test run can drop them afterwards.
pub const TEST_DATABASE_PREFIX: &str = "mbt_";

/// A migrated, empty database that lives as long as this value (SQLite) or until the
/// test run's clean-up drops it (PostgreSQL).
pub struct TestDatabase {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile_dir::TempDir>,
}

mod tempfile_dir {
    /// Minimal temporary directory removed on drop (avoids a runtime dependency on `tempfile`).
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDatabase {
    /// Creates and migrates a new database.
    pub async fn create() -> DbResult<Self> {
        let base = std::env::var(TEST_DATABASE_ENV).unwrap_or_default();
        match Backend::from_url(&base) {
            Some(Backend::Postgres) => Self::create_postgres(&base).await,
            _ => Self::create_sqlite().await,
        }
    }

    /// The backend the current test run uses.
    pub fn backend_under_test() -> Backend {
        let base = std::env::var(TEST_DATABASE_ENV).unwrap_or_default();
        Backend::from_url(&base).unwrap_or(Backend::Sqlite)
    }

    async fn create_sqlite() -> DbResult<Self> {
        let dir = std::env::temp_dir().join(format!("meeboter-test-{}", meeboter_core::new_id().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| crate::DbError::Unavailable(e.to_string()))?;
        let url = format!("sqlite://{}", dir.join("test.db").display());
        let db = Db::connect(&url, &PoolSettings::default()).await?;
        db.migrate().await?;
        Ok(Self {
            db,
            url,
            _dir: Some(tempfile_dir::TempDir(dir)),
        })
    }

    async fn create_postgres(base: &str) -> DbResult<Self> {
        let name = format!("{TEST_DATABASE_PREFIX}{}", meeboter_core::new_id().simple());
        let mut admin = sqlx::PgConnection::connect(base).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        admin.close().await?;
        let mut url = url::Url::parse(base).map_err(|_| crate::DbError::InvalidUrl(crate::redact_url(base)))?;
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let settings = PoolSettings {
            max_connections: 8,
            ..PoolSettings::default()
        };
        let db = Db::connect(&url, &settings).await?;
        db.migrate().await?;
        Ok(Self { db, url, _dir: None })
    }
}
