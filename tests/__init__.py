"""The test suite. Imported before tests/conftest.py, so the setting below holds for everything the
suite imports.

Bytecode caches are written even under PYTHONDONTWRITEBYTECODE (set on the machine the suite runs
on): each xdist worker imports the whole application and every test module, and pytest rewrites
the asserts of each test module; without caches all of it was compiled afresh in every worker on
every run, seconds before the first test. The caches go to __pycache__ (ignored by git), as they
do wherever that variable is not set.
"""

import sys

sys.dont_write_bytecode = False
