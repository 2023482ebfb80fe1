//! `moat scan`: what an image contains and what is known to be wrong with it.
//!
//! - [`model`]: the inventory (an SBOM): packages with their ecosystem, version, source package
//!   and the layer that introduced them.
//! - `image` (reading images: docker-archive, OCI layout and archive, the engine's export, an
//!   unpacked root filesystem; layers streamed, whiteouts applied, nothing extracted to disk)
//!   and `analyze` (the analyzers that turn files into packages) fill the inventory.
//! - [`matching`]: the advisories of the local database ([`moat_vuln`]) that apply to each
//!   package.
//! - [`scan`]: one image read once into its inventory and secrets, then matched;
//!   [`policy`] decides what is shown and when the exit code is 1; [`report`] renders it
//!   (text, JSON, SARIF, CycloneDX).
#![deny(missing_docs)]

pub mod analyze;
pub mod cyclonedx;
pub mod image;
pub mod matching;
pub mod model;
pub mod policy;
pub mod report;
pub mod scan;
pub mod secrets;
pub mod vex;
