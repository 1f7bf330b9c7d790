//! The demo city: a few grids and managers, and simulated phones that enrol, build archives,
//! record visits and collect arrears, syncing over real HTTP like the apps do.

pub async fn run(_db: &std::path::Path, _listen: &str, _phones: usize) -> Result<(), crate::AppError> {
    Err(crate::AppError::internal("demo: not yet"))
}
