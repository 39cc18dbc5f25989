"""CSV and XLSX export of a restricted, filtered queryset, with spreadsheet formulas neutralised."""

import csv
import datetime
import tempfile
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def cell(value):
    """A safe, plain export value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if hasattr(value, "all") and callable(value.all):  # a related manager, e.g. tags
        value = ", ".join(str(v) for v in value.all())
    text = str(value).replace("\x00", "")
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text


BATCH = 500


def rows(queryset, columns, prepare=None):
    """Header, then one row per record; `prepare(objs)` runs on each batch first (redaction, masking)
    so that it can look things up once per batch, not once per row."""
    yield [str(c.label) for c in columns]
    batch = []
    for obj in queryset.iterator(chunk_size=2000):
        batch.append(obj)
        if len(batch) >= BATCH:
            yield from _emit(batch, columns, prepare)
            batch = []
    yield from _emit(batch, columns, prepare)


def _emit(batch, columns, prepare):
    if prepare is not None and batch:
        prepare(batch)
    for obj in batch:
        yield [cell(c.value(obj)) for c in columns]


class _Echo:
    def write(self, value):
        return value


def response(queryset, columns, fmt, filename, prepare=None):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def stream():
            yield "\ufeff"  # BOM: Excel opens UTF-8 Chinese text correctly
            for row in rows(queryset, columns, prepare):
                yield writer.writerow(row)

        resp = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
        return resp
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(filename[:31])
    for row in rows(queryset, columns, prepare):
        sheet.append(row)
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle, as_attachment=True, filename=f"{filename}-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
