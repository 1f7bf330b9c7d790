//! The PostgreSQL backend (issue 15): several identical server replicas on one PostgreSQL. So far
//! it holds the throwaway test cluster the PostgreSQL suites run on (`test_cluster`).

#[cfg(any(test, feature = "testing"))]
pub mod test_cluster;
