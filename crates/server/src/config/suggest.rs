//! "Did you mean ...?": the known name nearest to an unknown one, for the messages about
//! unknown sections, options and `PARLEY_` variables.

/// How close a known name is to the unknown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nearness {
    /// The same letters and digits; only case or separators differ (`max_frame_size`,
    /// `transcript-autosave`). Surely meant.
    Same,
    /// A few edits away (`url` for `urls`). Probably meant.
    Near,
}

/// The name among `known` nearest to `unknown`, if it is near enough to be a slip rather
/// than another name: the same once case and separators are ignored, or within a third
/// of the unknown name's length in edits (at least one). On a tie the first one wins, so
/// list names in the order they are declared.
///
/// Names whose lengths differ by more than the limit are never compared (their distance
/// is at least that difference): a huge unknown name costs a pass over its characters,
/// not an edit table as large as it times every known name.
pub(super) fn nearest<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<(&'a str, Nearness)> {
    let unknown = loose_norm(unknown);
    let len = unknown.chars().count();
    let limit = len.max(3) / 3;
    let (name, distance) = known
        .into_iter()
        .filter_map(|name| {
            let norm = loose_norm(name);
            (norm.chars().count().abs_diff(len) <= limit)
                .then(|| (name, edit_distance(&unknown, &norm)))
        })
        .min_by_key(|(_, distance)| *distance)?;
    match distance {
        0 => Some((name, Nearness::Same)),
        d if d <= limit => Some((name, Nearness::Near)),
        _ => None,
    }
}

/// Lower-case letters and digits only: how names are compared for suggestions.
pub(super) fn loose_norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The Levenshtein distance: the fewest one-character insertions, deletions and
/// substitutions that turn `a` into `b`. Written out (one row of the classic table at a
/// time) rather than taken from a crate: it is a dozen lines, and it only ever compares
/// a misspelt name with a few dozen short ones.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // row[j]: the distance between the part of `a` read so far and b[..j].
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            let substitute = diagonal + usize::from(ca != *cb);
            row[j + 1] = substitute.min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_unknown_name_is_answered_at_once() {
        // A key of megabytes used to be compared with each known name in an edit table
        // of its full length: seconds per unknown key.
        let known = ["max-message-size", "transcript-auto-save", "urls"];
        let huge = "max-message-size".repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(nearest(&huge, known), None);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            nearest("max_message_size", known),
            Some(("max-message-size", Nearness::Same))
        );
        assert_eq!(nearest("url", known), Some(("urls", Nearness::Near)));
    }
}
