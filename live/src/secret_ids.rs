//! Ids nobody can guess, and the tables of secrets they name that expire: the wallboard's
//! session cookies, the chat socket's tickets. A leaf module, so that any part of the runtime
//! may use it.

use std::collections::BTreeMap;

/// 256 random bits from the system, as 64 hex digits: a session's or a ticket's name, which
/// nobody can guess.
pub fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Room for one more in a table of secrets that expire (`expires_unix_ms` of each): the
/// expired ones go, and the one expiring first when `max` are left.
pub fn make_room<V>(
    secrets: &mut BTreeMap<String, V>,
    max: usize,
    now_unix_ms: i64,
    expires_unix_ms: impl Fn(&V) -> i64,
) {
    secrets.retain(|_, secret| expires_unix_ms(secret) > now_unix_ms);
    if secrets.len() >= max {
        let oldest = secrets
            .iter()
            .min_by_key(|(_, secret)| expires_unix_ms(secret))
            .map(|(id, _)| id.clone());
        if let Some(oldest) = oldest {
            secrets.remove(&oldest);
        }
    }
}
