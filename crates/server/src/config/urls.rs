//! The syntax of the URLs in the configuration that `validate.rs` checks by hand: CORS
//! origins (`[web] cors-allowed-origins`) and webhook targets (`[webhooks] urls`).

/// `Ok` for `*` and `http(s)://host[:port]`; otherwise what is wrong.
pub(super) fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin == "*" {
        return Ok(());
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err("has no scheme");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("is not http or https");
    }
    // Browsers send the origin serialized: lower case, without the scheme's default port.
    // An entry in another form would never match.
    if origin.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("has upper-case letters (browsers send origins in lower case)");
    }
    if rest.contains(['/', '?', '#']) {
        return Err("has a path (an origin ends after the host and port, without `/`)");
    }
    if rest.contains('@') {
        return Err("has user information");
    }
    if let Some(number) = host_and_port(rest)? {
        if (scheme, number) == ("http", 80) || (scheme, number) == ("https", 443) {
            return Err("has its scheme's default port (browsers leave it out of the origin)");
        }
    }
    Ok(())
}

/// Checks `host[:port]` (a DNS name or IPv4 address, or `[IPv6]`); returns the port, if
/// one is given, or what is wrong.
fn host_and_port(authority: &str) -> Result<Option<u16>, &'static str> {
    let port = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err("has an unclosed IPv6 address");
        };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err("has an invalid IPv6 address");
        }
        if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':').ok_or("has an invalid port")?)
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err("has no host");
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err("has an invalid host");
        }
        port
    };
    let Some(port) = port else {
        return Ok(None);
    };
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0 && port.chars().all(|c| c.is_ascii_digit()))
        .map(Some)
        .ok_or("has an invalid port")
}

/// `Ok` for `http(s)://host[:port][/path][?query]` without user information; otherwise
/// what is wrong.
pub(super) fn check_webhook_url(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has spaces or control characters");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("has no scheme");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("is not http or https");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("has user information (the secret signs requests; URLs carry none)");
    }
    host_and_port(authority).map(drop)
}
