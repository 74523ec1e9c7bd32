//! What a figure is about: the whole center, one queue, one channel or one site, named in
//! files as `total`, `queue:NAME`, `channel:NAME` and `site:NAME`.

use std::fmt;
use std::str::FromStr;

use switchboard_engine::Channel;

/// The part of the center a figure covers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Total,
    Queue(String),
    Channel(Channel),
    Site(String),
}

impl Scope {
    /// The queue's, channel's or site's own name; `None` for the whole center.
    pub fn own_name(&self) -> Option<&str> {
        match self {
            Scope::Total => None,
            Scope::Queue(name) | Scope::Site(name) => Some(name),
            Scope::Channel(channel) => Some(channel.name()),
        }
    }

    /// The name as a file name may hold it: `queue:sales` → `queue_sales` (every character
    /// other than ASCII letters, digits, `-` and `_` becomes `_`).
    pub fn file_stem(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Total => f.write_str("total"),
            Scope::Queue(name) => write!(f, "queue:{name}"),
            Scope::Channel(channel) => write!(f, "channel:{}", channel.name()),
            Scope::Site(name) => write!(f, "site:{name}"),
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = || {
            format!(
                "expected a scope (total, queue:NAME, channel:NAME or site:NAME), found {text:?}"
            )
        };
        if text == "total" {
            return Ok(Scope::Total);
        }
        let (kind, name) = text.split_once(':').ok_or_else(expected)?;
        match kind {
            "queue" => Ok(Scope::Queue(name.to_string())),
            "site" => Ok(Scope::Site(name.to_string())),
            "channel" => Channel::ALL
                .into_iter()
                .find(|channel| channel.name() == name)
                .map(Scope::Channel)
                .ok_or_else(expected),
            _ => Err(expected()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_back_from_their_names() {
        for scope in [
            Scope::Total,
            Scope::Queue("vip sales".into()),
            Scope::Channel(Channel::Email),
            Scope::Site("dc:north".into()),
        ] {
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        }
        assert!("channel:fax".parse::<Scope>().is_err());
        assert_eq!(
            Scope::Queue("vip sales".into()).file_stem(),
            "queue_vip_sales"
        );
    }
}
