//! The `pinframe` binary's library: the command line today; the service and the reference CMS
//! join it in later issues.
#![forbid(unsafe_code)]

pub mod cli;
