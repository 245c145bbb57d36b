"""The codes of the change types (学籍变动), the one place they are spelled.

Each type is declared by its module in changes/ (changes/__init__.py lists them); services below
that layer (rosters, oversight, documents, commands) name a type by these codes and read what
they need of it from the registry (services.workflows.TYPES), never by importing changes/.
"""

from __future__ import annotations

# 转学 (第十三–十五条)
TRANSFER, TRANSFER_OUT_OF_PROVINCE, TRANSFER_INTO_PROVINCE = "transfer", "transfer_out_province", "transfer_in_province"
# 建立学籍, 缓学, 更正, 接续 (第七条, 第十一条, 第十二条)
ENROLLMENT, DELAYED, CORRECTION, CONTINUATION = "enrollment", "delayed_enrollment", "correction", "continuation"
# 休学, 休学延期, 复学 (第十九条)
SUSPENSION, SUSPENSION_EXTENSION, RESUMPTION = "suspension", "suspension_extension", "resumption"
# 出国出境, 出国复学, 死亡, 辍学, 辍学返校 (第二十条, 第二十一条, 第二十三条)
ABROAD, ABROAD_RETURN, DEATH, DROPOUT, DROPOUT_RETURN = "abroad", "abroad_return", "death", "dropout", "dropout_return"
# 工读/特殊教育 (第十七条), 未成年人专门教育 (第二十二条)
JUVENILE_PLACEMENT, JUVENILE_RETURN = "juvenile_placement", "juvenile_return"
SPECIAL_MOVE, SPECIAL_ATTEND = "special_move", "special_attend"
# 毕业生花名册 (第二十四条), 学历证明书 (第二十五条)
GRADUATION = "graduation"
RECORD_PROOF = "record_proof"
# 校内调班: a class change inside one school, recorded as a change without an approval step
CLASS_CHANGE = "class_change"

# Kinds of a 第十七条 move (payload "kind").
TO_SPECIAL, TO_ORDINARY, WORK_STUDY = "to_special", "to_ordinary", "work_study"
# Payload key of a death report: working days the school filed after its deadline (0: on time).
LATE_KEY = "late_workdays"
