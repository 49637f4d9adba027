//! pg_hba.conf lines, read the way PostgreSQL 13–18 reads them. Validation (model paths) and lint
//! (line and column) both use this parser, so they agree on what PostgreSQL accepts.
//!
//! Tokens follow PostgreSQL's `next_token` (`src/backend/libpq/hba.c`): blanks separate fields,
//! `#` outside quotes starts a comment, double quotes group blanks, `#` and commas, `""` inside
//! quotes is a literal quote, and an unclosed quote runs to the end of the line. A comma outside
//! quotes makes a list that continues after blanks (`all, app` is one field). Only unquoted
//! `all`, `samehost` and `samenet` are keywords; connection types and methods are compared
//! case-sensitively and regardless of quotes, as PostgreSQL does (`MD5` is rejected, `"md5"` is
//! not). The checks below were compared with `pg_hba_file_rules` of PostgreSQL 15.
//!
//! Stricter than PostgreSQL in two places, both for lines that could never match a client: a
//! host name must be a valid host name (PostgreSQL takes any non-numeric token as one and only
//! fails when resolving it), and an unfilled placeholder such as `x.x.x.0` is reported as one.

use std::fmt;
use std::net::IpAddr;

use crate::validate::{is_hostname, is_placeholder, parse_cidr};

/// The first field of a pg_hba line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionType {
    /// `local`: Unix-domain sockets.
    Local,
    /// `host`: TCP/IP, with or without SSL or GSSAPI encryption.
    Host,
    /// `hostssl`: TCP/IP with SSL only.
    HostSsl,
    /// `hostnossl`: TCP/IP without SSL only.
    HostNoSsl,
    /// `hostgssenc`: TCP/IP with GSSAPI encryption only.
    HostGssEnc,
    /// `hostnogssenc`: TCP/IP without GSSAPI encryption only.
    HostNoGssEnc,
}

impl ConnectionType {
    const ALL: [ConnectionType; 6] = [
        ConnectionType::Local,
        ConnectionType::Host,
        ConnectionType::HostSsl,
        ConnectionType::HostNoSsl,
        ConnectionType::HostGssEnc,
        ConnectionType::HostNoGssEnc,
    ];

    /// The keyword as written in pg_hba.conf.
    pub fn keyword(self) -> &'static str {
        match self {
            ConnectionType::Local => "local",
            ConnectionType::Host => "host",
            ConnectionType::HostSsl => "hostssl",
            ConnectionType::HostNoSsl => "hostnossl",
            ConnectionType::HostGssEnc => "hostgssenc",
            ConnectionType::HostNoGssEnc => "hostnogssenc",
        }
    }

    /// Whether lines of this type carry an address field (every type but `local`).
    pub fn is_network(self) -> bool {
        self != ConnectionType::Local
    }

    fn from_keyword(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.keyword() == text)
    }
}

/// The authentication method of a pg_hba line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `trust`
    Trust,
    /// `reject`
    Reject,
    /// `scram-sha-256`
    ScramSha256,
    /// `md5`
    Md5,
    /// `password` (clear text)
    Password,
    /// `gss`
    Gss,
    /// `sspi` (Windows builds only)
    Sspi,
    /// `ident` (`peer` on `local` lines)
    Ident,
    /// `peer` (`local` lines only)
    Peer,
    /// `ldap`
    Ldap,
    /// `radius`
    Radius,
    /// `cert` (`hostssl` lines only)
    Cert,
    /// `pam`
    Pam,
    /// `bsd` (OpenBSD builds only)
    Bsd,
    /// `oauth` (PostgreSQL 18 and later)
    Oauth,
}

/// Which builds and versions of PostgreSQL accept a method.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Availability {
    /// Every Linux build of PostgreSQL 13–18.
    Always,
    /// Only builds for another operating system ("not supported by this build" on Linux).
    NotOnLinux(&'static str),
    /// From this major version on.
    Since(u32),
}

/// Every method PostgreSQL 13–18 knows, once.
const METHODS: &[(&str, AuthMethod, Availability)] = &[
    ("trust", AuthMethod::Trust, Availability::Always),
    ("reject", AuthMethod::Reject, Availability::Always),
    (
        "scram-sha-256",
        AuthMethod::ScramSha256,
        Availability::Always,
    ),
    ("md5", AuthMethod::Md5, Availability::Always),
    ("password", AuthMethod::Password, Availability::Always),
    ("gss", AuthMethod::Gss, Availability::Always),
    (
        "sspi",
        AuthMethod::Sspi,
        Availability::NotOnLinux("Windows"),
    ),
    ("ident", AuthMethod::Ident, Availability::Always),
    ("peer", AuthMethod::Peer, Availability::Always),
    ("ldap", AuthMethod::Ldap, Availability::Always),
    ("radius", AuthMethod::Radius, Availability::Always),
    ("cert", AuthMethod::Cert, Availability::Always),
    ("pam", AuthMethod::Pam, Availability::Always),
    ("bsd", AuthMethod::Bsd, Availability::NotOnLinux("OpenBSD")),
    ("oauth", AuthMethod::Oauth, Availability::Since(18)),
];

impl AuthMethod {
    /// The keyword as written in pg_hba.conf.
    pub fn keyword(self) -> &'static str {
        METHODS
            .iter()
            .find(|(_, m, _)| *m == self)
            .map_or("", |(k, _, _)| k)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The address field of a network line, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HbaAddress {
    /// The keyword `all`: any address.
    All,
    /// The keyword `samehost`: any of the server's own addresses.
    SameHost,
    /// The keyword `samenet`: any address in a subnet the server is directly connected to.
    SameNet,
    /// `address/prefix`.
    Cidr {
        /// The address part, as written (host bits may be set).
        ip: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
    /// An IP address followed by a separate netmask field.
    IpMask {
        /// The address.
        ip: IpAddr,
        /// The netmask, of the same family.
        mask: IpAddr,
    },
    /// A host name, or a `.domain` suffix.
    HostName(String),
}

/// The address field of a network line with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressField {
    /// The field's text, without quotes.
    pub text: String,
    /// The 1-based column (in characters) where the field starts.
    pub column: usize,
    /// The address, or why it is not one. A bad address does not stop the parse, so that the
    /// method can still be checked.
    pub value: Result<HbaAddress, String>,
}

/// A parsed pg_hba record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaLine {
    /// The connection type.
    pub connection: ConnectionType,
    /// The database field: one or more names, keywords or `@file` references.
    pub database: Vec<String>,
    /// The user field: one or more names, `+group`s, keywords or `@file` references.
    pub user: Vec<String>,
    /// The address; `None` on `local` lines.
    pub address: Option<AddressField>,
    /// The authentication method.
    pub method: AuthMethod,
    /// The 1-based column of the method.
    pub method_column: usize,
    /// The `name=value` options after the method.
    pub options: Vec<String>,
}

/// Why PostgreSQL would refuse a pg_hba line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaError {
    /// The 1-based column (in characters) of the offending field; the first field's column when
    /// a field is missing.
    pub column: usize,
    /// What is wrong, without a trailing full stop.
    pub message: String,
}

impl fmt::Display for HbaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HbaError {}

/// One token of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    /// Whether the token began with a double quote (which makes keywords plain names).
    quoted: bool,
}

/// One field: a comma-separated list of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    tokens: Vec<Token>,
    /// The 1-based column of the field's first character.
    column: usize,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits a line into fields as PostgreSQL's `next_field_expand` does.
fn fields(line: &str) -> Vec<Field> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let mut current: Option<Field> = None;
    let mut comment = false;
    while !comment {
        // Blanks and commas before a token.
        while chars.get(i).is_some_and(|&c| is_blank(c) || c == ',') {
            i += 1;
        }
        let start = i;
        let mut text = String::new();
        let (mut in_quote, mut was_quote, mut saw_quote, mut quoted) = (false, false, false, false);
        let mut trailing_comma = false;
        while let Some(&c) = chars.get(i) {
            if is_blank(c) && !in_quote {
                break;
            }
            if c == '#' && !in_quote {
                comment = true;
                break;
            }
            if c == ',' && !in_quote {
                trailing_comma = true;
                i += 1;
                break;
            }
            if c != '"' || was_quote {
                text.push(c);
            }
            was_quote = in_quote && c == '"' && !was_quote;
            if c == '"' {
                in_quote = !in_quote;
                saw_quote = true;
                if text.is_empty() {
                    quoted = true;
                }
            }
            i += 1;
        }
        if !saw_quote && text.is_empty() {
            break;
        }
        let field = current.get_or_insert_with(|| Field {
            tokens: Vec::new(),
            column: start + 1,
        });
        field.tokens.push(Token { text, quoted });
        if !trailing_comma {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// The single token of a field where PostgreSQL allows no list.
fn single<'a>(field: &'a Field, what: &str) -> Result<&'a Token, HbaError> {
    match field.tokens.as_slice() {
        [token] => Ok(token),
        _ => Err(HbaError {
            column: field.column,
            message: format!("the {what} field holds more than one value"),
        }),
    }
}

/// Reads an address token (not a bare IP address, which takes a netmask field).
fn parse_address(token: &Token) -> Result<HbaAddress, String> {
    let text = token.text.as_str();
    if !token.quoted {
        match text {
            "all" => return Ok(HbaAddress::All),
            "samehost" => return Ok(HbaAddress::SameHost),
            "samenet" => return Ok(HbaAddress::SameNet),
            _ => {}
        }
    }
    if text.contains('/') {
        return parse_cidr(text).map(|c| HbaAddress::Cidr {
            ip: c.ip,
            prefix: c.prefix,
        });
    }
    if is_placeholder(text) {
        return Err(format!("`{text}` is an unfilled placeholder"));
    }
    if is_hostname(text.strip_prefix('.').unwrap_or(text)) {
        return Ok(HbaAddress::HostName(text.to_string()));
    }
    Err(format!(
        "`{text}` is neither an address with a prefix length, `all`, `samehost`, `samenet` nor a host name"
    ))
}

/// Parses one pg_hba line. `Ok(None)` for a blank or comment line and for an include directive
/// (PostgreSQL 16+), which has nothing further to check. `pg_version` is the PostgreSQL major
/// version, or `None` when unknown: then whatever some supported version accepts is accepted.
pub fn parse_line(line: &str, pg_version: Option<u32>) -> Result<Option<HbaLine>, HbaError> {
    let fields = fields(line);
    let Some(first) = fields.first() else {
        return Ok(None);
    };
    let err = |column: usize, message: String| HbaError { column, message };
    let kind = single(first, "connection type")?.text.as_str();
    if matches!(kind, "include" | "include_if_exists" | "include_dir") {
        if pg_version.is_none_or(|v| v >= 16) && fields.len() == 2 {
            return Ok(None);
        }
        return Err(err(
            first.column,
            format!("`{kind}` needs PostgreSQL 16 or later and exactly one file name"),
        ));
    }
    let Some(connection) = ConnectionType::from_keyword(kind) else {
        return Err(err(
            first.column,
            format!("`{kind}` is not a connection type (local, host, hostssl, hostnossl, hostgssenc, hostnogssenc)"),
        ));
    };
    let (Some(database), Some(user)) = (fields.get(1), fields.get(2)) else {
        return Err(err(
            first.column,
            "the database and user fields are missing".to_string(),
        ));
    };
    let texts = |f: &Field| f.tokens.iter().map(|t| t.text.clone()).collect::<Vec<_>>();
    let mut next = 3;
    let address = if connection.is_network() {
        let Some(field) = fields.get(3) else {
            return Err(err(
                first.column,
                "the address field is missing".to_string(),
            ));
        };
        let token = single(field, "address")?;
        next = 4;
        let text = &token.text;
        let value = match text.parse::<IpAddr>() {
            // An IP address without a prefix takes a separate netmask field.
            Ok(ip) => {
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                let mask = fields
                    .get(4)
                    .filter(|f| f.tokens.len() == 1)
                    .and_then(|f| f.tokens.first())
                    .and_then(|t| t.text.parse::<IpAddr>().ok());
                let Some(mask) = mask else {
                    return Err(err(
                        field.column,
                        format!("address `{text}` needs a prefix length (`{text}/{bits}`) or a netmask field"),
                    ));
                };
                if mask.is_ipv4() != ip.is_ipv4() {
                    return Err(err(
                        field.column,
                        format!(
                            "address `{text}` and netmask `{mask}` are of different IP families"
                        ),
                    ));
                }
                next = 5;
                Ok(HbaAddress::IpMask { ip, mask })
            }
            Err(_) => parse_address(token),
        };
        Some(AddressField {
            text: text.clone(),
            column: field.column,
            value,
        })
    } else {
        None
    };
    let Some(method_field) = fields.get(next) else {
        return Err(err(
            first.column,
            "the authentication method is missing".to_string(),
        ));
    };
    let method_text = single(method_field, "authentication method")?.text.as_str();
    let column = method_field.column;
    let Some(&(_, method, availability)) = METHODS.iter().find(|(k, _, _)| *k == method_text)
    else {
        return Err(err(
            column,
            format!("`{method_text}` is not an authentication method"),
        ));
    };
    match availability {
        Availability::Always => {}
        Availability::NotOnLinux(os) => {
            return Err(err(
                column,
                format!("`{method}` exists only in PostgreSQL built for {os}; on Linux PostgreSQL rejects it"),
            ))
        }
        Availability::Since(v) => {
            if pg_version.is_some_and(|p| p < v) {
                return Err(err(
                    column,
                    format!("`{method}` needs PostgreSQL {v} or later"),
                ));
            }
        }
    }
    let misplaced = match method {
        AuthMethod::Peer if connection.is_network() => Some("`peer` works only on `local` lines"),
        AuthMethod::Cert if connection != ConnectionType::HostSsl => {
            Some("`cert` works only on `hostssl` lines")
        }
        AuthMethod::Gss if connection == ConnectionType::Local => {
            Some("`gss` does not work on `local` lines")
        }
        _ => None,
    };
    if let Some(m) = misplaced {
        return Err(err(column, m.to_string()));
    }
    let mut options = Vec::new();
    for field in fields.iter().skip(next + 1) {
        for token in &field.tokens {
            if !token.text.contains('=') {
                return Err(err(
                    field.column,
                    format!("option `{}` is not `name=value`", token.text),
                ));
            }
            options.push(token.text.clone());
        }
    }
    Ok(Some(HbaLine {
        connection,
        database: texts(database),
        user: texts(user),
        address,
        method,
        method_column: column,
        options,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<Vec<String>> {
        fields(line)
            .into_iter()
            .map(|f| f.tokens.into_iter().map(|t| t.text).collect())
            .collect()
    }

    #[test]
    fn tokens_follow_postgresql() {
        assert_eq!(
            texts("host \"my db\",b all, app 10.0.0.0/8 md5 # note"),
            vec![
                vec!["host"],
                vec!["my db", "b"],
                vec!["all", "app"],
                vec!["10.0.0.0/8"],
                vec!["md5"]
            ]
        );
        assert_eq!(
            texts("a \"x\"\"y\" b#c d"),
            vec![vec!["a"], vec!["x\"y"], vec!["b"]]
        );
        assert_eq!(texts("a \"b c"), vec![vec!["a"], vec!["b c"]]);
        assert_eq!(texts("a \"\" b"), vec![vec!["a"], vec![""], vec!["b"]]);
        assert!(fields("  # only a comment").is_empty());
        let cols: Vec<usize> = fields("  host  all").iter().map(|f| f.column).collect();
        assert_eq!(cols, vec![3, 9]);
    }

    #[test]
    fn hba_lines_parse() {
        let l = parse_line("host all all 10.0.0.0/8 scram-sha-256", Some(17))
            .unwrap()
            .unwrap();
        assert_eq!(
            l.address.as_ref().map(|a| a.text.as_str()),
            Some("10.0.0.0/8")
        );
        assert_eq!(l.method, AuthMethod::ScramSha256);
        assert!(
            parse_line("host all all 10.0.0.1 255.255.255.255 md5", Some(17))
                .unwrap()
                .is_some()
        );
        assert!(parse_line("local all postgres peer map=x", Some(17))
            .unwrap()
            .is_some());
        assert!(
            parse_line("hostssl \"my db\" all 10.0.0.0/8 cert # note", Some(17))
                .unwrap()
                .is_some()
        );
        assert_eq!(parse_line("  # only a comment", Some(17)).unwrap(), None);
        for bad in [
            "host all all 10.0.0.0/8",
            "hots all all 10.0.0.0/8 md5",
            "host all all 10.0.0.1 md5",
            "host all all 10.0.0.0/8 md4",
            "host all all 10.0.0.0/8 peer",
            "host all all 10.0.0.0/8 ldap ldapserver",
            "host \"all all 10.0.0.0/8 md5",
            "local all",
        ] {
            assert!(parse_line(bad, Some(17)).is_err(), "{bad}");
        }
    }

    #[test]
    fn keywords_are_case_sensitive_and_quotes_make_names() {
        for bad in ["HOST all all 10.0.0.0/8 md5", "host all all 10.0.0.0/8 MD5"] {
            assert!(parse_line(bad, None).is_err(), "{bad}");
        }
        let l = parse_line("\"host\" all all \"all\" \"md5\"", None)
            .unwrap()
            .unwrap();
        assert_eq!(l.method, AuthMethod::Md5);
        assert_eq!(
            l.address.map(|a| a.value),
            Some(Ok(HbaAddress::HostName("all".to_string())))
        );
    }

    #[test]
    fn methods_by_version_and_connection_type() {
        let m = |line: &str, v: Option<u32>| parse_line(line, v).map(|l| l.map(|l| l.method));
        assert!(m("host all all 10.0.0.0/8 oauth", Some(17)).is_err());
        assert_eq!(
            m("host all all 10.0.0.0/8 oauth", Some(18)),
            Ok(Some(AuthMethod::Oauth))
        );
        assert!(m("host all all 10.0.0.0/8 oauth", None).is_ok());
        for bad in [
            "host all all 10.0.0.0/8 sspi",
            "host all all 10.0.0.0/8 bsd",
            "host all all 10.0.0.0/8 cert",
            "local all all gss",
        ] {
            assert!(m(bad, None).is_err(), "{bad}");
        }
        for good in [
            "host all all 10.0.0.0/8 pam",
            "hostssl all all 10.0.0.0/8 cert",
            "hostgssenc all all 10.0.0.0/8 gss",
            "local all all ident",
        ] {
            assert!(m(good, Some(13)).is_ok(), "{good}");
        }
    }

    #[test]
    fn addresses() {
        let addr = |a: &str| {
            parse_line(&format!("host all all {a} md5"), None)
                .map(|l| l.and_then(|l| l.address).map(|a| a.value))
        };
        assert!(matches!(
            addr("db.example.com"),
            Ok(Some(Ok(HbaAddress::HostName(_))))
        ));
        assert!(matches!(
            addr(".example.com"),
            Ok(Some(Ok(HbaAddress::HostName(_))))
        ));
        assert!(matches!(
            addr("::1/128"),
            Ok(Some(Ok(HbaAddress::Cidr { prefix: 128, .. })))
        ));
        assert_eq!(addr("samehost"), Ok(Some(Ok(HbaAddress::SameHost))));
        assert_eq!(addr("samenet"), Ok(Some(Ok(HbaAddress::SameNet))));
        assert_eq!(addr("all"), Ok(Some(Ok(HbaAddress::All))));
        for bad in [
            "10.0.0.0/33",
            "x.x.x.0/0",
            "db.example.com/24",
            "10.0.0.x",
            "a_b",
        ] {
            assert!(matches!(addr(bad), Ok(Some(Err(_)))), "{bad}");
        }
        assert!(addr("10.0.0.1 ::1").is_err(), "mixed families");
        assert!(addr("samehost,samenet").is_err(), "a list");
        let e = parse_line("host all all 10.0.0.1 md5", None).unwrap_err();
        assert_eq!(e.column, 14);
    }

    #[test]
    fn include_directives() {
        assert_eq!(parse_line("include extra.conf", Some(16)), Ok(None));
        assert_eq!(parse_line("include_dir conf.d", None), Ok(None));
        assert!(parse_line("include extra.conf", Some(15)).is_err());
        assert!(parse_line("include_if_exists a b", Some(17)).is_err());
    }
}
