"""The OpenAPI 3.0 description of /api/v1/ (public at /api/v1/openapi.json).

Written by hand, next to the views it describes; tests/api/test_schemathesis.py checks every answer
of the API against it (status codes, content types and bodies).
"""

from __future__ import annotations

import typing as t

from services import api_data, codes

Schema = dict[str, t.Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DAY = {"type": "string", "format": "date"}
TIME = {"type": "string", "format": "date-time"}


def _object(props: dict[str, Schema], description: str = "") -> Schema:
    out: Schema = {"type": "object", "required": sorted(props), "properties": props, "additionalProperties": False}
    if description:
        out["description"] = description
    return out


CODED = _object({"code": STR, "label": STR}, "编码值：code 为国家标准代码，label 为中文名称（如性别 1 → 男）。")
UNIT = _object({"id": INT, "code": {"type": "string", "description": "学校标识码或行政区划代码"}, "name": STR})
GROUPS = {"type": "array", "items": {"type": "string", "enum": ["address", "guardian", "health"]},
          "description": "未获批准而未返回的敏感信息类别（住址、监护人、健康状况）。"}
PUPIL_PROPS: dict[str, Schema] = {
    "id": INT,
    "xjh": _nullable({"type": "string", "description": "学籍号；未获身份证件号批准时 G 号脱敏。无学籍号时为 null。"}),
    "name": STR,
    "former_name": _nullable(STR),
    "gender": _nullable(_ref("Coded")),
    "birth_date": DAY,
    "ethnicity": _nullable(_ref("Coded")),
    "nationality": _nullable(_ref("Coded")),
    "id_type": _nullable(_ref("Coded")),
    "id_number": _nullable({"type": "string", "description": "身份证件号；未获批准时脱敏为 行政区划码+********+末四位。"}),
    "id_number_masked": BOOL,
    "grade": _nullable(_ref("Coded")),
    "class_name": _nullable(STR),
    "status": _nullable(_ref("Coded")),
    "school": _nullable(_ref("Unit")),
    "attending_school": _nullable(_ref("Unit")),
    "enroll_month": _nullable(STR),
    "updated_at": _nullable(TIME),
    "withheld": GROUPS,
}
GUARDIAN = _object({"relation": _nullable(_ref("Coded")), "name": STR, "id_type": _nullable(_ref("Coded")),
                    "id_number": _nullable(STR), "phone": _nullable(STR)})
PUPIL_DETAIL_PROPS: dict[str, Schema] = {
    **PUPIL_PROPS,
    "birthplace": _nullable(STR),
    "hukou_location": _nullable(STR),
    "hukou_type": _nullable(_ref("Coded")),
    "enroll_mode": _nullable(_ref("Coded")),
    "attendance_mode": _nullable(_ref("Coded")),
    "left_behind": _nullable(_ref("Coded")),
    "current_address": _nullable(STR),
    "home_address": _nullable(STR),
    "health": _nullable(_ref("Coded")),
    "disability": _nullable(_ref("Coded")),
    "guardians": {"type": "array", "items": _ref("Guardian")},
}
REQUEST = _object({
    "id": INT,
    "type": _ref("Coded"),
    "status": _ref("Coded"),
    "pupil_id": _nullable(INT),
    "pupil_name": _nullable(STR),
    "from_school": _nullable(_ref("Unit")),
    "to_school": _nullable(_ref("Unit")),
    "external_school": _nullable(STR),
    "reason": _nullable(STR),
    "created_at": _nullable(TIME),
    "finished_at": _nullable(TIME),
})
VALUE = _object({"value": _nullable(STR), "label": STR}, "变更前后的值：value 为存储值（敏感值已脱敏），label 为中文显示。")
CHANGE = _object({
    "id": {"type": "integer", "description": "流水号，严格递增"},
    "kind": {"type": "string", "enum": ["created", "changed"]},
    "pupil_id": INT,
    "field": STR,
    "field_label": STR,
    "old": _nullable(_ref("Value")),
    "new": _nullable(_ref("Value")),
    "withheld": {"type": "boolean", "description": "该字段属于未获批准的敏感信息类别，值未返回。"},
    "reason": _nullable(STR),
    "request_id": _nullable(INT),
    "changed_at": _nullable(TIME),
})
ERROR = _object({"error": _object({"status": INT, "message": {"type": "string", "description": "中文错误说明"}})})


def _list_of(item: str) -> Schema:
    return _object({"data": {"type": "array", "items": _ref(item)}, "next_cursor": _nullable(STR), "has_more": BOOL})


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in statuses}


LIMIT = {"name": "limit", "in": "query", "required": False,
         "description": f"每页条数，1 至 {api_data.MAX_LIMIT}，默认 {api_data.DEFAULT_LIMIT}。",
         "schema": {"type": "integer", "minimum": 1, "maximum": api_data.MAX_LIMIT}}
CURSOR = {"name": "cursor", "in": "query", "required": False, "description": "上一页返回的 next_cursor（不透明字符串）。",
          "schema": {"type": "string"}}


def document() -> Schema:
    grades = sorted(int(g) for g in codes.table("grade"))
    statuses = sorted(codes.table("student_status"))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "学籍通数据接口",
            "version": "1.0.0",
            "description": "只读数据接口。以单位系统管理员签发的令牌访问（Authorization: Bearer xjt_…），只返回令牌适用范围内的数据；"
                           "身份证件号等敏感信息按数据导出审查脱敏，除非令牌关联的数据导出申请已批准相应类别。每次调用均记入审计日志。",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/pupils": {"get": {
                "summary": "学生列表（按 id 升序，游标分页）",
                "operationId": "listPupils",
                "parameters": [
                    LIMIT, CURSOR,
                    {"name": "grade", "in": "query", "required": False, "description": "年级代码",
                     "schema": {"type": "integer", "enum": grades}},
                    {"name": "status", "in": "query", "required": False, "description": "学籍状态代码",
                     "schema": {"type": "string", "enum": statuses}},
                    {"name": "school", "in": "query", "required": False, "description": "学校标识码（10 位）",
                     "schema": {"type": "string", "pattern": "^[0-9]{10}$"}},
                ],
                "responses": {"200": _json(_list_of("Pupil"), "一页学生"), **_errors(400, 401, 429)},
            }},
            "/api/v1/pupils/{pupil_id}": {"get": {
                "summary": "学生详情",
                "operationId": "getPupil",
                "parameters": [{"name": "pupil_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}],
                "responses": {"200": _json(_object({"data": _ref("PupilDetail")}), "学生"), **_errors(401, 404, 429)},
            }},
            "/api/v1/requests": {"get": {
                "summary": "学籍变动申请（任一端在范围内，按 id 升序，游标分页）",
                "operationId": "listRequests",
                "parameters": [LIMIT, CURSOR],
                "responses": {"200": _json(_list_of("ChangeRequest"), "一页申请"), **_errors(400, 401, 429)},
            }},
            "/api/v1/changes": {"get": {
                "summary": "变更流水：范围内学生的建档与字段变更，按提交顺序，不重不漏",
                "description": ("保存返回的 next_cursor，下次以 since 传回即可增量同步；"
                                "已追平时 has_more 为 false，next_cursor 仍可用于下次同步。"
                                "正在进行的事务（如批量导入）提交前，其后的变更暂不返回，提交后依次返回，"
                                "因此流水号不一定递增，但每条变更恰好返回一次。"),
                "operationId": "listChanges",
                "parameters": [LIMIT, {"name": "since", "in": "query", "required": False,
                                       "description": "上次返回的 next_cursor；省略则从头开始。", "schema": {"type": "string"}}],
                "responses": {"200": _json(_list_of("Change"), "一页变更"), **_errors(400, 401, 429)},
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "本接口说明（OpenAPI 3.0）",
                "operationId": "openapi",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 文档")},
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "单位系统管理员签发的数据接口令牌"}},
            "schemas": {
                "Coded": CODED, "Unit": UNIT, "Guardian": GUARDIAN, "Value": VALUE,
                "Pupil": _object(PUPIL_PROPS), "PupilDetail": _object(PUPIL_DETAIL_PROPS),
                "ChangeRequest": REQUEST, "Change": CHANGE, "Error": ERROR,
            },
            "responses": {
                f"E{code}": _json(_ref("Error"), text) for code, text in
                ((400, "游标、limit 或筛选条件无效"), (401, "缺少有效令牌，或令牌已过期、已吊销"),
                 (404, "记录不存在或不在令牌范围内"), (429, "请求过于频繁"))
            },
        },
    }
