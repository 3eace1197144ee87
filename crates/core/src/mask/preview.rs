//! Typing previews: the seed masks *all digits* of a preview with `default-repchar`,
//! whatever the rules, since a preview is a number half typed that no rule recognises
//! yet.

use std::borrow::Cow;

/// `text` with every digit (every character Unicode calls numeric) replaced by
/// `repchar`; borrowed when there is none.
pub fn mask_digits(text: &str, repchar: char) -> Cow<'_, str> {
    if !text.chars().any(char::is_numeric) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if c.is_numeric() { repchar } else { c })
            .collect(),
    )
}
