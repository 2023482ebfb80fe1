//! Rules that read a Docker daemon configuration (`DaemonFacts`). One rule per file.
#![allow(missing_docs)]
