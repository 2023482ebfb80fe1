//! What several Dockerfile rules share: command-line reading, package-manager models, base
//! images, stages and their references. Not rules themselves.
pub mod base_image;
pub mod cmd;
pub mod copy_args;
pub mod env_secrets;
pub mod expose_port;
pub mod file_modes;
pub mod image_stages;
pub mod pinning;
pub mod pkg;
pub mod stage_refs;
#[cfg(test)]
pub mod testing;
pub mod vars;
