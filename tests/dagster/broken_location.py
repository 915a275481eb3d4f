"""A second code location that fails to load: importing it raises.

fixture.py lists it in workspace.yaml as location "day2_broken"; day2 must report it as a
load failure (CodeLocations: locationOrLoadError is a PythonError).
"""

raise ImportError("day2 fixture: broken_location cannot import its vendor SDK (simulated)")
