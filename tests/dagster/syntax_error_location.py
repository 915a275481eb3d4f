# A third code location that fails to load: this file is not valid Python (line 4 opens a list it
# never closes). fixture.py lists it as location "day2_syntax"; day2 must show the SyntaxError line
# and where it is, not the traceback's first line.
defs = [1, 2,
