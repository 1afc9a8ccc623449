-- sql/demo.sql: one million sensor readings in an `alex` table and in the
-- native STRICT table with the same columns, the same queries on both, timed.
--
-- Run from the repository root (`make demo` does exactly this):
--
--   sqlite3 :memory: -cmd '.load ./build/alex' < sql/demo.sql
--
-- The script does not load the extension itself, so that the build folder
-- is chosen by whoever runs it. Every result row starts with the table it
-- came from; the two rows of each pair must agree.

.headers on
.mode column
.nullvalue NULL

.print '== alex demo: 1,000,000 sensor readings =='
.print ''

-- The same table twice: the virtual table indexed by ALEX, and the native
-- STRICT table whose behaviour it copies.
CREATE VIRTUAL TABLE readings USING alex(
  ts INTEGER PRIMARY KEY,      -- nanoseconds since the epoch; the ALEX key
  value REAL,
  series_id INTEGER NOT NULL,
  note TEXT
);
CREATE TABLE readings_native(
  ts INTEGER PRIMARY KEY,
  value REAL,
  series_id INTEGER NOT NULL,
  note TEXT
) STRICT;

-- One reading a second from 2023-11-14 22:13:20 UTC, each late by a
-- deterministic 0-999 ms (so timestamps stay strictly increasing), 16 series
-- taking turns, a pseudo-random value between 15 and 33, and a note on one
-- reading in a thousand. Both tables are filled from this one definition.
CREATE TEMP VIEW feed AS
SELECT 1700000000000000000 + value * 1000000000
         + ((value * 7919) % 1000) * 1000000                 AS ts,
       round(15.0 + (value % 16) * 0.5
             + ((value * 2654435761) % 1000003) / 100000.0, 3) AS value,
       1 + value % 16                                         AS series_id,
       CASE WHEN value % 1000 = 999 THEN 'calibrated'
            WHEN value % 250000 = 0 THEN 'sensor restart' END AS note
FROM generate_series(0, 999999);

.print '-- load: one transaction each; the INSERT ... SELECT of 1M rows, then the COMMIT'
.print '   (alex writes its shadow tables at COMMIT)'
.print 'alex:'
BEGIN;
.timer on
INSERT INTO readings(ts, value, series_id, note) SELECT ts, value, series_id, note FROM feed;
COMMIT;
.timer off
.print 'native:'
BEGIN;
.timer on
INSERT INTO readings_native(ts, value, series_id, note) SELECT ts, value, series_id, note FROM feed;
COMMIT;
.timer off

-------------------------------------------------------------------------------
.print ''
.print '-- 1. point query: ts = 1700500000000000000'
EXPLAIN QUERY PLAN
SELECT * FROM readings WHERE ts = 1700500000000000000;
.timer on
SELECT 'alex' AS tbl, * FROM readings WHERE ts = 1700500000000000000;
SELECT 'native' AS tbl, * FROM readings_native WHERE ts = 1700500000000000000;
.timer off
.print ''
.print 'one lookup is too quick to time; 100,000 of them (every 10th reading, by a join on the key):'
EXPLAIN QUERY PLAN
SELECT count(*), sum(r.value)
FROM generate_series(0, 999999, 10) AS g
JOIN readings AS r
  ON r.ts = 1700000000000000000 + g.value * 1000000000 + ((g.value * 7919) % 1000) * 1000000;
.timer on
SELECT 'alex' AS tbl, count(*) AS found, round(sum(r.value), 3) AS sum_value
FROM generate_series(0, 999999, 10) AS g
JOIN readings AS r
  ON r.ts = 1700000000000000000 + g.value * 1000000000 + ((g.value * 7919) % 1000) * 1000000;
SELECT 'native' AS tbl, count(*) AS found, round(sum(r.value), 3) AS sum_value
FROM generate_series(0, 999999, 10) AS g
JOIN readings_native AS r
  ON r.ts = 1700000000000000000 + g.value * 1000000000 + ((g.value * 7919) % 1000) * 1000000;
.timer off

-------------------------------------------------------------------------------
.print ''
.print '-- 2. range with aggregates: one hour (3,600 readings)'
EXPLAIN QUERY PLAN
SELECT count(*), avg(value), min(value), max(value), min(ts), max(ts)
FROM readings
WHERE ts >= 1700360000000000000 AND ts < 1700363600000000000;
.timer on
SELECT 'alex' AS tbl, count(*) AS n, round(avg(value), 6) AS avg_value,
       min(value) AS min_value, max(value) AS max_value,
       min(ts) AS first_ts, max(ts) AS last_ts
FROM readings
WHERE ts >= 1700360000000000000 AND ts < 1700363600000000000;
SELECT 'native' AS tbl, count(*) AS n, round(avg(value), 6) AS avg_value,
       min(value) AS min_value, max(value) AS max_value,
       min(ts) AS first_ts, max(ts) AS last_ts
FROM readings_native
WHERE ts >= 1700360000000000000 AND ts < 1700363600000000000;
.timer off
.print ''
.print 'the same hour, series 1-4 (BETWEEN on the key; series_id is left to SQLite):'
EXPLAIN QUERY PLAN
SELECT series_id, count(*), avg(value)
FROM readings
WHERE ts BETWEEN 1700360000000000000 AND 1700363599999999999 AND series_id <= 4
GROUP BY series_id;
.timer on
SELECT 'alex' AS tbl, series_id, count(*) AS n, round(avg(value), 4) AS avg_value
FROM readings
WHERE ts BETWEEN 1700360000000000000 AND 1700363599999999999 AND series_id <= 4
GROUP BY series_id;
SELECT 'native' AS tbl, series_id, count(*) AS n, round(avg(value), 4) AS avg_value
FROM readings_native
WHERE ts BETWEEN 1700360000000000000 AND 1700363599999999999 AND series_id <= 4
GROUP BY series_id;
.timer off

-------------------------------------------------------------------------------
.print ''
.print '-- 3. IN with six keys (1700000001000000000 has no row)'
EXPLAIN QUERY PLAN
SELECT * FROM readings
WHERE ts IN (1700000001919000000, 1700123456064000000, 1700654321999000000,
             1700777777063000000, 1700999999081000000, 1700000001000000000);
.timer on
SELECT 'alex' AS tbl, * FROM readings
WHERE ts IN (1700000001919000000, 1700123456064000000, 1700654321999000000,
             1700777777063000000, 1700999999081000000, 1700000001000000000)
ORDER BY ts;
SELECT 'native' AS tbl, * FROM readings_native
WHERE ts IN (1700000001919000000, 1700123456064000000, 1700654321999000000,
             1700777777063000000, 1700999999081000000, 1700000001000000000)
ORDER BY ts;
.timer off

-------------------------------------------------------------------------------
.print ''
.print '-- 4. the latest five readings: ORDER BY ts DESC LIMIT 5'
EXPLAIN QUERY PLAN
SELECT * FROM readings ORDER BY ts DESC LIMIT 5;
.timer on
SELECT 'alex' AS tbl, * FROM readings ORDER BY ts DESC LIMIT 5;
SELECT 'native' AS tbl, * FROM readings_native ORDER BY ts DESC LIMIT 5;
.timer off

-------------------------------------------------------------------------------
.print ''
.print '-- 5. full scans: count(*), and count(note) (a column the key does not help with)'
EXPLAIN QUERY PLAN
SELECT count(*) FROM readings;
.timer on
SELECT 'alex' AS tbl, count(*) AS n FROM readings;
SELECT 'native' AS tbl, count(*) AS n FROM readings_native;
SELECT 'alex' AS tbl, count(note) AS notes, sum(note = 'sensor restart') AS restarts FROM readings;
SELECT 'native' AS tbl, count(note) AS notes, sum(note = 'sensor restart') AS restarts FROM readings_native;
.timer off

-------------------------------------------------------------------------------
-- The last two steps are also the demo's assertions: a CHECK constraint on a
-- TEMP table fails (and `sqlite3 -bail` exits non-zero) unless the tables
-- hold the same rows and alex_check says 'ok'.
.print ''
.print '-- 6. every row, both ways: rows in one table and not in the other (0 and 0)'
CREATE TEMP TABLE agreement(
  only_in_alex INTEGER CHECK (only_in_alex = 0),
  only_in_native INTEGER CHECK (only_in_native = 0)
);
.timer on
INSERT INTO agreement
SELECT (SELECT count(*) FROM (SELECT * FROM readings EXCEPT SELECT * FROM readings_native)),
       (SELECT count(*) FROM (SELECT * FROM readings_native EXCEPT SELECT * FROM readings));
.timer off
SELECT * FROM agreement;

.print ''
.print '-- 7. alex_check: the index, the store and the shadow tables agree'
CREATE TEMP TABLE integrity AS SELECT alex_check('readings') AS alex_check;
SELECT * FROM integrity;
CREATE TEMP TABLE verdict(alex_check TEXT CHECK (alex_check = 'ok'));
INSERT INTO verdict SELECT alex_check FROM integrity;
