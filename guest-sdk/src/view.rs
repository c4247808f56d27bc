//! Typed views of a batch's changes.

use crate::{Batch, Change, Column, Datum, OldRow, Operation, Relation, Value};
use std::io::{self, Write};

/// Stands in for the relation of a change whose index is out of range (which the SDK rejects
/// before `publish`; this only keeps hand-built batches from panicking).
static NO_RELATION: Relation = Relation {
    oid: 0,
    schema: String::new(),
    name: String::new(),
    columns: Vec::new(),
};

impl Batch {
    /// The changes, in delivery order, each with its table resolved.
    pub fn changes(&self) -> impl ExactSizeIterator<Item = ChangeView<'_>> + DoubleEndedIterator {
        self.changes
            .iter()
            .map(move |change| ChangeView::new(self, change))
    }

    /// The `index`-th change.
    pub fn change(&self, index: usize) -> Option<ChangeView<'_>> {
        self.changes
            .get(index)
            .map(|change| ChangeView::new(self, change))
    }

    /// Number of changes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// `(commit_lsn, seq)` of the last change: the position a sink can remember to recognise
    /// changes offered again after a retry.
    pub fn last_position(&self) -> Option<(u64, u32)> {
        self.changes.last().map(|c| (c.commit_lsn, c.seq))
    }

    /// Every change as one line of JSON ([`ChangeView::to_json`]), each ending in `\n`.
    pub fn to_json_lines(&self) -> String {
        let mut out = Vec::with_capacity(self.changes.len() * 256);
        self.write_json_lines(&mut out)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Writes every change as one line of JSON to `out`.
    pub fn write_json_lines<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        for change in self.changes() {
            change.write_json_line(out)?;
        }
        Ok(())
    }
}

/// One change together with its table.
#[derive(Clone, Copy, Debug)]
pub struct ChangeView<'a> {
    change: &'a Change,
    relation: &'a Relation,
}

impl<'a> ChangeView<'a> {
    /// A view of `change`, which must belong to `batch`.
    pub fn new(batch: &'a Batch, change: &'a Change) -> Self {
        let relation = batch
            .relations
            .get(change.relation as usize)
            .unwrap_or(&NO_RELATION);
        ChangeView { change, relation }
    }

    /// The raw change.
    pub fn change(&self) -> &'a Change {
        self.change
    }

    /// The table.
    pub fn relation(&self) -> &'a Relation {
        self.relation
    }

    pub fn op(&self) -> Operation {
        self.change.op
    }

    pub fn schema(&self) -> &'a str {
        &self.relation.schema
    }

    pub fn table(&self) -> &'a str {
        &self.relation.name
    }

    /// `schema.table`.
    pub fn qualified_table(&self) -> String {
        format!("{}.{}", self.relation.schema, self.relation.name)
    }

    /// The table's columns, in table order (the order of row images).
    pub fn columns(&self) -> &'a [Column] {
        &self.relation.columns
    }

    /// Position of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.relation.columns.iter().position(|c| c.name == name)
    }

    pub fn column(&self, name: &str) -> Option<&'a Column> {
        self.relation.columns.iter().find(|c| c.name == name)
    }

    /// The new row image (INSERT, UPDATE): one value per column, unchanged TOAST columns
    /// included as [`Value::UnchangedToast`].
    pub fn new_row(&self) -> Option<&'a [Value]> {
        self.change.new.as_deref()
    }

    /// The old row image or key (UPDATE when sent, DELETE).
    pub fn old_row(&self) -> Option<&'a OldRow> {
        self.change.old.as_ref()
    }

    /// True when the old image holds only the key columns.
    pub fn old_is_key_only(&self) -> bool {
        self.change.old.as_ref().is_some_and(|o| o.key_only)
    }

    /// The new value of column `name`; `None` when there is no new row or no such column.
    pub fn new_value(&self, name: &str) -> Option<&'a Value> {
        self.new_row()?.get(self.column_index(name)?)
    }

    /// The old value of column `name`; `None` when there is no old row, no such column, or the
    /// old row is key-only and `name` is not a key column.
    pub fn old_value(&self, name: &str) -> Option<&'a Value> {
        let old = self.old_row()?;
        let index = self.column_index(name)?;
        if old.key_only && !self.relation.columns[index].key {
            return None;
        }
        old.values.get(index)
    }

    /// `(column, value)` pairs of the new row, in column order (unchanged TOAST included).
    pub fn new_values(&self) -> impl Iterator<Item = (&'a Column, &'a Value)> {
        self.columns().iter().zip(self.new_row().unwrap_or(&[]))
    }

    /// `(column, value)` pairs of the old row, in column order; only the key columns when the old
    /// row is key-only.
    pub fn old_values(&self) -> impl Iterator<Item = (&'a Column, &'a Value)> {
        let (values, key_only) = match self.old_row() {
            Some(old) => (&old.values[..], old.key_only),
            None => (&[][..], false),
        };
        self.columns()
            .iter()
            .zip(values)
            .filter(move |(c, _)| c.key || !key_only)
    }

    /// The key (replica identity) columns and their values: from the new row when there is one,
    /// otherwise from the old row.
    pub fn key_values(&self) -> impl Iterator<Item = (&'a Column, &'a Value)> {
        let values = match (self.new_row(), self.old_row()) {
            (Some(new), _) => new,
            (None, Some(old)) => &old.values[..],
            (None, None) => &[][..],
        };
        self.columns().iter().zip(values).filter(|(c, _)| c.key)
    }

    /// Names of the columns of the new row that are unchanged TOAST values, in column order.
    pub fn unchanged_toast(&self) -> impl Iterator<Item = &'a str> {
        self.new_values()
            .filter(|(_, v)| matches!(v, Value::UnchangedToast))
            .map(|(c, _)| c.name.as_str())
    }

    pub fn xid(&self) -> u32 {
        self.change.xid
    }

    /// LSN of the transaction's commit record ([`crate::format::lsn`] prints it).
    pub fn commit_lsn(&self) -> u64 {
        self.change.commit_lsn
    }

    /// LSN just past the commit record.
    pub fn end_lsn(&self) -> u64 {
        self.change.end_lsn
    }

    /// Commit time, microseconds since 1970-01-01T00:00:00Z.
    pub fn commit_time(&self) -> i64 {
        self.change.commit_time
    }

    /// Position of the change within its transaction, from 0.
    pub fn seq(&self) -> u32 {
        self.change.seq
    }

    /// `(commit_lsn, seq)`: unique, increasing in delivery order.
    pub fn position(&self) -> (u64, u32) {
        (self.change.commit_lsn, self.change.seq)
    }

    /// The change as one JSON object, in the `stdout-json` line format. A raw JSON text rather
    /// than a `serde_json::Value`, which could not hold a `json` column's duplicate keys or a
    /// number beyond an f64; it prints (`Display`) and serializes (`serde_json::to_writer`) as
    /// the exact line. `serde_json::from_str` makes a `Value` of it when that loss is fine.
    pub fn to_json(&self) -> Box<serde_json::value::RawValue> {
        serde_json::value::RawValue::from_string(self.json_line())
            .expect("the line writer writes one JSON text")
    }

    /// The change's line of the `stdout-json` format, without the newline.
    pub fn json_line(&self) -> String {
        crate::line::change_line(self)
    }

    /// Writes [`json_line`](Self::json_line) and a `\n` to `out`.
    pub fn write_json_line<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let mut line = self.json_line();
        line.push('\n');
        out.write_all(line.as_bytes())
    }
}

impl Value {
    /// SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// An unchanged TOAST column (not NULL: the value was not sent).
    pub fn is_unchanged_toast(&self) -> bool {
        matches!(self, Value::UnchangedToast)
    }

    /// The text of `text`, `numeric`, `json`, `uuid` and `other` values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s)
            | Value::Numeric(s)
            | Value::Json(s)
            | Value::Uuid(s)
            | Value::Other(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The value in the JSON line format (see the crate's README); an unchanged TOAST value maps
    /// to `null` here (row images leave such columns out instead). A `json` value is parsed by
    /// serde_json here (duplicate keys keep the last, numbers become f64s); the lines of
    /// [`ChangeView::json_line`] keep its text exactly.
    pub fn to_json(&self) -> serde_json::Value {
        crate::json::value_to_json(self)
    }
}

impl Datum {
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// The element in the JSON line format.
    pub fn to_json(&self) -> serde_json::Value {
        crate::json::datum_to_json(self)
    }
}
