//! The analyst replay's per-message work in compiled code (`wangge.replay.messages` and
//! `wangge.replay.pseudonyms` keep the same work in Python as the slow twin, and the tests hold
//! the two to the same output). In Python, placing a message by its headers and hashing an
//! identifier cost about 2.5 µs and 1 µs; the read itself costs aiokafka about 4.4 µs.

use hmac::{Hmac, Mac};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The first 32 hex digits of HMAC-SHA-256 under `key` of each value of an Arrow string array,
/// given by its 32-bit offsets and its data: the result's offsets and data, an Arrow string
/// array of `count` values of 32 characters.
#[pyfunction]
fn hmac_hex32<'py>(
    py: Python<'py>,
    key: &[u8],
    offsets: &[u8],
    data: &[u8],
    count: usize,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    if offsets.len() < (count + 1) * 4 {
        return Err(PyValueError::new_err("offsets: fewer than count + 1"));
    }
    let keyed =
        HmacSha256::new_from_slice(key).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let at = |i: usize| -> usize {
        i32::from_le_bytes([
            offsets[4 * i],
            offsets[4 * i + 1],
            offsets[4 * i + 2],
            offsets[4 * i + 3],
        ]) as usize
    };
    let mut out = Vec::with_capacity(count * 32);
    for i in 0..count {
        let (start, end) = (at(i), at(i + 1));
        if start > end || end > data.len() {
            return Err(PyValueError::new_err("offsets outside the data"));
        }
        let mut mac = keyed.clone();
        mac.update(&data[start..end]);
        let digest = mac.finalize().into_bytes();
        for byte in &digest[..16] {
            out.push(HEX[(byte >> 4) as usize]);
            out.push(HEX[(byte & 15) as usize]);
        }
    }
    let mut ends = Vec::with_capacity((count + 1) * 4);
    for i in 0..=count {
        ends.extend_from_slice(&((i * 32) as i32).to_le_bytes());
    }
    Ok((PyBytes::new(py, &ends), PyBytes::new(py, &out)))
}

/// Where one message's headers are (the last of a name, as a dict of them has it).
#[derive(Default)]
struct Found<'py> {
    kind: Option<Bound<'py, PyAny>>,
    time: Option<Bound<'py, PyAny>>,
    id: Option<Bound<'py, PyAny>>,
    subject: Option<Bound<'py, PyAny>>,
    sequence: Option<Bound<'py, PyAny>>,
    dataschema: Option<Bound<'py, PyAny>>,
    actor: Option<Bound<'py, PyAny>>,
    correlation: Option<Bound<'py, PyAny>>,
    causation: Option<Bound<'py, PyAny>>,
}

fn required<'a, 'py>(value: &'a Option<Bound<'py, PyAny>>) -> PyResult<&'a Bound<'py, PyBytes>> {
    match value {
        Some(found) => Ok(found.cast::<PyBytes>()?),
        None => Err(PyValueError::new_err("a header every event has is missing")),
    }
}

fn optional<'py>(py: Python<'py>, value: Option<Bound<'py, PyAny>>) -> Bound<'py, PyAny> {
    value.unwrap_or_else(|| py.None().into_bound(py))
}

/// Where a chunk's messages go: `slots`, (type, hour) to the group's list, `new_group(key)`
/// making one; `versions`, a dataschema to its version, `version_of` reading a new one.
struct Chunk<'a, 'py> {
    slots: &'a Bound<'py, PyDict>,
    versions: &'a Bound<'py, PyDict>,
    new_group: &'a Bound<'py, PyAny>,
    version_of: &'a Bound<'py, PyAny>,
}

/// One message placed: its group's list and the tuple it gets (see `MessageChunk.add`).
fn placed<'py>(
    py: Python<'py>,
    message: &Bound<'py, PyAny>,
    chunk: &Chunk<'_, 'py>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyTuple>)> {
    let Chunk {
        slots,
        versions,
        new_group,
        version_of,
    } = chunk;
    let mut found = Found::default();
    for header in message.getattr(intern!(py, "headers"))?.try_iter()? {
        let header = header?;
        let pair = header.cast::<PyTuple>()?;
        if pair.len() != 2 {
            return Err(PyValueError::new_err("a header is not a name and a value"));
        }
        let name = pair.get_item(0)?;
        let value = Some(pair.get_item(1)?);
        match name.cast::<PyString>()?.to_str()? {
            "ce_type" => found.kind = value,
            "ce_time" => found.time = value,
            "ce_id" => found.id = value,
            "ce_subject" => found.subject = value,
            "ce_sequence" => found.sequence = value,
            "ce_dataschema" => found.dataschema = value,
            "ce_actor" => found.actor = value,
            "ce_correlationid" => found.correlation = value,
            "ce_causationid" => found.causation = value,
            _ => {}
        }
    }
    let time = required(&found.time)?;
    let moment = time.as_bytes();
    // the relay's RFC 3339 in UTC ("…T17:04:05.123456Z"): its month is its hour's
    if moment.len() < 20 || moment[moment.len() - 1] != b'Z' || moment[13] != b':' {
        return Err(PyValueError::new_err("a time not in the relay's form"));
    }
    let kind = required(&found.kind)?;
    let key = PyTuple::new(
        py,
        [
            kind.as_any().clone(),
            PyBytes::new(py, &moment[..13]).into_any(),
        ],
    )?;
    let group = match slots.get_item(&key)? {
        Some(group) => group.cast_into::<PyList>()?,
        None => {
            let group = new_group.call1((&key,))?.cast_into::<PyList>()?;
            slots.set_item(&key, &group)?;
            group
        }
    };
    let schema = required(&found.dataschema)?;
    let version = match versions.get_item(schema)? {
        Some(version) => version,
        None => {
            let version = version_of.call1((schema,))?;
            versions.set_item(schema, &version)?;
            version
        }
    };
    let digits = required(&found.sequence)?.as_bytes();
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(PyValueError::new_err("a sequence that is not a number"));
    }
    let sequence = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    let id = required(&found.id)?.as_any().clone();
    let subject = required(&found.subject)?.as_any().clone();
    let value = message.getattr(intern!(py, "value"))?;
    let data = if value.is_truthy()? {
        value
    } else {
        PyBytes::new(py, b"{}").into_any()
    };
    let items: [Bound<'py, PyAny>; 10] = [
        id,
        subject,
        time.as_any().clone(),
        sequence.into_pyobject(py)?.into_any(),
        version,
        optional(py, found.actor),
        optional(py, found.correlation),
        optional(py, found.causation),
        data,
        message.getattr(intern!(py, "offset"))?,
    ];
    Ok((group, PyTuple::new(py, items)?))
}

/// Place each message of `items` in its group (`slots`: (type, hour) to the group's list;
/// `new_group(key)` makes one; `versions`: a dataschema to its version, `version_of` reads a
/// new one), or, when it cannot be placed as it stands, append it to `unsorted`.
#[pyfunction]
fn place<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    slots: &Bound<'py, PyDict>,
    versions: &Bound<'py, PyDict>,
    unsorted: &Bound<'py, PyList>,
    new_group: &Bound<'py, PyAny>,
    version_of: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let chunk = Chunk {
        slots,
        versions,
        new_group,
        version_of,
    };
    for message in items.try_iter()? {
        let message = message?;
        match placed(py, &message, &chunk) {
            Ok((group, row)) => group.append(row)?,
            Err(_) => unsorted.append(message)?,
        }
    }
    Ok(())
}

#[pymodule]
fn wangge_replay_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(hmac_hex32, module)?)?;
    module.add_function(wrap_pyfunction!(place, module)?)?;
    Ok(())
}
