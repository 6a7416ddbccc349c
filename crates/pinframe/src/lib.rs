//! The `pinframe` binary's library: the command line today; the service and the reference CMS
//! join it in later issues.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod cli;
