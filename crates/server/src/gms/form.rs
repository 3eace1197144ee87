//! Decoding GMS v2 request bodies: `application/x-www-form-urlencoded` or
//! `multipart/form-data`, with `userData[<key>]=value` parameters gathered into user
//! data. Bounded in count; the route's body limit bounds the size.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use parley_core::UserData;
use parley_proto::ErrorCode;

use crate::actor::CmdError;

/// Most parameters in one request.
const MAX_PARAMS: usize = 256;

/// A decoded form.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    /// Plain parameters.
    pub fields: BTreeMap<String, String>,
    /// `userData[...]` parameters.
    pub user_data: UserData,
}

impl Form {
    /// A parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, CmdError> {
        self.get(name).ok_or_else(|| {
            CmdError::new(
                ErrorCode::InvalidField,
                format!("missing parameter `{name}`"),
            )
        })
    }

    /// An optional non-negative integer parameter.
    pub fn number(&self, name: &str) -> Result<Option<u64>, CmdError> {
        self.get(name)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim().parse::<u64>().map_err(|_| {
                    CmdError::new(
                        ErrorCode::InvalidField,
                        format!("`{name}` must be a number"),
                    )
                })
            })
            .transpose()
    }

    fn add(&mut self, key: String, value: String) -> Result<(), CmdError> {
        if self.fields.len() + self.user_data.len() >= MAX_PARAMS {
            return Err(CmdError::new(
                ErrorCode::LimitExceeded,
                "too many parameters",
            ));
        }
        match key
            .strip_prefix("userData[")
            .and_then(|k| k.strip_suffix(']'))
        {
            Some(k) if !k.is_empty() => {
                self.user_data.insert(k.to_owned(), value);
            }
            Some(_) => {
                return Err(CmdError::new(
                    ErrorCode::InvalidField,
                    "userData[] needs a key",
                ));
            }
            None => {
                self.fields.insert(key, value);
            }
        }
        Ok(())
    }

    /// Parses an urlencoded body.
    pub fn from_urlencoded(body: &[u8]) -> Result<Form, CmdError> {
        Form::from_pairs(
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
    }

    /// Builds a form from name/value pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Form, CmdError> {
        let mut form = Form::default();
        for (k, v) in pairs {
            form.add(k, v)?;
        }
        Ok(form)
    }

    /// Reads a request body of either kind. Multipart file parts are refused here
    /// (uploads have their own route).
    pub async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Form, CmdError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            let mut mp = Multipart::from_request(req, state)
                .await
                .map_err(|e| CmdError::new(ErrorCode::InvalidField, e.to_string()))?;
            let mut form = Form::default();
            while let Some(field) = mp
                .next_field()
                .await
                .map_err(|e| CmdError::new(ErrorCode::InvalidField, e.to_string()))?
            {
                let name = field.name().unwrap_or_default().to_owned();
                if field.file_name().is_some() {
                    return Err(CmdError::new(
                        ErrorCode::InvalidField,
                        "files go to the /file operation",
                    ));
                }
                let value = field
                    .text()
                    .await
                    .map_err(|e| CmdError::new(ErrorCode::InvalidField, e.to_string()))?;
                form.add(name, value)?;
            }
            Ok(form)
        } else {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| CmdError::new(ErrorCode::FrameTooLarge, e.to_string()))?;
            Form::from_urlencoded(&body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_brackets_are_gathered_and_plain_fields_kept() {
        let f = Form::from_urlencoded(
            b"nickname=Pat&userData%5BEmailAddress%5D=p%40x.io&userData[TimeZone]=-480&subject=Hi+there",
        )
        .unwrap();
        assert_eq!(f.get("nickname"), Some("Pat"));
        assert_eq!(f.get("subject"), Some("Hi there"));
        assert_eq!(
            f.user_data.get("EmailAddress").map(String::as_str),
            Some("p@x.io")
        );
        assert_eq!(
            f.user_data.get("TimeZone").map(String::as_str),
            Some("-480")
        );
    }

    #[test]
    fn bad_forms_are_refused() {
        assert_eq!(
            Form::from_urlencoded(b"userData[]=x").unwrap_err().code,
            ErrorCode::InvalidField
        );
        let many: String = (0..300).map(|i| format!("k{i}=v&")).collect();
        assert_eq!(
            Form::from_urlencoded(many.as_bytes()).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
        let f = Form::from_urlencoded(b"transcriptPosition=abc").unwrap();
        assert_eq!(
            f.number("transcriptPosition").unwrap_err().code,
            ErrorCode::InvalidField
        );
    }
}
