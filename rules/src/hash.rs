//! SHA-256 hashes as they travel: 64 lowercase hex characters.

/// Length of a SHA-256 in hex.
pub const SHA256_HEX_LEN: usize = 64;

/// Checks that `value` is a SHA-256 in lowercase hex, naming the field when it is not.
pub fn check_sha256_hex(field: &str, value: &str) -> Result<(), String> {
    if value.len() != SHA256_HEX_LEN {
        return Err(format!(
            "{field} must be a SHA-256 as {SHA256_HEX_LEN} lowercase hex characters, got {} characters",
            value.len()
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("{field} must be lowercase hex (0-9, a-f), got '{value}'"));
    }
    Ok(())
}

/// Parses a lowercase-hex SHA-256 into its 32 bytes.
pub fn parse_sha256_hex(value: &str) -> Result<[u8; 32], String> {
    check_sha256_hex("hash", value)?;
    let mut out = [0u8; 32];
    for (i, pair) in value.as_bytes().chunks(2).enumerate() {
        out[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(out)
}

/// Lowercase hex of 32 bytes.
pub fn to_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(SHA256_HEX_LEN);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn malformed_hashes_are_named() {
        assert!(check_sha256_hex("hash", &"a".repeat(64)).is_ok());
        assert!(check_sha256_hex("hash", &"A".repeat(64))
            .unwrap_err()
            .contains("lowercase"));
        assert!(check_sha256_hex("chunks[3]", "abc")
            .unwrap_err()
            .starts_with("chunks[3]"));
        assert!(check_sha256_hex("hash", &format!("{}g", "a".repeat(63))).is_err());
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            prop_assert_eq!(parse_sha256_hex(&to_hex(&bytes)).unwrap(), bytes);
        }
    }
}
