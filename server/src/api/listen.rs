//! `backend.listen`: `":7007"`, `"host:port"`, `"7007"` or `{host, port}`; default `0.0.0.0:7007`.

use serde_json::Value;
use stagedoor_core::config::Config;
use stagedoor_core::PortalError;

pub const DEFAULT_PORT: u16 = 7007;
const DEFAULT_HOST: &str = "0.0.0.0";

fn bad(detail: &str) -> PortalError {
    PortalError::Input(format!("Invalid backend.listen: {detail}"))
}

fn port(value: &Value) -> Result<u16, PortalError> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| bad(&format!("port {n} out of range"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| bad(&format!("port '{s}' is not a number"))),
        _ => Err(bad("port must be a number")),
    }
}

/// The `host:port` string to bind.
pub fn listen_address(config: &Config) -> Result<String, PortalError> {
    let (host, port) = match config.get("backend.listen") {
        None | Some(Value::Null) => (DEFAULT_HOST.to_string(), DEFAULT_PORT),
        Some(Value::Number(n)) => (DEFAULT_HOST.to_string(), port(&Value::Number(n.clone()))?),
        Some(Value::String(s)) => match s.rsplit_once(':') {
            Some((host, p)) => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let host = if host.is_empty() { DEFAULT_HOST } else { host };
                (host.to_string(), port(&Value::String(p.to_string()))?)
            }
            None => (DEFAULT_HOST.to_string(), port(&Value::String(s.clone()))?),
        },
        Some(Value::Object(map)) => {
            let host = match map.get("host") {
                None | Some(Value::Null) => DEFAULT_HOST.to_string(),
                Some(Value::String(h)) => h.clone(),
                Some(_) => return Err(bad("host must be a string")),
            };
            let port = match map.get("port") {
                None | Some(Value::Null) => DEFAULT_PORT,
                Some(p) => port(p)?,
            };
            (host, port)
        }
        Some(_) => return Err(bad("expected a string or {host, port}")),
    };
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn addr(listen: Value) -> Result<String, PortalError> {
        listen_address(&Config::from_value(
            json!({"backend": {"listen": listen}}),
            ".".into(),
        ))
    }

    #[test]
    fn forms() {
        assert_eq!(addr(Value::Null).unwrap(), "0.0.0.0:7007");
        assert_eq!(addr(json!(":7008")).unwrap(), "0.0.0.0:7008");
        assert_eq!(addr(json!("127.0.0.1:80")).unwrap(), "127.0.0.1:80");
        assert_eq!(addr(json!("9000")).unwrap(), "0.0.0.0:9000");
        assert_eq!(addr(json!({"host": "::1", "port": 1})).unwrap(), "[::1]:1");
        assert_eq!(addr(json!({"port": "7010"})).unwrap(), "0.0.0.0:7010");
        assert!(addr(json!(":x")).is_err());
        assert!(addr(json!({"port": 70000})).is_err());
        assert!(addr(json!([1])).is_err());
    }
}
