//! The end-to-end type list: one table with a column of every type the JSON format documents,
//! and one row of values for it, shared by the streaming test (tests/changes.rs) and the
//! snapshot test (tests/snapshot_values.rs), so that both cover the same values.

/// `CREATE TABLE all_types (id int PRIMARY KEY, c_… )`.
pub const ALL_TYPES_DDL: &str = "CREATE TABLE all_types (
            id int PRIMARY KEY,
            c_smallint smallint, c_int integer, c_bigint bigint, c_oid oid,
            c_real real, c_double double precision, c_double_neg double precision,
            c_nan double precision, c_inf double precision, c_ninf real,
            c_numeric numeric, c_numeric_nan numeric, c_numeric_tiny numeric,
            c_bool_t boolean, c_bool_f boolean,
            c_text text, c_varchar varchar(10), c_char char(5), c_name name,
            c_json json, c_jsonb jsonb, c_jsonb_str jsonb,
            c_tstz timestamptz, c_ts timestamp, c_date date, c_time time,
            c_uuid uuid, c_bytea bytea,
            c_int_arr int[], c_text_arr text[], c_num_arr numeric[],
            c_interval interval, c_inet inet, c_int_arr2 int[], c_tstz_inf timestamptz,
            c_date_bc date, c_ts_bc timestamp, c_tstz_bc timestamptz, c_date_bc_arr date[],
            c_null text
        )";

/// The values of every column but `id`, in order (SQL, to follow `VALUES (<id>, `).
pub const ALL_TYPES_VALUES: &str = r#"            32767, -2147483648, 9007199254740993, 4294967295,
            1.5, 1234.5678901234567, -0.25,
            'NaN', 'Infinity', '-Infinity',
            '12345.678900', 'NaN', '-0.000000000000000000001234567890123456789',
            true, false,
            E'h\u00e9llo "w\u00f6rld"\nsecond line\ttab \u2713', 'abc', 'ab', 'a_name',
            '{"a": [1, 2, {"b": null}]}', '{"k": "v", "n": 1.5, "arr": [true, null]}',
            '"just a string"',
            '2026-11-24 05:15:30.123456', '2026-11-24 10:15:30.123456', '2026-11-24',
            '10:15:30.123456',
            'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\xdeadbeef00ff',
            '{1,2,3}', ARRAY['a', NULL, 'c "q"', ''], '{1.50,-2}',
            '1 day 02:03:04', '192.168.0.1/24', '{{1,2},{3,4}}', 'infinity',
            '0044-03-15 BC', '0044-03-15 12:30:00.5 BC', '4714-11-24 00:00:00+00 BC',
            ARRAY['0044-03-15 BC', '4714-11-24 BC', NULL, '2026-11-24']::date[],
            NULL"#;
