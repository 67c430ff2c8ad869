//! Integration tests of tocsin-promql (one binary).

mod differential;
mod promqltest;
