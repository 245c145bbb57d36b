"""Certificates of compulsory education (第二十四–二十五条), one module per concern:

- kinds: the kinds of certificate, their titles and labels, and what a roster line entitles to;
- numbering: the issuing unit, the number 和平义毕字〔2027〕第000123号 and its allocation;
- issuing: who issues and signs, issuing one roster line's certificate;
- batch: a class at once: issuing its certificates and printing them as one PDF in a background job;
- revocation: revoking and reissuing (补发);
- record_proof: the 学历证明书 for a lost diploma, a change type with the authority's step;
- rendering: the printed certificate (PDF) and its typesetting;
- verification: the verification code, the QR code and the public check.

- 义务教育毕业证书 (DIPLOMA) for a pupil whose grade-9 line of the approved 毕业生花名册 says
  毕业 (graduated), 义务教育修业证明书 (COMPLETION) when it says 结业 (completed: the assessment
  was failed). A grade-6 primary leaver gets nothing: the record continues (接续).
- One certificate per pupil and kind that is valid (or, for a 学历证明书, waiting for the
  authority); a second issue is refused, a reissue is explicit.
"""
