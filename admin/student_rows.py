"""The rows of the pupils' list, written in Python (issue 15, point 8).

The same cells as Flask-Admin's `model/list.html` loop — the checkbox, the row buttons, one
`<td class="col-…">` per column, an x-editable anchor for each quick-edit cell — but everything that
does not depend on the row is built once per page: the checkbox's and buttons' markup, each
quick-edit cell's anchor with three holes (the pupil's id, the stored value, the words shown). The
Jinja loop paid a macro call, a context lookup and an escape per cell (~280 cells a page);
this pays one formatter call and one string join. The values are Flask-Admin's own
(`_get_list_value`: the view's formatters and type formatters), escaped as Jinja would escape them.
"""

from __future__ import annotations

import typing as t

from markupsafe import Markup, escape

from admin import quick_edit

# Holes of a quick-edit anchor: tokens that escaping leaves as they are, replaced by format fields.
_PK, _VALUE, _SHOWN = "QEpk8f2c", "QEval8f2c", "QEshow8f2c"

Cell = t.Callable[[t.Any, str], str]  # (row, its escaped pk) -> the <td>…</td>


def _quick_cell_template(field: t.Any, csrf: str) -> str:
    """The field's anchor (quick_edit.QuickEditWidget.anchor) as a format string with {pk},
    {value} and {shown}: the same attributes in the same order as a cell built per row."""
    widget = field.widget
    anchor = str(widget.anchor(field, _VALUE, _PK, _SHOWN, csrf, static=widget._static(field)))
    braced = anchor.replace("{", "{{").replace("}", "}}")
    return braced.replace(_PK, "{pk}").replace(_VALUE, "{value}").replace(_SHOWN, "{shown}")


def _plain(view: t.Any, name: str) -> Cell:
    get_value = view._get_list_value
    formatters, type_formatters = view.column_formatters, view.column_type_formatters
    head = f'<td class="col-{name}">'

    def cell(row: t.Any, _pk: str) -> str:
        return f"{head}{escape(get_value(None, row, name, formatters, type_formatters))}</td>"

    return cell


def _quick(view: t.Any, name: str, field: t.Any, csrf: str) -> Cell:
    template = f'<td class="col-{name}">{_quick_cell_template(field, csrf)}</td>'
    get_value = view._get_list_value
    formatters, type_formatters = view.column_formatters, view.column_type_formatters

    def cell(row: t.Any, pk: str) -> str:
        shown = get_value(None, row, name, formatters, type_formatters)
        return template.format(pk=pk, value=escape(quick_edit.editor_value(name, getattr(row, name))),
                               shown=escape(shown))

    return cell


def rows(view: t.Any, data: t.Sequence[t.Any], *, columns: t.Sequence[tuple[str, bool]], checkbox_title: str | None,
         row_buttons: t.Callable[[t.Any], Markup] | None, list_form: t.Any, csrf: str) -> Markup:
    """The page's <tr> rows. columns: (name, edited in place); checkbox_title: None without bulk
    actions; row_buttons: the row buttons' markup for a pk (StudentView.row_buttons), None
    without the buttons' column; list_form: the page's one quick-edit form (its fields name the
    cells), None when nothing is edited in place."""
    cells = [_quick(view, name, list_form[name], csrf) if edited and list_form is not None else _plain(view, name)
             for name, edited in columns]
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
