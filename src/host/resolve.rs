//! What a host knows of names: its `/etc/hosts`, and the DNS server its `resolv.conf` names.
//!
//! Lookups are answered here, without packets. Docker's embedded DNS server listens inside the
//! container's own network namespace (127.0.0.11, reached over the container's loopback, where
//! dockerd's rules redirect port 53 to its resolver), so a container's query for another
//! container never crosses a wire the lab captures.
//!
//! The resolver follows glibc with `hosts: files dns` (Debian's `nsswitch.conf`): `/etc/hosts`
//! first, then the DNS server. Names compare case-insensitively, as DNS names do, and a
//! trailing dot (a fully qualified name) is the same name.

use smoltcp::wire::Ipv4Address;

/// Docker's embedded DNS server, the only `nameserver` of a container on a user-defined
/// network.
pub const EMBEDDED_DNS: Ipv4Address = Ipv4Address::new(127, 0, 0, 11);

/// A host's name tables. The default knows no name and reaches no DNS server (a plain lab
/// host).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// `/etc/hosts`, in file order: an address and its names (the first is canonical).
    pub hosts_file: Vec<(Ipv4Address, Vec<String>)>,
    /// The DNS server that answers, when one does: [`EMBEDDED_DNS`] for a container on a
    /// user-defined network. None: `resolv.conf` names servers no lab node serves (the
    /// Docker host's own resolvers on the default bridge), so every query times out.
    pub dns: Option<Ipv4Address>,
    /// The A records the DNS server holds: a name and its addresses, in answer order.
    pub records: Vec<(String, Vec<Ipv4Address>)>,
    /// The PTR records the DNS server holds: an address and its name (`web.backend`).
    pub pointers: Vec<(Ipv4Address, String)>,
}

/// Why a name did not resolve, as `getaddrinfo` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The server answered NXDOMAIN (`EAI_NONAME`).
    NotFound,
    /// No server answered (`EAI_AGAIN`).
    NoServer,
}

impl NameError {
    /// `gai_strerror`'s text.
    pub fn message(self) -> &'static str {
        match self {
            NameError::NotFound => "Name or service not known",
            NameError::NoServer => "Temporary failure in name resolution",
        }
    }
}

/// A resolved name, as `gethostbyname` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The canonical name: the first name of the `/etc/hosts` line, or the name as asked of
    /// DNS (the embedded server answers with the question's name).
    pub name: String,
    /// Other names of the same `/etc/hosts` line.
    pub aliases: Vec<String>,
    pub addrs: Vec<Ipv4Address>,
}

/// A destination as typed on a command line: an IPv4 address, or a name resolved when the
/// program starts (against the names of the host it runs on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Addr(Ipv4Address),
    Name(String),
}

impl Dest {
    /// An address, or something a resolver could be asked: letters, digits, `-`, `_` and dots.
    /// Digits and dots alone must make an address: `10.0.0.256` is a typo, not a name.
    pub fn parse(text: &str) -> Result<Dest, String> {
        if let Ok(ip) = text.parse() {
            return Ok(Dest::Addr(ip));
        }
        let name_chars = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        let numeric = text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if text.is_empty() || text.len() > 253 || !name_chars || numeric || text.starts_with('-') {
            return Err(format!(
                "{text}: Name or service not known (not an IPv4 address or a host name)"
            ));
        }
        Ok(Dest::Name(text.to_string()))
    }

    /// The address, looking a name up in `names`.
    pub fn resolve(&self, names: &Names) -> Result<(Ipv4Address, Option<Answer>), NameError> {
        match self {
            Dest::Addr(ip) => Ok((*ip, None)),
            Dest::Name(n) => {
                let a = names.resolve(n)?;
                Ok((a.addrs[0], Some(a)))
            }
        }
    }
}

impl std::fmt::Display for Dest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dest::Addr(ip) => ip.fmt(f),
            Dest::Name(n) => f.write_str(n),
        }
    }
}

/// A name as DNS compares it: without the root's trailing dot, any case.
fn same(a: &str, b: &str) -> bool {
    a.strip_suffix('.')
        .unwrap_or(a)
        .eq_ignore_ascii_case(b.strip_suffix('.').unwrap_or(b))
}

impl Names {
    /// The `/etc/hosts` line for `name` (nss `files`: the first line that has it).
    pub fn from_file(&self, name: &str) -> Option<Answer> {
        let (ip, names) = self
            .hosts_file
            .iter()
            .find(|(_, names)| names.iter().any(|n| same(n, name)))?;
        Some(Answer {
            name: names[0].clone(),
            aliases: names[1..].to_vec(),
            addrs: vec![*ip],
        })
    }

    /// An A query to the DNS server, bypassing `/etc/hosts` (as `nslookup` asks).
    pub fn query(&self, name: &str) -> Result<Vec<Ipv4Address>, NameError> {
        self.dns.ok_or(NameError::NoServer)?;
        self.records
            .iter()
            .find(|(n, _)| same(n, name))
            .map(|(_, addrs)| addrs.clone())
            .ok_or(NameError::NotFound)
    }

    /// A PTR query to the DNS server.
    pub fn query_pointer(&self, ip: Ipv4Address) -> Result<String, NameError> {
        self.dns.ok_or(NameError::NoServer)?;
        self.pointers
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, n)| n.clone())
            .ok_or(NameError::NotFound)
    }

    /// `getaddrinfo` / `gethostbyname`: `/etc/hosts`, then DNS.
    pub fn resolve(&self, name: &str) -> Result<Answer, NameError> {
        if let Some(a) = self.from_file(name) {
            return Ok(a);
        }
        let addrs = self.query(name)?;
        Ok(Answer {
            name: name.strip_suffix('.').unwrap_or(name).to_string(),
            aliases: Vec::new(),
            addrs,
        })
    }

    /// `getnameinfo` / `gethostbyaddr`: the first `/etc/hosts` name of `ip`, else its PTR
    /// record; None when neither knows it.
    pub fn reverse(&self, ip: Ipv4Address) -> Option<String> {
        self.reverse_file(ip)
            .map(|(name, _)| name.to_string())
            .or_else(|| self.query_pointer(ip).ok())
    }

    /// The `/etc/hosts` line of `ip`: its canonical name and aliases.
    pub fn reverse_file(&self, ip: Ipv4Address) -> Option<(&str, &[String])> {
        let (_, names) = self.hosts_file.iter().find(|(a, _)| *a == ip)?;
        Some((names[0].as_str(), &names[1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(d: u8) -> Ipv4Address {
        Ipv4Address::new(172, 18, 0, d)
    }

    fn names() -> Names {
        Names {
            hosts_file: vec![
                (Ipv4Address::new(127, 0, 0, 1), vec!["localhost".into()]),
                (
                    Ipv4Address::new(172, 17, 0, 1),
                    vec!["host.docker.internal".into()],
                ),
                (ip(2), vec!["0123456789ab".into()]),
            ],
            dns: Some(EMBEDDED_DNS),
            records: vec![
                ("web".into(), vec![ip(2)]),
                ("search".into(), vec![ip(2), ip(3)]),
            ],
            pointers: vec![(ip(2), "web.backend".into()), (ip(3), "app.backend".into())],
        }
    }

    #[test]
    fn files_come_before_dns() {
        let n = names();
        let a = n.resolve("host.docker.internal").unwrap();
        assert_eq!(
            (a.name.as_str(), a.addrs.as_slice()),
            (
                "host.docker.internal",
                &[Ipv4Address::new(172, 17, 0, 1)][..]
            )
        );
        // nslookup asks the server directly: /etc/hosts entries are unknown there.
        assert_eq!(n.query("host.docker.internal"), Err(NameError::NotFound));
        assert_eq!(n.resolve("search").unwrap().addrs, vec![ip(2), ip(3)]);
    }

    #[test]
    fn names_compare_as_dns_does() {
        let n = names();
        let a = n.resolve("WEB.").unwrap();
        assert_eq!((a.name.as_str(), a.addrs[0]), ("WEB", ip(2)));
        assert_eq!(n.resolve("nosuch"), Err(NameError::NotFound));
    }

    #[test]
    fn reverse_prefers_hosts_file() {
        let n = names();
        assert_eq!(n.reverse(ip(2)).as_deref(), Some("0123456789ab"));
        assert_eq!(n.reverse(ip(3)).as_deref(), Some("app.backend"));
        assert_eq!(n.reverse(ip(9)), None);
    }

    #[test]
    fn destinations_parse_as_address_or_name() {
        assert_eq!(
            Dest::parse("10.0.0.2"),
            Ok(Dest::Addr(Ipv4Address::new(10, 0, 0, 2)))
        );
        assert_eq!(
            Dest::parse("web.backend"),
            Ok(Dest::Name("web.backend".into()))
        );
        for bad in ["10.0.0.256", "1.2.3", "", "a b", "web/x", "-c"] {
            assert!(Dest::parse(bad).is_err(), "{bad}");
        }
        let (addr, answer) = Dest::Name("web".into()).resolve(&names()).unwrap();
        assert_eq!((addr, answer.unwrap().name.as_str()), (ip(2), "web"));
    }

    #[test]
    fn without_a_server_only_the_file_answers() {
        let n = Names {
            dns: None,
            ..names()
        };
        assert_eq!(n.resolve("web"), Err(NameError::NoServer));
        assert!(n.resolve("localhost").is_ok());
        assert_eq!(n.reverse(ip(3)), None);
        assert_eq!(
            Names::default().resolve("x").unwrap_err().message(),
            "Temporary failure in name resolution"
        );
    }
}
