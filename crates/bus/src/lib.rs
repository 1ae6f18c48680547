//! RabbitMQ for Keyward: the topology, a reconnecting broker handle, a confirmed and batching
//! publisher with a durable local spool, and a consumer helper that acks only after the handler
//! has committed.

mod broker;
mod consumer;
pub mod events;
mod follow;
mod publisher;
mod spool;
pub mod topology;

pub use keyward_core::settings::BrokerConfig;

pub use broker::Broker;
pub use consumer::{ConsumerOptions, Handled, Message, consume};
pub use follow::follow;
pub use publisher::{Outgoing, Publisher, PublisherOptions};
pub use spool::Spool;
pub use topology::Topology;

/// Header carrying the protobuf message type of a payload.
pub const SCHEMA_HEADER: &str = "x-keyward-schema";
/// Header carrying the payload's schema version.
pub const SCHEMA_VERSION_HEADER: &str = "x-keyward-schema-version";
/// Content type of every payload.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// Bus errors. Messages never include the broker password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    #[error("broker did not confirm the message: {0}")]
    NotConfirmed(String),
    #[error("spool error: {0}")]
    Spool(#[from] std::io::Error),
    #[error("publisher stopped")]
    Stopped,
}

impl From<lapin::Error> for Error {
    fn from(e: lapin::Error) -> Self {
        Error::Unavailable(describe(&e))
    }
}

/// A password-free description of a broker error.
pub fn describe(e: &lapin::Error) -> String {
    // lapin's Display does not include connection URIs; keep it short anyway.
    let text = e.to_string();
    text.chars().take(200).collect()
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
