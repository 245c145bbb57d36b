"""The rows of the pupils' list, written in Python (issue 15, point 8).

The same cells as Flask-Admin's `model/list.html` loop — the checkbox, the row buttons, one
`<td class="col-…">` per column, an x-editable anchor for each quick-edit cell — but everything that
does not depend on the row is built once per page: the checkbox's and buttons' markup; and each
quick-edit cell's anchor, with holes for the pupil's id, the stored value, the words shown and the
page's CSRF token, once per language for the life of the process. The Jinja loop paid a macro
call, a context lookup and an escape per cell (~280 cells a page), and Flask-Admin built a
quick-edit form per row (StudentView.list_form now builds none); this pays one formatter call
and one string join a cell, and for the columns whose words depend on their own value alone
(StudentView.column_shown_by_value: a gender, a grade, a school) one call per distinct value a
page. The values are Flask-Admin's own (`_get_list_value`: the view's formatters and type
formatters), escaped as Jinja would escape them.
"""

from __future__ import annotations

import re
import typing as t

from flask_babel import get_locale
from markupsafe import Markup, escape

from admin import quick_edit

# Holes of a quick-edit anchor: tokens that escaping leaves as they are, replaced by format fields.
_PK, _VALUE, _SHOWN, _CSRF = "QEpk8f2c", "QEval8f2c", "QEshow8f2c", "QEcsrf8f2c"

Cell = t.Callable[[t.Any, str], str]  # (row, its escaped pk) -> the <td>…</td>

# (language, column) -> the quick-edit cell as a format string with {pk}, {value}, {shown}, {csrf}.
# A pure function of the two: the field's name and kind, the column's words and choices (code tables).
_quick_cells: dict[tuple[str, str], str] = {}


def quick_cell_template(view: t.Any, name: str) -> str:
    """The column's cell: QuickEditWidget.anchor of the list form's field, in a <td>, the same
    attributes in the same order as a cell built per row, holes where the row and page go."""
    key = (str(get_locale()), name)
    found = _quick_cells.get(key)
    if found is None:
        field = view.quick_edit_form()[name]
        widget = field.widget
        anchor = str(widget.anchor(field, _VALUE, _PK, _SHOWN, _CSRF, static=widget._static(field)))
        braced = f'<td class="col-{name}">{anchor}</td>'.replace("{", "{{").replace("}", "}}")
        found = _quick_cells[key] = (braced.replace(_PK, "{pk}").replace(_VALUE, "{value}")
                                     .replace(_SHOWN, "{shown}").replace(_CSRF, "{csrf}"))
    return found


def _value_of(view: t.Any, name: str) -> t.Callable[[t.Any], t.Any]:
    """Flask-Admin's `_get_list_value` for one column, with what does not depend on the row looked
    up once: the column's formatter (or its page formatter, StudentView.column_page_formatters:
    the same words, set up once a page), and which type formatter a value of each type meets
    (Flask-Admin tries them in order with isinstance, for every cell: a date, a str, a Markup …).
    A column with choices, or a dotted path (rec_getattr), takes Flask-Admin's own path."""
    formatters, type_formatters = view.column_formatters, view.column_type_formatters
    get_value = view._get_list_value
    fmt = formatters.get(name)
    if view._column_choices_map.get(name) or (fmt is None and "." in name):
        return lambda row: get_value(None, row, name, formatters, type_formatters)
    page_fmt = getattr(view, "column_page_formatters", {}).get(name)
    shown_of: t.Callable[[t.Any], t.Any]
    if page_fmt is not None:
        shown_of = page_fmt()
    elif fmt is not None:
        shown_of = lambda row: fmt(view, None, row, name)  # noqa: E731 - a closure over fmt
    else:
        shown_of = lambda row: getattr(row, name)  # noqa: E731
    by_type: dict[type, t.Any] = {}

    def value(row: t.Any) -> t.Any:
        shown = shown_of(row)
        kind = type(shown)
        try:
            type_fmt = by_type[kind]
        except KeyError:
            type_fmt = by_type[kind] = next((f for typ, f in type_formatters.items() if isinstance(shown, typ)), None)
        return shown if type_fmt is None else type_fmt(view, shown, name)

    return value


def _by_value(name: str, write: t.Callable[[t.Any], t.Any]) -> t.Callable[[t.Any], t.Any]:
    """write(row) once per distinct value of the column on this page (a column of
    StudentView.column_shown_by_value: its words depend on that value alone): the twenty rows of a
    page hold a few genders, grades, statuses, classes and one school."""
    seen: dict[t.Any, t.Any] = {}

    def written(row: t.Any) -> t.Any:
        raw = getattr(row, name)
        try:
            out = seen.get(raw, _UNSEEN)  # not seen[raw]: a KeyError costs more, and dates, phones and addresses are mostly new
        except TypeError:  # an unhashable value: written for its row
            return write(row)
        if out is _UNSEEN:
            out = seen[raw] = write(row)
        return out

    return written


_UNSEEN = object()


def _plain(view: t.Any, name: str) -> Cell:
    value = _value_of(view, name)
    head = f'<td class="col-{name}">'

    def write(row: t.Any) -> str:
        return f"{head}{escape(value(row))}</td>"

    written = _by_value(name, write) if name in view.column_shown_by_value else write
    return lambda row, _pk: written(row)


_QUICK_HOLES = re.compile(f"({_PK}|{_VALUE}|{_SHOWN}|{_CSRF})")
_SLOT = {_PK: 0, _VALUE: 1, _SHOWN: 2}


def _filler(template: str, csrf: str) -> t.Callable[[str, str, str], str]:
    """The cell template with the page's token in it, as a function of (pk, value, shown): str.format
    parses the ~500 characters on every call (~2.4 µs, 100 cells a page); joining the pieces costs a
    tenth of it."""
    pieces = _QUICK_HOLES.split(template.format(pk=_PK, value=_VALUE, shown=_SHOWN, csrf=_CSRF))
    literals, slots = [pieces[0]], []
    for hole, literal in zip(pieces[1::2], pieces[2::2], strict=True):
        if hole == _CSRF:
            literals[-1] += csrf + literal
        else:
            slots.append(_SLOT[hole])
            literals.append(literal)
    if slots == [0, 1, 2]:  # the anchor's sorted attributes: data-pk, data-value, then the words shown
        a, b, c, d = literals
        return lambda pk, editor, shown: f"{a}{pk}{b}{editor}{c}{shown}{d}"
    first, rest = literals[0], list(zip(slots, literals[1:], strict=True))
    return lambda *values: first + "".join(values[i] + literal for i, literal in rest)


def _quick(view: t.Any, name: str, csrf: str) -> Cell:
    fill = _filler(quick_cell_template(view, name), str(escape(csrf)))
    value = _value_of(view, name)

    def write(row: t.Any) -> tuple[str, str]:
        return escape(quick_edit.editor_value(name, getattr(row, name))), escape(value(row))

    if quick_edit.shows_stored_text(name) and view.column_formatters.get(name) is quick_edit.FORMATTERS[name]:
        def write(row: t.Any) -> tuple[str, str]:  # the words shown are the stored text: escaped once
            text = escape(quick_edit.editor_value(name, getattr(row, name)))
            return text, text

    written = _by_value(name, write) if name in view.column_shown_by_value else write

    def cell(row: t.Any, pk: str) -> str:
        return fill(pk, *written(row))

    return cell


def rows(view: t.Any, data: t.Sequence[t.Any], *, columns: t.Sequence[tuple[str, bool]], checkbox_title: str | None,
         row_buttons: t.Callable[[str], str] | None, csrf: str) -> Markup:
    """The page's <tr> rows. columns: (name, edited in place); checkbox_title: None without bulk
    actions; row_buttons: the row buttons' markup for a pk (StudentView.row_buttons), None
    without the buttons' column; csrf: the page's token, for the quick-edit cells' posts."""
    cells = [_quick(view, name, csrf) if edited else _plain(view, name) for name, edited in columns]
    checkbox = None
    if checkbox_title is not None:
        checkbox = ('<td><input type="checkbox" name="rowid" class="action-checkbox" value="',
                    f'" title="{escape(checkbox_title)}" /></td>')
    out: list[str] = []
    for row in data:
        pk = str(escape(view.get_pk_value(row)))
        out.append("<tr>")
        if checkbox is not None:
            out.append(f"{checkbox[0]}{pk}{checkbox[1]}")
        if row_buttons is not None:
            out.append(f'<td class="list-buttons-column">{row_buttons(pk)}</td>')
        out.extend(cell(row, pk) for cell in cells)
        out.append("</tr>")
    return Markup("".join(out))
