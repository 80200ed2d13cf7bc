//! A signed session item, edited the way someone who can write the table but not read the
//! key could: attributes removed, replaced or copied, the MAC's bytes flipped, cut, relabelled
//! or taken from another row.
//!
//! Whatever the edits, the store reads the record as it was signed (the edits changed
//! nothing it means, such as a number written `03`), or no session, or a malformed-item
//! error. Never another record, never a panic.

#![no_main]

use arbitrary::Arbitrary;
use cognito_session::fuzz::item::{self, AttributeValue, Blob};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Value {
    S(String),
    N(String),
    B(Vec<u8>),
    L(Vec<String>),
    Null,
    Bool(bool),
}

impl Value {
    fn attribute(self) -> AttributeValue {
        match self {
            Value::S(s) => AttributeValue::S(s),
            Value::N(n) => AttributeValue::N(n),
            Value::B(b) => AttributeValue::B(Blob::new(b)),
            Value::L(l) => AttributeValue::L(l.into_iter().map(AttributeValue::S).collect()),
            Value::Null => AttributeValue::Null(true),
            Value::Bool(b) => AttributeValue::Bool(b),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Remove(u8),
    Set(u8, Value),
    Copy { from: u8, to: u8 },
    FlipMacBit { byte: u8, bit: u8 },
    TruncateMac(u8),
    RelabelMac(u8),
    /// The whole item of another row, signed under its own key (and maybe for another
    /// user), with this row's key put in.
    OtherRow { other_user: bool },
}

fn mac_bytes(item: &item::Item) -> Option<Vec<u8>> {
    match item.get("mac") {
        Some(AttributeValue::B(mac)) => Some(mac.as_ref().to_vec()),
        _ => None,
    }
}

fuzz_target!(|edits: Vec<Edit>| {
    let record = item::record("fuzz-key");
    let names = item::attribute_names();
    let name = |i: u8| names[usize::from(i) % names.len()].clone();
    let mut row = item::signed(&record);
    for edit in edits.into_iter().take(16) {
        match edit {
            Edit::Remove(i) => {
                row.remove(&name(i));
            }
            Edit::Set(i, value) => {
                row.insert(name(i), value.attribute());
            }
            Edit::Copy { from, to } => {
                if let Some(value) = row.get(&name(from)).cloned() {
                    row.insert(name(to), value);
                }
            }
            Edit::FlipMacBit { byte, bit } => {
                if let Some(mut mac) = mac_bytes(&row).filter(|m| !m.is_empty()) {
                    let i = usize::from(byte) % mac.len();
                    mac[i] ^= 1 << (bit % 8);
                    row.insert("mac".into(), AttributeValue::B(Blob::new(mac)));
                }
            }
            Edit::TruncateMac(len) => {
                if let Some(mut mac) = mac_bytes(&row) {
                    mac.truncate(usize::from(len));
                    row.insert("mac".into(), AttributeValue::B(Blob::new(mac)));
                }
            }
            Edit::RelabelMac(id) => {
                if let Some(mut mac) = mac_bytes(&row).filter(|m| m.len() > 1) {
                    mac[1] = id;
                    row.insert("mac".into(), AttributeValue::B(Blob::new(mac)));
                }
            }
            Edit::OtherRow { other_user } => {
                let mut other = record.clone();
                other.key = "another-key".into();
                if other_user {
                    other.username = "another-user".into();
                }
                let mut copied = item::signed(&other);
                if let Some(key) = row.get(&names[0]) {
                    copied.insert(names[0].clone(), key.clone());
                }
                row = copied;
            }
        }
    }
    // A read of this session's key gets an item under that key, whatever else it holds.
    row.insert(names[0].clone(), AttributeValue::S(record.key.clone()));
    if let Ok(Some(read)) = item::read(&row) {
        assert_eq!(read, record, "an edited row was read as another session");
    }
});
