"""The kinds of certificate (第二十四–二十五条), their printed titles and their labels.

义务教育毕业证书 (DIPLOMA) for 毕业, 义务教育修业证明书 (COMPLETION) for 结业 on the grade-9 roster;
学历证明书 (RECORD_PROOF) replaces a lost diploma through a request (record_proof).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models.graduation import COMPLETED, COMPLETION, DIPLOMA, GRADUATED, PENDING_APPROVAL, RECORD_PROOF, REVOKED, VALID

FINAL_GRADE = 9  # 完成九年义务教育: grade 6 leavers continue their record instead
KIND_FOR_OUTCOME = {GRADUATED: DIPLOMA, COMPLETED: COMPLETION}
ISSUED_KINDS = (DIPLOMA, COMPLETION)  # issued by the school from the roster; RECORD_PROOF goes through a request


KIND_WORDS = {DIPLOMA: "义毕", COMPLETION: "义修", RECORD_PROOF: "学证"}  # in the number: 和平义毕字
TITLES = {DIPLOMA: "义务教育毕业证书", COMPLETION: "义务教育修业证明书", RECORD_PROOF: "学历证明书"}
KIND_LABELS = {
    DIPLOMA: _l("Diploma of compulsory education"),
    COMPLETION: _l("Certificate of completion of compulsory education"),
    RECORD_PROOF: _l("Proof of education record"),
}
STATUS_LABELS = {VALID: _l("Valid"), PENDING_APPROVAL: _l("Waiting for the authority's approval"), REVOKED: _l("Revoked")}
