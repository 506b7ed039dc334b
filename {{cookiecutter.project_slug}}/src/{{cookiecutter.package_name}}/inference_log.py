"""The inference log: every row `serve` scored (its request id and row, the time, the model's
name and version, the member, the inputs and the outputs) and the labels sent back for them.

Two stores behind one interface (`append`, `read`, `known`), chosen by params.yaml's
`inference_log.store`: `folder`, Parquet files by day under `inference_log.folder` (offline,
the default), or `postgresql`, two tables in the database at $INFERENCE_LOG_URL (never in
params.yaml: it holds a password). Reading creates nothing, so the drift job can hold a
read-only login.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from . import task
from .errors import DataError
from .params import Params, Schema

URL_VARIABLE = "INFERENCE_LOG_URL"
PREDICTIONS, LABELS = "predictions", "labels"
KEYS = ["request_id", "row"]
TEXT, NUMBER, INTEGER, TIME = "text", "number", "integer", "time"


def layout(schema: Schema) -> dict[str, dict[str, str]]:
    """Each table's columns and their kinds: the predictions (about, features, outputs) and
    the labels."""
    predictions = {"request_id": TEXT, "row": INTEGER, "time": TIME}
    predictions |= {"model": TEXT, "version": TEXT, "member": TEXT}
    predictions |= dict.fromkeys(schema.numeric, NUMBER) | dict.fromkeys(schema.categorical, TEXT)
    predictions |= dict.fromkeys(task.PREDICTION_COLUMNS, NUMBER)
    labels = {"request_id": TEXT, "row": INTEGER, "label": NUMBER, "time": TIME}
    return {PREDICTIONS: predictions, LABELS: labels}


def arrow_schema(kinds: dict[str, str], time: str = "ns") -> Any:
    """The Arrow schema of a table of `kinds` (times in `time` units, UTC)."""
    import pyarrow as pa

    types = {TEXT: pa.string(), NUMBER: pa.float64(), INTEGER: pa.int64()}
    types[TIME] = pa.timestamp(time, tz="UTC")
    return pa.schema([(name, types[kind]) for name, kind in kinds.items()])


def arrow(frame: pd.DataFrame, kinds: dict[str, str], time: str = "ns") -> Any:
    """`frame` as an Arrow table of exactly `kinds`' columns, each of its kind (missing ones
    empty), converted column by column in Arrow (vectorized, mostly outside the GIL)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = arrow_schema(kinds, time)
    arrays = []
    for field in schema:
        if field.name not in frame:
            arrays.append(pa.nulls(len(frame), field.type))
            continue
        values, kind = frame[field.name], kinds[field.name]
        if kind == TEXT:  # a category sent as a number is its text, as training saw it
            try:
                text = pa.array(values, pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                text = pa.array(values.astype("string"), pa.string(), from_pandas=True)
            # a NUL, which PostgreSQL refuses in text (one would block every later write)
            arrays.append(pc.replace_substring(text, "\x00", "\ufffd"))
        elif kind == NUMBER:
            arrays.append(
                pa.array(pd.to_numeric(values, errors="coerce"), pa.float64(), from_pandas=True)
            )
        elif kind == INTEGER:
            arrays.append(pa.array(pd.to_numeric(values), pa.int64()))
        else:  # nanoseconds may be cut to microseconds (safe=False)
            arrays.append(pa.array(pd.to_datetime(values, utc=True), field.type, safe=False))
    return pa.Table.from_arrays(arrays, schema=schema)


class Store(Protocol):
    where: str

    def append(self, table: str, frame: pd.DataFrame) -> None: ...
    def read(self, table: str, since: pd.Timestamp | None = None) -> pd.DataFrame: ...
    def known(self, ids: list[str]) -> set[str]: ...


class FolderStore:
    """Parquet files, one per write and day: <folder>/<table>/day=YYYY-MM-DD/<time>-<id>.parquet
    (written to a hidden name, then renamed: a reader never sees half a file)."""

    def __init__(self, folder: Path, schema: Schema) -> None:
        self.folder, self.kinds = folder, layout(schema)
        self.where = f"the folder {folder}"

    def append(self, table: str, frame: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        days = pd.to_datetime(frame["time"], utc=True).dt.floor("D")
        for day, part in frame.groupby(days, sort=True):
            folder = self.folder / table / f"day={pd.Timestamp(day):%Y-%m-%d}"
            folder.mkdir(parents=True, exist_ok=True)
            first = pd.Timestamp(part["time"].iloc[0])
            name = f"{first:%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
            hidden = folder / f".{name}"
            pq.write_table(arrow(part, self.kinds[table]), hidden)
            hidden.rename(folder / name)

    def _files(self, table: str, since: pd.Timestamp | None) -> list[str]:
        first = "" if since is None else f"day={since:%Y-%m-%d}"
        days = sorted(p for p in (self.folder / table).glob("day=*") if p.name >= first)
        return [str(file) for day in days for file in sorted(day.glob("[!.]*.parquet"))]

    def read(
        self, table: str, since: pd.Timestamp | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        import pyarrow.dataset as ds

        schema = arrow_schema(self.kinds[table])
        files = self._files(table, since)
        if not files:
            return schema.empty_table().to_pandas()
        found = ds.dataset(files, schema=schema, format="parquet")
        where = None if since is None else ds.field("time") >= since.to_pydatetime()
        return found.to_table(columns=columns, filter=where).to_pandas()

    def known(self, ids: list[str]) -> set[str]:
        logged = self.read(PREDICTIONS, columns=["request_id"])["request_id"]
        return set(ids) & set(logged)


class PostgresStore:
    """Two tables, `predictions` and `labels`, created on the first write; rows go in and out
    with COPY (SQLAlchemy's engine over psycopg)."""

    def __init__(self, url: str, schema: Schema) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            raise DataError(f"inference_log: ${URL_VARIABLE} is not a postgresql:// URL")
        self.engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
        self.kinds, self.ready = layout(schema), False
        self.where = f"PostgreSQL at {parsed.host or 'localhost'}/{parsed.database}"

    def _create(self) -> None:
        import sqlalchemy as sa

        types = {TEXT: sa.Text, NUMBER: sa.Float, INTEGER: sa.BigInteger}
        types[TIME] = lambda: sa.DateTime(timezone=True)
        metadata = sa.MetaData()
        for table, kinds in self.kinds.items():
            columns = [sa.Column(name, types[kind]()) for name, kind in kinds.items()]
            sa.Table(table, metadata, *columns, sa.Index(f"{table}_time", "time"))
        sa.Index("predictions_request", metadata.tables[PREDICTIONS].c.request_id)
        metadata.create_all(self.engine, checkfirst=True)
        self.ready = True

    def append(self, table: str, frame: pd.DataFrame) -> None:
        import pyarrow.csv as csv

        if not self.ready:
            self._create()
        kinds = self.kinds[table]
        text = io.BytesIO()  # Arrow's CSV writer: C++, outside the GIL, unlike pandas' to_csv
        csv.write_csv(arrow(frame, kinds, "us"), text, csv.WriteOptions(include_header=False))
        names = ", ".join(f'"{name}"' for name in kinds)
        with self.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(text.getbuffer())

    def read(
        self, table: str, since: pd.Timestamp | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.csv as csv
        from psycopg import sql
        from psycopg.errors import UndefinedTable

        kinds = {k: v for k, v in self.kinds[table].items() if not columns or k in columns}
        # times as whole microseconds since 1970: exact, and one format whatever the fraction
        micros = sql.SQL("(extract(epoch FROM time) * 1000000)::bigint AS time")
        chosen = [micros if kinds[name] == TIME else sql.Identifier(name) for name in kinds]
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(chosen), sql.Identifier(table)
        )
        if since is not None:
            query += sql.SQL(" WHERE time >= {}").format(sql.Literal(since.to_pydatetime()))
        schema = arrow_schema(kinds)
        buffer = io.BytesIO()
        with self.engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            copy_out = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(query)
            try:
                with cursor.copy(copy_out) as copy:
                    for chunk in copy:
                        buffer.write(chunk)
            except UndefinedTable:  # nothing was ever written
                return schema.empty_table().to_pandas()
        types = {field.name: field.type for field in schema}
        types |= {name: pa.int64() for name, kind in kinds.items() if kind == TIME}
        options = csv.ConvertOptions(column_types=types, quoted_strings_can_be_null=False)
        found = csv.read_csv(pa.BufferReader(buffer.getbuffer()), convert_options=options)
        for name in (name for name, kind in kinds.items() if kind == TIME):
            at = found.schema.get_field_index(name)
            found = found.set_column(at, name, found[name].cast(pa.timestamp("us", tz="UTC")))
        return found.to_pandas()

    def known(self, ids: list[str]) -> set[str]:
        import sqlalchemy as sa

        query = sa.text("SELECT DISTINCT request_id FROM predictions WHERE request_id = ANY(:ids)")
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(query, {"ids": list(ids)})}


def open_store(params: Params, url: str | None = None) -> Store | None:
    """The store params.yaml names (None when the log is off); PostgreSQL's URL comes from
    $INFERENCE_LOG_URL."""
    config = params.inference_log
    schema = params.data.schema_
    if config.store == "none":
        return None
    if config.store == "folder":
        return FolderStore(Path(config.folder), schema)
    url = url or os.environ.get(URL_VARIABLE, "")
    if not url:
        raise DataError(
            f"inference_log.store is postgresql: set ${URL_VARIABLE} to the database's URL"
            " (postgresql://user:password@host:5432/database)"
        )
    return PostgresStore(url, schema)
