//! Offsets and tails of a loglet.
//!
//! Every offset, local tail, known global tail and sealed tail in the model is an [`Offset`]:
//! wide enough for any loglet a recorded run or a validation needs (the limits are
//! [`crate::config::MAX_APPENDS`] and [`crate::trace_format::MAX_OFFSET`]).

/// An offset of a record in a loglet, or a tail (the first offset after the last record).
pub type Offset = u32;
