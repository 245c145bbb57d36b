#!/usr/bin/env bash
# Refresh the translations of 学籍通.
#
#   1. extract  every _() / _l() / gettext / lazy_gettext msgid of our code (babel.cfg:
#               **.py without .venv/ and tests/, templates/**.html) into translations/messages.pot;
#   2. update   each translations/<locale>/LC_MESSAGES/messages.po from the template
#               (new msgids arrive with an empty msgstr; no fuzzy guesses);
#   3. compile  the .po files into .mo (ignored by git: build them, don't commit them).
#
# After step 2, translate the new empty msgstr entries in the .po, then run this again
# (or just `pybabel compile -d translations`). Both messages.pot and messages.po are committed.
# Add a language once with: .venv/bin/pybabel init -i translations/messages.pot -d translations -l <locale>
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
if [[ ! -x "$PYBABEL" ]]; then
    PYBABEL="$(command -v pybabel || true)"
fi
if [[ -z "$PYBABEL" ]]; then
    echo "i18n.sh: pybabel not found (expected .venv/bin/pybabel)" >&2
    exit 1
fi

"$PYBABEL" -q extract -F babel.cfg \
    -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
    --add-comments=TRANSLATORS: \
    -o translations/messages.pot .

"$PYBABEL" update -d translations -i translations/messages.pot --no-fuzzy-matching

# --statistics prints "N of M messages translated" per catalog: below 100 %, fill in the .po.
"$PYBABEL" compile -d translations --statistics
