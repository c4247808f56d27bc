-- Seed capture for the fuzz corpora (see fuzz/README.md). Run against a throwaway PostgreSQL 15
-- cluster started with wal_level=logical, then for each TimeZone in UTC, Europe/Amsterdam and
-- Asia/Kolkata (output functions run in the decoding session, so timestamptz text follows it):
--   SET TimeZone = '<tz>'; SET DateStyle = 'ISO'; SET bytea_output = 'hex';
--   SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('s1', NULL, NULL,
--     'proto_version', '1', 'publication_names', 'pub');
-- into alltypes_v1_<tz>.hex (one message body per line).
CREATE TYPE mood AS ENUM ('sad','happy');
CREATE TABLE alltypes (
  id int primary key, b boolean, by bytea, ch "char", nm name, i8 bigint, i2 smallint, t text, o oid,
  j json, r real, d double precision, c character(3), vc varchar, dt date, tm time, ts timestamp,
  tstz timestamptz, n numeric, u uuid, jb jsonb, m mood,
  ab boolean[], aby bytea[], ach "char"[], anm name[], ai8 bigint[], ai2 smallint[], ai4 int[], at text[],
  ao oid[], aj json[], ar real[], ad double precision[], ac character(3)[], avc varchar[], adt date[],
  atm time[], ats timestamp[], atstz timestamptz[], an numeric[], au uuid[], ajb jsonb[], am mood[], ai2d int[]
);
SELECT pg_create_logical_replication_slot('s1', 'pgoutput');
CREATE PUBLICATION pub FOR ALL TABLES;
SET TimeZone = 'UTC'; SET DateStyle = 'ISO';
INSERT INTO alltypes VALUES (1, true, '\x00ff10', 'x', 'nm', 9223372036854775807, -32768, E'tab\there "q" \\ back', 4294967295,
 '{"a":[1,2,{"b":null}]}', 'NaN', '-Infinity', 'ab', 'v,c', '2026-11-24', '24:00:00', '2026-11-24 10:15:30.123456',
 '2026-11-24 10:15:30.5+05:30', '-12345678901234567890.000000001', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"z": 1, "a": "\u00e9"}', 'happy',
 '{t,f,NULL}', '{"\\x00ff",NULL}', '{a,",","\\\\"}', '{"NULL",null,"a b"}', '{-9223372036854775808,0}', '{1,2}', '{}', '{"a,b","c\"d","",NULL," x ","{}"}',
 '{0,4294967295}', '{"{\"k\": [1, \"x\"]}","null"}', '{Infinity,-0,1.5e-45}', '{NaN,3.141592653589793}', '{ab,"a c"}', '{"",é}', '{2000-02-29,infinity,-infinity}',
 '{00:00:00,23:59:59.999999}', '{"2000-01-01 00:00:00","294276-12-31 23:59:59.999999"}', '{"1970-01-01 00:00:00+00",infinity}', '{NaN,Infinity,-1e-1000}',
 '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{"[]","{}"}', '{sad,happy}', '{{1,2},{3,4}}');
INSERT INTO alltypes (id, dt, ts, tstz, tm, ai4) VALUES (2, '4713-01-01 BC', '0044-03-15 12:00:00 BC', 'infinity', '00:00:00.000001', '[0:1]={5,6}');
INSERT INTO alltypes (id, dt, ts, tstz, ai4, at) VALUES (3, '5874897-12-31', '294276-12-31 23:59:59.999999', '-infinity', '{NULL}', '{"\"","\\",NULL}');
SET TimeZone = 'Europe/Amsterdam';
INSERT INTO alltypes (id, tstz, atstz) VALUES (4, '1850-06-01 12:00:00+00', '{"1850-06-01 12:00:00+00","2026-07-01 00:00:00+00"}');
SET TimeZone = 'America/St_Johns';
INSERT INTO alltypes (id, tstz) VALUES (5, '2026-01-01 00:00:00+00');
SET TimeZone = 'UTC';
UPDATE alltypes SET t = 'changed', n = 'NaN' WHERE id = 1;
DELETE FROM alltypes WHERE id = 2;
TRUNCATE alltypes;
