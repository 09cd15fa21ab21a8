use thiserror::Error;

/// Database failures, classified once here so the API layer can map them to statuses.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("invalid database URL {0}: use postgres://… or sqlite://…")]
    InvalidUrl(String),
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    #[error("foreign key violated: {0}")]
    ForeignKeyViolation(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) => {
                let constraint = db.constraint().unwrap_or_default().to_string();
                match db.kind() {
                    sqlx::error::ErrorKind::UniqueViolation => DbError::UniqueViolation(if constraint.is_empty() {
                        db.message().to_string()
                    } else {
                        constraint
                    }),
                    sqlx::error::ErrorKind::ForeignKeyViolation => {
                        DbError::ForeignKeyViolation(db.message().to_string())
                    }
                    _ => DbError::Other(e),
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                DbError::Unavailable(e.to_string())
            }
            _ => DbError::Other(e),
        }
    }
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::UniqueViolation(_))
    }
}
