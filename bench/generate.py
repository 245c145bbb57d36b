"""Benchmark data: a realistic 辽宁 tree (14 cities, ~90 counties, ~6,000 schools) and N pupils.

    python -m bench.generate --url postgresql+psycopg://root@127.0.0.1/xueji_bench --pupils 3000000 --reset

--reset drops and recreates the database (only databases whose name contains "bench").
Without --reset the schema is upgraded, the tree and bench users are reused when present,
and the pupils are replaced.

Pupils are loaded with PostgreSQL COPY, generated row by row (memory does not grow with N).
Row k gets id k and the heap is written in id order, as if enrolled one after another;
the school of row k comes from a golden-ratio permutation, so every school's pupils are
spread over the whole id range (as in a live system) and each school gets exactly its share.
--id-order by-school instead numbers the pupils school after school (a bulk import).
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import time
import uuid
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import Config  # noqa: E402

BENCH_PASSWORD = "Xueji@2026"
BENCH_DOMAIN = "xueji.demo"
SEED = 2026
N_SCHOOLS = 6000
SCHOOL_YEAR_START = 2026  # 2026–27: grade g was born Sep (2021-g) .. Aug (2022-g)
OLDEST_BIRTH_YEAR = SCHOOL_YEAR_START - 5 - 9  # grade 9: born from Sep 2012
KIND_MIX = (("primary", 0.64), ("junior", 0.26), ("nine_year", 0.10))
KIND_GRADES = {"primary": (1, 2, 3, 4, 5, 6), "junior": (7, 8, 9), "nine_year": (1, 2, 3, 4, 5, 6, 7, 8, 9)}
KIND_SIZE = {"primary": 1.0, "junior": 1.7, "nine_year": 1.3}
KIND_SUFFIX = {"primary": "小学", "junior": "初级中学", "nine_year": "九年一贯制学校"}
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
    "阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "子涵欣怡梓轩浩宇雨桐一诺俊熙思远佳琪萱诗博文嘉晨曦明哲若汐沐"
    "阳语皓可馨天佑雅泽静家豪紫昊然梦瑶心航睿鑫磊婷悦晗瑞奕辰铭彤"
)
STREETS = ("中华路", "人民街", "解放路", "胜利街", "建设大路", "青年街", "文化路", "北京街", "长江路", "和平大街", "新华路", "光明街")
TOWNS = ("城关镇", "新兴镇", "红旗乡", "东风镇", "太平乡", "前进镇", "兴隆镇", "大屯乡", "西关镇", "长胜乡")

# Columns COPY fills, in order. Every NOT NULL column without a server default must be here.
STUDENT_COLUMNS = (
    "id", "version_id", "xjh", "school_id", "scope_path", "status", "name", "former_name", "gender",
    "birth_date", "birthplace", "native_place", "ethnicity", "nationality", "id_type", "id_number",
    "overseas", "health", "hukou_location", "hukou_type", "grade", "class_name", "enroll_month",
    "enroll_mode", "attendance_mode", "current_address", "home_address", "phone", "only_child",
    "preschool", "left_behind", "migrant_child", "orphan", "disability", "created_at", "updated_at",
)


def log(msg: str) -> None:
    print(msg, flush=True)


class Phase:
    """`with Phase("name", timings):` prints and records how long a phase took."""

    def __init__(self, name: str, timings: dict[str, float]):
        self.name, self.timings = name, timings

    def __enter__(self) -> Phase:
        self.t0 = time.perf_counter()
        log(f"[generate] {self.name} ...")
        return self

    def __exit__(self, *exc: object) -> None:
        dt = time.perf_counter() - self.t0
        self.timings[self.name] = dt
        if exc[0] is None:
            log(f"[generate] {self.name}: {dt:.1f} s")


# --- connection helpers -------------------------------------------------------------
def libpq_dsn(url: str, dbname: str | None = None) -> str:
    u = make_url(url)
    parts = {"host": u.host, "port": u.port, "user": u.username, "password": u.password,
             "dbname": dbname or u.database}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v not in (None, ""))


def bench_config(url: str) -> Config:
    class BenchConfig(Config):
        TESTING = False

        def __init__(self) -> None:
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = url

    return BenchConfig()


def recreate_database(url: str) -> None:
    name = make_url(url).database
    if not name or "bench" not in name:
        raise SystemExit(f"--reset refuses to drop database {name!r}: its name must contain 'bench'")
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))


def ensure_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))


# --- the tree ------------------------------------------------------------------------
@dataclass
class County:
    code: str
    name: str
    city_code: str
    city_name: str
    rural: bool
    idx: int = 0
    id: int = 0
    path: str = ""


@dataclass
class School:
    code: str
    name: str
    kind: str
    county: County
    rural: bool
    weight: float
    supervisor: str  # "county" or "city"
    id: int = 0
    path: str = ""
    pupils: int = 0
    extra: dict = field(default_factory=dict)


def _latest_name(raw: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", raw.split(",")[-1])


def liaoning_divisions() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(city code, city name, [(county code, county name)]) for 2101..2114, from GB/T 2260 (stdnum)."""
    from stdnum import numdb

    loc = numdb.get("cn/loc")

    def info(code: str) -> dict[str, str]:
        return {k: v for _part, props in loc.info(code) for k, v in props.items()}

    out = []
    for c in range(2101, 2115):
        city_name = _latest_name(info(f"{c}00").get("county", "")) or f"{c}市"
        counties = []
        for k in range(1, 100):
            code = f"{c}{k:02d}"
            last = info(code).get("county", "").split(",")[-1]
            if not last:
                continue
            m = re.fullmatch(r"\[(\d*)-\](.+)", last)  # "[1983-]和平区": still in use
            if last.startswith("[") and not m:
                continue  # abolished
            start, name = (m.group(1), m.group(2)) if m else ("", last)
            # The ID's division code must already exist in the pupils' birth years (stdnum checks).
            if name not in ("市辖区", "市区", "郊区") and (not start or int(start) <= OLDEST_BIRTH_YEAR):
                counties.append((code, name))
        if not counties:  # stdnum table without this city: synthetic districts
            counties = [(f"{c}{k:02d}", f"第{k}区") for k in range(2, 9)]
        out.append((str(c), city_name, counties))
    return out


def plan_tree(rng: random.Random) -> tuple[list[tuple[str, str]], list[County], list[School]]:
    """The tree, independent of the number of pupils (same units for every N)."""
    cities: list[tuple[str, str]] = []
    counties: list[County] = []
    for city_code, city_name, cs in liaoning_divisions():
        cities.append((city_code, city_name))
        for code, name in cs:
            rural = name.endswith(("县", "市")) or name.endswith("自治县")
            counties.append(County(code, name, city_code, city_name, rural, idx=len(counties)))
    # Rural counties have more (and smaller) schools.
    cweights = [rng.uniform(0.6, 1.4) * (1.6 if c.rural else 1.0) for c in counties]
    total = sum(cweights)
    per_county = [max(8, round(N_SCHOOLS * w / total)) for w in cweights]
    schools: list[School] = []
    seq = 0
    for county, n in zip(counties, per_county, strict=True):
        numbering = {k: 0 for k in KIND_GRADES}
        for _ in range(n):
            r = rng.random()
            kind = "primary" if r < KIND_MIX[0][1] else "junior" if r < KIND_MIX[0][1] + KIND_MIX[1][1] else "nine_year"
            rural = county.rural and rng.random() < 0.65
            numbering[kind] += 1
            seq += 1
            town = rng.choice(TOWNS) if rural else ""
            name = f"{county.city_name}{county.name}{town}第{numbering[kind]}{KIND_SUFFIX[kind]}"
            weight = rng.lognormvariate(0, 0.6) * KIND_SIZE[kind] * (0.45 if rural else 1.0)
            supervisor = "city" if rng.random() < 0.01 else "county"
            code = f"2{'123'[('primary', 'junior', 'nine_year').index(kind)]}21{seq:06d}"
            schools.append(School(code, name, kind, county, rural, weight, supervisor))
    return cities, counties, schools


# The bench school holds at least a page and a half of pupils at every size (target 5 compares its
# list at 30k with its list at 3M; at its proportional share of 30k it had 5 pupils, so the 30k page
# showed 5 rows and the 3M page 20, and the "growth" measured 15 more rows, not a larger province).
BENCH_SCHOOL_MIN_PUPILS = 30


def bench_school(schools: list[School]) -> School:
    """The school of `bench-school@`: of about average expected size (by weight, whatever n)."""
    mean_w = sum(s.weight for s in schools) / len(schools)
    return min(schools, key=lambda s: (abs(s.weight - mean_w), s.code))


def allocate(schools: list[School], n: int) -> None:
    """Exactly n pupils over the schools, proportional to weight (largest remainder); the bench
    school is then topped up to BENCH_SCHOOL_MIN_PUPILS from the largest schools."""
    total = sum(s.weight for s in schools)
    quotas = [n * s.weight / total for s in schools]
    for s, q in zip(schools, quotas, strict=True):
        s.pupils = int(q)
    rest = n - sum(s.pupils for s in schools)
    for i in sorted(range(len(schools)), key=lambda i: quotas[i] - int(quotas[i]), reverse=True)[:rest]:
        schools[i].pupils += 1
    school = bench_school(schools)
    short = min(BENCH_SCHOOL_MIN_PUPILS, n) - school.pupils
    donors = sorted((s for s in schools if s is not school), key=lambda s: (-s.pupils, s.code))
    while short > 0:
        given = 0
        for donor in donors:
            if short > 0 and donor.pupils > 1:
                donor.pupils -= 1
                school.pupils += 1
                short -= 1
                given += 1
        if not given:  # a province smaller than its schools: no school has a pupil to spare
            break


def build_tree(app, cities, counties: list[County], schools: list[School], timings) -> dict[str, object]:
    """Org units, roles and the 4 bench users via the ORM; returns the bench units."""
    from flask_security.utils import hash_password
    from sqlalchemy import select

    from cli.demo import ensure_roles
    from extensions import db
    from models.org import CITY, COUNTY, PROVINCE, SCHOOL, OrgUnit, child_path
    from models.people import CITY_OFFICIAL, COUNTY_OFFICIAL, PROVINCE_OFFICIAL, REGISTRAR, User

    with app.app_context():
        roles = ensure_roles()
        existing = {u.code: u for u in db.session.scalars(select(OrgUnit))}
        if "21" not in existing:
            with Phase("org tree (ORM insert)", timings):
                province = OrgUnit(code="21", name="辽宁省教育厅", level=PROVINCE, path=child_path(None, "21"))
                db.session.add(province)
                db.session.flush()
                city_units = {}
                for code, name in cities:
                    city_units[code] = OrgUnit(code=code, name=f"{name}教育局", level=CITY, parent=province,
                                               path=child_path(province, code))
                db.session.add_all(city_units.values())
                db.session.flush()
                county_units = {}
                for c in counties:
                    p = city_units[c.city_code]
                    county_units[c.code] = OrgUnit(code=c.code, name=f"{c.name}教育局", level=COUNTY, parent=p,
                                                   path=child_path(p, c.code))
                db.session.add_all(county_units.values())
                db.session.flush()
                units = []
                for s in schools:
                    p = county_units[s.county.code]
                    sup = city_units[s.county.city_code] if s.supervisor == "city" else p
                    units.append(OrgUnit(code=s.code, name=s.name, level=SCHOOL, parent=p, path=child_path(p, s.code),
                                         school_kind=s.kind, supervisor=sup, is_rural=s.rural, active=True))
                db.session.add_all(units)
                db.session.flush()
                db.session.commit()
            existing = {u.code: u for u in db.session.scalars(select(OrgUnit))}
        missing = [s.code for s in schools if s.code not in existing]
        if missing:
            raise SystemExit(f"existing tree differs from the planned one ({len(missing)} schools missing); use --reset")
        for c in counties:
            c.id, c.path = existing[c.code].id, existing[c.code].path
        for s in schools:
            s.id, s.path = existing[s.code].id, existing[s.code].path

        # Bench units: a school of about average expected size; the largest county (worst case
        # for the counted list); the smallest city (worst case for the uncounted id-ordered scan).
        school = bench_school(schools)
        cw: dict[str, float] = {}
        cityw: dict[str, float] = {}
        for s in schools:
            cw[s.county.code] = cw.get(s.county.code, 0) + s.weight
            cityw[s.county.city_code] = cityw.get(s.county.city_code, 0) + s.weight
        county = max(cw, key=cw.get)
        city = min(cityw, key=cityw.get)
        wanted = {
            f"bench-school@{BENCH_DOMAIN}": ("基准-学校学籍管理员", school.code, REGISTRAR),
            f"bench-county@{BENCH_DOMAIN}": ("基准-县级学籍股", county, COUNTY_OFFICIAL),
            f"bench-city@{BENCH_DOMAIN}": ("基准-市级学籍科", city, CITY_OFFICIAL),
            f"bench-province@{BENCH_DOMAIN}": ("基准-省厅学籍科", "21", PROVINCE_OFFICIAL),
        }
        have = set(db.session.scalars(select(User.email).where(User.email.in_(list(wanted)))))
        if len(have) < len(wanted):
            with Phase("bench users (one argon2 hash)", timings):
                password = hash_password(BENCH_PASSWORD)
                for email, (name, code, role) in wanted.items():
                    if email in have:
                        continue
                    unit = existing[code]
                    db.session.add(User(email=email, name=name, password=password, active=True,
                                        fs_uniquifier=uuid.uuid4().hex, unit=unit, scope_path=unit.path,
                                        roles=[roles[role]]))
                db.session.commit()
        _secure_bench_users(list(wanted))
        db.session.commit()
        return {"school": school.code, "county": county, "city": city}


def _secure_bench_users(emails: list[str]) -> None:
    """Issue 13: like the demo accounts, the bench users' passwords count as their own, and the
    authority ones log in with the public demo TOTP secret (bench/list_pages.py types its code)."""
    from sqlalchemy import select

    from extensions import db
    from models.people import User
    from services import passwords, two_factor

    for user in db.session.scalars(select(User).where(User.email.in_(emails))):
        if user.password_changed_at is None or user.must_change_password:
            passwords.set_by_owner(user)
        if user.is_authority and not user.tf_totp_secret:
            two_factor.give_demo_secret(user)


# --- pupils --------------------------------------------------------------------------
def _golden_multiplier(n: int) -> int:
    a = max(1, int(n * 0.6180339887498949))
    while math.gcd(a, n) != 1:
        a += 1
    return a


def pupil_rows(n: int, counties: list[County], schools: list[School], seed: int = SEED, by_school: bool = False):
    """Yield n COPY rows (tuples in STUDENT_COLUMNS order), id 1..n; constant memory.

    by_school: ids follow the schools' order (as after a school-by-school import) instead of
    being interleaved over all schools."""
    from services.clock import now
    from services.ids import make_check_digit, xjh_from_id

    rng = random.Random(seed)
    rand = rng.random
    loaded_at = now()
    cum: list[int] = []
    acc = 0
    for s in schools:
        acc += s.pupils
        cum.append(acc)
    mult = 1 if by_school else _golden_multiplier(n)

    # Per grade: 365 birth dates (Sep 1 .. Aug 30/31, no overlap between grades) and their strings.
    births: dict[int, list[date]] = {}
    bstrs: dict[int, list[str]] = {}
    for g in range(1, 10):
        start = date(SCHOOL_YEAR_START - 5 - g, 9, 1)
        births[g] = [start + timedelta(days=d) for d in range(365)]
        bstrs[g] = [b.strftime("%Y%m%d") for b in births[g]]
    enroll = {g: f"{SCHOOL_YEAR_START - g + 1}-09" if g <= 6 else f"{SCHOOL_YEAR_START - g + 7}-09" for g in range(1, 10)}
    classes = [f"{i}班" for i in range(1, 13)]
    surnames, given = SURNAMES, GIVEN
    ns, ng = len(surnames), len(given)
    ethnic = ["01"] * 80 + ["03"] * 8 + ["11"] * 6 + ["10"] * 3 + ["08"] * 2 + ["04"]
    ne = len(ethnic)
    lb = "0000000012"
    for s in schools:  # per-school constants
        area = s.county.city_name + s.county.name
        s.extra = {
            "native": "辽宁" + s.county.city_name,
            "addr": area + (rng.choice(TOWNS) if s.rural else ""),
            "grades": KIND_GRADES[s.kind],
            "nclass": max(1, min(len(classes), round(s.pupils / len(KIND_GRADES[s.kind]) / 40))),  # ~40 a class
        }
    # ID uniqueness without a set: per (county, grade, gender) a counter c; the birth day is
    # (c*211) mod 365 and the 3-digit sequence 2*((c//365 + offset) mod 500) + male.
    counters = [0] * (len(counties) * 20)
    offsets = [rng.randrange(500) for _ in counters]
    streets, nst = STREETS, len(STREETS)

    for k in range(n):
        s = schools[bisect_right(cum, (k * mult) % n)]
        ex = s.extra
        county = s.county
        grades = ex["grades"]
        g = grades[int(rand() * len(grades))]
        male = rand() < 0.517
        key = (county.idx * 10 + g) * 2 + male
        c = counters[key]
        counters[key] = c + 1
        if c >= 365 * 500:
            raise SystemExit(f"too many pupils for unique IDs in county {county.code} grade {g}")
        day = (c * 211) % 365
        seq = 2 * ((c // 365 + offsets[key]) % 500) + male
        body = f"{county.code}{bstrs[g][day]}{seq:03d}"
        idn = body + make_check_digit(body)
        r = rand()
        name = surnames[int(r * ns)] + given[int(rand() * ng)] + (given[int(rand() * ng)] if r < 0.7 else "")
        rural = s.rural
        yield (
            k + 1, 1, xjh_from_id(idn), s.id, s.path, "enrolled", name, None, "1" if male else "2",
            births[g][day], county.code, ex["native"], ethnic[int(rand() * ne)], "156", "1", idn,
            "0", "1", county.code, "2" if rural else "1", g, f"{g}年级{classes[int(rand() * ex['nclass'])]}",
            enroll[g], "1", "2" if rural and rand() < 0.1 else "1",
            f"{ex['addr']}{streets[int(rand() * nst)]}{int(rand() * 300) + 1}号", None,
            f"1{38 + int(rand() * 2)}{int(rand() * 90000000) + 10000000}", rand() < 0.6,
            True, lb[int(rand() * 10)] if rural else "0", rand() < 0.08, False, "0", loaded_at, loaded_at,
        )


def check_columns(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'student' "
        "AND table_schema = current_schema() AND is_nullable = 'NO' AND column_default IS NULL"
    ).fetchall()
    missing = sorted({r[0] for r in rows} - set(STUDENT_COLUMNS))
    if missing:
        raise SystemExit(f"student has NOT NULL columns this generator does not fill: {missing}")


def secondary_objects(conn: psycopg.Connection) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(constraints, indexes) on student other than the primary key, with their DDL."""
    cons = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'student'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname"
    ).fetchall()
    idx = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = 'student'::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname"
    ).fetchall()
    return [(r[0], r[1]) for r in cons], [(r[0], r[1]) for r in idx]


def check_recreated(conn: psycopg.Connection, cons: list[tuple[str, str]], idx: list[tuple[str, str]]) -> None:
    """The catalog after the load must hold exactly the objects (and DDL) it held before.

    Indexes are recreated from pg_get_indexdef, so expression indexes such as
    ix_student_city_id (substr(scope_path, 1, 9), id) come back with their expressions;
    this checks it and names them."""
    cons_after, idx_after = secondary_objects(conn)
    if (cons_after, idx_after) != (cons, idx):
        raise SystemExit(f"student indexes/constraints differ after the load:\n before {cons + idx}\n after {cons_after + idx_after}")
    exprs = conn.execute(
        "SELECT i.relname, pg_get_expr(x.indexprs, x.indrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = 'student'::regclass AND x.indexprs IS NOT NULL ORDER BY i.relname"
    ).fetchall()
    names = "; ".join(f"{name} ({expr}, ...)" for name, expr in exprs) or "none"
    log(f"[generate]   all {len(idx)} indexes + {len(cons)} constraints back as before; expression indexes: {names}")


def load_pupils(url: str, n: int, counties: list[County], schools: list[School], timings,
                by_school: bool = False) -> None:
    with psycopg.connect(libpq_dsn(url)) as conn:
        check_columns(conn)
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        cons, idx = secondary_objects(conn)
        with Phase("drop student indexes/constraints", timings):
            # Same transaction as the COPY: TRUNCATE lets COPY ... FREEZE write frozen rows.
            conn.execute("TRUNCATE student, guardian, student_history CASCADE")
            for name, _ddl in cons:
                conn.execute(sql.SQL("ALTER TABLE student DROP CONSTRAINT {}").format(sql.Identifier(name)))
            for name, _ddl in idx:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        with Phase(f"COPY {n:,} pupils", timings) as ph:
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in STUDENT_COLUMNS)
            done = 0
            with conn.cursor() as cur:
                with cur.copy(sql.SQL("COPY student ({}) FROM STDIN WITH (FREEZE)").format(cols)) as copy:
                    for row in pupil_rows(n, counties, schools, by_school=by_school):
                        copy.write_row(row)
                        done += 1
                        if done % 500_000 == 0:
                            el = time.perf_counter() - ph.t0
                            log(f"[generate]   {done:,} rows, {el:.0f} s ({done / el:,.0f} rows/s)")
                cur.execute("SELECT setval(pg_get_serial_sequence('student', 'id'), %s)", [max(n, 1)])
            conn.commit()
        with Phase(f"recreate {len(idx)} indexes + {len(cons)} constraints", timings):
            for name, ddl in cons:
                t0 = time.perf_counter()
                conn.execute(sql.SQL("ALTER TABLE student ADD CONSTRAINT {} ").format(sql.Identifier(name)) + sql.SQL(ddl))
                conn.commit()
                log(f"[generate]   {name}: {time.perf_counter() - t0:.1f} s")
            for name, ddl in idx:
                t0 = time.perf_counter()
                conn.execute(sql.SQL(ddl))
                conn.commit()
                log(f"[generate]   {name}: {time.perf_counter() - t0:.1f} s")
        check_recreated(conn, cons, idx)
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        with Phase("VACUUM ANALYZE", timings):
            # VACUUM as well as ANALYZE: sets the visibility map, as autovacuum would on a live
            # table, so that index-only scans (COUNT) behave as in production.
            conn.execute("VACUUM (ANALYZE) student")
            conn.execute("VACUUM (ANALYZE) pupil_count_delta")  # the dashboards' pupil counts, written with the pupils
            conn.execute("ANALYZE org_unit")
            conn.execute('ANALYZE "user"')


def add_workload(app, url: str, timings: dict[str, float]) -> dict[str, int]:
    """bench/workload.py: the load test's accounts, then its change requests (COPY), then ANALYZE."""
    from bench import workload

    with Phase("load-test accounts (ORM, one argon2 hash)", timings):
        workload.load_accounts(app, BENCH_PASSWORD)
    with Phase("change requests (COPY)", timings):
        with psycopg.connect(libpq_dsn(url)) as conn:
            counts = workload.load_requests(app, conn)
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        for table in ("change_request", "approval_step", "student", "suspension", '"user"'):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    if counts:
        log("[generate] requests by type/state: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pupils", type=int, default=0, help="required, except with --workload-only")
    ap.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    ap.add_argument("--json", help="write the phase timings here")
    ap.add_argument("--id-order", choices=("interleaved", "by-school"), default="interleaved",
                    help="interleaved (default): every school's pupils spread over the id range, as in a live "
                         "system; by-school: ids grouped by school (a school-by-school bulk import)")
    ap.add_argument("--workload", action=argparse.BooleanOptionalAction, default=None,
                    help="change requests in every state and the load-test accounts (bench/workload.py); "
                         "default: on when the database name contains 'load'")
    ap.add_argument("--workload-only", action="store_true",
                    help="keep the pupils; add only the workload (requests and accounts) to a generated province")
    args = ap.parse_args(argv)
    if args.pupils <= 0 and not args.workload_only:
        ap.error("--pupils is required")
    workload = args.workload if args.workload is not None else "load" in (make_url(args.url).database or "")
    if make_url(args.url).database == "test":
        raise SystemExit("refusing to touch the database 'test'")
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    if args.workload_only and args.reset:
        raise SystemExit("--workload-only keeps the pupils: it cannot be combined with --reset")
    with Phase("create database" if args.reset else "ensure database", timings):
        (recreate_database if args.reset else ensure_database)(args.url)

    from flask_migrate import upgrade

    from app import create_app

    app = create_app(bench_config(args.url))
    with Phase("alembic upgrade", timings):
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))

    rng = random.Random(SEED)
    cities, counties, schools = plan_tree(rng)
    allocate(schools, args.pupils)
    bench_units = build_tree(app, cities, counties, schools, timings)
    log(f"[generate] tree: 1 province, {len(cities)} cities, {len(counties)} counties, {len(schools)} schools; "
        f"bench units {bench_units}")

    if not args.workload_only:
        load_pupils(args.url, args.pupils, counties, schools, timings, by_school=args.id_order == "by-school")
    requests: dict[str, int] = {}
    if workload or args.workload_only:
        requests = add_workload(app, args.url, timings)

    total = time.perf_counter() - t_all
    log("[generate] timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()) + f"; total {total:.1f}s")
    if args.json:
        import json

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(
            {"pupils": args.pupils, "id_order": args.id_order, "timings_s": timings, "total_s": total, "bench_units": bench_units,
             "counties": len(counties), "schools": len(schools), "requests": requests}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
