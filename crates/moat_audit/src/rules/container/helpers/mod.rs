//! What several container and network rules share. Not rules themselves.
#[cfg(test)]
pub(crate) mod compose_testing;
pub(crate) mod host_namespace;
pub(crate) mod secret_values;
pub(crate) mod security_opt;
