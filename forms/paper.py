"""Forms of the paper file (纸质档案): where it is, its dispatch and its receipt (第九、十、十六条).

The fields are optional here: services/paper.py says what is missing, in the user's words.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField
from wtforms.validators import Length, Optional

from models.paper import NAME_MAX, PLACE_MAX


class PaperLocationForm(FlaskForm):
    location = StringField(_l("Where the paper file is kept"), validators=[Optional(), Length(max=PLACE_MAX)])
    custodian = StringField(_l("Custodian"), validators=[Optional(), Length(max=NAME_MAX)])


class PaperDispatchForm(FlaskForm):
    sent_on = DateField(_l("Sent on"), validators=[Optional()])
    carried_by = StringField(_l("Carried by (the guardian)"), validators=[Optional(), Length(max=NAME_MAX)])
    sealed = BooleanField(_l("Sealed (第十六条)"))
    copy_kept = BooleanField(_l("A copy is kept at this school (第十条)"))
    copy_location = StringField(_l("Where the copy is kept"), validators=[Optional(), Length(max=PLACE_MAX)])
    back = HiddenField()


class PaperReceiptForm(FlaskForm):
    received_on = DateField(_l("Received on"), validators=[Optional()])
    received_by = StringField(_l("Received by (who signed)"), validators=[Optional(), Length(max=NAME_MAX)])
    back = HiddenField()
