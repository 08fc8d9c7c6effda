//! What the transports return: a stored item, and what a conditional write did.

/// A stored item: the payload and its CAS value (the session's version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) value: Vec<u8>,
    pub(crate) cas: u64,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteOutcome {
    /// Written; the item's new CAS value.
    Stored { cas: u64 },
    /// Not written: the key was taken (add), or the CAS moved on or the item is gone (CAS).
    NotStored,
}
