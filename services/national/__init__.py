"""Exchange with the national system (全国中小学生学籍信息管理系统, issue 16 point 4), one module per step:

- columns: the national basic-information spreadsheet, column by column, and its values;
- reading: an uploaded national file (checked like the Excel import) to rows in the national form;
- basic: the basic-information export of a school or a unit's area (streamed);
- reconcile: an uploaded file matched to our pupils, the differences field by field, and applying the
  accepted ones (each a StudentHistory row "全国学籍系统核对");
- changes: the 学籍变动 export of a period, and the national changes file checked against ours.
Codes: services/national_codes.py.
"""
