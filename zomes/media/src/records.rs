//! Reading entries out of records.

use crate::caller::refuse;
use hdk::prelude::*;

/// Reads a record's entry as `T`.
pub fn entry_from<T>(record: &Record) -> ExternResult<T>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    record
        .entry()
        .to_app_option::<T>()
        .map_err(|e| wasm_error!(e))?
        .ok_or_else(|| refuse("record holds no entry"))
}
