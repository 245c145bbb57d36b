"""The student table rebuilt as a PostgreSQL table partitioned by province code (issue 15, point 10;
docs/deploy.md "全国规模"). The same steps a migration variant for a national database would run.

Why a `province_code` column and not LIST partitioning on substr(scope_path, 2, 2): PostgreSQL
allows no primary key or unique constraint on a table partitioned by an expression, and without a
unique key nothing can reference student(id). A generated column cannot be a partition key either,
and a BEFORE trigger runs after a row has been routed, so it cannot choose the partition. The
column's DEFAULT therefore comes from the connection: `current_setting('xueji.province_code')`, set
once per province deployment (`ALTER ROLE … SET`, or `?options=-c xueji.province_code=21` in
DATABASE_URL). The application does not know the column exists; a CHECK keeps it equal to the
province in scope_path, so a row can never sit in another province's partition.

The unique keys carry the partition key: (id, province_code), (xjh, province_code),
(id_number, province_code). Each table that references student gets the same column and its foreign
key becomes (student_id, province_code) → student(id, province_code): PostgreSQL 15 accepts a
foreign key to a partitioned table when the referenced key includes the partition key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.engine import Connection

SETTING = "xueji.province_code"
DEFAULT = f"current_setting('{SETTING}')"
# The province of a row, from its scope path "/21/2101/210102/<school>/" (GB/T 2260: two digits).
FROM_PATH = "substr(scope_path, 2, 2)"
# Unique keys of the flat table → the same key plus the partition key.
UNIQUE_KEYS = {"pk_student": "PRIMARY KEY (id, province_code)",
               "uq_student_xjh": "UNIQUE (xjh, province_code)",
               "uq_student_id_number": "UNIQUE (id_number, province_code)"}


def _rows(conn: Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.exec_driver_sql(sql)]


def partition_student(conn: Connection, provinces: Sequence[str]) -> None:
    """Replace `student` by a table LIST-partitioned on province_code: one partition per province
    in `provinces`, plus a default partition. Keeps every row, index, constraint and reference."""
    incoming = _rows(conn, "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE contype = 'f' AND confrelid = 'student'::regclass ORDER BY conname")
    outgoing = _rows(conn, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE contype IN ('f', 'c') AND conrelid = 'student'::regclass ORDER BY conname")
    indexes = _rows(conn, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'student' "
                          "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'student'::regclass)")
    unknown = {n for n, in _rows(conn, "SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u') "
                                       "AND conrelid = 'student'::regclass")} - set(UNIQUE_KEYS)
    assert not unknown, f"a unique key without its partitioned form: {unknown}"
    for name, table, _definition in incoming:
        conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    # The id sequence belongs to the old column: it would be dropped with the table.
    conn.exec_driver_sql("ALTER SEQUENCE student_id_seq OWNED BY NONE")
    conn.exec_driver_sql(
        "CREATE TABLE student_partitioned (LIKE student INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS, "
        f"province_code varchar(2) NOT NULL DEFAULT {DEFAULT}) PARTITION BY LIST (province_code)")
    for code in provinces:
        assert re.fullmatch(r"\d\d", code), code
        conn.exec_driver_sql(f"CREATE TABLE student_p{code} PARTITION OF student_partitioned FOR VALUES IN ('{code}')")
    conn.exec_driver_sql("CREATE TABLE student_pdefault PARTITION OF student_partitioned DEFAULT")
    _prune_by_scope(conn, provinces)
    conn.exec_driver_sql(f"INSERT INTO student_partitioned SELECT *, {FROM_PATH} FROM student")
    conn.exec_driver_sql("DROP TABLE student")
    conn.exec_driver_sql("ALTER TABLE student_partitioned RENAME TO student")
    conn.exec_driver_sql("ALTER SEQUENCE student_id_seq OWNED BY student.id")
    for name, key in UNIQUE_KEYS.items():
        conn.exec_driver_sql(f'ALTER TABLE student ADD CONSTRAINT "{name}" {key}')
    conn.exec_driver_sql(f"ALTER TABLE student ADD CONSTRAINT ck_student_province_code CHECK (province_code = {FROM_PATH})")
    for name, definition in outgoing:
        conn.exec_driver_sql(f'ALTER TABLE student ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:  # created on the parent: PostgreSQL builds one per partition
        conn.exec_driver_sql(definition)
    for table in sorted({t for _n, t, _d in incoming}):
        _carry_province(conn, table, [(n, d) for n, t, d in incoming if t == table])


# The forms in which the scope rule (services/scope.py) names a pupil's place: the path itself
# (school: equality; province: a range), and the fixed-length prefixes of a city (9 characters) and a
# county (16) that the "newest first" lists compare.
SCOPE_FORMS = ("scope_path", "substr(scope_path, 1, 9)", "substr(scope_path, 1, 16)")


def _scope_of(code: str) -> str:
    """Exactly the rows of one province, in each form: "/21/" ≤ x < "/210" ("0" follows "/")."""
    return " AND ".join(f"{x} >= '/{code}/' AND {x} < '/{code}0'" for x in SCOPE_FORMS)


def _prune_by_scope(conn: Connection, provinces: Sequence[str]) -> None:
    """The application filters on scope_path, never on province_code. A CHECK on each partition
    that states its scope paths, in each form the scope rule uses, lets the planner skip the other
    partitions (constraint exclusion, on for partitions by default): a school's, county's, city's
    or the province's list reads one partition. The default partition states that it holds none of
    the named provinces."""
    for code in provinces:
        conn.exec_driver_sql(f"ALTER TABLE student_p{code} ADD CONSTRAINT ck_student_p{code}_scope CHECK ({_scope_of(code)})")
    others = " AND ".join(f"NOT ({x} >= '/{code}/' AND {x} < '/{code}0')" for code in provinces for x in SCOPE_FORMS)
    conn.exec_driver_sql(f"ALTER TABLE student_pdefault ADD CONSTRAINT ck_student_pdefault_scope CHECK ({others})")


def add_national_identity(conn: Connection) -> None:
    """身份证号 and 学籍号 unique across all provinces. A unique index on a partitioned table must
    contain the partition key, so uq_student_id_number only holds within a province; one national
    table keyed by the number alone, kept by a trigger in the same transaction, refuses a number
    that another province already holds (on Citus: a reference table, written with 2PC)."""
    conn.exec_driver_sql(
        "CREATE TABLE student_identity (kind varchar(3) NOT NULL, number varchar(30) NOT NULL, "
        "province_code varchar(2) NOT NULL, student_id integer NOT NULL, "
        "CONSTRAINT pk_student_identity PRIMARY KEY (kind, number))")
    conn.exec_driver_sql("CREATE INDEX ix_student_identity_student ON student_identity (student_id, province_code)")
    conn.exec_driver_sql("""
        CREATE FUNCTION student_identity_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                DELETE FROM student_identity WHERE student_id = OLD.id AND province_code = OLD.province_code;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO student_identity
                SELECT k, n, NEW.province_code, NEW.id
                FROM (VALUES ('id', NEW.id_number), ('xjh', NEW.xjh)) AS v(k, n) WHERE n IS NOT NULL;
            END IF;
            RETURN NULL;
        END $$""")
    conn.exec_driver_sql("CREATE TRIGGER student_identity_sync AFTER INSERT OR DELETE OR UPDATE OF id_number, xjh "
                         "ON student FOR EACH ROW EXECUTE FUNCTION student_identity_sync()")
    conn.exec_driver_sql("INSERT INTO student_identity SELECT 'id', id_number, province_code, id FROM student "
                         "WHERE id_number IS NOT NULL UNION ALL "
                         "SELECT 'xjh', xjh, province_code, id FROM student WHERE xjh IS NOT NULL")


def _carry_province(conn: Connection, table: str, references: list[tuple[str, str]]) -> None:
    """Give a referencing table the partition key and rebuild its references to student with it.
    NOT NULL: a foreign key with one NULL column is not checked at all (MATCH SIMPLE)."""
    conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN province_code varchar(2)')
    column = re.match(r"FOREIGN KEY \((\w+)\)", references[0][1]).group(1)  # type: ignore[union-attr]
    conn.exec_driver_sql(f'UPDATE "{table}" t SET province_code = s.province_code FROM student s WHERE s.id = t.{column}')
    # A row without a pupil (a request that names none): the deployment's province.
    conn.exec_driver_sql(f'UPDATE "{table}" SET province_code = {DEFAULT} WHERE province_code IS NULL')
    conn.exec_driver_sql(f'ALTER TABLE "{table}" ALTER COLUMN province_code SET DEFAULT {DEFAULT}, '
                         "ALTER COLUMN province_code SET NOT NULL")
    for name, definition in references:
        m = re.fullmatch(r"FOREIGN KEY \((\w+)\) REFERENCES student\(id\)(.*)", definition)
        assert m, f"unexpected reference {name}: {definition}"
        conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ({m.group(1)}, province_code) '
                             f"REFERENCES student(id, province_code){m.group(2)}")
