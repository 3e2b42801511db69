"""cocotb testbenches, shipped in the package as ``hwgen.tb`` (this is the checkout's ``tb/``).

The runner (:mod:`hwgen.verify.build`) loads them by module name (``hwgen.tb.array``, ...), so an
installed hwgen runs its regressions from any folder. Each compares the RTL with the golden
model (:mod:`hwgen.golden`) on the same error-injected weights; none compares with stored values.

- ``array``: an N x M array, stream mode (cocotb drives every cycle, optional back-pressure) or
  batch mode (the harness view), plus the negative control;
- ``network``: a whole network's harness, booted from its programming image;
- ``cell``, ``tree``: a basic cell and a popcount tree, cycle by cycle.
"""
