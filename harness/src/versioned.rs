//! Field codecs shared by the APIs whose layout changes at their first
//! flexible version (compact strings and arrays, tagged fields): each takes
//! `flexible` and writes or reads the form of that version.

use crate::protocol::response_header_v1;
use crate::wire::{Reader, Writer};
use anyhow::{Context, Result};

/// Response header v1 (flexible versions) or v0.
pub(crate) fn response_header(r: &mut Reader<'_>, flexible: bool) -> Result<i32> {
    if flexible {
        response_header_v1(r)
    } else {
        r.i32()
    }
}

pub(crate) fn put_string(w: &mut Writer, s: &str, flexible: bool) {
    if flexible {
        w.compact_string(s);
    } else {
        w.nullable_string(Some(s));
    }
}

pub(crate) fn put_nullable_string(w: &mut Writer, s: Option<&str>, flexible: bool) {
    if flexible {
        w.compact_nullable_string(s);
    } else {
        w.nullable_string(s);
    }
}

pub(crate) fn put_array_len(w: &mut Writer, len: usize, flexible: bool) {
    if flexible {
        w.compact_array_len(len);
    } else {
        w.i32(len as i32);
    }
}

pub(crate) fn get_string(r: &mut Reader<'_>, flexible: bool) -> Result<String> {
    if flexible {
        r.compact_string()
    } else {
        let at = r.position();
        r.nullable_string()?
            .with_context(|| format!("null string at offset {at} where one is required"))
    }
}

pub(crate) fn get_tags(r: &mut Reader<'_>, flexible: bool) -> Result<()> {
    if flexible { r.no_tags() } else { Ok(()) }
}

pub(crate) fn put_tags(w: &mut Writer, flexible: bool) {
    if flexible {
        w.no_tags();
    }
}

pub(crate) fn get_nullable_string(r: &mut Reader<'_>, flexible: bool) -> Result<Option<String>> {
    if flexible {
        r.compact_nullable_string()
    } else {
        r.nullable_string()
    }
}

pub(crate) fn put_i32_array(w: &mut Writer, values: &[i32], flexible: bool) {
    put_array_len(w, values.len(), flexible);
    for v in values {
        w.i32(*v);
    }
}
