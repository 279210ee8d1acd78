//! Swedish and English: every enum the team sees has a label in both, and every step
//! of the method has its prompts in both.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::error::Error;

/// A language for labels and templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Lang {
    /// Svenska.
    #[default]
    Sv,
    /// English.
    En,
}

impl FromStr for Lang {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sv" | "sv-se" | "svenska" | "swedish" => Ok(Lang::Sv),
            "en" | "en-gb" | "en-us" | "english" => Ok(Lang::En),
            _ => Err(Error::InvalidInput("language must be sv or en")),
        }
    }
}

/// A text in both languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bilingual {
    pub sv: &'static str,
    pub en: &'static str,
}

impl Bilingual {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Sv => self.sv,
            Lang::En => self.en,
        }
    }
}

/// Declares an enum whose variants have a stable key (stored in documents and the
/// index) and a label in Swedish and English.
macro_rules! labelled_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $key:literal, $sv:literal, $en:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize,
                 autosurgeon::Reconcile, autosurgeon::Hydrate)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $key)] #[autosurgeon(rename = $key)] $variant,)+
        }

        impl $name {
            /// Every variant, in the order the method presents them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable key stored in documents and the index.
            pub fn as_key(self) -> &'static str {
                match self { $($name::$variant => $key,)+ }
            }

            /// The label in both languages.
            pub fn bilingual(self) -> $crate::i18n::Bilingual {
                match self { $($name::$variant => $crate::i18n::Bilingual { sv: $sv, en: $en },)+ }
            }

            /// The label in `lang`.
            pub fn label(self, lang: $crate::i18n::Lang) -> &'static str {
                self.bilingual().get(lang)
            }

            /// Reads a stored key (or an English or Swedish label, case-insensitively).
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| {
                    v.as_key().eq_ignore_ascii_case(s)
                        || v.bilingual().en.eq_ignore_ascii_case(s)
                        || v.bilingual().sv.to_lowercase() == s.to_lowercase()
                })
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or($crate::error::Error::InvalidInput(
                    concat!("unknown ", stringify!($name), "; see --help for the accepted values"),
                ))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_key())
            }
        }
    };
}
pub(crate) use labelled_enum;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NoteKind, Step};

    #[test]
    fn every_label_exists_in_both_languages() {
        for s in Step::ALL {
            assert!(!s.label(Lang::Sv).is_empty() && !s.label(Lang::En).is_empty());
            assert!(!s.prompts().is_empty());
        }
        assert_eq!(Step::Frame.label(Lang::Sv), "Ringa in");
        assert_eq!(NoteKind::parse("citat"), Some(NoteKind::Quote));
        assert_eq!(NoteKind::parse("pain"), Some(NoteKind::Pain));
    }
}
