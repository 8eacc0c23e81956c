"""Shared test configuration: hypothesis profiles.

"ci" (the default) is deterministic (derandomized, no example database) and modest;
"dev" runs many more examples. Pick one with FXAD_HYPOTHESIS_PROFILE=dev.
Tests that need a different number of examples scale `max_examples` from the profile's
(see `examples()`), so the profile stays the single knob.
"""
import atexit
import os
import shutil
import sys
import tempfile

from hypothesis import HealthCheck, settings

# One Numba kernel cache for the whole run (set before anything compiles), so repeated
# kernels compile once and ~/.cache stays clean; removed at exit.
if not os.environ.get("FXAD_CACHE_DIR"):
    _CACHE = tempfile.mkdtemp(prefix="fxad-test-cache-")
    os.environ["FXAD_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)

# Test the working tree even when another version of fxad is installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          database=None, print_blob=False, suppress_health_check=_SLOW_OK)
settings.register_profile("dev", deadline=None, max_examples=500, print_blob=True,
                          suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("FXAD_HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    # hypothesis' failure explanations import libcst, which warns about its own imports
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:libcst.*")
