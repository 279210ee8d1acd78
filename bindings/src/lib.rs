//! # insikt-ffi
//!
//! The door the Android and iOS apps open into Insikt's core, through uniffi. It
//! holds conversion and lifetimes only: every rule lives in `insikt-core`.
//!
//! Read top-down:
//! - [`Store`](store::Store) is the one object an app opens, with the 32 key bytes
//!   from the platform keystore; its methods are grouped by domain below.
//! - [`InsiktError`](error::InsiktError) is the one error, converted from core's in
//!   one place; a panic below becomes its `Internal` variant.
//! - Long calls (photo ingest, export, enrollment, hub sync, fetching an original)
//!   are `async`: `suspend` in Kotlin, `async` in Swift, cancellable (see
//!   [`call`](call)).
//!
//! Every type that crosses is defined here and converted from core's own (see
//! `docs/bindings.md`, "Why the bindings mirror core's types").

uniffi::setup_scaffolding!();

mod call;
mod mirror;

pub mod error;
pub mod ids;
pub mod store;

pub mod diary;
pub mod export;
pub mod focus;
pub mod hub;
pub mod link;
pub mod media;
pub mod notes;
pub mod observe;
pub mod participants;
pub mod project;
pub mod sessions;

pub use error::InsiktError;
pub use store::Store;
