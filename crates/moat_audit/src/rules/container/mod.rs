//! Rules that read one container's settings (`ContainerFacts`): compose services, `docker run`
//! lines, and later live containers. One rule per file. `N` rules (network topology) that read a
//! whole compose project live here too.
#![allow(missing_docs)]
