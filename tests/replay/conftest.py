"""pytest options of the replay server's tests (test_bounded_misses.py, test_soak.py)."""


def pytest_addoption(parser):
    parser.addoption("--day2", action="store", default=None, help="path to the day2 binary under test")
