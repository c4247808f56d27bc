//! Before streaming: check the server can do logical replication for us, and make sure the
//! publication and the slot exist. Every failure here is a one-line [`SetupError`] that says what
//! to change.
//!
//! `connect` opens the ordinary SQL connection these run on; `preflight` checks without changing
//! anything; `publication` and `slot` create what is missing and check what exists.

mod agreement;
mod connect;
mod preflight;
mod publication;
mod slot;

pub use connect::connect_sql;
pub(crate) use connect::sql_error;
pub use preflight::preflight;
pub(crate) use publication::publishable_cte;
pub use slot::{
    advance_released_slot, drop_slot, slot_active, slot_confirmed_lsn, slot_gone, slot_holder,
    slot_lost, slot_unusable, stream_id,
};

use tokio_postgres::Client;

use crate::checkpoint::PositionStore;
use crate::error::SetupError;

/// What to stream: names from the command line or the config file.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub slot: String,
    pub publication: String,
    /// The publication was named (`--publication`, or `publication` in the file) rather than
    /// left at its default: when it is missing and cannot be created, the name may be misspelt.
    pub publication_given: bool,
    /// Tables for a publication we create; empty means all tables.
    pub tables: Vec<String>,
    /// A publication we create publishes a partitioned table's changes under the root's name
    /// (`publish_via_partition_root`), see `setup::publication`.
    pub via_root: bool,
}

/// Creates what is missing, checks what exists. `checkpoint` is our own record of this stream:
/// a slot that is gone while we hold a position in it is an error, never a fresh start. A
/// missing slot is created here unless `create_slot` is false (the caller creates it with an
/// exported snapshot).
pub async fn ensure_publication_and_slot(
    client: &Client,
    spec: &StreamSpec,
    checkpoint: &dyn PositionStore,
    create_slot: bool,
) -> Result<SlotFound, SetupError> {
    publication::ensure_publication(client, spec).await?;
    slot::ensure_slot(client, spec, checkpoint, create_slot).await
}

/// What [`ensure_publication_and_slot`] found of the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotFound {
    /// It existed (and is usable).
    Existing,
    /// It was missing and has been created.
    Created,
    /// It is missing, and the caller creates it.
    Missing,
}
