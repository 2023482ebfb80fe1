//! End-to-end tests of `moat gateway`: real sockets on 127.0.0.1 port 0, in-process upstreams,
//! real `curl`, `openssl s_client`, Prometheus, sslyze and Python `websockets` where installed.

mod attacks;
mod common;
mod config;
mod connection;
mod examples;
mod identity;
mod ops;
mod peers;
mod policies;
mod proxying;
mod real_upstreams;
mod tls;
mod websocket;
