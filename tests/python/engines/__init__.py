import pytest

# The scenarios are asserted in a module that is not a test file: let pytest explain its
# failures as it does a test's (this runs before the test modules import it).
pytest.register_assert_rewrite("tests.python.engines.scenarios")
