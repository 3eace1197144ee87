//! Specs: the syntax, and what each replaces.

use super::super::{mask_digits, Replaced, Spec};

fn apply(spec: Spec, span: &str) -> String {
    let mut out = String::new();
    spec.apply(span, '#', &mut out);
    out
}

#[test]
fn specs_parse_and_print_canonically() {
    for (text, spec, canonical) in [
        ("all", Spec::All, "all"),
        ("digits", Spec::DIGITS, "digits"),
        (
            "digits,keep-last=4",
            Spec::Digits { keep_last: 4 },
            "digits,keep-last=4",
        ),
        (
            " digits , keep-last = 32 ",
            Spec::Digits { keep_last: 32 },
            "digits,keep-last=32",
        ),
        ("digits,keep-last=0", Spec::DIGITS, "digits"),
    ] {
        assert_eq!(text.parse::<Spec>(), Ok(spec), "{text}");
        assert_eq!(spec.to_string(), canonical);
        assert_eq!(canonical.parse::<Spec>(), Ok(spec));
    }
    for bad in [
        "",
        "ALL",
        "everything",
        "all,keep-last=4",
        "digits,keep-last=33",
        "digits,keep-last=",
        "digits,keep-last=-1",
        "digits,keep-last=+4",
        "digits,keep=4",
        "digits,keep-last=4,x",
        "digits,",
    ] {
        let err = bad.parse::<Spec>().expect_err(bad);
        assert!(err.to_string().contains("keep-last=N"), "{err}");
    }
}

#[test]
fn specs_replace_what_they_say_and_keep_the_length() {
    assert_eq!(apply(Spec::All, "4111-1111 x"), "###########");
    assert_eq!(apply(Spec::DIGITS, "4111-1111 x"), "####-#### x");
    assert_eq!(
        apply(Spec::Digits { keep_last: 4 }, "4111-2222-3333-4444"),
        "####-####-####-4444"
    );
    assert_eq!(apply(Spec::Digits { keep_last: 3 }, "12-34"), "#2-34");
    assert_eq!(apply(Spec::Digits { keep_last: 9 }, "12-34"), "12-34");
    // Every numeric character is a digit: Arabic-Indic, full-width.
    assert_eq!(apply(Spec::DIGITS, "٣٤-１２"), "##-##");
    assert_eq!(Spec::All.replaced(), Replaced::All);
    assert_eq!(Spec::Digits { keep_last: 4 }.replaced().as_str(), "digits");
}

#[test]
fn typing_previews_lose_every_digit() {
    assert_eq!(mask_digits("card 4111 11", '*'), "card **** **");
    assert_eq!(mask_digits("١٢ ok", 'x'), "xx ok");
    assert!(matches!(
        mask_digits("no digits", '*'),
        std::borrow::Cow::Borrowed(_)
    ));
}
