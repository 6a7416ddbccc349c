//! pinframe's wire shapes: every body, name and text form that crosses a boundary between the
//! issuer's backend, the service, the widget, the widget's host and the card management system.
//! `docs/protocol.md` describes the same shapes for integrators; this crate is where the code
//! defines them, once. The widget and the service both depend on it and define none of these again.
//!
//! - [`action`]: what a PIN-control token lets its holder do (`VIEW_PIN`, `SET_PIN`).
//! - [`appearance`]: the widget page's `theme=light|dark`.
//! - [`origin`]: web origins as issuers register them and browsers report them.
//! - [`token`]: the PIN-control token's text form (one parser for the service and the widget).
//! - [`widget`]: the widget-facing API (session, view, set) and the JWE plaintext of a PIN.
//! - [`issuer`]: the issuer-facing API (PIN-control tokens, OAuth, the D1 Register API, themes).
//! - [`d1`]: the D1 PIN Management API between the service and the CMS.
//! - [`host`]: the events the widget reports to its host and the command it takes.
//! - [`error`]: the one error body every endpoint answers with.
//! - [`ops`]: the readiness check operators and load balancers read.
//! - [`number`]: whole numbers as JSON writes them (`25` or `25.0`).
//! - [`demo`]: the demo page's own backend (`pinframe serve --demo` only).
//!
//! Plain serde derives only, `no_std` + `alloc`: no `serde_json::Value` in any type, so the widget's
//! JSON code stays small. JWKs travel as raw JSON ([`RawJwk`]): `pinframe-core` parses them into
//! keys (RFC 7517, RFC 7518 §6.2). Types that carry a secret (a token, a PAN, a PIN block) wipe it
//! on drop and print no value in `Debug`.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

extern crate alloc;

pub mod action;
pub mod appearance;
pub mod d1;
pub mod demo;
pub mod error;
pub mod host;
pub mod issuer;
pub mod number;
pub mod ops;
pub mod origin;
pub mod token;
pub mod widget;

pub use action::Action;
pub use error::ErrorBody;
pub use host::HostEvent;
pub use origin::Origin;
pub use token::TokenText;

/// A JSON Web Key as it travels (RFC 7517): raw JSON, parsed into a key by `pinframe-core`.
pub type RawJwk = alloc::boxed::Box<serde_json::value::RawValue>;
