"""The departments in the browser (administrators): the list with each one's heads, staff, deputies and waiting
tasks, adding one, renaming, deactivating and reactivating (`engine.people.departments`, audited). A new
department then receives complaints once the process owner routes to it in the model and deploys
(docs/ARCHITECTURE.md, "Departments")."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from engine.errors import Code, InvalidInput, NotFound
from engine.people import departments
from engine.people.access import check_admin
from web.context import actor, reading, staff_blueprint, writing
from web.forms import REQUIRED, ActionForm, OneValueForm, form_page, saved
from web.i18n import lang, message

bp = staff_blueprint("departments", __name__)


class NamesForm(OneValueForm):
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(REQUIRED), Length(max=departments.MAX_NAME)])
    name_en = StringField(_l("English name"), validators=[DataRequired(REQUIRED), Length(max=departments.MAX_NAME)])


class NewDepartmentForm(NamesForm):
    code = StringField(_l("Code"), validators=[DataRequired(REQUIRED), Length(max=departments.MAX_CODE)],
                       description=_l("Lower-case letters, digits and '_': the process model routes to it by this "
                                      "code, which cannot change later."))


@bp.get("/admin/departments")
def index():
    """The departments with their heads, staff, running deputies and waiting tasks, active ones and not."""
    with reading() as uow:
        items = departments.overview(uow, actor())
    return render_template("admin/departments.html", items=items, action_form=ActionForm())


@bp.route("/admin/departments/new", methods=["GET", "POST"])
def new():
    check_admin(actor())  # the role first: a refusal never depends on the body
    form = NewDepartmentForm()
    if saved(form, lambda uow: departments.add(uow, actor(), form.code.data.strip(), form.name_zh.data,
                                               form.name_en.data))[0]:
        name = form.name_zh.data if lang() == "zh" else form.name_en.data
        flash(_("Department %(department)s added. The process owner routes complaints to it in the model.",
                department=name.strip()), "success")
        return redirect(url_for("departments.index"))
    return form_page("admin/department_new.html", form)


def _department(code: str) -> departments.Department:
    with reading() as uow:
        found = [d for d in departments.overview(uow, actor()) if d.code == code]
    if not found:
        raise NotFound(Code.DEPARTMENT_NOT_FOUND, department=code)
    return found[0]


def _edit_page(code: str, form: NamesForm, refusals: list[str] | None = None, status: int = 200):
    department = _department(code)
    if form.name_zh.data is None:
        form.name_zh.data, form.name_en.data = department.name_zh, department.name_en
    return render_template("admin/department_edit.html", department=department, form=form, refusals=refusals or [],
                           action_form=ActionForm()), status


@bp.get("/admin/departments/<code>")
def edit(code: str):
    return _edit_page(code, NamesForm(formdata=None))


@bp.post("/admin/departments/<code>")
def rename(code: str):
    check_admin(actor())
    form = NamesForm()
    if saved(form, lambda uow: departments.rename(uow, actor(), code, form.name_zh.data, form.name_en.data))[0]:
        flash(_("Saved."), "success")
        return redirect(url_for("departments.index"))
    return _edit_page(code, form, status=422)


@bp.post("/admin/departments/<code>/active")
def set_active(code: str):
    check_admin(actor())
    active = request.form.get("active") == "1"
    try:
        with writing() as uow:
            departments.set_active(uow, actor(), code, active)
    except InvalidInput as err:
        return _edit_page(code, NamesForm(formdata=None),
                          [message(e) for found in err.errors.values() for e in found], 422)
    flash(_("The department can be chosen again.") if active
          else _("The department is deactivated: nobody new can join it."), "success")
    return redirect(url_for("departments.index"))
