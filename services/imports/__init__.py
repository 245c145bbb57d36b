"""Excel import of new pupils (SPEC §7, *beyond the rule*), one module per step:

- columns: the national basic-information columns (`COLUMNS`), the sheet's layout, rows and errors;
- template: `template_xlsx()`, the template with the code tables as drop-downs;
- parse: `parse(stream)`, the rows of an uploaded workbook; anything that is not a readable .xlsx
  of that layout is refused with a clear RuleViolation before it touches storage;
- validate: cells to a Student, and `validate_rows(...)`: every rule of services/students.validate
  on every row, plus duplicates within the file, as (row, column, message);
- apply: `import_rows(...)`, all or nothing, in one transaction;
- report: the error report (.xlsx) of a refused file;
- jobs: who imports where, and the web upload as an ImportJob (`submit_upload`; large files as the
  queue task `run_import`, which re-reads the stored upload; `retry` of a job whose worker stopped).
"""
