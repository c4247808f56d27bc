//! Which PostgreSQL types map to which `value` case, and their display names.

use std::collections::HashMap;

/// Declares [`ScalarKind`] and [`ScalarKind::ALL`] from one list of its cases.
macro_rules! scalar_kinds {
    ($($kind:ident),+ $(,)?) => {
        /// How a column's text form (pgoutput sends text unless asked for binary) becomes a
        /// typed value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ScalarKind {
            $($kind),+
        }

        impl ScalarKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ScalarKind] = &[$(ScalarKind::$kind),+];
        }
    };
}

scalar_kinds!(
    Int,
    Float,
    Bool,
    Numeric,
    Text,
    Bytea,
    Json,
    Timestamptz,
    Timestamp,
    Date,
    Time,
    Uuid,
    Other,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar(ScalarKind),
    /// A one-dimensional array literal of this element kind.
    Array(ScalarKind),
}

#[derive(Debug, Clone)]
pub struct TypeInfo {
    /// As `format_type(oid, NULL)` prints it.
    pub name: String,
    pub kind: Kind,
}

/// Type OIDs → names and kinds. Built-in types are known without asking the server; anything else
/// (extensions, enums, domains, types created later) is learnt from the catalog or from pgoutput's
/// Type messages.
#[derive(Debug, Clone)]
pub struct TypeRegistry {
    types: HashMap<u32, TypeInfo>,
}

const SCALARS: &[(u32, &str, ScalarKind)] = {
    use ScalarKind::*;
    &[
        (16, "boolean", Bool),
        (17, "bytea", Bytea),
        (18, "\"char\"", Text),
        (19, "name", Text),
        (20, "bigint", Int),
        (21, "smallint", Int),
        (23, "integer", Int),
        (25, "text", Text),
        (26, "oid", Int),
        (114, "json", Json),
        (700, "real", Float),
        (701, "double precision", Float),
        (1042, "character", Text),
        (1043, "character varying", Text),
        (1082, "date", Date),
        (1083, "time without time zone", Time),
        (1114, "timestamp without time zone", Timestamp),
        (1184, "timestamp with time zone", Timestamptz),
        (1700, "numeric", Numeric),
        (2950, "uuid", Uuid),
        (3802, "jsonb", Json),
    ]
};

/// Array type OID → element type OID, for the built-in element types above.
const ARRAYS: &[(u32, u32)] = &[
    (1000, 16),
    (1001, 17),
    (1002, 18),
    (1003, 19),
    (1016, 20),
    (1005, 21),
    (1007, 23),
    (1009, 25),
    (1028, 26),
    (199, 114),
    (1021, 700),
    (1022, 701),
    (1014, 1042),
    (1015, 1043),
    (1182, 1082),
    (1183, 1083),
    (1115, 1114),
    (1185, 1184),
    (1231, 1700),
    (2951, 2950),
    (3807, 3802),
];

impl Default for TypeRegistry {
    fn default() -> Self {
        let mut types = HashMap::new();
        for &(oid, name, kind) in SCALARS {
            types.insert(
                oid,
                TypeInfo {
                    name: name.to_string(),
                    kind: Kind::Scalar(kind),
                },
            );
        }
        for &(oid, elem) in ARRAYS {
            let (name, kind) = SCALARS
                .iter()
                .find(|s| s.0 == elem)
                .map(|s| (s.1, s.2))
                .unwrap_or(("unknown", ScalarKind::Other));
            types.insert(
                oid,
                TypeInfo {
                    name: format!("{name}[]"),
                    kind: Kind::Array(kind),
                },
            );
        }
        TypeRegistry { types }
    }
}

impl TypeRegistry {
    pub fn get(&self, oid: u32) -> Option<&TypeInfo> {
        self.types.get(&oid)
    }

    pub fn contains(&self, oid: u32) -> bool {
        self.types.contains_key(&oid)
    }

    /// Learns a type from the catalog: `base` is the domain's base type (0 if not a domain) and
    /// `elem` the array element type (0 if not an array). Domains and arrays of known types keep
    /// their typed mapping; everything else is carried as text.
    pub fn learn(&mut self, oid: u32, name: String, base: u32, elem: u32) {
        let kind = if let Some(base) = self.types.get(&base) {
            base.kind
        } else if let Some(Kind::Scalar(k)) = self.types.get(&elem).map(|t| t.kind) {
            Kind::Array(k)
        } else {
            Kind::Scalar(ScalarKind::Other)
        };
        self.types.entry(oid).or_insert(TypeInfo { name, kind });
    }

    /// Learns a name from a pgoutput Type message (sent for non-built-in types), which does not
    /// say how to parse the type, so it is carried as text.
    pub fn learn_name(&mut self, oid: u32, namespace: &str, name: &str) {
        let name = if namespace == "public" || namespace == "pg_catalog" {
            name.to_string()
        } else {
            format!("{namespace}.{name}")
        };
        self.types.entry(oid).or_insert(TypeInfo {
            name,
            kind: Kind::Scalar(ScalarKind::Other),
        });
    }

    pub fn info(&self, oid: u32) -> TypeInfo {
        self.types.get(&oid).cloned().unwrap_or(TypeInfo {
            name: format!("oid {oid}"),
            kind: Kind::Scalar(ScalarKind::Other),
        })
    }
}
