//! Mirrors one of core's enums for the FFI, with conversions both ways. The matches
//! are exhaustive, so a variant added in core does not compile here until the
//! bindings decide how it crosses.

macro_rules! mirror_enum {
    (
        $(#[$doc:meta])*
        $name:ident = $core:path {
            $($(#[$vdoc:meta])* $variant:ident),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        const _: () = {
            type Core = $core;

            impl From<Core> for $name {
                fn from(v: Core) -> Self {
                    match v {
                        $(Core::$variant => $name::$variant),+
                    }
                }
            }

            impl From<$name> for Core {
                fn from(v: $name) -> Self {
                    match v {
                        $($name::$variant => Core::$variant),+
                    }
                }
            }
        };
    };
}

pub(crate) use mirror_enum;
