//! Integration tests of the simulator: samples written into `MemStorage` and read back with
//! the PromQL engine, as the server's rules and SLOs will read them.

mod determinism;
mod faults;
mod harness;
mod scenarios;
mod suggest;
