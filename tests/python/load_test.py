#!/usr/bin/python3
"""Loads the `alex` extension into Python's sqlite3 module and uses it.

The extension is found, in this order, at the first argument
(`load_test.py build/alex`), in the environment variable ALEX_EXTENSION
(which ctest sets), or at build/alex under the repository root. The path may
end in `.so` or not, as for `.load` in the sqlite3 shell.

Standard library only (and the sqlite3 shell, for ShellCopyTest); run it
with an interpreter whose sqlite3 module allows loading extensions
(Debian's /usr/bin/python3 does):

    ALEX_EXTENSION=build/alex /usr/bin/python3 tests/python/load_test.py -v

Most checks run each statement on an `alex` table and on the native STRICT
table with the same columns, each called `t` in its own database so that
error messages compare equal, and expect the same answer from both.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

COLUMNS = "ts INTEGER PRIMARY KEY, value REAL, series_id INTEGER NOT NULL, note TEXT"
BASE = 1700000000000000000
SECOND = 1000000000


def extension_path():
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        return os.path.abspath(sys.argv.pop(1))
    if os.environ.get("ALEX_EXTENSION"):
        return os.path.abspath(os.environ["ALEX_EXTENSION"])
    return os.path.join(REPO_ROOT, "build", "alex")


EXTENSION = extension_path()


def connect(database=":memory:"):
    """A connection in autocommit mode (transactions are explicit) with the
    extension loaded."""
    conn = sqlite3.connect(database, isolation_level=None)
    conn.enable_load_extension(True)
    conn.load_extension(EXTENSION)
    conn.enable_load_extension(False)
    return conn


def sample_rows(n, start=0):
    """n readings one second apart, with 0-999 ms of jitter; every 100th has
    a note, and value is a REAL given to sqlite3 as a float."""
    return [
        (BASE + i * SECOND + (i * 7919 % 1000) * 1000000,
         round(15.0 + (i * 2654435761 % 1000003) / 100000.0, 3),
         1 + i % 16,
         "note %d" % i if i % 100 == 0 else None)
        for i in range(start, start + n)
    ]


def key(i):
    return BASE + i * SECOND + (i * 7919 % 1000) * 1000000


class Pair:
    """An alex table and a native STRICT table, both named t, in two
    in-memory databases; `same()` runs a statement on both and compares."""

    def __init__(self, test):
        self.test = test
        self.alex = connect()
        self.native = sqlite3.connect(":memory:", isolation_level=None)
        self.alex.execute("CREATE VIRTUAL TABLE t USING alex(%s)" % COLUMNS)
        self.native.execute("CREATE TABLE t(%s) STRICT" % COLUMNS)

    def close(self):
        self.alex.close()
        self.native.close()

    @staticmethod
    def _run(conn, sql, params, many):
        try:
            cur = conn.executemany(sql, params) if many else conn.execute(sql, params)
            return ("rows", cur.fetchall(), cur.rowcount, conn.execute("SELECT last_insert_rowid()").fetchone()[0])
        except sqlite3.Error as e:
            return ("error", type(e).__name__, str(e))

    def same(self, sql, params=(), many=False):
        """Runs sql on both tables; asserts identical rows (or identical
        exception class and message), rowcount and last_insert_rowid.
        Returns the alex side's result."""
        a = self._run(self.alex, sql, params, many)
        n = self._run(self.native, sql, params, many)
        self.test.assertEqual(a, n, "alex and native differ on: %s" % sql)
        return a

    def rows(self, sql, params=()):
        return self.same(sql, params)[1]

    def contents(self):
        a = self.alex.execute("SELECT * FROM t ORDER BY ts").fetchall()
        n = self.native.execute("SELECT * FROM t ORDER BY ts").fetchall()
        self.test.assertEqual(a, n, "the tables hold different rows")
        return a

    def check(self):
        self.test.assertEqual(self.alex.execute("SELECT alex_check('t')").fetchone()[0], "ok")


def plan(conn, sql, params=()):
    return " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))


class LoadTest(unittest.TestCase):

    def setUp(self):
        self.pair = Pair(self)

    def tearDown(self):
        self.pair.close()

    def test_module_and_function_are_registered(self):
        conn = self.pair.alex
        self.assertEqual(conn.execute("SELECT alex_check('t')").fetchone(), ("ok",))
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
        self.assertIn("t", names)
        self.assertIn("t_meta", names)
        self.assertIn("t_chunks", names)
        # Like rtreecheck(), it reports problems as its result.
        self.assertEqual(conn.execute("SELECT alex_check('no_such_table')").fetchone()[0],
                         "no alex table main.no_such_table: no such table: main.no_such_table")
        with self.assertRaisesRegex(sqlite3.OperationalError, "alex_check: the first argument names an alex table"):
            conn.execute("SELECT alex_check(NULL)").fetchall()

    def test_insert_with_parameters_and_query(self):
        p = self.pair
        rows = sample_rows(5000)
        p.same("BEGIN")
        r = p.same("INSERT INTO t VALUES (?, ?, ?, ?)", rows, many=True)
        self.assertEqual(r[2], 5000)
        p.same("COMMIT")
        self.assertEqual(p.contents(), rows)

        # By key, with a parameter.
        sql = "SELECT * FROM t WHERE ts = ?"
        self.assertIn("eq(ts)", plan(p.alex, sql, (key(1234),)))
        self.assertEqual(p.rows(sql, (key(1234),)), [rows[1234]])
        self.assertEqual(p.rows(sql, (key(1234) + 1,)), [])
        self.assertEqual(p.rows("SELECT value FROM t WHERE rowid = :k", {"k": key(0)}), [(rows[0][1],)])

        # A range, with aggregates.
        sql = "SELECT count(*), sum(value), min(ts), max(ts) FROM t WHERE ts >= ? AND ts < ?"
        self.assertIn("range(ts>=,<)", plan(p.alex, sql, (key(100), key(400))))
        self.assertEqual(p.rows(sql, (key(100), key(400))),
                         [(300, sum(r[1] for r in rows[100:400]), key(100), key(399))])
        sql = "SELECT ts FROM t WHERE ts BETWEEN ? AND ? ORDER BY ts DESC"
        self.assertEqual(p.rows(sql, (key(10), key(20))), [(key(i),) for i in range(20, 9, -1)])
        self.assertEqual(p.rows(sql, (key(20), key(10))), [])

        # IN, with keys that miss and a duplicate.
        keys = [key(4999), key(0), key(77), key(77), key(77) + 1, BASE - 1]
        sql = "SELECT * FROM t WHERE ts IN (%s) ORDER BY ts" % ",".join("?" * len(keys))
        self.assertIn("in(ts)", plan(p.alex, sql, keys))
        self.assertEqual(p.rows(sql, keys), [rows[0], rows[77], rows[4999]])

        # Latest first, and a full scan on a column the key does not cover.
        self.assertEqual(p.rows("SELECT * FROM t ORDER BY ts DESC LIMIT 3"), rows[:-4:-1])
        series5 = [r for r in rows if r[2] == 5]
        self.assertEqual(p.rows("SELECT count(*), count(note) FROM t WHERE series_id = 5"),
                         [(len(series5), sum(r[3] is not None for r in series5))])
        self.assertEqual(len(series5), 313)
        p.check()

    def test_types_and_coercions(self):
        p = self.pair
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", (1, 5, "12", "a"))          # int -> REAL, text -> INTEGER
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", ("2", "2.5", 7.0, 42))      # text key, text -> REAL, 7.0 -> 7, int -> TEXT
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", (3, None, -1, None))
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", (2**63 - 1, 1e308, 2**63 - 1, ""))
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", (-2**63, -0.0, -2**63, "x" * 1000))
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", (4, " 3 ", 1, "x"))
        self.assertEqual(p.rows("SELECT ts, typeof(ts), value, typeof(value), series_id, typeof(series_id),"
                                " typeof(note) FROM t WHERE ts IN (1, 2, 3, 4) ORDER BY ts"),
                         [(1, "integer", 5.0, "real", 12, "integer", "text"),
                          (2, "integer", 2.5, "real", 7, "integer", "text"),
                          (3, "integer", None, "null", -1, "integer", "null"),
                          (4, "integer", 3.0, "real", 1, "integer", "text")])
        self.assertEqual(p.rows("SELECT note FROM t WHERE ts = 2"), [("42",)])
        self.assertEqual(p.rows("SELECT ts, series_id FROM t WHERE ts IN (?, ?) ORDER BY ts", (2**63 - 1, -2**63)),
                         [(-2**63, -2**63), (2**63 - 1, 2**63 - 1)])

        # Keys compared with SQLite's rules: the key has INTEGER affinity, so
        # '1' finds 1 and 'abc' nothing; a REAL finds a key only when integral.
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts = ?", ("1",)), [(1,)])
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts = ?", ("abc",)), [])
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts >= ? ORDER BY ts", ("3",)), [(3,), (4,), (2**63 - 1,)])
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts = ?", (2.0,)), [(2,)])
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts = ?", (2.5,)), [])
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts > ? AND ts < ? ORDER BY ts", (1.5, 3.5)), [(2,), (3,)])
        self.assertEqual(p.rows("SELECT ts FROM t WHERE ts = ?", (None,)), [])

        # Wrong types fail with SQLite's wording, as IntegrityError.
        for params, message in [
            ((10, "abc", 1, None), "cannot store TEXT value in REAL column t.value"),
            ((10, 1.0, "abc", None), "cannot store TEXT value in INTEGER column t.series_id"),
            ((10, 1.0, 1.5, None), "cannot store REAL value in INTEGER column t.series_id"),
            ((10, b"\x00", 1, None), "cannot store BLOB value in REAL column t.value"),
            ((10, 1.0, 1, b"\x01"), "cannot store BLOB value in TEXT column t.note"),
            ((10, 1.0, None, None), "NOT NULL constraint failed: t.series_id"),
        ]:
            with self.subTest(params=params):
                r = p.same("INSERT INTO t VALUES (?, ?, ?, ?)", params)
                self.assertEqual(r, ("error", "IntegrityError", message))
        self.assertEqual(p.same("INSERT INTO t VALUES (?, ?, ?, ?)", ("abc", 1.0, 1, None)),
                         ("error", "IntegrityError", "datatype mismatch"))
        p.contents()
        p.check()

    def test_unique_constraint(self):
        p = self.pair
        rows = sample_rows(10)
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", rows, many=True)
        r = p.same("INSERT INTO t VALUES (?, ?, ?, ?)", rows[3])
        self.assertEqual(r, ("error", "IntegrityError", "UNIQUE constraint failed: t.ts"))
        with self.assertRaisesRegex(sqlite3.IntegrityError, r"^UNIQUE constraint failed: t\.ts$"):
            p.alex.execute("UPDATE t SET ts = ? WHERE ts = ?", (key(5), key(6)))
        self.assertEqual(p.contents(), rows)

        # A statement that fails at its last row leaves nothing behind...
        r = p.same("INSERT INTO t SELECT ts + 1, value, series_id, note FROM t WHERE ts <= ?"
                   " UNION ALL SELECT ?, 1.0, 1, NULL", (key(5), key(0)))
        self.assertEqual(r, ("error", "IntegrityError", "UNIQUE constraint failed: t.ts"))
        r = p.same("UPDATE t SET ts = 5 WHERE ts < ?", (key(3),))
        self.assertEqual(r, ("error", "IntegrityError", "UNIQUE constraint failed: t.ts"))
        self.assertEqual(p.contents(), rows)

        # ...while executemany stops at the failing row, and the rows before
        # it stay (each was its own statement, committed in autocommit mode).
        more = sample_rows(5, start=10) + [rows[0]] + sample_rows(5, start=15)
        r = p.same("INSERT INTO t VALUES (?, ?, ?, ?)", more, many=True)
        self.assertEqual(r, ("error", "IntegrityError", "UNIQUE constraint failed: t.ts"))
        self.assertEqual(p.contents(), rows + more[:5])

        p.same("INSERT OR IGNORE INTO t VALUES (?, ?, ?, ?)", (key(0), 99.0, 99, "ignored"))
        p.same("INSERT OR REPLACE INTO t VALUES (?, ?, ?, ?)", (key(1), 99.0, 99, "replaced"))
        self.assertEqual(p.rows("SELECT note FROM t WHERE ts IN (?, ?) ORDER BY ts", (key(0), key(1))),
                         [("note 0",), ("replaced",)])
        p.contents()
        p.check()

    def test_automatic_keys(self):
        p = self.pair
        r = p.same("INSERT INTO t(value, series_id) VALUES (?, ?)", (1.5, 1))
        self.assertEqual(r[3], 1)  # last_insert_rowid
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", (1000, 2.5, 2, None))
        r = p.same("INSERT INTO t(ts, value, series_id) VALUES (NULL, ?, ?)", (3.5, 3))
        self.assertEqual(r[3], 1001)
        self.assertEqual(p.alex.execute("INSERT INTO t(value, series_id) VALUES (4.5, 4)").lastrowid, 1002)
        p.native.execute("INSERT INTO t(value, series_id) VALUES (4.5, 4)")
        self.assertEqual([r[0] for r in p.contents()], [1, 1000, 1001, 1002])
        p.check()

    def test_rollback_and_savepoints(self):
        p = self.pair
        rows = sample_rows(3000)
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", rows, many=True)
        before = p.contents()

        p.same("BEGIN")
        p.same("DELETE FROM t WHERE ts BETWEEN ? AND ?", (key(1000), key(1999)))
        p.same("UPDATE t SET value = -value, note = 'changed' WHERE series_id = 5")
        p.same("INSERT INTO t VALUES (?, ?, ?, ?)", sample_rows(500, start=5000), many=True)
        self.assertEqual(len(p.contents()), 2500)
        p.same("ROLLBACK")
        self.assertEqual(p.contents(), before)
        p.check()

        p.same("BEGIN")
        p.same("DELETE FROM t WHERE series_id = 1")
        p.same("SAVEPOINT s")
        p.same("UPDATE t SET note = 'in savepoint'")
        p.same("INSERT INTO t(value, series_id) VALUES (1.0, 1)")
        p.same("ROLLBACK TO s")
        p.same("RELEASE s")
        p.same("COMMIT")
        after = p.contents()
        self.assertEqual(after, [r for r in before if r[2] != 1])
        p.check()

        # Python's own transaction handling (isolation_level="" opens one
        # before the INSERT) and Connection.rollback().
        for conn in (p.alex, p.native):
            conn.isolation_level = ""
            conn.execute("INSERT INTO t(value, series_id) VALUES (1.0, 1)")
            self.assertTrue(conn.in_transaction)
            conn.rollback()
            conn.isolation_level = None
        self.assertEqual(p.contents(), after)
        p.check()

    def test_backup_copies_exactly(self):
        p = self.pair
        p.alex.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", sample_rows(3000))
        copy = connect()
        p.alex.backup(copy)
        self.assertEqual(copy.execute("SELECT * FROM t ORDER BY ts").fetchall(),
                         p.alex.execute("SELECT * FROM t ORDER BY ts").fetchall())
        self.assertEqual(copy.execute("SELECT alex_check('t')").fetchone()[0], "ok")
        copy.close()

    # A difference from a native table (README): iterdump() writes the
    # table's rows and then its shadow tables as ordinary tables, whose
    # CREATE fails in the new database, where the table made them already.
    @unittest.expectedFailure
    def test_iterdump_restores(self):
        for conn in (self.pair.native, self.pair.alex):
            conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", sample_rows(100))
            copy = connect()
            copy.executescript("\n".join(conn.iterdump()))
            self.assertEqual(copy.execute("SELECT * FROM t ORDER BY ts").fetchall(),
                             conn.execute("SELECT * FROM t ORDER BY ts").fetchall())
            copy.close()


class FileTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="alex_load_test_")
        self.path = os.path.join(self.dir.name, "readings.db")

    def tearDown(self):
        self.dir.cleanup()

    def test_close_and_reopen(self):
        rows = sample_rows(20000)
        conn = connect(self.path)
        conn.execute("CREATE VIRTUAL TABLE t USING alex(%s)" % COLUMNS)
        with conn:  # a transaction committed on leaving the block
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        conn.execute("BEGIN")
        conn.execute("DELETE FROM t WHERE ts < ?", (key(100),))
        conn.execute("ROLLBACK")
        conn.execute("DELETE FROM t WHERE ts >= ?", (key(19000),))   # committed at once
        self.assertEqual(conn.execute("SELECT alex_check('t')").fetchone()[0], "ok")
        conn.close()

        conn = connect(self.path)
        self.assertEqual(conn.execute("SELECT * FROM t ORDER BY ts").fetchall(), rows[:19000])
        self.assertEqual(conn.execute("SELECT * FROM t WHERE ts = ?", (key(18999),)).fetchall(), [rows[18999]])
        self.assertEqual(conn.execute("SELECT count(*) FROM t WHERE ts >= ? AND ts < ?",
                                      (key(500), key(1500))).fetchone()[0], 1000)
        self.assertEqual(conn.execute("SELECT alex_check('t')").fetchone()[0], "ok")
        self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")

        # A second connection sees what the first commits.
        other = connect(self.path)
        self.assertEqual(other.execute("SELECT count(*) FROM t").fetchone()[0], 19000)
        conn.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (BASE - 1, 0.5, 1, "first"))
        self.assertEqual(other.execute("SELECT note FROM t ORDER BY ts LIMIT 1").fetchone(), ("first",))
        self.assertEqual(other.execute("SELECT count(*) FROM t").fetchone()[0], 19001)
        other.close()
        conn.close()

        # Without the extension the table cannot be read, but the file is a
        # valid SQLite database.
        plain = sqlite3.connect(self.path)
        with self.assertRaisesRegex(sqlite3.OperationalError, "no such module: alex"):
            plain.execute("SELECT * FROM t").fetchall()
        self.assertEqual(plain.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        plain.close()


def shell(database, *commands):
    """Runs the sqlite3 shell on `database` with the extension loaded and
    the commands given as arguments; returns (exit code, stdout + stderr)."""
    program = shutil.which("sqlite3")
    if program is None:
        raise AssertionError("the sqlite3 shell is not installed (apt-get install sqlite3)")
    done = subprocess.run([program, database, ".load " + EXTENSION] + list(commands),
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


class ShellCopyTest(unittest.TestCase):
    """The shell's copies of a database holding an alex table (README)."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="alex_shell_test_")
        self.source = os.path.join(self.dir.name, "source.db")
        conn = connect(self.source)
        conn.execute("CREATE VIRTUAL TABLE t USING alex(%s)" % COLUMNS)
        conn.execute("BEGIN")
        rows = sample_rows(3000)
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        # A history: the saved chunks no longer start at the first row a
        # fresh table would put in them.
        conn.execute("DELETE FROM t WHERE ts < ?", (rows[2000][0],))
        self.rows = conn.execute("SELECT * FROM t ORDER BY ts").fetchall()
        conn.close()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def dump(self, *options):
        code, sql = shell(self.source, " ".join((".dump",) + options))
        self.assertEqual(code, 0, sql)
        with open(self.path("dump.sql"), "w") as f:
            f.write(sql)
        return self.path("dump.sql")

    def assert_copy(self, database):
        """The copy holds the source's rows and passes alex_check, read
        through a new connection."""
        conn = connect(database)
        try:
            self.assertEqual(conn.execute("SELECT * FROM t ORDER BY ts").fetchall(), self.rows)
            self.assertEqual(conn.execute("SELECT alex_check('t')").fetchone()[0], "ok")
        finally:
            conn.close()

    def test_full_dump_restores(self):
        # The dump writes the table into sqlite_schema and its shadow tables
        # as they are; a new connection reads it (the one that replayed the
        # dump does not see the table, as for FTS5: its schema is stale).
        code, out = shell(self.path("copy.db"), ".read " + self.dump())
        self.assertEqual(code, 0, out)
        self.assert_copy(self.path("copy.db"))

    # The differences (README): a --data-only dump inserts the rows into the
    # table the target already has and then its saved chunks into that
    # table's shadow tables, whose chunks they contradict (SQLITE_CORRUPT),
    # and .clone opens the target without the extension.
    @unittest.expectedFailure
    def test_data_only_dump_restores(self):
        target = self.path("copy.db")
        conn = connect(target)
        conn.execute("CREATE VIRTUAL TABLE t USING alex(%s)" % COLUMNS)
        conn.close()
        shell(target, ".read " + self.dump("--data-only"))  # its errors are the chunks' UNIQUE ids
        self.assert_copy(target)

    @unittest.expectedFailure
    def test_clone_copies(self):
        code, out = shell(self.source, ".clone " + self.path("copy.db"))
        self.assertEqual(code, 0, out)
        self.assert_copy(self.path("copy.db"))


def load_module_tests():
    """Fails, rather than skips, when the extension cannot be loaded: a test
    that cannot run has not passed."""
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        sys.exit("%s: this Python's sqlite3 module cannot load extensions; use /usr/bin/python3"
                 % sys.executable)
    try:
        connect().close()
    except sqlite3.Error as e:
        sys.exit("cannot load the extension %r: %s" % (EXTENSION, e))


if __name__ == "__main__":
    load_module_tests()
    unittest.main()
